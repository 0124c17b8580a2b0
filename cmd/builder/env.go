package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/builder-dev/builder/config"
	"github.com/builder-dev/builder/container"
	"github.com/builder-dev/builder/internal/runtime"
	"github.com/builder-dev/builder/registry"
	"github.com/builder-dev/builder/rootless"
	"github.com/builder-dev/builder/solver"
	"github.com/builder-dev/builder/store"
	"github.com/urfave/cli/v2"
)

// rootDir is the state directory: --root, BUILDER_ROOT, or the default.
func rootDir(c *cli.Context) (string, error) {
	root := c.String("root")
	if root == "" {
		root = "/var/lib/builder"
		if rootless.HostUID() != 0 {
			data := os.Getenv("XDG_DATA_HOME")
			if data == "" {
				home, err := os.UserHomeDir()
				if err != nil {
					return "", fmt.Errorf("find state directory: %w", err)
				}
				data = filepath.Join(home, ".local", "share")
			}
			root = filepath.Join(data, "builder")
		}
	}
	return filepath.Abs(root)
}

// openStore opens the local image store under the state root.
func openStore(c *cli.Context) (*store.Store, string, error) {
	root, err := rootDir(c)
	if err != nil {
		return nil, "", err
	}
	st, err := openStoreAt(root)
	return st, root, err
}

// openStoreAt opens the local image store under root, creating the root.
func openStoreAt(root string) (*store.Store, error) {
	if err := os.MkdirAll(root, 0700); err != nil {
		return nil, fmt.Errorf("create state root: %w", err)
	}
	return store.Open(store.Location(root))
}

// openSolver connects to the embedded solver under root or to --addr.
func openSolver(ctx context.Context, c *cli.Context, root string) (*solver.Solver, error) {
	a, err := addr(c)
	if err != nil {
		return nil, err
	}
	return openSolverAt(ctx, c, root, a)
}

// openSolverAt connects to the embedded solver under root, or to addr.
func openSolverAt(ctx context.Context, c *cli.Context, root, addr string) (*solver.Solver, error) {
	cfg, err := config.Load(c.String("config"), root)
	if err != nil {
		return nil, err
	}
	opt := solver.Options{Root: root, Addr: addr, Registries: cfg.Registries, GC: cfg.GC, Log: os.Stderr,
		Entitlements: cfg.Entitlements, CDI: cfg.CDI,
		TLSServerName: c.String("tlsservername")}
	if opt.TLS, err = tlsFiles(c); err != nil {
		return nil, err
	}
	if opt.Addr == "" {
		opt.Runc, err = findRunc()
		if err != nil {
			return nil, err
		}
	}
	return solver.Open(ctx, opt)
}

// openContainers is the container manager, with the image store, for the
// container verbs that touch images.
func openContainers(c *cli.Context) (container.Manager, error) {
	m, err := containers(c)
	if err != nil {
		return m, err
	}
	m.Store, _, err = openStore(c)
	return m, err
}

// openRegistry opens the store and a registry client configured from the
// config file under its root.
func openRegistry(c *cli.Context) (*store.Store, *registry.Client, error) {
	st, root, err := openStore(c)
	if err != nil {
		return nil, nil, err
	}
	reg, err := registryClient(c, root)
	return st, reg, err
}

// registryClient talks to registries as the config under root says.
func registryClient(c *cli.Context, root string) (*registry.Client, error) {
	cfg, err := config.Load(c.String("config"), root)
	if err != nil {
		return nil, err
	}
	return registry.New(cfg.Registries), nil
}

// findRunc finds the runc to run with, warning on stderr about an old one.
func findRunc() (string, error) {
	return runtime.Find(func(msg string) { fmt.Fprintln(os.Stderr, "WARNING:", msg) })
}

// containers is the container manager under the state root, with runc;
// verbs that touch no image need no store.
func containers(c *cli.Context) (container.Manager, error) {
	root, err := rootDir(c)
	if err != nil {
		return container.Manager{}, err
	}
	runc, err := findRunc()
	if err != nil {
		return container.Manager{}, err
	}
	return container.Manager{Root: root, Runtime: runtime.ForContainers(runc, root)}, nil
}

// tlsFiles are the global --tlscacert, --tlscert, --tlskey or --tlsdir, as
// buildctl takes them.
func tlsFiles(c *cli.Context) (solver.TLSFiles, error) {
	f := solver.TLSFiles{CACert: c.String("tlscacert"), Cert: c.String("tlscert"), Key: c.String("tlskey")}
	if dir := c.String("tlsdir"); dir != "" {
		if !f.Empty() {
			return f, fmt.Errorf("--tlsdir and --tlscacert/--tlscert/--tlskey: give one or the other")
		}
		return solver.TLSFilesFromDir(dir)
	}
	return f, nil
}

// addr is the one --addr given, or "" for the embedded solver. Only build
// splits its platforms over several.
func addr(c *cli.Context) (string, error) {
	addrs := c.StringSlice("addr")
	switch len(addrs) {
	case 0:
		return "", nil
	case 1:
		return addrs[0], nil
	}
	return "", fmt.Errorf("several --addr: only build uses several solvers (one platform's build each)")
}
