package solver

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/builder-dev/builder/internal/rootfile"
	"github.com/moby/buildkit/client"
	bkconfig "github.com/moby/buildkit/cmd/buildkitd/config"
	"github.com/moby/buildkit/util/disk"
)

// gcInterval is BuildKit's own throttle on automatic cache collection.
const gcInterval = time.Minute

// gcStampName records, by its mtime, the last automatic collection on a root.
const gcStampName = "gc.stamp"

// gcPolicy mirrors buildkitd's unexported getGCPolicy: explicit
// [[worker.oci.gcpolicy]] rules, or BuildKit's defaults sized from
// reservedSpace/maxUsedSpace/minFreeSpace and the disk; none with gc=false.
func gcPolicy(cfg bkconfig.GCConfig, root string) []client.PruneInfo {
	if cfg.GC != nil && !*cfg.GC {
		return nil
	}
	dstat, _ := disk.GetDiskStat(root)
	if len(cfg.GCPolicy) == 0 {
		cfg.GCPolicy = bkconfig.DefaultGCPolicy(cfg, dstat)
	}
	out := make([]client.PruneInfo, 0, len(cfg.GCPolicy))
	for _, rule := range cfg.GCPolicy {
		//nolint:staticcheck // keepBytes is the deprecated spelling buildkitd still reads.
		if rule.ReservedSpace == (bkconfig.DiskSpace{}) && rule.KeepBytes != (bkconfig.DiskSpace{}) {
			rule.ReservedSpace = rule.KeepBytes
		}
		out = append(out, client.PruneInfo{
			Filter:        rule.Filters,
			All:           rule.All,
			KeepDuration:  rule.KeepDuration.Duration,
			ReservedSpace: rule.ReservedSpace.AsBytes(dstat),
			MaxUsedSpace:  rule.MaxUsedSpace.AsBytes(dstat),
			MinFreeSpace:  rule.MinFreeSpace.AsBytes(dstat),
		})
	}
	return out
}

// collectIfDue applies the worker's GC policy to the build cache unless the
// root was collected less than gcInterval ago. BuildKit's controller only
// collects a second after a build, from a timer a short-lived process never
// lives to see; without this the cache of an embedded solver would only grow.
func (e *embedded) collectIfDue(ctx context.Context, root string, log io.Writer) {
	policy := e.worker.GCPolicy()
	if len(policy) == 0 {
		return
	}
	stamp := filepath.Join(root, gcStampName)
	if fi, err := os.Lstat(stamp); err == nil && time.Since(fi.ModTime()) < gcInterval {
		return
	}
	ch := make(chan client.UsageInfo)
	go func() {
		for range ch {
		}
	}()
	err := e.worker.Prune(ctx, ch, policy...)
	close(ch)
	if err != nil {
		// The build itself succeeded; a failed collection is retried by the
		// next command instead of failing this one.
		fmt.Fprintf(log, "WARNING: collect build cache in %s: %v\n", root, err)
		return
	}
	if err := rootfile.Touch(stamp); err != nil {
		fmt.Fprintf(log, "WARNING: record the collection in %s: %v\n", stamp, err)
	}
}

// gcGate ends cache collection before the worker's databases close. The
// controller schedules a collection of its own a second after it starts
// and after each build (time.AfterFunc, which nothing cancels): in a
// command that outlives that second, it could run while the solver shut
// down and fail with "gc error: database not open". Collections that
// start after close do nothing; close waits for one under way.
type gcGate struct {
	mu     sync.RWMutex
	closed bool
}

func (g *gcGate) run(prune func() error) error {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.closed {
		return nil
	}
	return prune()
}

func (g *gcGate) close() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
}
