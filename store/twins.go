package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Builds store layers uncompressed and push sends them compressed. Like
// docker's distribution metadata, the store remembers per uncompressed layer
// the descriptor of the compressed form it was last pushed as, so that a
// push to a registry that already has that form need not compress again.
// Only the descriptor is kept (twins/<alg>/<hex>); the compressed blob is an
// unreferenced blob like any other and is collected as such.

func (s *Store) twinPath(src digest.Digest) string {
	return filepath.Join(s.dir, "twins", src.Algorithm().String(), src.Encoded())
}

// Twin returns the compressed form recorded for the layer src.
func (s *Store) Twin(src digest.Digest) (ocispec.Descriptor, bool) {
	var d ocispec.Descriptor
	if src.Validate() != nil {
		return d, false
	}
	dt, err := os.ReadFile(s.twinPath(src))
	if err != nil || json.Unmarshal(dt, &d) != nil || d.Digest.Validate() != nil {
		return ocispec.Descriptor{}, false
	}
	return d, true
}

// SetTwin records twin as the compressed form of the layer src.
func (s *Store) SetTwin(src digest.Digest, twin ocispec.Descriptor) error {
	if err := src.Validate(); err != nil {
		return err
	}
	p := s.twinPath(src)
	if err := os.MkdirAll(filepath.Dir(p), 0700); err != nil {
		return fmt.Errorf("record compressed form of %s: %w", src, err)
	}
	dt, err := json.Marshal(twin)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(p, dt); err != nil {
		return fmt.Errorf("record compressed form of %s: %w", src, err)
	}
	return nil
}

// ForgetTwin drops what was recorded for src.
func (s *Store) ForgetTwin(src digest.Digest) {
	if src.Validate() == nil {
		os.Remove(s.twinPath(src))
	}
}

// sweepTwins drops the records of layers no longer stored.
func (s *Store) sweepTwins(live map[digest.Digest]int64) error {
	root := filepath.Join(s.dir, "twins")
	algs, err := os.ReadDir(root)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, a := range algs {
		ents, err := os.ReadDir(filepath.Join(root, a.Name()))
		if err != nil {
			return err
		}
		for _, e := range ents {
			if _, ok := live[digest.NewDigestFromEncoded(digest.Algorithm(a.Name()), e.Name())]; !ok {
				os.Remove(filepath.Join(root, a.Name(), e.Name()))
			}
		}
	}
	return nil
}
