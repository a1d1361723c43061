package jpeg

// libjpeg-turbo upsamples subsampled components with a triangle filter
// ("fancy upsampling", jdsample.c) whatever the colour space; this is that filter.

// UpsampleFancy returns a w×h plane from a cw×ch chroma plane with
// libjpeg's h2v1/h1v2/h2v2 triangle filters (edge rows replicated, edge
// columns special-cased as jdsample.c does); other factors replicate samples
// (libjpeg's int_upsample).
func UpsampleFancy(p []uint8, stride, cw, ch, hs, vs, w, h int) []uint8 {
	out := make([]uint8, w*h)
	crow := func(y int) []uint8 {
		y = max(0, min(y, ch-1))
		return p[y*stride : y*stride+cw]
	}
	if hs > 2 || vs > 2 || (hs == 1 && vs == 1) {
		for y := 0; y < h; y++ {
			src, dst := crow(y/vs), out[y*w:(y+1)*w]
			for x := range dst {
				dst[x] = src[x/hs]
			}
		}
		return out
	}
	cs := make([]int32, cw) // per chroma column: nearer row ·3 + farther row (or the sample itself)
	for y := 0; y < h; y++ {
		cy := y / vs
		near := crow(cy)
		if vs == 2 {
			// even output rows blend with the chroma row above, odd ones with the row below
			far := crow(cy - 1)
			if y%2 == 1 {
				far = crow(cy + 1)
			}
			far = far[:len(near)]
			for i, v := range near {
				cs[i] = int32(v)*3 + int32(far[i])
			}
		} else {
			for i, v := range near {
				cs[i] = int32(v)
			}
		}
		dst := out[y*w : (y+1)*w]
		switch {
		case hs == 2 && vs == 2: // h2v2: 9/16, 3/16, 3/16, 1/16
			for x := range dst {
				cx := x >> 1
				var v int32
				if x&1 == 0 {
					if cx == 0 {
						v = (cs[0]*4 + 8) >> 4
					} else {
						v = (cs[cx]*3 + cs[cx-1] + 8) >> 4
					}
				} else if cx == cw-1 {
					v = (cs[cx]*4 + 7) >> 4
				} else {
					v = (cs[cx]*3 + cs[cx+1] + 7) >> 4
				}
				dst[x] = uint8(v)
			}
		case hs == 2: // h2v1: 3/4, 1/4
			for x := range dst {
				cx := x >> 1
				c := cs[cx]
				switch {
				case x&1 == 0 && cx == 0, x&1 == 1 && cx == cw-1:
					dst[x] = uint8(c)
				case x&1 == 0:
					dst[x] = uint8((c*3 + cs[cx-1] + 1) >> 2)
				default:
					dst[x] = uint8((c*3 + cs[cx+1] + 2) >> 2)
				}
			}
		default: // h1v2
			bias := int32(1)
			if y%2 == 1 {
				bias = 2
			}
			for x := range dst {
				dst[x] = uint8((cs[x] + bias) >> 2)
			}
		}
	}
	return out
}
