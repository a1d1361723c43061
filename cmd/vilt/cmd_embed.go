package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/vilt-vk/vilt-vk/processor"
)

func init() {
	register(&command{
		name:    "embed",
		summary: "write the pooler output and last hidden state of an image-text pair to .safetensors",
		run:     runEmbed,
	})
}

func runEmbed(args []string, stdout io.Writer) error {
	fs, mf := taskFlagSet("embed", false)
	image := fs.String("image", "", "image `file`")
	text := fs.String("text", "", "`text`")
	output := fs.String("output", "", "output `file`.safetensors: pooler_output [1,H], last_hidden_state [1,S,H], image_token_mask [1,1+L]")
	var sf shardFlags
	sf.register(fs)
	mf.registerBatch(fs)
	if err := parseFlags(fs, args,
		"usage: vilt embed --image I --text T --output F.safetensors",
		"\nThe sequence is the text tokens, the image CLS, then the image patches in row-major order.",
		"With --manifest (batch mode, shardable): pooler_output [P,H] of every pair of the manifest,",
		"index [P] (its entry) and text_index [P] (its text) in --output; --text serves entries without",
		"texts; see 'vilt merge'.",
	); err != nil {
		return err
	}
	if err := sf.check(); err != nil {
		return err
	}
	if sf.manifest != "" {
		if *image != "" {
			return usageErrorf("--manifest names the images: drop --image")
		}
		var shared []string
		if *text != "" {
			shared = []string{*text}
		}
		return runEmbedManifest(mf, &sf, shared, *output, stdout)
	}
	if *image == "" || *text == "" || *output == "" {
		return usageErrorf("--image, --text and --output are required")
	}
	run, err := mf.start(stdout, []string{*image})
	if err != nil {
		return err
	}
	defer run.close()
	e, err := run.tasks.Embed(run.ctx, run.images[0], *text)
	if err != nil {
		return err
	}
	ts := []processor.Tensor{
		{Name: "last_hidden_state", Shape: e.LastHiddenState.Shape, F32: e.LastHiddenState.Data},
	}
	if e.PoolerOutput != nil {
		ts = append(ts, processor.Tensor{Name: "pooler_output", Shape: e.PoolerOutput.Shape, F32: e.PoolerOutput.Data})
	}
	if e.ImageTokenMask != nil {
		ts = append(ts, processor.Tensor{Name: "image_token_mask", Shape: []int{1, len(e.ImageTokenMask)}, I64: e.ImageTokenMask})
	}
	meta := map[string]string{"producer": "vilt-vk", "model": mf.model, "text": *text, "tokens": strings.Join(e.Tokens, " ")}
	if err := writeFileAtomic(*output, func(w io.Writer) error { return processor.WriteSafetensors(w, ts, meta) }); err != nil {
		return err
	}
	if mf.asJSON {
		rep := map[string]any{"output": *output, "last_hidden_state": e.LastHiddenState.Shape, "tokens": e.Tokens}
		if e.PoolerOutput != nil {
			rep["pooler_output"] = e.PoolerOutput.Shape
		}
		return writeJSON(stdout, rep)
	}
	fmt.Fprintf(stdout, "wrote %s: last_hidden_state %v", *output, e.LastHiddenState.Shape)
	if e.PoolerOutput != nil {
		fmt.Fprintf(stdout, ", pooler_output %v", e.PoolerOutput.Shape)
	}
	fmt.Fprintln(stdout)
	return nil
}
