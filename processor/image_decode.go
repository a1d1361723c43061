package processor

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/png"
	"io"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
	"golang.org/x/image/webp"
)

// Errors callers can branch on (wrapped with details).
var (
	// ErrImageTooLarge: the header announces more pixels (or the input has more
	// bytes) than the limits allow; nothing was decoded.
	ErrImageTooLarge = errors.New("image too large")
	// ErrEmptyImage: zero width or height.
	ErrEmptyImage = errors.New("image has no pixels")
	// ErrImageTooThin: the resize rule would give a zero height or width.
	ErrImageTooThin = errors.New("image too thin to resize")
	// ErrUnsupportedImage: not a JPEG, PNG, GIF, BMP, TIFF or WebP.
	ErrUnsupportedImage = errors.New("unsupported image format")
	// ErrCorruptImage: the decoder failed.
	ErrCorruptImage = errors.New("cannot decode image")
)

// DefaultMaxPixels is Pillow's MAX_IMAGE_PIXELS (its decompression-bomb threshold).
const DefaultMaxPixels = 89_478_485

// DefaultMaxBytes bounds how much of a reader DecodeImage reads.
const DefaultMaxBytes = 256 << 20

// DecodeOptions bound and adjust DecodeImage.
type DecodeOptions struct {
	MaxPixels int64 // 0: DefaultMaxPixels
	MaxBytes  int64 // 0: DefaultMaxBytes
	// ApplyEXIFOrientation rotates/flips by the EXIF orientation tag, like
	// PIL.ImageOps.exif_transpose. Off by default: ViltImageProcessor does not.
	ApplyEXIFOrientation bool
}

// RGBImage is an 8-bit RGB image, row-major, 3 bytes per pixel (H×W×3, the
// numpy array ViltImageProcessor receives).
type RGBImage struct {
	Width, Height int
	Pix           []uint8
}

// NewRGBImage allocates a black w×h image.
func NewRGBImage(w, h int) *RGBImage {
	return &RGBImage{Width: w, Height: h, Pix: make([]uint8, w*h*3)}
}

// Format is an image container format DecodeImage understands.
type Format string

const (
	FormatJPEG Format = "jpeg"
	FormatPNG  Format = "png"
	FormatGIF  Format = "gif"
	FormatBMP  Format = "bmp"
	FormatTIFF Format = "tiff"
	FormatWebP Format = "webp"
)

// SniffFormat identifies the container format from the first bytes.
func SniffFormat(b []byte) (Format, bool) {
	switch {
	case bytes.HasPrefix(b, []byte("\xff\xd8")):
		return FormatJPEG, true
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return FormatPNG, true
	case bytes.HasPrefix(b, []byte("GIF87a")), bytes.HasPrefix(b, []byte("GIF89a")):
		return FormatGIF, true
	case bytes.HasPrefix(b, []byte("BM")):
		return FormatBMP, true
	case bytes.HasPrefix(b, []byte("II*\x00")), bytes.HasPrefix(b, []byte("MM\x00*")):
		return FormatTIFF, true
	case len(b) >= 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WEBP":
		return FormatWebP, true
	}
	return "", false
}

type codec struct {
	config func(io.Reader) (image.Config, error)
	decode func(io.Reader) (image.Image, error)
}

// codecs decodes every format but JPEG (see decodeJPEG).
var codecs = map[Format]codec{
	FormatPNG:  {png.DecodeConfig, png.Decode},
	FormatGIF:  {gif.DecodeConfig, gif.Decode},
	FormatBMP:  {bmp.DecodeConfig, bmp.Decode},
	FormatTIFF: {tiff.DecodeConfig, tiff.Decode},
	FormatWebP: {webp.DecodeConfig, webp.Decode},
}

// DecodeImage reads a JPEG, PNG, GIF (first frame), BMP, TIFF or WebP and
// converts it to RGB as PIL's Image.convert("RGB") does: alpha dropped without
// compositing, gray replicated, palettes looked up, 16-bit gray clipped to
// 0..255 (Pillow opens it as mode I), other 16-bit samples reduced to their
// high byte. JPEG goes through our own decoder (jpeg.go), which gives
// libjpeg-turbo's bytes as Pillow uses it; lossy WebP goes through Go's decoder,
// whose upsampling and YCbCr rounding differ from libwebp by a few levels per
// byte. The size is checked against the limits before decoding.
func DecodeImage(r io.Reader, opts DecodeOptions) (*RGBImage, error) {
	maxBytes := opts.MaxBytes
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	data, err := io.ReadAll(io.LimitReader(r, maxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read image: %w", err)
	}
	if int64(len(data)) > maxBytes {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrImageTooLarge, maxBytes)
	}
	return DecodeImageBytes(data, opts)
}

