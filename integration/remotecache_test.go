//go:build integration

package integration

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// ciContext is a multi-stage build whose slow step records when it ran:
// a cache hit shows as the first runner's timestamp.
func ciContext(t *testing.T) string {
	return writeContext(t, map[string]string{"Dockerfile": `FROM busybox AS base
RUN sleep 1 && date +%s%N > /stamp
FROM busybox
COPY --from=base /stamp /stamp
RUN cat /stamp > /copy && echo done >> /copy
`})
}

// vertex is one vertex update in a rawjson progress stream.
type vertex struct {
	Name      string
	Cached    bool
	Started   *time.Time
	Completed *time.Time
}

// vertexes reads every vertex update of a rawjson progress stream, in order.
func vertexes(rawjson string) []vertex {
	var out []vertex
	sc := bufio.NewScanner(strings.NewReader(rawjson))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var st struct{ Vertexes []vertex }
		if json.Unmarshal(sc.Bytes(), &st) == nil {
			out = append(out, st.Vertexes...)
		}
	}
	return out
}

// steps reads a rawjson progress stream and returns, for each RUN and COPY
// step, whether it was cached.
func steps(t *testing.T, rawjson string) map[string]bool {
	t.Helper()
	step := regexp.MustCompile(`^\[[^\]]+\] (RUN|COPY) `)
	out := map[string]bool{}
	for _, v := range vertexes(rawjson) {
		if step.MatchString(v.Name) {
			out[v.Name] = out[v.Name] || v.Cached
		}
	}
	if len(out) != 3 {
		t.Fatalf("want 3 RUN/COPY steps in the progress, got %v", out)
	}
	return out
}

// copiedInFinalize checks, in a rawjson progress stream, that the image
// went into the store in the export's finalize step (solver.storeExporter):
// the store's export vertex starts again after it first completed, which
// is when BuildKit runs finalize steps, beside the cache export.
func copiedInFinalize(t *testing.T, rawjson string) {
	t.Helper()
	var starts, completions []time.Time
	for _, v := range vertexes(rawjson) {
		if v.Name != "exporting to oci image format" {
			continue
		}
		if v.Started != nil {
			starts = append(starts, *v.Started)
		}
		if v.Completed != nil {
			completions = append(completions, *v.Completed)
		}
	}
	if len(completions) == 0 {
		t.Fatalf("no store export in the progress")
	}
	first := slices.MinFunc(completions, time.Time.Compare)
	if !slices.ContainsFunc(starts, first.Before) {
		t.Errorf("the store export ran in one step (first completion %v, starts %v); want the copy into the store in its finalize step", first, starts)
	}
}

// stamp is what the built image's /copy holds.
func (e *env) stamp(image string) string {
	e.t.Helper()
	return e.must("run", "--rm", image, "cat", "/copy").stdout
}

// ciRunners builds ciContext on an empty root A exporting its cache with
// to, then on an empty root B importing it with from, and checks B reused
// every step: same timestamp, same image ID. (args go to both builds.)
func ciRunners(t *testing.T, to, from []string, between func(a *env), inline bool, args ...string) {
	t.Helper()
	dir := ciContext(t)
	a, b := newEnv(t), newEnv(t)
	build := func(e *env, cacheArgs []string) (id string, rawjson string) {
		iid := filepath.Join(t.TempDir(), "iid")
		r := e.must(append(append(append([]string{"build", "--progress", "rawjson", "--iidfile", iid, "-t", "ci"}, args...), cacheArgs...), dir)...)
		dt, err := os.ReadFile(iid)
		if err != nil {
			t.Fatal(err)
		}
		return string(dt), r.stderr
	}
	idA, progressA := build(a, to)
	copiedInFinalize(t, progressA)
	if between != nil {
		between(a)
	}
	idB, progress := build(b, from)
	for name, cached := range steps(t, progress) {
		if !cached {
			t.Errorf("runner B ran %q again; want it from A's cache", name)
		}
	}
	if idA != idB {
		// An inline cache is part of the config, and BuildKit records
		// runner B's cache hits in it a little differently from A's
		// fresh steps; the image itself must still be the same.
		ca, cb := a.configWithoutCache(idA), b.configWithoutCache(idB)
		if !inline || ca != cb {
			t.Errorf("runner B built %s; runner A %s", idB, idA)
		}
	}
	if sa, sb := a.stamp("ci"), b.stamp("ci"); sa != sb {
		t.Errorf("runner B's /copy holds %q; runner A's %q", sb, sa)
	}
}

