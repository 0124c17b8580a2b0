package dockerplugin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/builder-dev/builder/internal/atomicfile"
	"github.com/builder-dev/builder/internal/userperm"
	"github.com/docker/cli/cli/config"
)

// InstallOptions are `builder install-plugin`'s.
type InstallOptions struct {
	// Executable is the builder binary to install (the running one).
	Executable string
	// ConfigDir is docker's configuration directory (default
	// $DOCKER_CONFIG or ~/.docker, as the docker CLI reads it); the plugin
	// goes to its cli-plugins directory, the alias to its config.json.
	ConfigDir string
	// Default also sets the alias {"builder": Name} in config.json, which
	// sends `docker build` and `docker builder ...` to the plugin.
	Default bool
}

// Install links docker-bld in the plugin directory to the builder binary,
// and with Default sets the alias. A link, not a copy: the plugin finds the
// runc installed beside builder (os.Executable resolves the link), and an
// upgraded builder is the upgraded plugin. (If the binary is removed, the
// docker CLI skips the dangling link.) Both are replaced atomically: a
// failure leaves the plugin directory and config.json as they were. It
// returns the plugin's path.
func Install(o InstallOptions) (string, error) {
	dir := o.ConfigDir
	if dir == "" {
		dir = config.Dir()
	}
	exe, err := filepath.Abs(o.Executable)
	if err != nil {
		return "", fmt.Errorf("install plugin: %w", err)
	}
	if fi, err := os.Stat(exe); err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return "", fmt.Errorf("install plugin: %s is not an executable file", exe)
	}
	// The config file is read and checked before anything changes, so that
	// a config.json that is not JSON leaves no plugin behind either.
	var writeAlias func() error
	if o.Default {
		if writeAlias, err = builderAlias(filepath.Join(dir, config.ConfigFileName)); err != nil {
			return "", err
		}
	}
	// What builder makes in the directory is its owner's, as the docker
	// CLI keeps its files: root installing into an account's
	// DOCKER_CONFIG must not take the account's files from it.
	uid, gid := ownerOf(dir)
	pluginDir := filepath.Join(dir, "cli-plugins")
	if err := userperm.WriteDir(pluginDir); err != nil {
		return "", fmt.Errorf("install plugin: %w", err)
	}
	_, statErr := os.Stat(pluginDir)
	if err := os.MkdirAll(pluginDir, 0o755); err != nil {
		return "", fmt.Errorf("install plugin: %w", err)
	}
	if errors.Is(statErr, fs.ErrNotExist) {
		if err := chown(pluginDir, uid, gid); err != nil {
			return "", fmt.Errorf("install plugin: %w", err)
		}
	}
	dst := filepath.Join(pluginDir, BinaryName)
	tmp := fmt.Sprintf("%s.tmp-%d", dst, os.Getpid())
	_ = os.Remove(tmp)
	if err := os.Symlink(exe, tmp); err != nil {
		return "", fmt.Errorf("install plugin: %w", err)
	}
	if puid, pgid := ownerOf(pluginDir); puid >= 0 && puid != os.Geteuid() {
		_ = os.Lchown(tmp, puid, pgid)
	}
	if err := os.Rename(tmp, dst); err != nil {
		_ = os.Remove(tmp)
		return "", fmt.Errorf("install plugin %s: %w", dst, err)
	}
	if writeAlias != nil {
		if err := writeAlias(); err != nil {
			return dst, err
		}
	}
	return dst, nil
}

// builderAlias reads the docker CLI config file at path and returns the
// write that sets "aliases": {"builder": Name} in it, keeping every other
// key and alias as it was (docker/cli's ConfigFile would drop keys it does
// not know) and the file's mode (it may hold credentials). A config file
// that is a link is written through to its target, as the docker CLI does.
func builderAlias(path string) (func() error, error) {
	if target, err := filepath.EvalSymlinks(path); err == nil {
		path = target
	}
	mode := os.FileMode(0o600)
	uid, gid := ownerOf(filepath.Dir(path))
	doc := map[string]json.RawMessage{}
	if err := userperm.WriteFile(path); err != nil {
		return nil, fmt.Errorf("set builder alias: %w", err)
	}
	dt, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("set builder alias: %w", err)
	default:
		if fi, err := os.Stat(path); err == nil {
			mode = fi.Mode().Perm()
			uid, gid = ownerOf(path)
		}
		if len(bytes.TrimSpace(dt)) > 0 {
			if err := json.Unmarshal(dt, &doc); err != nil {
				return nil, fmt.Errorf("set builder alias: %s is not a JSON object: %w", path, err)
			}
		}
		if doc == nil { // the file holds null, which the docker CLI takes as {}
			doc = map[string]json.RawMessage{}
		}
	}
	aliases := map[string]json.RawMessage{}
	if raw, ok := doc["aliases"]; ok && string(raw) != "null" {
		if err := json.Unmarshal(raw, &aliases); err != nil {
			return nil, fmt.Errorf("set builder alias: %s: \"aliases\" is not an object: %w", path, err)
		}
	}
	name, _ := json.Marshal(Name)
	aliases["builder"] = name
	if doc["aliases"], err = json.Marshal(aliases); err != nil {
		return nil, err
	}
	out, err := json.MarshalIndent(doc, "", "\t")
	if err != nil {
		return nil, err
	}
	return func() error {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return fmt.Errorf("set builder alias: %w", err)
		}
		if err := atomicfile.WriteFile(path, append(out, '\n'), mode); err != nil {
			return fmt.Errorf("set builder alias in %s: %w", path, err)
		}
		if err := chown(path, uid, gid); err != nil {
			return fmt.Errorf("set builder alias in %s: %w", path, err)
		}
		return nil
	}, nil
}

// ownerOf is the owner of path (-1, -1 when it cannot be read).
func ownerOf(path string) (int, int) {
	fi, err := os.Stat(path)
	if err != nil {
		return -1, -1
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return -1, -1
	}
	return int(st.Uid), int(st.Gid)
}

// chown gives path to uid:gid where that is another owner than this
// process (root installing for an account); -1 leaves it as it is.
func chown(path string, uid, gid int) error {
	if uid < 0 || uid == os.Geteuid() && gid == os.Getegid() {
		return nil
	}
	return os.Chown(path, uid, gid)
}
