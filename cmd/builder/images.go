package main

import (
	"os"

	"github.com/builder-dev/builder/images"
	"github.com/urfave/cli/v2"
)

func imagesCommand() *cli.Command {
	return &cli.Command{
		Name:      "images",
		Usage:     "List images",
		ArgsUsage: "[REPOSITORY[:TAG]]",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "only show image IDs"},
			&cli.BoolFlag{Name: "no-trunc", Usage: "don't truncate output"},
			&cli.BoolFlag{Name: "digests", Usage: "show digests"},
			&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "show all images (the store keeps no intermediate images)"},
			&cli.StringFlag{Name: "format", Usage: "format output: table, json, or a Go template"},
			&cli.StringSliceFlag{Name: "filter", Aliases: []string{"f"}, Usage: "filter output: dangling=, label=, before=, since=, reference="},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 1 {
				return usageError(c, "requires at most 1 argument")
			}
			// Listing reads the store's index only: it never waits for a
			// build running in another process.
			st, _, err := openStore(c)
			if err != nil {
				return err
			}
			return images.List(c.Context, st, images.ListOptions{
				Reference: c.Args().First(),
				Quiet:     c.Bool("quiet"),
				NoTrunc:   c.Bool("no-trunc"),
				Digests:   c.Bool("digests"),
				Format:    c.String("format"),
				Filters:   c.StringSlice("filter"),
			}, os.Stdout)
		},
	}
}
