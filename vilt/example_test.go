package vilt_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/vilt-vk/vilt-vk/processor"
	"github.com/vilt-vk/vilt-vk/vilt"
)

// demoModel is the tiny VQA model shipped in the repository: random weights and a generated
// vocabulary, so its answers are meaningless, but deterministic. Use a real checkpoint such
// as "dandelin/vilt-b32-finetuned-vqa" (a hub id) or its folder instead.
const demoModel = "../testdata/tiny-vilt-vqa"

// Load reads a model folder (or a hub id from the Hugging Face cache) with its tokenizer and
// image processor, onto the default Vulkan device.
func ExampleLoad() {
	ctx := context.Background()
	p, err := vilt.Load(ctx, demoModel, vilt.LoadOptions{})
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	cfg := p.Model.Config
	fmt.Println("head:", p.Model.Head)
	fmt.Println("layers:", cfg.NumHiddenLayers, "hidden size:", cfg.HiddenSize, "answers:", len(cfg.ID2Label))
	// Output:
	// head: ViltForQuestionAnswering
	// layers: 2 hidden size: 32 answers: 18
}

// VQA answers a question about an image with the top-k answers and their sigmoid scores,
// as transformers' visual-question-answering pipeline.
func ExamplePipeline_VQA() {
	ctx := context.Background()
	p, err := vilt.Load(ctx, demoModel, vilt.LoadOptions{})
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	data, err := os.ReadFile(demoModel + "/example.png")
	if err != nil {
		log.Fatal(err)
	}
	img, err := processor.DecodeImageBytes(data, processor.DecodeOptions{})
	if err != nil {
		log.Fatal(err)
	}
	answers, err := p.VQA(ctx, []*processor.RGBImage{img}, []string{"How many cats are there?"}, 3)
	if err != nil {
		log.Fatal(err)
	}
	for _, a := range answers[0] { // one image × one question
		fmt.Printf("%.3f %s\n", a.Score, a.Answer)
	}
	// Output:
	// 0.775 dog
	// 0.758 red
	// 0.682 no
}

// Forward runs the model on preprocessed inputs and returns transformers' outputs by name.
func ExampleModel_Forward() {
	ctx := context.Background()
	p, err := vilt.Load(ctx, demoModel, vilt.LoadOptions{})
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	data, err := os.ReadFile(demoModel + "/example.png")
	if err != nil {
		log.Fatal(err)
	}
	img, err := processor.DecodeImageBytes(data, processor.DecodeOptions{})
	if err != nil {
		log.Fatal(err)
	}
	batch, err := p.Processor.Process(processor.Inputs{
		Texts:  []string{"How many cats are there?"},
		Images: []*processor.RGBImage{img},
	}, processor.EncodeOptions{})
	if err != nil {
		log.Fatal(err)
	}
	out, err := p.Model.Forward(ctx, vilt.InputsFromBatch(batch), vilt.ForwardOptions{OutputHiddenStates: true})
	if err != nil {
		log.Fatal(err)
	}
	for _, name := range out.Names() {
		fmt.Println(name, out.Tensors[name].Shape)
	}
	// The sequence is the text tokens, the image [CLS] and the image patches.
	fmt.Printf("%d = %d text tokens + 1 + %d image patches\n", out.SeqLen, batch.SeqLen, out.ImageTokens)
	fmt.Println("top answer:", p.Model.TopAnswers(out.Logits(), 1)[0][0].Answer)
	// Output:
	// hidden_states.0 [1 201 32]
	// hidden_states.1 [1 201 32]
	// hidden_states.2 [1 201 32]
	// last_hidden_state [1 201 32]
	// logits [1 18]
	// pooler_output [1 32]
	// 201 = 8 text tokens + 1 + 192 image patches
	// top answer: dog
}
