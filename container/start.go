package container

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// StartOptions are `builder start` flags and arguments.
type StartOptions struct {
	Containers []string
	// Attach runs the (last) container in the foreground, its output to
	// Stdout and Stderr; Interactive gives it Stdin too.
	Attach, Interactive bool
	Stdin               io.Reader
	Stdout, Stderr      io.Writer
}

// Start starts stopped containers again, detached, or attached: then it
// returns as Exec does for the container's process.
func (m Manager) Start(ctx context.Context, o StartOptions) error {
	refs, attach, stdout := o.Containers, o.Attach || o.Interactive, o.Stdout
	p := m.records()
	for _, ref := range refs {
		c, err := p.find(ctx, m.Runtime, ref)
		if err != nil {
			return err
		}
		if c.Running {
			if !attach {
				fmt.Fprintln(stdout, ref)
			}
			continue
		}
		_, lowers, err := p.imageLayers(ctx, m.Store, c)
		if err != nil {
			return err
		}
		if len(lowers) == 0 {
			lowers = []string{filepath.Join(p.dir(c.ID), "empty")}
		}
		// The runc record of the last run, if any, goes first.
		if err := m.Runtime.Delete(ctx, c.ID); err != nil {
			return fmt.Errorf("start %s: %w", ref, err)
		}
		if err := mountRootfs(lowers, p.upper(c.ID), filepath.Join(p.dir(c.ID), "work"), p.rootfs(c.ID)); err != nil {
			return err
		}
		// A new place on builder0, the same ports asked for.
		spec, err := p.spec(c.ID)
		if err != nil {
			return fmt.Errorf("start %s: %w", ref, err)
		}
		ports, err := p.attach(ctx, c, spec.Hostname)
		if err != nil {
			unix.Unmount(p.rootfs(c.ID), unix.MNT_DETACH)
			return fmt.Errorf("start %s: %w", ref, err)
		}
		// Every path from here closes ports: finish, or after the monitor
		// inherited them.
		if c.Attachment != nil {
			if err := p.setNetNS(c); err != nil {
				warn(p.finish(c, ExitBuilderError, ports))
				return fmt.Errorf("start %s: %w", ref, err)
			}
		}
		c.Running, c.StartedAt, c.FinishedAt = true, time.Now().UTC(), time.Time{}
		if err := p.save(c); err != nil {
			warn(p.finish(c, ExitBuilderError, ports))
			return fmt.Errorf("start %s: %w", ref, err)
		}
		if !attach {
			if err := spawnMonitor(p, c, m.Runtime, ports); err != nil {
				warn(p.finish(c, ExitBuilderError, ports))
				return err
			}
			ports.Close()
			fmt.Fprintln(stdout, ref)
			continue
		}
		if err := serve(c, ports); err != nil {
			warn(p.finish(c, ExitBuilderError, ports))
			return fmt.Errorf("start %s: %w", ref, err)
		}
		code, err := runRunc(ctx, m.Runtime, p, c, RunOptions{Interactive: o.Interactive, Stdin: o.Stdin, Stdout: o.Stdout, Stderr: o.Stderr})
		if ferr := p.finish(c, code, ports); ferr != nil && err == nil {
			return ferr
		}
		return exited(code, err)
	}
	return nil
}
