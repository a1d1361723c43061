package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/vilt-vk/vilt-vk/processor"
)

func init() {
	register(&command{
		name:    "preprocess",
		summary: "run the ViLT processor on images + texts and write model inputs to .safetensors",
		run:     runPreprocess,
	})
}

// procFloats parses "0.5,0.5,0.5".
type procFloats []float64

func (f *procFloats) String() string {
	var s []string
	for _, v := range *f {
		s = append(s, strconv.FormatFloat(v, 'g', -1, 64))
	}
	return strings.Join(s, ",")
}

func (f *procFloats) Set(v string) error {
	var out procFloats
	for _, p := range strings.Split(v, ",") {
		x, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil {
			return fmt.Errorf("not a number list: %q", v)
		}
		out = append(out, x)
	}
	*f = out
	return nil
}

// procImageFlags override preprocessor_config.json fields; only flags given
// on the command line are applied.
type procImageFlags struct {
	shortestEdge, sizeDivisor               int
	resample                                string
	doResize, doRescale, doNormalize, doPad bool
	noResize, noRescale, noNormalize, noPad bool
	rescaleFactor                           float64
	mean, std                               procFloats
	exif                                    bool
	maxPixels                               int64
}

func (f *procImageFlags) register(fs *flag.FlagSet) {
	fs.IntVar(&f.shortestEdge, "shortest-edge", 0, "size.shortest_edge (longer edge capped at int(1333/800·N))")
	fs.IntVar(&f.sizeDivisor, "size-divisor", 0, "size_divisor: output sides are floored to a multiple of it")
	fs.StringVar(&f.resample, "resample", "", "resample filter: 0-5 or nearest, lanczos, bilinear, bicubic, box, hamming")
	// The do-* flags override preprocessor_config.json only when given.
	fs.BoolVar(&f.doResize, "do-resize", true, "do_resize (only applied when given; else the model config)")
	fs.BoolVar(&f.doRescale, "do-rescale", true, "do_rescale")
	fs.BoolVar(&f.doNormalize, "do-normalize", true, "do_normalize")
	fs.BoolVar(&f.doPad, "do-pad", true, "do_pad (pad to the batch's largest size and return pixel_mask)")
	fs.BoolVar(&f.noResize, "no-resize", false, "same as --do-resize=false")
	fs.BoolVar(&f.noRescale, "no-rescale", false, "same as --do-rescale=false")
	fs.BoolVar(&f.noNormalize, "no-normalize", false, "same as --do-normalize=false")
	fs.BoolVar(&f.noPad, "no-pad", false, "same as --do-pad=false (all images must then come out the same size)")
	fs.Float64Var(&f.rescaleFactor, "rescale-factor", 0, "rescale_factor (default 1/255)")
	fs.Var(&f.mean, "image-mean", "image_mean, `r,g,b` or one value")
	fs.Var(&f.std, "image-std", "image_std, `r,g,b` or one value")
	fs.BoolVar(&f.exif, "exif-transpose", false, "apply the EXIF orientation (transformers does not)")
	fs.Int64Var(&f.maxPixels, "max-pixels", processor.DefaultMaxPixels, "refuse images with more pixels (decompression bombs)")
}

// apply writes the flags that were set into opts.
func (f *procImageFlags) apply(fs *flag.FlagSet, opts *processor.ImageOptions) error {
	var err error
	fs.Visit(func(fl *flag.Flag) {
		switch fl.Name {
		case "shortest-edge":
			opts.ShortestEdge = f.shortestEdge
		case "size-divisor":
			opts.SizeDivisor = f.sizeDivisor
		case "resample":
			r, e := procParseResample(f.resample)
			if e != nil {
				err = e
			}
			opts.Resample = r
		case "do-resize":
			opts.DoResize = f.doResize
		case "do-rescale":
			opts.DoRescale = f.doRescale
		case "do-normalize":
			opts.DoNormalize = f.doNormalize
		case "do-pad":
			opts.DoPad = f.doPad
		case "no-resize":
			opts.DoResize = !f.noResize
		case "no-rescale":
			opts.DoRescale = !f.noRescale
		case "no-normalize":
			opts.DoNormalize = !f.noNormalize
		case "no-pad":
			opts.DoPad = !f.noPad
		case "rescale-factor":
			opts.RescaleFactor = f.rescaleFactor
		case "image-mean":
			opts.ImageMean = f.mean
		case "image-std":
			opts.ImageStd = f.std
		}
	})
	if err != nil {
		return err
	}
	if e := opts.Validate(); e != nil {
		return usageErrorf("%v", e)
	}
	return nil
}

