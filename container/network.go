package container

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/builder-dev/builder/network"
	"github.com/containerd/containerd/v2/pkg/oci"
	bkoci "github.com/moby/buildkit/executor/oci"
	"github.com/moby/buildkit/solver/pb"
	"github.com/moby/sys/userns"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Network modes of run's --network.
const (
	NetBridge = "bridge"
	NetHost   = "host"
	NetNone   = "none"
)

// netMode resolves --network to a mode. Bridge is the default, as
// docker's; without root (in a user namespace) there is no bridge of the
// host's to join yet, so the default is the namespace's host network, as
// rootless BuildKit's.
func netMode(flag string, publish bool) (string, error) {
	mode := flag
	switch flag {
	case "", "default":
		mode = NetBridge
		if userns.RunningInUserNS() {
			mode = NetHost
		}
	case NetBridge:
		if userns.RunningInUserNS() {
			return "", fmt.Errorf("--network bridge: not available without root yet; use --network host (the default without root) or none")
		}
	case NetHost, NetNone:
	default:
		return "", fmt.Errorf("--network %q: want bridge, host or none", flag)
	}
	if publish && mode != NetBridge {
		return "", fmt.Errorf("conflicting options: port publishing and the %s network mode", mode)
	}
	return mode, nil
}

// CheckNetwork checks run's network flags: --network, -p and -P.
func CheckNetwork(flag string, publish []string, publishAll bool) error {
	if _, err := netMode(flag, len(publish) > 0 || publishAll); err != nil {
		return err
	}
	_, err := network.ParsePorts(publish)
	return err
}

// attach puts c on builder0 with its published ports, whose host ports
// the returned reservation holds for as long as the container runs, and
// writes its /etc/hosts and /etc/resolv.conf.
func (p records) attach(ctx context.Context, c *Container, hostname string) (_ *network.Reservation, err error) {
	if c.Network != NetBridge {
		return &network.Reservation{}, nil
	}
	ports, res, err := network.Reserve(c.Publish)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			warn(p.release(c))
			res.Close()
		}
	}()
	if err := network.Hold(filepath.Join(p.root, "containers")); err != nil {
		return nil, err
	}
	br, err := network.Open(ctx)
	if err != nil {
		return nil, err
	}
	a, err := br.Attach(ctx, c.ID, p.dir(c.ID), ports, func(a *network.Attachment) error {
		c.Attachment, c.NetOwner = a, os.Getpid()
		return p.save(c)
	})
	if err != nil {
		return nil, err
	}
	c.Attachment = a
	if err := p.save(c); err != nil {
		return nil, err
	}
	hosts := fmt.Sprintf("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n%s\t%s\n", a.IP, hostname)
	if err := os.WriteFile(p.hostsPath(c.ID), []byte(hosts), 0644); err != nil {
		return nil, fmt.Errorf("write the container's /etc/hosts: %w", err)
	}
	if err := p.writeResolvConf(ctx, c.ID); err != nil {
		return nil, err
	}
	return res, nil
}

// serve starts the proxy of c's ports published on IPv6 addresses, in the
// process that holds them for as long as c runs: this one in the
// foreground, the monitor with -d.
func serve(c *Container, ports *network.Reservation) error {
	if c.Attachment == nil {
		return nil
	}
	if err := ports.Proxy(c.Attachment.IP); err != nil {
		return fmt.Errorf("container %s: %w", c.ID[:12], err)
	}
	return nil
}

func (p Paths) hostsPath(id string) string  { return filepath.Join(p.dir(id), "hosts") }
func (p Paths) resolvPath(id string) string { return filepath.Join(p.dir(id), "resolv.conf") }

// writeResolvConf is the host's resolv.conf as a container on a network of
// its own needs it: BuildKit's (and docker's) rule, a loopback nameserver
// (systemd-resolved's stub) replaced by the upstream ones or defaults.
func (p records) writeResolvConf(ctx context.Context, id string) error {
	root, err := os.OpenRoot(p.dir(id))
	if err != nil {
		return err
	}
	defer root.Close()
	path, err := bkoci.GetResolvConf(ctx, root, nil, nil, pb.NetMode_UNSET)
	if err != nil {
		return fmt.Errorf("write the container's /etc/resolv.conf: %w", err)
	}
	if filepath.Base(path) != "resolv.conf" {
		return os.Rename(path, p.resolvPath(id))
	}
	return nil
}

// release takes c off builder0, if it is on it, and records that; what
// it could not undo stays recorded, to be tried again. A container whose
// builder or monitor was killed is released by the next command that
// lists it.
func (p records) release(c *Container) error {
	if c.Attachment == nil {
		return nil
	}
	ctx := context.Background()
	br, err := network.Open(ctx)
	if err == nil {
		err = br.Detach(ctx, c.ID, c.Attachment)
	}
	if err != nil {
		return fmt.Errorf("container %s: %w", c.ID[:12], err)
	}
	c.Attachment = nil
	if _, err := os.Stat(p.meta(c.ID)); err == nil {
		return p.save(c)
	}
	return nil
}

// warn reports what a sweep could not undo: the command that swept goes
// on, and a later one tries again.
func warn(err error) {
	if err != nil {
		fmt.Fprintf(os.Stderr, "WARNING: %v\n", err)
	}
}

// netSpec is the spec's network part for c: host's namespace and files,
// an empty namespace, or c's namespace on builder0 with its files.
func (p records) netSpec(c *Container) []oci.SpecOpts {
	switch c.Network {
	case NetHost:
		return []oci.SpecOpts{oci.WithHostNamespace(specs.NetworkNamespace), oci.WithHostResolvconf, oci.WithHostHostsFile}
	case NetBridge:
		return []oci.SpecOpts{
			oci.WithLinuxNamespace(specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: c.Attachment.NetNS}),
			oci.WithMounts([]specs.Mount{
				{Destination: "/etc/hosts", Type: "bind", Source: p.hostsPath(c.ID), Options: []string{"rbind", "rw"}},
				{Destination: "/etc/resolv.conf", Type: "bind", Source: p.resolvPath(c.ID), Options: []string{"rbind", "rw"}},
			}),
		}
	}
	return nil // none: the default spec's new, empty namespace
}

// setNetNS points c's spec at its new namespace (start attaches again).
func (p records) setNetNS(c *Container) error {
	s, err := p.spec(c.ID)
	if err != nil {
		return err
	}
	for i, n := range s.Linux.Namespaces {
		if n.Type == specs.NetworkNamespace {
			s.Linux.Namespaces[i].Path = c.Attachment.NetNS
		}
	}
	dt, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return os.WriteFile(p.specPath(c.ID), dt, 0600)
}
