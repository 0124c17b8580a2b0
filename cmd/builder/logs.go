package main

import (
	"os"

	"github.com/builder-dev/builder/container"
	"github.com/urfave/cli/v2"
)

func logsCommand() *cli.Command {
	return &cli.Command{
		Name:      "logs",
		Usage:     "Fetch the logs of a container",
		ArgsUsage: "CONTAINER",
		Flags:     []cli.Flag{&cli.BoolFlag{Name: "follow", Aliases: []string{"f"}, Usage: "follow log output"}},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageError(c, "requires exactly 1 argument")
			}
			root, rt, err := containerEnv(c)
			if err != nil {
				return err
			}
			return container.Logs(c.Context, root, rt, c.Args().First(), c.Bool("follow"), os.Stdout, os.Stderr)
		},
	}
}
