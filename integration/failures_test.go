//go:build integration

package integration

import (
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// state is what a failed command must leave as it was: the store's index,
// the images listed, the containers, and the scratch directories.
func (e *env) state() string {
	e.t.Helper()
	return e.storeState() + "\n" + e.must("images", "--no-trunc", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}").stdout +
		e.must("ps", "-a", "--no-trunc", "--format", "{{.ID}} {{.Names}} {{.State}}").stdout
}

// TestEveryVerbFails: at least one failing invocation of every verb leaves
// the store, the containers and the destination as they were, exits
// non-zero, and says what failed on its last line (issue 8's failure
// table).
func TestEveryVerbFails(t *testing.T) {
	e := newEnv(t)
	e.must("pull", "-q", "busybox")
	e.must("run", "--name", "stopped", "busybox", "true")
	e.must("run", "-d", "--name", "up", "busybox", "sleep", "600")
	defer e.run("rm", "-f", "up")
	failing := writeContext(t, map[string]string{"Dockerfile": "FROM busybox\nRUN exit 7\n"})
	dest := filepath.Join(t.TempDir(), "dest")
	roDir := filepath.Join(t.TempDir(), "ro")
	os.MkdirAll(roDir, 0755)
	exec.Command("mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", roDir).Run()
	defer exec.Command("umount", roDir).Run()
	scratchBefore, _ := os.ReadDir(filepath.Join(e.root, "tmp")) // the detached container's monitor
	for _, c := range []struct {
		args []string
		want string
		// docker creates the container before it finds that its command
		// cannot run, and keeps it (exit 127).
		createsContainer bool
	}{
		{[]string{"build", "-t", "x", failing}, "exit code: 7", false},
		{[]string{"build", "--platform", "linux/amd64/v3/x", "-t", "x", failing}, "linux/amd64/v3/x", false},
		// An output refused once the flags are parsed, before the solver.
		{[]string{"build", "-o", "type=tar,dest=" + roDir, failing}, roDir, false},
		{[]string{"pull", "nosuch/image:1"}, "nosuch/image", false},
		{[]string{"pull", "Bad:Ref:x"}, "Bad:Ref:x", false},
		{[]string{"push", "nosuch"}, "nosuch", false},
		{[]string{"load", "-i", "/nonexistent.tar"}, "/nonexistent.tar", false},
		{[]string{"import", "/nonexistent.tar", "imp"}, "/nonexistent.tar", false},
		{[]string{"save", "-o", dest, "nosuch"}, "nosuch", false},
		{[]string{"save", "-o", filepath.Join(roDir, "out.tar"), "busybox"}, filepath.Join(roDir, "out.tar"), false},
		{[]string{"tag", "nosuch", "x"}, "nosuch", false},
		{[]string{"tag", "busybox", "Bad:Tag:x"}, "Bad:Tag:x", false},
		{[]string{"rmi", "nosuch"}, "No such image: nosuch", false},
		{[]string{"rmi", "busybox"}, "must force", false},
		{[]string{"inspect", "nosuch"}, "nosuch", false},
		{[]string{"history", "nosuch"}, "nosuch", false},
		{[]string{"images", "--filter", "bogus=1"}, "bogus", false},
		{[]string{"image", "prune", "-f", "--filter", "bogus=1"}, "bogus", false},
		{[]string{"run", "nosuch"}, "nosuch", false},
		{[]string{"run", "--name", "stopped", "busybox", "true"}, "already in use", false},
		{[]string{"run", "busybox", "/no/such/command"}, "/no/such/command", true},
		{[]string{"run", "--network", "bridge9", "busybox", "true"}, "bridge9", false},
		{[]string{"start", "nosuch"}, "nosuch", false},
		{[]string{"stop", "nosuch"}, "nosuch", false},
		{[]string{"kill", "stopped"}, "stopped", false},
		{[]string{"rm", "up"}, "container is running", false},
		{[]string{"rm", "nosuch"}, "nosuch", false},
		{[]string{"exec", "stopped", "true"}, "is not running", false},
		{[]string{"exec", "up", "/no/such/command"}, "/no/such/command", false},
		{[]string{"commit", "nosuch", "x"}, "nosuch", false},
		{[]string{"commit", "stopped", "Bad:Tag:x"}, "Bad:Tag:x", false},
		{[]string{"diff", "nosuch"}, "nosuch", false},
		{[]string{"export", "-o", dest, "nosuch"}, "nosuch", false},
		{[]string{"logs", "nosuch"}, "nosuch", false},
		{[]string{"pause", "stopped"}, "not running", false},
		{[]string{"unpause", "up"}, "not paused", false},
		{[]string{"ps", "--filter", "bogus=1"}, "bogus", false},
		{[]string{"login", "-u", "u", "-p", "p", "127.0.0.1:1"}, "127.0.0.1:1", false},
		{[]string{"builder", "prune", "-f", "--filter", "bogus=1"}, "bogus", false},
	} {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			os.WriteFile(dest, []byte("precious\n"), 0644)
			before := e.state()
			r := e.run(c.args...)
			if r.code == 0 {
				t.Fatalf("succeeded: %s", r)
			}
			lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
			if last := lines[len(lines)-1]; !strings.Contains(last, c.want) {
				t.Errorf("the last line of stderr does not name %q: %s", c.want, r)
			}
			if after := e.state(); after != before && !c.createsContainer {
				t.Errorf("state changed:\nbefore:\n%s\nafter:\n%s", before, after)
			}
			if dt, _ := os.ReadFile(dest); string(dt) != "precious\n" {
				t.Errorf("the destination file changed: %q", dt)
			}
			if ents, _ := os.ReadDir(filepath.Dir(dest)); len(ents) != 1 {
				t.Errorf("%d files beside the destination", len(ents))
			}
			if ents, _ := os.ReadDir(filepath.Join(e.root, "tmp")); len(ents) != len(scratchBefore) {
				t.Errorf("%d scratch directories left, %d before", len(ents), len(scratchBefore))
			}
		})
	}
}

