package processor

import (
	"bytes"
	"os"
	"reflect"
	"testing"
)

// ioCase rebuilds one shared/golden/io input file with the processor.
type ioCase struct {
	name          string
	texts         []string
	images        []string // sources relative to shared/golden
	edges         []int    // shortest_edge per image
	imagesPerText int
}

// TestProcessorIOGoldens rebuilds every io/inputs__*.safetensors: ids, masks,
// pixel_values (within 1e-6; they come out identical) and pixel_mask.
func TestProcessorIOGoldens(t *testing.T) {
	dir := sharedPath(t, "golden/models/tiny-vilt-p32-vqa")
	proc, err := LoadProcessor(os.DirFS(dir))
	if err != nil {
		t.Fatal(err)
	}
	proc.Tokenizer = testTokenizer(t)
	cases := []ioCase{
		{"case1_single", []string{"How many cats are there?"}, []string{"../vilt-data/cats.png"}, []int{96}, 1},
		{"case2_batch_padded", []string{"a bunch of cats laying on a couch.", "two cats?"}, []string{"../vilt-data/cats.png", "images/rgb_500x333.png"}, []int{96, 64}, 1},
		{"case3_nlvr2", []string{"The left image contains twice the number of cats as the right image.", "two cats"},
			[]string{"../vilt-data/cats.png", "images/rgb_333x500.jpg", "images/square_640x640.png", "images/rgb_500x333.png"}, []int{96, 96, 96, 96}, 2},
		{"case4_processor_cats384", []string{"How many cats are there?"}, []string{"../vilt-data/cats.png"}, []int{384}, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := readST(t, goldenSource(t, "io/inputs__"+c.name+".safetensors"))
			var imgs []*RGBImage
			for _, s := range c.images {
				imgs = append(imgs, modelInput(t, s))
			}
			var b *Batch
			if allSame(c.edges) {
				opts := proc.Images.Options()
				opts.ShortestEdge = c.edges[0]
				ip, err := NewImageProcessor(opts)
				if err != nil {
					t.Fatal(err)
				}
				p2 := &Processor{Tokenizer: proc.Tokenizer, Images: ip}
				b, err = p2.Process(Inputs{Texts: c.texts, Images: imgs, ImagesPerText: c.imagesPerText}, EncodeOptions{})
				if err != nil {
					t.Fatal(err)
				}
			} else { // per-image sizes: Prepare each, then Pad
				var prepared []*PixelImage
				for i, img := range imgs {
					opts := DefaultImageOptions()
					opts.ShortestEdge = c.edges[i]
					ip, _ := NewImageProcessor(opts)
					pi, err := ip.Prepare(img)
					if err != nil {
						t.Fatal(err)
					}
					prepared = append(prepared, pi)
				}
				pb, err := proc.Images.Pad(prepared)
				if err != nil {
					t.Fatal(err)
				}
				enc, err := proc.Tokenizer.EncodeBatch(c.texts, nil, EncodeOptions{})
				if err != nil {
					t.Fatal(err)
				}
				b = &Batch{BatchSize: enc.Batch, SeqLen: enc.SeqLen, InputIDs: enc.InputIDs, AttentionMask: enc.AttentionMask,
					TokenTypeIDs: enc.TokenTypeIDs, ImagesPerText: 1, Height: pb.Height, Width: pb.Width, PixelValues: pb.PixelValues, PixelMask: pb.PixelMask}
			}
			var buf bytes.Buffer
			if err := b.WriteSafetensors(&buf, map[string]string{"case": c.name}); err != nil {
				t.Fatal(err)
			}
			got, err := parseST(buf.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(names(got), names(g)) {
				t.Fatalf("tensors %v, want %v", names(got), names(g))
			}
			for name, want := range g {
				have := got[name]
				if have.DType != want.DType || !reflect.DeepEqual(have.Shape, want.Shape) {
					t.Errorf("%s: %s%v, want %s%v", name, have.DType, have.Shape, want.DType, want.Shape)
					continue
				}
				if name == "pixel_values" {
					if d, at := maxAbsDiff(have.f32(), want.f32()); d > 1e-6 {
						t.Errorf("pixel_values: max abs diff %g at %d", d, at)
					}
				} else if !bytes.Equal(have.Data, want.Data) {
					t.Errorf("%s differs: %v want %v", name, have.ints(), want.ints())
				}
			}
		})
	}
}

func allSame(x []int) bool {
	for _, v := range x {
		if v != x[0] {
			return false
		}
	}
	return true
}
