// Package network gives builder's containers a network of their own, as
// docker's default bridge does: a network namespace per container with a
// veth on one bridge of the machine's (builder0), an address from its
// subnet, outbound traffic masqueraded and ports published to the host. It
// drives the CNI plugins (bridge, host-local, portmap, firewall, loopback)
// through containerd's go-cni; the namespaces are containerd's netns.
package network

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/builder-dev/builder/internal/atomicfile"
	"github.com/containerd/containerd/v2/pkg/netns"
	cni "github.com/containerd/go-cni"
	cnins "github.com/containernetworking/plugins/pkg/ns"
	"github.com/gofrs/flock"
	"github.com/vishvananda/netlink"
)

// BridgeName is the machine's bridge for builder's containers, shared by
// every state root (one address range, one IPAM store).
const BridgeName = "builder0"

// netName names the CNI network: host-local keeps its leases under
// /var/lib/cni/networks/NAME, one store for the machine.
const netName = "builder"

// plugins are the CNI plugins a bridge network needs.
var plugins = []string{"bridge", "host-local", "portmap", "firewall", "loopback"}

// subnets are the ranges builder0 may take, the first whose range no
// route of the host's overlaps (docker's 172.17/16 and podman's 10.88/16
// are left alone).
var subnets = []string{"10.209.0.0/16", "10.210.0.0/16", "10.211.0.0/16", "172.30.0.0/16", "192.168.209.0/24"}

// lockPath serializes choosing the subnet and creating the bridge among
// builder processes of every root.
const lockPath = "/run/builder-network.lock"

// Bridge is builder0, ready to attach containers to.
type Bridge struct {
	plugins, subnet string
}

// PluginDir finds the CNI plugins: $BUILDER_CNI_PATH, else cni/ beside the
// builder binary (where `make` puts the pinned build), else Debian's
// containernetworking-plugins (/usr/lib/cni) or the CNI default
// (/opt/cni/bin).
func PluginDir() (string, error) {
	var dirs []string
	if d := os.Getenv("BUILDER_CNI_PATH"); d != "" {
		dirs = append(dirs, d)
	} else {
		if exe, err := os.Executable(); err == nil {
			dirs = append(dirs, filepath.Join(filepath.Dir(exe), "cni"))
		}
		dirs = append(dirs, "/usr/lib/cni", "/opt/cni/bin")
	}
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "bridge")); err == nil {
			for _, p := range plugins {
				if _, err := os.Stat(filepath.Join(d, p)); err != nil {
					return "", fmt.Errorf("CNI plugin %s not found in %s, and run's bridge network needs it: run `make cni` in the builder source tree (it builds the pinned plugins beside the builder binary), or install Debian's containernetworking-plugins; --network host needs none", p, d)
				}
			}
			return d, nil
		}
	}
	return "", fmt.Errorf("CNI plugin bridge not found (looked in %v), and run's bridge network needs it: run `make cni` in the builder source tree (it builds the pinned plugins beside the builder binary), or install Debian's containernetworking-plugins; --network host needs none", dirs)
}

// Available returns the CNI plugins' directory, or says why builder0
// cannot be used here: the plugins and iptables are needed.
func Available() (string, error) {
	dir, err := PluginDir()
	if err != nil {
		return "", err
	}
	if _, err := exec.LookPath("iptables"); err != nil {
		return "", fmt.Errorf("iptables not found, and run's bridge network needs it to masquerade and publish ports: install Debian's iptables package; --network host needs none")
	}
	return dir, nil
}

// Open readies builder0's CNI configuration: the subnet the bridge has,
// or one chosen for it now.
func Open(ctx context.Context) (*Bridge, error) {
	dir, err := Available()
	if err != nil {
		return nil, err
	}
	lock := flock.New(lockPath)
	if err := lock.Lock(); err != nil {
		return nil, fmt.Errorf("lock %s: %w", lockPath, err)
	}
	defer lock.Unlock()
	subnet, err := chooseSubnet()
	if err != nil {
		return nil, err
	}
	return &Bridge{plugins: dir, subnet: subnet}, nil
}

