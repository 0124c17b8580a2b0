package main

import (
	"fmt"

	"github.com/builder-dev/builder/registry"
	"github.com/urfave/cli/v2"
)

func logoutCommand() *cli.Command {
	return &cli.Command{
		Name:      "logout",
		Usage:     "Log out from a registry",
		ArgsUsage: "[SERVER]",
		Action: func(c *cli.Context) error {
			_, reg, err := openRegistry(c)
			if err != nil {
				return err
			}
			server := c.Args().First()
			if server == "" {
				server = registry.IndexServer
			}
			key := registry.ServerKey(server)
			removed, err := reg.Logout(c.Context, server)
			if err != nil {
				return err
			}
			if !removed {
				fmt.Printf("Not logged in to %s\n", key)
				return nil
			}
			fmt.Printf("Removing login credentials for %s\n", key)
			return nil
		},
	}
}
