package solver

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/builder-dev/builder/cache"
	"github.com/builder-dev/builder/solver/localsource"
	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/leases"
	"github.com/containerd/containerd/v2/core/remotes/docker"
	ctdsnapshot "github.com/containerd/containerd/v2/core/snapshots"
	"github.com/containerd/containerd/v2/defaults"
	"github.com/containerd/containerd/v2/plugins/snapshots/native"
	"github.com/containerd/containerd/v2/plugins/snapshots/overlay"
	"github.com/containerd/containerd/v2/plugins/snapshots/overlay/overlayutils"
	"github.com/moby/buildkit/cache/remotecache"
	inlineremotecache "github.com/moby/buildkit/cache/remotecache/inline"
	localremotecache "github.com/moby/buildkit/cache/remotecache/local"
	registryremotecache "github.com/moby/buildkit/cache/remotecache/registry"
	"github.com/moby/buildkit/client"
	bkconfig "github.com/moby/buildkit/cmd/buildkitd/config"
	"github.com/moby/buildkit/control"
	"github.com/moby/buildkit/frontend"
	dockerfile "github.com/moby/buildkit/frontend/dockerfile/builder"
	"github.com/moby/buildkit/frontend/gateway"
	"github.com/moby/buildkit/frontend/gateway/forwarder"
	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/solver"
	"github.com/moby/buildkit/solver/bboltcachestorage"
	"github.com/moby/buildkit/util/db/boltutil"
	"github.com/moby/buildkit/util/grpcerrors"
	"github.com/moby/buildkit/util/resolver"
	"github.com/moby/buildkit/util/tracing"
	"github.com/moby/buildkit/util/tracing/detect"
	"github.com/moby/buildkit/version"
	"github.com/moby/buildkit/worker"
	"github.com/moby/buildkit/worker/base"
	"github.com/moby/buildkit/worker/runc"
	bolt "go.etcd.io/bbolt"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"google.golang.org/grpc"
)

// embedded is a BuildKit controller living in this process: the same
// sequence buildkitd's newController runs, with its registry, local and
// inline cache backends (and GitHub Actions' and S3's in a build with
// -tags cloudcache).
type embedded struct {
	ctrl   *control.Controller
	srv    *grpc.Server
	worker *storeWorker
	traces *sdktrace.TracerProvider // nil: no history, no traces
	dirs   *localsource.Dirs
	sm     *session.Manager
}

func newEmbedded(ctx context.Context, opt Options, killedOwner bool) (*embedded, error) {
	sm, err := session.NewManager()
	if err != nil {
		return nil, fmt.Errorf("create session manager: %w", err)
	}
	cdiManager, err := newCDIManager(opt.CDI)
	if err != nil {
		return nil, err
	}
	wopt, err := newWorkerOpt(opt.Root, snapshotterFactory(opt.Root, opt.Snapshotter), opt.Runc, cdiManager, killedOwner)
	if err != nil {
		return nil, fmt.Errorf("create runc worker under %s: %w", opt.Root, err)
	}
	interceptors := configure(&wopt, opt)
	hosts := wopt.RegistryHosts

	w, err := base.NewWorker(ctx, wopt)
	if err != nil {
		return nil, fmt.Errorf("create worker: %w", err)
	}
	// The local source is builder's: BuildKit's, except that a context
	// this process sends is checked by one walk of its own (localsource).
	dirs := localsource.NewDirs()
	src, err := localsource.New(w.CacheManager(), dirs)
	if err != nil {
		return nil, fmt.Errorf("create local source: %w", err)
	}
	w.SourceManager.Register(src)
	sw, err := newStoreWorker(w, wopt)
	if err != nil {
		return nil, err
	}
	wc := &worker.Controller{}
	if err := wc.Add(sw); err != nil {
		return nil, fmt.Errorf("register worker: %w", err)
	}
	frontends, err := serverFrontends(wc)
	if err != nil {
		return nil, err
	}
	cacheStorage, historyDB, err := openSolverDBs(opt.Root)
	if err != nil {
		return nil, err
	}
	exporters, importers := cacheBackends(sm, w.ContentStore(), w.LeaseManager(), hosts)
	traces, traceCollector, serverOpts := historyTracing(opt.History)
	ctrl, err := control.NewController(control.Opt{
		SessionManager:            sm,
		WorkerController:          wc,
		Frontends:                 frontends,
		CacheManager:              solver.NewCacheManager(ctx, "local", cacheStorage, worker.NewCacheResultStorage(wc)),
		CacheStore:                cacheStorage,
		HistoryDB:                 historyDB,
		HistoryConfig:             opt.History,
		TraceCollector:            traceCollector,
		ResolveCacheExporterFuncs: exporters,
		ResolveCacheImporterFuncs: importers,
		LeaseManager:              w.LeaseManager(),
		ContentStore:              w.ContentStore(),
		GarbageCollect:            w.GarbageCollect,
		Entitlements:              entitlementsWith(opt.Entitlements, cdiManager != nil),
		GracefulStop:              ctx.Done(),
	})
	if err != nil {
		return nil, fmt.Errorf("create controller: %w", err)
	}
	// Without grpcerrors' interceptors the client loses typed errors such as
	// Dockerfile source locations; without the size limits large graphs fail.
	srv := grpc.NewServer(append(serverOpts,
		grpc.ChainUnaryInterceptor(append(interceptors, workersInterceptor(w, platformsCacheFile()))...),
		grpc.StreamInterceptor(grpcerrors.StreamServerInterceptor),
		grpc.MaxRecvMsgSize(defaults.DefaultMaxRecvMsgSize), grpc.MaxSendMsgSize(defaults.DefaultMaxSendMsgSize))...)
	ctrl.Register(srv)
	return &embedded{ctrl: ctrl, srv: srv, worker: sw, traces: traces, dirs: dirs, sm: sm}, nil
}

