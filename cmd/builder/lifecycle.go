package main

import (
	"github.com/builder-dev/builder/internal/runtime"

	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/builder-dev/builder/internal/atomicfile"
	"golang.org/x/term"

	"github.com/builder-dev/builder/container"
	"github.com/urfave/cli/v2"
)

func logsCommand() *cli.Command {
	return &cli.Command{
		Name:      "logs",
		Usage:     "Fetch the logs of a container",
		ArgsUsage: "CONTAINER",
		Flags:     []cli.Flag{&cli.BoolFlag{Name: "follow", Aliases: []string{"f"}, Usage: "follow log output"}},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageError(c, "requires exactly 1 argument")
			}
			root, rt, err := containerEnv(c)
			if err != nil {
				return err
			}
			return container.Logs(c.Context, root, rt, c.Args().First(), c.Bool("follow"), os.Stdout, os.Stderr)
		},
	}
}

func stopCommand() *cli.Command {
	return &cli.Command{
		Name:      "stop",
		Usage:     "Stop one or more running containers",
		ArgsUsage: "CONTAINER [CONTAINER...]",
		Flags:     []cli.Flag{&cli.IntFlag{Name: "time", Aliases: []string{"t"}, Value: 10, Usage: "seconds to wait before killing the container"}},
		Action: func(c *cli.Context) error {
			if c.NArg() < 1 {
				return usageError(c, "requires at least 1 argument")
			}
			root, rt, err := containerEnv(c)
			if err != nil {
				return err
			}
			return container.Stop(c.Context, root, rt, c.Args().Slice(), time.Duration(c.Int("time"))*time.Second, os.Stdout)
		},
	}
}

func killCommand() *cli.Command {
	return &cli.Command{
		Name:      "kill",
		Usage:     "Kill one or more running containers",
		ArgsUsage: "CONTAINER [CONTAINER...]",
		Flags:     []cli.Flag{&cli.StringFlag{Name: "signal", Aliases: []string{"s"}, Usage: "signal to send to the container (default KILL)"}},
		Action: func(c *cli.Context) error {
			if c.NArg() < 1 {
				return usageError(c, "requires at least 1 argument")
			}
			root, rt, err := containerEnv(c)
			if err != nil {
				return err
			}
			return container.Kill(c.Context, root, rt, c.Args().Slice(), c.String("signal"), os.Stdout)
		},
	}
}

func startCommand() *cli.Command {
	return &cli.Command{
		Name:      "start",
		Usage:     "Start one or more stopped containers",
		ArgsUsage: "CONTAINER [CONTAINER...]",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "attach", Aliases: []string{"a"}, Usage: "attach STDOUT/STDERR"},
			&cli.BoolFlag{Name: "interactive", Aliases: []string{"i"}, Usage: "attach container's STDIN"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() < 1 {
				return usageError(c, "requires at least 1 argument")
			}
			st, _, err := openStore(c)
			if err != nil {
				return err
			}
			root, rt, err := containerEnv(c)
			if err != nil {
				return err
			}
			code, err := container.Start(c.Context, st, root, rt, c.Args().Slice(), c.Bool("attach") || c.Bool("interactive"),
				c.Bool("interactive"), os.Stdin, os.Stdout, os.Stderr)
			if err != nil {
				return err
			}
			if code != 0 {
				return &exitError{code: code}
			}
			return nil
		},
	}
}

func execCommand() *cli.Command {
	return &cli.Command{
		Name:      "exec",
		Usage:     "Execute a command in a running container",
		ArgsUsage: "CONTAINER COMMAND [ARG...]",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "interactive", Aliases: []string{"i"}, Usage: "keep STDIN open"},
			&cli.BoolFlag{Name: "tty", Aliases: []string{"t"}, Usage: "allocate a pseudo-TTY"},
			&cli.StringSliceFlag{Name: "env", Aliases: []string{"e"}, Usage: "set environment variables"},
			&cli.StringFlag{Name: "workdir", Aliases: []string{"w"}, Usage: "working directory inside the container"},
			&cli.StringFlag{Name: "user", Aliases: []string{"u"}, Usage: "username or UID (format: \"<name|uid>[:<group|gid>]\")"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() < 2 {
				return usageError(c, "requires at least 2 arguments")
			}
			root, rt, err := containerEnv(c)
			if err != nil {
				return &exitError{code: container.ExitBuilderError, err: err}
			}
			code, err := container.Exec(c.Context, root, rt, container.ExecOptions{Container: c.Args().First(), Args: c.Args().Slice()[1:],
				Interactive: c.Bool("interactive"), TTY: c.Bool("tty"), Env: c.StringSlice("env"), Workdir: c.String("workdir"),
				User: c.String("user"), Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr})
			if err != nil {
				return &exitError{code: code, err: err}
			}
			if code != 0 {
				return &exitError{code: code}
			}
			return nil
		},
	}
}

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
			st, _, err := openStore(c)
			if err != nil {
				return err
			}
			root, rt, err := containerEnv(c)
			if err != nil {
				return err
			}
			export := func(w io.Writer) error {
				return container.Export(c.Context, st, root, rt, c.Args().First(), w)
			}
			if dest := c.String("output"); dest != "" {
				return atomicfile.Write(dest, 0644, export)
			}
			if term.IsTerminal(int(os.Stdout.Fd())) {
				return errors.New("cowardly refusing to save to a terminal. Use the -o flag or redirect")
			}
			return export(os.Stdout)
		},
	}
}

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
			return container.Monitor(c.Context, root, runtime.ForContainers(runc, root), c.Args().First())
		},
	}
}
