// Package dockerplugin makes builder a docker CLI plugin: the name it is
// installed under, how an invocation
// by the CLI is recognised, and installing the plugin (and the builder
// alias that sends `docker build` to it) for the current user.
//
// builder's CLI is not cobra, so docker/cli's plugin.Run (which assumes a
// cobra command and a DockerCli) is not used; its metadata and socket
// packages are, so the protocol has one definition.
package dockerplugin

import (
	"io"
	"path/filepath"
	"strings"

	"github.com/builder-dev/builder/dockerplugin/metareply"
	"github.com/docker/cli/cli-plugins/metadata"
	"github.com/spf13/pflag"
)

// Name is builder's plugin name: `docker bld build ...`. The docker CLI
// takes a plugin name matching ^[a-z][a-z0-9]*$ that is not one of its
// own commands; `builder`, `build`, `image` are built in and `buildx` is
// docker's own plugin. "bld" is short to type, reads as "build", and is
// neither a docker command nor a plugin docker ships (buildx, compose,
// scout, sbom, init, debug, ai, model, ...).
const Name = "bld"

// BinaryName is the plugin's file name in a plugin directory.
const BinaryName = metadata.NamePrefix + Name

// Invocation is how the docker CLI ran this process.
type Invocation int

const (
	// NotPlugin: run as builder itself.
	NotPlugin Invocation = iota
	// MetadataRequest: the CLI asks for the plugin's metadata (answered
	// by metareply's init before main runs).
	MetadataRequest
	// Command: `docker bld VERB ...` (or `docker build` through the alias).
	Command
)

// Global are the docker CLI's own flags a plugin is run with: docker's
// --config is where its config.json is (not builder's --config), --context
// and --host the Engine it talks to, --debug more output.
type Global struct {
	ConfigDir, Context string
	Hosts              []string
	Debug              bool
}

// Parse tells from argv how this process was started and, for a Command,
// returns builder's own argv for it, and the docker CLI's global flags
// given before the plugin's name. The CLI runs a plugin as
// `docker-NAME docker-cli-plugin-metadata` to list it and as
// `docker-NAME [GLOBAL FLAGS] NAME ARGS...` to run it (its plugin manager
// passes its own arguments on as they were typed: `docker --debug bld
// images`). What a docker user types through the plugin is mapped onto
// builder's verbs where docker's differ: `docker builder prune` arrives as
// `bld prune` and means the build cache, as it does for buildx.
func Parse(argv []string) (Invocation, []string, Global) {
	var g Global
	if len(argv) == 0 || !strings.HasPrefix(filepath.Base(argv[0]), metadata.NamePrefix) {
		return NotPlugin, argv, g
	}
	name := strings.TrimPrefix(filepath.Base(argv[0]), metadata.NamePrefix)
	if metareply.IsRequest(argv) {
		return MetadataRequest, nil, g
	}
	rest, err := dockerFlags(argv[1:], &g)
	if err != nil || len(rest) == 0 || rest[0] != name {
		// docker-bld run by hand: behave as builder.
		return NotPlugin, argv, Global{}
	}
	args := append([]string{argv[0]}, rest[1:]...)
	if len(args) > 1 && args[1] == "prune" {
		args = append([]string{args[0], "builder"}, args[1:]...)
	}
	return Command, args, g
}

// dockerFlags parses the docker CLI's global flags ahead of the first
// argument that is not one (docker/cli's cli/flags ClientOptions, whose
// package would bring the Engine's whole client with it): the same names,
// kinds and short forms, so that `-D`, `--tls=false` and `-H=unix://…`
// read as docker reads them.
func dockerFlags(args []string, g *Global) ([]string, error) {
	fs := pflag.NewFlagSet("docker", pflag.ContinueOnError)
	fs.SetInterspersed(false)
	fs.SetOutput(io.Discard)
	fs.StringVar(&g.ConfigDir, "config", "", "")
	fs.BoolVarP(&g.Debug, "debug", "D", false, "")
	fs.StringP("log-level", "l", "", "")
	fs.Bool("tls", false, "")
	fs.Bool("tlsverify", false, "")
	fs.String("tlscacert", "", "")
	fs.String("tlscert", "", "")
	fs.String("tlskey", "", "")
	fs.StringArrayVarP(&g.Hosts, "host", "H", nil, "")
	fs.StringVarP(&g.Context, "context", "c", "", "")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	return fs.Args(), nil
}