// configure sets what buildkitd sets on a worker's options beyond
// NewWorkerOpt's (labels, registries, GC, version) and the image sink of
// a server whose exports land in the store, returning the gRPC
// interceptors the server needs for them.
func configure(wopt *base.WorkerOpt, opt Options) []grpc.UnaryServerInterceptor {
	for k, v := range opt.WorkerLabels {
		wopt.Labels[k] = v
	}
	wopt.RegistryHosts = resolver.NewRegistryConfig(opt.Registries)
	wopt.GCPolicy = gcPolicy(opt.GC, opt.Root)
	wopt.BuildkitVersion = client.BuildkitVersion{Package: version.Package, Version: version.Version, Revision: version.Revision}
	interceptors := []grpc.UnaryServerInterceptor{grpcerrors.UnaryServerInterceptor}
	if opt.Images != nil {
		wopt.ImageStore = imageStore{leases: wopt.LeaseManager}
		interceptors = append(interceptors, sinkInterceptor(opt.Images, wopt.ContentStore, wopt.LeaseManager))
	}
	return interceptors
}

// openSolverDBs opens the solver's cache keys' and build history's
// databases.
func openSolverDBs(root string) (*bboltcachestorage.Store, *boltutil.DB, error) {
	cacheStorage, err := bboltcachestorage.NewStore(filepath.Join(root, "cache.db"))
	if err != nil {
		return nil, nil, fmt.Errorf("open cache db: %w", err)
	}
	historyDB, err := boltutil.SafeOpen(filepath.Join(root, "history.db"), 0600,
		&bolt.Options{FreelistType: bolt.FreelistMapType, NoFreelistSync: true})
	if err != nil {
		cacheStorage.Close()
		return nil, nil, fmt.Errorf("open history db: %w", err)
	}
	return cacheStorage, historyDB, nil
}

// entitlementsWith is buildkitd's rule: with CDI on, builds may ask for
// devices (each device's spec still says whether it is allowed).
func entitlementsWith(given []string, cdi bool) []string {
	if cdi && !slices.Contains(given, "device") {
		return append(slices.Clone(given), "device")
	}
	return given
}

// serverFrontends are the frontends a build through the solver's API may
// name, as buildkitd's: the Dockerfile frontend compiled in, and the
// gateway that runs a frontend image.
func serverFrontends(wc *worker.Controller) (map[string]frontend.Frontend, error) {
	gw, err := gateway.NewGatewayFrontend(wc.Infos(), nil)
	if err != nil {
		return nil, fmt.Errorf("create gateway frontend: %w", err)
	}
	return map[string]frontend.Frontend{
		"dockerfile.v0": forwarder.NewGatewayForwarder(wc.Infos(), dockerfile.Build),
		"gateway.v0":    gw,
	}, nil
}

