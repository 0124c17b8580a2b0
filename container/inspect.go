package container

import (
	"context"
	"io"
	"strconv"
	"time"

	"github.com/builder-dev/builder/format"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Inspected is a container as docker's `container inspect` shows it: the
// fields builder has, in docker's names and shape.
type Inspected struct {
	ID              string              `json:"Id"`
	Created         string              `json:"Created"`
	Path            string              `json:"Path"`
	Args            []string            `json:"Args"`
	State           InspectedState      `json:"State"`
	Image           string              `json:"Image"`
	Name            string              `json:"Name"`
	Config          InspectedConfig     `json:"Config"`
	NetworkSettings NetworkSettings     `json:"NetworkSettings"`
	HostConfig      InspectedHostConfig `json:"HostConfig"`
}

type InspectedState struct {
	Status     string `json:"Status"`
	Running    bool   `json:"Running"`
	Paused     bool   `json:"Paused"`
	ExitCode   int    `json:"ExitCode"`
	StartedAt  string `json:"StartedAt"`
	FinishedAt string `json:"FinishedAt"`
}

type InspectedConfig struct {
	Image string `json:"Image"`
	ocispec.ImageConfig
}

type InspectedHostConfig struct {
	NetworkMode string `json:"NetworkMode"`
	// PortBindings are the ports asked for, as docker records them.
	PortBindings map[string][]PortBinding `json:"PortBindings"`
}

// NetworkSettings are the container's place on its network while it runs.
type NetworkSettings struct {
	IPAddress   string                   `json:"IPAddress"`
	IPPrefixLen int                      `json:"IPPrefixLen"`
	Gateway     string                   `json:"Gateway"`
	MacAddress  string                   `json:"MacAddress"`
	Ports       map[string][]PortBinding `json:"Ports"`
	Networks    map[string]EndpointInfo  `json:"Networks"`
}

type PortBinding struct {
	HostIP   string `json:"HostIp"`
	HostPort string `json:"HostPort"`
}

type EndpointInfo struct {
	IPAddress   string `json:"IPAddress"`
	IPPrefixLen int    `json:"IPPrefixLen"`
	Gateway     string `json:"Gateway"`
	MacAddress  string `json:"MacAddress"`
}

// Inspect writes containers as docker's `container inspect` does, or
// through tmpl (--format).
func (m Manager) Inspect(ctx context.Context, refs []string, tmpl string, w io.Writer) error {
	var out []Inspected
	for _, ref := range refs {
		in, err := m.InspectOne(ctx, ref)
		if err != nil {
			return err
		}
		out = append(out, in)
	}
	return format.Inspect(w, tmpl, out)
}

// InspectOne is docker's inspect object of the container ref names (an
// error wrapping ErrNoSuchContainer when none).
func (m Manager) InspectOne(ctx context.Context, ref string) (Inspected, error) {
	c, err := m.records().find(ctx, m.Runtime, ref)
	if err != nil {
		return Inspected{}, err
	}
	return inspected(c), nil
}

func inspected(c *Container) Inspected {
	r := row(c, true)
	in := Inspected{ID: c.ID, Created: c.Created.Format(time.RFC3339Nano), Image: c.ImageID, Name: "/" + c.Name,
		State: InspectedState{Status: r.State, Running: c.Running && !c.Paused, Paused: c.Paused, ExitCode: c.ExitCode,
			StartedAt: zeroTime(c.StartedAt), FinishedAt: zeroTime(c.FinishedAt)},
		Config:          InspectedConfig{Image: c.Image, ImageConfig: c.Config},
		HostConfig:      InspectedHostConfig{NetworkMode: c.Network, PortBindings: map[string][]PortBinding{}},
		NetworkSettings: NetworkSettings{Ports: map[string][]PortBinding{}, Networks: map[string]EndpointInfo{}},
	}
	if len(c.Args) > 0 {
		in.Path, in.Args = c.Args[0], c.Args[1:]
	}
	for _, p := range c.Publish {
		host := ""
		if p.HostPort != 0 {
			host = strconv.Itoa(p.HostPort)
		}
		in.HostConfig.PortBindings[p.Key()] = append(in.HostConfig.PortBindings[p.Key()], PortBinding{HostIP: p.HostIP, HostPort: host})
	}
	if a := c.Attachment; a != nil && c.Running {
		ns := &in.NetworkSettings
		ns.IPAddress, ns.IPPrefixLen, ns.Gateway, ns.MacAddress = a.IP, a.Prefix, a.Gateway, a.MAC
		ns.Networks[c.Network] = EndpointInfo{IPAddress: a.IP, IPPrefixLen: a.Prefix, Gateway: a.Gateway, MacAddress: a.MAC}
		for _, p := range a.Ports {
			ns.Ports[p.Key()] = append(ns.Ports[p.Key()], PortBinding{HostIP: p.HostAddr(), HostPort: strconv.Itoa(p.HostPort)})
		}
	}
	return in
}

// zeroTime is docker's rendering of a time, its zero included.
func zeroTime(t time.Time) string {
	if t.IsZero() {
		return "0001-01-01T00:00:00Z"
	}
	return t.Format(time.RFC3339Nano)
}
