package main

import (
	"github.com/builder-dev/builder/images"
	"github.com/urfave/cli/v2"
)

func tagCommand() *cli.Command {
	return &cli.Command{
		Name:      "tag",
		Usage:     "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE",
		ArgsUsage: "SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
		Action: func(c *cli.Context) error {
			if c.NArg() != 2 {
				return usageError(c, "requires exactly 2 arguments")
			}
			st, _, err := openStore(c)
			if err != nil {
				return err
			}
			return images.Tag(c.Context, st, c.Args().Get(0), c.Args().Get(1))
		},
	}
}
