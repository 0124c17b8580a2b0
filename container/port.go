package container

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/builder-dev/builder/network"
)

// Port prints a running container's published ports as docker's `port`
// does ("80/tcp -> 0.0.0.0:8080"), or, given PORT[/PROTO], that port's
// host side ("0.0.0.0:8080").
func (m Manager) Port(ctx context.Context, ref, port string, w io.Writer) error {
	c, err := m.records().find(ctx, m.Runtime, ref)
	if err != nil {
		return err
	}
	var ports []network.Port
	if c.Running && c.Attachment != nil {
		ports = c.Attachment.Ports
	}
	if port == "" {
		for _, p := range ports {
			fmt.Fprintln(w, p)
		}
		return nil
	}
	num, proto, _ := strings.Cut(port, "/")
	if proto == "" {
		proto = "tcp"
	}
	n, err := strconv.Atoi(num)
	if err != nil {
		return fmt.Errorf("invalid port %q: want PORT[/PROTO]", port)
	}
	want := network.Port{ContainerPort: n, Proto: proto}.Key()
	found := false
	for _, p := range ports {
		if p.Key() == want {
			fmt.Fprintln(w, p.Host())
			found = true
		}
	}
	if !found {
		return fmt.Errorf("No public port '%s' published for %s", want, ref)
	}
	return nil
}
