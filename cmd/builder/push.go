package main

import (
	"os"

	"github.com/builder-dev/builder/registry"
	"github.com/urfave/cli/v2"
)

func pushCommand() *cli.Command {
	return &cli.Command{
		Name:      "push",
		Usage:     "Upload an image to a registry",
		ArgsUsage: "NAME[:TAG]",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "suppress verbose output"},
			&cli.BoolFlag{Name: "all-tags", Aliases: []string{"a"}, Usage: "push all tags of the repository"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageError(c, "requires exactly 1 argument")
			}
			st, reg, err := openRegistry(c)
			if err != nil {
				return err
			}
			return reg.Push(c.Context, st, c.Args().First(), registry.PushOptions{Quiet: c.Bool("quiet"), AllTags: c.Bool("all-tags")}, os.Stdout)
		},
	}
}
