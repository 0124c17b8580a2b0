package store

import (
	"fmt"
	"strings"

	"github.com/distribution/reference"
)

// ParseName normalises a user's image name the way docker does:
// "hello" is docker.io/library/hello:latest. Digest references are refused:
// a name in the store is always a tag.
func ParseName(s string) (string, error) {
	named, err := reference.ParseNormalizedNamed(s)
	if err != nil {
		return "", fmt.Errorf("invalid reference %q: %w", s, err)
	}
	if _, ok := named.(reference.Digested); ok {
		return "", fmt.Errorf("invalid tag %q: a tag cannot contain a digest", s)
	}
	return reference.TagNameOnly(named).String(), nil
}

// FamiliarName is the short form of a normalised name, with ":latest"
// omitted: "hello", "quay.io/bitnami/nginx", "nginx:1.20.0". BuildKit keys
// named build contexts by the same form.
func FamiliarName(name string) string {
	named, err := reference.ParseNormalizedNamed(name)
	if err != nil {
		return name
	}
	return strings.TrimSuffix(familiar(named, reference.FamiliarString(named), named.String()), ":latest")
}

// familiar returns short unless it names something else: a Docker Hub
// repository whose first component looks like a host ("docker.io/0.0/x",
// "docker.io/localhost/x") shortens to a name that parses with that host as
// its registry, so such a name keeps its full form.
func familiar(named reference.Named, short, full string) string {
	back, err := reference.ParseNormalizedNamed(short)
	if err != nil || back.Name() != named.Name() {
		return full
	}
	return short
}

// RepoTag splits a normalised name into docker's REPOSITORY and TAG columns.
// A dangling image ("") is "<none>", "<none>".
func RepoTag(name string) (repo, tag string) {
	if name == "" {
		return "<none>", "<none>"
	}
	named, err := reference.ParseNormalizedNamed(name)
	if err != nil {
		return name, "<none>"
	}
	repo = familiar(named, reference.FamiliarName(named), named.Name())
	tag = "<none>"
	if t, ok := named.(reference.Tagged); ok {
		tag = t.Tag()
	}
	return repo, tag
}
