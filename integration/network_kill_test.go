//go:build integration

package integration

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestNetworkKilledDuringAttach: a `run -p` killed (SIGKILL, or SIGTERM
// as `timeout` sends) while its container is being put on builder0 leaves
// a record the next command sweeps, and rm -f removes the rest: no
// namespace mount, lease or port rule is left, and the host ports are
// free again. Before, the container's record was written only after the
// attach, so rm -f deleted a record without an attachment and left the
// namespace mounted, the lease and a DNAT chain for every port, for good.
func TestNetworkKilledDuringAttach(t *testing.T) {
	e := newEnv(t)
	e.must("pull", "busybox")
	before := netState(t)
	for i, sig := range []syscall.Signal{syscall.SIGKILL, syscall.SIGTERM} {
		name := "half" + string(rune('a'+i))
		cmd := e.cmd(t.Context(), "run", "--rm", "--name", name, "-p", "21000-21050:21000-21050", "busybox", "true")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Its network namespace exists: the attach is under way.
		var ns []string
		for deadline := time.Now().Add(60 * time.Second); len(ns) == 0 && time.Now().Before(deadline); {
			time.Sleep(20 * time.Millisecond)
			ns, _ = filepath.Glob(filepath.Join(e.root, "containers", "*", "cni-*"))
		}
		if len(ns) == 0 {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("%v: the run never made its network namespace", sig)
		}
		time.Sleep(300 * time.Millisecond) // some rules made, not all
		cmd.Process.Signal(sig)
		cmd.Wait()
		e.must("ps", "-a")
		if r := e.run("rm", "-f", name); r.code != 0 && !strings.Contains(r.stderr, "No such container") {
			t.Errorf("%v: rm -f of the half-attached container: %s", sig, r)
		}
		if m := mountsUnder(t, filepath.Join(e.root, "containers")); len(m) != 0 {
			t.Errorf("%v: mounts left: %v", sig, m)
		}
		if after := netState(t); after != before {
			t.Errorf("%v: rules or leases left:\nbefore:\n%s\nafter:\n%s", sig, before, after)
		}
		if got := e.must("ps", "-a", "-q").stdout; got != "" {
			t.Errorf("%v: containers left: %q", sig, got)
		}
	}
	// The ports are free: a new container publishes them.
	e.must("run", "--rm", "-p", "21000-21050:21000-21050", "busybox", "true")
}

// TestNetworkPortHeldWithoutMonitor: a container whose monitor was killed
// keeps its published port for as long as it exists, as docker's does: a
// second container asking for it is refused (before, it was accepted and
// never reached, the first container's rule winning).
func TestNetworkPortHeldWithoutMonitor(t *testing.T) {
	e := newEnv(t)
	e.must("pull", "busybox")
	id := strings.TrimSpace(e.must("run", "-d", "--name", "mon1", "-p", "18200:80", "busybox", "sh", "-c",
		"mkdir /www && echo mon1 > /www/index.html && exec httpd -f -p 80 -h /www").stdout)
	t.Cleanup(func() { e.run("rm", "-f", "mon1", "mon2") })
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	killed := 0
	for _, p := range procs {
		if dt, err := os.ReadFile(p); err == nil && strings.Contains(string(dt), "__container-monitor\x00"+id) {
			pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
			syscall.Kill(pid, syscall.SIGKILL)
			killed++
		}
	}
	if killed == 0 {
		t.Fatalf("no monitor found for %s", id)
	}
	time.Sleep(300 * time.Millisecond)
	if ps := e.must("ps").stdout; !strings.Contains(ps, "mon1") {
		t.Fatalf("mon1 is not running without its monitor:\n%s", ps)
	}
	if got := httpGet(t, "http://127.0.0.1:18200/"); got != "mon1\n" {
		t.Errorf("18200 served %q", got)
	}
	r := e.run("run", "-d", "--name", "mon2", "-p", "18200:80", "busybox", "sleep", "60")
	if r.code != 125 || strings.TrimSpace(r.stderr) != "Error: Bind for 0.0.0.0:18200 failed: port is already allocated" {
		t.Errorf("a second -p 18200:80 while mon1 exists: %s", r)
	}
	if r := e.run("container", "inspect", "mon2"); r.code == 0 {
		t.Errorf("the refused run left mon2")
	}
	// Once mon1 is gone, the port is free.
	e.must("rm", "-f", "mon1")
	e.must("run", "-d", "--name", "mon2", "-p", "18200:80", "busybox", "sleep", "60")
}
