//go:build integration

package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// killHolder ends the account's namespace holder, so that the next command
// starts one (through rootless.Exec) instead of joining it in join.c.
func (a *account) killHolder(t *testing.T) {
	t.Helper()
	exec.Command("pkill", "-KILL", "-u", a.name, "-f", "__rootless-namespace").Run()
}

// TestRootlessRelativePaths: an account's relative paths are its working
// directory's, through every verb that takes one, both for the command
// that starts the namespace's holder and for those that join it: joining
// a mount namespace moves a process to its root (setns(2)), which made
// `builder build .` read /Dockerfile.
func TestRootlessRelativePaths(t *testing.T) {
	a := newAccount(t, "bldrl8")
	e := a.env(t)
	work := filepath.Join(a.home, "t1")
	files := map[string]string{
		"c/Dockerfile":     "FROM busybox\nCOPY f /f\nRUN --mount=type=secret,id=tok cat /run/secrets/tok > /tok\nCOPY --from=extra x /x\n",
		"c/f":              "from the context\n",
		"tok":              "s3cr3t\n",
		"extra/x":          "from a named context\n",
		"vol/v":            "from a volume\n",
		"envs":             "FROM_FILE=yes\n",
		"plain/Dockerfile": "FROM busybox\nCOPY f /f\n",
		"plain/f":          "plain\n",
	}
	for name, content := range files {
		p := filepath.Join(work, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	a.chown(t, work)
	in := func(dir string, args ...string) result {
		t.Helper()
		r := e.runInDir(filepath.Join(work, dir), args...)
		if r.code != 0 {
			t.Fatalf("in ~/t1/%s: %s", dir, r)
		}
		return r
	}
	e.must("pull", "busybox")

	// The first command starts the holder; the next ones join it.
	for _, first := range []bool{true, false} {
		if first {
			a.killHolder(t)
		}
		in("c", "build", "-q", "-t", "app-cwd", "--secret", "id=tok,src=../tok", "--build-context", "extra=../extra", ".")
		if first {
			a.killHolder(t)
		}
		in("plain", "build", "-q", "-t", "plain", "-f", "Dockerfile", ".")
		if first {
			a.killHolder(t)
		}
		in("", "build", "-q", "-t", "app", "--secret", "id=tok,src=tok", "--build-context", "extra=./extra",
			"--iidfile", "iid", "--metadata-file", "md.json", "-f", "c/Dockerfile", "c")
		if got := in("", "run", "--rm", "app", "cat", "/f", "/tok", "/x").stdout; got != "from the context\ns3cr3t\nfrom a named context\n" {
			t.Errorf("the image built from relative paths holds %q", got)
		}
	}
	iid, err := os.ReadFile(filepath.Join(work, "iid"))
	if err != nil || !strings.HasPrefix(string(iid), "sha256:") {
		t.Errorf("--iidfile iid: %q %v", iid, err)
	}
	if _, err := os.Stat(filepath.Join(work, "md.json")); err != nil {
		t.Errorf("--metadata-file md.json: %v", err)
	}
	a.killHolder(t)
	in("", "build", "-q", "-o", "type=local,dest=out", "plain")
	if dt, _ := os.ReadFile(filepath.Join(work, "out", "f")); string(dt) != "plain\n" {
		t.Errorf("-o type=local,dest=out wrote %q", dt)
	}
	in("", "build", "-q", "-o", "type=tar,dest=rootfs.tar", "plain")
	in("", "build", "-q", "--cache-to", "type=local,dest=cache", "-t", "cached", "plain")
	in("", "build", "-q", "--cache-from", "type=local,src=cache", "-t", "cached", "plain")
	if _, err := os.Stat(filepath.Join(work, "cache", "index.json")); err != nil {
		t.Errorf("--cache-to type=local,dest=cache: %v", err)
	}

	a.killHolder(t)
	in("", "save", "-o", "app.tar", "app")
	in("", "rmi", "app")
	in("", "load", "-i", "app.tar")
	a.killHolder(t)
	in("", "import", "rootfs.tar", "imp:1")
	if got := in("", "run", "--rm", "imp:1", "cat", "/f").stdout; got != "plain\n" {
		t.Errorf("import rootfs.tar: /f holds %q", got)
	}
	a.killHolder(t)
	if got := in("", "run", "--rm", "--env-file", "envs", "-v", "./vol:/d", "busybox", "sh", "-c", "cat /d/v; echo $FROM_FILE").stdout; got != "from a volume\nyes\n" {
		t.Errorf("run -v ./vol:/d --env-file envs: %q", got)
	}
	in("", "run", "--name", "exp", "busybox", "true")
	a.killHolder(t)
	in("", "export", "-o", "exp.tar", "exp")
	if fi, err := os.Stat(filepath.Join(work, "exp.tar")); err != nil || fi.Size() == 0 {
		t.Errorf("export -o exp.tar: %v", err)
	}
	// Nothing went to /.
	for _, n := range []string{"/iid", "/md.json", "/out", "/rootfs.tar", "/app.tar", "/exp.tar", "/cache"} {
		if _, err := os.Lstat(n); err == nil {
			t.Errorf("%s was written at the namespace's root", n)
		}
	}
}
