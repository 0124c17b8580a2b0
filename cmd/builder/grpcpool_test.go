package main

import (
	"testing"

	"google.golang.org/grpc/mem"
)

// A message just over fsutil's 32 KB chunk comes from a 64 KB buffer, not
// gRPC's default 1 MB one.
func TestGRPCBufferPoolTier(t *testing.T) {
	t.Parallel()
	setGRPCBufferPool()
	b := mem.DefaultBufferPool().Get(32<<10 + 64)
	defer mem.DefaultBufferPool().Put(b)
	if c := cap(*b); c != 64<<10 {
		t.Fatalf("a 32 KB message got a %d-byte buffer", c)
	}
}
