//go:build integration

package integration

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestPauseAndKilledCommit: pause and unpause as docker's; a commit killed
// while it has a running container paused leaves it paused only until the
// next command that looks at it, which resumes it (issue 8, case 8). A
// pause the user asked for stays.
func TestPauseAndKilledCommit(t *testing.T) {
	e := newEnv(t)
	e.must("pull", "-q", "busybox")
	e.must("run", "-d", "--name", "p", "busybox", "sh", "-c", "dd if=/dev/zero of=/big bs=1M count=64 2>/dev/null; sleep 600")
	defer e.run("rm", "-f", "p")
	id := strings.TrimSpace(e.must("ps", "-q", "--no-trunc", "--filter", "name=p").stdout)
	status := func() string {
		return strings.TrimSpace(e.must("ps", "--filter", "name=p", "--format", "{{.Status}}").stdout)
	}

	if r := e.must("pause", "p"); r.stdout != "p\n" {
		t.Errorf("pause printed %q", r.stdout)
	}
	if st := status(); !strings.HasSuffix(st, "(Paused)") {
		t.Errorf("ps of a paused container: %q", st)
	}
	if r := e.run("exec", "p", "true"); r.code != 1 || !strings.Contains(r.stderr, "is paused, unpause the container before exec") {
		t.Errorf("exec in a paused container: %s", r)
	}
	if r := e.run("pause", "p"); r.code == 0 {
		t.Errorf("pause of a paused container succeeded")
	}
	if st := status(); !strings.HasSuffix(st, "(Paused)") {
		t.Errorf("a user's pause did not last: %q", st)
	}
	e.must("unpause", "p")
	if r := e.run("unpause", "p"); r.code == 0 || !strings.Contains(r.stderr, "is not paused") {
		t.Errorf("unpause of a running container: %s", r)
	}
	e.must("exec", "p", "true")
	// Wait for the 64 MB write, so that commit has a layer to read.
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if r := e.run("exec", "p", "sh", "-c", "[ $(wc -c < /big) -eq 67108864 ]"); r.code == 0 {
			break
		}
	}

	killed := false
	for try := 0; try < 5 && !killed; try++ {
		cmd := e.cmd(t.Context(), "commit", "p", "pimg")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			if runcStatus(e, id) == "paused" {
				cmd.Process.Kill()
				killed = true
				break
			}
		}
		cmd.Wait()
	}
	if !killed {
		t.Fatal("never caught commit with the container paused")
	}
	if runcStatus(e, id) != "paused" {
		t.Fatal("the killed commit's pause did not outlive it, so this test shows nothing")
	}
	if st := status(); !strings.HasPrefix(st, "Up") || strings.Contains(st, "Paused") {
		t.Errorf("ps after a killed commit: %q, want the container resumed", st)
	}
	e.must("exec", "p", "true")
	e.must("commit", "p", "pimg")
	if st := status(); strings.Contains(st, "Paused") {
		t.Errorf("ps after a commit: %q", st)
	}
}

// runcStatus asks runc itself, not builder (which would resume an orphaned
// pause), for a container's status.
func runcStatus(e *env, id string) string {
	out, _ := exec.Command(s.runc, "--root", filepath.Join(e.root, "runc"), "state", id).Output()
	var st struct{ Status string }
	json.Unmarshal(out, &st)
	return st.Status
}
