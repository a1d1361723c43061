package weights

import (
	"bytes"
	"encoding/binary"
	"io"
	"math"
	"testing"
)

// checkStreams checks that WriteTo, Reader and Float32s agree.
func checkStreams(t *testing.T, tt *Tensor) {
	t.Helper()
	f, err := tt.Float32s()
	if err != nil {
		t.Fatal(err)
	}
	want := make([]byte, 4*len(f))
	for i, v := range f {
		binary.LittleEndian.PutUint32(want[4*i:], math.Float32bits(v))
	}
	var buf bytes.Buffer
	n, err := tt.WriteTo(&buf)
	if err != nil || n != int64(len(want)) || n != tt.F32Size() || !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("%s: WriteTo wrote %d bytes (err %v), want %d matching bytes", tt.Name, n, err, len(want))
	}
	got, err := io.ReadAll(iotestOneByte(tt.Reader()))
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("%s: Reader gave %d bytes (err %v), want %d matching bytes", tt.Name, len(got), err, len(want))
	}
}

// iotestOneByte reads in odd-sized pieces to exercise partial chunks.
func iotestOneByte(r io.Reader) io.Reader { return &oddReader{r} }

type oddReader struct{ r io.Reader }

func (o *oddReader) Read(p []byte) (int, error) { return o.r.Read(p[:min(len(p), 7)]) }

func TestConversions(t *testing.T) {
	le := binary.LittleEndian
	cases := []struct {
		name  string
		dtype DType
		raw   []byte
		want  []float32
	}{
		{"f16", F16, le.AppendUint16(le.AppendUint16(le.AppendUint16(le.AppendUint16(nil, 0x3c00), 0xc000), 0x0001), 0x7bff), []float32{1, -2, 5.9604645e-8, 65504}},
		{"bf16", BF16, le.AppendUint16(le.AppendUint16(nil, 0x3f80), 0xc0a0), []float32{1, -5}},
		{"i64", I64, le.AppendUint64(le.AppendUint64(nil, 7), math.MaxUint64), []float32{7, -1}},
		{"i32", I32, le.AppendUint32(nil, 0xfffffffe), []float32{-2}},
		{"f64", F64, le.AppendUint64(nil, math.Float64bits(0.5)), []float32{0.5}},
	}
	for _, c := range cases {
		tt, err := NewTensor(c.name, c.dtype, []int{len(c.want)}, c.raw)
		if err != nil {
			t.Fatal(err)
		}
		got, err := tt.Float32s()
		if err != nil {
			t.Fatal(err)
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("%s[%d] = %v, want %v", c.name, i, got[i], c.want[i])
			}
		}
		checkStreams(t, tt)
	}
	// Every half value converts exactly (float64 reference).
	for h := 0; h < 1<<16; h++ {
		got := F16ToF32(uint16(h))
		exp := (h >> 10) & 0x1f
		mant := float64(h & 0x3ff)
		var want float64
		switch exp {
		case 0:
			want = mant * math.Pow(2, -24)
		case 0x1f:
			continue
		default:
			want = (1 + mant/1024) * math.Pow(2, float64(exp-15))
		}
		if h&0x8000 != 0 {
			want = -want
		}
		if float64(got) != want {
			t.Fatalf("F16ToF32(%#04x) = %v, want %v", h, got, want)
		}
	}
}

func TestNewTensorChecksBytes(t *testing.T) {
	if _, err := NewTensor("x", F32, []int{2, 3}, make([]byte, 20)); err == nil {
		t.Error("want an error for 20 bytes of a [2 3] F32 tensor")
	}
	if _, err := NewTensor("x", Invalid, []int{1}, make([]byte, 1)); err == nil {
		t.Error("want an error for an invalid dtype")
	}
	if _, err := NewTensor("x", F32, []int{-1}, nil); err == nil {
		t.Error("want an error for a negative dimension")
	}
	tt, err := NewTensor("s", F32, nil, make([]byte, 4))
	if err != nil || tt.NumElements() != 1 {
		t.Errorf("scalar: %v, %d elements", err, tt.NumElements())
	}
}

