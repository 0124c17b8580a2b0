package main

import (
	"os"

	"github.com/builder-dev/builder/images"
	"github.com/urfave/cli/v2"
)

func imagePruneCommand() *cli.Command {
	return &cli.Command{
		Name:  "prune",
		Usage: "Remove unused images",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "remove all unused images, not just dangling ones"},
			&cli.StringSliceFlag{Name: "filter", Usage: `provide filter values (e.g. "until=<timestamp>")`},
			&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "do not prompt for confirmation"},
		},
		Action: func(c *cli.Context) error {
			warning := "WARNING! This will remove all dangling images."
			if c.Bool("all") {
				warning = "WARNING! This will remove all images without at least one container associated to them."
			}
			if !c.Bool("force") && !confirm(warning) {
				return nil
			}
			st, _, err := openStore(c)
			if err != nil {
				return err
			}
			return images.Prune(c.Context, st, images.PruneOptions{All: c.Bool("all"), Filters: c.StringSlice("filter")}, os.Stdout)
		},
	}
}
