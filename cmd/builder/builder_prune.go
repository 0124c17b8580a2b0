package main

import (
	"fmt"
	"os"

	"github.com/builder-dev/builder/cache"
	"github.com/docker/go-units"
	"github.com/urfave/cli/v2"
)

// builderPruneCommand is `builder builder prune`: the build cache.
func builderPruneCommand() *cli.Command {
	return &cli.Command{
		Name:  "prune",
		Usage: "Remove build cache",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "remove all unused build cache, not just dangling ones"},
			&cli.StringSliceFlag{Name: "filter", Usage: `provide filter values (e.g. "until=24h")`},
			&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "do not prompt for confirmation"},
			&cli.StringFlag{Name: "keep-storage", Usage: "amount of disk space to keep for cache"},
		},
		Action: func(c *cli.Context) error {
			var keep int64
			if v := c.String("keep-storage"); v != "" {
				n, err := units.RAMInBytes(v)
				if err != nil {
					return fmt.Errorf("--keep-storage %q: %w", v, err)
				}
				keep = n
			}
			if !c.Bool("force") && !confirm("WARNING! This will remove all dangling build cache.") {
				return nil
			}
			_, root, err := openStore(c)
			if err != nil {
				return err
			}
			s, err := openSolver(c.Context, c, root)
			if err != nil {
				return err
			}
			defer s.Close()
			return cache.Prune(c.Context, s.Client, cache.PruneOptions{All: c.Bool("all"), Filters: c.StringSlice("filter"), KeepStorage: keep}, os.Stdout)
		},
	}
}
