//go:build integration

package integration

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// TestSaveLoad: save writes archives skopeo reads; skopeo's archives load;
// gzip and zstd input loads; a saved image loads back and runs.
func TestSaveLoad(t *testing.T) {
	e := newEnv(t)
	e.must("build", "-t", "keep:v1", writeContext(t, map[string]string{"Dockerfile": "FROM busybox\nRUN echo kept > /k\nCMD [\"cat\", \"/k\"]\n"}))
	e.must("build", "-t", "second", writeContext(t, map[string]string{"Dockerfile": "FROM scratch\nCOPY f /f\n", "f": "x"}))
	dir := t.TempDir()
	both := filepath.Join(dir, "both.tar")
	e.must("save", "-o", both, "keep:v1", "second")
	skopeo(t, "inspect", "docker-archive:"+both+":keep:v1")
	skopeo(t, "inspect", "docker-archive:"+both+":second:latest")
	oci := filepath.Join(dir, "oci.tar")
	e.must("image", "save", "--format", "oci", "-o", oci, "keep:v1")
	skopeo(t, "inspect", "oci-archive:"+oci)
	// To stdout.
	r := e.must("save", "keep:v1")
	if !bytes.Contains([]byte(r.stdout), []byte("manifest.json")) {
		t.Error("save to stdout wrote no docker-archive")
	}

	e.must("rmi", "keep:v1", "second")
	if got := e.must("load", "-i", both).stdout; got != "Loaded image: keep:v1\nLoaded image: second:latest\n" {
		t.Errorf("load printed %q", got)
	}
	if got := e.must("run", "--rm", "keep:v1").stdout; got != "kept\n" {
		t.Errorf("loaded image ran %q", got)
	}

	// Compressed input, on stdin.
	raw, _ := os.ReadFile(both)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(raw)
	zw.Close()
	e.must("rmi", "keep:v1")
	if got := e.runIn(gz.Bytes(), "load").stdout; !strings.Contains(got, "Loaded image: keep:v1") {
		t.Errorf("gzip load printed %q", got)
	}
	enc, _ := zstd.NewWriter(nil)
	e.must("rmi", "keep:v1")
	if got := e.runIn(enc.EncodeAll(raw, nil), "load").stdout; !strings.Contains(got, "Loaded image: keep:v1") {
		t.Errorf("zstd load printed %q", got)
	}

	// An archive skopeo writes.
	sk := filepath.Join(dir, "skopeo.tar")
	if out, err := exec.Command("skopeo", "copy", "--quiet", "--src-tls-verify=false", "docker://"+s.registry+"/library/busybox:latest",
		"docker-archive:"+sk+":fromskopeo:v2").CombinedOutput(); err != nil {
		t.Fatalf("skopeo copy: %v\n%s", err, out)
	}
	if got := e.must("load", "-i", sk).stdout; got != "Loaded image: fromskopeo:v2\n" {
		t.Errorf("load of skopeo's archive printed %q", got)
	}
	if got := e.must("run", "--rm", "fromskopeo:v2", "echo", "ok").stdout; got != "ok\n" {
		t.Errorf("skopeo-written image ran %q", got)
	}
	skOCI := filepath.Join(dir, "skopeo-oci.tar")
	exec.Command("skopeo", "copy", "--quiet", "--src-tls-verify=false", "docker://"+s.registry+"/library/busybox:latest", "oci-archive:"+skOCI).Run()
	if got := e.must("load", "-i", skOCI).stdout; !strings.HasPrefix(got, "Loaded image ID: sha256:") {
		t.Errorf("load of an unnamed OCI archive printed %q", got)
	}
}

