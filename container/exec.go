package container

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"

	securejoin "github.com/cyphar/filepath-securejoin"
	"github.com/moby/sys/user"

	"github.com/builder-dev/builder/internal/scratch"
	"github.com/builder-dev/builder/store"
	"github.com/containerd/containerd/v2/core/mount"
	"github.com/containerd/containerd/v2/pkg/archive"
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

// Exec runs a further process in a running container and returns its
// exit code.
func Exec(ctx context.Context, root, runc string, o ExecOptions) (int, error) {
	p := NewPaths(root)
	c, err := p.Find(ctx, runc, o.Container)
	if err != nil {
		return ExitBuilderError, err
	}
	if !c.Running {
		return ExitBuilderError, fmt.Errorf("container %s is not running", c.ID[:12])
	}
	args := []string{"--root", p.runcRoot(), "exec"}
	if o.TTY {
		args = append(args, "--tty")
	}
	for _, e := range o.Env {
		args = append(args, "--env", e)
	}
	if o.Workdir != "" {
		args = append(args, "--cwd", o.Workdir)
	}
	if o.User != "" {
		u, err := execUser(p.rootfs(c.ID), o.User)
		if err != nil {
			return ExitBuilderError, err
		}
		args = append(args, "--user", fmt.Sprintf("%d:%d", u.Uid, u.Gid))
		for _, g := range u.Sgids {
			args = append(args, "--additional-gids", strconv.Itoa(g))
		}
	}
	cmd := exec.CommandContext(ctx, runc, append(append(args, c.ID), o.Args...)...)
	cmd.Stdout, cmd.Stderr = o.Stdout, o.Stderr
	if o.Interactive || o.TTY {
		cmd.Stdin = o.Stdin
	}
	err = cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), nil
	}
	if err != nil {
		return ExitBuilderError, err
	}
	return 0, nil
}

// Export writes a container's whole filesystem as a tar archive.
func Export(ctx context.Context, st *store.Store, root, runc, ref string, w io.Writer) error {
	p := NewPaths(root)
	c, err := p.Find(ctx, runc, ref)
	if err != nil {
		return err
	}
	_, lowers, err := p.imageLayers(ctx, st, c)
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
