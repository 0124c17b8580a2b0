//go:build integration

package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFailedOutputsLeaveDestination: every file builder writes for a user
// is written beside it and renamed only on success (issue 8, case 2), so a
// failed command leaves the user's file byte for byte as it was and no
// temporary file behind.
func TestFailedOutputsLeaveDestination(t *testing.T) {
	e := newEnv(t)
	e.must("pull", "-q", "busybox")
	e.must("run", "--name", "exp", "busybox", "true")
	failing := writeContext(t, map[string]string{"Dockerfile": "FROM busybox\nRUN echo partial && false\n"})
	cases := []struct {
		name string
		args func(dest string) []string
	}{
		{"export -o, no such container", func(d string) []string { return []string{"export", "-o", d, "nosuch"} }},
		{"save -o, no such image", func(d string) []string { return []string{"save", "-o", d, "nosuch"} }},
		{"save -o, one of two images unknown", func(d string) []string { return []string{"save", "-o", d, "busybox", "nosuch"} }},
		{"build -o type=tar, failing RUN", func(d string) []string { return []string{"build", "-o", "type=tar,dest=" + d, failing} }},
		{"build -o type=docker, failing RUN", func(d string) []string { return []string{"build", "-o", "type=docker,dest=" + d, failing} }},
		{"build -o type=oci, failing RUN", func(d string) []string { return []string{"build", "-o", "type=oci,dest=" + d, failing} }},
		{"build --iidfile, failing RUN", func(d string) []string { return []string{"build", "--iidfile", d, failing} }},
		{"build --metadata-file, failing RUN", func(d string) []string { return []string{"build", "--metadata-file", d, failing} }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			dest := filepath.Join(dir, "out")
			if err := os.WriteFile(dest, []byte("precious\n"), 0640); err != nil {
				t.Fatal(err)
			}
			before := e.storeState()
			r := e.run(c.args(dest)...)
			if r.code == 0 {
				t.Fatalf("succeeded: %s", r)
			}
			if strings.TrimSpace(r.stderr) == "" {
				t.Errorf("no error message: %s", r)
			}
			dt, err := os.ReadFile(dest)
			if err != nil || string(dt) != "precious\n" {
				t.Errorf("destination now %q (%v), want it as it was", dt, err)
			}
			if fi, err := os.Stat(dest); err == nil && fi.Mode().Perm() != 0640 {
				t.Errorf("destination mode now %v, want 0640", fi.Mode().Perm())
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 1 {
				var names []string
				for _, en := range ents {
					names = append(names, en.Name())
				}
				t.Errorf("files beside the destination after the failure: %v", names)
			}
			if after := e.storeState(); after != before {
				t.Errorf("the store's index changed")
			}
		})
	}
	// And the same commands, succeeding, replace the file.
	dest := filepath.Join(t.TempDir(), "out.tar")
	os.WriteFile(dest, []byte("old"), 0644)
	e.must("export", "-o", dest, "exp")
	if fi, err := os.Stat(dest); err != nil || fi.Size() < 1024 {
		t.Errorf("export -o over an existing file: %v %v", fi, err)
	}
}
