package processor

// A JPEG decoder that gives the pixels Pillow gives (libjpeg-turbo with its
// defaults: integer "islow" inverse DCT, "fancy" triangle upsampling of
// subsampled chroma, fixed-point YCbCr→RGB), written from ITU-T T.81 and the
// documented behaviour of those algorithms. Files: jpeg.go (markers, frame,
// entry point), jpeg_scan.go (Huffman entropy decoding, sequential and
// progressive), jpeg_idct.go (inverse DCT), jpeg_color.go (upsampling and
// colour conversion).
//
// Damaged data: a file that ends inside entropy-coded data, a Huffman code
// that is not in its table, a marker where scan data should continue or a
// coefficient index past 63 is an error (ErrCorruptImage). Pillow refuses
// truncated files too by default (LOAD_TRUNCATED_IMAGES is off), while libjpeg
// would paint what it could; we do not return half images. A file that ends
// after its last scan without an EOI marker is accepted when every
// coefficient is complete, and is a truncation error otherwise. A progressive
// file whose scans (up to EOI) leave coefficients incomplete decodes without
// libjpeg's block smoothing of such coefficients, so it can differ from
// Pillow; standard encoders never write one.
//
// Not supported (ErrUnsupportedImage): arithmetic coding (which Pillow's
// libjpeg-turbo does decode), 12-bit samples, lossless and hierarchical
// processes, DNL-defined heights, 2-component files (Pillow refuses them),
// sampling factors that are not whole ratios (libjpeg refuses them).

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// errJPEGTruncated: the data ends inside a segment or scan.
var errJPEGTruncated = errors.New("truncated JPEG data")

// jpegComponent is one colour component of the frame.
type jpegComponent struct {
	id     uint8
	h, v   int // sampling factors
	tq     int // quantisation table selector
	qt     *[64]int32
	bw, bh int // blocks across/down covered by a non-interleaved scan
	// plane holds the component's samples after the inverse DCT: stride
	// mcusX*h*8, mcusY*v*8 rows.
	plane  []uint8
	stride int
	// coefs holds the progressive coefficients (zig-zag order undone), 64 per
	// block, stride mcusX*h blocks.
	coefs []int16
	seen  bool // appeared in a scan
	// prec[k] is the successive-approximation bit position coefficient k
	// (zig-zag order) has been received to: -1 never, 0 complete.
	prec     [64]int8
	dcPred   int32
	dcTable  int
	acTable  int
	dsWidth  int // samples across the image (libjpeg's downsampled_width)
	dsHeight int
}

type jpegDecoder struct {
	data []byte
	pos  int

	qtabs   [4][64]int32
	qtSet   [4]bool
	huff    [2][4]*huffTable // [0]=DC [1]=AC
	restart int

	frameSeen   bool
	progressive bool
	width       int
	height      int
	comps       []jpegComponent
	hmax, vmax  int
	mcusX       int
	mcusY       int

	jfif           bool
	adobe          bool
	adobeTransform int

	eobrun int

	br bitReader
}

// decodeJPEG decodes a whole JPEG file to RGB as Pillow's
// Image.open().convert("RGB") does. The pixel count announced in the frame
// header is checked against maxPixels before anything is allocated.
func decodeJPEG(data []byte, maxPixels int64) (*RGBImage, error) {
	d := &jpegDecoder{data: data}
	if err := d.readToFrame(); err != nil {
		return nil, err
	}
	if d.width <= 0 || d.height <= 0 {
		return nil, fmt.Errorf("%w: JPEG is %dx%d", ErrEmptyImage, d.width, d.height)
	}
	if int64(d.width)*int64(d.height) > maxPixels {
		return nil, fmt.Errorf("%w: JPEG is %dx%d = %d pixels, limit %d (possible decompression bomb)",
			ErrImageTooLarge, d.width, d.height, int64(d.width)*int64(d.height), maxPixels)
	}
	d.allocate()
	if err := d.readScans(); err != nil {
		return nil, err
	}
	if d.progressive {
		d.idctProgressive()
	}
	return d.toRGB(), nil
}

func (d *jpegDecoder) corrupt(format string, args ...any) error {
	return fmt.Errorf("%w (jpeg): %s", ErrCorruptImage, fmt.Sprintf(format, args...))
}

// nextMarker skips fill bytes and returns the next marker code. Bytes that are
// not a marker between segments are skipped (libjpeg warns and skips them too).
func (d *jpegDecoder) nextMarker() (byte, error) {
	for {
		for d.pos < len(d.data) && d.data[d.pos] != 0xFF {
			d.pos++
		}
		for d.pos < len(d.data) && d.data[d.pos] == 0xFF {
			d.pos++
		}
		if d.pos >= len(d.data) {
			return 0, errJPEGTruncated
		}
		m := d.data[d.pos]
		d.pos++
		if m != 0 {
			return m, nil
		}
	}
}

