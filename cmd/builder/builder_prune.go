package main

import (
	"fmt"
	"os"

	"github.com/builder-dev/builder/cache"
	"github.com/docker/go-units"
	"github.com/moby/buildkit/client"
	"github.com/urfave/cli/v2"
)

// builderPruneCommand is `builder builder prune`: the build cache, with
// docker's and buildx's flags.
func builderPruneCommand() *cli.Command {
	return &cli.Command{
		Name:  "prune",
		Usage: "Remove build cache",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "remove all unused build cache, not just dangling ones"},
			&cli.StringSliceFlag{Name: "filter", Usage: `provide filter values (e.g. "until=24h"; id, parent, type, description, inuse, shared, private)`},
			&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "do not prompt for confirmation"},
			&cli.StringFlag{Name: "reserved-space", Usage: "amount of disk space always allowed to keep for cache"},
			&cli.StringFlag{Name: "max-used-space", Usage: "maximum amount of disk space allowed to keep for cache"},
			&cli.StringFlag{Name: "min-free-space", Usage: "target amount of free disk space after pruning"},
			&cli.StringFlag{Name: "keep-storage", Usage: "amount of disk space to keep for cache (buildx's older name for --reserved-space)"},
			&cli.BoolFlag{Name: "verbose", Usage: "print each record removed"},
		},
		Action: func(c *cli.Context) error {
			o := cache.PruneOptions{All: c.Bool("all"), Filters: c.StringSlice("filter"), Verbose: c.Bool("verbose")}
			for flag, dst := range map[string]*int64{"reserved-space": &o.ReservedSpace, "max-used-space": &o.MaxUsedSpace,
				"min-free-space": &o.MinFreeSpace, "keep-storage": &o.KeepStorage} {
				if v := c.String(flag); v != "" {
					n, err := units.RAMInBytes(v)
					if err != nil || n < 0 {
						return fmt.Errorf("--%s %q: want a size (10GB, 512MiB)", flag, v)
					}
					*dst = n
				}
			}
			warning := "WARNING! This will remove all dangling build cache."
			if o.All {
				warning = "WARNING! This will remove all build cache."
			}
			if !c.Bool("force") && !confirm(warning) {
				return nil
			}
			return withCache(c, func(bc *client.Client) error { return cache.Prune(c.Context, bc, o, os.Stdout) })
		},
	}
}

// duCommand is `builder du`, buildx du: the build cache's records.
func duCommand() *cli.Command {
	return &cli.Command{
		Name:  "du",
		Usage: "Disk usage of the build cache",
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "filter", Usage: `provide filter values (id, parent, type, description, inuse, shared, private)`},
			&cli.BoolFlag{Name: "verbose", Usage: `every record's details (--format=pretty)`},
			&cli.StringFlag{Name: "format", Usage: "format the output: table, pretty, json, or a Go template"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageError(c, "accepts no arguments")
			}
			o := cache.DUOptions{Filters: c.StringSlice("filter"), Verbose: c.Bool("verbose"), Format: c.String("format")}
			return withCache(c, func(bc *client.Client) error { return cache.DU(c.Context, bc, o, os.Stdout) })
		},
	}
}

// withCache runs fn on the solver of the root (or --addr) whose build
// cache the verb reads or prunes, closed after.
func withCache(c *cli.Context, fn func(*client.Client) error) error {
	_, root, err := openStore(c)
	if err != nil {
		return err
	}
	s, err := openSolver(c.Context, c, root)
	if err != nil {
		return err
	}
	defer s.Close()
	return fn(s.Client)
}
