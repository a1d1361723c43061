package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestParseShard(t *testing.T) {
	for _, c := range []struct {
		in   string
		want shard
		ok   bool
	}{
		{"0/1", shard{0, 1}, true},
		{"2/3", shard{2, 3}, true},
		{" 1 / 4 ", shard{1, 4}, true},
		{"3/3", shard{}, false},
		{"-1/3", shard{}, false},
		{"1/0", shard{}, false},
		{"1", shard{}, false},
		{"a/b", shard{}, false},
		{"", shard{}, false},
	} {
		got, err := parseShard(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("parseShard(%q) = %v, %v", c.in, got, err)
		}
	}
}

// TestShardLines: the shards tile the manifest in order, whatever N.
func TestShardLines(t *testing.T) {
	for _, n := range []int{1, 2, 5, 7, 100} {
		for _, N := range []int{1, 2, 3, 7, 8} {
			next := 0
			for i := range N {
				lo, hi := shard{i, N}.lines(n)
				if lo != next || hi < lo {
					t.Fatalf("n=%d N=%d shard %d: [%d,%d), want start %d", n, N, i, lo, hi, next)
				}
				next = hi
			}
			if next != n {
				t.Fatalf("n=%d N=%d: shards end at %d", n, N, next)
			}
		}
	}
}

func TestShardResolve(t *testing.T) {
	for _, c := range []struct {
		flag, idx, n string
		want         shard
		err          string
	}{
		{"", "", "", shard{}, ""},
		{"1/3", "", "", shard{1, 3}, ""},
		{"1/3", "0", "5", shard{1, 3}, ""}, // the flag wins
		{"", "4", "5", shard{4, 5}, ""},
		{"", "4", "", shard{}, "VILT_SHARDS is not"},
		{"", "", "5", shard{}, "JOB_COMPLETION_INDEX is not"},
		{"", "5", "5", shard{}, "want I/N"},
		{"", "x", "5", shard{}, "want I/N"},
		{"3", "", "", shard{}, "want I/N"},
	} {
		t.Run(c.flag+"_"+c.idx+"_"+c.n, func(t *testing.T) {
			if c.idx != "" {
				t.Setenv(envCompletionIndex, c.idx)
			}
			if c.n != "" {
				t.Setenv(envShards, c.n)
			}
			f := shardFlags{manifest: "m.jsonl", shard: c.flag}
			got, err := f.resolve()
			if c.err == "" && (err != nil || got != c.want) {
				t.Errorf("got %v, %v; want %v", got, err, c.want)
			}
			if c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
				t.Errorf("got %v, %v; want an error with %q", got, err, c.err)
			}
		})
	}
}

func TestShardPath(t *testing.T) {
	for _, c := range []struct {
		out  string
		s    shard
		want string
	}{
		{"out/scores.jsonl", shard{}, "out/scores.jsonl"},
		{"out/scores.jsonl", shard{2, 3}, "out/scores-00002-of-00003.jsonl"},
		{"/d/e.safetensors", shard{0, 12}, "/d/e-00000-of-00012.safetensors"},
		{"noext", shard{1, 2}, "noext-00001-of-00002"},
	} {
		got := shardPath(c.out, c.s)
		if got != c.want {
			t.Errorf("shardPath(%q, %v) = %q, want %q", c.out, c.s, got, c.want)
		}
		if s, ok := shardOf(got); c.s.sharded() && (!ok || s != c.s) {
			t.Errorf("shardOf(%q) = %v, %v", got, s, ok)
		}
	}
	for _, bad := range []string{"scores.jsonl", "s-00003-of-00003.jsonl", "s-1-of-3.jsonl", "s-00000-of-00000.jsonl"} {
		if s, ok := shardOf(bad); ok {
			t.Errorf("shardOf(%q) = %v", bad, s)
		}
	}
}

