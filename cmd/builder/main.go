// Command builder builds container images from Dockerfiles on an embedded
// BuildKit solver and manages them in a local image store, with docker's
// verbs, flags and output.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/builder-dev/builder/dockerplugin"
	"github.com/builder-dev/builder/dockerplugin/metareply"
	"github.com/builder-dev/builder/internal/interrupt"
	"github.com/builder-dev/builder/internal/scratch"
	"github.com/builder-dev/builder/rootless"
	"github.com/builder-dev/builder/solver"
	"github.com/builder-dev/builder/version"
	"github.com/docker/cli/cli-plugins/socket"
	"github.com/sirupsen/logrus"
	"github.com/urfave/cli/v2"
)

func main() {
	setGRPCBufferPool()
	invocation, argv, global := dockerplugin.Parse(os.Args)
	argv = dockerGlobals(argv, global)
	if invocation == dockerplugin.MetadataRequest {
		if err := metareply.Write(os.Stdout); err != nil {
			os.Exit(reportError(err))
		}
		return
	}
	if len(os.Args) == 2 && os.Args[1] == rootless.HolderCommand {
		rootless.Hold()
	}
	ctx, cancel, stop := interrupt.Notify(context.Background())
	defer stop()
	if invocation == dockerplugin.Command {
		// The docker CLI asks its plugin to stop by closing this socket
		// when they do not share a terminal (on one, Ctrl-C reaches both).
		socket.ConnectAndWait(cancel)
	}
	// A closed pipe on stdout (builder export C | head) makes the write
	// fail with EPIPE instead of killing the process, so that what the
	// command mounted is unmounted on the way out.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	app := newApp()
	if invocation == dockerplugin.Command {
		app.Name = "docker " + dockerplugin.Name
		app.HelpName = app.Name
	}
	stopProfiles := startProfiles()
	err := app.RunContext(ctx, interspersed(app, argv))
	stopProfiles()
	if err != nil {
		os.Exit(reportError(err))
	}
}

func newApp() *cli.App {
	// This process's temporary directory under the root (see scratch).
	var tmp *scratch.Dir
	app := &cli.App{
		Name:                 "builder",
		Usage:                "build and manage container images, daemonless, on BuildKit",
		Version:              version.Version,
		EnableBashCompletion: true,
		HideHelpCommand:      true,
		// docker never splits flag values on commas: -o type=x,dest=y is one value.
		DisableSliceFlagSeparator: true,
		// -it is -i -t, as with docker.
		UseShortOptionHandling: true,
		ExitErrHandler:         func(*cli.Context, error) {}, // main reports errors itself
		Flags:                  globalFlags(),
		Before: func(c *cli.Context) (err error) {
			tmp, err = setUp(c)
			return err
		},
		// An unknown verb is docker's error and exit code, not urfave's
		// "No help topic" with status 3 (`docker builder ls` reaches the
		// plugin as `bld ls`).
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return cli.ShowAppHelp(c)
			}
			return cli.Exit(fmt.Sprintf("%s: '%s' is not a %s command.\nSee '%s --help'", c.App.Name, c.Args().First(), c.App.Name, c.App.Name), 1)
		},
		After: func(*cli.Context) error {
			tmp.Release()
			return nil
		},
		Commands: commands(),
	}
	argumentsAreData(app.Commands)
	return app
}

// globalFlags are the flags before the verb.
func globalFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "root", Usage: "state directory (default /var/lib/builder as root, $XDG_DATA_HOME/builder otherwise)", EnvVars: []string{"BUILDER_ROOT"}},
		&cli.StringFlag{Name: "config", Usage: "config file with buildkitd.toml [registry] sections (default ROOT/config.toml, then /etc/builder/config.toml)", EnvVars: []string{"BUILDER_CONFIG"}},
		&cli.StringSliceFlag{Name: "addr", Usage: "use a remote buildkitd or builder serve (unix://, tcp://, docker-container://, kube-pod://, ssh://, ...) instead of the embedded solver; build takes several, one platform's build each", EnvVars: []string{"BUILDKIT_HOST"}},
		&cli.StringFlag{Name: "tlscacert", Usage: "with --addr tcp://: CA certificate that signed the server's"},
		&cli.StringFlag{Name: "tlscert", Usage: "with --addr tcp://: client certificate"},
		&cli.StringFlag{Name: "tlskey", Usage: "with --addr tcp://: client key"},
		&cli.StringFlag{Name: "tlsdir", Usage: "with --addr tcp://: directory holding ca.pem, cert.pem and key.pem"},
		&cli.StringFlag{Name: "tlsservername", Usage: "with --addr tcp://: server name its certificate must carry (default: the address's host)"},
		&cli.BoolFlag{Name: "debug", Aliases: []string{"D"}, Usage: "log debug messages"},
	}
}

