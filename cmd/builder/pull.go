package main

import (
	"os"

	"github.com/builder-dev/builder/registry"
	"github.com/urfave/cli/v2"
)

func pullCommand() *cli.Command {
	return &cli.Command{
		Name:      "pull",
		Usage:     "Download an image from a registry",
		ArgsUsage: "NAME[:TAG|@DIGEST]",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "platform", Usage: "pull the image for this platform"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "suppress verbose output"},
			&cli.BoolFlag{Name: "all-tags", Aliases: []string{"a"}, Usage: "download all tagged images in the repository"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageError(c, "requires exactly 1 argument")
			}
			st, reg, err := openRegistry(c)
			if err != nil {
				return err
			}
			return reg.Pull(c.Context, st, c.Args().First(), registry.PullOptions{
				Platform: c.String("platform"), Quiet: c.Bool("quiet"), AllTags: c.Bool("all-tags"),
			}, os.Stdout)
		},
	}
}
