//go:build integration

package integration

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"net"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// tarOf is a tar archive of files (gzip-compressed when gz is set).
func tarOf(t *testing.T, files map[string]string, gz bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	var w *tar.Writer
	var zw *gzip.Writer
	if gz {
		zw = gzip.NewWriter(&buf)
		w = tar.NewWriter(zw)
	} else {
		w = tar.NewWriter(&buf)
	}
	for name, content := range files {
		w.WriteHeader(&tar.Header{Name: name, Mode: 0644, Size: int64(len(content)), Typeflag: tar.TypeReg, ModTime: time.Unix(1700000000, 0)})
		w.Write([]byte(content))
	}
	w.Close()
	if zw != nil {
		zw.Close()
	}
	return buf.Bytes()
}

// readOut reads a file a type=local output wrote.
func readOut(t *testing.T, dir, name string) string {
	t.Helper()
	dt, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatalf("output: %v", err)
	}
	return string(dt)
}

// TestStdinContext: `build -` takes a tar archive, plain or gzip, as the
// whole context, and a Dockerfile alone as a build with an empty context,
// as docker does.
func TestStdinContext(t *testing.T) {
	e := newEnv(t)
	files := map[string]string{"Dockerfile": "FROM scratch\nCOPY f /f\n", "f": "from the archive\n"}
	for _, gz := range []bool{false, true} {
		out := t.TempDir()
		e.t.Helper()
		r := e.runIn(tarOf(t, files, gz), "build", "-o", "type=local,dest="+out, "-")
		if r.code != 0 {
			t.Fatalf("gzip=%v: %s", gz, r)
		}
		if got := readOut(t, out, "f"); got != files["f"] {
			t.Errorf("gzip=%v: /f = %q", gz, got)
		}
	}
	// -f names a Dockerfile inside the archive.
	out := t.TempDir()
	e.mustIn(tarOf(t, map[string]string{"sub/Build.df": "FROM scratch\nCOPY f /g\n", "f": "x\n"}, true), "build", "-f", "sub/Build.df", "-o", "type=local,dest="+out, "-")
	if got := readOut(t, out, "g"); got != "x\n" {
		t.Errorf("-f sub/Build.df: /g = %q", got)
	}
	// A Dockerfile on stdin: an empty context, so COPY finds nothing.
	e.mustIn([]byte("FROM scratch\nENV FROM_STDIN=1\n"), "build", "-t", "stdin-df", "-")
	if r := e.must("inspect", "--format", "{{.Config.Env}}", "stdin-df"); !strings.Contains(r.stdout, "FROM_STDIN=1") {
		t.Errorf("Dockerfile from stdin not built: %s", r.stdout)
	}
	if r := e.runIn([]byte("FROM scratch\nCOPY f /f\n"), "build", "-"); r.code == 0 {
		t.Errorf("COPY in a Dockerfile-only context succeeded: %s", r)
	}
	before := e.storeState()
	for _, c := range []struct {
		stdin []byte
		args  []string
		want  string
	}{
		{[]byte("FROM scratch\n"), []string{"-f", "-", "-"}, "can't use stdin for both build context and dockerfile"},
		{nil, []string{"-"}, "nothing on stdin"},
	} {
		stdin := c.stdin
		if stdin == nil {
			stdin = []byte{}
		}
		r := e.runIn(stdin, append([]string{"build", "-t", "bad"}, c.args...)...)
		if r.code == 0 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%v: want %q; got %s", c.args, c.want, r)
		}
	}
	if e.storeState() != before {
		t.Errorf("failed builds changed the store")
	}
}

