package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"

	"github.com/vilt-vk/vilt-vk/weights/hub"
)

func init() {
	register(&command{
		name:    "download",
		summary: "download a model from the Hugging Face hub into the shared HF cache",
		run:     runDownload,
	})
}

func runDownload(args []string, stdout io.Writer) error {
	fs := newFlagSet("download")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: vilt download [flags] ORG/NAME[@REVISION]")
		fmt.Fprintln(fs.Output(), "\nFetches config, tokenizer and preprocessor files and the weights (model.safetensors if the")
		fmt.Fprintln(fs.Output(), "revision has it, else pytorch_model.bin) into the Hugging Face cache that Python also uses")
		fmt.Fprintln(fs.Output(), "(HF_HUB_CACHE, HF_HOME/hub or ~/.cache/huggingface/hub), and prints the snapshot folder.")
		fmt.Fprintln(fs.Output(), "An interrupted download resumes. Environment: HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE.")
		fmt.Fprintln(fs.Output(), "Safetensors copies of the dandelin models are on PR refs, e.g. dandelin/vilt-b32-finetuned-vqa@refs/pr/9.")
		fmt.Fprintln(fs.Output(), "\nflags:")
		fs.PrintDefaults()
	}
	cacheDir := fs.String("cache-dir", "", "hub cache `DIR` (default: from the environment, "+hub.CacheDir()+")")
	quiet := fs.Bool("q", false, "no progress bar")
	fs.BoolVar(quiet, "quiet", false, "no progress bar (same as -q)")
	if err := fs.Parse(args); err != nil {
		return usageErr(err)
	}
	if fs.NArg() != 1 {
		return usageErrorf("want one model id ORG/NAME[@REVISION], got %d arguments", fs.NArg())
	}
	ref, err := hub.ParseRef(fs.Arg(0))
	if err != nil {
		return usageErrorf("%v", err)
	}
	c := hub.NewClient()
	if *cacheDir != "" {
		c.Cache.Dir = *cacheDir
	}
	if !*quiet {
		c.Progress = hub.TerminalProgress(os.Stderr)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	slog.Debug("download", "model", ref.String(), "cache", c.Cache.Dir, "endpoint", c.Endpoint, "offline", c.Offline)
	dir, err := c.Model(ctx, ref)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, dir)
	return nil
}
