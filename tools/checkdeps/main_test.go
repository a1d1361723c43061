package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestCheckAllowed(t *testing.T) {
	for _, c := range []struct {
		libs []string
		ok   bool
	}{
		{[]string{"libc.so.6", "libdl.so.2", "libpthread.so.0", "libm.so.6"}, true},
		{[]string{"KERNEL32.dll", "msvcrt.dll"}, true},
		{nil, true},
		{[]string{"libc.so.6", "libvulkan.so.1"}, false},
		{[]string{"kernel32.dll", "vulkan-1.dll"}, false},
		{[]string{"libwinpthread-1.dll"}, false},
		{[]string{"libstdc++.so.6"}, false},
	} {
		if err := checkAllowed(c.libs); (err == nil) != c.ok {
			t.Errorf("%v: %v", c.libs, err)
		}
	}
}

func TestNeededLibraries(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := neededLibraries(exe); err != nil {
		t.Errorf("this test binary: %v", err)
	}
	p := filepath.Join(t.TempDir(), "x")
	os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755)
	if _, err := neededLibraries(p); err == nil {
		t.Error("a shell script: want an error")
	}
}
