package registry

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker/cli/cli/config/configfile"
	resolverconfig "github.com/moby/buildkit/util/resolver/config"
)

// A registry of the test's own answering /v2/ with a Basic challenge, as
// distribution's htpasswd auth does: login stores only credentials that
// work, and logout removes them.
func TestLoginLogout(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); ok && u == "alice" && p == "s3cret" && r.URL.Path == "/v2/" {
			w.WriteHeader(http.StatusOK)
			return
		}
		w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	plain := true
	c := New(map[string]resolverconfig.RegistryConfig{host: {PlainHTTP: &plain}})
	// A config of the test's own (docker/cli reads DOCKER_CONFIG once per
	// process, so setting it here would not be heard).
	c.config = configfile.New(filepath.Join(dir, "config.json"))
	ctx := context.Background()
	cfgPath := filepath.Join(dir, "config.json")

	if err := c.Login(ctx, host, "alice", "wrong"); err == nil || !strings.Contains(err.Error(), "incorrect username or password") {
		t.Fatalf("a wrong password: %v", err)
	}
	if _, err := os.Stat(cfgPath); !os.IsNotExist(err) {
		t.Fatalf("a failed login wrote %s (%v)", cfgPath, err)
	}
	if err := c.Login(ctx, host, "alice", "s3cret"); err != nil {
		t.Fatal(err)
	}
	dt, err := os.ReadFile(cfgPath)
	if err != nil || !strings.Contains(string(dt), host) {
		t.Fatalf("login stored %q (%v)", dt, err)
	}
	if u, p, err := c.credentials(host); err != nil || u != "alice" || p != "s3cret" {
		t.Errorf("credentials = %q, %q, %v", u, p, err)
	}
	if had, err := c.Logout(ctx, host); !had || err != nil {
		t.Errorf("logout: %v, %v", had, err)
	}
	if had, err := c.Logout(ctx, host); had || err != nil {
		t.Errorf("a second logout: %v, %v", had, err)
	}
}

func TestServerKey(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"":                            IndexServer,
		"docker.io":                   IndexServer,
		"https://index.docker.io/v1/": IndexServer,
		"registry-1.docker.io":        IndexServer,
		"quay.io":                     "quay.io",
		"https://127.0.0.1:5000/":     "127.0.0.1:5000",
		"http://registry.local:5000":  "registry.local:5000",
	} {
		if got := ServerKey(in); got != want {
			t.Errorf("ServerKey(%q) = %q; want %q", in, got, want)
		}
	}
}

func TestParsePullPolicy(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"always", "missing", "never"} {
		if p, err := ParsePullPolicy(ok); err != nil || string(p) != ok {
			t.Errorf("ParsePullPolicy(%q) = %q, %v", ok, p, err)
		}
	}
	if _, err := ParsePullPolicy("sometimes"); err == nil || !strings.Contains(err.Error(), `invalid pull option: 'sometimes'`) {
		t.Errorf("a bad policy: %v", err)
	}
}
