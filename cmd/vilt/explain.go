package main

import (
	"flag"
	"fmt"
	"image/png"
	"io"
	"path/filepath"
	"strings"

	"github.com/vilt-vk/vilt-vk/processor"
	"github.com/vilt-vk/vilt-vk/vilt"
)

// explainFlags are --explain OUT.png and --explain-method, shared by vqa, fill-mask, nlvr2
// and rank.
//
// File naming: a call that draws one picture writes OUT.png itself; a call that draws
// several writes OUT-<tag>.png next to it, with tag
//
//	vqa        <image>-<question>   (0-based indices, image-major: out-0-1.png)
//	fill-mask  mask<k>              (k: the mask's 0-based index in the original text)
//	nlvr2      left, right          (always two pictures)
//	rank       <image>-<text>
type explainFlags struct {
	out    string
	method string
	opts   vilt.ExplainOptions
}

func (f *explainFlags) register(fs *flag.FlagSet, what, tags string) {
	fs.StringVar(&f.out, "explain", "", "draw where the model looked "+what+" as a heatmap over the original image into `OUT.png` "+
		"(several pictures: OUT-"+tags+".png); one more forward, with attentions, per picture; --json then includes each patch grid")
	fs.StringVar(&f.method, "explain-method", "rollout", "rollout (attention rollout over all layers) or last-layer")
}

// enabled parses the flags; false when no --explain was given.
func (f *explainFlags) enabled() (bool, error) {
	if f.out == "" {
		return false, nil
	}
	m, err := vilt.ParseExplainMethod(f.method)
	if err != nil {
		return false, usageErrorf("--explain-method: %v", err)
	}
	if ext := strings.ToLower(filepath.Ext(f.out)); ext != ".png" {
		return false, usageErrorf("--explain %q: the picture is a PNG; name it *.png", f.out)
	}
	f.opts.Method = m
	return true, nil
}

// path is the file of one picture: OUT itself, or OUT-tag.png when the call draws several.
func (f *explainFlags) path(tag string, several bool) string {
	if !several {
		return f.out
	}
	ext := filepath.Ext(f.out)
	return strings.TrimSuffix(f.out, ext) + "-" + tag + ext
}

// write renders m over img with a legend and writes it as PNG, then names the file on
// stdout unless quiet.
func (f *explainFlags) write(stdout io.Writer, quiet bool, path string, img *processor.RGBImage, m *vilt.PatchMap, legend ...string) error {
	legend = append(legend, "where it looked: "+f.opts.Method.String())
	for i, l := range legend {
		legend[i] = clip(l, max(12, img.Width/7-2))
	}
	out := vilt.Overlay(img, m, vilt.RenderOptions{Legend: legend})
	if err := writeFileAtomic(path, func(w io.Writer) error { return png.Encode(w, out) }); err != nil {
		return err
	}
	if !quiet {
		fmt.Fprintf(stdout, "explanation: %s\n", path)
	}
	return nil
}

// clip shortens s to n runes with an ellipsis (legend lines must fit the picture).
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-3]) + "..."
}