// TestFullDisk: on a root whose filesystem is full, pull, load, import,
// build and commit fail with ENOSPC's message, leave the store as it was
// and keep nothing half-written; once space is back, everything works.
func TestFullDisk(t *testing.T) {
	parent := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", parent).CombinedOutput(); err != nil {
		t.Skipf("SKIP: cannot mount a tmpfs: %v %s", err, out)
	}
	defer exec.Command("umount", "-l", parent).Run()
	e := &env{t: t, root: filepath.Join(parent, "root")}
	os.MkdirAll(e.root, 0700)
	os.WriteFile(filepath.Join(e.root, "config.toml"), []byte(mirrorConfig(s.registry)), 0644)
	e.must("pull", "-q", "busybox")
	e.must("run", "--name", "c", "busybox", "true")
	// Images this root does not have: 8 MB of random data each.
	other := newEnv(t)
	random := writeContext(t, map[string]string{"Dockerfile": "FROM busybox\nARG N\nRUN head -c 8388608 /dev/urandom > /r\n"})
	other.must("build", "--build-arg", "N=1", "-t", "elsewhere", random)
	archive := filepath.Join(t.TempDir(), "a.tar")
	other.must("save", "-o", archive, "elsewhere")
	remote := s.registry + "/full/random:1"
	other.must("build", "--build-arg", "N=2", "-t", remote, random)
	other.must("push", "-q", remote)
	noise := make([]byte, 8<<20)
	rand.Read(noise)
	big := filepath.Join(t.TempDir(), "big.tar")
	os.WriteFile(big, writeTar([]entry{{name: "big", data: noise}}), 0644)
	bigBuild := writeContext(t, map[string]string{"Dockerfile": "FROM busybox\nRUN dd if=/dev/zero of=/f bs=1M count=64\n"})

	// Fill the disk, leaving a little room for the index and state files.
	filler := filepath.Join(parent, "filler")
	exec.Command("dd", "if=/dev/zero", "of="+filler, "bs=1M", "count=64").Run()
	os.Truncate(filler, 0)
	var st unixStatfs
	statfs(parent, &st)
	free := int64(st.Bavail) * int64(st.Bsize)
	os.Truncate(filler, 0)
	f, _ := os.OpenFile(filler, os.O_WRONLY, 0644)
	f.Write(make([]byte, free-(256<<10)))
	f.Close()

	for _, args := range [][]string{
		{"pull", remote},
		{"load", "-i", archive},
		{"import", big, "big"},
		{"build", "-t", "bigbuild", bigBuild},
		{"run", "busybox", "dd", "if=/dev/zero", "of=/f", "bs=1M", "count=8"},
	} {
		before := e.storeState()
		r := e.run(args...)
		if r.code == 0 {
			t.Errorf("%v succeeded on a full disk", args)
			continue
		}
		if !strings.Contains(r.stderr, "no space left on device") && !strings.Contains(r.stderr, "exit code") && args[0] != "run" {
			t.Errorf("%v on a full disk does not say so: %s", args, r)
		}
		if e.storeState() != before {
			t.Errorf("%v on a full disk changed the store's index", args)
		}
		if ents, _ := os.ReadDir(filepath.Join(e.root, "images", "ingest")); len(ents) != 0 {
			t.Errorf("%v on a full disk left %d ingests", args, len(ents))
		}
	}
	os.Remove(filler)
	e.must("run", "--rm", "busybox", "true")
	e.must("tag", "busybox", "after")
	e.must("load", "-i", archive)
	e.must("pull", "-q", remote)
	e.must("import", big, "big")
	e.must("build", "-q", writeContext(t, map[string]string{"Dockerfile": "FROM busybox\nRUN echo ok\n"}))
	e.must("start", "-a", "c")
}
