package main

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

// helpCommand is docker's `help [COMMAND]`: builder's help, or a
// command's (`builder help run` is `builder run --help`). urfave's own
// help command is hidden from every command (argumentsAreData), since a
// positional `help` is data there; at the top it is this.
func helpCommand() *cli.Command {
	return &cli.Command{
		Name:      "help",
		Usage:     "Show help for builder or for one of its commands",
		ArgsUsage: "[COMMAND]",
		Action: func(c *cli.Context) error {
			parent := c.Lineage()[1]
			switch c.NArg() {
			case 0:
				return cli.ShowAppHelp(parent)
			case 1:
				name := c.Args().First()
				if c.App.Command(name) == nil {
					return fmt.Errorf("unknown help topic: %s", name)
				}
				return cli.ShowCommandHelp(parent, name)
			}
			return usageError(c, "accepts at most 1 argument")
		},
	}
}
