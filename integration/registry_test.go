//go:build integration

package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// startAuthRegistry runs a registry with htpasswd auth behind a self-signed
// TLS certificate; it returns its address and the certificate's path.
func startAuthRegistry(t *testing.T, user, password string) (string, string) {
	t.Helper()
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	out, err := exec.Command("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
		"-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1").CombinedOutput()
	if err != nil {
		t.Fatalf("openssl: %v\n%s", err, out)
	}
	hp, err := exec.Command("htpasswd", "-Bbn", user, password).Output()
	if err != nil {
		t.Fatalf("htpasswd (apache2-utils): %v", err)
	}
	htpasswd := filepath.Join(dir, "htpasswd")
	os.WriteFile(htpasswd, hp, 0644)
	extra := fmt.Sprintf("  tls:\n    certificate: %s\n    key: %s\nauth:\n  htpasswd:\n    realm: builder-test\n    path: %s\n", cert, key, htpasswd)
	stop, addr, err := startRegistry(filepath.Join(dir, "registry"), extra)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return addr, cert
}

// TestLoginPushPullTLS: login, push, logout, pull fails with an auth error,
// login, pull works; against htpasswd auth over TLS with builder trusting
// the registry's certificate through its config (ca).
func TestLoginPushPullTLS(t *testing.T) {
	addr, cert := startAuthRegistry(t, "alice", "s3cret")
	e := newEnv(t)
	cfg := fmt.Sprintf("[registry.\"docker.io\"]\n  mirrors = [%q]\n[registry.%q]\n  http = false\n  ca = [%q]\n", s.registry, addr, cert)
	os.WriteFile(filepath.Join(e.root, "config.toml"), []byte(cfg), 0644)
	ref := addr + "/team/app:v1"
	e.must("build", "-t", ref, writeContext(t, map[string]string{"Dockerfile": "FROM busybox\nRUN echo private > /p\n"}))

	if r := e.run("push", ref); r.code == 0 {
		t.Fatalf("push without login succeeded:\n%s", r)
	}
	if r := e.runIn([]byte("wrong\n"), "login", "-u", "alice", "--password-stdin", addr); r.code == 0 || !strings.Contains(r.stderr, "unauthorized") {
		t.Errorf("login with a wrong password: %s", r)
	}
	if r := e.runIn([]byte("s3cret\n"), "login", "-u", "alice", "--password-stdin", addr); r.code != 0 || r.stdout != "Login Succeeded\n" {
		t.Fatalf("login: %s", r)
	}
	conf := filepath.Join(filepath.Dir(e.root), ".docker", "config.json")
	if fi, err := os.Stat(conf); err != nil || fi.Mode().Perm() != 0600 {
		t.Errorf("docker config %s: %v, %v; want mode 0600", conf, fi, err)
	}
	r := e.must("push", ref)
	if !regexp.MustCompile(`(?m)^v1: digest: sha256:[0-9a-f]{64} size: \d+$`).MatchString(r.stdout) ||
		!strings.Contains(r.stdout, "The push refers to repository ["+addr+"/team/app]") {
		t.Errorf("push printed:\n%s", r.stdout)
	}
	// An independent client reads what was pushed.
	certDir := t.TempDir() // skopeo reads CA certificates named *.crt
	copyFile(cert, filepath.Join(certDir, "ca.crt"))
	if out, err := exec.Command("skopeo", "inspect", "--cert-dir", certDir, "--creds", "alice:s3cret",
		"docker://"+ref).CombinedOutput(); err != nil {
		t.Errorf("skopeo inspect: %v\n%s", err, out)
	}
	// The store keeps the built layer uncompressed, as docker's store does;
	// the registry gets every layer gzip-compressed, as docker push sends it.
	type layer struct{ MediaType, Digest string }
	layers := func(transport string, args ...string) []layer {
		out, err := exec.Command("skopeo", append(append([]string{"inspect", "--raw"}, args...), transport)...).Output()
		if err != nil {
			t.Fatalf("skopeo inspect --raw %s: %v", transport, err)
		}
		var m struct{ Layers []layer }
		json.Unmarshal(out, &m)
		return m.Layers
	}
	if got := layers("oci:" + filepath.Join(e.root, "images") + ":" + ref); len(got) != 2 || got[1].MediaType != "application/vnd.oci.image.layer.v1.tar" {
		t.Errorf("stored layers %v; want the RUN layer uncompressed", got)
	}
	pushed := layers("docker://"+ref, "--cert-dir", certDir, "--creds", "alice:s3cret")
	if len(pushed) != 2 || pushed[0].MediaType != pushed[1].MediaType || !strings.HasSuffix(pushed[1].MediaType, "+gzip") {
		t.Fatalf("pushed layers %v; want both gzip", pushed)
	}
	id := e.must("images", "-q", ref).stdout
	// The compressed layer is not kept (prune collects it), only what it was:
	// a second push to a registry that has it compresses nothing.
	e.must("image", "prune", "-f")
	gzBlob := filepath.Join(e.root, "images", "blobs", "sha256", strings.TrimPrefix(pushed[1].Digest, "sha256:"))
	if _, err := os.Stat(gzBlob); err == nil {
		t.Errorf("the compressed layer is still in the store after prune")
	}
	if got := e.must("push", ref).stdout; !strings.Contains(got, "Layer already exists") {
		t.Errorf("second push printed:\n%s", got)
	}
	if _, err := os.Stat(gzBlob); err == nil {
		t.Errorf("the second push compressed the layer again")
	}
	// A repository that lacks it gets it compressed again, to the same digest.
	other := addr + "/team/other:v1"
	e.must("tag", ref, other)
	if got := e.must("push", other).stdout; !strings.Contains(got, strings.TrimPrefix(pushed[1].Digest, "sha256:")[:12]+": Pushed") {
		t.Errorf("push to another repository printed:\n%s", got)
	}
	if got := layers("docker://"+other, "--cert-dir", certDir, "--creds", "alice:s3cret"); len(got) != 2 || got[1] != pushed[1] {
		t.Errorf("layers pushed to %s: %v; want %v", other, got, pushed)
	}

	if got := e.must("logout", addr).stdout; got != "Removing login credentials for "+addr+"\n" {
		t.Errorf("logout printed %q", got)
	}
	e.must("rmi", ref)
	r = e.run("pull", ref)
	if r.code == 0 || !regexp.MustCompile(`(?i)unauthorized|authorization|401`).MatchString(r.stderr) {
		t.Errorf("pull after logout: %s", r)
	}
	e.runIn([]byte("s3cret"), "login", "-u", "alice", "--password-stdin", addr)
	if got := e.must("pull", ref).stdout; !strings.Contains(got, "Status: Downloaded newer image for "+ref) {
		t.Errorf("pull printed:\n%s", got)
	}
	if got := e.must("run", "--rm", ref, "cat", "/p").stdout; got != "private\n" {
		t.Errorf("pulled image ran %q", got)
	}
	// Compression changes the layers' digests, not the image's: the same ID.
	if got := e.must("images", "-q", ref).stdout; got != id {
		t.Errorf("pulled image ID %q; pushed %q", got, id)
	}
	// A build's FROM reaches the same registry through the solver: its CA
	// from the config file, the login through the build's session.
	e.must("rmi", ref)
	e.must("build", "-t", "derived", writeContext(t, map[string]string{"Dockerfile": "FROM " + ref + "\nRUN cp /p /q\n"}))
	if got := e.must("run", "--rm", "derived", "cat", "/q").stdout; got != "private\n" {
		t.Errorf("image built FROM the TLS registry ran %q", got)
	}
}