// historyTracing: a history record carries the build's trace (`buildx
// history trace`), which BuildKit's solver collects from detect.Recorder,
// a variable of BuildKit's that buildkitd sets at start; the spans come
// from a tracer provider on the gRPC server, as buildkitd's. Only a
// server that keeps history pays for them (all nil otherwise).
func historyTracing(h *bkconfig.HistoryConfig) (*sdktrace.TracerProvider, sdktrace.SpanExporter, []grpc.ServerOption) {
	if !recordsHistory(h) {
		return nil, nil, nil
	}
	if detect.Recorder == nil {
		detect.Recorder = detect.NewTraceRecorder()
	}
	traces := sdktrace.NewTracerProvider(sdktrace.WithResource(detect.Resource()), sdktrace.WithSyncer(detect.Recorder))
	return traces, detect.Recorder, []grpc.ServerOption{grpc.StatsHandler(tracing.ServerStatsHandler(otelgrpc.WithTracerProvider(traces),
		otelgrpc.WithPropagators(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))))}
}

// recordsHistory is BuildKit's reading of [history] (its history queue's
// own rule): records are kept unless maxEntries is 0.
func recordsHistory(h *bkconfig.HistoryConfig) bool {
	return h == nil || h.MaxEntries == nil || *h.MaxEntries != 0
}

// cacheBackends are the embedded solver's cache exporters and importers:
// BuildKit's registry, local and inline ones, and the cloud ones where
// linked in (cloudcache.go), those that compress layers doing so with
// fastGzip.
func cacheBackends(sm *session.Manager, cs content.Store, lm leases.Manager, hosts docker.RegistryHosts) (map[string]remotecache.ResolveCacheExporterFunc, map[string]remotecache.ResolveCacheImporterFunc) {
	exporters := map[string]remotecache.ResolveCacheExporterFunc{
		cache.Inline:   inlineremotecache.ResolveCacheExporterFunc(),
		cache.Local:    localremotecache.ResolveCacheExporterFunc(sm),
		cache.Registry: registryremotecache.ResolveCacheExporterFunc(sm, hosts),
	}
	importers := map[string]remotecache.ResolveCacheImporterFunc{
		cache.Local:    localremotecache.ResolveCacheImporterFunc(sm),
		cache.Registry: registryremotecache.ResolveCacheImporterFunc(sm, cs, hosts),
	}
	cloudExporters, cloudImporters := cloudCaches()
	for k, f := range cloudExporters {
		exporters[k] = f
	}
	for k, f := range exporters {
		// The inline exporter is found by its ExportForLayers method,
		// which a wrapper would hide, and compresses nothing itself: its
		// layers are the image exporter's.
		if k != cache.Inline {
			exporters[k] = withTwins(f, cs, lm)
		}
	}
	for k, f := range cloudImporters {
		importers[k] = f
	}
	return exporters, importers
}

// EmbeddedCaches reports whether the embedded solver has the cache backend
// typ (a remote buildkitd has its own set). The resolvers are only made,
// not run, so no session or store is needed to ask.
func EmbeddedCaches(typ string) bool {
	exporters, importers := cacheBackends(nil, nil, nil, nil)
	_, exp := exporters[typ]
	_, imp := importers[typ]
	return exp || imp
}

func (e *embedded) close() error {
	e.srv.Stop()
	e.worker.gc.close()
	err := e.ctrl.Close()
	if e.traces != nil {
		e.traces.Shutdown(context.Background())
	}
	return err
}

// snapshotterFactory picks overlayfs where the state root supports it and
// falls back to native copies (e.g. a root that itself sits on overlayfs).
// The check mounts a test overlay (up to 70 ms here), so a root that already
// has overlayfs state keeps it without checking again.
// want ("overlayfs" or "native", as buildkitd's --oci-worker-snapshotter)
// overrides the choice; "" or "auto" leaves it.
func snapshotterFactory(root, want string) runc.SnapshotterFactory {
	overlayFS := runc.SnapshotterFactory{Name: "overlayfs", New: func(r string) (ctdsnapshot.Snapshotter, error) {
		return overlay.NewSnapshotter(r, overlay.AsynchronousRemove)
	}}
	nativeFS := runc.SnapshotterFactory{Name: "native", New: native.NewSnapshotter}
	switch want {
	case "overlayfs":
		return overlayFS
	case "native":
		return nativeFS
	}
	if _, err := os.Stat(filepath.Join(root, "runc-overlayfs", "snapshots")); err == nil {
		return overlayFS
	}
	if err := os.MkdirAll(root, 0700); err == nil && overlayutils.Supported(root) == nil {
		return overlayFS
	}
	return nativeFS
}
