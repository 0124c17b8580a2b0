// Package registry talks to image registries for pull, push, login and
// logout: hosts, mirrors, plain HTTP and CAs from builder's config file (with
// BuildKit's own semantics), credentials from docker's config.json and its
// credential helpers.
package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/containerd/containerd/v2/core/remotes"
	"github.com/containerd/containerd/v2/core/remotes/docker"
	"github.com/distribution/reference"
	dockerconfig "github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/config/configfile"
	"github.com/moby/buildkit/util/resolver"
	resolverconfig "github.com/moby/buildkit/util/resolver/config"
)

// IndexServer is the key docker keeps Docker Hub credentials under.
const IndexServer = "https://index.docker.io/v1/"

// Client resolves, pulls and pushes with one configuration.
type Client struct {
	hosts docker.RegistryHosts
	// base has no authorizer: login checks credentials it is handed.
	base   docker.RegistryHosts
	config *configfile.ConfigFile
}

// New makes a client from the config file's registry table; credentials
// come from docker's config (DOCKER_CONFIG or ~/.docker/config.json).
func New(registries map[string]resolverconfig.RegistryConfig) *Client {
	cfg := dockerconfig.LoadDefaultConfigFile(io.Discard)
	base := resolver.NewRegistryConfig(registries)
	c := &Client{base: base, config: cfg}
	c.hosts = func(domain string) ([]docker.RegistryHost, error) {
		hs, err := base(domain)
		if err != nil {
			return nil, err
		}
		for i := range hs {
			hs[i].Authorizer = docker.NewDockerAuthorizer(docker.WithAuthClient(hs[i].Client), docker.WithAuthCreds(c.credentials))
		}
		return hs, nil
	}
	return c
}

// credentials looks a registry host up in docker's config.
func (c *Client) credentials(host string) (string, string, error) {
	ac, err := c.config.GetAuthConfig(ServerKey(host))
	if err != nil {
		return "", "", fmt.Errorf("credentials for %s: %w", host, err)
	}
	if ac.IdentityToken != "" {
		return "", ac.IdentityToken, nil
	}
	return ac.Username, ac.Password, nil
}

// ServerKey is the key docker's config uses for a registry host.
func ServerKey(host string) string {
	switch strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(host, "https://"), "http://"), "/") {
	case "", "docker.io", "index.docker.io", "registry-1.docker.io", "index.docker.io/v1":
		return IndexServer
	}
	return strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(host, "https://"), "http://"), "/")
}

// Resolver is a containerd resolver over the configured hosts.
func (c *Client) Resolver() remotes.Resolver {
	return docker.NewResolver(docker.ResolverOptions{Hosts: c.hosts})
}

// origin returns the registry's own host entry for domain (mirrors come
// first in the list and cannot be logged in to or pushed to).
func (c *Client) origin(domain string) (docker.RegistryHost, error) {
	hs, err := c.base(domain)
	if err != nil {
		return docker.RegistryHost{}, err
	}
	if len(hs) == 0 {
		return docker.RegistryHost{}, fmt.Errorf("no registry host for %s", domain)
	}
	return hs[len(hs)-1], nil
}

// get GETs url from h; a 401 is answered once through auth (when given),
// which learns the challenge from it.
func get(ctx context.Context, h docker.RegistryHost, url string, auth docker.Authorizer) (*http.Response, error) {
	client := h.Client
	if client == nil {
		client = http.DefaultClient
	}
	do := func(prev *http.Response) (*http.Response, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return nil, err
		}
		if prev != nil {
			if err := auth.AddResponses(ctx, []*http.Response{prev}); err != nil {
				return nil, err
			}
			if err := auth.Authorize(ctx, req); err != nil {
				return nil, err
			}
		}
		return client.Do(req)
	}
	resp, err := do(nil)
	if err != nil || resp.StatusCode != http.StatusUnauthorized || auth == nil {
		return resp, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return do(resp)
}

// Tags lists a repository's tags, from the first configured host (mirrors
// first) that answers.
func (c *Client) Tags(ctx context.Context, named reference.Named) ([]string, error) {
	hs, err := c.hosts(reference.Domain(named))
	if err != nil {
		return nil, err
	}
	var lastErr error
	for _, h := range hs {
		url := h.Scheme + "://" + h.Host + h.Path + "/" + reference.Path(named) + "/tags/list"
		resp, err := get(ctx, h, url, h.Authorizer)
		if err != nil {
			lastErr = err
			continue
		}
		var out struct{ Tags []string }
		err = json.NewDecoder(io.LimitReader(resp.Body, 20<<20)).Decode(&out)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			lastErr = fmt.Errorf("list tags of %s: %s", named.Name(), resp.Status)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("list tags of %s: %w", named.Name(), err)
		}
		return out.Tags, nil
	}
	return nil, lastErr
}

// Reachable checks that the registry of ref answers at all, so a build
// whose cache registry is down fails before it starts instead of after.
// Any HTTP answer will do (401 included: credentials are the solver's
// business); only a host that cannot be dialled or named fails.
func (c *Client) Reachable(ctx context.Context, ref string) error {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return err
	}
	domain := reference.Domain(named)
	h, err := c.origin(domain)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	resp, err := get(ctx, h, h.Scheme+"://"+h.Host+h.Path+"/", nil)
	if err != nil {
		var op *net.OpError
		var dns *net.DNSError
		if errors.As(err, &op) && op.Op == "dial" || errors.As(err, &dns) || errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("registry %s is unreachable: %w", domain, err)
		}
		return nil
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return nil
}
