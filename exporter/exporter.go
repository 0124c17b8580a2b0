// Package exporter turns buildx-style -o/--output specs into BuildKit export
// entries: the local image store, docker-archive and OCI tarballs, a local
// directory, a plain tar, or a registry push.
package exporter

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/builder-dev/builder/internal/atomicfile"
	"github.com/builder-dev/builder/internal/kv"
	"github.com/builder-dev/builder/internal/userperm"
	cdatomic "github.com/containerd/containerd/v2/pkg/atomicfile"
	"github.com/containerd/platforms"
	"golang.org/x/term"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/images/archive"
	contentlocal "github.com/containerd/containerd/v2/plugins/content/local"
	"github.com/moby/buildkit/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Spec is one parsed -o value.
type Spec struct {
	Type  string
	Dest  string
	Attrs map[string]string
}

// Types lists the output types -o accepts, as buildx names them.
var Types = []string{"docker", "oci", "local", "tar", "image", "registry"}

// Parse reads one -o value: "type=docker,dest=f.tar", or a bare path, which
// buildx takes as type=local,dest=PATH ("-" as type=tar to stdout).
func Parse(s string) (Spec, error) {
	sp := Spec{Attrs: map[string]string{}}
	if !strings.Contains(s, "=") {
		if s == "-" {
			return Spec{Type: "tar", Dest: "-", Attrs: sp.Attrs}, nil
		}
		return Spec{Type: "local", Dest: s, Attrs: sp.Attrs}, nil
	}
	attrs, err := kv.Parse(s)
	if err != nil {
		return sp, fmt.Errorf("-o %q: %w", s, err)
	}
	sp.Type, sp.Dest, sp.Attrs = attrs["type"], attrs["dest"], attrs
	delete(attrs, "type")
	delete(attrs, "dest")
	if sp.Type == "" {
		return sp, fmt.Errorf("-o %q: type=<type> is required (one of %s)", s, strings.Join(Types, ", "))
	}
	known := false
	for _, t := range Types {
		known = known || t == sp.Type
	}
	if !known {
		return sp, fmt.Errorf("-o %q: unknown output type %q (want one of %s)", s, sp.Type, strings.Join(Types, ", "))
	}
	switch sp.Type {
	case "local", "tar":
		if sp.Dest == "" {
			return sp, fmt.Errorf("-o %q: type=%s needs dest=PATH (dest=- for stdout)", s, sp.Type)
		}
	case "oci":
		if sp.Dest == "" {
			return sp, fmt.Errorf("-o %q: type=oci needs dest=PATH (dest=- for stdout)", s)
		}
	case "image", "registry":
		if sp.Dest != "" {
			return sp, fmt.Errorf("-o %q: type=%s takes no dest (name=REF names the image)", s, sp.Type)
		}
	}
	return sp, nil
}

// Plan is the export entries for one build plus the files they write. Files
// are written beside their destination and renamed into place by Commit, so
// a failed or interrupted build leaves no half-written output.
type Plan struct {
	Entries []client.ExportEntry
	// Store is true when the image goes to the local image store.
	Store         bool
	stored        *rootRecorder
	files         []*outputFile
	multiPlatform bool
}

// outputFile is one destination file; f is its atomic writer once BuildKit
// asked for it. BuildKit closes what it writes to, so it gets a writer whose
// Close does nothing: the rename waits until the whole build succeeded.
type outputFile struct {
	dest string
	f    cdatomic.File
	// layout, when set, is an OCI layout BuildKit wrote instead, for
	// Commit to write as a docker-archive: BuildKit's docker exporter
	// refuses multi-platform images.
	layout string
	names  []string
}

// NewPlan builds the entries for specs. With no spec the image goes to the
// local store (st); push adds a registry push of tags, as --push does.
func NewPlan(specs []Spec, tags []string, push bool, st content.Store, stdout io.Writer, multiPlatform bool) (*Plan, error) {
	p := &Plan{multiPlatform: multiPlatform}
	names := strings.Join(tags, ",")
	if len(specs) == 0 {
		p.addStore(names, st, nil)
	}
	for _, sp := range specs {
		if err := p.add(sp, names, st, stdout); err != nil {
			return nil, err
		}
	}
	if push {
		if len(tags) == 0 {
			return nil, fmt.Errorf("--push: name the image to push with -t")
		}
		p.Entries = append(p.Entries, client.ExportEntry{Type: client.ExporterImage, Attrs: unstored(leaving(map[string]string{"name": names, "push": "true"}))})
		if len(specs) == 0 {
			return p, nil
		}
	}
	return p, nil
}

