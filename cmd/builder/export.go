package main

import (
	"errors"
	"io"
	"os"

	"github.com/builder-dev/builder/internal/atomicfile"
	"github.com/builder-dev/builder/internal/userperm"
	"golang.org/x/term"

	"github.com/urfave/cli/v2"
)

func exportCommand() *cli.Command {
	return &cli.Command{
		Name:      "export",
		Usage:     "Export a container's filesystem as a tar archive",
		ArgsUsage: "CONTAINER",
		Flags:     []cli.Flag{&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write to a file, instead of STDOUT"}},
		Action: func(c *cli.Context) (err error) {
			if c.NArg() != 1 {
				return usageError(c, "requires exactly 1 argument")
			}
			m, err := openContainers(c)
			if err != nil {
				return err
			}
			export := func(w io.Writer) error {
				return m.Export(c.Context, c.Args().First(), w)
			}
			if dest := c.String("output"); dest != "" {
				if err := userperm.WriteFile(dest); err != nil {
					return err
				}
				return atomicfile.Write(dest, 0644, export)
			}
			if term.IsTerminal(int(os.Stdout.Fd())) {
				return errors.New("cowardly refusing to save to a terminal. Use the -o flag or redirect")
			}
			return export(os.Stdout)
		},
	}
}
