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
	fs, mf := taskFlagSet("rank", true)
	var images, texts, textFiles procStrings
	fs.Var(&images, "images", "images: a `FILE|GLOB` (an image, a glob such as 'photos/*.jpg', or a text file listing image paths); repeatable")
	fs.Var(&texts, "text", "a candidate `text` (repeatable)")
	fs.Var(&textFiles, "texts", "`FILE` with one candidate text per line ('-' for stdin); repeatable")
	topK := fs.Int("top-k", 5, "entries per ranking (0: all)")
	var sf shardFlags
	sf.register(fs)
	sf.registerOutput(fs, "JSONL: {index, image, id, scores} per manifest entry")
	var ef explainFlags
	ef.register(fs, "for each image-text pair", "<image>-<text>")
	if err := parseFlags(fs, args,
		"usage: vilt rank --images FILE|GLOB --texts FILE [--top-k 5]",
		"\nRuns the retrieval head on every (image, text) pair, batched over the devices, and ranks",
		"texts per image and images per text by the raw rank_output logit. --json: {scores[i][j],",
		"image_to_texts, text_to_images}, each entry {index, label, score}.",
		"With --manifest (batch mode, shardable): each entry's image with its texts (or --text/--texts),",
		"one JSONL line per entry in --output; see 'vilt merge'.",
	); err != nil {
		return err
	}
	if err := sf.check(); err != nil {
		return err
	}
	if sf.manifest != "" && len(images) > 0 {
		return usageErrorf("--manifest names the images: drop --images")
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
	if sf.manifest != "" {
		return runRankManifest(mf, &sf, all, sf.output, stdout)
	}
	if len(paths) == 0 || len(all) == 0 {
		return usageErrorf("need images (--images) and texts (--texts FILE or --text)")
	}
	run, err := mf.start(stdout, paths)
	if err != nil {
		return err
	}
	defer run.close()
	run.tasks.Progress = progressBar("rank", mf.quiet)
	res, err := run.tasks.Rank(run.ctx, run.images, all, *topK)
	if err != nil {
		return err
	}
	res.NameImages(paths)
	if explain {
		maps, err := run.tasks.ExplainPairs(run.ctx, run.images, all, ef.opts)
		if err != nil {
			return err
		}
		for k, m := range maps {
			i, j := k/len(all), k%len(all)
			if j == 0 {
				res.Explanations = append(res.Explanations, nil)
			}
			res.Explanations[i] = append(res.Explanations[i], m)
			if err := ef.write(stdout, mf.quiet || mf.asJSON, ef.path(fmt.Sprintf("%d-%d", i, j), len(maps) > 1), run.images[i], m,
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
