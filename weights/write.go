package weights

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
)

// WriteSafetensors writes tensors as a .safetensors file, sorted by name, each in its
// stored dtype (generated tensors as F32). Data is streamed, never gathered in memory.
// It is how a pytorch_model.bin can be converted for faster loading.
func WriteSafetensors(w io.Writer, tensors []*Tensor, metadata map[string]string) error {
	ts := slices.Clone(tensors)
	slices.SortFunc(ts, func(a, b *Tensor) int { return strings.Compare(a.Name, b.Name) })
	header := map[string]any{}
	if len(metadata) > 0 {
		header["__metadata__"] = metadata
	}
	var off int64
	for i, t := range ts {
		if i > 0 && ts[i-1].Name == t.Name {
			return fmt.Errorf("write safetensors: duplicate tensor %q", t.Name)
		}
		n := int64(len(t.data))
		if t.gen != nil {
			n = t.F32Size()
		}
		shape := t.Shape
		if shape == nil {
			shape = []int{}
		}
		header[t.Name] = map[string]any{"dtype": t.DType.String(), "shape": shape, "data_offsets": []int64{off, off + n}}
		off += n
	}
	hb, err := json.Marshal(header)
	if err != nil {
		return fmt.Errorf("write safetensors: %w", err)
	}
	for len(hb)%8 != 0 {
		hb = append(hb, ' ')
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	if err := binary.Write(bw, binary.LittleEndian, uint64(len(hb))); err != nil {
		return err
	}
	if _, err := bw.Write(hb); err != nil {
		return err
	}
	for _, t := range ts {
		if t.gen != nil {
			_, err = t.WriteTo(bw)
		} else {
			_, err = bw.Write(t.data)
		}
		if err != nil {
			return fmt.Errorf("write safetensors: %w", err)
		}
	}
	return bw.Flush()
}
