package vilt

import (
	"image"
	"image/color"
	"image/draw"
	"math"

	"github.com/vilt-vk/vilt-vk/processor"
	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// RenderOptions configure Overlay.
type RenderOptions struct {
	// Alpha is the heatmap's opacity at the map's maximum (default 0.6); the weakest patch
	// gets a fifth of it, so the map's extent stays visible.
	Alpha float64
	// Colormap turns a value in [0, 1] into a colour (nil: Heat).
	Colormap func(v float64) color.RGBA
	// Blocky draws every patch flat; the default interpolates between patch centres.
	Blocky bool
	// Legend lines (e.g. the answer and its score) are drawn in the bottom-left corner over
	// a colour bar.
	Legend []string
}

// heatStops is a blue → cyan → yellow → red ramp.
var heatStops = [...]struct {
	at      float64
	r, g, b float64
}{{0, 40, 20, 160}, {0.35, 0, 190, 255}, {0.65, 255, 220, 0}, {1, 230, 20, 20}}

// Heat is the default colormap: dark blue for the least attention to red for the most.
func Heat(v float64) color.RGBA {
	v = math.Max(0, math.Min(1, v))
	for i := 1; i < len(heatStops); i++ {
		a, b := heatStops[i-1], heatStops[i]
		if v <= b.at {
			t := (v - a.at) / (b.at - a.at)
			return color.RGBA{uint8(a.r + t*(b.r-a.r) + 0.5), uint8(a.g + t*(b.g-a.g) + 0.5), uint8(a.b + t*(b.b-a.b) + 0.5), 255}
		}
	}
	s := heatStops[len(heatStops)-1]
	return color.RGBA{uint8(s.r), uint8(s.g), uint8(s.b), 255}
}

// ToImage converts a decoded image into an image.RGBA.
func ToImage(img *processor.RGBImage) *image.RGBA {
	out := image.NewRGBA(image.Rect(0, 0, img.Width, img.Height))
	for i := 0; i < img.Width*img.Height; i++ {
		copy(out.Pix[4*i:4*i+3], img.Pix[3*i:3*i+3])
		out.Pix[4*i+3] = 255
	}
	return out
}

// Value is the map at original pixel (x, y) scaled to [0, 1] between the map's minimum and
// maximum (attention is spread thinly: a scale from zero would show almost nothing), and whether
// a patch covers that pixel (the processor's padding and pixels past the grid have none).
// Interpolation is bilinear between patch centres unless blocky.
func (m *PatchMap) Value(x, y int, blocky bool) (float64, bool) {
	if m.CellWidth <= 0 || m.CellHeight <= 0 || m.Rows <= 0 || m.Cols <= 0 || len(m.Values) != m.Rows*m.Cols {
		return 0, false
	}
	gx := (float64(x) + 0.5 - m.X) / m.CellWidth
	gy := (float64(y) + 0.5 - m.Y) / m.CellHeight
	if gx < 0 || gy < 0 || gx >= float64(m.Cols) || gy >= float64(m.Rows) {
		return 0, false
	}
	lo, hi := m.Range()
	if hi <= lo {
		return 0, true
	}
	scale := func(v float32) float64 { return float64(v-lo) / float64(hi-lo) }
	if blocky {
		return scale(m.At(int(gy), int(gx))), true
	}
	fx := math.Max(0, math.Min(gx-0.5, float64(m.Cols-1)))
	fy := math.Max(0, math.Min(gy-0.5, float64(m.Rows-1)))
	c0, r0 := int(fx), int(fy)
	c1, r1 := min(c0+1, m.Cols-1), min(r0+1, m.Rows-1)
	tx, ty := fx-float64(c0), fy-float64(r0)
	top := scale(m.At(r0, c0))*(1-tx) + scale(m.At(r0, c1))*tx
	bot := scale(m.At(r1, c0))*(1-tx) + scale(m.At(r1, c1))*tx
	return top*(1-ty) + bot*ty, true
}

// Overlay draws the map over the original image at its size: each covered pixel is blended
// with the colormap's colour, more opaque where the attention is stronger; pixels without a
// patch are left as they are. The legend, if any, goes in the bottom-left corner.
func Overlay(img *processor.RGBImage, m *PatchMap, opts RenderOptions) *image.RGBA {
	if opts.Alpha <= 0 {
		opts.Alpha = 0.6
	}
	cmap := opts.Colormap
	if cmap == nil {
		cmap = Heat
	}
	out := ToImage(img)
	for y := 0; y < img.Height; y++ {
		for x := 0; x < img.Width; x++ {
			v, ok := m.Value(x, y, opts.Blocky)
			if !ok {
				continue
			}
			c := cmap(v)
			a := opts.Alpha * (0.2 + 0.8*v)
			p := out.Pix[out.PixOffset(x, y):]
			p[0] = uint8(float64(p[0])*(1-a) + float64(c.R)*a + 0.5)
			p[1] = uint8(float64(p[1])*(1-a) + float64(c.G)*a + 0.5)
			p[2] = uint8(float64(p[2])*(1-a) + float64(c.B)*a + 0.5)
		}
	}
	if len(opts.Legend) > 0 {
		drawLegend(out, opts.Legend, cmap)
	}
	return out
}

// drawLegend writes lines in basicfont's 7×13 face on a dark box with a low→high colour bar.
func drawLegend(dst *image.RGBA, lines []string, cmap func(float64) color.RGBA) {
	face := basicfont.Face7x13
	const pad, lineH, barH = 4, 13, 6
	w := 60 // the colour bar's width at least
	for _, l := range lines {
		w = max(w, font.MeasureString(face, l).Ceil())
	}
	h := len(lines)*lineH + barH + pad
	b := dst.Bounds()
	box := image.Rect(b.Min.X, b.Max.Y-h-2*pad, b.Min.X+w+2*pad, b.Max.Y).Intersect(b)
	draw.Draw(dst, box, image.NewUniform(color.RGBA{0, 0, 0, 170}), image.Point{}, draw.Over)
	d := &font.Drawer{Dst: dst, Src: image.White, Face: face}
	for i, l := range lines {
		d.Dot = fixed.P(box.Min.X+pad, box.Min.Y+pad+(i+1)*lineH-3)
		d.DrawString(l)
	}
	y0 := box.Min.Y + pad + len(lines)*lineH
	for x := 0; x < w; x++ {
		c := cmap(float64(x) / float64(max(w-1, 1)))
		for y := y0; y < y0+barH; y++ {
			if image.Pt(box.Min.X+pad+x, y).In(b) {
				dst.SetRGBA(box.Min.X+pad+x, y, c)
			}
		}
	}
}
