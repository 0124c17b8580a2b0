package main

import (
	"os"

	"github.com/urfave/cli/v2"
)

func containerInspectCommand() *cli.Command {
	return &cli.Command{
		Name:      "inspect",
		Usage:     "Display detailed information on one or more containers",
		ArgsUsage: "CONTAINER [CONTAINER...]",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Usage: "format output with a Go template, or json"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() < 1 {
				return usageError(c, "requires at least 1 argument")
			}
			m, err := containers(c)
			if err != nil {
				return err
			}
			return m.Inspect(c.Context, c.Args().Slice(), c.String("format"), os.Stdout)
		},
	}
}
