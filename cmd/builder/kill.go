package main

import (
	"os"

	"github.com/urfave/cli/v2"
)

func killCommand() *cli.Command {
	return &cli.Command{
		Name:      "kill",
		Usage:     "Kill one or more running containers",
		ArgsUsage: "CONTAINER [CONTAINER...]",
		Flags:     []cli.Flag{&cli.StringFlag{Name: "signal", Aliases: []string{"s"}, Usage: "signal to send to the container (default KILL)"}},
		Action: func(c *cli.Context) error {
			if c.NArg() < 1 {
				return usageError(c, "requires at least 1 argument")
			}
			m, err := containers(c)
			if err != nil {
				return err
			}
			return m.Kill(c.Context, c.Args().Slice(), c.String("signal"), os.Stdout)
		},
	}
}
