package main

import (
	"fmt"
	"image"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/vilt-vk/vilt-vk/processor"
)

func init() {
	register(&command{
		name:    "decode",
		summary: "write the RGB image the processor starts from (decoded, alpha dropped) as PNG",
		run:     runDecode,
	})
}

// runDecode writes, for each input, DIR/<name without extension>.png: the 8-bit
// RGB array the image processor receives, so what the model sees can be
// checked and any decoder compared with Pillow's from outside.
func runDecode(args []string, stdout io.Writer) error {
	fs := newFlagSet("decode")
	output := fs.String("output", "", "output `DIR` (created if missing)")
	exif := fs.Bool("exif-transpose", false, "apply the EXIF orientation (transformers does not)")
	maxPixels := fs.Int64("max-pixels", processor.DefaultMaxPixels, "refuse images with more pixels (decompression bombs)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: vilt decode IMAGE... --output DIR [--exif-transpose]")
		fmt.Fprintln(fs.Output(), "\nflags:")
		fs.PrintDefaults()
	}
	// Flags and image paths may come in any order.
	var paths []string
	for {
		if err := fs.Parse(args); err != nil {
			return usageErr(err)
		}
		if fs.NArg() == 0 {
			break
		}
		paths = append(paths, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if *output == "" {
		return usageErrorf("--output DIR is required")
	}
	if len(paths) == 0 {
		return usageErrorf("no IMAGE given")
	}
	outs := make([]string, len(paths))
	seen := map[string]string{}
	for i, p := range paths {
		base := filepath.Base(p)
		outs[i] = filepath.Join(*output, strings.TrimSuffix(base, filepath.Ext(base))+".png")
		if prev, dup := seen[outs[i]]; dup {
			return usageErrorf("%s and %s would both be written to %s", prev, p, outs[i])
		}
		seen[outs[i]] = p
	}
	if err := os.MkdirAll(*output, 0o755); err != nil {
		return err
	}
	opts := processor.DecodeOptions{MaxPixels: *maxPixels, ApplyEXIFOrientation: *exif}
	for i, p := range paths {
		img, err := procDecodeFile(p, opts)
		if err != nil {
			return err
		}
		if err := writeFileAtomic(outs[i], func(w io.Writer) error { return png.Encode(w, rgbImage(img)) }); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s -> %s (%dx%d)\n", p, outs[i], img.Width, img.Height)
	}
	return nil
}

// rgbImage wraps an RGBImage as an opaque image.RGBA (png.Encode writes
// opaque images as 8-bit RGB, colour type 2).
func rgbImage(img *processor.RGBImage) image.Image {
	m := image.NewRGBA(image.Rect(0, 0, img.Width, img.Height))
	for i := 0; i < img.Width*img.Height; i++ {
		copy(m.Pix[4*i:4*i+3], img.Pix[3*i:3*i+3])
		m.Pix[4*i+3] = 255
	}
	return m
}