// commands are the verbs, in the order help lists them.
func commands() []*cli.Command {
	return []*cli.Command{
		buildCommand(),
		imagesCommand(),
		imageCommand(),
		tagCommand(),
		rmiCommand(),
		inspectCommand(),
		historyCommand(),
		saveCommand(),
		loadCommand(),
		importCommand(),
		pullCommand(),
		pushCommand(),
		loginCommand(),
		logoutCommand(),
		builderCommand(),
		duCommand(),
		systemCommand(),
		runCommand(),
		psCommand(),
		commitCommand(),
		diffCommand(),
		rmCommand(),
		logsCommand(),
		stopCommand(),
		killCommand(),
		startCommand(),
		execCommand(),
		installPluginCommand(),
		serveCommand(),
		exportCommand(),
		pauseCommand(),
		portCommand(),
		unpauseCommand(),
		containerCommand(),
		monitorCommand(),
		helpCommand(),
	}
}

// setUp runs before every verb: logging, the checks of --addr, the TLS
// files and the root's owner, the re-run of an unprivileged account's
// command inside its user namespace, and this process's scratch directory
// (returned; nil where there is none).
func setUp(c *cli.Context) (*scratch.Dir, error) {
	// BuildKit and containerd log through logrus; their info-level
	// chatter (fsverity, trace recorder) is noise for a CLI user.
	logrus.SetLevel(logrus.ErrorLevel)
	if c.Bool("debug") {
		logrus.SetLevel(logrus.DebugLevel)
	}
	// A bad --addr or TLS file fails first, whatever the command.
	tlsf, err := tlsFiles(c)
	if err != nil {
		return nil, err
	}
	addrs := c.StringSlice("addr")
	if len(addrs) == 0 && !tlsf.Empty() {
		return nil, (solver.Options{TLS: tlsf}).CheckRemote()
	}
	for _, a := range addrs {
		if err := (solver.Options{Addr: a, TLS: tlsf}).CheckRemote(); err != nil {
			return nil, err
		}
	}
	root, err := rootDir(c)
	if err == nil {
		if err := rootless.CheckOwner(root); err != nil {
			return nil, err
		}
	}
	if c.NArg() > 0 && c.Args().First() != "help" && os.Geteuid() != 0 && err == nil {
		// An unprivileged account: the command runs again, in this
		// process, as root of the account's user namespace.
		return nil, rootless.Exec(os.Args)
	}
	if rootless.Inside() {
		if err := rootless.SetRuntimeDir(); err != nil {
			return nil, err
		}
	}
	// Without a writable root there is nothing to mount either; the
	// command itself reports the root's problem.
	var tmp *scratch.Dir
	if err == nil && os.MkdirAll(root, 0700) == nil {
		if tmp, err = scratch.Claim(root); err != nil {
			logrus.Debugf("scratch directory: %v", err)
		}
	}
	return tmp, nil
}

// argumentsAreData keeps urfave/cli from giving each command a hidden
// "help"/"h" subcommand, which took a context directory, image or container
// named h or help as a request for help (`builder build -t x h` printed
// usage and built nothing). --help (and -h where docker has it) still
// show help; a positional argument is always data.
func argumentsAreData(cmds []*cli.Command) {
	for _, c := range cmds {
		c.HideHelpCommand = true
		argumentsAreData(c.Subcommands)
	}
}

// dockerGlobals applies the docker CLI's global flags a plugin was run
// with: docker's --config, --context and --host become the environment
// the docker CLI itself reads them from (DOCKER_CONFIG for config.json and
// its credentials, DOCKER_CONTEXT and DOCKER_HOST for the Engine), so that
// builder and every process it starts use the same ones; --debug is
// builder's --debug; the rest (TLS to the Engine, --log-level) concern
// only the docker CLI.
func dockerGlobals(argv []string, g dockerplugin.Global) []string {
	if g.ConfigDir != "" {
		os.Setenv("DOCKER_CONFIG", g.ConfigDir)
	}
	if g.Context != "" {
		os.Setenv("DOCKER_CONTEXT", g.Context)
	}
	if len(g.Hosts) > 0 {
		os.Setenv("DOCKER_HOST", g.Hosts[len(g.Hosts)-1])
	}
	if g.Debug && len(argv) > 0 {
		argv = append([]string{argv[0], "--debug"}, argv[1:]...)
	}
	return argv
}
