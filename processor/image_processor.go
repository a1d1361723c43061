package processor

import (
	"errors"
	"fmt"
)

// ImageProcessor is ViltImageProcessor: resize (shortest edge, capped longer
// edge, multiples of size_divisor), rescale, normalise, pad to the batch's
// largest height and width with a pixel mask. It is safe for concurrent use.
type ImageProcessor struct {
	opts ImageOptions
	lut  [3][256]float32 // the rescale+normalise result of every byte value, per channel
}

// NewImageProcessor checks opts and precomputes the normalisation table.
func NewImageProcessor(opts ImageOptions) (*ImageProcessor, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	p := &ImageProcessor{opts: opts}
	for c := 0; c < 3; c++ {
		for v := 0; v < 256; v++ {
			p.lut[c][v] = p.normalize(c, uint8(v))
		}
	}
	return p, nil
}

// Options returns the processor's settings.
func (p *ImageProcessor) Options() ImageOptions { return p.opts }

// normalize is HF's rescale (float64 multiply, then float32) and normalize
// ((x - mean) / std in float32).
func (p *ImageProcessor) normalize(c int, v uint8) float32 {
	o := &p.opts
	x := float32(v)
	if o.DoRescale {
		x = float32(float64(v) * o.RescaleFactor)
	}
	if o.DoNormalize {
		mean, std := float32(o.ImageMean[0]), float32(o.ImageStd[0])
		if len(o.ImageMean) == 3 {
			mean = float32(o.ImageMean[c])
		}
		if len(o.ImageStd) == 3 {
			std = float32(o.ImageStd[c])
		}
		x = float32(x-mean) / std
	}
	return x
}

// OutputSize is ViLT's get_resize_output_image_size for an h×w image: shortest
// edge to ShortestEdge, the longer edge at most int(1333/800·ShortestEdge),
// rounded half up, then floored to a multiple of SizeDivisor. Without DoResize
// the size is unchanged.
func (p *ImageProcessor) OutputSize(h, w int) (int, int, error) {
	if h <= 0 || w <= 0 {
		return 0, 0, fmt.Errorf("%w: %dx%d", ErrEmptyImage, w, h)
	}
	if !p.opts.DoResize {
		return h, w, nil
	}
	shorter := float64(p.opts.ShortestEdge)
	longer := float64(int(1333.0 / 800 * shorter))
	scale := shorter / float64(min(h, w))
	var nh, nw float64
	if h < w {
		nh, nw = shorter, scale*float64(w)
	} else {
		nh, nw = scale*float64(h), shorter
	}
	if m := max(nh, nw); m > longer {
		s := longer / m
		nh, nw = s*nh, s*nw
	}
	ih, iw := int(nh+0.5), int(nw+0.5)
	if d := p.opts.SizeDivisor; d > 1 {
		ih, iw = ih/d*d, iw/d*d
	}
	if ih <= 0 || iw <= 0 {
		return ih, iw, fmt.Errorf("%w: %dx%d (w×h) would resize to %dx%d", ErrImageTooThin, w, h, iw, ih)
	}
	return ih, iw, nil
}

// Resize applies the resize step alone (the uint8 image the model's pixel
// values come from; the goldens' resized_u8).
func (p *ImageProcessor) Resize(img *RGBImage) (*RGBImage, error) {
	h, w, err := p.OutputSize(img.Height, img.Width)
	if err != nil {
		return nil, err
	}
	if !p.opts.DoResize {
		return img, nil
	}
	return ResizeRGB(img, w, h, p.opts.Resample)
}

// PixelImage is one processed image, channels-first [3, Height, Width].
type PixelImage struct {
	Height, Width int
	Data          []float32
}

// Prepare resizes, rescales and normalises one image (no padding).
func (p *ImageProcessor) Prepare(img *RGBImage) (*PixelImage, error) {
	r, err := p.Resize(img)
	if err != nil {
		return nil, err
	}
	pi := &PixelImage{Height: r.Height, Width: r.Width, Data: make([]float32, 3*r.Height*r.Width)}
	p.writePlanes(pi.Data, r.Width, r.Height, r)
	return pi, nil
}

// writePlanes writes r's normalised channels into dst, laid out [3, planeRows, rowStride].
func (p *ImageProcessor) writePlanes(dst []float32, rowStride, planeRows int, r *RGBImage) {
	for y := 0; y < r.Height; y++ {
		p.writeRow(dst, rowStride, planeRows, y, r.Pix[y*r.Width*3:(y+1)*r.Width*3])
	}
}

