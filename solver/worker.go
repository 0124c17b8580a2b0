package solver

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	cninet "github.com/builder-dev/builder/network"
	"github.com/builder-dev/builder/rootless"
	"github.com/containerd/containerd/v2/core/diff/apply"
	ctdmetadata "github.com/containerd/containerd/v2/core/metadata"
	ctdsnapshot "github.com/containerd/containerd/v2/core/snapshots"
	"github.com/containerd/containerd/v2/plugins/content/local"
	"github.com/containerd/containerd/v2/plugins/diff/walking"
	"github.com/containerd/platforms"
	"github.com/moby/buildkit/cache/metadata"
	bkconfig "github.com/moby/buildkit/cmd/buildkitd/config"
	"github.com/moby/buildkit/executor/oci"
	"github.com/moby/buildkit/executor/resources"
	"github.com/moby/buildkit/executor/runcexecutor"
	containerdsnapshot "github.com/moby/buildkit/snapshot/containerd"
	"github.com/moby/buildkit/solver/llbsolver/cdidevices"
	"github.com/moby/buildkit/solver/pb"
	"github.com/moby/buildkit/util/appdefaults"
	"github.com/moby/buildkit/util/bklog"
	"github.com/moby/buildkit/util/db/boltutil"
	"github.com/moby/buildkit/util/leaseutil"
	"github.com/moby/buildkit/util/network"
	"github.com/moby/buildkit/util/network/cniprovider"
	"github.com/moby/buildkit/util/network/proxyprovider"
	"github.com/moby/buildkit/util/winlayers"
	"github.com/moby/buildkit/worker/base"
	wlabel "github.com/moby/buildkit/worker/label"
	"github.com/moby/buildkit/worker/runc"
	"github.com/moby/sys/userns"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	bolt "go.etcd.io/bbolt"
	"tags.cncf.io/container-device-interface/pkg/cdi"
)

// newWorkerOpt is BuildKit's runc.NewWorkerOpt (v0.34) for root, host
// networking and no user namespace, with one change: the proxy network
// provider is created on first use. Creating it generates an RSA-2048 CA
// key, 20-100 ms here, which every builder invocation would otherwise pay
// for a feature (policy-driven egress proxies) that most builds never use.
func newWorkerOpt(root string, sn runc.SnapshotterFactory, runcPath string, cdiManager *cdidevices.Manager, killedOwner bool) (base.WorkerOpt, error) {
	var opt base.WorkerOpt
	stateRoot := root
	root = filepath.Join(root, "runc-"+sn.Name)
	if err := os.MkdirAll(root, 0700); err != nil {
		return opt, err
	}
	np, netLabel, proxy := networkProviders(stateRoot)
	// Rootless in a container that masks paths of /proc (a CI job run
	// as a user by docker), a step cannot mount a /proc of its own: it
	// runs in builder's PID namespace with its /proc bound in, rootless
	// BuildKit's --oci-worker-no-process-sandbox.
	processMode := oci.ProcessSandbox
	if userns.RunningInUserNS() && rootless.ProcMasked() {
		processMode = oci.NoProcessSandbox
	}
	rm, err := resources.NewMonitor()
	if err != nil {
		return opt, err
	}
	exe, err := runcexecutor.New(runcexecutor.Opt{
		Root:              filepath.Join(root, "executor"),
		CommandCandidates: []string{runcPath},
		ProcessMode:       processMode,
		// In a user namespace (builder run by an unprivileged account, or
		// in a rootless container) runc gets BuildKit's rootless spec: no
		// cgroup settings it may not write, no /sys mount.
		Rootless:        userns.RunningInUserNS(),
		ResourceMonitor: rm,
		ProxyProvider:   proxy,
		CDIManager:      cdiManager,
	}, np)
	if err != nil {
		return opt, err
	}
	db, mdb, err := openContainerdMeta(root, sn, killedOwner)
	if err != nil {
		return opt, err
	}
	c := containerdsnapshot.NewContentStore(mdb.ContentStore(), "buildkit")
	id, err := base.ID(root)
	if err != nil {
		return opt, err
	}
	md, err := metadata.NewStore(filepath.Join(root, "metadata_v2.db"))
	if err != nil {
		return opt, err
	}
	return base.WorkerOpt{
		ID:               id,
		Root:             root,
		Labels:           workerLabels(sn.Name, netLabel, processMode),
		MetadataStore:    md,
		ContentMetadata:  db,
		NetworkProviders: np,
		ProxyProvider:    proxy,
		Executor:         exe,
		Snapshotter:      containerdsnapshot.NewSnapshotter(sn.Name, mdb.Snapshotter(sn.Name), "buildkit", nil),
		ContentStore:     c,
		Applier:          winlayers.NewFileSystemApplierWithWindows(c, apply.NewFileSystemApplier(c)),
		Differ:           winlayers.NewWalkingDiffWithWindows(c, walking.NewWalkingDiff(c)),
		Platforms:        []ocispecs.Platform{platforms.Normalize(platforms.DefaultSpec())},
		LeaseManager:     leaseutil.WithNamespace(ctdmetadata.NewLeaseManager(mdb), "buildkit"),
		GarbageCollect:   mdb.GarbageCollect,
		MountPoolRoot:    filepath.Join(root, "cachemounts"),
		ResourceMonitor:  rm,
		CDIManager:       cdiManager,
	}, nil
}

