//go:build integration

package integration

import (
	"strings"
	"testing"
	"time"
)

// TestNetworkManyPorts: a thousand published ports take about a second,
// as docker's do (the portmap plugin, one iptables run per rule, took 62 s
// here, 2 s for 51 ports), a range whose host and container ports match is
// one rule, a shifted one is a rule per port in the same single write, and
// every rule goes with the container.
func TestNetworkManyPorts(t *testing.T) {
	e := newEnv(t)
	e.must("pull", "busybox")
	before := netState(t)
	for _, p := range []string{"21000-21999:21000-21999", "22000-22999:1-1000"} {
		start := time.Now()
		e.must("run", "--rm", "-p", p, "busybox", "true")
		if d := time.Since(start); d > 15*time.Second {
			t.Errorf("run --rm -p %s took %v", p, d)
		}
	}
	// While it runs: the same range as one rule.
	e.must("run", "-d", "--name", "many", "-p", "21000-21999:21000-21999", "-p", "127.0.0.1:23000:80", "busybox", "sleep", "60")
	t.Cleanup(func() { e.run("rm", "-f", "many") })
	state := netState(t)
	if !strings.Contains(state, "--dport 21000:21999 ") || strings.Count(state, "-j DNAT") != 2 {
		t.Errorf("the container's port rules:\n%s", state)
	}
	e.must("rm", "-f", "many")
	if after := netState(t); after != before {
		t.Errorf("rules or leases left:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}
