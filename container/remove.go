package container

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/builder-dev/builder/filters"
	"github.com/builder-dev/builder/internal/runtime"
	"github.com/builder-dev/builder/store"
	"github.com/docker/go-units"
	"golang.org/x/sys/unix"
)

// remove deletes a stopped container's state: its place on builder0, its
// rootfs mount, its directory and its name. What it cannot undo keeps the
// container's record, so that it is shown and tried again: the record is
// the last file of its directory to go.
func (p records) remove(c *Container) error {
	unix.Unmount(p.rootfs(c.ID), unix.MNT_DETACH)
	if err := p.release(c); err != nil {
		return fmt.Errorf("remove container %s: %w", c.ID[:12], err)
	}
	if err := removeAllBut(p.dir(c.ID), filepath.Base(p.meta(c.ID))); err != nil {
		return fmt.Errorf("remove container %s: %w", c.ID[:12], err)
	}
	if err := os.RemoveAll(p.dir(c.ID)); err != nil {
		return fmt.Errorf("remove container %s: %w", c.ID[:12], err)
	}
	if c.Name != "" {
		if owner, err := os.ReadFile(p.nameFile(c.Name)); err == nil && strings.TrimSpace(string(owner)) == c.ID {
			os.Remove(p.nameFile(c.Name))
		}
	}
	// Last: a remove killed before this point leaves a lease that keeps
	// too much, never a container whose image is not held.
	leases := p.images
	if leases == nil {
		st, err := store.Open(store.Location(p.root))
		if err != nil {
			return err
		}
		leases = st
	}
	return leases.Release(context.Background(), c.ID)
}

// RemoveOptions are `builder rm` flags.
type RemoveOptions struct {
	// Force kills a running container first.
	Force bool
}

// Remove removes containers, printing each reference as docker does, then
// the unpacked layers no container needs any more.
func (m Manager) Remove(ctx context.Context, refs []string, o RemoveOptions, w io.Writer) error {
	p := m.records()
	var errs []string
	for _, ref := range refs {
		c, err := p.find(ctx, m.Runtime, ref)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		if c.Running {
			if !o.Force {
				errs = append(errs, fmt.Sprintf("cannot remove container %q: container is running: stop the container before removing or force remove", ref))
				continue
			}
			p.kill(ctx, m.Runtime, c.ID, syscall.SIGKILL)
			// Its monitor (or foreground builder) records the exit in the
			// container's directory: let it, before the directory goes.
			p.waitFinished(c.ID)
		}
		if err := p.destroy(ctx, m.Runtime, c); err != nil {
			errs = append(errs, err.Error())
			continue
		}
		fmt.Fprintln(w, ref)
	}
	if _, err := p.collectLayers(ctx, m.Store, m.Runtime); err != nil {
		errs = append(errs, err.Error())
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "\n"))
	}
	return nil
}

// destroy removes a stopped container: the runc record a builder killed
// mid-run leaves, then its state.
func (p records) destroy(ctx context.Context, rt runtime.Runtime, c *Container) error {
	if err := rt.Delete(ctx, c.ID); err != nil {
		return fmt.Errorf("remove container %s: %w", c.ID[:12], err)
	}
	return p.remove(c)
}

// PruneOptions are `builder container prune` flags.
type PruneOptions struct {
	// Filters are docker's: until=, label=, label!=.
	Filters []string
}

// Prune removes every stopped container that passes o's filters and the
// unpacked layers no container needs any more, reporting the space freed.
func (m Manager) Prune(ctx context.Context, o PruneOptions, w io.Writer) error {
	f, err := filters.ParsePrune(o.Filters, time.Now())
	if err != nil {
		return err
	}
	p := m.records()
	all, err := p.list(ctx, m.Runtime)
	if err != nil {
		return err
	}
	var ids []string
	var freed int64
	var errs []error
	for _, c := range all {
		if c.Running || !f.Match(c.Created, c.Config.Labels) {
			continue
		}
		size, _ := dirSize(p.upper(c.ID))
		if err := p.destroy(ctx, m.Runtime, c); err != nil {
			errs = append(errs, err)
			continue
		}
		ids = append(ids, c.ID)
		freed += size
	}
	n, err := p.collectLayers(ctx, m.Store, m.Runtime)
	freed += n
	if err != nil {
		errs = append(errs, err)
	}
	if len(ids) > 0 {
		fmt.Fprintln(w, "Deleted Containers:")
		for _, id := range ids {
			fmt.Fprintln(w, id)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "Total reclaimed space: %s\n", units.HumanSize(float64(freed)))
	return errors.Join(errs...)
}

// kill signals a container's process through runc and waits for it to go.
func (p records) kill(ctx context.Context, rt runtime.Runtime, id string, sig syscall.Signal) {
	rt.Kill(ctx, id, sig) // a process already gone is what kill wants
	for i := 0; i < 100 && rt.Alive(ctx, id); i++ {
		time.Sleep(50 * time.Millisecond)
	}
}

// removeAllBut removes every entry of dir except keep.
func removeAllBut(dir, keep string) error {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range ents {
		if e.Name() != keep {
			errs = append(errs, os.RemoveAll(filepath.Join(dir, e.Name())))
		}
	}
	return errors.Join(errs...)
}