func procParseResample(s string) (processor.Resample, error) {
	for r := processor.ResampleNearest; r <= processor.ResampleHamming; r++ {
		if s == r.String() || s == strconv.Itoa(int(r)) {
			return r, nil
		}
	}
	return 0, usageErrorf("--resample %q: want 0-5 or nearest, lanczos, bilinear, bicubic, box, hamming", s)
}

func runPreprocess(args []string, stdout io.Writer) error {
	fs := newFlagSet("preprocess")
	var tf procTextFlags
	tf.register(fs)
	var imf procImageFlags
	imf.register(fs)
	var images procStrings
	fs.Var(&images, "image", "image file `PATH` (JPEG, PNG, GIF, BMP, TIFF, WebP; repeat)")
	output := fs.String("output", "", "output `FILE`.safetensors")
	perText := fs.Int("images-per-text", 1, "images per text (2 for NLVR2: pixel_values [B,2,3,H,W])")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := tf.check(); err != nil {
		return err
	}
	if *output == "" {
		return usageErrorf("--output FILE is required")
	}
	if *perText < 1 {
		return usageErrorf("--images-per-text must be >= 1")
	}
	if len(images) != len(tf.texts)**perText {
		return usageErrorf("%d --text with --images-per-text %d need %d --image, got %d", len(tf.texts), *perText, len(tf.texts)**perText, len(images))
	}
	encOpts, err := tf.encodeOptions()
	if err != nil {
		return err
	}
	model := os.DirFS(tf.model)
	imgOpts, err := processor.LoadImageOptions(model, "preprocessor_config.json")
	if err != nil {
		return err
	}
	if err := imf.apply(fs, &imgOpts); err != nil {
		return err
	}
	tok, err := processor.LoadTokenizer(model)
	if err != nil {
		return err
	}
	ip, err := processor.NewImageProcessor(imgOpts)
	if err != nil {
		return err
	}
	proc := &processor.Processor{Tokenizer: tok, Images: ip}
	decOpts := processor.DecodeOptions{MaxPixels: imf.maxPixels, ApplyEXIFOrientation: imf.exif}
	var decoded []*processor.RGBImage
	for _, path := range images {
		img, err := procDecodeFile(path, decOpts)
		if err != nil {
			return err
		}
		if _, _, err := ip.OutputSize(img.Height, img.Width); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		decoded = append(decoded, img)
	}
	b, err := proc.Process(processor.Inputs{Texts: tf.texts, TextPairs: tf.pairList(), Images: decoded, ImagesPerText: *perText}, encOpts)
	if err != nil {
		return err
	}
	if err := procWriteBatch(*output, b, tf.model); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s\n", *output)
	fmt.Fprintf(stdout, "  input_ids       I64 %v\n  attention_mask  I64 %v\n  token_type_ids  I64 %v\n  pixel_values    F32 %v\n",
		b.TextShape(), b.TextShape(), b.TextShape(), b.PixelValuesShape())
	if b.PixelMask != nil {
		fmt.Fprintf(stdout, "  pixel_mask      I64 %v\n", b.PixelMaskShape())
	}
	for i, e := range b.Encodings {
		if e.Truncated > 0 {
			fmt.Fprintf(stdout, "  text %d truncated by %d tokens\n", i, e.Truncated)
		}
	}
	return nil
}

func procDecodeFile(path string, opts processor.DecodeOptions) (*processor.RGBImage, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	img, err := processor.DecodeImage(f, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return img, nil
}

// procWriteBatch writes the batch atomically (see writeFileAtomic).
func procWriteBatch(path string, b *processor.Batch, model string) error {
	return writeFileAtomic(path, func(w io.Writer) error {
		return b.WriteSafetensors(w, map[string]string{"producer": "vilt preprocess", "model": model})
	})
}
