package main

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

// usageError is docker's wrong-arguments message; exit status 1 as docker's.
func usageError(c *cli.Context, msg string) error {
	return fmt.Errorf("%q %s.\nSee 'builder %s --help'.", "builder "+c.Command.Name, msg, c.Command.Name)
}
