package main

import (
	"google.golang.org/grpc/experimental"
	"google.golang.org/grpc/mem"
)

// setGRPCBufferPool gives gRPC's buffer pool a 64 KB tier. The context and
// file transfers between builder's two ends (fsutil's sender writes 32 KB
// chunks) make messages just over 32 KB, which gRPC's default tiers (…,
// 32 KB, 1 MB) serve from the 1 MB pool, zeroing a megabyte per message:
// a fifth of the CPU of a cold hello build (bench/README.md). gRPC allows
// this only once, before any connection; main calls it first.
func setGRPCBufferPool() {
	pool, err := mem.NewBinaryTieredBufferPool(8, 12, 14, 15, 16, 20)
	if err != nil {
		panic(err) // the exponents are constants
	}
	experimental.SetDefaultBufferPool(pool)
}
