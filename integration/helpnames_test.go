//go:build integration

package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestArgumentsNamedHelp: a context directory, image or container named h
// or help is data, never a request for help (issue 8, case 4).
func TestArgumentsNamedHelp(t *testing.T) {
	e := newEnv(t)
	parent := t.TempDir()
	for _, n := range []string{"h", "help"} {
		os.MkdirAll(filepath.Join(parent, n), 0755)
		os.WriteFile(filepath.Join(parent, n, "Dockerfile"), []byte("FROM busybox\nCMD [\"echo\", \"from-"+n+"\"]\n"), 0644)
	}
	for _, n := range []string{"h", "help"} {
		r := e.runInDir(parent, "build", "-q", "-t", n, n)
		if r.code != 0 || !strings.HasPrefix(r.stdout, "sha256:") {
			t.Errorf("build of a context named %s: %s", n, r)
		}
	}
	if out := e.must("images", "--format", "{{.Repository}}").stdout; !strings.Contains(out, "h\n") || !strings.Contains(out, "help\n") {
		t.Fatalf("images after building h and help: %q", out)
	}
	for _, args := range [][]string{
		{"tag", "h", "h2"}, {"inspect", "-f", "{{.Id}}", "help"}, {"history", "-q", "h"},
		{"run", "--name", "h", "h"}, {"run", "--name", "help", "help"},
		{"logs", "h"}, {"diff", "help"}, {"start", "-a", "h"}, {"commit", "h", "help-committed"},
		{"rm", "h", "help"}, {"rmi", "h2"}, {"image", "rm", "help"},
	} {
		r := e.run(args...)
		if r.code != 0 || strings.Contains(r.stdout, "USAGE:") {
			t.Errorf("an argument named h or help: %s", r)
		}
	}
	if out := e.must("images", "--format", "{{.Repository}}").stdout; strings.Contains(out, "help\n") && !strings.Contains(out, "help-committed") || strings.Contains(out, "h2") {
		t.Errorf("images after rmi h2 and image rm help: %q", out)
	}
	// --help still shows help.
	if r := e.must("rmi", "--help"); !strings.Contains(r.stdout, "USAGE:") {
		t.Errorf("rmi --help: %s", r)
	}
}

// TestHelpVerbAndUsageErrors: `builder help [COMMAND]` is docker's `help`,
// and a verb given too few arguments is docker's usage error, exit 1 (run
// included: its 125 is for a container it could not create).
func TestHelpVerbAndUsageErrors(t *testing.T) {
	e := newEnv(t)
	if r := e.must("help"); !strings.Contains(r.stdout, "USAGE:") || !strings.Contains(r.stdout, "build") {
		t.Errorf("help: %s", r)
	}
	if r := e.must("help", "run"); !strings.Contains(r.stdout, "builder run - Create and run a new container") {
		t.Errorf("help run: %s", r)
	}
	if r := e.run("help", "nosuch"); r.code != 1 || !strings.Contains(r.stderr, "unknown help topic: nosuch") {
		t.Errorf("help nosuch: %s", r)
	}
	for _, args := range [][]string{{"run"}, {"exec", "x"}, {"start"}, {"tag", "x"}} {
		if r := e.run(args...); r.code != 1 || !strings.Contains(r.stderr, "requires") {
			t.Errorf("%v: want docker's usage error, exit 1: %s", args, r)
		}
	}
}
