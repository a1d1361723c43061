package main

import (
	"fmt"
	"io"
	"sort"
)

func init() {
	register(&command{
		name:    "nlvr2",
		summary: "decide whether a sentence is true of a pair of images (NLVR2)",
		run:     runNLVR2,
	})
}

func runNLVR2(args []string, stdout io.Writer) error {
	fs, mf := taskFlagSet("nlvr2", false)
	var images procStrings
	fs.Var(&images, "image", "image `file`: give twice, left then right")
	text := fs.String("text", "", "the `sentence` to check")
	var ef explainFlags
	ef.register(fs, "in each image", "<left|right>")
	if err := parseFlags(fs, args,
		"usage: vilt nlvr2 --image LEFT --image RIGHT --text T",
		"\nPrints the label (True/False) and the softmax score of each label; --json: {label, scores, logits}.",
	); err != nil {
		return err
	}
	if len(images) != 2 || *text == "" {
		return usageErrorf("need --image twice (left, right) and --text")
	}
	explain, err := ef.enabled()
	if err != nil {
		return err
	}
	run, err := mf.start(stdout, images)
	if err != nil {
		return err
	}
	defer run.close()
	ctx, t, imgs := run.ctx, run.tasks, run.images
	res, err := t.NLVR2(ctx, imgs[0], imgs[1], *text)
	if err != nil {
		return err
	}
	if explain {
		if res.Explanations, err = t.Explain(ctx, imgs, *text, ef.opts); err != nil {
			return err
		}
		for i, side := range []string{"left", "right"} {
			legend := fmt.Sprintf("%s image: %s (%.3f)", side, res.Label, res.Scores[res.Label])
			if err := ef.write(stdout, mf.quiet || mf.asJSON, ef.path(side, true), imgs[i], res.Explanations[i], *text, legend); err != nil {
				return err
			}
		}
	}
	if mf.asJSON {
		return writeJSON(stdout, res)
	}
	fmt.Fprintln(stdout, res.Label)
	labels := make([]string, 0, len(res.Scores))
	for l := range res.Scores {
		labels = append(labels, l)
	}
	sort.Slice(labels, func(i, j int) bool { return res.Scores[labels[i]] > res.Scores[labels[j]] })
	for _, l := range labels {
		fmt.Fprintf(stdout, "  %.4f  %s\n", res.Scores[l], l)
	}
	return nil
}
