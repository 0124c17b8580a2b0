package main

import (
	"os"

	"github.com/builder-dev/builder/images"
	"github.com/urfave/cli/v2"
)

func inspectCommand() *cli.Command {
	return &cli.Command{
		Name:      "inspect",
		Usage:     "Display detailed information on one or more images",
		ArgsUsage: "IMAGE [IMAGE...]",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Usage: "format output with a Go template, or json"},
			&cli.StringFlag{Name: "platform", Usage: "inspect this platform's image of a multi-platform image (os/arch[/variant])"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() < 1 {
				return usageError(c, "requires at least 1 argument")
			}
			st, _, err := openStore(c)
			if err != nil {
				return err
			}
			return images.Inspect(c.Context, st, c.Args().Slice(), c.String("platform"), c.String("format"), os.Stdout)
		},
	}
}
