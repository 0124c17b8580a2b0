package main

import (
	"os"

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
			m, err := containers(c)
			if err != nil {
				return err
			}
			return m.Logs(c.Context, c.Args().First(), c.Bool("follow"), os.Stdout, os.Stderr)
		},
	}
}
