package serve

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vilt-vk/vilt-vk/vilt"
)

// MaxExplainPictures bounds the patch maps one request may ask for: each costs a forward
// with attentions outside the batcher.
const MaxExplainPictures = 16

// setExplain turns the request's "explain" and "explain_method" into options.
func (r *request) setExplain(on bool, method string) error {
	if !on {
		if method != "" {
			return errorf(http.StatusBadRequest, "explain_method without \"explain\": true")
		}
		return nil
	}
	m, err := vilt.ParseExplainMethod(method)
	if err != nil {
		return errorf(http.StatusBadRequest, "explain_method: %v", err)
	}
	r.Explain = &vilt.ExplainOptions{Method: m}
	return nil
}

// setExplainField reads the multipart fields explain (a boolean) and explain_method.
func (r *request) setExplainField(name, value string) error {
	value = strings.TrimSpace(value)
	switch name {
	case "explain":
		on, err := strconv.ParseBool(value)
		if err != nil {
			return errorf(http.StatusBadRequest, "explain: want true or false, got %q", value)
		}
		if !on {
			r.Explain = nil
			return nil
		}
		if r.Explain == nil {
			r.Explain = &vilt.ExplainOptions{}
		}
	case "explain_method":
		m, err := vilt.ParseExplainMethod(value)
		if err != nil {
			return errorf(http.StatusBadRequest, "explain_method: %v", err)
		}
		if r.Explain == nil {
			r.Explain = &vilt.ExplainOptions{}
		}
		r.Explain.Method = m
	}
	return nil
}

func checkExplainCount(n int) error {
	if n > MaxExplainPictures {
		return errorf(http.StatusRequestEntityTooLarge, "explain: %d image-text pairs to explain; at most %d per request", n, MaxExplainPictures)
	}
	return nil
}

// explainVQA answers a VQA request with explanations (checking their count first).
func explainVQA(ctx context.Context, t *vilt.Tasks, req *request) (any, error) {
	if err := checkExplainCount(len(req.Images) * len(req.Texts)); err != nil {
		return nil, err
	}
	ans, err := t.VQA(ctx, req.Images, req.Texts, req.TopK)
	if err != nil {
		return nil, err
	}
	maps, err := t.ExplainPairs(ctx, req.Images, req.Texts, *req.Explain)
	if err != nil {
		return nil, err
	}
	return VQAExplainedResponse(req.ImageNames, req.Texts, ans, maps), nil
}

// explainRank adds every pair's explanation to a ranking (the count was checked before).
func explainRank(ctx context.Context, t *vilt.Tasks, req *request, res *vilt.RankResult) error {
	maps, err := t.ExplainPairs(ctx, req.Images, req.Texts, *req.Explain)
	if err != nil {
		return err
	}
	n := len(req.Texts)
	for i := range req.Images {
		res.Explanations = append(res.Explanations, maps[i*n:(i+1)*n])
	}
	return nil
}

// serverTiming is the Server-Timing header of a task response: the time from the decoded
// request to the result (queue, forwards, explanations), which the page shows.
func serverTiming(d time.Duration) string {
	return fmt.Sprintf("task;dur=%.1f", float64(d.Microseconds())/1000)
}

// VQAExplainedResponse is the JSON of a VQA call with explanations (CLI --explain --json and
// requests with "explain"): one VQAItem per pair, image-major, each with its patch map, even
// for a single pair (the pipeline's bare answer list has no room for it).
func VQAExplainedResponse(imageNames, questions []string, ans [][]vilt.Answer, maps []*vilt.PatchMap) []VQAItem {
	items := make([]VQAItem, 0, len(ans))
	for k, a := range ans {
		i, j := k/len(questions), k%len(questions)
		it := VQAItem{Image: i, Question: questions[j], Answers: a}
		if i < len(imageNames) {
			it.Name = imageNames[i]
		}
		if k < len(maps) {
			it.Explanation = maps[k]
		}
		items = append(items, it)
	}
	return items
}