// networkProviders are RUN's networks: the host's, none, and by default
// a namespace of the step's own on builder0 (run's bridge), as in
// docker's builder. Without root, or without the CNI plugins, steps keep
// the host's network, as rootless BuildKit's do (and without iptables).
// netLabel says which for the worker's labels.
func networkProviders(stateRoot string) (np map[pb.NetMode]network.Provider, netLabel string, proxy *lazyProxy) {
	host := network.NewHostProvider()
	np = map[pb.NetMode]network.Provider{
		pb.NetMode_UNSET: host,
		pb.NetMode_HOST:  host,
		pb.NetMode_NONE:  network.NewNoneProvider(),
	}
	netLabel = "host"
	if dir, err := cninet.Available(); err == nil && !userns.RunningInUserNS() {
		np[pb.NetMode_UNSET] = &lazyBridge{root: stateRoot, plugins: dir}
		netLabel = "cni"
		// A solver killed mid-step left its namespaces mounted.
		if err := cninet.SweepStale(context.TODO(), filepath.Join(stateRoot, "net", "cni")); err != nil {
			bklog.L.Warnf("release the network namespaces a killed solver left: %v", err)
		}
	}
	proxy = &lazyProxy{opt: proxyprovider.Opt{
		// The proxy keeps its network namespaces under Root, which must be
		// absolute: a relative one would land in the working directory.
		Root:            stateRoot,
		EgressProviders: map[pb.NetMode]network.Provider{pb.NetMode_UNSET: host, pb.NetMode_HOST: host},
	}}
	return np, netLabel, proxy
}

// openContainerdMeta opens the worker's snapshotter and content store
// under containerd's metadata database, as BuildKit's runc worker does.
// After a killed owner, the snapshotter's directories that no record names
// are removed first: one killed between renaming a new snapshot's
// directory into place and committing its record leaves a directory
// under the ID the next snapshot is given, which then fails on "file
// exists", build after build.
func openContainerdMeta(root string, sn runc.SnapshotterFactory, killedOwner bool) (*boltutil.DB, *ctdmetadata.DB, error) {
	s, err := sn.New(filepath.Join(root, "snapshots"))
	if err != nil {
		return nil, nil, err
	}
	if c, ok := s.(ctdsnapshot.Cleaner); ok && killedOwner {
		if err := c.Cleanup(context.TODO()); err != nil {
			bklog.L.Warnf("remove the snapshots a killed solver left: %v", err)
		}
	}
	localstore, err := local.NewStore(filepath.Join(root, "content"))
	if err != nil {
		return nil, nil, err
	}
	db, err := boltutil.Open(filepath.Join(root, "containerdmeta.db"), 0644, &bolt.Options{
		FreelistType:   bolt.FreelistMapType,
		NoFreelistSync: true,
	})
	if err != nil {
		return nil, nil, err
	}
	mdb := ctdmetadata.NewDB(db, localstore, map[string]ctdsnapshot.Snapshotter{sn.Name: s})
	if err := mdb.Init(context.TODO()); err != nil {
		return nil, nil, err
	}
	return db, mdb, nil
}

