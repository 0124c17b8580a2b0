package main

import (
	"os"

	"github.com/builder-dev/builder/container"
	"github.com/urfave/cli/v2"
)

func unpauseCommand() *cli.Command {
	return &cli.Command{
		Name:      "unpause",
		Usage:     "Unpause all processes within one or more containers",
		ArgsUsage: "CONTAINER [CONTAINER...]",
		Action: func(c *cli.Context) error {
			if c.NArg() < 1 {
				return usageError(c, "requires at least 1 argument")
			}
			root, rt, err := containerEnv(c)
			if err != nil {
				return err
			}
			return container.Unpause(c.Context, root, rt, c.Args().Slice(), os.Stdout)
		},
	}
}
