package container

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/builder-dev/builder/image"
	"github.com/builder-dev/builder/store"
	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/mount"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// CommitOptions are `builder commit` flags and arguments.
type CommitOptions struct {
	Container string
	Ref       string
	Message   string
	Author    string
	Changes   []string
	// Pause pauses a running container while its layer is read.
	Pause bool
}

// Commit makes a new image from a container: its image plus one layer with
// the container's changes, its run config plus --change, and a history
// entry with the message; it returns the new image's ID.
func (m Manager) Commit(ctx context.Context, o CommitOptions) (string, error) {
	p := m.records()
	c, err := p.find(ctx, m.Runtime, o.Container)
	if err != nil {
		return "", err
	}
	var name string
	if o.Ref != "" {
		if name, err = store.ParseName(o.Ref); err != nil {
			return "", err
		}
	}
	cfg := c.Config
	for _, ch := range o.Changes {
		if err := image.ApplyChange(&cfg, ch); err != nil {
			return "", fmt.Errorf("--change %q: %w", ch, err)
		}
	}
	if c.Running && !c.Paused && o.Pause {
		resume, err := p.pauseForCommit(ctx, m.Runtime, c)
		if err != nil {
			return "", fmt.Errorf("commit %s: %w", o.Container, err)
		}
		defer resume()
	}
	done, err := m.Store.Writing(ctx)
	if err != nil {
		return "", err
	}
	defer done()
	base, lowers, err := p.imageLayers(ctx, m.Store, c)
	if err != nil {
		return "", fmt.Errorf("commit %s: %w", o.Container, err)
	}
	if _, err := os.Stat(p.upper(c.ID)); err != nil {
		return "", fmt.Errorf("commit %s: the container was removed", o.Container)
	}
	layer, diffID, err := writeUpper(ctx, m.Store, p.upper(c.ID), lowers)
	if err != nil {
		return "", fmt.Errorf("commit %s: %w", o.Container, err)
	}
	// The config is rebuilt from the base's raw JSON, so that fields the
	// OCI struct lacks (docker's Healthcheck, OnBuild, Shell) survive.
	raw, err := content.ReadBlob(ctx, m.Store.Content(), base.ConfigDesc)
	if err != nil {
		return "", err
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(raw, &doc); err != nil {
		return "", err
	}
	now := time.Now().UTC()
	img := base.Config
	img.Created = &now
	img.Author = o.Author
	img.RootFS.DiffIDs = append(append([]digest.Digest{}, img.RootFS.DiffIDs...), diffID)
	img.History = append(append([]ocispec.History{}, img.History...), ocispec.History{
		Created: &now, CreatedBy: strings.Join(c.Args, " "), Author: o.Author, Comment: o.Message})
	merged, err := mergeConfig(doc, img, cfg)
	if err != nil {
		return "", err
	}
	layers := append(append([]ocispec.Descriptor{}, base.Manifest.Layers...), layer)
	plat := ocispec.Platform{OS: img.OS, Architecture: img.Architecture, Variant: img.Variant}
	target, configDesc, err := image.Write(ctx, m.Store, merged, plat, layers)
	if err != nil {
		return "", fmt.Errorf("commit %s: %w", o.Container, err)
	}
	// A removal racing this commit must not leave an image whose layer
	// came from a half-deleted upper directory.
	if _, err := os.Stat(p.meta(c.ID)); err != nil {
		return "", fmt.Errorf("commit %s: the container was removed meanwhile", o.Container)
	}
	if err := m.Store.Name(ctx, store.Image{Name: name, Target: target}); err != nil {
		return "", fmt.Errorf("commit %s: %w", o.Container, err)
	}
	return configDesc.Digest.String(), nil
}

// mergeConfig writes img's fields over the raw base config document and
// sets its container config to cfg, keeping unknown fields.
func mergeConfig(doc map[string]json.RawMessage, img ocispec.Image, cfg ocispec.ImageConfig) (map[string]json.RawMessage, error) {
	set := func(k string, v any) error {
		dt, err := json.Marshal(v)
		if err != nil {
			return err
		}
		doc[k] = dt
		return nil
	}
	var rawCfg map[string]json.RawMessage
	json.Unmarshal(doc["config"], &rawCfg)
	if rawCfg == nil {
		rawCfg = map[string]json.RawMessage{}
	}
	cdt, _ := json.Marshal(cfg)
	var known map[string]json.RawMessage
	json.Unmarshal(cdt, &known)
	for _, k := range []string{"User", "ExposedPorts", "Env", "Entrypoint", "Cmd", "Volumes", "WorkingDir", "Labels", "StopSignal"} {
		if v, ok := known[k]; ok {
			rawCfg[k] = v
		} else {
			delete(rawCfg, k)
		}
	}
	for k, v := range map[string]any{"created": img.Created, "author": img.Author, "rootfs": img.RootFS, "history": img.History, "config": rawCfg} {
		if err := set(k, v); err != nil {
			return nil, err
		}
	}
	return doc, nil
}

// writeUpper stores the container's changes (its overlay upper directory,
// read against the image's layers) as a layer.
func writeUpper(ctx context.Context, st *store.Store, upper string, lowers []string) (ocispec.Descriptor, digest.Digest, error) {
	pr, pw := io.Pipe()
	go func() {
		pw.CloseWithError(writeChanges(ctx, pw, upper, lowers))
	}()
	desc, diffID, err := st.WriteLayer(ctx, pr)
	pr.CloseWithError(err)
	return desc, diffID, err
}

// lowerMounts is the image's filesystem as a read-only mount: an overlay of
// its layers, a bind of its only layer, or an empty directory.
func lowerMounts(lowers []string) ([]mount.Mount, func(), error) {
	switch len(lowers) {
	case 0:
		empty, err := os.MkdirTemp("", "builder-empty-")
		if err != nil {
			return nil, nil, err
		}
		return []mount.Mount{{Type: "bind", Source: empty, Options: []string{"rbind", "ro"}}}, func() { os.RemoveAll(empty) }, nil
	case 1:
		return []mount.Mount{{Type: "bind", Source: lowers[0], Options: []string{"rbind", "ro"}}}, func() {}, nil
	}
	return []mount.Mount{{Type: "overlay", Source: "overlay", Options: []string{"lowerdir=" + lowerdir(lowers)}}}, func() {}, nil
}
