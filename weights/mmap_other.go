//go:build !unix && !windows

package weights

import (
	"io"
	"os"
)

// mapFile reads the whole file where memory mapping is not available.
func mapFile(f *os.File) ([]byte, error) { return io.ReadAll(f) }

func unmap([]byte) error { return nil }