// gitDaemon serves the repositories under a directory over git:// on
// 127.0.0.1 and returns its base URL.
func gitDaemon(t *testing.T, base string) string {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("SKIP: git is not installed")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command("git", "daemon", "--reuseaddr", "--export-all", "--base-path="+base, "--listen=127.0.0.1", fmt.Sprintf("--port=%d", port), base)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for i := 0; i < 100; i++ {
		if c, err := net.Dial("tcp", l.Addr().String()); err == nil {
			c.Close()
			return fmt.Sprintf("git://127.0.0.1:%d", port)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("git daemon did not start")
	return ""
}

// gitRepo makes a repository under base/name with files committed on main
// and tagged v1, then a second commit on main.
func gitRepo(t *testing.T, base, name string, v1, head map[string]string) {
	t.Helper()
	dir := filepath.Join(base, name)
	git := func(args ...string) {
		cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	os.MkdirAll(dir, 0755)
	git("init", "-q", "-b", "main")
	for i, files := range []map[string]string{v1, head} {
		for n, c := range files {
			os.MkdirAll(filepath.Dir(filepath.Join(dir, n)), 0755)
			os.WriteFile(filepath.Join(dir, n), []byte(c), 0644)
		}
		git("add", "-A")
		git("commit", "-q", "--allow-empty", "-m", fmt.Sprint(i))
		if i == 0 {
			git("tag", "v1")
		}
	}
}

// TestGitContext: a git URL is the context, at a ref and in a subdirectory
// (#ref:subdir), fetched by the solver from a git daemon.
func TestGitContext(t *testing.T) {
	base := t.TempDir()
	gitRepo(t, base, "app.git",
		map[string]string{"Dockerfile": "FROM scratch\nCOPY f /f\n", "f": "v1\n", "sub/Dockerfile": "FROM scratch\nCOPY g /g\n", "sub/g": "sub v1\n"},
		map[string]string{"f": "head\n"})
	url := gitDaemon(t, base) + "/app.git"
	e := newEnv(t)
	for _, c := range []struct{ ctx, file, want string }{
		{url, "f", "head\n"},
		{url + "#v1", "f", "v1\n"},
		{url + "#main", "f", "head\n"},
		{url + "#v1:sub", "g", "sub v1\n"},
	} {
		out := t.TempDir()
		e.must("build", "-o", "type=local,dest="+out, c.ctx)
		if got := readOut(t, out, c.file); got != c.want {
			t.Errorf("%s: /%s = %q, want %q", c.ctx, c.file, got, c.want)
		}
	}
	// A `# syntax=` line the compiled-in frontend serves builds offline
	// from a fetched context too, and -f with - reads the Dockerfile from
	// stdin while the context comes from git.
	gitRepo(t, base, "syntax.git", map[string]string{"Dockerfile": "# syntax=docker/dockerfile:1\nFROM scratch\nCOPY f /f\n", "f": "s\n"}, map[string]string{})
	out := t.TempDir()
	e.must("build", "-o", "type=local,dest="+out, url[:strings.LastIndex(url, "/")]+"/syntax.git")
	out = t.TempDir()
	e.mustIn([]byte("FROM scratch\nCOPY f /stdin-f\n"), "build", "-f", "-", "-o", "type=local,dest="+out, url+"#v1")
	if got := readOut(t, out, "stdin-f"); got != "v1\n" {
		t.Errorf("-f - with a git context: %q", got)
	}
	// A fetched Dockerfile's stage named like a stored image is the stage.
	e.must("build", "-t", "named", writeContext(t, map[string]string{"Dockerfile": "FROM scratch\nCOPY f /f\n", "f": "stored\n"}))
	gitRepo(t, base, "stages.git", map[string]string{"Dockerfile": "FROM scratch AS named\nCOPY f /f\nFROM named\n", "f": "stage\n"}, map[string]string{})
	out = t.TempDir()
	e.must("build", "-o", "type=local,dest="+out, url[:strings.LastIndex(url, "/")]+"/stages.git")
	if got := readOut(t, out, "f"); got != "stage\n" {
		t.Errorf("git context, a stage named like a stored image: /f = %q", got)
	}
	if r := e.run("build", "-o", "type=local,dest="+t.TempDir(), url+"#nosuchref"); r.code == 0 {
		t.Errorf("a missing ref built: %s", r)
	}
	// Git's smart HTTP protocol (git-http-backend as CGI), as https://
	// remotes speak it, less the TLS: git in the solver gets no CA of ours.
	backend := "/usr/lib/git-core/git-http-backend"
	if _, err := os.Stat(backend); err != nil {
		t.Fatalf("git-http-backend: %v", err)
	}
	srv := httptest.NewServer(&cgi.Handler{Path: backend, Env: []string{"GIT_PROJECT_ROOT=" + base, "GIT_HTTP_EXPORT_ALL=1"}})
	defer srv.Close()
	out = t.TempDir()
	e.must("build", "-o", "type=local,dest="+out, srv.URL+"/app.git#v1:sub")
	if got := readOut(t, out, "g"); got != "sub v1\n" {
		t.Errorf("http git context #v1:sub: /g = %q", got)
	}
}

// TestTarballURLContext: an HTTP(S) URL of a tarball is the context.
func TestTarballURLContext(t *testing.T) {
	archive := tarOf(t, map[string]string{"Dockerfile": "FROM scratch\nCOPY f /f\n", "f": "over http\n"}, true)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/ctx.tar.gz" {
			http.NotFound(w, r)
			return
		}
		w.Write(archive)
	}))
	defer srv.Close()
	e := newEnv(t)
	out := t.TempDir()
	e.must("build", "-o", "type=local,dest="+out, srv.URL+"/ctx.tar.gz")
	if got := readOut(t, out, "f"); got != "over http\n" {
		t.Errorf("/f = %q", got)
	}
	if r := e.run("build", "-o", "type=local,dest="+t.TempDir(), srv.URL+"/missing.tar.gz"); r.code == 0 {
		t.Errorf("a 404 context built: %s", r)
	}
}

