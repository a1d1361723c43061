// Package gputest opens Vulkan devices for tests with the Khronos validation layer on, and
// fails the test on any validation warning or error.
package gputest

import (
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/vilt-vk/vilt-vk/gpu"
)

// failer collects messages for the test that is current when they arrive.
type failer struct {
	mu sync.Mutex
	t  testing.TB
}

func (f *failer) handle(m gpu.Message) {
	if ignorable(m) {
		return
	}
	f.mu.Lock()
	t := f.t
	f.mu.Unlock()
	if t != nil {
		t.Errorf("%v", m)
	}
}

// ignorable filters loader chatter that is not about our use of the API: the loader
// reports drivers (ICDs) for absent hardware while enumerating.
func ignorable(m gpu.Message) bool {
	if m.Kind != "general" {
		return false
	}
	return strings.Contains(m.Text, "loader_") || strings.Contains(m.Text, "ICD") || strings.Contains(m.Text, "icd")
}

// Instance returns a validated instance closed at the end of the test.
func Instance(t testing.TB) *gpu.Instance {
	t.Helper()
	f := &failer{t: t}
	inst, err := gpu.NewInstance(gpu.InstanceOptions{Validate: !noValidation(), OnMessage: f.handle})
	if err != nil {
		t.Fatalf("vulkan instance (install libvulkan1, mesa-vulkan-drivers and vulkan-validationlayers): %v", err)
	}
	t.Cleanup(func() {
		if err := inst.Close(); err != nil {
			t.Errorf("close instance: %v", err)
		}
		f.mu.Lock()
		f.t = nil
		f.mu.Unlock()
	})
	return inst
}

// noValidation lets a developer without the validation layer run the suite
// (VILT_VK_VALIDATE=0); CI always validates.
func noValidation() bool { return os.Getenv("VILT_VK_VALIDATE") == "0" }

// Device opens the default (or VILT_DEVICE) device on a validated instance.
func Device(t testing.TB) *gpu.Device {
	t.Helper()
	return DeviceWith(t, gpu.DeviceOptions{})
}

// DeviceWith opens a device with options.
func DeviceWith(t testing.TB, opts gpu.DeviceOptions) *gpu.Device {
	t.Helper()
	inst := Instance(t)
	devs, err := inst.Devices()
	if err != nil {
		t.Fatal(err)
	}
	idx, err := gpu.Select(devs, "")
	if err != nil {
		t.Fatal(err)
	}
	d, err := inst.OpenDevice(idx[0], opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Errorf("close device: %v", err)
		}
	})
	return d
}
