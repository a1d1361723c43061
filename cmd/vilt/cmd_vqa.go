package main

import (
	"fmt"
	"io"

	"github.com/vilt-vk/vilt-vk/serve"
	"github.com/vilt-vk/vilt-vk/vilt"
)

func init() {
	register(&command{
		name:    "vqa",
		summary: "answer questions about images (visual question answering, top-k sigmoid scores)",
		run:     runVQA,
	})
}

func runVQA(args []string, stdout io.Writer) error {
	fs, mf := taskFlagSet("vqa", true)
	var images, questions procStrings
	fs.Var(&images, "image", "image `file` (repeat: every image is asked every question)")
	fs.Var(&questions, "question", "`question` (repeat)")
	topK := fs.Int("top-k", 5, "answers per image-question pair")
	var ef explainFlags
	ef.register(fs, "to answer", "<image>-<question>")
	if err := parseFlags(fs, args,
		"usage: vilt vqa --image I --question Q [--top-k 5] [--model DIR|ORG/NAME[@REV]] [--json]",
		"\nLike transformers' pipeline(\"visual-question-answering\"): --json prints",
		"[{\"score\": s, \"answer\": a}, ...] for one pair, or one {image, question, answers} per pair.",
	); err != nil {
		return err
	}
	if len(images) == 0 || len(questions) == 0 {
		return usageErrorf("need at least one --image and one --question")
	}
	if *topK < 1 {
		return usageErrorf("--top-k must be >= 1")
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
	ans, err := run.tasks.VQA(run.ctx, run.images, questions, *topK)
	if err != nil {
		return err
	}
	var maps []*vilt.PatchMap
	if explain {
		if maps, err = run.tasks.ExplainPairs(run.ctx, run.images, questions, ef.opts); err != nil {
			return err
		}
		for k, m := range maps {
			i, j := k/len(questions), k%len(questions)
			legend := []string{"Q: " + questions[j]}
			if len(ans[k]) > 0 {
				legend = append(legend, fmt.Sprintf("A: %s (%.3f)", ans[k][0].Answer, ans[k][0].Score))
			}
			path := ef.path(fmt.Sprintf("%d-%d", i, j), len(maps) > 1)
			if err := ef.write(stdout, mf.quiet || mf.asJSON, path, run.images[i], m, legend...); err != nil {
				return err
			}
		}
	}
	if mf.asJSON {
		if explain {
			return writeJSON(stdout, serve.VQAExplainedResponse(images, questions, ans, maps))
		}
		return writeJSON(stdout, serve.VQAResponse(images, questions, ans))
	}
	for k, a := range ans {
		i, j := k/len(questions), k%len(questions)
		fmt.Fprintf(stdout, "%s: %q\n", images[i], questions[j])
		for _, x := range a {
			fmt.Fprintf(stdout, "  %.4f  %s\n", x.Score, x.Answer)
		}
	}
	return nil
}
