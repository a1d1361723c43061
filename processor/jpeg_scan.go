package processor

import (
	"encoding/binary"
	"errors"
)

// Entropy-coded data: the bit reader, Huffman tables (T.81 annex C and F.2.2)
// and the sequential and progressive (annex G) scan decoders.

// bitReader reads entropy-coded bits MSB first, removing the stuffed zero
// after each 0xFF. At a marker or the end of the data it stops and supplies
// zero bits (as libjpeg does); reaching into those is detected by overrun.
type bitReader struct {
	data []byte
	pos  int    // next byte to load
	acc  uint64 // valid bits left-aligned
	n    uint   // number of valid bits in acc
	fake uint   // how many of the last loaded bits are padding zeros
	stop bool   // pos is at a marker or the end
}

func (br *bitReader) reset(data []byte, pos int) {
	*br = bitReader{data: data, pos: pos}
}

// fill loads bytes until at least 57 bits are buffered.
func (br *bitReader) fill() {
	// Fast path: the next 8 bytes hold no 0xFF, so as many whole bytes as fit
	// can be taken at once.
	if !br.stop && br.pos+8 <= len(br.data) {
		x := binary.BigEndian.Uint64(br.data[br.pos:])
		if y := ^x; (y-0x0101010101010101)&^y&0x8080808080808080 == 0 {
			k := (64 - br.n) / 8
			br.acc |= x >> (64 - 8*k) << (64 - 8*k - br.n)
			br.n += 8 * k
			br.pos += int(k)
			return
		}
	}
	for br.n <= 56 {
		var b byte
		if !br.stop {
			if br.pos < len(br.data) {
				b = br.data[br.pos]
				if b != 0xFF {
					br.pos++
				} else if br.pos+1 < len(br.data) && br.data[br.pos+1] == 0 {
					br.pos += 2
				} else {
					br.stop = true
				}
			} else {
				br.stop = true
			}
		}
		if br.stop {
			b = 0
			br.fake += 8
		}
		br.acc |= uint64(b) << (56 - br.n)
		br.n += 8
	}
}

// overrun reports that bits past a marker or the end of data were consumed.
func (br *bitReader) overrun() bool { return br.fake > br.n }

func (br *bitReader) bits(k uint) int32 {
	if br.n < k {
		br.fill()
	}
	v := int32(br.acc >> (64 - k))
	br.acc <<= k
	br.n -= k
	return v
}

func (br *bitReader) bit() bool {
	if br.n < 1 {
		br.fill()
	}
	v := br.acc>>63 != 0
	br.acc <<= 1
	br.n--
	return v
}

// receiveExtend reads an s-bit magnitude and sign-extends it (T.81 F.2.2.1).
func (br *bitReader) receiveExtend(s uint) int32 {
	if s == 0 {
		return 0
	}
	v := br.bits(s)
	if v < 1<<(s-1) {
		v -= 1<<s - 1
	}
	return v
}

const huffLookBits = 9

// huffTable is a canonical Huffman table (T.81 annex C): a direct lookup for
// codes up to huffLookBits long, code ranges per length for the rest.
type huffTable struct {
	lut [1 << huffLookBits]uint16 // length<<8 | symbol; 0 when longer
	// vlut decodes a symbol and the magnitude bits that follow it in one
	// lookup when both fit in huffLookBits: value<<16 | symbol<<8 | total
	// length; 0 when they do not fit.
	vlut    [1 << huffLookBits]int32
	maxcode [17]int32 // largest code of each length, -1 if none
	valptr  [17]int32 // index into vals of the first code of each length
	mincode [17]int32
	vals    [256]uint8
}

func newHuffTable(counts [16]int, vals []byte) (*huffTable, error) {
	t := &huffTable{}
	copy(t.vals[:], vals)
	code, k := int32(0), int32(0)
	for l := 1; l <= 16; l++ {
		n := int32(counts[l-1])
		t.valptr[l] = k
		t.mincode[l] = code
		if n == 0 {
			t.maxcode[l] = -1
		} else {
			t.maxcode[l] = code + n - 1
		}
		// libjpeg refuses tables whose codes do not fit (or use the all-ones code).
		if n > 0 && code+n >= 1<<l {
			return nil, errors.New("bad Huffman table (codes do not fit)")
		}
		for i := int32(0); i < n; i++ {
			if l <= huffLookBits {
				shift := uint(huffLookBits - l)
				base := (code + i) << shift
				for j := int32(0); j < 1<<shift; j++ {
					t.lut[base+j] = uint16(l)<<8 | uint16(vals[k+i])
				}
			}
		}
		code += n
		k += n
		code <<= 1
	}
	for i, e := range t.lut {
		if e == 0 {
			continue
		}
		l, sym := uint(e>>8), uint8(e)
		sz := uint(sym & 15)
		if l+sz > huffLookBits {
			continue
		}
		var v int32
		if sz > 0 {
			v = int32(i>>(huffLookBits-l-sz)) & (1<<sz - 1)
			if v < 1<<(sz-1) {
				v -= 1<<sz - 1
			}
		}
		t.vlut[i] = v<<16 | int32(sym)<<8 | int32(l+sz)
	}
	return t, nil
}

