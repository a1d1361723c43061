package atomicrename

import (
	"errors"
	"os"
	"time"

	"golang.org/x/sys/windows"
)

// rename is MoveFileEx(MOVEFILE_REPLACE_EXISTING) (os.Rename), retried while dst is held
// open without FILE_SHARE_DELETE, which Windows reports as access denied or a sharing
// violation.
func rename(tmp, dst string) error {
	deadline := time.Now().Add(2 * time.Second)
	wait := time.Millisecond
	for {
		err := os.Rename(tmp, dst)
		if err == nil || !transient(err) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(wait)
		wait = min(2*wait, 100*time.Millisecond)
	}
}

func transient(err error) bool {
	return errors.Is(err, windows.ERROR_ACCESS_DENIED) || errors.Is(err, windows.ERROR_SHARING_VIOLATION)
}
