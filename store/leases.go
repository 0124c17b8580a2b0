package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// A lease is a collection root besides the index, as in containerd: a
// holder (a container) keeps the image it was made from, and every blob
// that image reaches, for as long as the lease lives, whether or not any
// name still points at it. Leases are the store's one record of "in use":
// collection marks from them, and rmi and prune ask them which images a
// container holds. Each lives in leases/ID as the targets it holds.

var leaseID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`)

// The .json suffix keeps atomicfile's temporary files (bare numbers) apart.
func (s *Store) leasePath(id string) string { return filepath.Join(s.dir, "leases", id+".json") }

// Lease records that holder id keeps targets. Take it while holding
// Writing, after finding the image, so no collection falls in between.
func (s *Store) Lease(ctx context.Context, id string, targets ...ocispec.Descriptor) error {
	if !leaseID.MatchString(id) {
		return fmt.Errorf("lease %q: not a valid holder name", id)
	}
	dt, err := json.Marshal(targets)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(s.dir, "leases"), 0700); err != nil {
		return fmt.Errorf("lease image for %s: %w", id, err)
	}
	if err := writeFileAtomic(s.leasePath(id), dt); err != nil {
		return fmt.Errorf("lease image for %s: %w", id, err)
	}
	return nil
}

// Release drops holder id's lease; what only it kept is collected by the
// next rmi or prune.
func (s *Store) Release(ctx context.Context, id string) error {
	if !leaseID.MatchString(id) {
		return fmt.Errorf("release %q: not a valid holder name", id)
	}
	if err := os.Remove(s.leasePath(id)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("release image lease of %s: %w", id, err)
	}
	return nil
}

// Leases returns every lease: holder to the targets it keeps.
func (s *Store) Leases(ctx context.Context) (map[string][]ocispec.Descriptor, error) {
	ents, err := os.ReadDir(filepath.Join(s.dir, "leases"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read image leases: %w", err)
	}
	out := map[string][]ocispec.Descriptor{}
	for _, e := range ents {
		id, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || !leaseID.MatchString(id) {
			continue // a temporary file of a lease being written
		}
		dt, err := os.ReadFile(s.leasePath(id))
		if errors.Is(err, os.ErrNotExist) {
			continue // released meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("read image lease %s: %w", id, err)
		}
		var targets []ocispec.Descriptor
		if err := json.Unmarshal(dt, &targets); err != nil {
			// An unreadable lease stops collection: keeping too much is
			// safe, deleting what a container needs is not.
			return nil, fmt.Errorf("read image lease %s: %w", id, err)
		}
		out[id] = targets
	}
	return out, nil
}

// Holders returns the holders whose lease keeps the image with manifest
// (or index) digest dgst.
func Holders(leases map[string][]ocispec.Descriptor, target ocispec.Descriptor) []string {
	var ids []string
	for id, ts := range leases {
		for _, t := range ts {
			if t.Digest == target.Digest {
				ids = append(ids, id)
				break
			}
		}
	}
	return ids
}
