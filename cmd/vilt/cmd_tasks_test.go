package main

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vilt-vk/vilt-vk/vilt"
	"github.com/vilt-vk/vilt-vk/weights"
)

const (
	taskGolden = "../../../shared/golden"
	taskCats   = "../../../shared/vilt-data/cats.png"
)

func needTaskGolden(t *testing.T) {
	t.Helper()
	for _, p := range []string{taskGolden, taskCats} {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("%s not present", p)
		}
	}
}

// safetensorsValues reads tensor name of a .safetensors file as values (get is
// (*weights.Tensor).Float32s or Int64s).
func safetensorsValues[T any](t *testing.T, file, name string, get func(*weights.Tensor) ([]T, error)) []T {
	t.Helper()
	st, err := weights.OpenSafetensors(file)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	x, err := st.Tensor(name)
	if err != nil {
		t.Fatal(err)
	}
	v, err := get(x)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func goldenTensor(t *testing.T, file, name string) []float32 {
	t.Helper()
	return safetensorsValues(t, file, name, (*weights.Tensor).Float32s)
}

// TestVQACommandGolden: the answers of `vilt vqa --json` follow from transformers' logits
// (tiny VQA model, the cats photo at the default 384 processing, golden case 4).
func TestVQACommandGolden(t *testing.T) {
	needTaskGolden(t)
	model := filepath.Join(taskGolden, "models/tiny-vilt-p32-vqa")
	out, errOut, code := runVilt(t, nil, "vqa", "--model", model, "--image", taskCats, "--question", "How many cats are there?", "--top-k", "3", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var got []vilt.Answer
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("not the pipeline shape: %v\n%s", err, out)
	}
	logits := goldenTensor(t, filepath.Join(taskGolden, "io/outputs__tiny-vilt-p32-vqa__case4_processor_cats384.safetensors"), "logits")
	labels := []string{"yes", "no", "2", "1", "3", "cat", "couch"}
	idx := []int{0, 1, 2, 3, 4, 5, 6}
	sort.SliceStable(idx, func(a, b int) bool { return logits[idx[a]] > logits[idx[b]] })
	if len(got) != 3 {
		t.Fatalf("%d answers, want 3", len(got))
	}
	for r := range got {
		want := 1 / (1 + math.Exp(-float64(logits[idx[r]])))
		if got[r].Answer != labels[idx[r]] || math.Abs(got[r].Score-want) > 1e-5 {
			t.Errorf("answer %d: %+v, want %s %.6f", r, got[r], labels[idx[r]], want)
		}
	}

	// Two questions × one image: one item per pair.
	out, errOut, code = runVilt(t, nil, "vqa", "--model", model, "--image", taskCats, "--question", "How many cats are there?", "--question", "what is it?", "--json")
	var items []struct {
		Image    int           `json:"image"`
		Name     string        `json:"image_name"`
		Question string        `json:"question"`
		Answers  []vilt.Answer `json:"answers"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &items) != nil || len(items) != 2 || items[1].Question != "what is it?" || len(items[0].Answers) != 5 {
		t.Fatalf("exit %d: %s\n%s", code, out, errOut)
	}
	if items[0].Answers[0] != got[0] {
		t.Errorf("batched %+v, alone %+v", items[0].Answers[0], got[0])
	}

	// The wrong model for the task: exit 1, one line naming the model class.
	_, errOut, code = runVilt(t, nil, "vqa", "--model", filepath.Join(taskGolden, "models/tiny-vilt-p32-mlm"), "--image", taskCats, "--question", "q")
	if code != 1 || !strings.Contains(errOut, "ViltForQuestionAnswering") {
		t.Errorf("wrong head: exit %d: %s", code, errOut)
	}
}

// TestDemoModel: the shipped demo model runs and says its weights are random.
func TestDemoModel(t *testing.T) {
	dir := "../../testdata/tiny-vilt-vqa"
	out, errOut, code := runVilt(t, nil, "vqa", "--model", dir, "--image", filepath.Join(dir, "example.png"), "--question", "How many cats are there?")
	if code != 0 || !strings.Contains(out, "meaningless") || !strings.Contains(out, "dandelin/vilt-b32-finetuned-vqa") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	if n := strings.Count(out, "\n"); n != 7 {
		t.Errorf("want note, header and 5 answers:\n%s", out)
	}
}

func TestTaskCommandsOffline(t *testing.T) {
	env := []string{"HF_HUB_OFFLINE=1", "HF_HUB_CACHE=" + t.TempDir()}
	for _, args := range [][]string{
		{"vqa", "--image", "x.png", "--question", "q"},
		{"rank", "--images", "x.png", "--text", "t"},
	} {
		img := filepath.Join(t.TempDir(), "x.png")
		os.WriteFile(img, pngFile(t), 0o644)
		args = append([]string(nil), args...)
		args[2] = img
		_, errOut, code := runVilt(t, env, args...)
		lines := strings.Split(strings.TrimSpace(errOut), "\n")
		if code != 1 || len(lines) != 1 || !strings.Contains(errOut, "vilt download dandelin/") || !strings.Contains(errOut, "HF_HUB_OFFLINE") {
			t.Errorf("%s offline: exit %d, want 1 and one line naming vilt download and HF_HUB_OFFLINE:\n%s", args[0], code, errOut)
		}
	}
	for _, args := range [][]string{
		{"vqa", "--question", "q"},
		{"fill-mask", "--image", "x"},
		{"nlvr2", "--image", "a", "--text", "t"},
		{"rank", "--text", "t"},
		{"embed", "--image", "a", "--text", "t"},
		{"vqa", "--bogus"},
		{"serve", "--max-batch", "0"},
	} {
		if _, errOut, code := runVilt(t, env, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2 (usage): %s", args, code, errOut)
		}
	}
}

func pngFile(t *testing.T) []byte {
	b, err := os.ReadFile("../../testdata/tiny-vilt-vqa/example.png")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestFillMaskCommand(t *testing.T) {
	needTaskGolden(t)
	out, errOut, code := runVilt(t, nil, "fill-mask", "--model", filepath.Join(taskGolden, "models/tiny-vilt-p32-mlm"),
		"--image", taskCats, "--text", "a bunch of [MASK] laying on a [MASK].", "--top-k", "2", "--json")
	var res vilt.FillMaskResult
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil {
		t.Fatalf("exit %d: %s\n%s", code, out, errOut)
	}
	if len(res.Steps) != 2 || strings.Contains(res.Sequence, "[MASK]") || !strings.HasPrefix(res.Sequence, "a bunch of ") || len(res.Steps[1].Candidates) != 2 {
		t.Errorf("result %+v", res)
	}
	if res.Steps[0].Score < res.Steps[0].Candidates[1].Score {
		t.Errorf("step 0 is not its best candidate: %+v", res.Steps[0])
	}
}

func TestNLVR2Command(t *testing.T) {
	needTaskGolden(t)
	out, errOut, code := runVilt(t, nil, "nlvr2", "--model", filepath.Join(taskGolden, "models/tiny-vilt-p32-nlvr2"),
		"--image", taskCats, "--image", taskCats, "--text", "two cats", "--json")
	var res vilt.NLVR2Result
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil {
		t.Fatalf("exit %d: %s\n%s", code, out, errOut)
	}
	want := "False"
	if res.Logits[1] > res.Logits[0] {
		want = "True"
	}
	if res.Label != want || math.Abs(res.Scores["True"]+res.Scores["False"]-1) > 1e-9 {
		t.Errorf("result %+v", res)
	}
}

func TestRankCommand(t *testing.T) {
	needTaskGolden(t)
	dir := t.TempDir()
	texts := filepath.Join(dir, "texts.txt")
	os.WriteFile(texts, []byte("a bunch of cats\n\ntwo dogs on a couch\na remote\n"), 0o644)
	list := filepath.Join(dir, "images.txt")
	abs, _ := filepath.Abs(taskCats)
	os.WriteFile(list, []byte(abs+"\n"+abs+"\n"), 0o644)
	out, errOut, code := runVilt(t, nil, "rank", "--model", filepath.Join(taskGolden, "models/tiny-vilt-p32-retrieval"),
		"--images", list, "--images", filepath.Join(taskGolden, "images/rgb_500x333.p*g"), "--texts", texts, "--top-k", "2", "--batch", "4", "--json")
	var res vilt.RankResult
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil {
		t.Fatalf("exit %d: %s\n%s", code, out, errOut)
	}
	if len(res.Scores) != 3 || len(res.Scores[0]) != 3 || len(res.ImageToTexts[2]) != 2 || len(res.TextToImages) != 3 {
		t.Fatalf("result %+v", res)
	}
	for j := range res.Scores[0] {
		if res.Scores[0][j] != res.Scores[1][j] {
			t.Errorf("the same image scored differently: %v vs %v", res.Scores[0], res.Scores[1])
		}
	}
	if res.TextToImages[0][0].Label == "" || !strings.Contains(res.TextToImages[0][0].Label, ".png") {
		t.Errorf("image labels are not file names: %+v", res.TextToImages[0])
	}
}

func TestEmbedCommandGolden(t *testing.T) {
	needTaskGolden(t)
	outFile := filepath.Join(t.TempDir(), "e.safetensors")
	_, errOut, code := runVilt(t, nil, "embed", "--model", filepath.Join(taskGolden, "models/tiny-vilt-p32-model"),
		"--image", taskCats, "--text", "How many cats are there?", "--output", outFile, "--quiet")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	golden := filepath.Join(taskGolden, "io/outputs__tiny-vilt-p32-model__case4_processor_cats384.safetensors")
	for _, pair := range [][2]string{{"pooler_output", "pooler_output"}, {"last_hidden_state", "rowmajor.last_hidden_state"}} {
		got, want := goldenTensor(t, outFile, pair[0]), goldenTensor(t, golden, pair[1])
		if len(got) != len(want) {
			t.Fatalf("%s: %d values, golden %d", pair[0], len(got), len(want))
		}
		d := 0.0
		for i := range got {
			d = math.Max(d, math.Abs(float64(got[i]-want[i])))
		}
		if d > 2e-5 {
			t.Errorf("%s differs from transformers by %.3g", pair[0], d)
		}
	}
}

// TestServeCommand starts `vilt serve` on a free port, answers a request, and stops on
// SIGTERM with exit 0.
func TestServeCommand(t *testing.T) {
	dir := "../../testdata/tiny-vilt-vqa"
	srv := startServe(t, "", dir)
	base := srv.base
	c := &http.Client{Timeout: 30 * time.Second}
	body, _ := json.Marshal(map[string]any{"image": base64.StdEncoding.EncodeToString(pngFile(t)), "question": "How many cats are there?", "top_k": 2})
	resp, err := c.Post(base+"/v1/vqa", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var ans []vilt.Answer
	json.NewDecoder(resp.Body).Decode(&ans)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(ans) != 2 {
		t.Fatalf("vqa: %d %+v", resp.StatusCode, ans)
	}
	// The same answer as the CLI.
	out, _, _ := runVilt(t, nil, "vqa", "--model", dir, "--image", filepath.Join(dir, "example.png"), "--question", "How many cats are there?", "--top-k", "2", "--json")
	var cli []vilt.Answer
	json.Unmarshal([]byte(out), &cli)
	if len(cli) != 2 || cli[0].Answer != ans[0].Answer || math.Abs(cli[0].Score-ans[0].Score) > 1e-6 {
		t.Errorf("server %+v, CLI %+v", ans, cli)
	}
	if err := srv.stop(); err != nil {
		t.Errorf("serve after SIGTERM: %v\n%s", err, srv.stderr.String())
	}
}

// serveProcess is a `vilt serve` started by a test (the test binary runs main).
type serveProcess struct {
	base   string // http://127.0.0.1:PORT
	cmd    *exec.Cmd
	stderr *strings.Builder
	done   chan error
}

// startServe runs `vilt serve` on model from folder dir ("" for the package folder) on a
// loopback port and returns once the model is ready. The server is stopped (SIGTERM) when
// the test ends, unless the test stopped it.
func startServe(t *testing.T, dir, model string) *serveProcess {
	t.Helper()
	exe, err := filepath.Abs(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "serve", "--addr", "127.0.0.1:0", "--model", model, "--quiet")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "VILT_TEST_RUN_MAIN=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s := &serveProcess{cmd: cmd, stderr: &strings.Builder{}}
	cmd.Stderr = s.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if s.done == nil { // not stopped by the test: only a server that hangs is an error here
			if err := s.stop(); errors.Is(err, errServeHung) {
				t.Error(err)
			}
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "listening on ") {
		t.Fatalf("first line %q: %v\n%s", line, err, s.stderr.String())
	}
	go io.Copy(io.Discard, stdout)
	s.base = strings.TrimSpace(strings.TrimPrefix(line, "listening on "))
	c := &http.Client{Timeout: 30 * time.Second}
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(50 * time.Millisecond) {
		resp, err := c.Get(s.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("vilt serve not ready: %v\n%s", err, s.stderr.String())
		}
	}
}

var errServeHung = errors.New("vilt serve did not stop on SIGTERM within 30 s")

// stop sends SIGTERM and waits up to 30 s; it returns the process's exit error.
func (s *serveProcess) stop() error {
	s.done = make(chan error, 1)
	s.cmd.Process.Signal(syscall.SIGTERM)
	go func() { s.done <- s.cmd.Wait() }()
	select {
	case err := <-s.done:
		return err
	case <-time.After(30 * time.Second):
		s.cmd.Process.Kill()
		return errServeHung
	}
}

// TestVQAFromHub: a hub id missing from the cache is downloaded (fake hub), then found in
// the cache offline.
func TestVQAFromHub(t *testing.T) {
	needTaskGolden(t)
	srv := dlFakeHub(t, "tiny-vilt-p32-vqa")
	env := []string{"HF_HUB_CACHE=" + t.TempDir(), "HF_ENDPOINT=" + srv.URL, "HF_HUB_OFFLINE=", "HF_TOKEN="}
	args := []string{"vqa", "--model", "org/tiny-vilt-p32-vqa", "--image", taskCats, "--question", "How many cats are there?", "--json", "--quiet"}
	out, errOut, code := runVilt(t, env, args...)
	var online []vilt.Answer
	if code != 0 || json.Unmarshal([]byte(out), &online) != nil || len(online) != 5 {
		t.Fatalf("online: exit %d: %s\n%s", code, out, errOut)
	}
	srv.Close()
	out, errOut, code = runVilt(t, append(env, "HF_HUB_OFFLINE=1"), args...)
	var offline []vilt.Answer
	if code != 0 || json.Unmarshal([]byte(out), &offline) != nil || offline[0] != online[0] {
		t.Fatalf("offline from the cache: exit %d: %s\n%s", code, out, errOut)
	}
}
