// Package shaders holds vilt-vk's GLSL compute shaders and their SPIR-V, compiled by
// `go generate ./shaders` (glslc, then spirv-val) and embedded so that `go build` needs no
// shader compiler.
package shaders

//go:generate go run ../tools/spirv -dir . -out spv

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strings"
)

//go:embed spv/*.spv
var spv embed.FS

// Get returns the SPIR-V of the named shader (file name without .comp).
func Get(name string) ([]byte, error) {
	b, err := spv.ReadFile("spv/" + name + ".spv")
	if err != nil {
		return nil, fmt.Errorf("shader %q: %w", name, fs.ErrNotExist)
	}
	return b, nil
}

// MustGet is Get for names fixed at compile time; a missing shader is a build defect.
func MustGet(name string) []byte {
	b, err := Get(name)
	if err != nil {
		panic(err)
	}
	return b
}

// Names lists the embedded shaders.
func Names() []string {
	ents, _ := spv.ReadDir("spv")
	var out []string
	for _, e := range ents {
		if n, ok := strings.CutSuffix(e.Name(), ".spv"); ok {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}
