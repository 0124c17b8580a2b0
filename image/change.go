// Package image holds what is true of an image config whichever verb
// makes it: the Dockerfile instructions that commit -c and import -c apply.
package image

import (
	"errors"
	"fmt"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// ApplyChange applies one Dockerfile instruction of those docker import
// accepts, parsed by BuildKit's own Dockerfile parser.
func ApplyChange(cfg *ocispec.ImageConfig, change string) error {
	res, err := parser.Parse(strings.NewReader(change))
	if err != nil {
		return err
	}
	if len(res.AST.Children) != 1 {
		return errors.New("want exactly one instruction")
	}
	cmd, err := instructions.ParseInstruction(res.AST.Children[0])
	if err != nil {
		return err
	}
	shell := func(c instructions.ShellDependantCmdLine) []string {
		if c.PrependShell {
			return []string{"/bin/sh", "-c", strings.Join(c.CmdLine, " ")}
		}
		return c.CmdLine
	}
	switch c := cmd.(type) {
	case *instructions.CmdCommand:
		cfg.Cmd = shell(c.ShellDependantCmdLine)
	case *instructions.EntrypointCommand:
		cfg.Entrypoint = shell(c.ShellDependantCmdLine)
	case *instructions.EnvCommand:
		for _, kv := range c.Env {
			cfg.Env = MergeEnv(cfg.Env, kv.Key+"="+kv.Value)
		}
	case *instructions.ExposeCommand:
		if cfg.ExposedPorts == nil {
			cfg.ExposedPorts = map[string]struct{}{}
		}
		for _, p := range c.Ports {
			if !strings.Contains(p, "/") {
				p += "/tcp"
			}
			cfg.ExposedPorts[p] = struct{}{}
		}
	case *instructions.LabelCommand:
		if cfg.Labels == nil {
			cfg.Labels = map[string]string{}
		}
		for _, kv := range c.Labels {
			cfg.Labels[kv.Key] = kv.Value
		}
	case *instructions.UserCommand:
		cfg.User = c.User
	case *instructions.VolumeCommand:
		if cfg.Volumes == nil {
			cfg.Volumes = map[string]struct{}{}
		}
		for _, v := range c.Volumes {
			cfg.Volumes[v] = struct{}{}
		}
	case *instructions.WorkdirCommand:
		cfg.WorkingDir = c.Path
	default:
		return fmt.Errorf("import does not support %s (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, VOLUME, WORKDIR)",
			strings.ToUpper(res.AST.Children[0].Value))
	}
	return nil
}
