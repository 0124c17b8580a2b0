package rootless

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
	"go.podman.io/storage/pkg/reexec"
	"go.podman.io/storage/pkg/unshare"
)

// TestMain lets this test binary be a holder, as builder is.
func TestMain(m *testing.M) {
	if len(os.Args) == 2 && os.Args[1] == HolderCommand {
		Hold()
	}
	os.Exit(m.Run())
}

// TestHolderReady: a holder is returned only once its namespaces are made,
// so that the command which started it can join its mount namespace at
// once. unshare's Start alone returns before the child has unshared it.
func TestHolderReady(t *testing.T) {
	if os.Geteuid() != 0 {
		// Root maps itself, without newuidmap and an account's ranges.
		t.Skip("SKIP: needs root")
	}
	reexec.Init()
	self, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil {
		t.Fatal(err)
	}
	root := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 0, Size: 1}}
	for i := 0; i < 20; i++ {
		cmd := unshare.Command("/proc/self/exe", HolderCommand)
		cmd.UnshareFlags = syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS
		cmd.UidMappings, cmd.GidMappings = root, root
		cmd.GidMappingsEnableSetgroups = true
		pid, err := startHolder(cmd)
		if err != nil {
			t.Fatalf("start a holder: %v", err)
		}
		mnt, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", pid))
		syscall.Kill(pid, syscall.SIGKILL)
		var ws syscall.WaitStatus
		syscall.Wait4(pid, &ws, 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		if mnt == self {
			t.Fatalf("start %d: holder %d was returned still in this process's mount namespace (%s)", i, pid, mnt)
		}
	}
}

// TestHolderExits: a child that exits without holding is an error, not a
// PID to join.
func TestHolderExits(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("SKIP: needs root")
	}
	reexec.Init()
	root := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 0, Size: 1}}
	cmd := unshare.Command("/proc/self/exe", "-test.run=^$") // runs no test, and exits
	cmd.UnshareFlags = syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS
	cmd.UidMappings, cmd.GidMappings = root, root
	cmd.GidMappingsEnableSetgroups = true
	pid, err := startHolder(cmd)
	if err == nil || !strings.Contains(err.Error(), "exited as it started") {
		t.Fatalf("a child that exits: pid %d, %v", pid, err)
	}
}