// TestTutorialWalk is the tutorial's sequence: pulls by short name, by tag
// and from a second host (a mirror standing in for quay.io), rm by ID
// prefix, save, rm, load.
func TestTutorialWalk(t *testing.T) {
	e := newEnv(t)
	// "nginx" images, pushed beforehand with skopeo: two tags on the
	// docker.io mirror and one under another host's path.
	src := writeContext(t, map[string]string{"Dockerfile": "FROM busybox\nRUN echo nginx > /nginx\n"})
	archive := filepath.Join(t.TempDir(), "nginx.tar")
	e.must("build", "-o", "type=oci,dest="+archive, src)
	for _, n := range []string{"library/nginx:latest", "library/nginx:1.20.0", "bitnami/nginx:latest"} {
		if out, err := exec.Command("skopeo", "copy", "--quiet", "--dest-tls-verify=false", "oci-archive:"+archive, "docker://"+s.registry+"/"+n).CombinedOutput(); err != nil {
			t.Fatalf("skopeo copy: %v\n%s", err, out)
		}
	}
	cfg, _ := os.ReadFile(filepath.Join(e.root, "config.toml"))
	cfg = append(cfg, []byte(fmt.Sprintf("[registry.\"quay.io\"]\n  mirrors = [%q]\n", s.registry))...)
	os.WriteFile(filepath.Join(e.root, "config.toml"), cfg, 0644)

	r := e.must("pull", "nginx")
	for _, want := range []string{"Using default tag: latest\n", "latest: Pulling from library/nginx\n", "Digest: sha256:",
		"Status: Downloaded newer image for nginx:latest\n", "docker.io/library/nginx:latest\n"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("pull nginx lacks %q:\n%s", want, r.stdout)
		}
	}
	if r := e.must("pull", "nginx:1.20.0"); !strings.Contains(r.stdout, "Already exists") {
		t.Errorf("pull nginx:1.20.0 should find its layers present:\n%s", r.stdout)
	}
	e.must("pull", "quay.io/bitnami/nginx")
	out := e.must("image", "ls").stdout
	for _, want := range []string{`(?m)^nginx\s+latest\s`, `(?m)^nginx\s+1\.20\.0\s`, `(?m)^quay\.io/bitnami/nginx\s+latest\s`} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("image ls lacks %s:\n%s", want, out)
		}
	}
	// The same image under three names: rm by ID prefix needs -f.
	id := strings.TrimSpace(e.must("images", "-q", "nginx:1.20.0").stdout)
	e.must("image", "save", "nginx:1.20.0", "-o", filepath.Join(t.TempDir(), "unused.tar"))
	saved := filepath.Join(t.TempDir(), "nginx.image")
	e.must("image", "save", "-o", saved, "nginx:1.20.0")
	got := e.must("image", "rm", "-f", id[:6]).stdout
	if !strings.Contains(got, "Untagged: nginx:1.20.0\n") || !strings.Contains(got, "Deleted: sha256:") {
		t.Errorf("image rm %s printed %q", id[:6], got)
	}
	if r := e.run("image", "rm", "nginx:1.20.0"); r.code != 1 || !strings.Contains(r.stderr, "No such image: nginx:1.20.0") {
		t.Errorf("rm of a removed image: %s", r)
	}
	if got := e.must("image", "load", "-i", saved).stdout; got != "Loaded image: nginx:1.20.0\n" {
		t.Errorf("load printed %q", got)
	}
	if got := e.must("run", "--rm", "nginx:1.20.0", "cat", "/nginx").stdout; got != "nginx\n" {
		t.Errorf("loaded nginx ran %q", got)
	}
}

