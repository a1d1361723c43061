// Command checkdeps checks that release binaries need nothing at run time beyond the C
// library and the operating system: on Linux only libc, libdl, libpthread, libm and the
// dynamic loader (ELF DT_NEEDED entries, what `objdump -p` lists as NEEDED); on Windows only
// DLLs that ship with Windows (the PE import table). The Vulkan loader (libvulkan.so.1,
// vulkan-1.dll) must not be among them: gpu/ opens it at run time, so a machine without
// Vulkan still runs `vilt help` and gets a clear error instead of a loader failure.
//
//	go run ./tools/checkdeps dist/vilt-linux-amd64 dist/vilt-windows-amd64.exe
package main

import (
	"debug/elf"
	"debug/pe"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: checkdeps BINARY...")
		os.Exit(2)
	}
	failed := false
	for _, p := range os.Args[1:] {
		libs, err := neededLibraries(p)
		if err == nil {
			err = checkAllowed(libs)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "checkdeps: %s: %v\n", p, err)
			failed = true
			continue
		}
		fmt.Printf("%s: %s\n", p, strings.Join(libs, " "))
	}
	if failed {
		os.Exit(1)
	}
}

// neededLibraries lists the shared libraries an ELF or PE binary asks the system loader for.
func neededLibraries(path string) ([]string, error) {
	if f, err := elf.Open(path); err == nil {
		defer f.Close()
		return f.ImportedLibraries()
	}
	f, err := pe.Open(path)
	if err != nil {
		return nil, errors.New("neither an ELF nor a PE binary")
	}
	defer f.Close()
	// debug/pe's ImportedLibraries is not implemented; the symbols carry their DLL.
	syms, err := f.ImportedSymbols()
	if err != nil {
		return nil, err
	}
	var dlls []string
	for _, s := range syms {
		if _, dll, ok := strings.Cut(s, ":"); ok && !slices.Contains(dlls, strings.ToLower(dll)) {
			dlls = append(dlls, strings.ToLower(dll))
		}
	}
	slices.Sort(dlls)
	return dlls, nil
}

// allowed are the libraries every target system has. Windows: DLLs of Windows itself
// (msvcrt.dll is the C runtime mingw-w64 links against; it ships with every Windows).
var allowed = map[string]bool{
	"libc.so.6": true, "libdl.so.2": true, "libpthread.so.0": true, "libm.so.6": true,
	"ld-linux-x86-64.so.2": true, "ld-linux-aarch64.so.1": true,
	"kernel32.dll": true, "msvcrt.dll": true, "ntdll.dll": true, "advapi32.dll": true,
	"ws2_32.dll": true, "winmm.dll": true, "user32.dll": true, "bcrypt.dll": true,
}

func checkAllowed(libs []string) error {
	var errs []error
	for _, l := range libs {
		if !allowed[strings.ToLower(l)] {
			errs = append(errs, fmt.Errorf("needs %s at run time (only the C library and system DLLs are allowed; Vulkan is loaded at run time)", l))
		}
	}
	return errors.Join(errs...)
}
