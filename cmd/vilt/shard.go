package main

// Batch work over a manifest, split into shards that separate processes (a Kubernetes
// Indexed Job) run independently: `vilt rank|embed --manifest M --shard I/N --output F`.
// See batch.go for the runner and cmd_merge.go for joining the shard outputs.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// Environment the shard defaults come from. Kubernetes sets JOB_COMPLETION_INDEX in the
// pods of an Indexed Job but does not publish the Job's completions, so the Job's manifest
// sets VILT_SHARDS to the same number.
const (
	envCompletionIndex = "JOB_COMPLETION_INDEX"
	envShards          = "VILT_SHARDS"
)

// manifestEntry is one line of a batch manifest: an image and the texts to pair it with.
type manifestEntry struct {
	Image string   `json:"image"`
	Texts []string `json:"texts,omitempty"`
	ID    string   `json:"id,omitempty"`

	path   string // Image resolved against the manifest's folder
	shared bool   // Texts is the shared list
}

// readManifest reads a JSONL manifest ({"image": PATH, "texts": [...], "id": optional}
// per line; blank lines are skipped). Relative image paths are relative to the manifest's
// folder. A line without texts takes shared (the --text/--texts list); no line may end up
// without texts.
func readManifest(path string, shared []string) ([]manifestEntry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseManifest(f, path, shared)
}

// parseManifest reads the manifest named path from r (see readManifest).
func parseManifest(r io.Reader, path string, shared []string) ([]manifestEntry, error) {
	var out []manifestEntry
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	for n := 1; sc.Scan(); n++ {
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var e manifestEntry
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			return nil, fmt.Errorf("%s:%d: %v (want {\"image\": PATH, \"texts\": [TEXT, ...]})", path, n, err)
		}
		if dec.More() {
			return nil, fmt.Errorf("%s:%d: more than one JSON value on the line", path, n)
		}
		if e.Image == "" {
			return nil, fmt.Errorf("%s:%d: no \"image\"", path, n)
		}
		if len(e.Texts) == 0 {
			if len(shared) == 0 {
				return nil, fmt.Errorf("%s:%d: no \"texts\" (and no --text/--texts for lines without them)", path, n)
			}
			e.Texts, e.shared = shared, true
		}
		for j, s := range e.Texts {
			if strings.TrimSpace(s) == "" {
				return nil, fmt.Errorf("%s:%d: text %d is empty", path, n, j)
			}
		}
		e.path = e.Image
		if !filepath.IsAbs(e.path) {
			e.path = filepath.Join(filepath.Dir(path), e.path)
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no entries", path)
	}
	return out, nil
}

// shard is part I of N of a manifest; the zero value (N == 0) means "not sharded".
type shard struct{ I, N int }

func (s shard) sharded() bool { return s.N > 0 }

func (s shard) String() string { return fmt.Sprintf("%d/%d", s.I, s.N) }

// lines is the shard's half-open range of manifest entries: contiguous blocks in
// manifest order, so joining the shards in order gives the unsharded output.
func (s shard) lines(n int) (lo, hi int) {
	if !s.sharded() {
		return 0, n
	}
	return n * s.I / s.N, n * (s.I + 1) / s.N
}

func parseShard(v string) (shard, error) {
	a, b, ok := strings.Cut(v, "/")
	i, err1 := strconv.Atoi(strings.TrimSpace(a))
	n, err2 := strconv.Atoi(strings.TrimSpace(b))
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n {
		return shard{}, fmt.Errorf("shard %q: want I/N with 0 <= I < N", v)
	}
	return shard{i, n}, nil
}

// shardFlags are the batch-mode flags of rank and embed.
type shardFlags struct {
	manifest string
	shard    string
	output   string // rank's --output (embed has its own)
}

func (f *shardFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.manifest, "manifest", "", "batch mode: JSONL `FILE`, one {\"image\": PATH, \"texts\": [...]} per line; results go to --output")
	fs.StringVar(&f.shard, "shard", "", "with --manifest: do part `I/N` (0-based) and write --output's shard file (default: "+envCompletionIndex+"/"+envShards+" when set)")
}

// registerOutput adds --output for a command that has none outside batch mode.
func (f *shardFlags) registerOutput(fs *flag.FlagSet, what string) {
	fs.StringVar(&f.output, "output", "", "with --manifest: results `FILE` ("+what+"; with a shard: FILE-IIIII-of-NNNNN"+"; join them with 'vilt merge')")
}

// check refuses --shard (and rank's --output) without --manifest.
func (f *shardFlags) check() error {
	if f.manifest == "" && f.shard != "" {
		return usageErrorf("--shard needs --manifest")
	}
	if f.manifest == "" && f.output != "" {
		return usageErrorf("--output needs --manifest (without it, results go to stdout)")
	}
	return nil
}

// resolve returns the shard to run: --shard, else JOB_COMPLETION_INDEX with VILT_SHARDS,
// else none.
func (f *shardFlags) resolve() (shard, error) {
	if f.shard != "" {
		s, err := parseShard(f.shard)
		if err != nil {
			return shard{}, usageErrorf("--%v", err)
		}
		return s, nil
	}
	idx, hasIdx := os.LookupEnv(envCompletionIndex)
	n, hasN := os.LookupEnv(envShards)
	switch {
	case !hasIdx && !hasN:
		return shard{}, nil
	case !hasIdx:
		return shard{}, usageErrorf("%s=%s is set but %s is not: pass --shard I/N", envShards, n, envCompletionIndex)
	case !hasN:
		return shard{}, usageErrorf("%s=%s is set (a Kubernetes Indexed Job) but %s is not: set it to the Job's completions, or pass --shard I/N", envCompletionIndex, idx, envShards)
	}
	s, err := parseShard(idx + "/" + n)
	if err != nil {
		return shard{}, usageErrorf("%s/%s: %v", envCompletionIndex, envShards, err)
	}
	return s, nil
}

// shardPath names shard s of output: scores.jsonl → scores-00001-of-00003.jsonl (0-based
// index, the numbering of --shard and JOB_COMPLETION_INDEX).
func shardPath(output string, s shard) string {
	if !s.sharded() {
		return output
	}
	ext := filepath.Ext(output)
	return fmt.Sprintf("%s-%05d-of-%05d%s", strings.TrimSuffix(output, ext), s.I, s.N, ext)
}

var shardSuffix = regexp.MustCompile(`-(\d{5})-of-(\d{5})$`)

// shardOf reads the shard from a file name written by shardPath.
func shardOf(path string) (shard, bool) {
	base := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	m := shardSuffix.FindStringSubmatch(base)
	if m == nil {
		return shard{}, false
	}
	i, _ := strconv.Atoi(m[1])
	n, _ := strconv.Atoi(m[2])
	if n < 1 || i >= n {
		return shard{}, false
	}
	return shard{i, n}, true
}

// removeStaleTemps deletes the temporary files writeFileAtomic left for path when a
// previous run was killed, so a crashed shard restarts cleanly.
func removeStaleTemps(path string) {
	m, _ := filepath.Glob(filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*"))
	for _, t := range m {
		if err := os.Remove(t); err == nil {
			slog.Info("removed the temporary file of an interrupted run", "file", t)
		} else if !errors.Is(err, os.ErrNotExist) {
			slog.Warn("cannot remove a stale temporary file", "file", t, "err", err)
		}
	}
}
