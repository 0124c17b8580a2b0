// Package rootfile opens the small files builder keeps under a state root
// (locks, the solver's pid, stamps) without following a symbolic link in
// their last element: whoever could plant one there would otherwise have
// the owner of the root truncate or write the file it points to. The
// root itself is refused when others may write to it (rootless.CheckOwner),
// so this is the second wall, not the only one.
package rootfile

import (
	"fmt"
	"os"
	"time"

	"github.com/gofrs/flock"
	"golang.org/x/sys/unix"
)

// Lock is a file lock at path, created 0600 if missing, never through a
// link.
func Lock(path string) *flock.Flock {
	return flock.New(path, flock.SetFlag(os.O_CREATE|os.O_RDONLY|unix.O_NOFOLLOW))
}

// WriteFile replaces the content of the file at path (created with perm),
// refusing a link.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|unix.O_NOFOLLOW, perm)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	return closeWith(f, err)
}

// Touch sets the modification time of the file at path to now, creating
// it empty if missing, refusing a link.
func Touch(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|unix.O_NOFOLLOW, 0600)
	if err != nil {
		return err
	}
	now := time.Now()
	err = unix.Futimes(int(f.Fd()), []unix.Timeval{unix.NsecToTimeval(now.UnixNano()), unix.NsecToTimeval(now.UnixNano())})
	if err != nil {
		err = fmt.Errorf("touch %s: %w", path, err)
	}
	return closeWith(f, err)
}

func closeWith(f *os.File, err error) error {
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
