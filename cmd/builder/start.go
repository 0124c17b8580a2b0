package main

import (
	"os"

	"github.com/builder-dev/builder/container"
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
			return m.Start(c.Context, container.StartOptions{Containers: c.Args().Slice(), Attach: c.Bool("attach"),
				Interactive: c.Bool("interactive"), Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr})
		},
	}
}
