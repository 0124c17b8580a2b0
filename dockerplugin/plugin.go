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
	"path/filepath"
	"strings"

	"github.com/builder-dev/builder/dockerplugin/metareply"
	"github.com/docker/cli/cli-plugins/metadata"
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

// Parse tells from argv how this process was started and, for a Command,
// returns builder's own argv for it. The CLI runs a plugin as
// `docker-NAME docker-cli-plugin-metadata` to list it and as
// `docker-NAME NAME ARGS...` to run it. What a docker user types through
// the plugin is mapped onto builder's verbs where docker's differ:
// `docker builder prune` arrives as `bld prune` and means the build cache,
// as it does for buildx.
func Parse(argv []string) (Invocation, []string) {
	if len(argv) == 0 || !strings.HasPrefix(filepath.Base(argv[0]), metadata.NamePrefix) {
		return NotPlugin, argv
	}
	name := strings.TrimPrefix(filepath.Base(argv[0]), metadata.NamePrefix)
	switch {
	case metareply.IsRequest(argv):
		return MetadataRequest, nil
	case len(argv) > 1 && argv[1] == name:
		args := append([]string{argv[0]}, argv[2:]...)
		if len(args) > 1 && args[1] == "prune" {
			args = append([]string{args[0], "builder"}, args[1:]...)
		}
		return Command, args
	}
	// docker-bld run by hand: behave as builder.
	return NotPlugin, argv
}
