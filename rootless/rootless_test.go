package rootless

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
)

func files(t *testing.T, max, subuid, subgid string) Files {
	dir := t.TempDir()
	f := Files{
		MaxUserNamespaces: filepath.Join(dir, "max_user_namespaces"),
		SubUID:            filepath.Join(dir, "subuid"),
		SubGID:            filepath.Join(dir, "subgid"),
	}
	for p, s := range map[string]string{f.MaxUserNamespaces: max, f.SubUID: subuid, f.SubGID: subgid} {
		if s != "-" {
			if err := os.WriteFile(p, []byte(s), 0644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return f
}

func TestCheckMappings(t *testing.T) {
	// By name or by UID, as shadow's newuidmap reads the files; several
	// ranges follow one another inside.
	f := files(t, "15000\n", "other:100000:65536\nalice:200000:1000\n1001:300000:10\n", "alice:400000:65536\n")
	m, err := f.Check(1001, 1002, "alice")
	if err != nil {
		t.Fatal(err)
	}
	want := Mappings{
		UIDs: []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1001, Size: 1}, {ContainerID: 1, HostID: 200000, Size: 1000}, {ContainerID: 1001, HostID: 300000, Size: 10}},
		GIDs: []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1002, Size: 1}, {ContainerID: 1, HostID: 400000, Size: 65536}},
	}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("mappings:\n got %+v\nwant %+v", m, want)
	}
}

func TestCheckErrorsNameTheFix(t *testing.T) {
	for _, c := range []struct {
		name                string
		max, subuid, subgid string
		want                string
	}{
		{"user namespaces disabled", "0\n", "alice:100000:65536\n", "alice:100000:65536\n", "sysctl -w user.max_user_namespaces="},
		{"no subuid file", "15000\n", "-", "alice:100000:65536\n", "usermod --add-subuids 100000-165535 --add-subgids 100000-165535 alice"},
		{"no subuid entry", "15000\n", "bob:100000:65536\n", "alice:100000:65536\n", "/subuid has no subordinate IDs for alice"},
		{"no subgid entry", "15000\n", "alice:100000:65536\n", "", "/subgid has no subordinate IDs for alice"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := files(t, c.max, c.subuid, c.subgid).Check(1001, 1001, "alice")
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, want an error containing %q", err, c.want)
			}
		})
	}
}

func TestCheckNeedsNewuidmap(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := files(t, "15000\n", "alice:100000:65536\n", "alice:100000:65536\n").Check(1001, 1001, "alice")
	if err == nil || !strings.Contains(err.Error(), "apt-get install uidmap") {
		t.Errorf("got %v, want the uidmap package named", err)
	}
}

// BindProc: the namespace's /proc bound in place of the container's own
// (and what was mounted under it), no PID namespace, no /proc masks.
func TestBindProc(t *testing.T) {
	spec := &specs.Spec{
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs"},
			{Destination: "/proc/sys/fs/binfmt_misc", Type: "binfmt_misc"},
			{Destination: "/procfs", Type: "bind", Source: "/x"},
		},
		Linux: &specs.Linux{
			Namespaces:    []specs.LinuxNamespace{{Type: specs.PIDNamespace}, {Type: specs.MountNamespace}},
			MaskedPaths:   []string{"/proc/kcore", "/sys/firmware"},
			ReadonlyPaths: []string{"/proc/sys", "/proc"},
		},
	}
	BindProc(spec)
	want := []specs.Mount{
		{Destination: "/proc", Type: "bind", Source: "/proc", Options: []string{"rbind"}},
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs"},
		{Destination: "/procfs", Type: "bind", Source: "/x"},
	}
	if !reflect.DeepEqual(spec.Mounts, want) {
		t.Errorf("mounts = %+v", spec.Mounts)
	}
	if !reflect.DeepEqual(spec.Linux.Namespaces, []specs.LinuxNamespace{{Type: specs.MountNamespace}}) {
		t.Errorf("namespaces = %+v", spec.Linux.Namespaces)
	}
	if !reflect.DeepEqual(spec.Linux.MaskedPaths, []string{"/sys/firmware"}) || spec.Linux.ReadonlyPaths != nil {
		t.Errorf("masked %v, read-only %v", spec.Linux.MaskedPaths, spec.Linux.ReadonlyPaths)
	}
}
