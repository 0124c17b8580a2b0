package container

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// remove deletes a stopped container's state: its runc record, its rootfs
// mount, its directory and its name.
func (p Paths) remove(c *Container) {
	unix.Unmount(p.rootfs(c.ID), unix.MNT_DETACH)
	os.RemoveAll(p.dir(c.ID))
	if c.Name != "" {
		if owner, err := os.ReadFile(p.nameFile(c.Name)); err == nil && strings.TrimSpace(string(owner)) == c.ID {
			os.Remove(p.nameFile(c.Name))
		}
	}
}

// RemoveOptions are `builder rm` flags.
type RemoveOptions struct {
	// Force kills a running container first.
	Force bool
}

// Remove removes containers, printing each reference as docker does.
func Remove(ctx context.Context, root, runc string, refs []string, o RemoveOptions, w io.Writer) error {
	p := NewPaths(root)
	var errs []string
	for _, ref := range refs {
		c, err := p.Find(ctx, runc, ref)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		if c.Running {
			if !o.Force {
				errs = append(errs, fmt.Sprintf("cannot remove container %q: container is running: stop the container before removing or force remove", ref))
				continue
			}
			p.kill(ctx, runc, c.ID, syscall.SIGKILL)
		}
		// A runc record is left when builder was killed mid-run.
		exec.CommandContext(ctx, runc, "--root", p.runcRoot(), "delete", "--force", c.ID).Run()
		p.remove(c)
		fmt.Fprintln(w, ref)
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "\n"))
	}
	return nil
}

// Prune removes every stopped container.
func Prune(ctx context.Context, root, runc string, w io.Writer) error {
	p := NewPaths(root)
	all, err := p.List(ctx, runc)
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "Deleted Containers:")
	for _, c := range all {
		if c.Running {
			continue
		}
		exec.CommandContext(ctx, runc, "--root", p.runcRoot(), "delete", "--force", c.ID).Run()
		p.remove(c)
		fmt.Fprintln(w, c.ID)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Total reclaimed space: 0B")
	return nil
}

// kill signals a container's process through runc and waits for it to go.
func (p Paths) kill(ctx context.Context, runc, id string, sig syscall.Signal) {
	exec.CommandContext(ctx, runc, "--root", p.runcRoot(), "kill", id, fmt.Sprint(int(sig))).Run()
	for i := 0; i < 100 && p.alive(ctx, runc, id); i++ {
		time.Sleep(50 * time.Millisecond)
	}
}
