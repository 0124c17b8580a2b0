//go:build integration

package integration

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestPythonExample builds examples/python on the suite's Debian base:
// apt-get inside a RUN reaches Debian's packages as the host does.
func TestPythonExample(t *testing.T) {
	debianBase(t)
	e := newEnv(t)
	e.must("build", "-t", "pyhello", filepath.Join(repoDir(t), "examples", "python"))
	if got := e.must("run", "--rm", "pyhello").stdout; got != "hello docker\n" {
		t.Errorf("run --rm pyhello printed %q", got)
	}
}

// TestRemoteBuildkitd: --addr makes the same client talk to a stock
// buildkitd; the image still lands in the local store and runs.
func TestRemoteBuildkitd(t *testing.T) {
	bk := startBuildkitd(t)
	e := newEnv(t)
	dir := writeContext(t, map[string]string{
		"Dockerfile": "FROM busybox\nRUN echo remote > /r\nCMD [\"cat\", \"/r\"]\n",
	})
	e.must("--addr", bk.addr, "build", "-t", "remote", dir)
	if got := e.must("run", "--rm", "remote").stdout; got != "remote\n" {
		t.Errorf("run printed %q", got)
	}
	// A local-store image is a FROM source for the remote solver too.
	dir2 := writeContext(t, map[string]string{"Dockerfile": "FROM remote\nRUN echo again >> /r\n"})
	e.must("--addr", bk.addr, "build", "-t", "remote2", dir2)
	if got := e.must("run", "--rm", "remote2").stdout; got != "remote\nagain\n" {
		t.Errorf("run printed %q", got)
	}
}

// TestCIExamples: every builder command in examples/ci uses flags builder
// has, so the examples cannot drift from the CLI.
func TestCIExamples(t *testing.T) {
	e := newEnv(t)
	help := map[string]string{}
	flag := regexp.MustCompile(`(^|\s)(--[a-z][a-z-]*)`)
	files, _ := filepath.Glob(filepath.Join(repoDir(t), "examples", "ci", "*.yml"))
	if len(files) < 2 {
		t.Fatalf("examples/ci holds %d workflows", len(files))
	}
	for _, f := range files {
		dt, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		// Commands span lines joined by "\" or YAML's folded ">".
		text := strings.ReplaceAll(string(dt), "\\\n", " ")
		for _, cmd := range regexp.MustCompile(`builder (build|login)((?:[^\n]|\n {6,}(?:--|[^\n-]))*)`).FindAllStringSubmatch(text, -1) {
			verb := cmd[1]
			if help[verb] == "" {
				help[verb] = e.must(verb, "--help").stdout
			}
			for _, m := range flag.FindAllStringSubmatch(cmd[2], -1) {
				if !strings.Contains(help[verb], m[2]) {
					t.Errorf("%s: builder %s %s: no such flag", filepath.Base(f), verb, m[2])
				}
			}
		}
	}
}
