package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/vilt-vk/vilt-vk/processor"
)

func init() {
	register(&command{
		name:    "rank",
		summary: "image-text retrieval: score every image against every text, ranked both ways",
		run:     runRank,
	})
}

func runRank(args []string, stdout io.Writer) error {
	fs := newFlagSet("rank")
	var mf modelFlags
	mf.register(fs, "rank")
	mf.registerBatch(fs)
	var images, texts, textFiles procStrings
	fs.Var(&images, "images", "images: a `FILE|GLOB` (an image, a glob such as 'photos/*.jpg', or a text file listing image paths); repeatable")
	fs.Var(&texts, "text", "a candidate `text` (repeatable)")
	fs.Var(&textFiles, "texts", "`FILE` with one candidate text per line ('-' for stdin); repeatable")
	topK := fs.Int("top-k", 5, "entries per ranking (0: all)")
	var ef explainFlags
	ef.register(fs, "for each image-text pair", "<image>-<text>")
	if err := parseFlags(fs, args,
		"usage: vilt rank --images FILE|GLOB --texts FILE [--top-k 5]",
		"\nRuns the retrieval head on every (image, text) pair, batched over the devices, and ranks",
		"texts per image and images per text by the raw rank_output logit. --json: {scores[i][j],",
		"image_to_texts, text_to_images}, each entry {index, label, score}.",
	); err != nil {
		return err
	}
	if *topK < 0 {
		return usageErrorf("--top-k must be >= 0")
	}
	explain, err := ef.enabled()
	if err != nil {
		return err
	}
	paths, err := expandImages(images)
	if err != nil {
		return err
	}
	all := append([]string(nil), texts...)
	for _, f := range textFiles {
		lines, err := readLines(f)
		if err != nil {
			return err
		}
		all = append(all, lines...)
	}
	if len(paths) == 0 || len(all) == 0 {
		return usageErrorf("need images (--images) and texts (--texts FILE or --text)")
	}
	imgs, err := readImages(paths, mf.maxPixels)
	if err != nil {
		return err
	}
	ctx, p, done, err := mf.open(stdout)
	if err != nil {
		return err
	}
	defer done()
	t := p.Tasks()
	t.BatchSize = mf.batch
	t.Progress = progressBar("rank", mf.quiet)
	res, err := t.Rank(ctx, imgs, all, *topK)
	if err != nil {
		return err
	}
	res.NameImages(paths)
	if explain {
		maps, err := t.ExplainPairs(ctx, imgs, all, ef.opts)
		if err != nil {
			return err
		}
		for k, m := range maps {
			i, j := k/len(all), k%len(all)
			if j == 0 {
				res.Explanations = append(res.Explanations, nil)
			}
			res.Explanations[i] = append(res.Explanations[i], m)
			if err := ef.write(stdout, mf.quiet || mf.asJSON, ef.path(fmt.Sprintf("%d-%d", i, j), len(maps) > 1), imgs[i], m,
				all[j], fmt.Sprintf("score %.3f", res.Scores[i][j])); err != nil {
				return err
			}
		}
	}
	if mf.asJSON {
		return writeJSON(stdout, res)
	}
	fmt.Fprintln(stdout, "image → texts:")
	for i, r := range res.ImageToTexts {
		fmt.Fprintf(stdout, "  %s\n", paths[i])
		for k, e := range r {
			fmt.Fprintf(stdout, "    %2d. %8.4f  %s\n", k+1, e.Score, e.Label)
		}
	}
	fmt.Fprintln(stdout, "text → images:")
	for j, r := range res.TextToImages {
		fmt.Fprintf(stdout, "  %q\n", all[j])
		for k, e := range r {
			fmt.Fprintf(stdout, "    %2d. %8.4f  %s\n", k+1, e.Score, e.Label)
		}
	}
	return nil
}

// expandImages turns --images values into image paths: globs are expanded (sorted),
// image files taken as they are, other files read as lists of paths (relative to the
// list's folder).
func expandImages(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		if strings.ContainsAny(a, "*?[") {
			m, err := filepath.Glob(a)
			if err != nil {
				return nil, usageErrorf("--images %q: %v", a, err)
			}
			if len(m) == 0 {
				return nil, fmt.Errorf("--images %q matches no file", a)
			}
			sort.Strings(m)
			out = append(out, m...)
			continue
		}
		b, err := os.ReadFile(a)
		if err != nil {
			return nil, err
		}
		if _, ok := processor.SniffFormat(b); ok {
			out = append(out, a)
			continue
		}
		lines, err := readLines(a)
		if err != nil {
			return nil, err
		}
		for _, l := range lines {
			if !filepath.IsAbs(l) {
				l = filepath.Join(filepath.Dir(a), l)
			}
			out = append(out, l)
		}
	}
	return out, nil
}