// handle is the CNI configuration for a container; with ports, the portmap
// plugin's too, which only the DEL of a container an older builder
// attached needs (ports are builder0's own rules now: portrules.go). The
// loopback interface is brought up by Attach itself, not by the loopback
// plugin: one plugin run fewer each way. For steps
// (BuildKit's provider, which loads the loopback network first, so that
// their interface on builder0 is eth1 and the address is leased under
// that name) it is the provider's configuration instead.
func (b *Bridge) handle(ports, steps bool) (cni.CNI, error) {
	conf, err := confList(b.subnet, ports)
	if err != nil {
		return nil, err
	}
	networks, load := 1, []cni.Opt{cni.WithConfListBytes(conf)}
	if steps {
		networks, load = 2, []cni.Opt{cni.WithLoNetwork, cni.WithConfListBytes(conf)}
	}
	c, err := cni.New(cni.WithPluginDir([]string{b.plugins}), cni.WithInterfacePrefix("eth"), cni.WithMinNetworkCount(networks))
	if err != nil {
		return nil, fmt.Errorf("CNI: %w", err)
	}
	if err := c.Load(load...); err != nil {
		return nil, fmt.Errorf("CNI configuration: %w", err)
	}
	return c, nil
}

// chooseSubnet is builder0's subnet when the bridge exists, else the first
// of subnets no host route overlaps.
func chooseSubnet() (string, error) {
	if l, err := netlink.LinkByName(BridgeName); err == nil {
		addrs, err := netlink.AddrList(l, netlink.FAMILY_V4)
		if err == nil && len(addrs) > 0 {
			n := addrs[0].IPNet
			return (&net.IPNet{IP: n.IP.Mask(n.Mask), Mask: n.Mask}).String(), nil
		}
	}
	routes, err := netlink.RouteList(nil, netlink.FAMILY_V4)
	if err != nil {
		return "", fmt.Errorf("list the host's routes: %w", err)
	}
	for _, s := range subnets {
		_, cand, _ := net.ParseCIDR(s)
		free := true
		for _, r := range routes {
			if r.Dst != nil && r.Dst.String() != "0.0.0.0/0" && (cand.Contains(r.Dst.IP) || r.Dst.Contains(cand.IP)) {
				free = false
				break
			}
		}
		if free {
			return s, nil
		}
	}
	return "", fmt.Errorf("every subnet builder0 may take (%v) overlaps a route of the host's", subnets)
}

// WriteConfList writes builder0's CNI configuration into dir, as a
// .conflist file for BuildKit's CNI network provider: build steps share
// the bridge (and its one IPAM store) with run's containers.
func WriteConfList(dir string) (string, error) {
	lock := flock.New(lockPath)
	if err := lock.Lock(); err != nil {
		return "", fmt.Errorf("lock %s: %w", lockPath, err)
	}
	defer lock.Unlock()
	subnet, err := chooseSubnet()
	if err != nil {
		return "", err
	}
	if err := ensureRules(subnet); err != nil {
		return "", err
	}
	conf, err := confList(subnet, false)
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "builder0.conflist")
	if err := atomicfile.WriteFile(path, conf, 0644); err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	return path, nil
}

// confList is builder0's CNI configuration. Masquerading and forwarding
// are builder0's rules (ensureRules), one set for the bridge as docker
// has for docker0, not the bridge and firewall plugins' per-container
// chains: those cost some 20 iptables runs per container.
func confList(subnet string, ports bool) ([]byte, error) {
	plugins := []any{
		map[string]any{
			"type": "bridge", "bridge": BridgeName, "isGateway": true, "ipMasq": false, "hairpinMode": true,
			"ipam": map[string]any{
				"type":   "host-local",
				"ranges": [][]map[string]string{{{"subnet": subnet}}},
				"routes": []map[string]string{{"dst": "0.0.0.0/0"}},
			},
		},
	}
	if ports {
		// Only to remove the rules of a container an older builder
		// published ports of with this plugin.
		plugins = append(plugins, map[string]any{"type": "portmap", "capabilities": map[string]bool{"portMappings": true}})
	}
	return json.Marshal(map[string]any{"cniVersion": "1.0.0", "name": netName, "plugins": plugins})
}

