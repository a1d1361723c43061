package graph

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/vilt-vk/vilt-vk/gpu"
)

func TestExpAttnAB(t *testing.T) {
	d, err := gpu.Open(gpu.Options{})
	must(t, err)
	defer d.Close()
	k, _ := NewKernels(d)
	ctx := context.Background()
	r := rand.New(rand.NewPCG(1, 1))
	B, S, hid, heads := 1, 269, 768, 12
	qkv, _ := UploadTensor(ctx, d, randn(r, B*S*3*hid, 1), B, S, 3*hid)
	mask := make([]float32, B*S)
	m, _ := UploadTensor(ctx, d, mask, B, S)
	out, _ := NewTensor(d, F32, B, S, hid)
	type cfg struct{ wg, kb int }
	cfgs := []cfg{{8, 8}, {8, 16}, {16, 8}, {8, 4}, {32, 8}}
	recs := map[cfg]*gpu.Recorder{}
	for _, c := range cfgs {
		kern, err := k.kernel("attention", []gpu.BindingKind{tex, rd, wr, wr}, 16,
			gpu.SpecUint(0, uint32(c.wg)), gpu.SpecUint(1, 16), gpu.SpecUint(2, 0), gpu.SpecUint(3, uint32(c.kb)))
		must(t, err)
		dm, _ := k.dummy()
		rec, _ := d.NewRecorder(gpu.RecorderOptions{})
		must(t, rec.Dispatch(kern, [3]uint32{uint32((S + c.wg - 1) / c.wg), uint32(B * heads), 1}, gpu.Push(uint32(S), uint32(hid/4), uint32(heads), float32(8)), qkv.Binding(), m.Binding(), out.Binding(), dm))
		recs[c] = rec
	}
	best := map[cfg]float64{}
	for round := 0; round < 4; round++ {
		for _, c := range cfgs {
			c0 := cpuSeconds()
			must(t, recs[c].Submit(ctx))
			cpu := cpuSeconds() - c0
			if b, ok := best[c]; !ok || cpu < b {
				best[c] = cpu
			}
		}
	}
	for _, c := range cfgs {
		fmt.Printf("wg %d kb %d: cpu %.1f ms → %.1f GFLOPS/cpu2\n", c.wg, c.kb, best[c]*1e3, 2*4*float64(S*S*hid)/best[c]/1e9)
	}
	_ = math.Pi
}
