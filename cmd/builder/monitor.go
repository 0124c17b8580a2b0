package main

import (
	"fmt"
	"os"

	"github.com/builder-dev/builder/container"
	"github.com/builder-dev/builder/internal/runtime"
	"github.com/urfave/cli/v2"
)

// monitorCommand is the hidden verb a detached container runs under.
func monitorCommand() *cli.Command {
	return &cli.Command{
		Name:   container.MonitorCommand,
		Hidden: true,
		Action: func(c *cli.Context) error {
			root, err := rootDir(c)
			if err != nil {
				return err
			}
			runc := os.Getenv("BUILDER_RUNC")
			if runc == "" {
				return fmt.Errorf("%s: BUILDER_RUNC unset", container.MonitorCommand)
			}
			m := container.Manager{Root: root, Runtime: runtime.ForContainers(runc, root)}
			return m.Monitor(c.Context, c.Args().First())
		},
	}
}
