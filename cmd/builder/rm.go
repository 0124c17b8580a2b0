package main

import (
	"os"

	"github.com/builder-dev/builder/container"
	"github.com/urfave/cli/v2"
)

func rmCommand() *cli.Command {
	return &cli.Command{
		Name:      "rm",
		Usage:     "Remove one or more containers",
		ArgsUsage: "CONTAINER [CONTAINER...]",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "force the removal of a running container (uses SIGKILL)"},
			&cli.BoolFlag{Name: "volumes", Aliases: []string{"v"}, Usage: "remove anonymous volumes (there are none yet)"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() < 1 {
				return usageError(c, "requires at least 1 argument")
			}
			m, err := openContainers(c)
			if err != nil {
				return err
			}
			return m.Remove(c.Context, c.Args().Slice(), container.RemoveOptions{Force: c.Bool("force")}, os.Stdout)
		},
	}
}
