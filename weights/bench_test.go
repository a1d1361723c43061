package weights

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestMain doubles as the child process of BenchmarkLoad, so the peak RSS it reports
// belongs to loading alone.
func TestMain(m *testing.M) {
	if p := os.Getenv("VILT_WEIGHTS_LOAD_CHILD"); p != "" {
		os.Exit(loadChild(p))
	}
	os.Exit(m.Run())
}

type loadStats struct {
	Seconds   float64 `json:"seconds"`
	Bytes     int64   `json:"bytes"`
	VmHWMKB   int64   `json:"vm_hwm_kb"`   // peak resident set
	RssAnonKB int64   `json:"rss_anon_kb"` // heap and stacks: what loading really allocated
	RssFileKB int64   `json:"rss_file_kb"` // mapped file pages (page cache, shared)
}

// stagingWriter copies into a fixed buffer, as filling a GPU staging buffer would.
type stagingWriter struct {
	buf []byte
	off int
}

func (s *stagingWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if s.off == len(s.buf) {
			s.off = 0
		}
		c := copy(s.buf[s.off:], p)
		s.off += c
		p = p[c:]
	}
	return n, nil
}

// loadChild opens a checkpoint and copies every tensor as F32 into a 16 MiB staging
// buffer with ReadAt (one copy, as a GPU upload would), or with WriteTo when
// VILT_WEIGHTS_LOAD_MODE=writeto.
func loadChild(path string) int {
	start := time.Now()
	c, err := Open(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	w := &stagingWriter{buf: make([]byte, 16<<20)}
	writeTo := os.Getenv("VILT_WEIGHTS_LOAD_MODE") == "writeto"
	var total int64
	for _, n := range c.Names() {
		t, err := c.Tensor(n)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if writeTo {
			k, err := t.WriteTo(w)
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			total += k
			continue
		}
		for off := int64(0); off < t.F32Size(); {
			if w.off+4<<20 > len(w.buf) {
				w.off = 0
			}
			k, err := t.ReadAt(w.buf[w.off:w.off+4<<20], off)
			if err != nil && err != io.EOF {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			off += int64(k)
			w.off += k
			total += int64(k)
		}
	}
	st := loadStats{Seconds: time.Since(start).Seconds(), Bytes: total}
	c.Close()
	st.VmHWMKB, st.RssAnonKB, st.RssFileKB = procStatus("VmHWM"), procStatus("RssAnon"), procStatus("RssFile")
	json.NewEncoder(os.Stdout).Encode(st)
	return 0
}

func procStatus(key string) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), key+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return -1
}

// benchFiles writes a ViLT-B/32 retrieval checkpoint (111.5M parameters, 446 MB of
// F32, like dandelin/vilt-b32-finetuned-coco) from the synthetic rule, once as
// safetensors and once as a torch zip.
func benchFiles(b *testing.B) (st, bin string) {
	dir := b.TempDir()
	spec := fullVQASpec
	spec.Head = HeadRetrieval
	sy := NewSynthetic(spec)
	var ts []*Tensor
	for _, n := range sy.Names() {
		t, _ := sy.Tensor(n)
		ts = append(ts, t)
	}
	st = filepath.Join(dir, "model.safetensors")
	f, err := os.Create(st)
	if err != nil {
		b.Fatal(err)
	}
	if err := WriteSafetensors(f, ts, map[string]string{"format": "pt"}); err != nil {
		b.Fatal(err)
	}
	f.Close()
	var storages []ptStorage
	var entries []ptEntry
	for i, t := range ts {
		t := t
		key := strconv.Itoa(i)
		storages = append(storages, ptStorage{key: key, dtype: F32, numel: t.NumElements(), fill: func(w io.Writer) error {
			_, err := t.WriteTo(w)
			return err
		}})
		entries = append(entries, ptEntry{name: t.Name, storage: key, size: t.Shape})
	}
	bin = filepath.Join(dir, "pytorch_model.bin")
	f, err = os.Create(bin)
	if err != nil {
		b.Fatal(err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	if err := writeTorchZip(bw, storages, entries, nil); err != nil {
		b.Fatal(err)
	}
	bw.Flush()
	f.Close()
	return st, bin
}

// BenchmarkLoad compares loading (open + stream every tensor as F32 into a staging
// buffer) against a plain sequential read of the same file. The files were just
// written, so all three read from the page cache; run with -benchtime=3x.
func BenchmarkLoad(b *testing.B) {
	st, bin := benchFiles(b)
	for _, path := range []string{st, bin} {
		info, _ := os.Stat(path)
		size := info.Size()
		b.Run("read/"+filepath.Base(path), func(b *testing.B) {
			b.SetBytes(size)
			staging := make([]byte, 16<<20) // the same destination as load
			off := 0
			for b.Loop() {
				f, err := os.Open(path)
				if err != nil {
					b.Fatal(err)
				}
				for {
					if off+1<<20 > len(staging) {
						off = 0
					}
					n, err := f.Read(staging[off : off+1<<20])
					off += n
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
				}
				f.Close()
			}
		})
		for _, mode := range []string{"readat", "writeto"} {
			b.Run("load-"+mode+"/"+filepath.Base(path), func(b *testing.B) {
				var last loadStats
				var secs float64
				n := 0
				for b.Loop() {
					cmd := exec.Command(os.Args[0])
					cmd.Env = append(os.Environ(), "VILT_WEIGHTS_LOAD_CHILD="+path, "VILT_WEIGHTS_LOAD_MODE="+mode)
					cmd.Stderr = os.Stderr
					out, err := cmd.Output()
					if err != nil {
						b.Fatal(err)
					}
					if err := json.Unmarshal(out, &last); err != nil {
						b.Fatal(err, string(out))
					}
					if last.Bytes != size-size%4 && last.Bytes <= 0 {
						b.Fatalf("loaded %d bytes", last.Bytes)
					}
					secs += last.Seconds
					n++
				}
				b.SetBytes(size)
				b.ReportMetric(float64(size)/1e6/(secs/float64(n)), "load-MB/s")
				b.ReportMetric(float64(last.VmHWMKB)/1024, "peakRSS-MiB")
				b.ReportMetric(float64(last.RssAnonKB)/1024, "anonRSS-MiB")
			})
		}
	}
}
