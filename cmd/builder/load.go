package main

import (
	"os"

	"github.com/builder-dev/builder/images"
	"github.com/urfave/cli/v2"
)

func loadCommand() *cli.Command {
	return &cli.Command{
		Name:  "load",
		Usage: "Load an image from a tar archive or STDIN",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "input", Aliases: []string{"i"}, Usage: "read from tar archive file, instead of STDIN"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "suppress the load output"},
			&cli.StringFlag{Name: "platform", Usage: "load only this platform's image (os/arch[/variant]) of a multi-platform archive"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 0 {
				return usageError(c, "accepts no arguments")
			}
			st, _, err := openStore(c)
			if err != nil {
				return err
			}
			return images.Load(c.Context, st, images.LoadOptions{
				Input: c.String("input"), Stdin: os.Stdin, Quiet: c.Bool("quiet"), Stdout: os.Stdout, Platform: c.String("platform"),
			})
		},
	}
}
