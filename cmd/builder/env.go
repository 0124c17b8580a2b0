package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/builder-dev/builder/config"
	"github.com/builder-dev/builder/internal/runtime"
	"github.com/builder-dev/builder/registry"
	"github.com/builder-dev/builder/solver"
	"github.com/builder-dev/builder/store"
	"github.com/urfave/cli/v2"
)

// rootDir is the state directory: --root, BUILDER_ROOT, or the default.
func rootDir(c *cli.Context) (string, error) {
	root := c.String("root")
	if root == "" {
		root = "/var/lib/builder"
		if os.Geteuid() != 0 {
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
	if err := os.MkdirAll(root, 0700); err != nil {
		return nil, "", fmt.Errorf("create state root: %w", err)
	}
	st, err := store.Open(store.Location(root))
	return st, root, err
}

// openSolver connects to the embedded solver under root or to --addr.
func openSolver(ctx context.Context, c *cli.Context, root string) (*solver.Solver, error) {
	cfg, err := config.Load(c.String("config"), root)
	if err != nil {
		return nil, err
	}
	opt := solver.Options{Root: root, Addr: c.String("addr"), Registries: cfg.Registries, GC: cfg.GC, Log: os.Stderr}
	if opt.Addr == "" {
		opt.Runc, err = runtime.Find(func(msg string) { fmt.Fprintln(os.Stderr, "WARNING:", msg) })
		if err != nil {
			return nil, err
		}
	}
	return solver.Open(ctx, opt)
}

// openContainers opens what container verbs that touch images need: the
// store, the state root and the container runtime.
func openContainers(c *cli.Context) (*store.Store, string, runtime.Runtime, error) {
	st, root, err := openStore(c)
	if err != nil {
		return nil, "", runtime.Runtime{}, err
	}
	root, rt, err := containerEnv(c)
	if err != nil {
		return nil, "", rt, err
	}
	return st, root, rt, nil
}

// openRegistry opens the store and a registry client configured from the
// config file under its root.
func openRegistry(c *cli.Context) (*store.Store, *registry.Client, error) {
	st, root, err := openStore(c)
	if err != nil {
		return nil, nil, err
	}
	cfg, err := config.Load(c.String("config"), root)
	if err != nil {
		return nil, nil, err
	}
	return st, registry.New(cfg.Registries), nil
}

// containerEnv is what every container verb needs: the state root and runc.
func containerEnv(c *cli.Context) (root string, rt runtime.Runtime, err error) {
	root, err = rootDir(c)
	if err != nil {
		return "", rt, err
	}
	runc, err := runtime.Find(func(msg string) { fmt.Fprintln(os.Stderr, "WARNING:", msg) })
	return root, runtime.ForContainers(runc, root), err
}