func (p *Plan) addStore(names string, st content.Store, extra map[string]string) {
	if p.Store {
		return
	}
	p.Store = true
	attrs := map[string]string{}
	for k, v := range extra {
		attrs[k] = v // rewrite-timestamp=true, annotations, oci-mediatypes
	}
	// The store keeps layers as built, uncompressed, as docker's own store
	// does: compressing (gzip at 17-26 MB/s here) is most of a build's
	// export, and `builder push` compresses what it sends, as docker push does.
	attrs["tar"], attrs["compression"] = "false", "uncompressed"
	delete(attrs, "force-compression")
	if names != "" {
		attrs["name"] = names
	}
	p.stored = &rootRecorder{Store: st}
	p.Entries = append(p.Entries, client.ExportEntry{Type: client.ExporterOCI, Attrs: attrs, OutputStore: p.stored})
}

// StoreTarget is the descriptor of the image the build wrote into the
// local store (Store), which the solve's response does not name when the
// build also exported another image (see rootRecorder).
func (p *Plan) StoreTarget(ctx context.Context) (ocispec.Descriptor, error) {
	if p.stored == nil {
		return ocispec.Descriptor{}, fmt.Errorf("the build wrote no image into the store")
	}
	return p.stored.target(ctx)
}

func (p *Plan) add(sp Spec, names string, st content.Store, stdout io.Writer) error {
	attrs := map[string]string{}
	for k, v := range sp.Attrs {
		attrs[k] = v
	}
	if _, ok := attrs["name"]; !ok && names != "" {
		attrs["name"] = names
	}
	switch sp.Type {
	case "docker":
		if sp.Dest == "" {
			// buildx loads type=docker into the docker engine; ours is the store.
			p.addStore(names, st, attrs)
			return nil
		}
		if p.multiPlatform && sp.Dest != "-" {
			return p.addDockerLayout(leaving(attrs), sp.Dest)
		}
		return p.addFile(client.ExporterDocker, leaving(attrs), sp.Dest, stdout)
	case "oci":
		attrs = leaving(attrs)
		if tar, err := strconv.ParseBool(attrs["tar"]); err == nil && !tar {
			if err := userperm.WriteDir(sp.Dest); err != nil {
				return fmt.Errorf("-o type=oci,tar=false: %w", err)
			}
			p.Entries = append(p.Entries, client.ExportEntry{Type: client.ExporterOCI, Attrs: attrs, OutputDir: sp.Dest})
			return nil
		}
		return p.addFile(client.ExporterOCI, attrs, sp.Dest, stdout)
	case "tar":
		return p.addFile(client.ExporterTar, attrs, sp.Dest, stdout)
	case "local":
		if err := userperm.WriteDir(sp.Dest); err != nil {
			return fmt.Errorf("-o type=local: %w", err)
		}
		p.Entries = append(p.Entries, client.ExportEntry{Type: client.ExporterLocal, Attrs: attrs, OutputDir: sp.Dest})
		return nil
	case "registry":
		attrs["push"] = "true"
		fallthrough
	default: // image
		if attrs["name"] == "" {
			return fmt.Errorf("-o type=%s: name the image with name=REF or -t", sp.Type)
		}
		p.Entries = append(p.Entries, client.ExportEntry{Type: client.ExporterImage, Attrs: unstored(leaving(attrs))})
		return nil
	}
}

// Published reports whether a build with specs (and --push) sends its image
// off this machine as an image: pushed, or written as an OCI archive. Such
// a build records provenance by default, as buildx's builders do. A
// type=docker archive is not counted: BuildKit writes no docker
// manifest.json for an attested image, and that archive is made for docker
// load and the tools that read docker's format.
func Published(specs []Spec, push bool) bool {
	for _, sp := range specs {
		switch sp.Type {
		case "image", "registry", "oci":
			return true
		}
	}
	return push
}

// leaving sets the compression of an image that leaves builder (an
// archive, a push): gzip for every layer, unless the user chose another. The
// build cache holds layers uncompressed, as the store does, and BuildKit
// would send those as they are beside gzip base layers; go-containerregistry
// (crane, trivy, ko) cannot read an image that mixes them.
func leaving(attrs map[string]string) map[string]string {
	if _, ok := attrs["compression"]; !ok {
		attrs["compression"] = "gzip"
	}
	if _, ok := attrs["force-compression"]; !ok {
		attrs["force-compression"] = "true"
	}
	return attrs
}

