// Package userperm checks a path the user names, to write or read, against
// the user's own permissions. Without root, builder runs as root of the
// account's user namespace, whose capabilities override the permissions of
// every file the account owns: `save -o` would replace a file the account
// made read-only, and `-o type=local` would write into a read-only
// directory, where docker (running the CLI as the account) fails with
// "permission denied". The checks ask the kernel (faccessat2 with
// AT_EACCESS) on a thread whose effective capabilities are dropped for the
// call, so the answer is the one the account itself would get, ACLs
// included. As host root nothing is checked: root's override is docker's
// too.
package userperm

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"

	"github.com/moby/sys/userns"
	"golang.org/x/sys/unix"
)

// overriding are the capabilities that bypass file permission checks.
const overriding = 1<<unix.CAP_DAC_OVERRIDE | 1<<unix.CAP_DAC_READ_SEARCH | 1<<unix.CAP_FOWNER

// applies reports whether this process's root is an account's, in its
// user namespace.
func applies() bool {
	return os.Geteuid() == 0 && userns.RunningInUserNS()
}

// WriteFile checks that the account may write path as builder writes a
// destination file: replace it if it exists (docker opens it with
// O_TRUNC, so the file must be writable), or create it in its directory.
func WriteFile(path string) error {
	if !applies() {
		return nil
	}
	fi, err := os.Stat(path)
	if err == nil && fi.Mode().IsRegular() {
		if err := access(path, unix.W_OK); err != nil {
			return fmt.Errorf("open %s: %w", path, err)
		}
	}
	dir := filepath.Dir(path)
	if err := access(dir, unix.W_OK|unix.X_OK); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("open %s: %w", path, err)
	}
	return nil
}

// WriteDir checks that the account may write into dir, or create it: the
// nearest directory of it that exists must be writable.
func WriteDir(dir string) error {
	if !applies() {
		return nil
	}
	for p := filepath.Clean(dir); ; p = filepath.Dir(p) {
		if _, err := os.Stat(p); err == nil {
			if err := access(p, unix.W_OK|unix.X_OK); err != nil {
				return fmt.Errorf("write to %s: %w", dir, err)
			}
			return nil
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}

// ReadFile checks that the account may read path.
func ReadFile(path string) error {
	if !applies() {
		return nil
	}
	if err := access(path, unix.R_OK); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("open %s: %w", path, err)
	}
	return nil
}

// access is faccessat2(path, mode, AT_EACCESS) without the overriding
// capabilities, on a thread of its own for the call.
func access(path string, mode uint32) error {
	runtime.LockOSThread()
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("read capabilities: %w", err)
	}
	saved := data
	data[0].Effective &^= overriding
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("drop capabilities: %w", err)
	}
	err := unix.Faccessat(unix.AT_FDCWD, path, mode, unix.AT_EACCESS)
	if rerr := unix.Capset(&hdr, &saved[0]); rerr != nil {
		// The thread keeps fewer capabilities than the rest: it dies with
		// this goroutine instead of going back to the runtime's pool.
		return errors.Join(err, fmt.Errorf("restore capabilities: %w", rerr))
	}
	runtime.UnlockOSThread()
	return err
}