// DecodeImageBytes is DecodeImage on an in-memory file.
func DecodeImageBytes(data []byte, opts DecodeOptions) (img *RGBImage, err error) {
	format, ok := SniffFormat(data)
	if !ok {
		return nil, ErrUnsupportedImage
	}
	// The x/image decoders are not all hardened against hostile input; a panic
	// in one must not take the caller down. (Fuzzing found none so far.)
	defer func() {
		if p := recover(); p != nil {
			img, err = nil, fmt.Errorf("%w (%s): decoder panic: %v", ErrCorruptImage, format, p)
		}
	}()
	maxPixels := opts.MaxPixels
	if maxPixels <= 0 {
		maxPixels = DefaultMaxPixels
	}
	if format == FormatJPEG {
		if img, err = decodeJPEG(data, maxPixels); err != nil {
			return nil, err
		}
		if opts.ApplyEXIFOrientation {
			img = applyOrientation(img, exifOrientation(format, data))
		}
		return img, nil
	}
	c := codecs[format]
	cfg, err := c.config(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w (%s header): %v", ErrCorruptImage, format, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, fmt.Errorf("%w: %s is %dx%d", ErrEmptyImage, format, cfg.Width, cfg.Height)
	}
	if int64(cfg.Width)*int64(cfg.Height) > maxPixels {
		return nil, fmt.Errorf("%w: %s is %dx%d = %d pixels, limit %d (possible decompression bomb)",
			ErrImageTooLarge, format, cfg.Width, cfg.Height, int64(cfg.Width)*int64(cfg.Height), maxPixels)
	}
	m, err := c.decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w (%s): %v", ErrCorruptImage, format, err)
	}
	b := m.Bounds()
	if b.Dx() <= 0 || b.Dy() <= 0 {
		return nil, fmt.Errorf("%w: %s decoded to %dx%d", ErrEmptyImage, format, b.Dx(), b.Dy())
	}
	if int64(b.Dx())*int64(b.Dy()) > maxPixels {
		return nil, fmt.Errorf("%w: %s decoded to %dx%d", ErrImageTooLarge, format, b.Dx(), b.Dy())
	}
	clip16 := format == FormatPNG && pngIsGray16(data)
	if format == FormatGIF && (b.Min != image.Point{} || b.Dx() != cfg.Width || b.Dy() != cfg.Height) {
		img = gifCanvas(m, cfg)
	} else {
		img = toRGB(m, format, clip16)
	}
	if opts.ApplyEXIFOrientation {
		img = applyOrientation(img, exifOrientation(format, data))
	}
	return img, nil
}

// pngIsGray16 reports a 16-bit grayscale PNG (IHDR bit depth 16, colour type 0):
// Pillow opens it as mode I and convert("RGB") clips it, whatever its tRNS says.
func pngIsGray16(data []byte) bool {
	// signature(8) length(4) "IHDR"(4) width(4) height(4) depth(1) colour type(1)
	return len(data) >= 26 && string(data[12:16]) == "IHDR" && data[24] == 16 && data[25] == 0
}

// gifCanvas pastes a first frame smaller than the logical screen onto a black
// screen-sized canvas.
func gifCanvas(m image.Image, cfg image.Config) *RGBImage {
	out := NewRGBImage(cfg.Width, cfg.Height)
	frame := toRGB(m, FormatGIF, false)
	b := m.Bounds()
	for y := 0; y < frame.Height; y++ {
		oy := b.Min.Y + y
		if oy < 0 || oy >= out.Height {
			continue
		}
		for x := 0; x < frame.Width; x++ {
			ox := b.Min.X + x
			if ox < 0 || ox >= out.Width {
				continue
			}
			copy(out.Pix[(oy*out.Width+ox)*3:][:3], frame.Pix[(y*frame.Width+x)*3:][:3])
		}
	}
	return out
}

// FromImage converts any image.Image to RGB with DecodeImage's rules (16-bit
// gray clipped, alpha dropped).
func FromImage(m image.Image) *RGBImage { return toRGB(m, "", false) }

