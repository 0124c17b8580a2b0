package container

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	"github.com/builder-dev/builder/image"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// effectiveConfig is the image config with the run options applied.
func effectiveConfig(img ocispec.ImageConfig, o RunOptions) (ocispec.ImageConfig, error) {
	cfg := img
	cfg.Env = image.WithDefaultPath(img.Env)
	for _, f := range o.EnvFiles {
		vars, err := readEnvFile(f)
		if err != nil {
			return cfg, err
		}
		cfg.Env = image.MergeEnv(cfg.Env, vars...)
	}
	var env []string
	for _, e := range o.Env {
		if e, ok := hostValue(e); ok {
			env = append(env, e)
		}
	}
	cfg.Env = image.MergeEnv(cfg.Env, env...)
	if o.Entrypoint != nil {
		cfg.Entrypoint = nil
		if *o.Entrypoint != "" {
			cfg.Entrypoint = []string{*o.Entrypoint}
		}
		cfg.Cmd = nil
	}
	if len(o.Args) > 0 {
		cfg.Cmd = o.Args
	}
	if o.Workdir != "" {
		cfg.WorkingDir = o.Workdir
	}
	if o.User != "" {
		cfg.User = o.User
	}
	return cfg, nil
}

func readEnvFile(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--env-file: %w", err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if line, ok := hostValue(line); ok {
			out = append(out, line)
		}
	}
	return out, sc.Err()
}

// hostValue completes a bare NAME (docker's -e NAME, or such a line in an
// env file) with this process's value; ok is false when it has none, and
// the variable is then left out, as docker does.
func hostValue(e string) (string, bool) {
	if strings.Contains(e, "=") {
		return e, true
	}
	v, ok := os.LookupEnv(e)
	return e + "=" + v, ok
}
