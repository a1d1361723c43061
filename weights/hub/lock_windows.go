package hub

import (
	"os"
	"path/filepath"

	"golang.org/x/sys/windows"
)

// lockFile takes the lock Python's filelock takes on Windows (WindowsFileLock: the .lock file
// opened with O_TRUNC, msvcrt.locking on its first byte), so Go and Python never download
// one blob at the same time. Unlike msvcrt's non-blocking lock it waits instead of polling.
// Release unlocks, closes and tries to delete the file, as filelock does.
func lockFile(p string) (func(), error) {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_RDWR|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	h := windows.Handle(f.Fd())
	if err := windows.LockFileEx(h, windows.LOCKFILE_EXCLUSIVE_LOCK, 0, 1, 0, new(windows.Overlapped)); err != nil {
		f.Close()
		return nil, &os.PathError{Op: "LockFileEx", Path: p, Err: err}
	}
	return func() {
		windows.UnlockFileEx(h, 0, 1, 0, new(windows.Overlapped))
		f.Close()
		os.Remove(p) // fails while another process holds it open; that one removes it
	}, nil
}
