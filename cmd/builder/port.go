package main

import (
	"os"

	"github.com/urfave/cli/v2"
)

func portCommand() *cli.Command {
	return &cli.Command{
		Name:      "port",
		Usage:     "List port mappings or a specific mapping for the container",
		ArgsUsage: "CONTAINER [PRIVATE_PORT[/PROTO]]",
		Action: func(c *cli.Context) error {
			if c.NArg() < 1 || c.NArg() > 2 {
				return usageError(c, "requires at least 1 and at most 2 arguments")
			}
			m, err := containers(c)
			if err != nil {
				return err
			}
			return m.Port(c.Context, c.Args().First(), c.Args().Get(1), os.Stdout)
		},
	}
}