// configWithoutCache is an image config as stored, without its inline
// cache metadata.
func (e *env) configWithoutCache(id string) string {
	e.t.Helper()
	dt, err := os.ReadFile(filepath.Join(e.root, "images", "blobs", "sha256", strings.TrimPrefix(id, "sha256:")))
	if err != nil {
		e.t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(dt, &cfg); err != nil {
		e.t.Fatal(err)
	}
	delete(cfg, "moby.buildkit.cache.v0")
	out, _ := json.Marshal(cfg)
	return string(out)
}

// TestCacheRegistry: two CI runners share a mode=max cache through a
// registry; the second, on an empty root, rebuilds nothing.
func TestCacheRegistry(t *testing.T) {
	ref := s.registry + "/cache/ci:" + strings.ToLower(t.Name())
	ciRunners(t, []string{"--cache-to", "type=registry,ref=" + ref + ",mode=max"}, []string{"--cache-from", "type=registry,ref=" + ref}, nil, false)
}

// TestCacheRegistryBareRef: docker's bare --cache-from REF is a registry
// cache, and image-manifest=true (an OCI image manifest instead of an
// index) is read back the same way.
func TestCacheRegistryBareRef(t *testing.T) {
	ref := s.registry + "/cache/ci:bare"
	ciRunners(t, []string{"--cache-to", "type=registry,ref=" + ref + ",mode=max,image-manifest=true,oci-mediatypes=true"}, []string{"--cache-from", ref}, nil, false)
}

// TestCacheLocal: the actions/cache pattern, a directory carried from one
// runner to the next.
func TestCacheLocal(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache")
	ciRunners(t, []string{"--cache-to", "type=local,dest=" + dir + ",mode=max"}, []string{"--cache-from", "type=local,src=" + dir}, nil, false)
}

// TestCacheInline: the cache travels in the pushed image's config and is
// imported by naming the image. Inline cache is mode=min: the final
// stage's steps are in it, which is what this build needs. The cache is
// part of the image's config, so runner B exports it too (as a CI job
// does), for the same image ID.
func TestCacheInline(t *testing.T) {
	ref := s.registry + "/cache/inline:1"
	ciRunners(t, []string{"--cache-to", "type=inline"}, []string{"--cache-from", "type=registry,ref=" + ref, "--cache-to", "type=inline"},
		func(a *env) {
			a.must("tag", "ci", ref)
			a.must("push", ref)
		}, true)
}

// TestCacheRemoteBuildkitd: the same flags against a stock buildkitd.
func TestCacheRemoteBuildkitd(t *testing.T) {
	bk := startBuildkitd(t)
	ref := s.registry + "/cache/ci:buildkitd"
	dir := ciContext(t)
	a := newEnv(t)
	a.must("--addr", bk.addr, "build", "--cache-to", "type=registry,ref="+ref+",mode=max", "-o", "type=oci,dest="+filepath.Join(t.TempDir(), "a.tar"), dir)
	b := newEnv(t)
	r := b.must("build", "--progress", "rawjson", "--cache-from", "type=registry,ref="+ref, "-t", "ci", dir)
	for name, cached := range steps(t, r.stderr) {
		if !cached {
			t.Errorf("builder ran %q again; want it from buildkitd's cache", name)
		}
	}
}

// TestCacheImportNothing: a cache that is not there yet (a first CI run)
// is not an error, in a registry or in a directory, and the directory is
// not created by reading it.
func TestCacheImportNothing(t *testing.T) {
	e := newEnv(t)
	dir := writeContext(t, map[string]string{"Dockerfile": "FROM busybox\nRUN true\n"})
	missing := filepath.Join(t.TempDir(), "none")
	e.must("build", "--cache-from", "type=registry,ref="+s.registry+"/cache/never:1", "--cache-from", "type=local,src="+missing, "-t", "x", dir)
	if _, err := os.Stat(missing); err == nil {
		t.Errorf("--cache-from type=local,src=%s created the directory", missing)
	}
}

// TestCacheBadInput: each mistake is refused before anything is built,
// naming the flag, and leaves the store and the destination as they were.
func TestCacheBadInput(t *testing.T) {
	e := newEnv(t)
	dir := writeContext(t, map[string]string{"Dockerfile": "FROM busybox\nRUN touch /ran\n"})
	down := "127.0.0.1:1/cache/x:1" // nothing listens on port 1
	dest := filepath.Join(t.TempDir(), "dest")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--cache-to", "type=nosuch,ref=x"}, `--cache-to "type=nosuch,ref=x": unknown cache type "nosuch"`},
		{[]string{"--cache-from", "type=nosuch"}, `--cache-from "type=nosuch": unknown cache type`},
		{[]string{"--cache-to", "mode=max"}, "type=<type> is required"},
		{[]string{"--cache-to", "type=registry,mode=max"}, "type=registry needs ref=REF"},
		{[]string{"--cache-from", "type=registry"}, "type=registry needs ref=REF"},
		{[]string{"--cache-to", "type=registry,ref=a//b"}, `ref="a//b"`},
		{[]string{"--cache-to", "type=local"}, "type=local needs dest=DIR"},
		{[]string{"--cache-from", "type=local,dest=" + dest}, "type=local needs src=DIR"},
		{[]string{"--cache-to", "type=registry,ref=" + s.registry + "/c:1,mode=all"}, `mode="all": want min or max`},
		{[]string{"--cache-to", "type=registry,ref=" + s.registry + "/c:1,ignore-error=maybe"}, `ignore-error="maybe": want true or false`},
		{[]string{"--cache-to", "type=registry,ref=" + s.registry + "/c:1,compression=lz4"}, `compression="lz4"`},
		{[]string{"--cache-from", "type=inline"}, "imported by naming its image"},
		{[]string{"--cache-to", "type=gha"}, "type=gha needs token= and url="},
		{[]string{"--cache-to", "type=s3"}, "type=s3 needs bucket= and region="},
		{[]string{"--cache-to", "type=s3,bucket=b,region=r"}, "the embedded solver has no s3 cache backend"},
		{[]string{"--cache-to", "type=registry,ref=" + down}, "--cache-to ref=" + down + ": registry 127.0.0.1:1 is unreachable"},
		{[]string{"--cache-from", down}, "--cache-from ref=" + down + ": registry 127.0.0.1:1 is unreachable"},
	} {
		before := e.storeState()
		start := time.Now()
		args := append(append([]string{"build", "-t", "bad", "-o", "type=local,dest=" + dest}, c.args...), dir)
		r := e.run(args...)
		if r.code == 0 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%v: want a failure saying %q; got %s", c.args, c.want, r)
		}
		if strings.Contains(r.stderr, "RUN touch") {
			t.Errorf("%v: the build started before the error", c.args)
		}
		if e.storeState() != before {
			t.Errorf("%v: the store changed", c.args)
		}
		if _, err := os.Stat(dest); err == nil {
			t.Errorf("%v: %s was written", c.args, dest)
		}
		if d := time.Since(start); d > 15*time.Second {
			t.Errorf("%v: took %s to fail", c.args, d)
		}
	}
	// ignore-error=true: an unreachable cache registry does not stop the build.
	e.must("build", "--cache-to", "type=registry,ref="+down+",ignore-error=true", "-t", "ok", dir)
}