// toRGB converts a decoded image. clip16 forces clipping of 16-bit samples
// (a 16-bit gray PNG with tRNS decodes to NRGBA64 in Go).
func toRGB(m image.Image, format Format, clip16 bool) *RGBImage {
	b := m.Bounds()
	w, h := b.Dx(), b.Dy()
	out := NewRGBImage(w, h)
	p := out.Pix
	switch s := m.(type) {
	case *image.RGBA:
		for y := 0; y < h; y++ {
			row := s.Pix[(y)*s.Stride:]
			o := p[y*w*3:]
			for x := 0; x < w; x++ {
				o[x*3], o[x*3+1], o[x*3+2] = row[x*4], row[x*4+1], row[x*4+2]
			}
		}
	case *image.NRGBA:
		for y := 0; y < h; y++ {
			row := s.Pix[y*s.Stride:]
			o := p[y*w*3:]
			for x := 0; x < w; x++ {
				o[x*3], o[x*3+1], o[x*3+2] = row[x*4], row[x*4+1], row[x*4+2]
			}
		}
	case *image.Gray:
		for y := 0; y < h; y++ {
			row := s.Pix[y*s.Stride:]
			o := p[y*w*3:]
			for x := 0; x < w; x++ {
				v := row[x]
				o[x*3], o[x*3+1], o[x*3+2] = v, v, v
			}
		}
	case *image.Gray16:
		for y := 0; y < h; y++ {
			row := s.Pix[y*s.Stride:]
			o := p[y*w*3:]
			for x := 0; x < w; x++ {
				v := clip16to8(row[x*2], row[x*2+1])
				o[x*3], o[x*3+1], o[x*3+2] = v, v, v
			}
		}
	case *image.RGBA64:
		conv16(p, s.Pix, s.Stride, w, h, clip16)
	case *image.NRGBA64:
		conv16(p, s.Pix, s.Stride, w, h, clip16)
	case *image.Paletted:
		var pal [256][3]uint8
		for i, c := range s.Palette {
			if i < 256 {
				pal[i] = paletteRGB(c)
			}
		}
		for y := 0; y < h; y++ {
			row := s.Pix[y*s.Stride:]
			o := p[y*w*3:]
			for x := 0; x < w; x++ {
				c := pal[row[x]]
				o[x*3], o[x*3+1], o[x*3+2] = c[0], c[1], c[2]
			}
		}
	case *image.YCbCr:
		ycbcrToRGB(out, s)
	case *image.NYCbCrA:
		ycbcrToRGB(out, &s.YCbCr)
	case *image.CMYK:
		for y := 0; y < h; y++ {
			row := s.Pix[y*s.Stride:]
			o := p[y*w*3:]
			for x := 0; x < w; x++ {
				o[x*3], o[x*3+1], o[x*3+2] = cmykToRGB(row[x*4], row[x*4+1], row[x*4+2], row[x*4+3])
			}
		}
	default:
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				c := color.NRGBAModel.Convert(m.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA)
				i := (y*w + x) * 3
				p[i], p[i+1], p[i+2] = c.R, c.G, c.B
			}
		}
	}
	return out
}

// clip16to8 is Pillow's I → L/RGB conversion: values above 255 become 255.
func clip16to8(hi, lo uint8) uint8 {
	if hi != 0 {
		return 255
	}
	return lo
}

func conv16(p, pix []uint8, stride, w, h int, clip bool) {
	for y := 0; y < h; y++ {
		row := pix[y*stride:]
		o := p[y*w*3:]
		for x := 0; x < w; x++ {
			s := row[x*8:]
			if clip {
				o[x*3], o[x*3+1], o[x*3+2] = clip16to8(s[0], s[1]), clip16to8(s[2], s[3]), clip16to8(s[4], s[5])
			} else {
				o[x*3], o[x*3+1], o[x*3+2] = s[0], s[2], s[4] // Pillow's RGB;16B unpacker keeps the high byte
			}
		}
	}
}

// paletteRGB returns a palette entry's stored colour, not premultiplied.
func paletteRGB(c color.Color) [3]uint8 {
	switch v := c.(type) {
	case color.RGBA:
		if v.A == 0xff || v.A == 0 {
			return [3]uint8{v.R, v.G, v.B}
		}
	case color.NRGBA:
		return [3]uint8{v.R, v.G, v.B}
	}
	n := color.NRGBAModel.Convert(c).(color.NRGBA)
	return [3]uint8{n.R, n.G, n.B}
}

// cmykToRGB is Pillow's cmyk2rgb.
func cmykToRGB(c, m, y, k uint8) (uint8, uint8, uint8) {
	nk := 255 - int(k)
	f := func(v uint8) uint8 {
		t := int(v)*nk + 128
		return uint8(max(0, min(255, nk-((t>>8)+t)>>8)))
	}
	return f(c), f(m), f(y)
}

// ycbcrToRGB converts with Go's color.YCbCrToRGB, sampling chroma by nearest
// neighbour (image.YCbCr's own convention).
func ycbcrToRGB(out *RGBImage, s *image.YCbCr) {
	b := s.Rect
	for y := 0; y < out.Height; y++ {
		o := out.Pix[y*out.Width*3:]
		for x := 0; x < out.Width; x++ {
			yi := s.YOffset(b.Min.X+x, b.Min.Y+y)
			ci := s.COffset(b.Min.X+x, b.Min.Y+y)
			r, g, bb := color.YCbCrToRGB(s.Y[yi], s.Cb[ci], s.Cr[ci])
			o[x*3], o[x*3+1], o[x*3+2] = r, g, bb
		}
	}
}
