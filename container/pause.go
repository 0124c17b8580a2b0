package container

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/builder-dev/builder/internal/rootfile"
	"github.com/builder-dev/builder/internal/runtime"
	"github.com/moby/sys/userns"
)

// Pause freezes running containers, as docker pause does.
func (m Manager) Pause(ctx context.Context, refs []string, w io.Writer) error {
	return m.eachContainer(ctx, refs, w, func(p records, c *Container) error {
		if !c.Running {
			return fmt.Errorf("Container %s is not running", c.ID)
		}
		if c.Paused {
			return fmt.Errorf("Container %s is already paused", c.ID)
		}
		return m.Runtime.Pause(ctx, c.ID)
	})
}

// Unpause thaws paused containers, as docker unpause does.
func (m Manager) Unpause(ctx context.Context, refs []string, w io.Writer) error {
	return m.eachContainer(ctx, refs, w, func(p records, c *Container) error {
		if !c.Paused {
			return fmt.Errorf("Container %s is not paused", c.ID)
		}
		return m.Runtime.Resume(ctx, c.ID)
	})
}

// eachContainer applies fn to each ref, printing the ref on success and
// joining the errors, as docker's container verbs do.
func (m Manager) eachContainer(ctx context.Context, refs []string, w io.Writer, fn func(records, *Container) error) error {
	p := m.records()
	var errs []string
	for _, ref := range refs {
		c, err := p.find(ctx, m.Runtime, ref)
		if err == nil {
			err = fn(p, c)
		}
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		fmt.Fprintln(w, ref)
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "\n"))
	}
	return nil
}

// A commit pauses a running container while it reads its layer. Killed
// then, it could never resume it: so it holds commit.lock for as long as
// the pause lasts, and whoever next lists the container and finds it
// paused with that lock free resumes it. A pause the user asked for has
// no lock file and stays.

func (p Paths) commitLock(id string) string { return filepath.Join(p.dir(id), "commit.lock") }

// pauseForCommit pauses c and returns the function that resumes it.
func (p records) pauseForCommit(ctx context.Context, rt runtime.Runtime, c *Container) (resume func(), err error) {
	l := rootfile.Lock(p.commitLock(c.ID))
	ok, err := l.TryLock()
	if err != nil {
		return nil, fmt.Errorf("lock container %s for commit: %w", c.ID[:12], err)
	}
	if !ok {
		return nil, fmt.Errorf("container %s is being committed by another process", c.ID[:12])
	}
	if err := rt.Pause(ctx, c.ID); err != nil {
		os.Remove(p.commitLock(c.ID))
		l.Unlock()
		if userns.RunningInUserNS() {
			// Without root, containers get no cgroup (rootless runc on a
			// host without delegated cgroup v2), so there is no freezer.
			return nil, fmt.Errorf("%w: a container run without root cannot be paused here; commit it with --pause=false, or stop it first", err)
		}
		return nil, err
	}
	return func() {
		// Resumed even when ctx was cancelled (Ctrl-C during commit).
		rt.Resume(context.WithoutCancel(ctx), c.ID)
		os.Remove(p.commitLock(c.ID))
		l.Unlock()
	}, nil
}

// resumeOrphaned resumes c if a commit paused it and is gone; it reports
// whether c was resumed.
func (p records) resumeOrphaned(ctx context.Context, rt runtime.Runtime, c *Container) bool {
	if _, err := os.Stat(p.commitLock(c.ID)); err != nil {
		return false
	}
	l := rootfile.Lock(p.commitLock(c.ID))
	ok, err := l.TryLock()
	if err != nil || !ok {
		return false // the commit still runs
	}
	defer l.Unlock()
	if rt.Resume(ctx, c.ID) != nil {
		return false
	}
	os.Remove(p.commitLock(c.ID))
	return true
}
