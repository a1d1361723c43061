package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// findBrowser is the Chromium the browser test drives: $VILT_CHROMIUM, or the first of the
// usual names on PATH.
func findBrowser() string {
	if p := os.Getenv("VILT_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// TestPageInBrowser drives the page of `vilt serve` in headless Chromium on the demo model:
// the form follows the model's head, an uploaded image and a question give the answer list
// with score bars and a drawn heatmap, the page fits a phone-width window, and a file that is
// not an image shows the server's error in words. Screenshots go to the test's temp dir
// (and a JPEG to $VILT_SCREENSHOT when set: that is how docs/serve-page.jpg is made).
func TestPageInBrowser(t *testing.T) {
	bctx := newBrowser(t)
	base := startServe(t, "../..", "testdata/tiny-vilt-vqa").base
	tmp := t.TempDir()
	image, err := filepath.Abs("../../testdata/tiny-vilt-vqa/example.png")
	if err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(tmp, "notes.png")
	if err := os.WriteFile(bad, []byte("these are notes, not a picture\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		browse(t, bctx, what, steps...)
	}
	do("load the page and ask without an image",
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.CSS("#question")), // the VQA form, built from /v1/info
		chromedp.Click(chromedp.CSS("#go")),
		chromedp.WaitVisible(chromedp.CSS(`#error:not(:empty)`)),
	)
	if e := get(t, bctx, chromedp.Text(chromedp.CSS("#error"))); !strings.Contains(e, "Choose a file") {
		t.Errorf("asking without an image shows %q", e)
	}
	do("fill in the form",
		chromedp.SetUploadFiles(chromedp.CSS("#file-image"), []string{image}),
		chromedp.SendKeys(chromedp.CSS("#question"), "How many cats are there?"),
		chromedp.Click(chromedp.CSS("#go")),
		chromedp.WaitVisible(chromedp.CSS(`canvas.heatmap[data-drawn="1"]`)),
	)
	if s := get(t, bctx, chromedp.Text(chromedp.CSS("#model"))); !strings.Contains(s, "vqa") {
		t.Errorf("model line %q does not name the task", s)
	}
	if n := get(t, bctx, chromedp.Evaluate[int](`[...document.querySelectorAll("input,select,textarea")].filter(e => e.labels.length === 0).length`)); n != 0 {
		t.Errorf("%d form controls without a label", n)
	}
	if n := get(t, bctx, chromedp.Evaluate[int](`document.querySelectorAll("#out ol.bars li").length`)); n != 5 {
		t.Errorf("%d answers listed, want 5", n)
	}
	if w := get(t, bctx, chromedp.Evaluate[int](`document.querySelector("canvas.heatmap").width`)); w != 320 {
		t.Errorf("heatmap canvas %d px wide, want the image's 320", w)
	}
	// The heatmap is painted: the canvas centre is not transparent.
	if a := get(t, bctx, chromedp.Evaluate[int](`(() => { const c = document.querySelector("canvas.heatmap"); return c.getContext("2d").getImageData(c.width/2, c.height/2, 1, 1).data[3]; })()`)); a == 0 {
		t.Error("the heatmap canvas is empty at its centre")
	}
	if s := get(t, bctx, chromedp.Text(chromedp.CSS("#status"))); !strings.Contains(s, "Server time") || !strings.Contains(s, " ms") {
		t.Errorf("status %q does not give the server time", s)
	}
	if !get(t, bctx, chromedp.Evaluate[bool](`document.activeElement === document.getElementById("resultsTitle")`)) {
		t.Error("focus did not move to the results")
	}
	saveShot(t, filepath.Join(tmp, "page.png"), get(t, bctx, chromedp.FullScreenshot(100)))
	if p := os.Getenv("VILT_SCREENSHOT"); p != "" { // a small JPEG for the README
		saveShot(t, p, get(t, bctx, chromedp.FullScreenshot(70)))
	}

	// A narrow window: nothing wider than the viewport.
	do("narrow the window", chromedp.EmulateViewport(360, 800), chromedp.Sleep(200*time.Millisecond))
	if over := get(t, bctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth - window.innerWidth`)); over > 0 {
		t.Errorf("at 360 px the page is %d px too wide", over)
	}
	saveShot(t, filepath.Join(tmp, "page-narrow.png"), get(t, bctx, chromedp.FullScreenshot(100)))

	// A file that is not an image: the API's error appears on the page, in words.
	do("send a file that is not an image",
		chromedp.SetUploadFiles(chromedp.CSS("#file-image"), []string{bad}),
		chromedp.Click(chromedp.CSS("#go")),
		chromedp.WaitVisible(chromedp.CSS(`#error:not(:empty)`)),
	)
	errText := get(t, bctx, chromedp.Text(chromedp.CSS("#error")))
	saveShot(t, filepath.Join(tmp, "page-error.png"), get(t, bctx, chromedp.FullScreenshot(100)))
	low := strings.ToLower(errText)
	if !strings.Contains(low, "http 4") || !strings.Contains(low, "notes.png") || !strings.Contains(low, "image") {
		t.Errorf("error shown: %q; want the HTTP status and the server's reason naming the file", errText)
	}
}

// newBrowser starts headless Chromium with an empty profile and no network services, or skips
// the test where no Chromium is installed.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	browser := findBrowser()
	if browser == "" {
		t.Skip("no Chromium found (install the Debian package chromium, as make setup does, or set VILT_CHROMIUM)")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(browser),
		chromedp.UserDataDir(filepath.Join(t.TempDir(), "profile")),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(900, 900),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	bctx, bcancel := chromedp.NewContext(actx, chromedp.WithErrorf(t.Logf))
	t.Cleanup(func() { bcancel(); acancel(); cancel() })
	return bctx
}

// browse runs browser actions that return nothing.
func browse(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("browser: %s: %v", what, err)
	}
}

// get runs one browser action that returns a value.
func get[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	return v
}

func saveShot(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Error(err)
	}
}

