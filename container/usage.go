package container

import (
	"context"
)

// Usage is one container's disk use: its writable layer.
type Usage struct {
	Row
	Running bool
	Size    int64
	// Target is the image the container was made from.
	TargetDigest string
}

// DiskUsage reports each container's writable layer and what the
// unpacked layers under the root hold.
func (m Manager) DiskUsage(ctx context.Context) ([]Usage, LayerUsage, error) {
	p := m.records()
	all, err := p.list(ctx, m.Runtime)
	if err != nil {
		return nil, LayerUsage{}, err
	}
	var out []Usage
	for _, c := range all {
		size, err := dirSize(p.upper(c.ID))
		if err != nil {
			return nil, LayerUsage{}, err
		}
		out = append(out, Usage{Row: row(c, false), Running: c.Running, Size: size, TargetDigest: c.Target.Digest.String()})
	}
	layers, err := m.Layers(ctx)
	return out, layers, err
}
