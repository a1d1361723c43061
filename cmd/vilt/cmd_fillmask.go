package main

import (
	"fmt"
	"io"
	"strings"
)

func init() {
	register(&command{
		name:    "fill-mask",
		summary: "fill the [MASK] tokens of a text about an image (iterative, most confident first)",
		run:     runFillMask,
	})
}

func runFillMask(args []string, stdout io.Writer) error {
	fs, mf := taskFlagSet("fill-mask", false)
	image := fs.String("image", "", "image `file`")
	text := fs.String("text", "", "`text` with [MASK] tokens, e.g. \"a bunch of [MASK] laying on a [MASK].\"")
	topK := fs.Int("top-k", 5, "candidates listed per mask")
	var ef explainFlags
	ef.register(fs, "for each [MASK]", "mask<k>")
	if err := parseFlags(fs, args,
		"usage: vilt fill-mask --image I --text \"a bunch of [MASK] laying on a [MASK].\" [--top-k 5]",
		"\nFills one mask per forward, the most confident first, re-reading the text each round, as",
		"transformers' ViltForMaskedLM example does; each step lists that mask's top-k candidates.",
	); err != nil {
		return err
	}
	if *image == "" || *text == "" {
		return usageErrorf("--image and --text are required")
	}
	if *topK < 1 {
		return usageErrorf("--top-k must be >= 1")
	}
	explain, err := ef.enabled()
	if err != nil {
		return err
	}
	run, err := mf.start(stdout, []string{*image})
	if err != nil {
		return err
	}
	defer run.close()
	ctx, t, img := run.ctx, run.tasks, run.images[0]
	res, err := t.FillMask(ctx, img, *text, *topK)
	if err != nil {
		return err
	}
	if explain {
		if err := t.ExplainFillMask(ctx, img, res, ef.opts); err != nil {
			return err
		}
		for _, st := range res.Steps {
			legend := fmt.Sprintf("[MASK] %d: %s (%.3f)", st.Mask+1, st.TokenStr, st.Score)
			if err := ef.write(stdout, mf.quiet || mf.asJSON, ef.path(fmt.Sprintf("mask%d", st.Mask), len(res.Steps) > 1), img, st.Explanation, legend); err != nil {
				return err
			}
		}
	}
	if mf.asJSON {
		return writeJSON(stdout, res)
	}
	fmt.Fprintln(stdout, res.Sequence)
	for i, st := range res.Steps {
		var cs []string
		for _, c := range st.Candidates {
			cs = append(cs, fmt.Sprintf("%s %.4f", c.TokenStr, c.Score))
		}
		fmt.Fprintf(stdout, "  step %d: mask %d (token %d) = %q %.4f   candidates: %s\n", i+1, st.Mask+1, st.Position, st.TokenStr, st.Score, strings.Join(cs, ", "))
	}
	return nil
}
