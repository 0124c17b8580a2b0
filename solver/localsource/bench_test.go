package localsource

import (
	"context"
	"os"
	"testing"

	"github.com/tonistiigi/fsutil"
)

// BenchmarkDigest walks $BENCH_CONTEXT (bench/lib.sh's big_context).
func BenchmarkDigest(b *testing.B) {
	dir := os.Getenv("BENCH_CONTEXT")
	if dir == "" {
		b.Skip("BENCH_CONTEXT unset")
	}
	for i := 0; i < b.N; i++ {
		if _, err := Digest(context.Background(), dir, &fsutil.FilterOpt{}); err != nil {
			b.Fatal(err)
		}
	}
}
