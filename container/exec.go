package container

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/builder-dev/builder/image"
	"github.com/builder-dev/builder/internal/runtime"
	"github.com/builder-dev/builder/internal/scratch"
	"github.com/containerd/containerd/v2/core/mount"
	"github.com/containerd/containerd/v2/pkg/archive"
	securejoin "github.com/cyphar/filepath-securejoin"
	"github.com/moby/sys/user"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ExecOptions are `builder exec` flags and arguments.
type ExecOptions struct {
	Container   string
	Args        []string
	Interactive bool
	TTY         bool
	Env         []string
	Workdir     string
	User        string
	Stdin       io.Reader
	Stdout      io.Writer
	Stderr      io.Writer
}

// Exec runs a further process in a running container: nil when it exits
// 0, else an *ExitError with its code (126 when it could not be invoked,
// as docker's exec gives), or a plain error for a refused request.
func (m Manager) Exec(ctx context.Context, o ExecOptions) error {
	p := m.records()
	c, err := p.find(ctx, m.Runtime, o.Container)
	if err != nil {
		return err
	}
	if !c.Running {
		return fmt.Errorf("container %s is not running", c.ID[:12])
	}
	if c.Paused {
		return fmt.Errorf("Container %s is paused, unpause the container before exec", c.ID[:12])
	}
	// runc exec's own defaults: the container's process (capabilities,
	// rlimits, no-new-privileges, ...) with these changes.
	spec, err := p.spec(c.ID)
	if err != nil {
		return fmt.Errorf("read the config of container %s: %w", c.ID[:12], err)
	}
	proc := *spec.Process
	proc.Args, proc.Terminal, proc.ConsoleSize = o.Args, o.TTY, nil
	proc.Env = image.MergeEnv(proc.Env, o.Env...)
	if o.Workdir != "" {
		proc.Cwd = o.Workdir
	}
	if o.User != "" {
		u, err := execUser(p.rootfs(c.ID), o.User)
		if err != nil {
			// docker's exec fails the process, not the request: 126.
			return &ExitError{ExitNotRunnable, err}
		}
		proc.User = specs.User{UID: uint32(u.Uid), GID: uint32(u.Gid)}
		for _, g := range u.Sgids {
			proc.User.AdditionalGids = append(proc.User.AdditionalGids, uint32(g))
		}
	}
	stdio := runtime.Stdio{Stdout: o.Stdout, Stderr: o.Stderr}
	if o.Interactive || o.TTY {
		stdio.Stdin = o.Stdin
	}
	logf, err := os.CreateTemp(p.dir(c.ID), "exec-*.log")
	if err != nil {
		return fmt.Errorf("exec in %s: %w", o.Container, err)
	}
	logf.Close()
	defer os.Remove(logf.Name())
	run, err := m.Runtime.Exec(ctx, c.ID, proc, logf.Name(), stdio)
	if err != nil {
		return err
	}
	code, err := run.Wait()
	if err != nil {
		return fmt.Errorf("exec in %s: %w", o.Container, err)
	}
	if code != 0 && startError(logf.Name()) != "" {
		// The process never ran (not found, not executable): docker's
		// exec gives 126 for each. runc has printed why on stderr.
		return &ExitError{ExitNotRunnable, nil}
	}
	return exited(code, nil)
}

// Export writes a container's whole filesystem as a tar archive.
func (m Manager) Export(ctx context.Context, ref string, w io.Writer) error {
	p := m.records()
	c, err := p.find(ctx, m.Runtime, ref)
	if err != nil {
		return err
	}
	_, lowers, err := p.imageLayers(ctx, m.Store, c)
	if err != nil {
		return err
	}
	// A read-only overlay of the upper layer over the image's layers
	// (overlayfs needs two directories at least).
	if len(lowers) == 0 {
		lowers = []string{filepath.Join(p.dir(c.ID), "empty")}
	}
	empty, err := os.MkdirTemp("", "builder-export-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(empty)
	view := []mount.Mount{{Type: "overlay", Source: "overlay", Options: []string{"lowerdir=" + lowerdir(lowers, p.upper(c.ID)), "index=off"}}}
	return scratch.WithTempMount(ctx, view, func(root string) error {
		return archive.WriteDiff(ctx, w, empty, root)
	})
}

// execUser resolves exec -u's USER[:GROUP] (names or IDs) as docker does:
// against the container's own /etc/passwd and /etc/group, resolved inside its
// root filesystem so that a symlink there cannot point the lookup at the
// host's files. A user's supplementary groups come along.
func execUser(rootfs, spec string) (*user.ExecUser, error) {
	passwd, err := securejoin.SecureJoin(rootfs, "/etc/passwd")
	if err != nil {
		return nil, fmt.Errorf("-u %s: %w", spec, err)
	}
	group, err := securejoin.SecureJoin(rootfs, "/etc/group")
	if err != nil {
		return nil, fmt.Errorf("-u %s: %w", spec, err)
	}
	u, err := user.GetExecUserPath(spec, &user.ExecUser{Uid: 0, Gid: 0, Home: "/"}, passwd, group)
	if err != nil {
		return nil, fmt.Errorf("unable to find user %s: %w", spec, err)
	}
	return u, nil
}
