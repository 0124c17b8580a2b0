// Package metareply answers the docker CLI's plugin metadata request
// (`docker-bld docker-cli-plugin-metadata`) from its init function, before
// the rest of builder's packages are initialised.
//
// The docker CLI asks every plugin for its metadata before each run of it
// (`docker bld build` starts builder twice), and builder's ~380 packages
// spend ~25 ms in their init functions. This package imports only os,
// encoding/json, docker/cli's metadata definitions and builder's version. Go's linker runs, at each step, the lexically first package
// whose imports are initialised, so every import that sorts after
// "github.com" (path/filepath, strings) lets the github.com packages that
// are ready by then run first: with those two, 182 packages ran before
// this one; without them, 80 (of 382).
package metareply

import (
	"encoding/json"
	"io"
	"os"

	"github.com/builder-dev/builder/version"
	"github.com/docker/cli/cli-plugins/metadata"
)

func init() {
	if !IsRequest(os.Args) {
		return
	}
	if err := Write(os.Stdout); err != nil {
		os.Stderr.WriteString("docker-cli-plugin-metadata: " + err.Error() + "\n")
		os.Exit(1)
	}
	os.Exit(0)
}

// IsRequest tells whether argv is the docker CLI asking a plugin
// (a binary named docker-NAME) for its metadata.
func IsRequest(argv []string) bool {
	if len(argv) != 2 || argv[1] != metadata.MetadataSubcommandName {
		return false
	}
	base := argv[0]
	for i := len(base) - 1; i >= 0; i-- { // filepath.Base, without its import
		if base[i] == '/' {
			base = base[i+1:]
			break
		}
	}
	return len(base) > len(metadata.NamePrefix) && base[:len(metadata.NamePrefix)] == metadata.NamePrefix
}

// Metadata is what `docker-bld docker-cli-plugin-metadata` prints.
func Metadata() metadata.Metadata {
	return metadata.Metadata{
		SchemaVersion:    "0.1.0",
		Vendor:           "builder-dev",
		Version:          version.Version,
		ShortDescription: "Build and manage images, daemonless, on BuildKit (builder)",
		URL:              "https://github.com/builder-dev/builder",
	}
}

// Write writes Metadata as the docker CLI reads it.
func Write(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "     ")
	return enc.Encode(Metadata())
}
