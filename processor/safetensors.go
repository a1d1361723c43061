package processor

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
)

// Tensor is one tensor to write: exactly one of I64, F32 or U8 is set.
type Tensor struct {
	Name  string
	Shape []int
	I64   []int64
	F32   []float32
	U8    []uint8
}

func (t *Tensor) dtype() (string, int, int) {
	switch {
	case t.F32 != nil:
		return "F32", 4, len(t.F32)
	case t.U8 != nil:
		return "U8", 1, len(t.U8)
	default:
		return "I64", 8, len(t.I64)
	}
}

type stHeaderEntry struct {
	DType       string   `json:"dtype"`
	Shape       []int    `json:"shape"`
	DataOffsets [2]int64 `json:"data_offsets"`
}

// WriteSafetensors writes tensors in the safetensors format: an 8-byte
// little-endian header length, a JSON header (padded with spaces to 8 bytes),
// then the raw little-endian data in the order given.
func WriteSafetensors(w io.Writer, tensors []Tensor, metadata map[string]string) error {
	header := map[string]any{}
	if len(metadata) > 0 {
		header["__metadata__"] = metadata
	}
	var off int64
	for i := range tensors {
		t := &tensors[i]
		dt, size, n := t.dtype()
		elems := 1
		for _, d := range t.Shape {
			elems *= d
		}
		if elems != n {
			return fmt.Errorf("safetensors: %s has shape %v (%d elements) but %d values", t.Name, t.Shape, elems, n)
		}
		if _, dup := header[t.Name]; dup {
			return fmt.Errorf("safetensors: duplicate tensor %q", t.Name)
		}
		header[t.Name] = stHeaderEntry{dt, t.Shape, [2]int64{off, off + int64(n*size)}}
		off += int64(n * size)
	}
	hj, err := json.Marshal(header)
	if err != nil {
		return fmt.Errorf("safetensors header: %w", err)
	}
	for len(hj)%8 != 0 {
		hj = append(hj, ' ')
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	var lenBuf [8]byte
	binary.LittleEndian.PutUint64(lenBuf[:], uint64(len(hj)))
	bw.Write(lenBuf[:])
	bw.Write(hj)
	var buf [8]byte
	for i := range tensors {
		t := &tensors[i]
		switch {
		case t.F32 != nil:
			for _, v := range t.F32 {
				binary.LittleEndian.PutUint32(buf[:], math.Float32bits(v))
				bw.Write(buf[:4])
			}
		case t.U8 != nil:
			bw.Write(t.U8)
		default:
			for _, v := range t.I64 {
				binary.LittleEndian.PutUint64(buf[:], uint64(v))
				bw.Write(buf[:])
			}
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write safetensors: %w", err)
	}
	return nil
}