// segment returns the payload of the marker segment at d.pos.
func (d *jpegDecoder) segment() ([]byte, error) {
	if d.pos+2 > len(d.data) {
		return nil, errJPEGTruncated
	}
	n := int(binary.BigEndian.Uint16(d.data[d.pos:]))
	if n < 2 {
		return nil, d.corrupt("segment length %d", n)
	}
	if d.pos+n > len(d.data) {
		return nil, errJPEGTruncated
	}
	s := d.data[d.pos+2 : d.pos+n]
	d.pos += n
	return s, nil
}

func (d *jpegDecoder) wrapTruncated(err error) error {
	if errors.Is(err, errJPEGTruncated) {
		return fmt.Errorf("%w (jpeg): %v", ErrCorruptImage, err)
	}
	return err
}

// readToFrame checks SOI and handles the tables and application markers up to
// and including the frame header (SOF).
func (d *jpegDecoder) readToFrame() error {
	if len(d.data) < 2 || d.data[0] != 0xFF || d.data[1] != 0xD8 {
		return d.corrupt("no SOI marker")
	}
	d.pos = 2
	for !d.frameSeen {
		m, err := d.nextMarker()
		if err != nil {
			return d.wrapTruncated(err)
		}
		if err := d.handleMarker(m); err != nil {
			return d.wrapTruncated(err)
		}
	}
	return nil
}

// handleMarker handles every marker except SOS and EOI.
func (d *jpegDecoder) handleMarker(m byte) error {
	switch {
	case m == 0xD8:
		return d.corrupt("second SOI marker")
	case m >= 0xD0 && m <= 0xD7, m == 0x01:
		return nil // stray RSTn / TEM: no payload
	case m == 0xD9:
		return d.corrupt("EOI before the image")
	case m == 0xC0 || m == 0xC1 || m == 0xC2:
		if d.frameSeen {
			return d.corrupt("second frame header")
		}
		s, err := d.segment()
		if err != nil {
			return err
		}
		return d.parseFrame(s, m == 0xC2)
	case m == 0xC4:
		s, err := d.segment()
		if err != nil {
			return err
		}
		return d.parseDHT(s)
	case m == 0xDB:
		s, err := d.segment()
		if err != nil {
			return err
		}
		return d.parseDQT(s)
	case m == 0xDD:
		s, err := d.segment()
		if err != nil {
			return err
		}
		if len(s) < 2 {
			return d.corrupt("short DRI segment")
		}
		d.restart = int(binary.BigEndian.Uint16(s))
		return nil
	case m >= 0xC3 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC:
		return fmt.Errorf("%w: JPEG process SOF%d (lossless, hierarchical or arithmetic coding) is not supported",
			ErrUnsupportedImage, m-0xC0)
	case m == 0xDC:
		return fmt.Errorf("%w: JPEG DNL marker (height defined after the first scan) is not supported", ErrUnsupportedImage)
	case m == 0xE0:
		s, err := d.segment()
		if err != nil {
			return err
		}
		// libjpeg needs the full 14-byte JFIF header to count the marker.
		if len(s) >= 14 && string(s[:5]) == "JFIF\x00" {
			d.jfif = true
		}
		return nil
	case m == 0xEE:
		s, err := d.segment()
		if err != nil {
			return err
		}
		if len(s) >= 12 && string(s[:5]) == "Adobe" {
			d.adobe = true
			d.adobeTransform = int(s[11])
		}
		return nil
	default: // APPn, COM, JPGn and others with a length
		_, err := d.segment()
		return err
	}
}

