package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/builder-dev/builder/registry"
	"github.com/urfave/cli/v2"
)

func loginCommand() *cli.Command {
	return &cli.Command{
		Name:      "login",
		Usage:     "Log in to a registry",
		ArgsUsage: "[SERVER]",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "username", Aliases: []string{"u"}, Usage: "username"},
			&cli.StringFlag{Name: "password", Aliases: []string{"p"}, Usage: "password"},
			&cli.BoolFlag{Name: "password-stdin", Usage: "take the password from stdin"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 1 {
				return usageError(c, "requires at most 1 argument")
			}
			user, password := c.String("username"), c.String("password")
			if c.Bool("password-stdin") {
				if password != "" {
					return errors.New("--password and --password-stdin are mutually exclusive")
				}
				if user == "" {
					return errors.New("must provide --username with --password-stdin")
				}
				dt, err := io.ReadAll(os.Stdin)
				if err != nil {
					return err
				}
				password = strings.TrimRight(string(dt), "\r\n")
			} else if password != "" {
				fmt.Fprintln(os.Stderr, "WARNING! Using --password via the CLI is insecure. Use --password-stdin.")
			}
			if user == "" || password == "" {
				return errors.New("username and password required: use -u and -p or --password-stdin")
			}
			_, reg, err := openRegistry(c)
			if err != nil {
				return err
			}
			server := c.Args().First()
			if server == "" {
				server = registry.IndexServer
			}
			if err := reg.Login(c.Context, server, user, password); err != nil {
				return err
			}
			fmt.Println("Login Succeeded")
			return nil
		},
	}
}
