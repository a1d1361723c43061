package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/vilt-vk/vilt-vk/weights"
)

func init() {
	register(&command{
		name:    "merge",
		summary: "join the shard outputs of 'vilt rank|embed --manifest --shard I/N' into one file",
		run:     runMerge,
	})
}

func runMerge(args []string, stdout io.Writer) error {
	fs := newFlagSet("merge")
	output := fs.String("output", "", "the `FILE` the unsharded run writes (.jsonl from rank, .safetensors from embed)")
	quiet := fs.Bool("quiet", false, "print nothing on success")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: vilt merge --output FILE [SHARD_FILE ...]")
		fmt.Fprintln(fs.Output(), `
Joins FILE-00000-of-NNNNN … FILE-(N-1)-of-NNNNN (found next to FILE, or the files given)
into FILE, exactly what one unsharded run over the manifest writes. Refuses missing, extra
or mixed shards and outputs that do not continue each other. The shard files are kept.

flags:`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return usageErr(err)
	}
	if *output == "" {
		return usageErrorf("--output is required")
	}
	merge := map[string]func(string, []string) (int64, error){".jsonl": mergeJSONL, ".safetensors": mergeSafetensors}[strings.ToLower(filepath.Ext(*output))]
	if merge == nil {
		return usageErrorf("--output %s: want a .jsonl (rank) or .safetensors (embed) file", *output)
	}
	files, err := shardFiles(*output, fs.Args())
	if err != nil {
		return err
	}
	rows, err := merge(*output, files)
	if err != nil {
		return err
	}
	if !*quiet {
		fmt.Fprintf(stdout, "wrote %s from %d shards (%d rows)\n", *output, len(files), rows)
	}
	return nil
}

// shardFiles returns the shard files of output in shard order: the given ones, or those
// found next to output. All N shards of one N must be there.
func shardFiles(output string, given []string) ([]string, error) {
	if len(given) == 0 {
		ext := filepath.Ext(output)
		pat := regexp.QuoteMeta(filepath.Base(strings.TrimSuffix(output, ext))) + `-\d{5}-of-\d{5}` + regexp.QuoteMeta(ext)
		re := regexp.MustCompile("^" + pat + "$")
		m, err := filepath.Glob(strings.TrimSuffix(output, ext) + "-*-of-*" + ext)
		if err != nil {
			return nil, err
		}
		for _, f := range m {
			if re.MatchString(filepath.Base(f)) {
				given = append(given, f)
			}
		}
		if len(given) == 0 {
			return nil, fmt.Errorf("no shard files %s-IIIII-of-NNNNN%s", strings.TrimSuffix(output, ext), ext)
		}
	}
	byIndex := map[int]string{}
	n := 0
	for _, f := range given {
		s, ok := shardOf(f)
		if !ok {
			return nil, usageErrorf("%s is not named like a shard (FILE-IIIII-of-NNNNN.ext)", f)
		}
		if n != 0 && s.N != n {
			return nil, fmt.Errorf("shards of different splits: %s is of %d, others of %d", f, s.N, n)
		}
		n = s.N
		if prev, dup := byIndex[s.I]; dup {
			return nil, fmt.Errorf("shard %d given twice: %s and %s", s.I, prev, f)
		}
		byIndex[s.I] = f
	}
	out := make([]string, n)
	var missing []string
	for i := range out {
		f, ok := byIndex[i]
		if !ok {
			missing = append(missing, strconv.Itoa(i))
		}
		out[i] = f
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("shards %s of %d are missing (not finished?)", strings.Join(missing, ", "), n)
	}
	return out, nil
}

// mergeJSONL concatenates rank outputs, checking that the entry indices run on.
func mergeJSONL(output string, files []string) (int64, error) {
	var next int64
	err := writeFileAtomic(output, func(w io.Writer) error {
		for _, f := range files {
			if err := copyJSONL(w, f, &next); err != nil {
				return err
			}
		}
		return nil
	})
	return next, err
}

