// Package container runs containers from images in the local store with
// runc: the image's layers as overlay lowers, a writable layer on top that
// outlives the process (until rm, so it can be committed), and the image
// config (Entrypoint, Cmd, Env, WorkingDir, User) applied. A run's stages
// are each in a file: the config (config.go), the record and what it holds
// (run.go, state.go, layers.go, network.go), the runc bundle (spec.go),
// runc itself (runc.go), the exit status (exit.go).
package container

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/builder-dev/builder/network"
	"github.com/builder-dev/builder/store"
	"golang.org/x/sys/unix"
)

// RunOptions are `builder run`'s options.
type RunOptions struct {
	Image string
	// Args replace the image's Cmd when given.
	Args []string
	Name string
	// Entrypoint, when set, replaces the image's (and drops its Cmd).
	Entrypoint *string
	Env        []string
	EnvFiles   []string
	Workdir    string
	User       string
	Volumes    []string
	Network    string // "bridge" (the default), "host" or "none"
	// Publish are -p values; PublishAll (-P) publishes every EXPOSEd port.
	Publish     []string
	PublishAll  bool
	Hostname    string
	ReadOnly    bool
	Interactive bool
	TTY         bool
	Remove      bool
	// Platform picks one image of a multi-platform image ("" for this
	// machine's); the container then holds that image's manifest.
	Platform string
	// Detach leaves the container running under a monitor process and
	// prints its ID; its output goes to the log `builder logs` reads.
	Detach bool
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
}

// Run creates a container from o.Image and runs its process: to the end in
// the foreground, or under a monitor with Detach. It returns nil when the
// process exited 0, an *ExitError with its code when not, and one of 125
// when it could not be run.
func (m Manager) Run(ctx context.Context, o RunOptions) error {
	p := m.records()
	c, ports, err := create(ctx, p, o)
	if err != nil {
		return RunFailed(err)
	}
	defer ports.Close()
	if o.Detach {
		if err := spawnMonitor(p, c, m.Runtime, ports); err != nil {
			warn(p.remove(c))
			return RunFailed(err)
		}
		fmt.Fprintln(o.Stdout, c.ID)
		return nil
	}
	code, err := runRunc(ctx, m.Runtime, p, c, o)
	if ferr := p.finish(c, code, ports); ferr != nil && err == nil {
		return RunFailed(ferr)
	}
	return exited(code, err)
}

// create makes the container o asks for, ready to run: its record (whose
// lease holds the image), its place on builder0 with its host ports
// reserved (returned: by this process in the foreground, by the monitor,
// which inherits them, with -d), its rootfs and runc bundle. A failure
// removes what was made, through one rollback.
func create(ctx context.Context, p records, o RunOptions) (_ *Container, _ *network.Reservation, err error) {
	// From finding the image until the container's lease holds it, no
	// collection may sweep its blobs.
	storeDone, err := p.images.Writing(ctx)
	if err != nil {
		return nil, nil, err
	}
	defer storeDone()
	c, d, err := newContainer(ctx, p.images, o)
	if err != nil {
		return nil, nil, err
	}
	if err := p.reserveName(c.Name, c.ID); err != nil {
		return nil, nil, err
	}
	defer func() {
		if err != nil {
			warn(p.remove(c))
		}
	}()
	if err := os.MkdirAll(p.dir(c.ID), 0700); err != nil {
		return nil, nil, err
	}
	// The lease is taken before the record is saved, and released after
	// it is removed, so a listed container's image is always held.
	if err := p.images.Lease(ctx, c.ID, c.Target); err != nil {
		return nil, nil, err
	}
	storeDone()
	// Until the rootfs is mounted, the layers this container needs must
	// not be collected by a process that has not seen its record.
	layersDone, err := p.usingLayers()
	if err != nil {
		return nil, nil, err
	}
	defer layersDone()
	if err := p.save(c); err != nil {
		return nil, nil, err
	}
	lowers, err := layerDirs(ctx, p.images.Content(), d, p.layers())
	if err != nil {
		return nil, nil, err
	}
	ports, err := p.attach(ctx, c, hostname(c, o))
	if err != nil {
		return nil, nil, err
	}
	defer func() {
		if err != nil {
			ports.Close()
		}
	}()
	if !o.Detach {
		if err := serve(c, ports); err != nil {
			return nil, nil, err
		}
	}
	if err := prepareBundle(ctx, p, c, lowers, o); err != nil {
		return nil, nil, err
	}
	layersDone()
	c.Running, c.StartedAt = true, time.Now().UTC()
	if err := p.save(c); err != nil {
		return nil, nil, err
	}
	return c, ports, nil
}

// newContainer is the record, not yet saved, of a container of o.Image
// (o.Platform's image of it): its ID, its name, its network and published
// ports, the config with o applied, the command.
func newContainer(ctx context.Context, images store.Catalog, o RunOptions) (*Container, store.Details, error) {
	mode, err := netMode(o.Network, len(o.Publish) > 0 || o.PublishAll)
	if err != nil {
		return nil, store.Details{}, err
	}
	publish, err := network.ParsePorts(o.Publish)
	if err != nil {
		return nil, store.Details{}, err
	}
	img, d, err := images.Lookup(ctx, o.Image)
	if err != nil {
		return nil, d, store.NoSuchImageFor(err, o.Image)
	}
	if o.Platform != "" {
		if img.Target, d, err = images.ForPlatform(ctx, img.Target, o.Platform); err != nil {
			return nil, d, fmt.Errorf("image %s: %w", o.Image, err)
		}
	}
	cfg, err := effectiveConfig(d.Config.Config, o)
	if err != nil {
		return nil, d, err
	}
	if o.PublishAll {
		exposed, err := network.Exposed(cfg.ExposedPorts)
		if err != nil {
			return nil, d, err
		}
		publish = append(publish, exposed...)
	}
	args := append(append([]string{}, cfg.Entrypoint...), cfg.Cmd...)
	if len(args) == 0 {
		return nil, d, errors.New("no command specified")
	}
	id := newID()
	name := o.Name
	if name == "" {
		name = generateName(id)
	}
	return &Container{ID: id, Name: name, Image: o.Image, ImageID: d.ID(), Target: img.Target, Config: cfg, Args: args,
		Created: time.Now().UTC(), Remove: o.Remove, Network: mode, Publish: publish}, d, nil
}

// finish records a container's exit and releases its rootfs mount (the
// writable layer stays for commit), or removes it for --rm.
// ports, the container's reserved host ports, are freed before the
// network is released, and that before stop returns (waitFinished).
func (p records) finish(c *Container, code int, ports *network.Reservation) error {
	unix.Unmount(p.rootfs(c.ID), unix.MNT_DETACH)
	c.Running, c.FinishedAt, c.ExitCode = false, time.Now().UTC(), code
	ports.Close()
	if c.Remove {
		return p.remove(c)
	}
	if err := p.save(c); err != nil {
		return fmt.Errorf("record the exit of container %s: %w", c.ID[:12], err)
	}
	// The network is released even so: a later start attaches anew.
	warn(p.release(c))
	return nil
}

func newID() string {
	var b [32]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
