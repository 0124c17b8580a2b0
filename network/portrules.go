package network

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"

	"github.com/docker/go-connections/nat"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Published ports are builder0's own rules, not the portmap plugin's: it
// runs iptables once per rule, several per port (51 ports took 2 s to
// publish here, 1,000 took 62 s), where iptables-restore writes any
// number in one call. As docker's, a range
// whose host and container ports are the same is one rule.
//
// In the nat table, dnatChain (jumped to for traffic to a local address,
// from outside as from the host itself) jumps to a chain per container
// holding its ports' DNAT rules; what arrives from the host's loopback
// and a container's own traffic to a published port (hairpin) are
// masqueraded, as portmap's SNAT did.
const dnatChain = "BUILDER-DNAT"

// portChain names container id's chain: within iptables' 28 characters.
func portChain(id string) string {
	if len(id) > 16 {
		id = id[:16]
	}
	return "BUILDER-P-" + id
}

// portRules are the nat rules ensureRules installs for published ports.
func portRules(subnet string) [][]string {
	return [][]string{
		{"-t", "nat", "PREROUTING", "-m", "addrtype", "--dst-type", "LOCAL", "-j", dnatChain},
		{"-t", "nat", "OUTPUT", "-m", "addrtype", "--dst-type", "LOCAL", "-j", dnatChain},
		// From the host's loopback (route_localnet lets it leave on
		// builder0; the INPUT rule keeps anything but replies from
		// coming back the same way).
		{"-t", "nat", "POSTROUTING", "-s", "127.0.0.0/8", "-o", BridgeName, "-j", "MASQUERADE", "-m", "comment", "--comment", "builder0"},
		// A container to a published port of builder0's (its own, or
		// another's): the reply must come back through the host.
		{"-t", "nat", "POSTROUTING", "-s", subnet, "-o", BridgeName, "-m", "conntrack", "--ctstate", "DNAT", "-j", "MASQUERADE", "-m", "comment", "--comment", "builder0"},
	}
}

// ensureDNATChain creates dnatChain if it is not there.
func ensureDNATChain() error {
	if exec.Command("iptables", "-t", "nat", "-n", "-L", dnatChain).Run() == nil {
		return nil
	}
	if out, err := exec.Command("iptables", "-w", "-t", "nat", "-N", dnatChain).CombinedOutput(); err != nil && !bytes.Contains(out, []byte("exists")) {
		return fmt.Errorf("iptables -t nat -N %s: %v: %s", dnatChain, err, out)
	}
	return nil
}

// publish forwards ports' host ports to the container at ip, in one
// iptables-restore; IPv6 ones are the holder's proxy's.
func publish(id, ip string, ports []Port) error {
	var v4 []Port
	for _, p := range ports {
		if !p.IPv6() {
			v4 = append(v4, p)
		}
	}
	if len(v4) == 0 {
		return nil
	}
	// For ports published on 127.0.0.1: packets from the host's loopback
	// may then leave on builder0 (portmap sets the same).
	if err := os.WriteFile("/proc/sys/net/ipv4/conf/"+BridgeName+"/route_localnet", []byte("1"), 0644); err != nil {
		return fmt.Errorf("publish ports: %w", err)
	}
	chain := portChain(id)
	var b strings.Builder
	fmt.Fprintf(&b, "*nat\n:%s - [0:0]\n-F %s\n", chain, chain)
	for _, r := range dnatRules(ip, v4) {
		fmt.Fprintf(&b, "-A %s %s -m comment --comment %q\n", chain, r, "builder container "+id)
	}
	fmt.Fprintf(&b, "-A %s -j %s\nCOMMIT\n", dnatChain, chain)
	if err := restore(b.String()); err != nil {
		unpublish(id, nil)
		return fmt.Errorf("publish ports: %w", err)
	}
	return nil
}