func TestParseManifest(t *testing.T) {
	m, err := parseManifest(strings.NewReader(`{"image": "a.png", "texts": ["x", "y"]}

{"image": "/abs/b.png", "id": "b"}
`), "data/m.jsonl", []string{"shared"})
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 2 || m[0].path != "data/a.png" || m[1].path != "/abs/b.png" || len(m[0].Texts) != 2 ||
		!m[1].shared || m[1].Texts[0] != "shared" || m[1].ID != "b" {
		t.Fatalf("%+v", m)
	}
	for _, c := range []struct{ in, err string }{
		{``, "no entries"},
		{`{"image": "a.png"}`, `no "texts"`},
		{`{"texts": ["x"]}`, `no "image"`},
		{`{"image": "a.png", "texts": ["x", " "]}`, "text 1 is empty"},
		{`{"image": "a.png", "texts": ["x"], "caption": "y"}`, "unknown field"},
		{`{"image": "a.png", "texts": "x"}`, "m.jsonl:1"},
		{`{"image": "a.png", "texts": ["x"]} {"image": "b.png"}`, "more than one"},
		{"{\"image\": \"a.png\", \"texts\": [\"x\"]}\n[1]", "m.jsonl:2"},
	} {
		if _, err := parseManifest(strings.NewReader(c.in), "m.jsonl", nil); err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%q: %v, want an error with %q", c.in, err, c.err)
		}
	}
}

func FuzzParseManifest(f *testing.F) {
	f.Add(`{"image": "a.png", "texts": ["x", "y"], "id": "1"}` + "\n\n" + `{"image": "b.png"}`)
	f.Add(`{"image": 1}`)
	f.Fuzz(func(t *testing.T, in string) {
		m, err := parseManifest(strings.NewReader(in), "m.jsonl", []string{"s"})
		if err != nil {
			return
		}
		for _, e := range m {
			if e.Image == "" || len(e.Texts) == 0 || e.path == "" {
				t.Fatalf("accepted %+v", e)
			}
		}
	})
}

// TestBatchUsageErrors: batch flags out of place are usage errors (exit 2), before any
// model is loaded.
func TestBatchUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"rank", "--images", "a.png", "--text", "t", "--shard", "0/2"},
		{"rank", "--images", "a.png", "--text", "t", "--output", "o.jsonl"},
		{"rank", "--manifest", "m.jsonl", "--images", "a.png"},
		{"rank", "--manifest", "m.jsonl"},
		{"rank", "--manifest", "m.jsonl", "--output", "o.jsonl", "--shard", "3/3"},
		{"embed", "--image", "a.png", "--text", "t", "--output", "o.safetensors", "--shard", "0/2"},
		{"embed", "--manifest", "m.jsonl", "--image", "a.png", "--output", "o.safetensors"},
		{"merge"},
		{"merge", "--output", "o.txt", "o-00000-of-00001.txt"},
		{"merge", "--output", "o.jsonl", "o.jsonl"},
	} {
		if _, errOut, code := runVilt(t, nil, args...); code != 2 {
			t.Errorf("%q: exit %d, want 2: %s", args, code, errOut)
		}
	}
}

func TestHealthcheckCommand(t *testing.T) {
	code := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(code)
	}))
	defer srv.Close()
	if _, errOut, c := runVilt(t, nil, "healthcheck", srv.URL+"/healthz"); c != 0 {
		t.Errorf("200: exit %d: %s", c, errOut)
	}
	code = http.StatusServiceUnavailable
	if _, errOut, c := runVilt(t, nil, "healthcheck", srv.URL+"/healthz"); c != 1 || !strings.Contains(errOut, "503") {
		t.Errorf("503: exit %d: %s", c, errOut)
	}
	if _, errOut, c := runVilt(t, nil, "healthcheck", "--timeout", "1s", "http://127.0.0.1:1/healthz"); c != 1 {
		t.Errorf("nothing listening: exit %d: %s", c, errOut)
	}
	for _, args := range [][]string{{}, {"localhost:8080"}, {"a", "b"}} {
		if _, _, c := runVilt(t, nil, append([]string{"healthcheck"}, args...)...); c != 2 {
			t.Errorf("%q: exit %d, want 2", args, c)
		}
	}
}
