//go:build integration

package integration

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestContextChangesInvalidate: the embedded solver answers "did the
// context change?" with a walk of its own when the context is unchanged
// since its copy was synced (solver/localsource), and skips BuildKit's
// sync. Each kind of change must still invalidate exactly the steps it
// invalidates for stock buildctl + buildkitd on the same context: the test
// makes each change, builds with both, and compares which steps ran; then
// builds with builder again, unchanged, and expects nothing to run.
func TestContextChangesInvalidate(t *testing.T) {
	bk := startBuildkitd(t)
	e := newEnv(t)
	// One stage per kind of change, so that a change reruns its stage only.
	stages := []string{"file", "mode", "dir", "link", "xattr"}
	var df strings.Builder
	for _, s := range stages {
		df.WriteString("FROM busybox AS " + s + "\nCOPY " + s + " /" + s + "\nRUN ls -lR /" + s + " > /" + s + ".ls\n")
	}
	df.WriteString("FROM busybox\n")
	for _, s := range stages {
		df.WriteString("COPY --from=" + s + " /" + s + ".ls /\n")
	}
	dir := writeContext(t, map[string]string{
		"Dockerfile":    df.String(),
		"file":          "one\n",
		"mode":          "#!/bin/sh\n",
		"dir/f":         "f\n",
		"dir/g":         "g\n",
		"link/t1":       "t1\n",
		"link/t2":       "t2\n",
		"xattr":         "x\n",
		".dockerignore": "Dockerfile\n",
	})
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Symlink("t1", filepath.Join(dir, "link", "to")))

	builder := func() []string {
		t.Helper()
		r := e.must("build", "--progress", "plain", "-t", "ctx", dir)
		return ranSteps(r.stderr)
	}
	buildctl := func() []string {
		t.Helper()
		out, err := exec.Command(filepath.Join(filepath.Dir(s.runc), "buildctl"), "--addr", bk.addr, "build",
			"--progress", "plain", "--frontend", "dockerfile.v0", "--local", "context="+dir, "--local", "dockerfile="+dir).CombinedOutput()
		if err != nil {
			t.Fatalf("buildctl: %v\n%s", err, tail(out))
		}
		return ranSteps(string(out))
	}
	builder()
	buildctl()

	changes := []struct {
		name   string
		change func()
		want   []string // the stages whose RUN must run again
	}{
		{"nothing", func() {}, nil},
		{"content rewritten", func() { must(os.WriteFile(filepath.Join(dir, "file"), []byte("two\n"), 0644)) }, []string{"file"}},
		{"touched, same content", func() {
			later := time.Now().Add(time.Hour)
			must(os.Chtimes(filepath.Join(dir, "file"), later, later))
		}, nil},
		{"mode changed", func() { must(os.Chmod(filepath.Join(dir, "mode"), 0755)) }, []string{"mode"}},
		{"new empty directory", func() { must(os.Mkdir(filepath.Join(dir, "dir", "empty"), 0755)) }, []string{"dir"}},
		{"file deleted", func() { must(os.Remove(filepath.Join(dir, "dir", "g"))) }, []string{"dir"}},
		{".dockerignore changed", func() {
			must(os.WriteFile(filepath.Join(dir, ".dockerignore"), []byte("Dockerfile\ndir/f\n"), 0644))
		}, []string{"dir"}},
		// The Dockerfile's and .dockerignore's own syncs (BuildKit's
		// DiffNone: every byte sent each time) are skipped alike when
		// unchanged; a rewrite that keeps size and mtime is still seen.
		{"Dockerfile rewritten, same size and mtime", func() {
			rewriteKeepingTimes(t, filepath.Join(dir, "Dockerfile"), func(s string) string {
				return strings.Replace(s, "RUN ls -lR /file ", "RUN ls -Rl /file ", 1)
			})
		}, []string{"file"}},
		{".dockerignore rewritten, same size and mtime", func() {
			rewriteKeepingTimes(t, filepath.Join(dir, ".dockerignore"), func(s string) string {
				return strings.Replace(s, "dir/f", "dir/*", 1) // dir as no build had it
			})
		}, []string{"dir"}},
		{"symlink retargeted", func() {
			must(os.Remove(filepath.Join(dir, "link", "to")))
			must(os.Symlink("t2", filepath.Join(dir, "link", "to")))
		}, []string{"link"}},
		// BuildKit's content checksums leave a file's xattrs out: the
		// COPY stays cached for both.
		{"xattr set", func() { must(unix.Setxattr(filepath.Join(dir, "xattr"), "user.builder", []byte("1"), 0)) }, nil},
	}
	for _, c := range changes {
		c.change()
		ours, theirs := builder(), buildctl()
		if !slices.Equal(ours, theirs) {
			t.Errorf("%s: builder ran %v, buildctl ran %v", c.name, ours, theirs)
		}
		if !slices.Equal(ours, c.want) {
			t.Errorf("%s: builder ran %v, want %v", c.name, ours, c.want)
		}
		if again := builder(); len(again) != 0 {
			t.Errorf("%s: the unchanged rebuild ran %v", c.name, again)
		}
	}
}