// dnatRules are the rule specs for ports, runs of consecutive ports whose
// host and container ports are the same as one rule each.
func dnatRules(ip string, ports []Port) []string {
	ps := append([]Port(nil), ports...)
	sort.Slice(ps, func(i, j int) bool {
		a, b := ps[i], ps[j]
		if a.Proto != b.Proto {
			return a.Proto < b.Proto
		}
		if a.HostIP != b.HostIP {
			return a.HostIP < b.HostIP
		}
		return a.HostPort < b.HostPort
	})
	var out []string
	for i := 0; i < len(ps); {
		p := ps[i]
		j := i + 1
		if p.HostPort == p.ContainerPort {
			for j < len(ps) && ps[j].Proto == p.Proto && ps[j].HostIP == p.HostIP &&
				ps[j].HostPort == ps[j-1].HostPort+1 && ps[j].ContainerPort == ps[j].HostPort {
				j++
			}
		}
		spec := "-p " + p.Proto
		if p.HostIP != "" && p.HostIP != "0.0.0.0" {
			spec += " -d " + p.HostIP + "/32"
		}
		if last := ps[j-1].HostPort; last != p.HostPort {
			// The same ports: the destination's port is kept.
			spec += fmt.Sprintf(" -m %s --dport %d:%d -j DNAT --to-destination %s", p.Proto, p.HostPort, last, ip)
		} else {
			spec += fmt.Sprintf(" -m %s --dport %d -j DNAT --to-destination %s:%d", p.Proto, p.HostPort, ip, p.ContainerPort)
		}
		out = append(out, spec)
		i = j
	}
	return out
}

// unpublish removes container id's port rules, if any (again when done
// before), and forgets the UDP flows to its ports, which would otherwise
// go on to its old address.
func unpublish(id string, ports []Port) error {
	chain := portChain(id)
	if exec.Command("iptables", "-t", "nat", "-n", "-L", chain).Run() == nil {
		script := fmt.Sprintf("*nat\n-D %s -j %s\n-F %s\n-X %s\nCOMMIT\n", dnatChain, chain, chain, chain)
		if err := restore(script); err != nil {
			// The jump may be gone already (a half-done removal).
			if err := restore(fmt.Sprintf("*nat\n-F %s\n-X %s\nCOMMIT\n", chain, chain)); err != nil {
				return fmt.Errorf("remove the port rules of %s: %w", id, err)
			}
		}
	}
	for _, p := range ports {
		if p.Proto == "udp" && !p.IPv6() {
			f := &netlink.ConntrackFilter{}
			f.AddProtocol(unix.IPPROTO_UDP)
			f.AddPort(netlink.ConntrackOrigDstPort, uint16(p.HostPort))
			netlink.ConntrackDeleteFilters(netlink.ConntrackTable, unix.AF_INET, f)
		}
	}
	return nil
}

func restore(script string) error {
	cmd := exec.Command("iptables-restore", "--noflush")
	cmd.Stdin = strings.NewReader(script)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("iptables-restore: %v: %s", err, out)
	}
	return nil
}

// forwarded are the host ports ("tcp/8080") that builder0's rules forward
// to a container, whoever holds them: the process that holds a
// container's ports open (its run or monitor) may have been killed while
// the container lives on with its rules, and a second container given the
// same port would never be reached (the first rule wins). docker refuses
// it while the first container exists; so does this. The portmap plugin's
// rules (CNI-HOSTPORT-DNAT), of containers an older builder attached,
// count too.
func forwarded() map[string]bool {
	out := map[string]bool{}
	dt, err := exec.Command("iptables-save", "-t", "nat").Output()
	if err != nil {
		return out
	}
	for _, l := range strings.Split(string(dt), "\n") {
		if !strings.HasPrefix(l, "-A BUILDER-P-") && !strings.HasPrefix(l, "-A CNI-HOSTPORT-DNAT ") {
			continue
		}
		f := strings.Fields(l)
		proto := ""
		for i := 0; i+1 < len(f); i++ {
			switch f[i] {
			case "-p":
				proto = f[i+1]
			case "--dport", "--dports":
				for _, p := range strings.Split(f[i+1], ",") {
					lo, hi, err := nat.ParsePortRangeToInt(strings.ReplaceAll(p, ":", "-"))
					for n := lo; err == nil && n <= hi; n++ {
						out[proto+"/"+strconv.Itoa(n)] = true
					}
				}
			}
		}
	}
	return out
}
