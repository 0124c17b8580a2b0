package main

import (
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/builder-dev/builder/cache"
	"github.com/docker/go-units"
	"github.com/urfave/cli/v2"
)

// builderCommand is `builder builder prune`, docker's name for the build
// cache's management command.
func builderCommand() *cli.Command {
	return &cli.Command{
		Name:  "builder",
		Usage: "Manage builds",
		Subcommands: []*cli.Command{{
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
		}},
	}
}

// systemCommand is `builder system df`.
func systemCommand() *cli.Command {
	return &cli.Command{
		Name:  "system",
		Usage: "Manage builder",
		Subcommands: []*cli.Command{{
			Name:  "df",
			Usage: "Show disk usage",
			Action: func(c *cli.Context) error {
				st, root, err := openStore(c)
				if err != nil {
					return err
				}
				imgs, err := st.List(c.Context)
				if err != nil {
					return err
				}
				distinct := map[string]bool{}
				for _, img := range imgs {
					distinct[img.Target.Digest.String()] = true
				}
				size, err := st.BlobsSize(c.Context)
				if err != nil {
					return err
				}
				s, err := openSolver(c.Context, c, root)
				if err != nil {
					return err
				}
				defer s.Close()
				bc, err := cache.DiskUsage(c.Context, s.Client)
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(os.Stdout, 10, 1, 3, ' ', 0)
				fmt.Fprintln(tw, "TYPE\tTOTAL\tACTIVE\tSIZE\tRECLAIMABLE")
				// No container keeps an image in use yet: all of it is reclaimable.
				fmt.Fprintf(tw, "Images\t%d\t0\t%s\t%s (100%%)\n", len(distinct), units.HumanSize(float64(size)), units.HumanSize(float64(size)))
				fmt.Fprintf(tw, "Containers\t0\t0\t0B\t0B\n")
				fmt.Fprintf(tw, "Local Volumes\t0\t0\t0B\t0B\n")
				fmt.Fprintf(tw, "Build Cache\t%d\t%d\t%s\t%s\n", bc.Total, bc.Active, units.HumanSize(float64(bc.Size)), units.HumanSize(float64(bc.Reclaimable)))
				return tw.Flush()
			},
		}},
	}
}