// TestCacheRegistryAuthTLS: a cache registry behind TLS (its CA from the
// config file) and htpasswd (credentials from `login`, in docker's
// config), as pull and push use them; without the login the export fails
// naming the registry, and with ignore-error=true the build goes on.
func TestCacheRegistryAuthTLS(t *testing.T) {
	addr, cert := startAuthRegistry(t, "alice", "s3cret")
	dir := ciContext(t)
	cache := addr + "/team/cache:1"
	runner := func() *env {
		e := newEnv(t)
		cfg := fmt.Sprintf("[registry.\"docker.io\"]\n  mirrors = [%q]\n[registry.%q]\n  http = false\n  ca = [%q]\n", s.registry, addr, cert)
		os.WriteFile(filepath.Join(e.root, "config.toml"), []byte(cfg), 0644)
		return e
	}
	a := runner()
	if r := a.run("build", "--cache-to", "type=registry,ref="+cache+",mode=max", "-t", "ci", dir); r.code == 0 || !strings.Contains(r.stderr, addr) {
		t.Errorf("--cache-to without login: %s", r)
	}
	a.must("build", "--cache-to", "type=registry,ref="+cache+",mode=max,ignore-error=true", "-t", "ci", dir)
	a.mustIn([]byte("s3cret\n"), "login", "-u", "alice", "--password-stdin", addr)
	a.must("build", "--cache-to", "type=registry,ref="+cache+",mode=max", "-t", "ci", dir)

	b := runner()
	b.mustIn([]byte("s3cret\n"), "login", "-u", "alice", "--password-stdin", addr)
	r := b.must("build", "--progress", "rawjson", "--cache-from", "type=registry,ref="+cache, "-t", "ci", dir)
	for name, cached := range steps(t, r.stderr) {
		if !cached {
			t.Errorf("runner B ran %q again; want it from the authenticated cache", name)
		}
	}
}

