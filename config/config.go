// Package config reads builder's config file: buildkitd.toml's format, of
// which builder uses the [registry."host"] sections (mirrors, http,
// insecure, ca) and the build cache's garbage collection settings of
// [worker.oci] (gc, reservedSpace, maxUsedSpace, minFreeSpace, gcpolicy),
// [cdi] (devices for RUN --device), and, for builder serve,
// insecure-entitlements and [history], with BuildKit's own semantics.
package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	bkconfig "github.com/moby/buildkit/cmd/buildkitd/config"
	resolverconfig "github.com/moby/buildkit/util/resolver/config"
)

// Config is what builder takes from the file.
type Config struct {
	Registries map[string]resolverconfig.RegistryConfig
	// GC is [worker.oci]'s garbage collection of the build cache.
	GC bkconfig.GCConfig
	// Entitlements is insecure-entitlements: what builds may be granted
	// (network.host, security.insecure, device).
	Entitlements []string
	// History is [history]: how many build records builder serve keeps
	// (nil: BuildKit's defaults).
	History *bkconfig.HistoryConfig
	// CDI is [cdi]: where Container Device Interface specs are read from.
	CDI bkconfig.CDIConfig
	// Path is the file read ("" when none was found).
	Path string
}

// SystemPath is read when neither --config nor ROOT/config.toml exists.
const SystemPath = "/etc/builder/config.toml"

// Load reads path, which must exist when given (it came from --config or
// BUILDER_CONFIG); without it, ROOT/config.toml and then SystemPath are
// tried, and no file at all is an empty config.
func Load(path, root string) (Config, error) {
	if path != "" {
		if _, err := os.Stat(path); err != nil {
			return Config{}, fmt.Errorf("--config %s: %w", path, err)
		}
		return load(path)
	}
	for _, p := range []string{filepath.Join(root, "config.toml"), SystemPath} {
		if _, err := os.Stat(p); err == nil {
			return load(p)
		} else if !errors.Is(err, os.ErrNotExist) {
			return Config{}, fmt.Errorf("read config %s: %w", p, err)
		}
	}
	return Config{}, nil
}

func load(path string) (Config, error) {
	c, err := bkconfig.LoadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("load config %s: %w", path, err)
	}
	return Config{Registries: c.Registries, GC: c.Workers.OCI.GCConfig, Entitlements: c.Entitlements,
		History: c.History, CDI: c.CDI, Path: path}, nil
}