var errBadHuffman = errors.New("bad Huffman code")

// decodeValue reads a symbol and, for its low 4 bits s, the s-bit value that
// follows, sign-extended (T.81 F.2.2.1): the symbol's run/size and the value.
func (br *bitReader) decodeValue(t *huffTable) (uint8, int32, error) {
	if br.n < 16 {
		br.fill()
	}
	if e := t.vlut[br.acc>>(64-huffLookBits)]; e != 0 {
		l := uint(e & 31)
		br.acc <<= l
		br.n -= l
		return uint8(e >> 8), e >> 16, nil
	}
	rs, err := br.decode(t)
	if err != nil {
		return 0, 0, err
	}
	return rs, br.receiveExtend(uint(rs & 15)), nil
}

// decode reads one Huffman-coded symbol.
func (br *bitReader) decode(t *huffTable) (uint8, error) {
	if br.n < 16 {
		br.fill()
	}
	if e := t.lut[br.acc>>(64-huffLookBits)]; e != 0 {
		l := uint(e >> 8)
		br.acc <<= l
		br.n -= l
		return uint8(e), nil
	}
	code := int32(br.acc >> 48)
	for l := huffLookBits + 1; l <= 16; l++ {
		c := code >> (16 - l)
		if c <= t.maxcode[l] {
			br.acc <<= uint(l)
			br.n -= uint(l)
			return t.vals[t.valptr[l]+c-t.mincode[l]], nil
		}
	}
	return 0, errBadHuffman
}

// scanComp is a component's part in one scan.
type scanComp struct {
	c      *jpegComponent
	dc, ac *huffTable
}

// scan parses a scan header and decodes its entropy-coded data.
func (d *jpegDecoder) scan(s []byte) error {
	if len(s) < 1 {
		return d.corrupt("short SOS segment")
	}
	ns := int(s[0])
	if ns < 1 || ns > 4 || len(s) < 1+2*ns+3 {
		return d.corrupt("SOS with %d components", ns)
	}
	var sc [4]scanComp
	blocks := 0
	for i := 0; i < ns; i++ {
		id, tables := s[1+2*i], s[2+2*i]
		var c *jpegComponent
		for j := range d.comps {
			if d.comps[j].id == id {
				c = &d.comps[j]
			}
		}
		if c == nil {
			return d.corrupt("scan names unknown component %d", id)
		}
		for j := 0; j < i; j++ {
			if sc[j].c == c {
				return d.corrupt("scan names component %d twice", id)
			}
		}
		td, ta := int(tables>>4), int(tables&15)
		if td > 3 || ta > 3 {
			return d.corrupt("scan Huffman table selectors %d/%d", td, ta)
		}
		sc[i] = scanComp{c: c, dc: d.huff[0][td], ac: d.huff[1][ta]}
		blocks += c.h * c.v
		if c.qt == nil { // libjpeg latches a component's table at its first scan
			if !d.qtSet[c.tq] {
				return d.corrupt("quantisation table %d not defined", c.tq)
			}
			q := d.qtabs[c.tq]
			c.qt = &q
		}
		c.seen = true
		c.dcPred = 0
	}
	if ns > 1 && blocks > 10 {
		return d.corrupt("%d blocks in an MCU (at most 10)", blocks)
	}
	p := s[1+2*ns:]
	ss, se, ah, al := int(p[0]), int(p[1]), int(p[2]>>4), int(p[2]&15)
	comps := sc[:ns]
	d.br.reset(d.data, d.pos)
	d.eobrun = 0
	var err error
	if !d.progressive {
		for _, c := range comps {
			if c.dc == nil || c.ac == nil {
				return d.corrupt("scan uses an undefined Huffman table")
			}
		}
		err = d.sequentialScan(comps)
	} else {
		if ss == 0 && se != 0 || ss > se || se > 63 || (ss > 0 && ns != 1) || (ah != 0 && al != ah-1) || al > 13 {
			return d.corrupt("progressive scan Ss=%d Se=%d Ah=%d Al=%d over %d components", ss, se, ah, al, ns)
		}
		for _, c := range comps {
			if (ss == 0 && ah == 0 && c.dc == nil) || (ss > 0 && c.ac == nil) {
				return d.corrupt("scan uses an undefined Huffman table")
			}
		}
		err = d.progressiveScan(comps, ss, se, ah, al)
	}
	if !d.progressive {
		ss, se, al = 0, 63, 0
	}
	for _, c := range comps {
		for k := ss; k <= se; k++ {
			c.c.prec[k] = int8(al)
		}
	}
	if err != nil {
		return err
	}
	d.pos = d.br.pos
	return nil
}