// TestCacheCompressed: a cache export sends its layers compressed, as
// stock buildkitd's does (gzip unless compression= says otherwise), though
// builder keeps built layers uncompressed: 20 MB of repetitive text went to
// the registry as a 20 MB plain tar, where buildkitd sends 49 kB. (That a
// second runner then builds the same image ID, the layers' creation times
// kept, is TestCacheRegistry's and TestCacheLocal's.)
func TestCacheCompressed(t *testing.T) {
	e := newEnv(t)
	dir := writeContext(t, map[string]string{"Dockerfile": "FROM busybox\nRUN yes hello cache | head -c 20000000 > /big\n"})
	for _, tc := range []struct{ opts, mediaType string }{
		{"", "application/vnd.oci.image.layer.v1.tar+gzip"},
		{",compression=gzip,compression-level=9", "application/vnd.oci.image.layer.v1.tar+gzip"},
		{",compression=zstd,force-compression=true", "application/vnd.oci.image.layer.v1.tar+zstd"},
		{",compression=uncompressed,force-compression=true", "application/vnd.oci.image.layer.v1.tar"},
	} {
		ref := s.registry + "/cache/compressed:" + strings.NewReplacer(",", "", "=", "-").Replace(tc.opts) + "x"
		e.must("build", "-q", "--cache-to", "type=registry,ref="+ref+",mode=max"+tc.opts, dir)
		raw, err := exec.Command("skopeo", "inspect", "--raw", "--tls-verify=false", "docker://"+ref).Output()
		if err != nil {
			t.Fatalf("skopeo inspect %s: %v", ref, err)
		}
		type desc struct {
			MediaType string `json:"mediaType"`
			Size      int64  `json:"size"`
		}
		// An index (image-manifest=false) or an image manifest.
		var idx struct {
			Manifests []desc `json:"manifests"`
			Layers    []desc `json:"layers"`
		}
		if err := json.Unmarshal(raw, &idx); err != nil {
			t.Fatalf("%s: %v\n%s", ref, err, raw)
		}
		var biggest int64
		descs := append(idx.Manifests, idx.Layers...)
		if len(descs) < 2 {
			t.Fatalf("%s holds %d descriptors:\n%s", ref, len(descs), raw)
		}
		for _, m := range descs {
			if strings.Contains(m.MediaType, "buildkit") {
				continue // the cache's own config
			}
			if m.MediaType != tc.mediaType {
				t.Errorf("cache-to%s: a layer of %s (%d bytes), want %s", tc.opts, m.MediaType, m.Size, tc.mediaType)
			}
			biggest = max(biggest, m.Size)
		}
		compressed := tc.mediaType != "application/vnd.oci.image.layer.v1.tar"
		// The busybox layer is 1 MB compressed; the RUN step's 20 MB.
		if compressed && biggest > 4<<20 || !compressed && biggest < 20000000 {
			t.Errorf("cache-to%s: the largest layer is %d bytes", tc.opts, biggest)
		}
	}
}
