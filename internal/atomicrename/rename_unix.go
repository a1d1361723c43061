//go:build !windows

package atomicrename

import "os"

func rename(tmp, dst string) error { return os.Rename(tmp, dst) }
