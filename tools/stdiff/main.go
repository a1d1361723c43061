// Command stdiff compares two .safetensors files of model outputs: every float tensor of GOT
// against the tensor of the same name in WANT (or PREFIX+name where WANT has it, as the
// golden files' "rowmajor." copies), printing the largest absolute difference of each. It
// fails when a tensor is missing in WANT (unless -missing-ok), has another shape, or differs
// by more than -tol, or when nothing was compared.
//
//	go run ./tools/stdiff -tol 2e-5 got.safetensors want.safetensors
//
// tools/wine/run-tests.sh uses it to hold the Windows build to the Linux one and to
// transformers' golden outputs.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"slices"

	"github.com/vilt-vk/vilt-vk/weights"
)

func main() {
	tol := flag.Float64("tol", 2e-5, "largest allowed absolute difference")
	prefix := flag.String("prefix", "", "prefer WANT's PREFIX+name over name when it exists")
	missingOK := flag.Bool("missing-ok", false, "list tensors WANT lacks instead of failing")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: stdiff [-tol T] [-prefix P] [-missing-ok] GOT.safetensors WANT.safetensors")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 2 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(os.Stdout, flag.Arg(0), flag.Arg(1), *prefix, *tol, *missingOK); err != nil {
		fmt.Fprintln(os.Stderr, "stdiff:", err)
		os.Exit(1)
	}
}

func run(w io.Writer, gotPath, wantPath, prefix string, tol float64, missingOK bool) error {
	got, err := weights.OpenSafetensors(gotPath)
	if err != nil {
		return err
	}
	defer got.Close()
	want, err := weights.OpenSafetensors(wantPath)
	if err != nil {
		return err
	}
	defer want.Close()
	var errs []error
	compared := 0
	for _, name := range got.Names() {
		g, err := got.Tensor(name)
		if err != nil {
			return err
		}
		gv, err := g.Float32s()
		if err != nil {
			continue // not a float tensor
		}
		wname := name
		if prefix != "" && slices.Contains(want.Names(), prefix+name) {
			wname = prefix + name
		}
		if !slices.Contains(want.Names(), wname) {
			if missingOK {
				fmt.Fprintf(w, "%-40s %-14s not in %s\n", name, fmt.Sprint(g.Shape), wantPath)
			} else {
				errs = append(errs, fmt.Errorf("%s: not in %s", name, wantPath))
			}
			continue
		}
		wt, err := want.Tensor(wname)
		if err != nil {
			return err
		}
		if !slices.Equal(g.Shape, wt.Shape) {
			errs = append(errs, fmt.Errorf("%s: shape %v, want %v (%s)", name, g.Shape, wt.Shape, wname))
			continue
		}
		wv, err := wt.Float32s()
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", wname, err))
			continue
		}
		d := maxAbsDiff(gv, wv)
		fmt.Fprintf(w, "%-40s %-14s max |diff| %.3g\n", name, fmt.Sprint(g.Shape), d)
		if !(d <= tol) {
			errs = append(errs, fmt.Errorf("%s: max |diff| %.3g > %.3g", name, d, tol))
		}
		compared++
	}
	if compared == 0 {
		errs = append(errs, errors.New("no float tensors compared"))
	}
	return errors.Join(errs...)
}

// maxAbsDiff is the largest |a[i]-b[i]|; NaN where either side is NaN and the other is not.
func maxAbsDiff(a, b []float32) float64 {
	var m float64
	for i := range a {
		x, y := float64(a[i]), float64(b[i])
		if math.IsNaN(x) || math.IsNaN(y) {
			if math.IsNaN(x) != math.IsNaN(y) {
				return math.NaN()
			}
			continue
		}
		m = max(m, math.Abs(x-y))
	}
	return m
}
