package container

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/builder-dev/builder/rootless"
	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/moby/buildkit/util/rootless/specconv"
	"github.com/moby/profiles/seccomp"
	"github.com/moby/sys/userns"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// prepareBundle makes c's runc bundle: the rootfs mounted (the image's
// layers under the container's writable one) and config.json.
func prepareBundle(ctx context.Context, p records, c *Container, lowers []string, o RunOptions) error {
	dir := p.dir(c.ID)
	for _, sub := range []string{"upper", "work", "rootfs", "empty"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0700); err != nil {
			return fmt.Errorf("create container %s: %w", c.ID, err)
		}
	}
	// The upper directory's mode is the container's / mode: 0755, as in
	// docker, or non-root users cannot traverse /. (The container directory
	// above it stays 0700: nothing outside reaches the rootfs.)
	for _, sub := range []string{"upper", "empty"} {
		if err := os.Chmod(filepath.Join(dir, sub), 0755); err != nil {
			return err
		}
	}
	if len(lowers) == 0 {
		// FROM scratch with no files: overlay needs one lower.
		lowers = []string{filepath.Join(dir, "empty")}
	}
	if err := mountRootfs(lowers, p.upper(c.ID), filepath.Join(dir, "work"), p.rootfs(c.ID)); err != nil {
		return err
	}
	spec, err := newSpec(ctx, p, c, o)
	if err != nil {
		unix.Unmount(p.rootfs(c.ID), unix.MNT_DETACH)
		return err
	}
	dt, err := json.Marshal(spec)
	if err != nil {
		return err
	}
	return os.WriteFile(p.specPath(c.ID), dt, 0600)
}

// hostname is the container's: --hostname, else its short ID, as docker's.
func hostname(c *Container, o RunOptions) string {
	if o.Hostname != "" {
		return o.Hostname
	}
	return c.ID[:12]
}

func newSpec(ctx context.Context, p records, c *Container, o RunOptions) (*specs.Spec, error) {
	cfg := c.Config
	opts := []oci.SpecOpts{
		oci.WithRootFSPath(p.rootfs(c.ID)),
		oci.WithProcessArgs(c.Args...),
		oci.WithEnv(cfg.Env),
		oci.WithHostname(hostname(c, o)),
	}
	// docker mounts no tmpfs on /run (containerd's default spec does): an
	// image's /run/lock, /var/lock's target in Debian, stays.
	opts = append(opts, oci.WithoutRunMount)
	opts = append(opts, p.netSpec(c)...)
	// Open files as docker gives a container: the limits of the process
	// that starts it (dockerd's), not containerd's default 1024, which
	// keeps apachectl, say, from raising its own to 8192.
	var nofile unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &nofile); err == nil {
		opts = append(opts, withRlimit("RLIMIT_NOFILE", nofile.Max, nofile.Cur))
	}
	if cfg.WorkingDir != "" {
		opts = append(opts, oci.WithProcessCwd(cfg.WorkingDir))
	}
	if cfg.User != "" {
		opts = append(opts, oci.WithUser(cfg.User))
	}
	if o.ReadOnly {
		opts = append(opts, oci.WithRootFSReadonly())
	}
	if o.TTY {
		opts = append(opts, oci.WithTTY)
	}
	for _, v := range o.Volumes {
		m, err := volumeMount(v)
		if err != nil {
			return nil, err
		}
		opts = append(opts, oci.WithMounts([]specs.Mount{m}))
	}
	ctx = namespaces.WithNamespace(ctx, "builder")
	spec, err := oci.GenerateSpec(ctx, nil, &containers.Container{ID: c.ID}, opts...)
	if err != nil {
		return nil, fmt.Errorf("container config: %w", err)
	}
	// docker's default seccomp profile, adjusted to the spec's capabilities.
	if spec.Linux.Seccomp, err = seccomp.GetDefaultProfile(spec); err != nil {
		return nil, fmt.Errorf("seccomp profile: %w", err)
	}
	if userns.RunningInUserNS() {
		// builder run by an unprivileged account: no cgroup of the host's
		// may be written, and /sys cannot be mounted in the host's network
		// namespace; the same conversion as the build steps' (BuildKit's).
		if _, err := specconv.ToRootless(spec); err != nil {
			return nil, fmt.Errorf("container config: %w", err)
		}
		if rootless.ProcMasked() {
			rootless.BindProc(spec)
		}
	}
	return spec, nil
}

// volumeMount parses -v HOST:CONTAINER[:ro|rw]. A missing host path is
// created as a directory, as docker does; a host path starting with "."
// is the working directory's, as docker's CLI (23 and later) takes it.
func volumeMount(v string) (specs.Mount, error) {
	parts := strings.Split(v, ":")
	if len(parts) >= 2 && (parts[0] == "." || parts[0] == ".." || strings.HasPrefix(parts[0], "./") || strings.HasPrefix(parts[0], "../")) {
		abs, err := filepath.Abs(parts[0])
		if err != nil {
			return specs.Mount{}, fmt.Errorf("-v %q: %w", v, err)
		}
		parts[0] = abs
	}
	if len(parts) < 2 || len(parts) > 3 || !filepath.IsAbs(parts[0]) || !filepath.IsAbs(parts[1]) {
		return specs.Mount{}, fmt.Errorf("-v %q: want /host/path:/container/path[:ro] (named volumes are not supported)", v)
	}
	if _, err := os.Stat(parts[0]); errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(parts[0], 0755); err != nil {
			return specs.Mount{}, fmt.Errorf("-v %q: %w", v, err)
		}
	}
	opts := []string{"rbind", "rprivate"}
	if len(parts) == 3 {
		switch parts[2] {
		case "ro":
			opts = append(opts, "ro")
		case "rw":
		default:
			return specs.Mount{}, fmt.Errorf("-v %q: unknown option %q", v, parts[2])
		}
	}
	return specs.Mount{Destination: parts[1], Type: "bind", Source: parts[0], Options: opts}, nil
}

// withRlimit sets the spec's limit typ, replacing the default's.
func withRlimit(typ string, hard, soft uint64) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *specs.Spec) error {
		var keep []specs.POSIXRlimit
		for _, r := range s.Process.Rlimits {
			if r.Type != typ {
				keep = append(keep, r)
			}
		}
		s.Process.Rlimits = append(keep, specs.POSIXRlimit{Type: typ, Hard: hard, Soft: soft})
		return nil
	}
}
