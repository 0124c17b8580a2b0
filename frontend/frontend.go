// Package frontend is the Dockerfile side of a build: it checks the input,
// prepares what BuildKit's own Dockerfile frontend needs (its attributes,
// whether a `# syntax=` line can be served by the frontend compiled into
// builder, named contexts that make images in the local store usable as
// FROM sources), and runs that frontend client-side against a solver
// (Build). The conversion itself is BuildKit's
// (frontend/dockerfile/builder), so that Dockerfile semantics are
// BuildKit's exactly.
package frontend

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/containerd/platforms"
	"github.com/distribution/reference"
	"github.com/docker/go-units"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// EmbeddedVersion is the Dockerfile frontend compiled in (BuildKit v0.34's
// frontend/dockerfile/version).
var EmbeddedVersion = [2]int{1, 28}

// AttrOptions are the docker build flags that become frontend attributes.
type AttrOptions struct {
	// Filename is the Dockerfile's name inside its directory.
	Filename string
	Target   string
	// Platforms are --platform's, parsed (ParsePlatforms).
	Platforms []string
	BuildArgs map[string]string
	Labels    map[string]string
	NoCache   bool
	// Pull resolves every base image from its registry, bypassing the
	// local store, as `docker build --pull` does.
	Pull bool
	// Network is RUN's default network: "default", "host" or "none".
	Network string
	// NoCacheFilter are the stages built without cache (--no-cache-filter).
	NoCacheFilter []string
	Steps         StepOptions
}

// StepOptions are docker build's flags for the containers RUN steps run
// in, passed to the Dockerfile frontend under buildx's attribute names.
type StepOptions struct {
	// AddHosts are --add-host values, "host:ip" or "host=ip".
	AddHosts []string
	// ShmSize is --shm-size ("64m"; bytes without a unit).
	ShmSize string
	// Ulimits are --ulimit values ("nofile=1024:2048").
	Ulimits      []string
	CgroupParent string
}

// attrs adds o's attributes to attrs, checking each value as the frontend
// will read it so that bad input fails before the build starts.
func (o StepOptions) attrs(attrs map[string]string) error {
	var hosts []string
	for _, h := range o.AddHosts {
		name, ip, ok := strings.Cut(h, "=")
		if !ok {
			name, ip, ok = strings.Cut(h, ":")
		}
		if !ok || name == "" {
			return fmt.Errorf("--add-host %q: want HOST:IP", h)
		}
		if ip == "host-gateway" {
			return fmt.Errorf("--add-host %q: host-gateway is the docker daemon's address; builder has no daemon, give the IP", h)
		}
		if net.ParseIP(ip) == nil {
			return fmt.Errorf("--add-host %q: %q is not an IP address", h, ip)
		}
		hosts = append(hosts, name+"="+ip)
	}
	if len(hosts) > 0 {
		attrs["add-hosts"] = strings.Join(hosts, ",")
	}
	if o.ShmSize != "" {
		n, err := units.RAMInBytes(o.ShmSize)
		if err != nil || n <= 0 {
			return fmt.Errorf("--shm-size %q: want a positive size such as 64m", o.ShmSize)
		}
		attrs["shm-size"] = strconv.FormatInt(n, 10)
	}
	for _, u := range o.Ulimits {
		if _, err := units.ParseUlimit(u); err != nil {
			return fmt.Errorf("--ulimit %q: %w", u, err)
		}
	}
	if len(o.Ulimits) > 0 {
		attrs["ulimit"] = strings.Join(o.Ulimits, ",")
	}
	if o.CgroupParent != "" {
		attrs["cgroup-parent"] = o.CgroupParent
	}
	return nil
}

// Attrs returns the Dockerfile frontend's attributes for a build of
// dockerfile (its content) with o.
func Attrs(dockerfile []byte, o AttrOptions) (map[string]string, error) {
	attrs := map[string]string{"filename": o.Filename}
	if o.Target != "" {
		attrs["target"] = o.Target
	}
	if len(o.Platforms) > 0 {
		attrs["platform"] = strings.Join(o.Platforms, ",")
	}
	for k, v := range o.BuildArgs {
		attrs["build-arg:"+k] = v
	}
	for k, v := range o.Labels {
		attrs["label:"+k] = v
	}
	switch {
	case o.NoCache:
		attrs["no-cache"] = ""
	case len(o.NoCacheFilter) > 0:
		attrs["no-cache"] = strings.Join(o.NoCacheFilter, ",")
	}
	if err := o.Steps.attrs(attrs); err != nil {
		return nil, err
	}
	if o.Pull {
		attrs["image-resolve-mode"] = "pull"
	}
	switch o.Network {
	case "", "default":
	case "host", "none":
		attrs["force-network-mode"] = o.Network
	default:
		return nil, fmt.Errorf("--network %q: want default, host or none", o.Network)
	}
	if ref, _, _, ok := parser.DetectSyntax(dockerfile); ok && EmbeddedServes(ref) {
		// Any cmdline attribute stops the Dockerfile frontend from
		// forwarding to the syntax image: the compiled-in one builds it,
		// offline. Other syntax images are pulled and run, as docker does.
		attrs["cmdline"] = ref
	}
	return attrs, nil
}

// ParsePlatforms reads --platform's comma-separated list (os/arch[/variant]
// each), normalised and without repeats.
func ParsePlatforms(s string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, f := range strings.Split(s, ",") {
		p, err := platforms.Parse(strings.TrimSpace(f))
		if err != nil {
			return nil, fmt.Errorf("--platform %q: %w", s, err)
		}
		n := platforms.Format(platforms.Normalize(p))
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out, nil
}

// EmbeddedServes reports whether the frontend named by a `# syntax=` line is
// one the compiled-in frontend satisfies: docker/dockerfile at tag 1, 1.N or
// 1.N.P up to EmbeddedVersion. Labs, digests and other images are not.
func EmbeddedServes(syntax string) bool {
	named, err := reference.ParseNormalizedNamed(syntax)
	if err != nil || named.Name() != "docker.io/docker/dockerfile" {
		return false
	}
	if _, ok := named.(reference.Digested); ok {
		return false
	}
	tagged, ok := named.(reference.Tagged)
	if !ok {
		return false // "latest" may be newer than what is compiled in
	}
	parts := strings.Split(tagged.Tag(), ".")
	if len(parts) > 3 {
		return false
	}
	var v [3]int
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || strconv.Itoa(n) != p {
			return false
		}
		v[i] = n
	}
	if v[0] != EmbeddedVersion[0] {
		return false
	}
	return len(parts) == 1 || v[1] <= EmbeddedVersion[1]
}