// workerLabels are the labels BuildKit's runc worker gives itself, which
// buildctl debug workers and buildx show.
func workerLabels(snapshotter, netLabel string, processMode oci.ProcessMode) map[string]string {
	hostname, err := os.Hostname()
	if err != nil {
		hostname = "unknown"
	}
	return map[string]string{
		wlabel.Executor:       "oci",
		wlabel.Snapshotter:    snapshotter,
		wlabel.Hostname:       hostname,
		wlabel.Network:        netLabel,
		wlabel.OCIProcessMode: processMode.String(),
		wlabel.SELinuxEnabled: strconv.FormatBool(false),
	}
}

// lazyBridge creates BuildKit's CNI network provider on builder0 when a
// step first needs a namespace: creating it sets up and tears down one
// namespace (a check), which a build that runs no step (a cached one)
// should not pay for.
type lazyBridge struct {
	root, plugins string
	once          sync.Once
	p             network.Provider
	err           error
}

func (l *lazyBridge) New(ctx context.Context, hostname string, opt network.NamespaceOptions) (network.Namespace, error) {
	l.once.Do(func() {
		dir := filepath.Join(l.root, "net")
		// BuildKit's provider keeps each step's namespace, named as its
		// lease, in net/cni: record it before the first lease.
		if l.err = os.MkdirAll(filepath.Join(dir, "cni"), 0700); l.err != nil {
			return
		}
		if l.err = cninet.Hold(filepath.Join(dir, "cni")); l.err != nil {
			return
		}
		conf, err := cninet.WriteConfList(dir)
		if err != nil {
			l.err = err
			return
		}
		l.p, l.err = cniprovider.New(cniprovider.Opt{Root: l.root, ConfigPath: conf, BinaryDir: l.plugins})
	})
	if l.err != nil {
		return nil, fmt.Errorf("a network namespace for the step on %s: %w", cninet.BridgeName, l.err)
	}
	return l.p.New(ctx, hostname, opt)
}

func (l *lazyBridge) Close() error {
	l.once.Do(func() { l.err = fmt.Errorf("network provider closed") })
	if l.p != nil {
		return l.p.Close()
	}
	return nil
}

// lazyProxy creates BuildKit's proxy network provider when a build first
// asks for a proxied network.
type lazyProxy struct {
	opt  proxyprovider.Opt
	once sync.Once
	p    network.ProxyProvider
	err  error
}

func (l *lazyProxy) NewProxy(ctx context.Context, cfg *network.ProxyConfig) (network.ProxyNamespace, error) {
	l.once.Do(func() { l.p, l.err = proxyprovider.New(l.opt) })
	if l.err != nil {
		return nil, fmt.Errorf("create proxy network provider: %w", l.err)
	}
	return l.p.NewProxy(ctx, cfg)
}

func (l *lazyProxy) Close() error {
	// Once also stops a later NewProxy from creating a provider after Close.
	l.once.Do(func() { l.err = fmt.Errorf("proxy network provider closed") })
	if l.p != nil {
		return l.p.Close()
	}
	return nil
}

// newCDIManager is buildkitd's getCDIManager: the Container Device
// Interface specs under cfg's directories (BuildKit's defaults without
// them), nil when cfg turns CDI off. A spec that fails to parse is logged
// and skipped, as buildkitd does.
func newCDIManager(cfg bkconfig.CDIConfig) (*cdidevices.Manager, error) {
	if cfg.Disabled != nil && *cfg.Disabled {
		return nil, nil
	}
	dirs := cfg.SpecDirs
	if len(dirs) == 0 {
		dirs = appdefaults.CDISpecDirs
	}
	cache, err := cdi.NewCache(cdi.WithSpecDirs(dirs...))
	if err != nil {
		return nil, fmt.Errorf("read CDI specs from %s: %w", strings.Join(dirs, ", "), err)
	}
	for dir, errs := range cache.GetErrors() {
		for _, err := range errs {
			bklog.L.Warnf("CDI spec %s: %v", dir, err)
		}
	}
	return cdidevices.NewManager(cache, cfg.AutoAllowed), nil
}
