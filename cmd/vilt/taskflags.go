package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/vilt-vk/vilt-vk/internal/atomicrename"
	"github.com/vilt-vk/vilt-vk/processor"
	"github.com/vilt-vk/vilt-vk/vilt"
	"github.com/vilt-vk/vilt-vk/weights/hub"
	"golang.org/x/term"
)

// modelFlags are the flags every task command shares: --model, --device, --json, --quiet.
type modelFlags struct {
	task      string
	model     string
	device    string
	asJSON    bool
	quiet     bool
	batch     int
	maxPixels int64
	precision string
}

// precisionFlag adds --precision (every command that loads a model).
func precisionFlag(fs *flag.FlagSet) *string {
	return fs.String("precision", "auto", precisionUsage)
}

const precisionUsage = "weight `precision` on the device: fp32, fp16 (half the weight memory; float32 arithmetic) or auto (fp16 where the device reads it and it measured faster)"

// taskFlagSet is a task command's flag set with the shared model flags (and --batch for the
// commands that batch many pairs).
func taskFlagSet(task string, batch bool) (*flag.FlagSet, *modelFlags) {
	fs := newFlagSet(task)
	mf := &modelFlags{}
	mf.register(fs, task)
	if batch {
		mf.registerBatch(fs)
	}
	return fs, mf
}

func (f *modelFlags) register(fs *flag.FlagSet, task string) {
	f.task = task
	def := vilt.DefaultModel(task)
	fs.StringVar(&f.model, "model", def, "model `DIR` or hub id ORG/NAME[@REV] (found in the Hugging Face cache shared with Python, downloaded when online)")
	fs.StringVar(&f.device, "device", "", "Vulkan `device`: index, comma-separated indices, name substring or all (default: VILT_DEVICE or the best device)")
	fs.BoolVar(&f.asJSON, "json", false, "print JSON (transformers' pipeline shapes)")
	fs.BoolVar(&f.quiet, "quiet", false, "only results and errors: no progress, no info logs")
	fs.Int64Var(&f.maxPixels, "max-pixels", processor.DefaultMaxPixels, "refuse images with more `pixels` (decompression bombs)")
	fs.StringVar(&f.precision, "precision", "auto", precisionUsage)
}

// registerBatch adds --batch (examples per forward).
func (f *modelFlags) registerBatch(fs *flag.FlagSet) {
	fs.IntVar(&f.batch, "batch", vilt.DefaultTaskBatch, "image-text pairs per forward (split across the devices)")
}

// setup applies --quiet to logging.
func (f *modelFlags) setup() {
	if f.quiet {
		slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: max(slog.LevelWarn, logLevel())})))
	}
}

// locateModel turns --model into a local folder: a folder as is; a hub id from the cache,
// downloaded when download is set and the network is allowed (HF_HUB_OFFLINE unset).
func locateModel(ctx context.Context, arg string, download, quiet bool) (string, error) {
	if st, err := os.Stat(arg); err == nil && st.IsDir() {
		return arg, nil
	}
	if strings.HasPrefix(arg, ".") || strings.HasPrefix(arg, "/") || strings.Count(arg, "/") > 1 {
		return "", usageErrorf("--model %q: no such folder", arg)
	}
	c := hub.NewClient()
	if !quiet {
		c.Progress = hub.TerminalProgress(os.Stderr) // draws only on a terminal
	}
	if dir, err := c.LocalModel(mustRef(arg)); err == nil {
		return dir, nil
	}
	if !download {
		return "", fmt.Errorf("%s is not in the Hugging Face cache (%s): run 'vilt download %s', or pass --model DIR", arg, c.Cache.Dir, arg)
	}
	if c.Offline {
		return "", fmt.Errorf("%s is not in the Hugging Face cache (%s) and HF_HUB_OFFLINE is set: run 'vilt download %s' where the network is reachable (or unset HF_HUB_OFFLINE), or pass --model DIR (the demo model: --model testdata/tiny-vilt-vqa)",
			arg, c.Cache.Dir, arg)
	}
	slog.Info("downloading model", "model", arg, "cache", c.Cache.Dir)
	dir, err := c.Locate(ctx, arg, true)
	if err != nil {
		return "", fmt.Errorf("%s is not in the Hugging Face cache and could not be downloaded (%v); without network run 'vilt download %s' where it is reachable and copy the cache, set HF_HUB_OFFLINE=1 to skip the network, or pass --model DIR",
			arg, oneLine(err), arg)
	}
	return dir, nil
}

func mustRef(arg string) hub.Ref {
	r, err := hub.ParseRef(arg)
	if err != nil {
		return hub.Ref{RepoID: arg, Revision: "main"}
	}
	return r
}

