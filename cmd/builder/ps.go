package main

import (
	"os"

	"github.com/builder-dev/builder/container"
	"github.com/urfave/cli/v2"
)

func psCommand() *cli.Command {
	return &cli.Command{
		Name:  "ps",
		Usage: "List containers",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "show all containers (default shows just running)"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "only display container IDs"},
			&cli.BoolFlag{Name: "no-trunc", Usage: "don't truncate output"},
			&cli.StringFlag{Name: "format", Usage: "format output: table, json, or a Go template"},
			&cli.StringSliceFlag{Name: "filter", Aliases: []string{"f"}, Usage: "filter output: status=, name=, ancestor="},
		},
		Action: func(c *cli.Context) error {
			m, err := containers(c)
			if err != nil {
				return err
			}
			return m.List(c.Context, container.ListOptions{All: c.Bool("all"), Quiet: c.Bool("quiet"),
				NoTrunc: c.Bool("no-trunc"), Format: c.String("format"), Filters: c.StringSlice("filter")}, os.Stdout)
		},
	}
}
