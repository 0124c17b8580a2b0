//go:build integration

package integration

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

// archiveBlobs reads a docker-archive or OCI tarball's files into memory
// (test images are small).
func archiveBlobs(path string) (map[string][]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	blobs := map[string][]byte{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return blobs, nil
		}
		if err != nil {
			return nil, err
		}
		dt, err := io.ReadAll(tr)
		if err != nil {
			return nil, err
		}
		blobs[strings.TrimPrefix(h.Name, "./")] = dt
	}
}

type manifest struct {
	Config struct{ Digest string }
	Layers []struct{ Digest string }
}

func archiveManifest(blobs map[string][]byte) (manifest, error) {
	var m manifest
	var idx struct{ Manifests []struct{ Digest string } }
	if err := json.Unmarshal(blobs["index.json"], &idx); err != nil || len(idx.Manifests) == 0 {
		return m, fmt.Errorf("no index.json")
	}
	err := json.Unmarshal(blobs[blobPath(idx.Manifests[0].Digest)], &m)
	return m, err
}

func blobPath(dgst string) string { return "blobs/" + strings.Replace(dgst, ":", "/", 1) }

// archiveConfig returns an image's container config fields and its number
// of layers.
func archiveConfig(path string) (map[string]json.RawMessage, int, error) {
	blobs, err := archiveBlobs(path)
	if err != nil {
		return nil, 0, err
	}
	m, err := archiveManifest(blobs)
	if err != nil {
		return nil, 0, err
	}
	var cfg struct{ Config map[string]json.RawMessage }
	if err := json.Unmarshal(blobs[blobPath(m.Config.Digest)], &cfg); err != nil {
		return nil, 0, err
	}
	return cfg.Config, len(m.Layers), nil
}

// fileFromImage returns a file's content from the image's layers (the top
// one that has it).
func fileFromImage(_ string, path, name string) (string, error) {
	blobs, err := archiveBlobs(path)
	if err != nil {
		return "", err
	}
	m, err := archiveManifest(blobs)
	if err != nil {
		return "", err
	}
	for i := len(m.Layers) - 1; i >= 0; i-- {
		zr, err := gzip.NewReader(bytes.NewReader(blobs[blobPath(m.Layers[i].Digest)]))
		if err != nil {
			return "", err
		}
		tr := tar.NewReader(zr)
		for {
			h, err := tr.Next()
			if err != nil {
				break
			}
			if strings.TrimPrefix(h.Name, "./") == name {
				dt, err := io.ReadAll(tr)
				return string(dt), err
			}
		}
	}
	return "", fmt.Errorf("%s not in %s", name, path)
}
