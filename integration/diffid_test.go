//go:build integration

package integration

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// ociArchive makes an OCI archive of one image named name whose single
// layer is layer (compressed as it is given) and whose config claims
// diffID for it.
func ociArchive(name string, layer []byte, gzipped bool, diffID string) []byte {
	sum := func(b []byte) string { return fmt.Sprintf("sha256:%x", sha256.Sum256(b)) }
	cfg, _ := json.Marshal(map[string]any{"architecture": "amd64", "os": "linux",
		"config": map[string]any{"Cmd": []string{"/f"}},
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{diffID}}})
	layerType := "application/vnd.oci.image.layer.v1.tar"
	if gzipped {
		layerType += "+gzip"
	}
	man, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
		"config": map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sum(cfg), "size": len(cfg)},
		"layers": []any{map[string]any{"mediaType": layerType, "digest": sum(layer), "size": len(layer)}}})
	idx, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
		"manifests": []any{map[string]any{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": sum(man), "size": len(man),
			"annotations": map[string]string{"io.containerd.image.name": name}}}})
	blob := func(b []byte) entry { return entry{name: blobPath(sum(b)), data: b} }
	return writeTar([]entry{{name: "oci-layout", data: []byte(`{"imageLayoutVersion":"1.0.0"}`)},
		blob(layer), blob(cfg), blob(man), {name: "index.json", data: idx}})
}

// TestLoadDiffIDMismatch: a layer whose content is not what its config's
// diff ID says is refused at load, before anything is named (issue 8,
// case 3), for uncompressed and gzip layers alike; docker refuses it too.
// The same archives with the right diff ID load and run.
func TestLoadDiffIDMismatch(t *testing.T) {
	e := newEnv(t)
	layer := writeTar([]entry{{name: "f", data: []byte("layer content\n")}})
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(layer)
	zw.Close()
	right := fmt.Sprintf("sha256:%x", sha256.Sum256(layer))
	wrong := fmt.Sprintf("sha256:%x", sha256.Sum256([]byte("something else")))
	for _, c := range []struct {
		name    string
		blob    []byte
		gzipped bool
	}{{"uncompressed", layer, false}, {"gzip", gz.Bytes(), true}} {
		t.Run(c.name, func(t *testing.T) {
			before := e.storeState()
			r := e.runIn(ociArchive("docker.io/library/bad-"+c.name+":latest", c.blob, c.gzipped, wrong), "load")
			if r.code == 0 || !strings.Contains(r.stderr, "does not match its diff ID") {
				t.Errorf("load of a layer that does not match its diff ID: %s", r)
			}
			if e.storeState() != before {
				t.Errorf("the failed load changed the store's index")
			}
			r = e.runIn(ociArchive("docker.io/library/good-"+c.name+":latest", c.blob, c.gzipped, right), "load")
			if r.code != 0 || r.stdout != "Loaded image: good-"+c.name+":latest\n" {
				t.Errorf("load of a correct archive: %s", r)
			}
		})
	}
	if out := e.must("images", "--format", "{{.Repository}}").stdout; strings.Contains(out, "bad") {
		t.Errorf("images after refused loads: %q", out)
	}
}