// rulesVersion names the set of rules ensureRules installs; change it
// whenever a rule is added.
const rulesVersion = "v3"

// ensureRules installs builder0's masquerade and forward rules when they
// are missing: outbound traffic of the subnet masqueraded, and forwarding
// from the bridge and (for published ports) to it accepted ahead of
// another engine's FORWARD policy (docker's is DROP). A marker under /run
// (gone at reboot, with the rules) spares each command the checks.
func ensureRules(subnet string) error {
	marker := "/run/builder-network.rules"
	// Per network namespace: builder serve may run in one of its own.
	// The version moves with the rules, so a machine whose marker
	// predates a rule gets it.
	netns, _ := os.Readlink("/proc/self/ns/net")
	want := rulesVersion + " " + subnet + " " + netns + "\n"
	if dt, err := os.ReadFile(marker); err == nil && string(dt) == want {
		return nil
	}
	rules := [][]string{
		{"-t", "nat", "POSTROUTING", "-s", subnet, "!", "-o", BridgeName, "-j", "MASQUERADE", "-m", "comment", "--comment", "builder0"},
		{"-t", "filter", "FORWARD", "-i", BridgeName, "-j", "ACCEPT", "-m", "comment", "--comment", "builder0"},
		{"-t", "filter", "FORWARD", "-o", BridgeName, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED,DNAT", "-j", "ACCEPT", "-m", "comment", "--comment", "builder0"},
		// Publishing a port turns on builder0's route_localnet (for the
		// SNAT of a port published on 127.0.0.1), after which a process
		// with CAP_NET_RAW in any container or RUN step could address a
		// frame to 127.0.0.1 through the gateway and reach the host's
		// loopback-only services (CVE-2020-8558). kube-proxy's rule:
		// only replies and DNAT'd traffic may arrive for 127.0.0.0/8.
		{"-t", "filter", "INPUT", "-i", BridgeName, "-d", "127.0.0.0/8", "!", "-s", "127.0.0.0/8", "-m", "conntrack", "!", "--ctstate", "RELATED,ESTABLISHED,DNAT", "-j", "DROP", "-m", "comment", "--comment", "builder0 loopback"},
	}
	if err := ensureDNATChain(); err != nil {
		return err
	}
	rules = append(rules, portRules(subnet)...)
	for _, r := range rules {
		table, chain, spec := r[:2], r[2], r[3:]
		check := append(append(append([]string{}, table...), "-C", chain), spec...)
		if exec.Command("iptables", check...).Run() == nil {
			continue
		}
		add := append(append(append([]string{"-w"}, table...), "-I", chain, "1"), spec...)
		if out, err := exec.Command("iptables", add...).CombinedOutput(); err != nil {
			return fmt.Errorf("iptables %v: %v: %s", add, err, out)
		}
	}
	return atomicfile.WriteFile(marker, []byte(want), 0644)
}

// Attachment is a container's place on builder0, recorded with it: what
// Detach needs to undo it, and what inspect and ps show.
type Attachment struct {
	NetNS   string `json:"netns"`
	IP      string `json:"ip"`
	Prefix  int    `json:"prefix"`
	Gateway string `json:"gateway"`
	MAC     string `json:"mac"`
	Ports   []Port `json:"ports,omitempty"`
}

// Attach creates a network namespace for container id in dir and puts it
// on builder0, with ports published. pending is given the attachment as
// soon as its namespace exists, before any address or rule is made: the
// caller records it there, so that a process killed in the middle leaves
// a record that Detach (a sweep, rm -f) can undo, never a namespace,
// lease and port rules nobody knows of.
func (b *Bridge) Attach(ctx context.Context, id, dir string, ports []Port, pending func(*Attachment) error) (*Attachment, error) {
	// Before an address is taken, those deleted state roots left are
	// given back; a detach, which takes none, need not look.
	b.sweepOrphans(ctx)
	ns, err := netns.NewNetNS(dir)
	if err != nil {
		return nil, fmt.Errorf("create the network namespace: %w", err)
	}
	a := &Attachment{NetNS: ns.GetPath(), Ports: ports}
	if err := pending(a); err != nil {
		ns.Remove()
		return nil, err
	}
	c, err := b.handle(false, false)
	if err != nil {
		ns.Remove()
		return nil, err
	}
	if err := ensureRules(b.subnet); err != nil {
		ns.Remove()
		return nil, err
	}
	if err := ns.Do(func(cnins.NetNS) error {
		lo, err := netlink.LinkByName("lo")
		if err != nil {
			return err
		}
		return netlink.LinkSetUp(lo)
	}); err != nil {
		ns.Remove()
		return nil, fmt.Errorf("bring up the loopback interface: %w", err)
	}
	res, err := c.Setup(ctx, id, a.NetNS)
	if err != nil {
		b.Detach(context.WithoutCancel(ctx), id, a)
		return nil, fmt.Errorf("attach to %s: %w", BridgeName, err)
	}
	if eth, ok := res.Interfaces["eth0"]; ok {
		a.MAC = eth.Mac
		for _, c := range eth.IPConfigs {
			if ip4 := c.IP.To4(); ip4 != nil {
				a.IP, a.Gateway = ip4.String(), c.Gateway.String()
			}
		}
	}
	if _, n, err := net.ParseCIDR(b.subnet); err == nil {
		a.Prefix, _ = n.Mask.Size()
	}
	if a.IP == "" {
		b.Detach(context.WithoutCancel(ctx), id, a)
		return nil, fmt.Errorf("attach to %s: the bridge plugin gave no IPv4 address", BridgeName)
	}
	if err := publish(id, a.IP, ports); err != nil {
		b.Detach(context.WithoutCancel(ctx), id, a)
		return nil, err
	}
	return a, nil
}

// Detach takes container id off builder0 (its address, its port rules)
// and removes its network namespace. Each step is done even when another
// fails, and again when done before: it is how a container left by a
// killed builder is swept.
func (b *Bridge) Detach(ctx context.Context, id string, a *Attachment) error {
	// The namespace goes first: the kernel then removes the veth with it,
	// and the plugins' DEL (the address, the port rules) has no link to
	// delete inside, which halves its time.
	nsErr := netns.LoadNetNS(a.NetNS).Remove()
	pubErr := unpublish(id, a.Ports)
	// With ports, the portmap plugin's DEL too: a container an older
	// builder attached has its rules.
	c, err := b.handle(len(a.Ports) > 0, false)
	if err == nil {
		err = c.Remove(ctx, id, "", b.opts(a.Ports)...)
	}
	if err != nil {
		err = fmt.Errorf("detach from %s: %w", BridgeName, err)
	}
	return errors.Join(err, nsErr, pubErr)
}

func (b *Bridge) opts(ports []Port) []cni.NamespaceOpts {
	var pm []cni.PortMapping
	for _, p := range ports {
		if p.IPv6() {
			continue // the holder's proxy serves it (Reservation.Proxy)
		}
		pm = append(pm, cni.PortMapping{HostPort: int32(p.HostPort), ContainerPort: int32(p.ContainerPort), Protocol: p.Proto, HostIP: p.HostIP})
	}
	return []cni.NamespaceOpts{cni.WithCapabilityPortMap(pm)}
}

// SweepStale releases the build steps' namespaces a killed solver left in
// dir (BuildKit's CNI provider keeps them as ROOT/net/cni/ID): their
// addresses and their mounts. The solver owner calls it before it makes
// namespaces of its own there.
func SweepStale(ctx context.Context, dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil || len(ents) == 0 {
		return nil
	}
	b, err := Open(ctx)
	if err != nil {
		return err
	}
	b.sweepOrphans(ctx)
	c, err := b.handle(false, true)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range ents {
		path := filepath.Join(dir, e.Name())
		errs = append(errs, c.Remove(ctx, e.Name(), path), netns.LoadNetNS(path).Remove())
	}
	return errors.Join(errs...)
}
