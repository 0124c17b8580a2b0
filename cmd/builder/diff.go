package main

import (
	"os"

	"github.com/urfave/cli/v2"
)

func diffCommand() *cli.Command {
	return &cli.Command{
		Name:      "diff",
		Usage:     "Inspect changes to files or directories on a container's filesystem",
		ArgsUsage: "CONTAINER",
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageError(c, "requires exactly 1 argument")
			}
			m, err := openContainers(c)
			if err != nil {
				return err
			}
			return m.Diff(c.Context, c.Args().First(), os.Stdout)
		},
	}
}