// TestImport: a rootfs tarball becomes a one-layer image with --change and
// --message applied.
func TestImport(t *testing.T) {
	e := newEnv(t)
	rootfs := filepath.Join(t.TempDir(), "rootfs.tar")
	e.must("build", "-o", "type=tar,dest="+rootfs, writeContext(t, map[string]string{"Dockerfile": "FROM busybox\n"}))
	id := strings.TrimSpace(e.must("import", "-c", "ENV GREETING=imported", "-c", `CMD ["sh", "-c", "echo $GREETING"]`,
		"-c", "WORKDIR /tmp", "-m", "from a tarball", rootfs, "imp:v1").stdout)
	if !strings.HasPrefix(id, "sha256:") {
		t.Fatalf("import printed %q", id)
	}
	if got := e.must("run", "--rm", "imp:v1").stdout; got != "imported\n" {
		t.Errorf("imported image ran %q", got)
	}
	if got := e.must("history", "--format", "{{.Comment}}", "imp:v1").stdout; got != "from a tarball\n" {
		t.Errorf("history comment %q", got)
	}
	var ii []struct{ RootFS struct{ Layers []string } }
	json.Unmarshal([]byte(e.must("inspect", "imp:v1").stdout), &ii)
	if len(ii) != 1 || len(ii[0].RootFS.Layers) != 1 {
		t.Errorf("imported image layers: %+v", ii)
	}
	// From a URL, gzip-compressed as such tarballs usually are.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/rootfs.tar.gz" {
			http.NotFound(w, r)
			return
		}
		f, err := os.Open(rootfs)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		defer f.Close()
		zw := gzip.NewWriter(w)
		io.Copy(zw, f)
		zw.Close()
	}))
	defer srv.Close()
	e.must("import", "-c", `CMD ["echo", "from-url"]`, srv.URL+"/rootfs.tar.gz", "imp:url")
	if got := e.must("run", "--rm", "imp:url").stdout; got != "from-url\n" {
		t.Errorf("image imported from a URL ran %q", got)
	}
	before := e.storeState()
	for _, bad := range []struct {
		args []string
		want string
	}{
		{[]string{"import", srv.URL + "/missing.tar", "x"}, "404"},
		{[]string{"import", "-c", "RUN true", rootfs}, "RUN"},
		{[]string{"import", "/etc/hostname", "x"}, "not a tar archive"},
		{[]string{"import", "/nonexistent.tar"}, "/nonexistent.tar"},
	} {
		if r := e.run(bad.args...); r.code == 0 || !strings.Contains(r.stderr, bad.want) {
			t.Errorf("%v: %s", bad.args, r)
		}
	}
	if e.storeState() != before {
		t.Error("a failed import changed the store's index")
	}
}

// TestLoadHostileArchives: each is refused with a clear message, writes
// nothing outside the store and leaves the store's index as it was.
func TestLoadHostileArchives(t *testing.T) {
	// The archive comes from another store, so that none of its blobs is
	// already in the one loaded into.
	src := newEnv(t)
	src.must("build", "-t", "good", writeContext(t, map[string]string{"Dockerfile": "FROM scratch\nCOPY f /f\n", "f": "x"}))
	goodTar := filepath.Join(t.TempDir(), "good.tar")
	src.must("save", "--format", "oci", "-o", goodTar, "good")
	good := readTar(t, goodTar)
	e := newEnv(t)
	e.must("build", "-t", "mine", writeContext(t, map[string]string{"Dockerfile": "FROM scratch\nCOPY f /f\n", "f": "mine"}))

	// A sentinel directory beside the store: its tree must not change.
	sentinel := filepath.Join(filepath.Dir(e.root), "sentinel")
	os.MkdirAll(sentinel, 0755)
	os.WriteFile(filepath.Join(sentinel, "file"), []byte("keep"), 0644)
	sentinelBefore := treeHash(t, filepath.Dir(e.root), e.root)
	indexBefore := e.storeState()

	var idx struct{ Manifests []struct{ Digest string } }
	json.Unmarshal(good.m["index.json"].data, &idx)
	manifestPath := blobPath(idx.Manifests[0].Digest)

	cases := []struct {
		name  string
		build func() []byte
		want  string
	}{
		{"dot-dot entry", func() []byte {
			return writeTar(append(good.entries(), entry{name: "../escape", data: []byte("x")}))
		}, "outside the archive"},
		{"absolute entry", func() []byte {
			return writeTar(append(good.entries(), entry{name: "/tmp/escape", data: []byte("x")}))
		}, "outside the archive"},
		{"symlink outside", func() []byte {
			return writeTar(append([]entry{{name: "blobs/sha256/link", link: "../../../../etc/passwd", typ: tar.TypeSymlink}}, good.entries()...))
		}, "links outside"},
		{"missing blob", func() []byte {
			var es []entry
			for _, en := range good.entries() {
				if en.name != manifestPath && strings.HasPrefix(en.name, "blobs/") {
					continue // drop config and layers
				}
				es = append(es, en)
			}
			return writeTar(es)
		}, "missing from the archive or does not match"},
		{"digest mismatch", func() []byte {
			var es []entry
			for _, en := range good.entries() {
				if strings.HasPrefix(en.name, "blobs/") && en.name != manifestPath && en.name != "index.json" {
					en.data = append([]byte("tampered"), en.data...)
				}
				es = append(es, en)
			}
			return writeTar(es)
		}, "does not match"},
		{"truncated", func() []byte {
			dt, _ := os.ReadFile(goodTar)
			return dt[:len(dt)/3]
		}, "load"},
		{"not an archive", func() []byte { return []byte("this is not a tar archive at all\n") }, "load"},
		{"device entry", func() []byte {
			return writeTar(append(good.entries(), entry{name: "dev", typ: tar.TypeChar}))
		}, "special file"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.runIn(tc.build(), "load")
			if r.code == 0 {
				t.Fatalf("loaded:\n%s", r)
			}
			if !strings.Contains(r.stderr, tc.want) {
				t.Errorf("stderr lacks %q:\n%s", tc.want, r)
			}
			if e.storeState() != indexBefore {
				t.Error("the store's index changed")
			}
			if treeHash(t, filepath.Dir(e.root), e.root) != sentinelBefore {
				t.Error("something was written outside the store")
			}
		})
	}
	if got := e.must("images", "--format", "{{.Repository}}").stdout; got != "mine\n" {
		t.Errorf("images after hostile loads: %q", got)
	}
}

