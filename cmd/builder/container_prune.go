package main

import (
	"os"

	"github.com/builder-dev/builder/container"
	"github.com/urfave/cli/v2"
)

// containerPruneCommand is `builder container prune`.
func containerPruneCommand() *cli.Command {
	return &cli.Command{
		Name:  "prune",
		Usage: "Remove all stopped containers",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "do not prompt for confirmation"},
			&cli.StringSliceFlag{Name: "filter", Usage: `provide filter values (e.g. "until=<timestamp>")`},
		},
		Action: func(c *cli.Context) error {
			if !c.Bool("force") && !confirm("WARNING! This will remove all stopped containers.") {
				return nil
			}
			m, err := openContainers(c)
			if err != nil {
				return err
			}
			return m.Prune(c.Context, container.PruneOptions{Filters: c.StringSlice("filter")}, os.Stdout)
		},
	}
}