// load locates and loads the model and checks the random-weights note.
func (f *modelFlags) load(ctx context.Context, stdout io.Writer) (*vilt.Pipeline, error) {
	if f.model == "" {
		return nil, usageErrorf("--model is required")
	}
	if _, err := hub.ParseRef(f.model); err != nil {
		if st, serr := os.Stat(f.model); serr != nil || !st.IsDir() {
			return nil, usageErrorf("--model %q is neither a folder nor a hub id ORG/NAME[@REV]", f.model)
		}
	}
	prec, err := vilt.ParsePrecision(f.precision)
	if err != nil {
		return nil, usageErrorf("--precision: %v", err)
	}
	dir, err := locateModel(ctx, f.model, true, f.quiet)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	p, err := vilt.Load(ctx, dir, vilt.LoadOptions{DeviceSelector: f.device, Precision: prec})
	if err != nil {
		return nil, err
	}
	if dir != f.model {
		p.Name = f.model // a hub id: name the model as the user did, not by its cache folder
	}
	slog.Debug("model loaded", "dir", dir, "head", p.Model.Head, "devices", p.Model.LoadInfo().Devices, "precision", p.Model.LoadInfo().Precision.String(), "ms", time.Since(start).Milliseconds())
	if note := p.Model.Config.Note; note != "" {
		if f.asJSON {
			slog.Warn(note)
		} else {
			fmt.Fprintf(stdout, "note: %s\n", note)
		}
	}
	return p, nil
}

// taskRun is what a task command works with once its inputs are read: the decoded images,
// the model, its task runner (with --batch) and a context cancelled by SIGINT/SIGTERM.
type taskRun struct {
	ctx    context.Context
	p      *vilt.Pipeline
	tasks  *vilt.Tasks
	images []*processor.RGBImage
	stop   func()
}

// close frees the model and the signal handler.
func (r *taskRun) close() { r.p.Close(); r.stop() }

// start decodes the image files (so a bad path fails before the model loads), applies
// --quiet, and loads the model under a context cancelled by SIGINT/SIGTERM.
func (f *modelFlags) start(stdout io.Writer, imagePaths []string) (*taskRun, error) {
	imgs, err := readImages(imagePaths, f.maxPixels)
	if err != nil {
		return nil, err
	}
	f.setup()
	ctx, stop := signalContext()
	p, err := f.load(ctx, stdout)
	if err != nil {
		stop()
		return nil, err
	}
	t := p.Tasks()
	if f.batch > 0 {
		t.BatchSize = f.batch
	}
	return &taskRun{ctx: ctx, p: p, tasks: t, images: imgs, stop: stop}, nil
}

// parseFlags sets fs's help text (the usage lines, then the flag list), parses args, and
// refuses stray positional arguments: the one way every command reads its flags.
func parseFlags(fs *flag.FlagSet, args []string, usage ...string) error {
	if len(usage) > 0 {
		fs.Usage = func() {
			for _, l := range usage {
				fmt.Fprintln(fs.Output(), l)
			}
			fmt.Fprintln(fs.Output(), "\nflags:")
			fs.PrintDefaults()
		}
	}
	if err := fs.Parse(args); err != nil {
		return usageErr(err)
	}
	if fs.NArg() > 0 {
		return usageErrorf("unexpected argument %q", fs.Arg(0))
	}
	return nil
}

// writeFileAtomic writes path through a temporary file in the same folder that is renamed
// into place only when write succeeded, so a failed run never leaves a truncated file.
func writeFileAtomic(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	bw := bufio.NewWriterSize(tmp, 1<<20)
	werr := write(bw)
	if werr == nil {
		werr = bw.Flush()
	}
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = atomicrename.Rename(tmp.Name(), path)
	}
	if werr != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", path, werr)
	}
	return nil
}

// isTerminal reports whether f is a terminal (progress output goes only there).
func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

// signalContext is cancelled on SIGINT/SIGTERM. On Windows Go delivers Ctrl-C and
// Ctrl-Break as os.Interrupt and closing the console, logoff and shutdown as SIGTERM (Windows
// then allows only a few seconds before it ends the process), so one list serves both.
func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// readImage decodes an image file within the pixel limit.
func readImage(path string, maxPixels int64) (*processor.RGBImage, error) {
	return procDecodeFile(path, processor.DecodeOptions{MaxPixels: maxPixels})
}

func readImages(paths []string, maxPixels int64) ([]*processor.RGBImage, error) {
	out := make([]*processor.RGBImage, len(paths))
	for i, p := range paths {
		img, err := readImage(p, maxPixels)
		if err != nil {
			return nil, err
		}
		out[i] = img
	}
	return out, nil
}

// readLines reads a text file's non-empty lines (trimmed, so CRLF files read as LF ones,
// and without the UTF-8 byte order mark Windows editors may write); "-" is stdin.
func readLines(path string) ([]string, error) {
	var r io.Reader
	if path == "-" {
		r = os.Stdin
	} else {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	var out []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for first := true; sc.Scan(); first = false {
		line := sc.Text()
		if first {
			line = strings.TrimPrefix(line, "\ufeff")
		}
		if s := strings.TrimSpace(line); s != "" {
			out = append(out, s)
		}
	}
	return out, sc.Err()
}

// writeJSON prints v indented.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// progressBar draws "\rrank [=====>   ] 120/400 pairs" on stderr when it is a terminal.
func progressBar(label string, quiet bool) func(done, total int) {
	if quiet || !isTerminal(os.Stderr) {
		return nil
	}
	start := time.Now()
	return func(done, total int) {
		const width = 30
		fill := width * done / max(total, 1)
		bar := strings.Repeat("=", fill) + strings.Repeat(" ", width-fill)
		rate := float64(done) / max(time.Since(start).Seconds(), 1e-9)
		fmt.Fprintf(os.Stderr, "\r%s [%s] %d/%d pairs  %.1f pairs/s", label, bar, done, total, rate)
		if done >= total {
			fmt.Fprintln(os.Stderr)
		}
	}
}
