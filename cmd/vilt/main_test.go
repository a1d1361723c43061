package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestMain lets tests run the real binary: the test executable re-executes itself with
// VILT_TEST_RUN_MAIN=1 to act as `vilt`.
func TestMain(m *testing.M) {
	if os.Getenv("VILT_TEST_RUN_MAIN") == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// runVilt runs `vilt args...` in a child process with extra environment.
func runVilt(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(append(os.Environ(), "VILT_TEST_RUN_MAIN=1"), env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	code = 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return o.String(), e.String(), code
}

func TestDevicesJSON(t *testing.T) {
	out, errOut, code := runVilt(t, nil, "devices", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rep devicesReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if len(rep.Devices) == 0 || rep.Default < 0 {
		t.Fatalf("no devices: %+v", rep)
	}
	var raw struct {
		Devices []map[string]any `json:"devices"`
	}
	json.Unmarshal([]byte(out), &raw)
	d := raw.Devices[rep.Default]
	limits, _ := d["limits"].(map[string]any)
	features, _ := d["features"].(map[string]any)
	for _, k := range []string{"max_storage_buffer_range", "max_compute_shared_memory_size", "max_compute_work_group_invocations",
		"max_compute_work_group_size", "max_compute_work_group_count", "min_storage_buffer_offset_alignment",
		"max_push_constants_size", "timestamp_period_ns"} {
		if _, ok := limits[k]; !ok {
			t.Errorf("limits lack %s", k)
		}
	}
	for _, k := range []string{"subgroup_size", "subgroup_operations", "shader_float16", "storage_buffer_16bit_access", "shader_int8", "cooperative_matrix"} {
		if _, ok := features[k]; !ok {
			t.Errorf("features lack %s", k)
		}
	}
	for _, k := range []string{"name", "vendor", "type", "driver_name", "driver_version", "api_version", "memory_heaps", "timestamps"} {
		if _, ok := d[k]; !ok {
			t.Errorf("device lacks %s", k)
		}
	}
}

func TestDevicesText(t *testing.T) {
	out, errOut, code := runVilt(t, nil, "devices")
	if code != 0 || !strings.Contains(out, "maxStorageBufferRange") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
}

func TestNoVulkanLoader(t *testing.T) {
	out, errOut, code := runVilt(t, []string{"VILT_VULKAN_LIBRARY=/nonexistent/libvulkan.so.1"}, "devices")
	if code == 0 {
		t.Fatalf("exit 0 without a loader: %s", out)
	}
	lines := strings.Split(strings.TrimSpace(errOut), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], "apt install") {
		t.Fatalf("want one line saying what to install, got:\n%s", errOut)
	}
}

func TestUsage(t *testing.T) {
	_, _, code := runVilt(t, nil, "no-such-command")
	if code != 2 {
		t.Errorf("unknown command: exit %d, want 2", code)
	}
	_, _, code = runVilt(t, nil, "devices", "--bogus")
	if code != 2 {
		t.Errorf("bad flag: exit %d, want 2", code)
	}
	out, _, code := runVilt(t, nil, "help")
	if code != 0 || !strings.Contains(out, "devices") {
		t.Errorf("help: exit %d\n%s", code, out)
	}
}