// TestAllTagsAndDigests: push -a and pull -a take every tag of a
// repository; pulled images carry RepoDigests; rmi accepts name@digest.
func TestAllTagsAndDigests(t *testing.T) {
	e := newEnv(t)
	repo := s.registry + "/alltags/app"
	for _, tag := range []string{"a", "b", "c"} {
		e.must("build", "-t", repo+":"+tag, writeContext(t, map[string]string{"Dockerfile": "FROM scratch\nCOPY f /f\n", "f": tag}))
	}
	r := e.must("push", "-a", repo)
	if strings.Count(r.stdout, ": digest: sha256:") != 3 {
		t.Errorf("push -a printed:\n%s", r.stdout)
	}
	if r := e.run("push", "-a", repo+":a"); r.code == 0 {
		t.Error("push -a with a tag succeeded")
	}
	other := newEnv(t)
	other.must("pull", "-a", repo)
	if out := other.must("images", "--format", "{{.Tag}}", repo).stdout; out != "a\nb\nc\n" && len(strings.Fields(out)) != 3 {
		t.Errorf("pull -a gave tags %q", out)
	}
	var ii []struct{ RepoDigests []string }
	json.Unmarshal([]byte(other.must("inspect", repo+":b").stdout), &ii)
	if len(ii) != 1 || len(ii[0].RepoDigests) != 1 || !strings.HasPrefix(ii[0].RepoDigests[0], repo+"@sha256:") {
		t.Fatalf("RepoDigests = %+v", ii)
	}
	rd := ii[0].RepoDigests[0]
	if got := other.must("inspect", "--format", "{{index .RepoTags 0}}", rd).stdout; got != repo+":b\n" {
		t.Errorf("inspect %s = %q", rd, got)
	}
	other.must("rmi", rd)
	if out := other.must("images", "--format", "{{.Tag}}", repo).stdout; strings.Contains(out, "b") {
		t.Errorf("rmi %s left %q", rd, out)
	}
}
