//go:build !unix && !windows

package hub

// lockFile is a no-op where flock is not available.
func lockFile(string) (func(), error) { return func() {}, nil }
