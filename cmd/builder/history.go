package main

import (
	"os"

	"github.com/builder-dev/builder/images"
	"github.com/urfave/cli/v2"
)

func historyCommand() *cli.Command {
	return &cli.Command{
		Name:      "history",
		Usage:     "Show the history of an image",
		ArgsUsage: "IMAGE",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "human", Aliases: []string{"H"}, Value: true, Usage: "print sizes and dates in human readable format"},
			&cli.BoolFlag{Name: "no-trunc", Usage: "don't truncate output"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "only show image IDs"},
			&cli.StringFlag{Name: "format", Usage: "format output: table, json, or a Go template"},
			&cli.StringFlag{Name: "platform", Usage: "show this platform's image of a multi-platform image (os/arch[/variant])"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageError(c, "requires exactly 1 argument")
			}
			st, _, err := openStore(c)
			if err != nil {
				return err
			}
			return images.History(c.Context, st, c.Args().First(), images.HistoryOptions{
				Platform: c.String("platform"), Human: c.Bool("human"), NoTrunc: c.Bool("no-trunc"), Quiet: c.Bool("quiet"), Format: c.String("format"),
			}, os.Stdout)
		},
	}
}
