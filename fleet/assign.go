// Package fleet splits one multi-platform build over several solvers
// (builder build --addr A --addr B --platform ...): each platform is built
// on a node that reports it, natively before under emulation, as buildx
// assigns its nodes, and the pushed images are joined into one index.
package fleet

import (
	"fmt"

	"github.com/containerd/platforms"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Node is one solver and the platforms its workers report, its native
// one first (BuildKit lists the worker's own platform first).
type Node struct {
	Addr      string
	Platforms []ocispec.Platform
}

// Assign maps each platform (os/arch[/variant]) to the index of the node
// that builds it: a node whose native platform it is, else one that
// reports it (an emulated one); among equals, the node with fewest
// platforms so far, then the first given. A platform no node reports is an
// error naming it.
func Assign(want []string, nodes []Node) (map[string]int, error) {
	load := make([]int, len(nodes))
	out := map[string]int{}
	for _, w := range want {
		p, err := platforms.Parse(w)
		if err != nil {
			return nil, fmt.Errorf("--platform %s: %w", w, err)
		}
		match := platforms.OnlyStrict(p)
		best, bestNative := -1, false
		for i, n := range nodes {
			native, reports := false, false
			for j, np := range n.Platforms {
				if match.Match(np) {
					reports = true
					native = j == 0
					break
				}
			}
			if !reports {
				continue
			}
			better := best < 0 || (native && !bestNative) || (native == bestNative && load[i] < load[best])
			if better {
				best, bestNative = i, native
			}
		}
		if best < 0 {
			return nil, fmt.Errorf("no solver reports %s (%d given with --addr)", w, len(nodes))
		}
		out[w] = best
		load[best]++
	}
	return out, nil
}