// writeRow normalises one RGB row into row y of the three planes.
func (p *ImageProcessor) writeRow(dst []float32, rowStride, planeRows, y int, src []uint8) {
	w := len(src) / 3
	plane := rowStride * planeRows
	l0, l1, l2 := &p.lut[0], &p.lut[1], &p.lut[2]
	d0 := dst[y*rowStride : y*rowStride+w]
	d1 := dst[plane+y*rowStride : plane+y*rowStride+w]
	d2 := dst[2*plane+y*rowStride : 2*plane+y*rowStride+w]
	for x := range d0 {
		s := src[x*3 : x*3+3]
		d0[x] = l0[s[0]]
		d1[x] = l1[s[1]]
		d2[x] = l2[s[2]]
	}
}

// PixelBatch is the processor's output: PixelValues [N, 3, Height, Width] and
// PixelMask [N, Height, Width] (1 on each image's own top-left area, 0 on the
// padding; nil when DoPad is off, as transformers returns no pixel_mask then).
type PixelBatch struct {
	N, Height, Width int
	PixelValues      []float32
	PixelMask        []int64
	// Sizes holds each image's own (height, width) before padding.
	Sizes [][2]int
}

// Preprocess runs the whole ViltImageProcessor on a batch of images.
func (p *ImageProcessor) Preprocess(images []*RGBImage) (*PixelBatch, error) {
	if len(images) == 0 {
		return nil, errors.New("preprocess: no images")
	}
	sizes := make([][2]int, len(images))
	for i, img := range images {
		if img == nil {
			return nil, fmt.Errorf("image %d: nil", i)
		}
		h, w, err := p.OutputSize(img.Height, img.Width)
		if err != nil {
			return nil, fmt.Errorf("image %d: %w", i, err)
		}
		sizes[i] = [2]int{h, w}
	}
	H, W, err := p.batchSize(sizes)
	if err != nil {
		return nil, err
	}
	b := &PixelBatch{N: len(images), Height: H, Width: W, Sizes: sizes, PixelValues: make([]float32, len(images)*3*H*W)}
	for i, img := range images {
		dst := b.PixelValues[i*3*H*W : (i+1)*3*H*W]
		if !p.opts.DoResize {
			p.writePlanes(dst, W, H, img)
			continue
		}
		// The resize hands over rows as they are made: no resized image is stored.
		err := resizeRows(img, sizes[i][1], sizes[i][0], p.opts.Resample, func(y int, row []uint8) {
			p.writeRow(dst, W, H, y, row)
		})
		if err != nil {
			return nil, fmt.Errorf("image %d: %w", i, err)
		}
	}
	if p.opts.DoPad {
		b.PixelMask = makePixelMask(sizes, H, W)
	}
	return b, nil
}

// Pad pads already prepared images (possibly prepared with different options)
// into one batch.
func (p *ImageProcessor) Pad(images []*PixelImage) (*PixelBatch, error) {
	if len(images) == 0 {
		return nil, errors.New("pad: no images")
	}
	sizes := make([][2]int, len(images))
	for i, im := range images {
		sizes[i] = [2]int{im.Height, im.Width}
	}
	H, W, err := p.batchSize(sizes)
	if err != nil {
		return nil, err
	}
	b := &PixelBatch{N: len(images), Height: H, Width: W, Sizes: sizes, PixelValues: make([]float32, len(images)*3*H*W)}
	for i, im := range images {
		for c := 0; c < 3; c++ {
			for y := 0; y < im.Height; y++ {
				copy(b.PixelValues[((i*3+c)*H+y)*W:][:im.Width], im.Data[(c*im.Height+y)*im.Width:][:im.Width])
			}
		}
	}
	if p.opts.DoPad {
		b.PixelMask = makePixelMask(sizes, H, W)
	}
	return b, nil
}

// batchSize is the padded size; without padding every image must have the same size.
func (p *ImageProcessor) batchSize(sizes [][2]int) (int, int, error) {
	H, W := 0, 0
	for _, s := range sizes {
		H, W = max(H, s[0]), max(W, s[1])
	}
	if !p.opts.DoPad {
		for i, s := range sizes {
			if s[0] != H || s[1] != W {
				return 0, 0, fmt.Errorf("preprocess: do_pad is off but image %d is %dx%d and another %dx%d (h×w)", i, s[0], s[1], H, W)
			}
		}
	}
	return H, W, nil
}

func makePixelMask(sizes [][2]int, H, W int) []int64 {
	m := make([]int64, len(sizes)*H*W)
	for i, s := range sizes {
		for y := 0; y < s[0]; y++ {
			row := m[(i*H+y)*W:][:s[1]]
			for x := range row {
				row[x] = 1
			}
		}
	}
	return m
}
