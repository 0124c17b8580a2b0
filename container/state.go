package container

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/builder-dev/builder/internal/atomicfile"
	"github.com/builder-dev/builder/internal/runtime"
	"github.com/builder-dev/builder/network"
	"github.com/builder-dev/builder/store"
	"github.com/containerd/containerd/v2/core/content"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Container is what builder records of a container: enough to list it,
// commit it and remove it. It lives in ROOT/containers/ID/container.json.
type Container struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Image string `json:"image"` // as the user named it
	// ImageID is the image's config digest; Target its manifest.
	ImageID string             `json:"imageID"`
	Target  ocispec.Descriptor `json:"target"`
	// Config is the container's effective config (the image's, with run
	// options applied): what commit records.
	Config     ocispec.ImageConfig `json:"config"`
	Args       []string            `json:"args"`
	Created    time.Time           `json:"created"`
	StartedAt  time.Time           `json:"startedAt"`
	FinishedAt time.Time           `json:"finishedAt"`
	Running    bool                `json:"running"`
	// Paused is runc's word, asked each time (Running is true too).
	Paused   bool `json:"-"`
	ExitCode int  `json:"exitCode"`
	Remove   bool `json:"remove"`
	// Network is the --network mode; Publish the ports asked for (-p, -P),
	// and Attachment the container's place on builder0 while it runs.
	Network    string              `json:"network,omitempty"`
	Publish    []network.Port      `json:"publish,omitempty"`
	Attachment *network.Attachment `json:"attachment,omitempty"`
	// NetOwner is the process that holds the attachment's host ports and
	// releases it at the exit: run in the foreground, or the monitor.
	NetOwner int `json:"netOwner,omitempty"`
}

// Manager runs and keeps the containers under a state root: their
// records and layers there, their processes through the runtime, their
// images (which they lease) in the store.
type Manager struct {
	Root    string
	Runtime runtime.Runtime
	Store   *store.Store
}

// Paths are where a container's parts live under the state root: paths
// only.
type Paths struct{ root string }

// NewPaths returns the container layout under a state root.
func NewPaths(root string) Paths { return Paths{root: root} }

// records are the containers' records under a state root, and what each
// holds there: its name, its image's lease, its layers, its place on
// builder0, its runc state. The Manager's verbs work through them.
type records struct {
	Paths
	// images is the image store the records' leases are in; nil where
	// the Manager was given none (remove then opens the root's).
	images Images
}

// Images is what containers need of the image store: finding an image,
// holding it by a lease, keeping collection off it meanwhile, and its
// blobs. *store.Store is one.
type Images interface {
	store.Catalog
	store.Leaser
	store.Gate
	Content() content.Store
}

var _ Images = (*store.Store)(nil)

func (m Manager) records() records {
	r := records{Paths: NewPaths(m.Root)}
	if m.Store != nil {
		r.images = m.Store
	}
	return r
}

func (p Paths) dir(id string) string     { return filepath.Join(p.root, "containers", id) }
func (p Paths) names() string            { return filepath.Join(p.root, "containers", "names") }
func (p Paths) meta(id string) string    { return filepath.Join(p.dir(id), "container.json") }
func (p Paths) upper(id string) string   { return filepath.Join(p.dir(id), "upper") }
func (p Paths) rootfs(id string) string  { return filepath.Join(p.dir(id), "rootfs") }
func (p Paths) layers() string           { return filepath.Join(p.root, "layers") }
func (p Paths) nameFile(n string) string { return filepath.Join(p.names(), n) }

// specPath is the container's runtime spec, in its bundle directory.
func (p Paths) specPath(id string) string { return filepath.Join(p.dir(id), "config.json") }

// spec reads the container's runtime spec (what run wrote for runc).
func (p records) spec(id string) (*specs.Spec, error) {
	dt, err := os.ReadFile(p.specPath(id))
	if err != nil {
		return nil, err
	}
	var s specs.Spec
	if err := json.Unmarshal(dt, &s); err != nil {
		return nil, err
	}
	if s.Process == nil {
		return nil, errors.New("no process")
	}
	return &s, nil
}

func (p records) save(c *Container) error {
	dt, err := json.Marshal(c)
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(p.meta(c.ID), dt, 0600)
}

func (p records) load(id string) (*Container, error) {
	dt, err := os.ReadFile(p.meta(id))
	if err != nil {
		return nil, err
	}
	var c Container
	if err := json.Unmarshal(dt, &c); err != nil {
		return nil, fmt.Errorf("read container %s: %w", id, err)
	}
	return &c, nil
}

// reserveName claims name for id; O_EXCL makes the claim atomic across
// processes, so two runs cannot take one name.
func (p records) reserveName(name, id string) error {
	if err := os.MkdirAll(p.names(), 0700); err != nil {
		return err
	}
	f, err := os.OpenFile(p.nameFile(name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0600)
	if errors.Is(err, os.ErrExist) {
		other, _ := os.ReadFile(p.nameFile(name))
		return fmt.Errorf("Conflict. The container name \"/%s\" is already in use by container \"%s\". You have to remove (or rename) that container to be able to reuse that name.", name, strings.TrimSpace(string(other)))
	}
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.WriteString(id)
	return err
}

// ErrNoSuchContainer is docker's error for an unknown container.
var ErrNoSuchContainer = errors.New("No such container")

// list returns every container, newest first, with Running checked
// against runc (a builder killed mid-run cannot have recorded the exit).
func (p records) list(ctx context.Context, rt runtime.Runtime) ([]*Container, error) {
	ents, err := os.ReadDir(filepath.Join(p.root, "containers"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []*Container
	for _, e := range ents {
		if !e.IsDir() || e.Name() == "names" {
			continue
		}
		c, err := p.load(e.Name())
		if err != nil {
			continue // being created or removed
		}
		if c.Running {
			switch rt.Status(ctx, c.ID) {
			case "running":
			case "paused":
				c.Paused = !p.resumeOrphaned(ctx, rt, c)
			default:
				c.Running = false
			}
		}
		if !c.Running && c.Attachment != nil && !alive(c.NetOwner) {
			// Its builder or monitor was killed: what it held on
			// builder0 is swept now.
			warn(p.release(c))
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Created.After(out[j].Created) })
	return out, nil
}

// find looks a container up by name, ID or ID prefix.
func (p records) find(ctx context.Context, rt runtime.Runtime, ref string) (*Container, error) {
	all, err := p.list(ctx, rt)
	if err != nil {
		return nil, err
	}
	var match *Container
	for _, c := range all {
		if c.Name == ref || c.ID == ref {
			return c, nil
		}
		if strings.HasPrefix(c.ID, ref) && len(ref) >= 1 {
			if match != nil {
				return nil, fmt.Errorf("multiple containers match %q", ref)
			}
			match = c
		}
	}
	if match == nil {
		return nil, fmt.Errorf("%w: %s", ErrNoSuchContainer, ref)
	}
	return match, nil
}

// Running reports whether container id's process runs (or is paused):
// the Manager answers images.Containers for rmi.
func (m Manager) Running(ctx context.Context, id string) bool {
	return m.Runtime.Alive(ctx, id)
}

// alive reports whether process pid exists.
func alive(pid int) bool {
	return pid > 0 && syscall.Kill(pid, 0) != syscall.ESRCH
}
