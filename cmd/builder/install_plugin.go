package main

import (
	"fmt"
	"os"

	"github.com/builder-dev/builder/dockerplugin"
	"github.com/urfave/cli/v2"
)

func installPluginCommand() *cli.Command {
	return &cli.Command{
		Name:  "install-plugin",
		Usage: fmt.Sprintf("Install builder as the docker CLI plugin %q (docker %s build ...)", dockerplugin.BinaryName, dockerplugin.Name),
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "default", Usage: fmt.Sprintf(`also send "docker build" and "docker builder" to builder (sets the alias "builder": %q in docker's config.json)`, dockerplugin.Name)},
			&cli.StringFlag{Name: "config", Usage: "docker's configuration directory (default $DOCKER_CONFIG or ~/.docker)", EnvVars: []string{"DOCKER_CONFIG"}},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 0 {
				return usageError(c, "accepts no arguments")
			}
			exe, err := os.Executable()
			if err != nil {
				return fmt.Errorf("install plugin: %w", err)
			}
			path, err := dockerplugin.Install(dockerplugin.InstallOptions{
				Executable: exe,
				ConfigDir:  c.String("config"),
				Default:    c.Bool("default"),
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "installed %s: docker %s VERB runs builder\n", path, dockerplugin.Name)
			if c.Bool("default") {
				fmt.Fprintf(c.App.Writer, "docker build and docker builder now run builder (alias \"builder\": %q)\n", dockerplugin.Name)
			}
			return nil
		},
	}
}
