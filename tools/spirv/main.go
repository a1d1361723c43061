// Command spirv compiles the GLSL compute shaders in a directory to SPIR-V with glslc and
// validates each module with spirv-val. `go generate ./shaders` runs it.
//
// Usage:
//
//	go run ./tools/spirv [-dir shaders] [-out shaders/spv] [-check]
//
// Every *.comp file becomes <out>/<name>.spv. Files named *.glsl are includes. -check compiles
// into a temporary directory and fails if any committed .spv differs from what the sources
// compile to (or is missing, or is stale), so CI catches shaders edited without regenerating.
// The glslc version used is recorded in <out>/GLSLC_VERSION; -check with a different glslc
// reports the mismatch instead of comparing bytes.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// targetEnv is the Vulkan version the SPIR-V is built for: 1.1 keeps every shader loadable
// on any Vulkan 1.1 device (subgroup operations are core there).
const targetEnv = "vulkan1.1"

func main() {
	dir := flag.String("dir", "shaders", "directory holding *.comp and *.glsl")
	out := flag.String("out", "", "output directory for .spv (default <dir>/spv)")
	check := flag.Bool("check", false, "compare committed SPIR-V with a fresh build instead of writing")
	flag.Parse()
	if *out == "" {
		*out = filepath.Join(*dir, "spv")
	}
	if err := run(*dir, *out, *check); err != nil {
		fmt.Fprintln(os.Stderr, "spirv:", err)
		os.Exit(1)
	}
}

func glslcVersion() (string, error) {
	b, err := exec.Command("glslc", "--version").Output()
	if err != nil {
		return "", fmt.Errorf("glslc not found (apt install glslc): %w", err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.TrimSpace(strings.Join(lines[:min(3, len(lines))], " | ")), nil
}

func run(dir, out string, check bool) error {
	ver, err := glslcVersion()
	if err != nil {
		return err
	}
	if _, err := exec.LookPath("spirv-val"); err != nil {
		return fmt.Errorf("spirv-val not found (apt install spirv-tools): %w", err)
	}
	srcs, err := filepath.Glob(filepath.Join(dir, "*.comp"))
	if err != nil {
		return err
	}
	sort.Strings(srcs)
	if len(srcs) == 0 {
		return fmt.Errorf("no *.comp in %s", dir)
	}
	dst := out
	if check {
		committed, err := os.ReadFile(filepath.Join(out, "GLSLC_VERSION"))
		if err == nil && strings.TrimSpace(string(committed)) != ver {
			return fmt.Errorf("committed SPIR-V was built with %q, this machine has %q: cannot compare bytes (rebuild with go generate ./shaders on the reference toolchain)", strings.TrimSpace(string(committed)), ver)
		}
		dst, err = os.MkdirTemp("", "spirv-check-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dst)
	} else if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	var failed []string
	for _, src := range srcs {
		name := strings.TrimSuffix(filepath.Base(src), ".comp")
		spv := filepath.Join(dst, name+".spv")
		cmd := exec.Command("glslc", "-fshader-stage=compute", "--target-env="+targetEnv, "-O", "-I", dir, "-o", spv, src)
		if msg, err := cmd.CombinedOutput(); err != nil {
			failed = append(failed, fmt.Sprintf("%s: glslc: %v\n%s", src, err, msg))
			continue
		}
		cmd = exec.Command("spirv-val", "--target-env", targetEnv, spv)
		if msg, err := cmd.CombinedOutput(); err != nil {
			failed = append(failed, fmt.Sprintf("%s: spirv-val: %v\n%s", src, err, msg))
		}
	}
	if len(failed) > 0 {
		return errors.New(strings.Join(failed, "\n"))
	}
	if !check {
		if err := os.WriteFile(filepath.Join(dst, "GLSLC_VERSION"), []byte(ver+"\n"), 0o644); err != nil {
			return err
		}
		return removeStale(srcs, dst)
	}
	return compare(srcs, out, dst)
}

func removeStale(srcs []string, out string) error {
	want := map[string]bool{}
	for _, s := range srcs {
		want[strings.TrimSuffix(filepath.Base(s), ".comp")+".spv"] = true
	}
	have, _ := filepath.Glob(filepath.Join(out, "*.spv"))
	for _, h := range have {
		if !want[filepath.Base(h)] {
			if err := os.Remove(h); err != nil {
				return err
			}
		}
	}
	return nil
}

func compare(srcs []string, committed, fresh string) error {
	var diffs []string
	want := map[string]bool{}
	for _, src := range srcs {
		name := strings.TrimSuffix(filepath.Base(src), ".comp") + ".spv"
		want[name] = true
		a, err := os.ReadFile(filepath.Join(committed, name))
		if err != nil {
			diffs = append(diffs, name+": not committed")
			continue
		}
		b, err := os.ReadFile(filepath.Join(fresh, name))
		if err != nil {
			return err
		}
		if !bytes.Equal(a, b) {
			diffs = append(diffs, name+": differs from its source")
		}
	}
	have, _ := filepath.Glob(filepath.Join(committed, "*.spv"))
	for _, h := range have {
		if !want[filepath.Base(h)] {
			diffs = append(diffs, filepath.Base(h)+": no source")
		}
	}
	if len(diffs) > 0 {
		return fmt.Errorf("committed SPIR-V is stale (run go generate ./shaders):\n  %s", strings.Join(diffs, "\n  "))
	}
	return nil
}
