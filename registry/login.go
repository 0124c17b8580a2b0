package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/containerd/containerd/v2/core/remotes/docker"
	"github.com/docker/cli/cli/config/types"
)

// Login checks user and password against server's registry and, when they
// work, stores them in docker's config (or its credential store).
func (c *Client) Login(ctx context.Context, server, user, password string) error {
	key := ServerKey(server)
	domain := key
	if key == IndexServer {
		domain = "docker.io"
	}
	h, err := c.origin(domain)
	if err != nil {
		return err
	}
	url := h.Scheme + "://" + h.Host + h.Path + "/"
	resp, err := get(ctx, h, url, nil)
	if err != nil {
		return fmt.Errorf("login to %s: %w", domain, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized {
		// get answers the challenge itself when handed an authorizer.
		auth := docker.NewDockerAuthorizer(docker.WithAuthClient(h.Client),
			docker.WithAuthCreds(func(string) (string, string, error) { return user, password, nil }))
		resp2, err := get(ctx, h, url, auth)
		if err != nil {
			return fmt.Errorf("login to %s: %w", domain, err)
		}
		io.Copy(io.Discard, resp2.Body)
		resp2.Body.Close()
		if resp2.StatusCode == http.StatusUnauthorized || resp2.StatusCode == http.StatusForbidden {
			return errors.New("unauthorized: incorrect username or password")
		}
		if resp2.StatusCode != http.StatusOK {
			return fmt.Errorf("login to %s: %s", domain, resp2.Status)
		}
	} else if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("login to %s: %s", domain, resp.Status)
	}
	store := c.config.GetCredentialsStore(key)
	if err := store.Store(types.AuthConfig{ServerAddress: key, Username: user, Password: password}); err != nil {
		return fmt.Errorf("store credentials: %w", err)
	}
	if err := c.config.Save(); err != nil {
		return fmt.Errorf("save %s: %w", c.config.Filename, err)
	}
	return nil
}

// Logout removes server's credentials; it reports whether there were any.
func (c *Client) Logout(ctx context.Context, server string) (bool, error) {
	key := ServerKey(server)
	if _, ok := c.config.AuthConfigs[key]; !ok && c.config.CredentialsStore == "" && c.config.CredentialHelpers[key] == "" {
		return false, nil
	}
	if err := c.config.GetCredentialsStore(key).Erase(key); err != nil {
		return false, fmt.Errorf("remove credentials for %s: %w", key, err)
	}
	if err := c.config.Save(); err != nil {
		return false, fmt.Errorf("save %s: %w", c.config.Filename, err)
	}
	return true, nil
}
