package hub

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/term"
)

// TerminalProgress returns a Progress callback that draws a one-line bar on w when w is
// a terminal, and nil otherwise (so logs and pipes stay clean).
func TerminalProgress(w io.Writer) func(Progress) {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	return func(p Progress) { fmt.Fprint(w, FormatProgress(p, 30)) }
}

// FormatProgress renders "\rfile [=====>    ]  45%  212.3/470.0 MB  35.2 MB/s", with a
// newline once the file is complete.
func FormatProgress(p Progress, width int) string {
	const mb = 1 << 20
	rate := 0.0
	if s := p.Elapsed.Seconds(); s > 0 {
		rate = float64(p.Done-p.Resumed) / mb / s
	}
	if p.Total <= 0 {
		return fmt.Sprintf("\r%-28s %8.1f MB  %6.1f MB/s", p.File, float64(p.Done)/mb, rate)
	}
	frac := min(float64(p.Done)/float64(p.Total), 1)
	fill := int(frac * float64(width))
	bar := make([]byte, width)
	for i := range bar {
		switch {
		case i < fill:
			bar[i] = '='
		case i == fill:
			bar[i] = '>'
		default:
			bar[i] = ' '
		}
	}
	end := ""
	if p.Done >= p.Total {
		end = "\n"
	}
	return fmt.Sprintf("\r%-28s [%s] %3.0f%%  %7.1f/%.1f MB  %6.1f MB/s%s", p.File, bar, 100*frac, float64(p.Done)/mb, float64(p.Total)/mb, rate, end)
}
