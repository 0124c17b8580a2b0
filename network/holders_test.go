package network

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestOrphans: a lease is an orphan when no recorded directory holds an
// entry by its ID and no network namespace is mounted for it; older leases, and every lease while a directory is
// recorded from another live mount namespace, are left alone; a recorded
// directory that is gone is forgotten.
func TestOrphans(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("SKIP: needs root (mounts a network namespace); make test runs it")
	}
	tmp := t.TempDir()
	holders, leases := filepath.Join(tmp, "holders"), filepath.Join(tmp, "leases")
	containers, steps := filepath.Join(tmp, "root", "containers"), filepath.Join(tmp, "root", "net", "cni")
	gone := filepath.Join(tmp, "gone", "containers")
	for _, d := range []string{leases, containers, steps, gone} {
		if err := os.MkdirAll(d, 0700); err != nil {
			t.Fatal(err)
		}
	}
	write := func(dir, name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0600); err != nil {
			t.Fatal(err)
		}
	}
	// A lease made before anything was recorded is never judged.
	write(leases, "10.209.0.2", "old\r\neth0")
	old := time.Now().Add(-time.Hour)
	os.Chtimes(filepath.Join(leases, "10.209.0.2"), old, old)
	if got, err := orphans(holders, leases); err != nil || got != nil {
		t.Fatalf("before any record: %v, %v", got, err)
	}
	for _, d := range []string{containers, steps, gone} {
		if err := hold(holders, d); err != nil {
			t.Fatal(err)
		}
	}
	write(containers, "c1", "")
	write(steps, "s1", "")
	write(leases, "10.209.0.3", "c1\r\neth0")
	write(leases, "10.209.0.4", "s1\r\neth1")
	write(leases, "10.209.0.5", "c2\r\neth0")
	write(leases, "10.209.0.6", "s2\r\neth1")
	// A namespace still mounted for c3 (a container of a builder from
	// before the records began): in use.
	unrecorded := filepath.Join(tmp, "unrecorded", "containers", "c3")
	os.MkdirAll(unrecorded, 0700)
	write(unrecorded, "cni-1", "")
	if err := unix.Mount("/proc/self/ns/net", filepath.Join(unrecorded, "cni-1"), "", unix.MS_BIND, ""); err != nil {
		t.Fatalf("mount a network namespace: %v", err)
	}
	defer unix.Unmount(filepath.Join(unrecorded, "cni-1"), unix.MNT_DETACH)
	write(leases, "10.209.0.7", "c3\r\neth0")
	write(leases, "last_reserved_ip.0", "10.209.0.6")
	write(leases, "lock", "")
	os.RemoveAll(filepath.Dir(gone))
	got, err := orphans(holders, leases)
	if err != nil {
		t.Fatal(err)
	}
	want := []lease{{IP: "10.209.0.5", ID: "c2", IfName: "eth0"}, {IP: "10.209.0.6", ID: "s2", IfName: "eth1"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("orphans = %+v, want %+v", got, want)
	}
	if recs, _ := os.ReadDir(holders); len(recs) != 3 { // since, containers, steps
		t.Errorf("the gone directory's record was kept: %d entries", len(recs))
	}

	// A directory recorded from another mount namespace that still
	// exists: nothing is judged.
	sleeper := exec.Command("unshare", "-m", "sleep", "30")
	if err := sleeper.Start(); err != nil {
		t.Skipf("SKIP the other mount namespace: %v", err)
	}
	defer func() { sleeper.Process.Kill(); sleeper.Wait() }()
	var ns string
	for i := 0; i < 100 && (ns == "" || ns == mountNS()); i++ {
		time.Sleep(10 * time.Millisecond)
		ns, _ = os.Readlink(filepath.Join("/proc", strconv.Itoa(sleeper.Process.Pid), "ns", "mnt"))
	}
	if ns == "" || ns == mountNS() {
		t.Fatalf("unshare -m gave no mount namespace of its own (%q)", ns)
	}
	write(holders, "foreign", `{"dir":"/nowhere","mountNS":"`+ns+`"}`)
	if got, err := orphans(holders, leases); err != nil || got != nil {
		t.Errorf("with a live foreign mount namespace recorded: %v, %v", got, err)
	}
	// Once it is gone, its directory is judged from here.
	sleeper.Process.Kill()
	sleeper.Wait()
	if got, _ := orphans(holders, leases); len(got) != 2 {
		t.Errorf("after the foreign namespace ended: %+v", got)
	}
	if _, err := os.Stat(filepath.Join(holders, "foreign")); !os.IsNotExist(err) {
		t.Errorf("the foreign record of a gone directory was kept: %v", err)
	}
}