// scanError turns a bit-reader overrun into a truncation or marker error.
func (d *jpegDecoder) scanError(err error) error {
	if err == nil && d.br.overrun() {
		if d.br.pos >= len(d.data) {
			return errJPEGTruncated
		}
		return d.corrupt("marker 0x%02X inside scan data (scan ends early)", d.data[min(d.br.pos+1, len(d.data)-1)])
	}
	if errors.Is(err, errBadHuffman) {
		return d.corrupt("%v", err)
	}
	return err
}

// restartMarker ends a restart interval: checks the bits, finds the RSTn
// marker and resets the predictors.
func (d *jpegDecoder) restartMarker(comps []scanComp) error {
	if err := d.scanError(nil); err != nil {
		return err
	}
	pos := d.br.pos
	for pos < len(d.data) && d.data[pos] != 0xFF {
		pos++
	}
	for pos < len(d.data) && d.data[pos] == 0xFF {
		pos++
	}
	if pos >= len(d.data) {
		return errJPEGTruncated
	}
	if m := d.data[pos]; m < 0xD0 || m > 0xD7 {
		return d.corrupt("expected a restart marker, found 0x%02X", m)
	}
	d.br.reset(d.data, pos+1)
	for _, c := range comps {
		c.c.dcPred = 0
	}
	d.eobrun = 0
	return nil
}

// mcuLoop calls fn for every MCU of the scan, handling restart intervals.
// For one component the MCU is one block of the component's own block grid.
func (d *jpegDecoder) mcuLoop(comps []scanComp, fn func(mx, my int) error) error {
	var nx, ny int
	if len(comps) == 1 {
		nx, ny = comps[0].c.bw, comps[0].c.bh
	} else {
		nx, ny = d.mcusX, d.mcusY
	}
	left := d.restart
	for my := 0; my < ny; my++ {
		for mx := 0; mx < nx; mx++ {
			if d.restart > 0 {
				if left == 0 {
					if err := d.restartMarker(comps); err != nil {
						return err
					}
					left = d.restart
				}
				left--
			}
			if err := fn(mx, my); err != nil {
				return d.scanError(err)
			}
			if d.br.overrun() {
				return d.scanError(nil)
			}
		}
	}
	return d.scanError(nil)
}

func (d *jpegDecoder) sequentialScan(comps []scanComp) error {
	var blk [64]int32
	decode := func(sc *scanComp, bx, by int) error {
		c := sc.c
		t, diff, err := d.br.decodeValue(sc.dc)
		if err != nil {
			return err
		}
		if t > 15 {
			return errBadHuffman
		}
		c.dcPred += diff
		blk[0] = int32(int16(c.dcPred))
		ac := false
		for k := 1; k < 64; k++ {
			rs, v, err := d.br.decodeValue(sc.ac)
			if err != nil {
				return err
			}
			r := int(rs >> 4)
			if rs&15 == 0 {
				if r != 15 {
					break
				}
				k += 15
				continue
			}
			k += r
			if k > 63 {
				return d.corrupt("AC coefficient index past 63")
			}
			blk[zigzag[k]] = int32(int16(v))
			ac = true
		}
		out := c.plane[by*8*c.stride+bx*8:]
		if !ac {
			idctDC(blk[0], c.qt[0], out, c.stride)
			return nil
		}
		idctBlock(&blk, c.qt, out, c.stride)
		blk = [64]int32{}
		return nil
	}
	if len(comps) == 1 {
		sc := &comps[0]
		return d.mcuLoop(comps, func(mx, my int) error { return decode(sc, mx, my) })
	}
	return d.mcuLoop(comps, func(mx, my int) error {
		for i := range comps {
			sc := &comps[i]
			h, v := sc.c.h, sc.c.v
			for y := 0; y < v; y++ {
				for x := 0; x < h; x++ {
					if err := decode(sc, mx*h+x, my*v+y); err != nil {
						return err
					}
				}
			}
		}
		return nil
	})
}

