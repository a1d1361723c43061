package serve

import "github.com/vilt-vk/vilt-vk/vilt"

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
