package store

import (
	"context"

	"github.com/containerd/containerd/v2/core/content"
)

// BlobsSize is the size of every blob in the store, each counted once.
func (s *Store) BlobsSize(ctx context.Context) (int64, error) {
	var n int64
	err := s.cs.Walk(ctx, func(info content.Info) error {
		n += info.Size
		return nil
	})
	return n, err
}
