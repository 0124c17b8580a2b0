//go:build integration

package integration

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestRootlessReadOnly: builder, root of the account's namespace, writes
// for the account only where the account itself may: a read-only file
// and a read-only directory of its own refuse save, export, -o, --iidfile
// and install-plugin --default as they refuse docker, and stay as they
// were.
func TestRootlessReadOnly(t *testing.T) {
	a := newAccount(t, "bldrl7")
	e := a.env(t)
	e.must("pull", "busybox")
	e.must("run", "--name", "ro", "busybox", "true")
	hello := a.own(t, helloContext(t))
	p := filepath.Join(a.home, "p")
	keep := filepath.Join(p, "keep.tar")
	cfgDir := filepath.Join(a.home, ".docker")
	cfg := filepath.Join(cfgDir, "config.json")
	for path, content := range map[string]string{keep: "keep\n", cfg: "{\"auths\": {}}\n", filepath.Join(a.home, "ro.tar"): "ro\n"} {
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, []byte(content), 0o444); err != nil {
			t.Fatal(err)
		}
		a.chown(t, path)
	}
	a.chown(t, cfgDir)
	a.chown(t, p)
	if err := os.Chmod(p, 0o555); err != nil {
		t.Fatal(err)
	}
	snapshot := func() string {
		out, _ := exec.Command("sh", "-c", "cd "+a.home+" && find p .docker ro.tar -printf '%p %m %s %u\\n' | sort && sha256sum p/keep.tar .docker/config.json ro.tar").CombinedOutput()
		return string(out)
	}
	before := snapshot()
	ro := filepath.Join(a.home, "ro.tar")
	for _, args := range [][]string{
		{"save", "-o", keep, "busybox"},
		{"save", "-o", ro, "busybox"},
		{"save", "-o", filepath.Join(p, "new.tar"), "busybox"},
		{"export", "-o", keep, "ro"},
		{"export", "-o", filepath.Join(p, "new.tar"), "ro"},
		{"build", "-q", "-o", "type=local,dest=" + filepath.Join(p, "out"), hello},
		{"build", "-q", "-o", "type=docker,dest=" + ro, hello},
		{"build", "-q", "-o", "type=tar,dest=" + filepath.Join(p, "x.tar"), hello},
		{"build", "-q", "--iidfile", ro, hello},
		{"build", "-q", "--metadata-file", filepath.Join(p, "md.json"), hello},
		{"install-plugin", "--default"},
	} {
		r := e.run(args...)
		if r.code == 0 || !strings.Contains(r.stderr, "permission denied") {
			t.Errorf("builder %s: want permission denied, as docker: %s", strings.Join(args, " "), r)
		}
	}
	if after := snapshot(); after != before {
		t.Errorf("the refused commands changed the account's files:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	// Where the account may write, the same commands do.
	if err := os.Chmod(p, 0o755); err != nil {
		t.Fatal(err)
	}
	e.must("save", "-o", filepath.Join(p, "new.tar"), "busybox")
	e.must("build", "-q", "-o", "type=local,dest="+filepath.Join(p, "out"), hello)
	if out, _ := exec.Command("ls", filepath.Join(p, "out")).Output(); !bytes.Contains(out, []byte("hello")) {
		t.Errorf("-o type=local into a writable directory wrote %q", out)
	}
}