type entry struct {
	name, link string
	typ        byte
	data       []byte
	mode       int64 // 0644 when zero
}

type tarEntries struct {
	order []string
	m     map[string]entry
}

func (t tarEntries) entries() []entry {
	var out []entry
	for _, n := range t.order {
		out = append(out, t.m[n])
	}
	return out
}

func readTar(t *testing.T, path string) tarEntries {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := tarEntries{m: map[string]entry{}}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		var buf bytes.Buffer
		buf.ReadFrom(tr)
		out.order = append(out.order, h.Name)
		out.m[h.Name] = entry{name: h.Name, typ: h.Typeflag, link: h.Linkname, data: buf.Bytes(), mode: h.Mode}
	}
	return out
}

func writeTar(es []entry) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range es {
		typ := e.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		mode := e.mode
		if mode == 0 {
			mode = 0644
		}
		h := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: typ, Mode: mode}
		if typ == tar.TypeReg {
			h.Size = int64(len(e.data))
		}
		tw.WriteHeader(h)
		tw.Write(e.data)
	}
	tw.Close()
	return buf.Bytes()
}

// treeHash hashes the names, modes and contents under dir, skipping skip.
func treeHash(t *testing.T, dir, skip string) string {
	h := sha256.New()
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if p == skip {
			return filepath.SkipDir
		}
		fi, _ := d.Info()
		h.Write([]byte(p + fi.Mode().String()))
		if fi.Mode().IsRegular() {
			dt, _ := os.ReadFile(p)
			h.Write(dt)
		}
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))
}

// TestLoadHugeManifest: a manifest.json of hundreds of megabytes fails
// cleanly with memory bounded (containerd's importer caps JSON at 20 MiB,
// CVE-2023-25153's class); the archive is streamed, never held whole.
func TestLoadHugeManifest(t *testing.T) {
	e := newEnv(t)
	before := e.storeState()
	const size = 300 << 20
	pr, pw := io.Pipe()
	go func() {
		tw := tar.NewWriter(pw)
		tw.WriteHeader(&tar.Header{Name: "manifest.json", Mode: 0644, Size: size, Typeflag: tar.TypeReg})
		tw.Write([]byte(`[{"Config":"`))
		chunk := bytes.Repeat([]byte("a"), 1<<20)
		written := int64(len(`[{"Config":"`))
		for written+int64(len(chunk)) <= size {
			if _, err := tw.Write(chunk); err != nil {
				pw.CloseWithError(err)
				return
			}
			written += int64(len(chunk))
		}
		tw.Write(bytes.Repeat([]byte("a"), int(size-written)))
		tw.Close()
		pw.Close()
	}()
	r, rss := e.runRSS(t, pr, "load")
	pr.Close()
	if r.code == 0 {
		t.Fatal("a 300 MB manifest.json loaded")
	}
	if !strings.Contains(r.stderr, "load") {
		t.Errorf("stderr: %s", r.stderr)
	}
	if rss > 200<<10 {
		t.Errorf("peak RSS %d MB loading a 300 MB manifest.json; want it bounded (< 200 MB)", rss>>10)
	}
	if e.storeState() != before {
		t.Error("the store's index changed")
	}
}
