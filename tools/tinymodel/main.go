// Command tinymodel writes the demo model shipped in testdata/tiny-vilt-vqa: a tiny
// ViltForQuestionAnswering (hidden 32, 2 layers) with seeded random weights, a small
// vocabulary generated from the word list below (never the BERT vocabulary), the
// tokenizer and image-processor configs, and an example picture drawn here. Its answers
// are meaningless; it exists so the whole path (decode, preprocess, tokenize, Vulkan
// forward, postprocess) runs on a fresh machine without downloading weights.
//
//	go run ./tools/tinymodel -out testdata/tiny-vilt-vqa
//
// The output is deterministic: running it again gives the same bytes.
package main

import (
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/vilt-vk/vilt-vk/vilt"
	"github.com/vilt-vk/vilt-vk/weights"
)

// words is the demo vocabulary (lower case; WordPiece continuations follow).
const words = `a an the is are was were be it its this that these those there here what which who
where when why how many much more most some any all no not yes one two three four five six seven
eight nine ten zero of in on at to from with by for and or but as up down left right top bottom
front back near next behind under over above below inside outside between color colour red blue
green yellow orange purple pink brown black white gray grey dark light bright big small large little
tall short long old new young round square cat cats kitten dog dogs puppy bird horse cow sheep
animal animals person people man woman boy girl child baby player couch sofa bed chair table desk
floor wall window door room kitchen house street road car bus train truck bike bicycle boat plane
sky cloud clouds sun tree trees grass flower flowers water sea beach snow mountain field park food
pizza cake apple banana orange sandwich plate cup bowl bottle glass remote control phone laptop
computer tv television book books clock lamp picture photo image shirt hat dog frisbee ball kite
umbrella bag sign light lights bunch pair group lot laying lying sitting standing sleeping eating
playing holding wearing looking running walking riding flying do does did have has can could will
would should you he she they we i my your his her their our me him them us same other another each
both only just very too also then than so if time day night today morning made make see look play
eat sit stand sleep hold wear ride fly run walk open closed empty full hot cold wet dry soft hard
happy sad cute wild striped spotted furry wooden metal plastic paper`

var pieces = []string{"##s", "##es", "##ing", "##ed", "##er", "##ly", "##y", "##n", "##a", "##e", "##i", "##o", "##t"}

// labels are the demo answers (ids in this order).
var labels = []string{"yes", "no", "1", "2", "3", "4", "cat", "cats", "dog", "couch", "remote", "red", "blue", "green", "white", "black", "sitting", "sleeping"}

func main() {
	out := flag.String("out", "testdata/tiny-vilt-vqa", "output folder")
	flag.Parse()
	if err := run(*out); err != nil {
		fmt.Fprintln(os.Stderr, "tinymodel:", err)
		os.Exit(1)
	}
}

func vocabulary() []string {
	v := []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}
	seen := map[string]bool{}
	for _, t := range v {
		seen[t] = true
	}
	add := func(t string) {
		if !seen[t] {
			seen[t] = true
			v = append(v, t)
		}
	}
	for _, c := range `.,?!'"-:;()/&` {
		add(string(c))
	}
	for d := 0; d <= 9; d++ {
		add(strconv.Itoa(d))
	}
	for _, w := range strings.Fields(words) {
		add(w)
	}
	for c := 'a'; c <= 'z'; c++ { // single letters and continuations: every word tokenizes
		add(string(c))
		add("##" + string(c))
	}
	for _, p := range pieces {
		add(p)
	}
	return v
}

