package main

import (
	"os"

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
			m, err := containers(c)
			if err != nil {
				return err
			}
			return m.Unpause(c.Context, c.Args().Slice(), os.Stdout)
		},
	}
}
