package solver

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"time"

	"github.com/builder-dev/builder/internal/atomicfile"
	"github.com/builder-dev/builder/internal/machine"

	controlapi "github.com/moby/buildkit/api/services/control"
	apitypes "github.com/moby/buildkit/api/types"
	"github.com/moby/buildkit/solver/pb"
	"github.com/moby/buildkit/worker/base"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"google.golang.org/grpc"
)

// platformsCacheAge bounds how long the machine's list of runnable
// platforms is trusted; BuildKit trusts its in-process list for 20 s.
const platformsCacheAge = 10 * time.Minute

// workersInterceptor answers ListWorkers for the embedded worker as the
// controller does, but with the machine's platform list cached across
// processes. The controller lists platforms with a fresh probe of every
// emulator binary (ten execs, ~40 ms) in each new process; a daemon pays
// that once, and every `builder build` would pay it, since client.Build
// lists workers first.
func workersInterceptor(w *base.Worker, cacheFile string) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		r, ok := req.(*controlapi.ListWorkersRequest)
		if !ok || info.FullMethod != "/moby.buildkit.v1.Control/ListWorkers" || len(r.Filter) > 0 || cacheFile == "" {
			return handler(ctx, req)
		}
		plats := machinePlatforms(w, cacheFile)
		var gc []*apitypes.GCPolicy
		for _, p := range w.GCPolicy() {
			gc = append(gc, &apitypes.GCPolicy{All: p.All, Filters: p.Filter, KeepDuration: int64(p.KeepDuration),
				ReservedSpace: p.ReservedSpace, MaxUsedSpace: p.MaxUsedSpace, MinFreeSpace: p.MinFreeSpace})
		}
		v := w.BuildkitVersion()
		return &controlapi.ListWorkersResponse{Record: []*apitypes.WorkerRecord{{
			ID:              w.ID(),
			Labels:          w.Labels(),
			Platforms:       pb.PlatformsFromSpec(plats),
			GCPolicy:        gc,
			BuildkitVersion: &apitypes.BuildkitVersion{Package: v.Package, Version: v.Version, Revision: v.Revision, DockerfileVersion: v.DockerfileVersion},
		}}}, nil
	}
}

func machinePlatforms(w *base.Worker, cacheFile string) []ocispec.Platform {
	if fi, err := os.Stat(cacheFile); err == nil && time.Since(fi.ModTime()) < platformsCacheAge {
		if dt, err := os.ReadFile(cacheFile); err == nil {
			var plats []ocispec.Platform
			if json.Unmarshal(dt, &plats) == nil && len(plats) > 0 {
				return plats
			}
		}
	}
	plats := w.Platforms(true)
	if dt, err := json.Marshal(plats); err == nil {
		os.MkdirAll(filepath.Dir(cacheFile), 0700)
		// A cache: a failure to write it only costs the next process the probe.
		_ = atomicfile.WriteFile(cacheFile, dt, 0600)
	}
	return plats
}

func platformsCacheFile() string {
	if d := machine.CacheDir(); d != "" {
		return filepath.Join(d, "platforms.json")
	}
	return ""
}