// rewriteKeepingTimes rewrites the file at path with edit and sets its
// times back: only its ctime says that it changed.
func rewriteKeepingTimes(t *testing.T, path string, edit func(string) string) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	dt, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	edited := edit(string(dt))
	if edited == string(dt) || len(edited) != len(dt) {
		t.Fatalf("%s: the edit must change the content and keep its size", path)
	}
	if err := os.WriteFile(path, []byte(edited), fi.Mode()); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
}

// ranSteps are the stages whose RUN step ran (was not CACHED) in a build's
// plain progress output, sorted.
func ranSteps(out string) []string {
	vertex := regexp.MustCompile(`(?m)^#(\d+) \[(\w+) \d+/\d+\] RUN `)
	var ran []string
	for _, m := range vertex.FindAllStringSubmatch(out, -1) {
		if !strings.Contains(out, "#"+m[1]+" CACHED") {
			ran = append(ran, m[2])
		}
	}
	slices.Sort(ran)
	return slices.Compact(ran)
}

// TestContextCopySharedAcrossProcesses: a build from a second builder
// process, attached to the solver another one owns, syncs its context
// BuildKit's way into the copy builds of another directory of the same
// base name use (buildx's shared key). The copy must stop vouching for
// the first directory: the next build of it, owning the solver again,
// must see its own files, not the second's.
func TestContextCopySharedAcrossProcesses(t *testing.T) {
	e := newEnv(t)
	app := func(content string) string {
		dir := filepath.Join(t.TempDir(), "app")
		os.MkdirAll(dir, 0755)
		os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM busybox\nCOPY f /f\nCMD [\"cat\", \"/f\"]\n"), 0644)
		os.WriteFile(filepath.Join(dir, "f"), []byte(content+"\n"), 0644)
		return dir
	}
	a, b := app("A"), app("B")
	e.must("build", "-t", "a", a)
	e.must("build", "-t", "a", a) // the copy of a now vouches for it

	// A build that holds the solver while b is built from another process.
	slow := writeContext(t, map[string]string{"Dockerfile": "FROM busybox\nRUN sleep 4\n"})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	owner := e.cmd(ctx, "build", "--no-cache", "--progress", "quiet", slow)
	var out bytes.Buffer
	owner.Stdout, owner.Stderr = &out, &out
	if err := owner.Start(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 200; i++ {
		if _, err := os.Stat(filepath.Join(e.root, "solver.sock")); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.must("build", "-t", "b", b)
	if err := owner.Wait(); err != nil {
		t.Fatalf("the build holding the solver: %v\n%s", err, out.String())
	}
	if !strings.Contains(e.must("run", "--rm", "b").stdout, "B") {
		t.Fatal("b: not built from its own directory")
	}
	e.must("build", "-t", "a", a)
	if got := e.must("run", "--rm", "a").stdout; got != "A\n" {
		t.Errorf("a rebuilt after b printed %q, want A", got)
	}
}

// TestContextOwnersAsBuildKit: the embedded solver copies a context of its
// own process in memory (solver/localsource, syncHere), and must send it
// as BuildKit's client sends it, owners reset to root. A file owned by
// another user then keys the COPY as it does for stock buildkitd, whose
// cache the build uses, and is copied owned by root.
func TestContextOwnersAsBuildKit(t *testing.T) {
	bk := startBuildkitd(t)
	dir := writeContext(t, map[string]string{"Dockerfile": "FROM scratch\nCOPY f /f\n", "f": "mine\n"})
	if err := os.Lchown(filepath.Join(dir, "f"), 1000, 1000); err != nil {
		t.Fatal(err)
	}
	cache := filepath.Join(t.TempDir(), "cache")
	newEnv(t).must("--addr", bk.addr, "build", "--cache-to", "type=local,dest="+cache+",mode=max", "-o", "type=tar,dest="+filepath.Join(t.TempDir(), "bk.tar"), dir)

	r := newEnv(t).must("build", "--progress", "rawjson", "--cache-from", "type=local,src="+cache, "-o", "type=tar,dest="+filepath.Join(t.TempDir(), "cached.tar"), dir)
	copied, cached := false, false
	for _, v := range vertexes(r.stderr) { // a vertex's updates, each on its own
		if strings.Contains(v.Name, "COPY f /f") {
			copied, cached = true, cached || v.Cached
		}
	}
	if !copied {
		t.Fatalf("no COPY step in the progress:\n%s", r.stderr)
	}
	if !cached {
		t.Errorf("COPY of a file owned by 1000 was not cached from buildkitd's cache: the context was keyed otherwise")
	}

	out := filepath.Join(t.TempDir(), "cold.tar")
	newEnv(t).must("build", "-o", "type=tar,dest="+out, dir)
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("no f in %s: %v", out, err)
		}
		if strings.TrimPrefix(h.Name, "/") == "f" {
			if h.Uid != 0 || h.Gid != 0 {
				t.Errorf("COPY f /f: owner %d:%d, want 0:0 as BuildKit's client sends it", h.Uid, h.Gid)
			}
			return
		}
	}
}