func (d *jpegDecoder) parseFrame(s []byte, progressive bool) error {
	if len(s) < 6 {
		return d.corrupt("short frame header")
	}
	if s[0] != 8 {
		return fmt.Errorf("%w: %d-bit JPEG samples (only 8-bit are supported)", ErrUnsupportedImage, s[0])
	}
	d.height = int(binary.BigEndian.Uint16(s[1:]))
	d.width = int(binary.BigEndian.Uint16(s[3:]))
	nc := int(s[5])
	if d.height == 0 {
		return fmt.Errorf("%w: JPEG height 0 (DNL-defined height is not supported)", ErrUnsupportedImage)
	}
	if d.width == 0 {
		return fmt.Errorf("%w: JPEG width 0", ErrEmptyImage)
	}
	switch nc {
	case 1, 3, 4:
	default:
		return fmt.Errorf("%w: %d-component JPEG (Pillow handles 1, 3 or 4)", ErrUnsupportedImage, nc)
	}
	if len(s) < 6+3*nc {
		return d.corrupt("short frame header")
	}
	d.progressive = progressive
	d.comps = make([]jpegComponent, nc)
	for i := range d.comps {
		c := &d.comps[i]
		c.prec = [64]int8{}
		for k := range c.prec {
			c.prec[k] = -1
		}
		b := s[6+3*i:]
		c.id = b[0]
		c.h, c.v = int(b[1]>>4), int(b[1]&15)
		c.tq = int(b[2])
		if c.h < 1 || c.h > 4 || c.v < 1 || c.v > 4 {
			return d.corrupt("component %d sampling factors %dx%d", i, c.h, c.v)
		}
		if c.tq > 3 {
			return d.corrupt("component %d quantisation table %d", i, c.tq)
		}
		for j := 0; j < i; j++ {
			if d.comps[j].id == c.id {
				return d.corrupt("duplicate component id %d", c.id)
			}
		}
		d.hmax = max(d.hmax, c.h)
		d.vmax = max(d.vmax, c.v)
	}
	d.mcusX = ceilDiv(d.width, 8*d.hmax)
	d.mcusY = ceilDiv(d.height, 8*d.vmax)
	for i := range d.comps {
		c := &d.comps[i]
		c.dsWidth = ceilDiv(d.width*c.h, d.hmax)
		c.dsHeight = ceilDiv(d.height*c.v, d.vmax)
		c.bw = ceilDiv(c.dsWidth, 8)
		c.bh = ceilDiv(c.dsHeight, 8)
		// libjpeg upsamples only by whole factors.
		if d.hmax%c.h != 0 || d.vmax%c.v != 0 {
			return fmt.Errorf("%w: JPEG sampling factors %dx%d against %dx%d (fractional upsampling; libjpeg refuses it too)",
				ErrUnsupportedImage, c.h, c.v, d.hmax, d.vmax)
		}
	}
	d.frameSeen = true
	return nil
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// allocate makes the sample planes (and coefficient arrays for progressive
// files) once the pixel count has passed the limit.
func (d *jpegDecoder) allocate() {
	for i := range d.comps {
		c := &d.comps[i]
		bw, bh := d.mcusX*c.h, d.mcusY*c.v
		c.stride = bw * 8
		c.plane = make([]uint8, bw*8*bh*8)
		if d.progressive {
			c.coefs = make([]int16, bw*bh*64)
		}
	}
}

func (d *jpegDecoder) parseDQT(s []byte) error {
	for len(s) > 0 {
		pq, tq := s[0]>>4, int(s[0]&15)
		if tq > 3 || pq > 1 {
			return d.corrupt("DQT table %d precision %d", tq, pq)
		}
		n := 64 * (1 + int(pq))
		if len(s) < 1+n {
			return d.corrupt("short DQT segment")
		}
		for k := 0; k < 64; k++ {
			var q int32
			if pq == 0 {
				q = int32(s[1+k])
			} else {
				q = int32(binary.BigEndian.Uint16(s[1+2*k:]))
			}
			d.qtabs[tq][zigzag[k]] = q
		}
		d.qtSet[tq] = true
		s = s[1+n:]
	}
	return nil
}

func (d *jpegDecoder) parseDHT(s []byte) error {
	for len(s) > 0 {
		if len(s) < 17 {
			return d.corrupt("short DHT segment")
		}
		tc, th := int(s[0]>>4), int(s[0]&15)
		if tc > 1 || th > 3 {
			return d.corrupt("DHT class %d table %d", tc, th)
		}
		var counts [16]int
		total := 0
		for i := range counts {
			counts[i] = int(s[1+i])
			total += counts[i]
		}
		if total > 256 || len(s) < 17+total {
			return d.corrupt("DHT table with %d codes", total)
		}
		t, err := newHuffTable(counts, s[17:17+total])
		if err != nil {
			return d.corrupt("%v", err)
		}
		d.huff[tc][th] = t
		s = s[17+total:]
	}
	return nil
}

// readScans handles everything after the frame header: tables, scans, EOI.
func (d *jpegDecoder) readScans() error {
	scans := 0
	for {
		m, err := d.nextMarker()
		if errors.Is(err, errJPEGTruncated) && scans > 0 && d.complete() {
			break // only the EOI marker is missing
		}
		if err != nil {
			return d.wrapTruncated(err)
		}
		if m == 0xD9 {
			break
		}
		if m == 0xDA {
			s, err := d.segment()
			if err != nil {
				return d.wrapTruncated(err)
			}
			if err := d.scan(s); err != nil {
				return d.wrapTruncated(err)
			}
			scans++
			continue
		}
		if err := d.handleMarker(m); err != nil {
			return d.wrapTruncated(err)
		}
	}
	for i := range d.comps {
		if !d.comps[i].seen {
			return d.corrupt("component %d has no scan", i)
		}
	}
	return nil
}

// complete reports whether every coefficient of every component has been
// received to full precision (always, once each component had its scan, for
// sequential files).
func (d *jpegDecoder) complete() bool {
	for i := range d.comps {
		for _, p := range d.comps[i].prec {
			if p != 0 {
				return false
			}
		}
	}
	return true
}

// zigzag[k] is the natural (row-major) index of the k-th coefficient in
// zig-zag order (T.81 figure A.6).
var zigzag = [64]uint8{
	0, 1, 8, 16, 9, 2, 3, 10,
	17, 24, 32, 25, 18, 11, 4, 5,
	12, 19, 26, 33, 40, 48, 41, 34,
	27, 20, 13, 6, 7, 14, 21, 28,
	35, 42, 49, 56, 57, 50, 43, 36,
	29, 22, 15, 23, 30, 37, 44, 51,
	58, 59, 52, 45, 38, 31, 39, 46,
	53, 60, 61, 54, 47, 55, 62, 63,
}
