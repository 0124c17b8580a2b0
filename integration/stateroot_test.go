//go:build integration

package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestStateRootOthersWritable: a state root that another account may
// write to is refused, naming it, before anything in it is used: an
// account's links named solver.pid, solver.lock and gc.stamp pointing at
// a file of root's made root's build truncate that file and write a PID
// into it. And a link planted in a root that is root's own is not
// followed either.
func TestStateRootOthersWritable(t *testing.T) {
	a := newAccount(t, "bldroot")
	hello := helloContext(t)
	victim := filepath.Join(t.TempDir(), "precious")
	if err := os.WriteFile(victim, []byte("precious\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	intact := func(when string) {
		t.Helper()
		if dt, err := os.ReadFile(victim); err != nil || string(dt) != "precious\n" {
			t.Fatalf("%s: root's file was written through the planted links: %q %v", when, dt, err)
		}
	}
	for _, mode := range []string{"0777", "1777", "0757", "0775"} {
		dir, err := os.MkdirTemp("", "builder-ww-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		if out, err := exec.Command("chmod", mode, dir).CombinedOutput(); err != nil {
			t.Fatalf("chmod: %v\n%s", err, out)
		}
		before, _ := os.Stat(dir)
		// The account plants its links where others may write.
		if mode[3] == '7' {
			for _, n := range []string{"solver.pid", "solver.lock", "gc.stamp"} {
				ln := a.login(exec.Command("ln", "-s", victim, filepath.Join(dir, n)))
				if out, err := ln.CombinedOutput(); err != nil {
					t.Fatalf("the account could not plant %s: %v\n%s", n, err, out)
				}
			}
		}
		e := &env{t: t, root: dir}
		os.WriteFile(filepath.Join(dir, "config.toml"), []byte(mirrorConfig(s.registry)), 0o644)
		for _, args := range [][]string{{"build", "-q", hello}, {"images"}, {"serve", "--addr", "unix://" + filepath.Join(dir, "s.sock")}} {
			r := e.run(args...)
			if r.code == 0 || !strings.Contains(r.stderr, "state root "+dir+" is writable by other accounts") ||
				strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
				t.Errorf("root mode %s, builder %s: want one error naming the root: %s", mode, args[0], r)
			}
		}
		intact("a root writable by others")
		if after, _ := os.Stat(dir); after.Mode() != before.Mode() {
			t.Errorf("the refused command changed the root's mode from %v to %v", before.Mode(), after.Mode())
		}
	}

	// A root of root's own, 0700, in which a link was planted all the same
	// (a root that was open once, then closed): the files are not opened
	// through it.
	e := newEnv(t)
	for _, n := range []string{"solver.pid", "solver.lock", "gc.stamp"} {
		if err := os.Symlink(victim, filepath.Join(e.root, n)); err != nil {
			t.Fatal(err)
		}
	}
	r := e.run("build", "-q", hello)
	intact("links in a closed root")
	if r.code == 0 {
		t.Errorf("a build through a linked solver.lock succeeded: %s", r)
	}
}