// ReadAt at every odd offset and length gives the WriteTo bytes.
func TestReadAt(t *testing.T) {
	le := binary.LittleEndian
	var raw []byte
	for i := range 700 {
		raw = le.AppendUint16(raw, uint16(0x3c00+i))
	}
	f16, _ := NewTensor("h", F16, []int{700}, raw)
	f32raw := make([]byte, 4*700)
	for i := range 700 {
		le.PutUint32(f32raw[4*i:], math.Float32bits(float32(i)*0.5))
	}
	f32, _ := NewTensor("f", F32, []int{700}, f32raw)
	sy := NewSynthetic(Spec{Head: HeadRetrieval, HiddenSize: 8, VocabSize: 100, NumChannels: 3, PatchSize: 2, ImageSize: 4, MaxPositionEmbeddings: 4, TypeVocabSize: 2, ModalityTypeVocabSize: 2})
	gen, _ := sy.Tensor("vilt.embeddings.text_embeddings.word_embeddings.weight")
	for _, tt := range []*Tensor{f16, f32, gen} {
		var want bytes.Buffer
		tt.WriteTo(&want)
		for _, c := range []struct{ off, n int }{{0, 4}, {1, 3}, {3, 9}, {5, 1027}, {0, want.Len()}, {want.Len() - 3, 10}, {2, 2000}} {
			p := make([]byte, c.n)
			n, err := tt.ReadAt(p, int64(c.off))
			end := min(c.off+c.n, want.Len())
			if n != end-c.off || (end < c.off+c.n) != (err == io.EOF) || !bytes.Equal(p[:n], want.Bytes()[c.off:end]) {
				t.Errorf("%s: ReadAt(%d, %d) = %d, %v", tt.Name, c.n, c.off, n, err)
			}
		}
		if _, err := tt.ReadAt(make([]byte, 1), int64(want.Len())); err != io.EOF {
			t.Errorf("%s: read at end: %v", tt.Name, err)
		}
	}
}

// F32ToF16 inverts F16ToF32 on every finite half and rounds every other float32 to the
// nearest half (ties to even), checked against a search over the neighbouring halves.
func TestF32ToF16(t *testing.T) {
	for h := 0; h < 1<<16; h++ {
		if (h>>10)&0x1f == 0x1f {
			continue
		}
		if got := F32ToF16(F16ToF32(uint16(h))); got != uint16(h) {
			t.Fatalf("F32ToF16(F16ToF32(%#04x)) = %#04x", h, got)
		}
	}
	cases := []struct {
		f    float32
		want uint16
	}{
		{float32(math.Inf(1)), 0x7c00}, {float32(math.Inf(-1)), 0xfc00}, {70000, 0x7c00}, {65519, 0x7bff}, {65520, 0x7c00},
		{1e-10, 0}, {-1e-10, 0x8000}, {1 + 1.0/2048, 0x3c00}, {1 + 3.0/2048, 0x3c02}, {math.Float32frombits(0x33000000), 0}, // 2^-25 ties to 0
		{math.Float32frombits(0x33000001), 1},
	}
	for _, c := range cases {
		if got := F32ToF16(c.f); got != c.want {
			t.Errorf("F32ToF16(%v) = %#04x, want %#04x", c.f, got, c.want)
		}
	}
	if got := F32ToF16(float32(math.NaN())); got&0x7c00 != 0x7c00 || got&0x3ff == 0 {
		t.Errorf("F32ToF16(NaN) = %#04x, not a NaN", got)
	}
	r := uint32(12345)
	for i := 0; i < 200000; i++ {
		r = r*1664525 + 1013904223
		f := math.Float32frombits(r&0x807fffff | (100+r%60)<<23) // exponents 2^-27 .. 2^32
		h := F32ToF16(f)
		if h&0x7fff == 0x7c00 {
			if math.Abs(float64(f)) < 65520 {
				t.Fatalf("F32ToF16(%v) = Inf", f)
			}
			continue
		}
		d := math.Abs(float64(F16ToF32(h)) - float64(f))
		for _, n := range []uint16{h - 1, h + 1} {
			if n&0x7c00 == 0x7c00 || (n^h)&0x8000 != 0 {
				continue
			}
			dn := math.Abs(float64(F16ToF32(n)) - float64(f))
			if dn < d || (dn == d && n&1 == 0) {
				t.Fatalf("F32ToF16(%v) = %#04x, %#04x is nearer (or the even tie)", f, h, n)
			}
		}
	}
}