// TestPageInBrowserHeads: the page adapts to the other heads (the golden tiny models): fill-mask
// lists each mask's candidates with a heatmap per mask, NLVR2 takes two images and draws two
// heatmaps, rank takes several images and a list of texts.
func TestPageInBrowserHeads(t *testing.T) {
	needTaskGolden(t)
	bctx := newBrowser(t)
	image, err := filepath.Abs("../../testdata/tiny-vilt-vqa/example.png")
	if err != nil {
		t.Fatal(err)
	}
	cats, err := filepath.Abs(taskCats)
	if err != nil {
		t.Fatal(err)
	}
	models := "../shared/golden/models/" // from the repository root, where startServe runs
	cases := []struct {
		model  string
		files  map[string][]string // file input id → files
		field  string              // text field id
		text   string
		bars   int // answer rows listed
		drawn  int // heatmaps drawn
		extras string
	}{
		{"tiny-vilt-p32-mlm", map[string][]string{"file-image": {cats}}, "text", "a bunch of [MASK] laying on a [MASK].", 10, 1, `document.querySelectorAll(".tabs button").length`},
		{"tiny-vilt-p32-nlvr2", map[string][]string{"file-left": {cats}, "file-right": {image}}, "text", "two cats", 2, 2, ""},
		{"tiny-vilt-p32-retrieval", map[string][]string{"file-images": {cats, image}}, "texts", "cats\na dog\na couch", 6, 2, ""},
	}
	for _, c := range cases {
		t.Run(c.model, func(t *testing.T) {
			base := startServe(t, "../..", models+c.model).base
			browse(t, bctx, "load", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("#"+c.field)))
			for id, files := range c.files {
				browse(t, bctx, "upload", chromedp.SetUploadFiles(chromedp.CSS("#"+id), files))
			}
			browse(t, bctx, "ask",
				chromedp.SetValue(chromedp.CSS("#"+c.field), c.text),
				chromedp.Click(chromedp.CSS("#go")),
				chromedp.WaitVisible(chromedp.CSS(`canvas.heatmap[data-drawn="1"]`)),
			)
			if e := get(t, bctx, chromedp.Text(chromedp.CSS("#error"))); e != "" {
				t.Fatalf("error shown: %s", e)
			}
			if n := get(t, bctx, chromedp.Evaluate[int](`document.querySelectorAll("#out ol.bars li").length`)); n != c.bars {
				t.Errorf("%d answer rows, want %d", n, c.bars)
			}
			if n := get(t, bctx, chromedp.Evaluate[int](`document.querySelectorAll('canvas.heatmap[data-drawn="1"]').length`)); n != c.drawn {
				t.Errorf("%d heatmaps drawn, want %d", n, c.drawn)
			}
			if c.extras != "" {
				if n := get(t, bctx, chromedp.Evaluate[int](c.extras)); n != 2 {
					t.Errorf("%d mask buttons, want 2", n)
				}
			}
		})
	}
}