// TestBuildContexts: --build-context NAME=VALUE with each kind of value,
// replacing a FROM or feeding COPY --from, as buildx does.
func TestBuildContexts(t *testing.T) {
	e := newEnv(t)
	// An image in the store, and the same as an OCI layout.
	img := writeContext(t, map[string]string{"Dockerfile": "FROM scratch\nCOPY f /from-image\n", "f": "image\n"})
	e.must("build", "-t", "ctximg:1", img)
	layout := filepath.Join(t.TempDir(), "layout")
	e.must("build", "-o", "type=oci,tar=false,name=ctx:v2,dest="+layout, img)
	extra := writeContext(t, map[string]string{"x": "dir\n"})
	base := t.TempDir()
	gitRepo(t, base, "ctx.git", map[string]string{"y": "git\n"}, map[string]string{})
	gitURL := gitDaemon(t, base) + "/ctx.git"

	dir := writeContext(t, map[string]string{"Dockerfile": `FROM base
COPY --from=extra /x /x
COPY --from=repo /y /y
COPY --from=layout /from-image /from-layout
`})
	for _, c := range []struct{ name, base string }{
		{"docker-image of a stored image", "base=docker-image://ctximg:1"},
		{"oci-layout by tag", "base=oci-layout://" + layout + ":v2"},
		{"a stored image's name", "base=ctximg:1"},
	} {
		out := t.TempDir()
		e.must("build", "--build-context", c.base, "--build-context", "extra="+extra, "--build-context", "repo="+gitURL,
			"--build-context", "layout=oci-layout://"+layout, "-o", "type=local,dest="+out, dir)
		for f, want := range map[string]string{"from-image": "image\n", "x": "dir\n", "y": "git\n", "from-layout": "image\n"} {
			if got := readOut(t, out, f); got != want {
				t.Errorf("%s: /%s = %q, want %q", c.name, f, got, want)
			}
		}
	}
	before := e.storeState()
	for _, c := range []struct{ arg, want string }{
		{"noequals", "want NAME=VALUE"},
		{"x=/nonexistent/dir", "is neither a directory nor an image in the local store"},
		{"x=foo://bar", "unknown source"},
		{"x=oci-layout:///nonexistent", "read OCI layout"},
		{"x=oci-layout://" + layout + ":nosuchtag", `no image tagged "nosuchtag"`},
		{"Bad Name=" + extra, "invalid name"},
	} {
		r := e.run("build", "--build-context", c.arg, "-t", "bad", dir)
		if r.code == 0 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("--build-context %s: want %q; got %s", c.arg, c.want, r)
		}
	}
	if e.storeState() != before {
		t.Errorf("failed builds changed the store")
	}
}
