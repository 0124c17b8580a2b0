package rootless

import (
	"strings"

	"github.com/moby/sys/mountinfo"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// ProcMasked reports whether paths under this namespace's /proc are
// mounted over, as a container engine masks /proc/kcore and makes
// /proc/sys read-only (docker run without --security-opt
// systempaths=unconfined). The kernel then refuses a new proc mount in a
// user namespace (it would reveal what the masks hide), so a build step
// or container cannot have a PID namespace with its own /proc: it gets
// this namespace's, bound, as rootless BuildKit's
// --oci-worker-no-process-sandbox gives it. Only mounts on procfs's own
// empty directories (binfmt_misc) leave a new mount allowed.
func ProcMasked() bool {
	mounts, err := mountinfo.GetMounts(mountinfo.PrefixFilter("/proc"))
	if err != nil {
		return false
	}
	for _, m := range mounts {
		if m.Mountpoint != "/proc" && m.Mountpoint != "/proc/sys/fs/binfmt_misc" && underProc(m.Mountpoint) {
			return true
		}
	}
	return false
}

// BindProc gives spec's container this namespace's PID namespace and its
// /proc bound in, masks and all, where ProcMasked: BuildKit's
// NoProcessSandbox for a container of `builder run`. The container's
// processes can see and signal the others of the namespace (builder's,
// the job's), as rootless BuildKit's can in that mode.
func BindProc(spec *specs.Spec) {
	var mounts []specs.Mount
	for _, m := range spec.Mounts {
		if !underProc(m.Destination) {
			mounts = append(mounts, m)
		}
	}
	spec.Mounts = append([]specs.Mount{{Destination: "/proc", Type: "bind", Source: "/proc", Options: []string{"rbind"}}}, mounts...)
	if spec.Linux == nil {
		return
	}
	var ns []specs.LinuxNamespace
	for _, n := range spec.Linux.Namespaces {
		if n.Type != specs.PIDNamespace {
			ns = append(ns, n)
		}
	}
	spec.Linux.Namespaces = ns
	spec.Linux.MaskedPaths = withoutProc(spec.Linux.MaskedPaths)
	spec.Linux.ReadonlyPaths = withoutProc(spec.Linux.ReadonlyPaths)
}

// withoutProc drops the paths under /proc: the bound /proc keeps the
// engine's own masks.
func withoutProc(paths []string) []string {
	var out []string
	for _, p := range paths {
		if !underProc(p) {
			out = append(out, p)
		}
	}
	return out
}

// underProc reports whether path is /proc or below it.
func underProc(path string) bool {
	return path == "/proc" || strings.HasPrefix(path, "/proc/")
}
