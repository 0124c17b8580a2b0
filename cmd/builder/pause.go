package main

import (
	"os"

	"github.com/urfave/cli/v2"
)

func pauseCommand() *cli.Command {
	return &cli.Command{
		Name:      "pause",
		Usage:     "Pause all processes within one or more containers",
		ArgsUsage: "CONTAINER [CONTAINER...]",
		Action: func(c *cli.Context) error {
			if c.NArg() < 1 {
				return usageError(c, "requires at least 1 argument")
			}
			m, err := containers(c)
			if err != nil {
				return err
			}
			return m.Pause(c.Context, c.Args().Slice(), os.Stdout)
		},
	}
}
