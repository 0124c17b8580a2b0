package network

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/builder-dev/builder/internal/atomicfile"
	cni "github.com/containerd/go-cni"
	"github.com/moby/sys/mountinfo"
	"github.com/sirupsen/logrus"
)

// builder0's addresses are leased in one store for the machine
// (host-local's, under leasesDir), but held by state roots: a container's
// lease by ROOT/containers/ID, a build step's by ROOT/net/cni/ID. Each
// root's own commands release what its killed processes left; a root that
// is deleted while it holds leases (a root under /tmp, gone at reboot
// while the leases stay in /var/lib) has nobody left to. holdersDir
// records every directory whose entries hold leases, so that any builder
// can tell a lease nobody holds and release it.
const (
	leasesDir  = "/var/lib/cni/networks/" + netName
	holdersDir = "/var/lib/cni/builder-holders"
	// sinceFile is made with holdersDir: leases older than it were made
	// before directories were recorded and are never judged.
	sinceFile = "since"
)

// holder is one recorded directory, with the mount namespace of the
// process that recorded it: only a process that sees the same mounts (or
// outlives that namespace) may judge from the directory's absence.
type holder struct {
	Dir     string `json:"dir"`
	MountNS string `json:"mountNS"`
}

// Hold records dir (ROOT/containers, ROOT/net/cni) as holding builder0's
// leases by the names of its entries. Call it before the first lease in
// dir is made.
func Hold(dir string) error {
	return hold(holdersDir, dir)
}

func hold(holdersDir, dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	h := holder{Dir: abs, MountNS: mountNS()}
	sum := sha256.Sum256([]byte(h.Dir + "\x00" + h.MountNS))
	path := filepath.Join(holdersDir, hex.EncodeToString(sum[:16]))
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	if err := os.MkdirAll(holdersDir, 0700); err != nil {
		return fmt.Errorf("record %s as holding %s leases: %w", dir, BridgeName, err)
	}
	if f, err := os.OpenFile(filepath.Join(holdersDir, sinceFile), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0600); err == nil {
		f.Close()
	}
	dt, _ := json.Marshal(h)
	if err := atomicfile.WriteFile(path, dt, 0600); err != nil {
		return fmt.Errorf("record %s as holding %s leases: %w", dir, BridgeName, err)
	}
	return nil
}

func mountNS() string {
	ns, _ := os.Readlink("/proc/self/ns/mnt")
	return ns
}

// lease is one of host-local's lease files: an address, and the ID and
// interface it was leased to.
type lease struct {
	IP, ID, IfName string
}

// orphans lists the leases no recorded directory holds and no mounted
// network namespace is named for, made since directories were recorded,
// and forgets the records of directories that are gone. It judges nothing
// (and returns none) while a directory is recorded from a mount namespace
// that still exists and is not this process's: the lease may be held
// where this process cannot look.
func orphans(holdersDir, leasesDir string) ([]lease, error) {
	since, err := os.Stat(filepath.Join(holdersDir, sinceFile))
	if err != nil {
		return nil, nil // nothing recorded yet
	}
	ents, err := os.ReadDir(holdersDir)
	if err != nil {
		return nil, err
	}
	mine := mountNS()
	var dirs []string
	var live map[string]bool // mount namespaces of running processes
	for _, e := range ents {
		if e.Name() == sinceFile {
			continue
		}
		path := filepath.Join(holdersDir, e.Name())
		dt, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		var h holder
		if err := json.Unmarshal(dt, &h); err != nil {
			continue
		}
		if h.MountNS != mine {
			if live == nil {
				live = mountNamespaces()
			}
			if live[h.MountNS] {
				return nil, nil
			}
		}
		if _, err := os.Stat(h.Dir); errors.Is(err, fs.ErrNotExist) {
			os.Remove(path)
			continue
		}
		dirs = append(dirs, h.Dir)
	}
	files, err := os.ReadDir(leasesDir)
	if err != nil {
		return nil, nil
	}
	var out []lease
	// A lease whose network namespace is still mounted is in use, recorded
	// or not (a container of a builder from before the records began).
	var mounted map[string]bool
	for _, f := range files {
		if net.ParseIP(f.Name()) == nil {
			continue // host-local's lock and last_reserved_ip files
		}
		info, err := f.Info()
		if err != nil || info.ModTime().Before(since.ModTime()) {
			continue
		}
		dt, err := os.ReadFile(filepath.Join(leasesDir, f.Name()))
		if err != nil {
			continue
		}
		id, ifname, _ := strings.Cut(strings.TrimSpace(string(dt)), "\r\n")
		if id == "" || strings.ContainsAny(id, "/\x00") || held(dirs, id) {
			continue
		}
		if mounted == nil {
			mounted = namespaceMounts()
		}
		if mounted[id] {
			continue
		}
		out = append(out, lease{IP: f.Name(), ID: id, IfName: strings.TrimSpace(ifname)})
	}
	return out, nil
}

func held(dirs []string, id string) bool {
	for _, d := range dirs {
		if _, err := os.Lstat(filepath.Join(d, id)); !errors.Is(err, fs.ErrNotExist) {
			return true
		}
	}
	return false
}

// namespaceMounts are the names a mounted network namespace may be held
// by in this mount namespace: a container's is ROOT/containers/ID/cni-...,
// a step's ROOT/net/cni/ID, so both the mount point's name and its
// directory's.
func namespaceMounts() map[string]bool {
	out := map[string]bool{}
	mounts, err := mountinfo.GetMounts(mountinfo.FSTypeFilter("nsfs"))
	if err != nil {
		return out
	}
	for _, m := range mounts {
		out[filepath.Base(m.Mountpoint)], out[filepath.Base(filepath.Dir(m.Mountpoint))] = true, true
	}
	return out
}

// mountNamespaces are the mount namespaces of the machine's processes.
func mountNamespaces() map[string]bool {
	out := map[string]bool{}
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		if ns, err := os.Readlink(filepath.Join("/proc", p.Name(), "ns", "mnt")); err == nil {
			out[ns] = true
		}
	}
	return out
}

// sweepOrphans releases the leases nobody holds (orphans): the address,
// and, for a container's, its published ports' rules. Their namespaces
// and veths went with the processes that held them.
func (b *Bridge) sweepOrphans(ctx context.Context) {
	leases, err := orphans(holdersDir, leasesDir)
	if err != nil {
		logrus.Warnf("%s: look for addresses left by deleted state roots: %v", BridgeName, err)
	}
	for _, l := range leases {
		// A step's lease is on eth1 (BuildKit's provider loads the
		// loopback network first); a container's, on eth0, may have ports.
		step := l.IfName == "eth1"
		c, err := b.handle(!step, step)
		if err == nil {
			// The portmap plugin's DEL removes the rules by the ID alone,
			// but does nothing unless given some port: the ports are not
			// known here, so one stands in for them.
			err = c.Remove(ctx, l.ID, "", cni.WithCapabilityPortMap([]cni.PortMapping{{HostPort: 1, ContainerPort: 1, Protocol: "tcp"}}))
		}
		if !step {
			err = errors.Join(err, unpublish(l.ID, nil))
		}
		if err != nil {
			logrus.Warnf("%s: release %s, left by a deleted state root: %v", BridgeName, l.IP, err)
		}
	}
}