func run(out string) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	vocab := vocabulary()
	id2label := map[string]string{}
	label2id := map[string]int{}
	for i, l := range labels {
		id2label[strconv.Itoa(i)] = l
		label2id[l] = i
	}
	cfgJSON := map[string]any{
		"architectures":                []string{"ViltForQuestionAnswering"},
		"model_type":                   "vilt",
		"vilt_vk_note":                 "demo model with random weights and a generated vocabulary (testdata/tiny-vilt-vqa, made by go run ./tools/tinymodel): its answers are meaningless. Real answers: --model dandelin/vilt-b32-finetuned-vqa",
		"vocab_size":                   len(vocab),
		"hidden_size":                  32,
		"num_hidden_layers":            2,
		"num_attention_heads":          4,
		"intermediate_size":            64,
		"hidden_act":                   "gelu",
		"hidden_dropout_prob":          0.0,
		"attention_probs_dropout_prob": 0.0,
		"initializer_range":            0.02,
		"layer_norm_eps":               1e-12,
		"image_size":                   384,
		"patch_size":                   32,
		"num_channels":                 3,
		"qkv_bias":                     true,
		"max_image_length":             -1,
		"max_position_embeddings":      40,
		"type_vocab_size":              2,
		"modality_type_vocab_size":     2,
		"tie_word_embeddings":          false,
		"num_images":                   -1,
		"id2label":                     id2label,
		"label2id":                     label2id,
	}
	if err := writeJSON(filepath.Join(out, "config.json"), cfgJSON); err != nil {
		return err
	}
	cfg, err := vilt.LoadConfigFile(filepath.Join(out, "config.json"))
	if err != nil {
		return err
	}
	var ts []*weights.Tensor
	for _, ks := range cfg.Spec().StateDict() {
		t, err := randomTensor(ks.Name, ks.Shape)
		if err != nil {
			return err
		}
		ts = append(ts, t)
	}
	f, err := os.Create(filepath.Join(out, "model.safetensors"))
	if err != nil {
		return err
	}
	if err := weights.WriteSafetensors(f, ts, map[string]string{"format": "pt", "producer": "vilt-vk tools/tinymodel (random weights)"}); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "vocab.txt"), []byte(strings.Join(vocab, "\n")+"\n"), 0o644); err != nil {
		return err
	}
	special := map[string]any{"unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]", "mask_token": "[MASK]"}
	if err := writeJSON(filepath.Join(out, "special_tokens_map.json"), special); err != nil {
		return err
	}
	tok := map[string]any{
		"tokenizer_class": "BertTokenizer", "processor_class": "ViltProcessor", "do_lower_case": true,
		"do_basic_tokenize": true, "tokenize_chinese_chars": true, "strip_accents": nil, "model_max_length": 40,
		"clean_up_tokenization_spaces": true, "never_split": nil,
	}
	for k, v := range special {
		tok[k] = v
	}
	if err := writeJSON(filepath.Join(out, "tokenizer_config.json"), tok); err != nil {
		return err
	}
	pre := map[string]any{
		"do_normalize": true, "do_pad": true, "do_rescale": true, "do_resize": true,
		"image_mean": []float64{0.5, 0.5, 0.5}, "image_std": []float64{0.5, 0.5, 0.5},
		"image_processor_type": "ViltImageProcessor", "processor_class": "ViltProcessor",
		"resample": 3, "rescale_factor": 1.0 / 255, "size": map[string]int{"shortest_edge": 384}, "size_divisor": 32,
	}
	if err := writeJSON(filepath.Join(out, "preprocessor_config.json"), pre); err != nil {
		return err
	}
	return writeExample(filepath.Join(out, "example.png"))
}

// randomTensor draws a parameter from a generator seeded by its name: LayerNorm weights
// near 1, biases small, matrices N(0, 1/fan_in), embeddings N(0, 0.5²).
func randomTensor(name string, shape []int) (*weights.Tensor, error) {
	n := 1
	for _, d := range shape {
		n *= d
	}
	var seed uint64 = 14695981039346656037
	for _, c := range []byte(name) {
		seed = (seed ^ uint64(c)) * 1099511628211
	}
	rng := rand.New(rand.NewPCG(seed, 7))
	lower := strings.ToLower(name)
	isLN := strings.Contains(lower, "layernorm") || strings.Contains(lower, "classifier.1.")
	v := make([]float32, n)
	for i := range v {
		g := rng.NormFloat64()
		var x float64
		switch {
		case isLN && strings.HasSuffix(name, ".weight"):
			x = 1 + 0.1*g
		case strings.HasSuffix(name, ".bias"):
			x = 0.1 * g
		case len(shape) >= 2 && strings.HasSuffix(name, ".weight") && !strings.Contains(name, "embeddings"):
			fanIn := n / shape[0]
			x = g / math.Sqrt(float64(fanIn))
		default:
			x = 0.5 * g
		}
		v[i] = float32(x)
	}
	b := make([]byte, 4*n)
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return weights.NewTensor(name, weights.F32, shape, b)
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ") // map keys come out sorted
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// writeExample draws two orange cats on a blue couch (flat colours: a few kB of PNG).
func writeExample(path string) error {
	const W, H = 320, 240
	img := image.NewRGBA(image.Rect(0, 0, W, H))
	fill := func(x0, y0, x1, y1 int, c color.RGBA) {
		for y := max(y0, 0); y < min(y1, H); y++ {
			for x := max(x0, 0); x < min(x1, W); x++ {
				img.SetRGBA(x, y, c)
			}
		}
	}
	ellipse := func(cx, cy, rx, ry int, c color.RGBA) {
		for y := cy - ry; y <= cy+ry; y++ {
			for x := cx - rx; x <= cx+rx; x++ {
				dx, dy := float64(x-cx)/float64(rx), float64(y-cy)/float64(ry)
				if dx*dx+dy*dy <= 1 && x >= 0 && y >= 0 && x < W && y < H {
					img.SetRGBA(x, y, c)
				}
			}
		}
	}
	fill(0, 0, W, H, color.RGBA{235, 225, 205, 255})     // wall
	fill(0, 150, W, H, color.RGBA{120, 90, 60, 255})     // floor
	fill(20, 90, 300, 200, color.RGBA{60, 80, 170, 255}) // couch
	fill(20, 70, 300, 110, color.RGBA{50, 70, 150, 255}) // couch back
	orange := color.RGBA{230, 140, 40, 255}
	for _, cx := range []int{105, 215} {
		ellipse(cx, 125, 45, 22, orange)    // body
		ellipse(cx-38, 105, 17, 15, orange) // head
		for _, ex := range []int{-48, -28} {
			fill(cx+ex, 84, cx+ex+8, 94, orange) // ears
		}
		fill(cx+40, 120, cx+70, 127, orange) // tail
	}
	fill(150, 160, 175, 168, color.RGBA{30, 30, 30, 255}) // a remote
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
