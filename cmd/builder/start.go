package main

import (
	"os"

	"github.com/urfave/cli/v2"
)

func startCommand() *cli.Command {
	return &cli.Command{
		Name:      "start",
		Usage:     "Start one or more stopped containers",
		ArgsUsage: "CONTAINER [CONTAINER...]",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "attach", Aliases: []string{"a"}, Usage: "attach STDOUT/STDERR"},
			&cli.BoolFlag{Name: "interactive", Aliases: []string{"i"}, Usage: "attach container's STDIN"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() < 1 {
				return usageError(c, "requires at least 1 argument")
			}
			m, err := openContainers(c)
			if err != nil {
				return err
			}
			code, err := m.Start(c.Context, c.Args().Slice(), c.Bool("attach") || c.Bool("interactive"),
				c.Bool("interactive"), os.Stdin, os.Stdout, os.Stderr)
			return containerExit(code, err)
		},
	}
}