func (p *Plan) addFile(typ string, attrs map[string]string, dest string, stdout io.Writer) error {
	if dest == "-" {
		if f, ok := stdout.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			return fmt.Errorf("-o type=%s,dest=-: refusing to write a tarball to a terminal; redirect stdout", typ)
		}
		w := nopCloser{stdout}
		p.Entries = append(p.Entries, client.ExportEntry{Type: typ, Attrs: attrs,
			Output: func(map[string]string) (io.WriteCloser, error) { return w, nil }})
		return nil
	}
	if err := checkFileDest(typ, dest); err != nil {
		return err
	}
	out := &outputFile{dest: dest}
	p.files = append(p.files, out)
	p.Entries = append(p.Entries, client.ExportEntry{Type: typ, Attrs: attrs,
		Output: func(map[string]string) (io.WriteCloser, error) {
			f, err := atomicfile.Create(dest, 0644)
			if err != nil {
				return nil, fmt.Errorf("create output %s: %w", dest, err)
			}
			out.f = f
			return nopCloser{f}, nil
		}})
	return nil
}

// checkFileDest refuses a file destination of -o type=typ that is a
// directory, or that the user may not write.
func checkFileDest(typ, dest string) error {
	if fi, err := os.Stat(dest); err == nil && fi.IsDir() {
		return fmt.Errorf("-o type=%s,dest=%s: destination is a directory", typ, dest)
	}
	if err := userperm.WriteFile(dest); err != nil {
		return fmt.Errorf("-o type=%s: %w", typ, err)
	}
	return nil
}

// addDockerLayout exports a multi-platform image for a docker-archive at
// dest: BuildKit writes an OCI layout in a scratch directory, and Commit
// writes the archive from it as `save` writes one (every platform, and
// docker's manifest.json naming this machine's image).
func (p *Plan) addDockerLayout(attrs map[string]string, dest string) error {
	if err := checkFileDest("docker", dest); err != nil {
		return err
	}
	// Under TMPDIR, the process's scratch directory, swept if it is killed.
	dir, err := os.MkdirTemp("", "docker-archive-")
	if err != nil {
		return fmt.Errorf("-o type=docker,dest=%s: %w", dest, err)
	}
	out := &outputFile{dest: dest, layout: dir}
	if attrs["name"] != "" {
		out.names = strings.Split(attrs["name"], ",")
	}
	attrs["tar"] = "false"
	p.files = append(p.files, out)
	p.Entries = append(p.Entries, client.ExportEntry{Type: client.ExporterOCI, Attrs: attrs, OutputDir: dir})
	return nil
}

// Commit moves written files into place.
func (p *Plan) Commit(ctx context.Context) error {
	for _, o := range p.files {
		if o.layout != "" {
			err := writeDockerArchive(ctx, o.layout, o.names, o.dest)
			os.RemoveAll(o.layout)
			if err != nil {
				return fmt.Errorf("write output %s: %w", o.dest, err)
			}
			continue
		}
		if o.f == nil {
			continue
		}
		if err := o.f.Close(); err != nil {
			return fmt.Errorf("write output %s: %w", o.dest, err)
		}
	}
	return nil
}

// writeDockerArchive writes the images of an OCI layout as a docker-archive.
func writeDockerArchive(ctx context.Context, layout string, names []string, dest string) error {
	cs, err := contentlocal.NewStore(layout)
	if err != nil {
		return err
	}
	dt, err := os.ReadFile(filepath.Join(layout, "index.json"))
	if err != nil {
		return err
	}
	var idx ocispec.Index
	if err := json.Unmarshal(dt, &idx); err != nil {
		return fmt.Errorf("read %s: %w", layout, err)
	}
	opts := []archive.ExportOpt{archive.WithPlatform(platforms.Default()), archive.WithAllPlatforms()}
	for _, m := range idx.Manifests {
		m.Annotations = nil
		opts = append(opts, archive.WithManifest(m, names...))
	}
	return atomicfile.Write(dest, 0644, func(w io.Writer) error {
		return archive.Export(ctx, cs, w, opts...)
	})
}

// Abort drops files written for a build that failed.
func (p *Plan) Abort() {
	for _, o := range p.files {
		if o.layout != "" {
			os.RemoveAll(o.layout)
		}
		if o.f != nil {
			o.f.Cancel()
		}
	}
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// unstored keeps BuildKit's image exporter from naming the image in the
// solver's image store: builder names what it builds in its own store
// itself (addStore). Under `builder serve` that image store is builder's
// store, for what other clients build there (solver.ImageSink).
func unstored(attrs map[string]string) map[string]string {
	if _, ok := attrs["store"]; !ok {
		attrs["store"] = "false"
	}
	return attrs
}