func copyJSONL(w io.Writer, path string, next *int64) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	for n := 1; ; n++ {
		line, err := r.ReadBytes('\n')
		if err == io.EOF && len(line) == 0 {
			return nil
		}
		if err == io.EOF {
			return fmt.Errorf("%s:%d: the last line has no newline (not written by vilt rank?)", path, n)
		}
		if err != nil {
			return err
		}
		var e struct {
			Index *int64 `json:"index"`
		}
		if err := json.Unmarshal(bytes.TrimSpace(line), &e); err != nil || e.Index == nil {
			return fmt.Errorf("%s:%d: not a vilt rank output line", path, n)
		}
		if *e.Index != *next {
			return fmt.Errorf("%s:%d: entry %d, want %d: the shards do not continue each other", path, n, *e.Index, *next)
		}
		*next++
		if _, err := w.Write(line); err != nil {
			return err
		}
	}
}

// mergeSafetensors concatenates embed outputs along the first dimension, checking their
// metadata (same run, entries that continue each other, all of the manifest) and tensors.
func mergeSafetensors(output string, files []string) (int64, error) {
	type part struct {
		st     *weights.Safetensors
		lo, hi int
	}
	parts := make([]part, len(files))
	defer func() {
		for _, p := range parts {
			if p.st != nil {
				p.st.Close()
			}
		}
	}()
	var common map[string]string
	for i, f := range files {
		st, err := weights.OpenSafetensors(f)
		if err != nil {
			return 0, err
		}
		parts[i].st = st
		meta := maps.Clone(st.Metadata())
		if meta[metaShard] != fmt.Sprintf("%d/%d", i, len(files)) {
			return 0, fmt.Errorf("%s: metadata shard %q, want %d/%d", f, meta[metaShard], i, len(files))
		}
		if _, err := fmt.Sscanf(meta[metaEntries], "%d-%d", &parts[i].lo, &parts[i].hi); err != nil {
			return 0, fmt.Errorf("%s: metadata entries %q: %v", f, meta[metaEntries], err)
		}
		delete(meta, metaShard)
		delete(meta, metaEntries)
		if i == 0 {
			common = meta
		} else if !maps.Equal(meta, common) {
			return 0, fmt.Errorf("%s: metadata %v differs from %s's %v: not the same run", f, meta, files[0], common)
		}
		want := 0
		if i > 0 {
			want = parts[i-1].hi
		}
		if parts[i].lo != want {
			return 0, fmt.Errorf("%s: entries %d-%d, want them to start at %d", f, parts[i].lo, parts[i].hi, want)
		}
		if !slices.Equal(st.Names(), parts[0].st.Names()) {
			return 0, fmt.Errorf("%s: tensors %v, %s has %v", f, st.Names(), files[0], parts[0].st.Names())
		}
	}
	if total := strconv.Itoa(parts[len(parts)-1].hi); common[metaManifestSize] != total {
		return 0, fmt.Errorf("the shards cover %s manifest entries, the manifest has %q", total, common[metaManifestSize])
	}
	var ts []*weights.Tensor
	var rows int64
	for _, name := range parts[0].st.Names() {
		var shape []int
		var data []byte
		var dt weights.DType
		for i, p := range parts {
			t, err := p.st.Tensor(name)
			if err != nil {
				return 0, err
			}
			if len(t.Shape) == 0 {
				return 0, fmt.Errorf("%s: tensor %s is a scalar", files[i], name)
			}
			if i == 0 {
				shape, dt = slices.Clone(t.Shape), t.DType
				shape[0] = 0
			} else if t.DType != dt || !slices.Equal(t.Shape[1:], shape[1:]) {
				return 0, fmt.Errorf("%s: tensor %s is %v %v, %s has %v %v", files[i], name, t.DType, t.Shape, files[0], dt, shape[1:])
			}
			shape[0] += t.Shape[0]
			data = append(data, t.Bytes()...)
		}
		t, err := weights.NewTensor(name, dt, shape, data)
		if err != nil {
			return 0, err
		}
		ts = append(ts, t)
		rows = int64(shape[0])
	}
	return rows, writeFileAtomic(output, func(w io.Writer) error { return weights.WriteSafetensors(w, ts, common) })
}
