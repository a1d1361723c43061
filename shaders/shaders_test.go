package shaders

import (
	"encoding/binary"
	"os"
	"os/exec"
	"testing"
)

func TestEmbeddedSPIRV(t *testing.T) {
	names := Names()
	if len(names) == 0 {
		t.Fatal("no shaders embedded")
	}
	for _, n := range names {
		b, err := Get(n)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) < 20 || len(b)%4 != 0 || binary.LittleEndian.Uint32(b) != 0x07230203 {
			t.Errorf("%s: not SPIR-V", n)
		}
	}
	if _, err := Get("no-such-shader"); err == nil {
		t.Error("Get of a missing shader succeeded")
	}
}

// TestCommittedSPIRVUpToDate fails when a .comp was edited without `go generate ./shaders`.
func TestCommittedSPIRVUpToDate(t *testing.T) {
	if _, err := exec.LookPath("glslc"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("glslc missing in CI: install glslc and spirv-tools")
		}
		t.Skip("glslc not installed")
	}
	out, err := exec.Command("go", "run", "../tools/spirv", "-dir", ".", "-out", "spv", "-check").CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
}
