// Package runtime owns how builder runs runc: which binary (Find), and
// every call to it for builder's own containers (Runtime), the one place
// that knows runc's --root.
package runtime

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/builder-dev/builder/internal/atomicfile"
	"github.com/builder-dev/builder/internal/machine"
)

// MinRunc is the oldest runc without known container escapes reachable from
// an ordinary Dockerfile: CVE-2025-31133, CVE-2025-52565, CVE-2025-52881 and
// CVE-2026-41579 are fixed from here on.
var MinRunc = [3]int{1, 4, 3}

// Find returns the runc to run containers with: $BUILDER_RUNC, else a
// runc beside the builder binary (where `make` puts the pinned build), else
// the first on PATH. A runc older than MinRunc gets a warning on warn.
func Find(warn func(string)) (string, error) {
	path, err := lookupRunc()
	if err != nil {
		return "", err
	}
	out, err := runcVersion(path)
	if err != nil {
		return "", err
	}
	if v, ok := parseRuncVersion(out); ok && less(v, MinRunc) {
		warn(fmt.Sprintf("%s is runc %d.%d.%d, older than %d.%d.%d: it lacks the fixes for container escapes "+
			"CVE-2025-31133, CVE-2025-52565, CVE-2025-52881 and CVE-2026-41579. Build a current one with `make runc`.",
			path, v[0], v[1], v[2], MinRunc[0], MinRunc[1], MinRunc[2]))
	}
	return path, nil
}

// runcVersion runs `runc --version`, remembering the answer per binary
// (path, size, mtime) in the per-machine cache, so that each builder
// invocation does not exec runc just to read its version again.
func runcVersion(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("runc %s: %w", path, err)
	}
	key := fmt.Sprintf("%s|%d|%d", path, fi.Size(), fi.ModTime().UnixNano())
	var file string
	if dir := machine.CacheDir(); dir != "" {
		file = filepath.Join(dir, "runc-version")
		if dt, err := os.ReadFile(file); err == nil {
			if k, v, ok := strings.Cut(string(dt), "\n"); ok && k == key {
				return v, nil
			}
		}
	}
	out, err := exec.Command(path, "--version").Output()
	if err != nil {
		return "", fmt.Errorf("run %s --version: %w", path, err)
	}
	if file != "" {
		os.MkdirAll(filepath.Dir(file), 0700)
		// A cache: a failure to write it only costs the next process a runc --version.
		_ = atomicfile.WriteFile(file, []byte(key+"\n"+string(out)), 0600)
	}
	return string(out), nil
}

func lookupRunc() (string, error) {
	if p := os.Getenv("BUILDER_RUNC"); p != "" {
		return p, nil
	}
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), "runc")
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p, nil
		}
	}
	if p, err := exec.LookPath("runc"); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("runc not found: builder runs build steps and containers with runc. " +
		"Run `make runc` in the builder source tree (it builds a pinned current runc next to the builder binary), " +
		"or set BUILDER_RUNC to a runc >= 1.4.3")
}

// parseRuncVersion reads the first line of `runc --version`, "runc version 1.5.2".
func parseRuncVersion(out string) ([3]int, bool) {
	var v [3]int
	line, _, _ := strings.Cut(out, "\n")
	f := strings.Fields(line)
	if len(f) < 3 {
		return v, false
	}
	num, _, _ := strings.Cut(strings.TrimPrefix(f[2], "v"), "+")
	num, _, _ = strings.Cut(num, "-")
	parts := strings.Split(num, ".")
	if len(parts) != 3 {
		return v, false
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil {
			return v, false
		}
		v[i] = n
	}
	return v, true
}

func less(a, b [3]int) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}
