package store

import (
	"context"
	"path/filepath"
	"testing"
)

// A new store has nothing to collect, and says so without an error
// (`builder image prune` before any image was stored).
func TestGCEmptyStore(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "images"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.GC(context.Background())
	if err != nil {
		t.Fatalf("GC of a new store: %v", err)
	}
	if len(res.Removed) != 0 || res.Bytes != 0 {
		t.Errorf("GC of a new store removed %v (%d bytes)", res.Removed, res.Bytes)
	}
}
