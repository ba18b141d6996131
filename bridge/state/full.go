package state

import (
	"errors"
	"syscall"
)

// diskFull reports whether err says the file system has no room for a
// write: ENOSPC, or EDQUOT when the data directory is under a quota.
func diskFull(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}