func (d *jpegDecoder) progressiveScan(comps []scanComp, ss, se, ah, al int) error {
	block := func(c *jpegComponent, bx, by int) []int16 {
		i := (by*d.mcusX*c.h + bx) * 64
		return c.coefs[i : i+64 : i+64]
	}
	var each func(sc *scanComp, b []int16) error
	switch {
	case ss == 0 && ah == 0: // DC first pass
		each = func(sc *scanComp, b []int16) error {
			t, err := d.br.decode(sc.dc)
			if err != nil {
				return err
			}
			if t > 15 {
				return errBadHuffman
			}
			sc.c.dcPred += d.br.receiveExtend(uint(t))
			b[0] = int16(sc.c.dcPred << uint(al))
			return nil
		}
	case ss == 0: // DC refinement: one bit per block
		each = func(sc *scanComp, b []int16) error {
			if d.br.bit() {
				b[0] |= 1 << uint(al)
			}
			return nil
		}
	case ah == 0: // AC first pass
		each = func(sc *scanComp, b []int16) error {
			if d.eobrun > 0 {
				d.eobrun--
				return nil
			}
			for k := ss; k <= se; k++ {
				rs, err := d.br.decode(sc.ac)
				if err != nil {
					return err
				}
				r, s := int(rs>>4), uint(rs&15)
				if s == 0 {
					if r < 15 {
						d.eobrun = 1<<uint(r) - 1
						if r > 0 {
							d.eobrun += int(d.br.bits(uint(r)))
						}
						break
					}
					k += 15
					continue
				}
				k += r
				if k > 63 {
					return d.corrupt("AC coefficient index past 63")
				}
				b[zigzag[k]] = int16(d.br.receiveExtend(s) << uint(al))
			}
			return nil
		}
	default: // AC refinement (T.81 G.1.2.3)
		p1, m1 := int16(1)<<uint(al), int16(-1)<<uint(al)
		refine := func(b []int16, z uint8) {
			if d.br.bit() && b[z]&p1 == 0 {
				if b[z] >= 0 {
					b[z] += p1
				} else {
					b[z] += m1
				}
			}
		}
		each = func(sc *scanComp, b []int16) error {
			k := ss
			if d.eobrun == 0 {
				for ; k <= se; k++ {
					rs, err := d.br.decode(sc.ac)
					if err != nil {
						return err
					}
					r, s := int(rs>>4), int(rs&15)
					var val int16
					if s != 0 {
						if s != 1 {
							return d.corrupt("refinement coefficient of size %d", s)
						}
						if d.br.bit() {
							val = p1
						} else {
							val = m1
						}
					} else if r != 15 {
						d.eobrun = 1 << uint(r)
						if r > 0 {
							d.eobrun += int(d.br.bits(uint(r)))
						}
						break
					}
					// Skip r zero coefficients (refining nonzero ones on the way),
					// then place the new one.
					for ; k <= se; k++ {
						z := zigzag[k]
						if b[z] != 0 {
							refine(b, z)
						} else {
							if r == 0 {
								break
							}
							r--
						}
					}
					if val != 0 && k <= se {
						b[zigzag[k]] = val
					}
				}
			}
			if d.eobrun > 0 {
				for ; k <= se; k++ {
					if z := zigzag[k]; b[z] != 0 {
						refine(b, z)
					}
				}
				d.eobrun--
			}
			return nil
		}
	}
	if len(comps) == 1 {
		sc := &comps[0]
		return d.mcuLoop(comps, func(mx, my int) error { return each(sc, block(sc.c, mx, my)) })
	}
	return d.mcuLoop(comps, func(mx, my int) error {
		for i := range comps {
			sc := &comps[i]
			h, v := sc.c.h, sc.c.v
			for y := 0; y < v; y++ {
				for x := 0; x < h; x++ {
					if err := each(sc, block(sc.c, mx*h+x, my*v+y)); err != nil {
						return err
					}
				}
			}
		}
		return nil
	})
}

// idctProgressive runs the inverse DCT over every block once all scans are in.
func (d *jpegDecoder) idctProgressive() {
	var blk [64]int32
	for i := range d.comps {
		c := &d.comps[i]
		bw, bh := d.mcusX*c.h, d.mcusY*c.v
		for by := 0; by < bh; by++ {
			for bx := 0; bx < bw; bx++ {
				src := c.coefs[(by*bw+bx)*64:][:64]
				ac := int16(0)
				for k, v := range src {
					blk[k] = int32(v)
					if k > 0 {
						ac |= v
					}
				}
				out := c.plane[by*8*c.stride+bx*8:]
				if ac == 0 {
					idctDC(blk[0], c.qt[0], out, c.stride)
				} else {
					idctBlock(&blk, c.qt, out, c.stride)
				}
			}
		}
	}
}
