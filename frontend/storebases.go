package frontend

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/builder-dev/builder/llb"
	"github.com/builder-dev/builder/store"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	gwclient "github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/solver/pb"
	"github.com/opencontainers/go-digest"
)

// StoreName is the session key under which the local store is offered to
// the solver as an OCI layout.
const StoreName = "builder"

// storeContext is the named-context value that reads image d from the
// local store.
func storeContext(d digest.Digest) string {
	return "oci-layout://" + StoreName + "@" + d.String()
}

// StoreBases maps each named image in the local store to the name of the
// build context it stands in for, so `FROM hello` (and `COPY --from=hello`)
// use the stored image with no registry round trip. BuildKit looks named
// contexts up by the familiar name with ":latest" trimmed, which is the
// name used here; the first image of a name wins, as in the index.
func StoreBases(images []store.Image) map[string]store.Image {
	out := map[string]store.Image{}
	for _, img := range images {
		if img.Name == "" {
			continue
		}
		name := store.FamiliarName(img.Name)
		if _, ok := out[name]; !ok {
			out[name] = img
		}
	}
	return out
}

// offerStoreBases adds to attrs a named context for each stored image
// (StoreBases) whose name --build-context does not take, and returns those
// images by context name.
func offerStoreBases(attrs map[string]string, images []store.Image) map[string]store.Image {
	bases := StoreBases(images)
	for name, img := range bases {
		k := "context:" + name
		if _, ok := attrs[k]; ok { // --build-context wins
			delete(bases, name)
			continue
		}
		attrs[k] = storeContext(img.Target.Digest)
	}
	return bases
}

// storeBases is the gateway client the Dockerfile frontend runs on when
// stored images are offered as named contexts. It undoes the two ways
// BuildKit treats a named context unlike the image docker would use:
//   - dockerfile2llb replaces a stage by the named context of its AS name,
//     so `FROM golang AS app` would build on a stored image app: a stored
//     image named like a stage is not offered;
//   - a named context's base gets no step number and its own label, so a
//     build's steps ran "[1/4]".."[3/4]" after "[context busybox] OCI load
//     from client": the steps are renumbered and the base is called
//     "[1/4] FROM REF@DIGEST", as docker shows a base it resolved.
//
// Only names the labels of steps; what is built, and so every cache key,
// is the same.
type storeBases struct {
	gwclient.Client
	bases    map[string]store.Image // by context name, as offered
	withheld map[string]bool        // context names that are stage names
}

// withStoreBases wraps c for a build offered bases (see StoreBases) from
// dockerfile.
func withStoreBases(c gwclient.Client, bases map[string]store.Image, dockerfile []byte) gwclient.Client {
	if len(bases) == 0 {
		return c
	}
	sb := &storeBases{Client: c, bases: map[string]store.Image{}, withheld: map[string]bool{}}
	stages := stageNames(dockerfile)
	for name, img := range bases {
		if stages[name] {
			sb.withheld[name] = true
		} else {
			sb.bases[name] = img
		}
	}
	return sb
}

// stageNames are the AS names of dockerfile's stages; none if it does not
// parse (the frontend says why).
func stageNames(dockerfile []byte) map[string]bool {
	res, err := parser.Parse(bytes.NewReader(dockerfile))
	if err != nil {
		return nil
	}
	stages, _, err := instructions.Parse(res.AST, nil)
	if err != nil {
		return nil
	}
	names := map[string]bool{}
	for _, s := range stages {
		if s.Name != "" {
			names[s.Name] = true
		}
	}
	return names
}

func (c *storeBases) BuildOpts() gwclient.BuildOpts {
	o := c.Client.BuildOpts()
	if len(c.withheld) == 0 {
		return o
	}
	opts := make(map[string]string, len(o.Opts))
	for k, v := range o.Opts {
		if name, ok := strings.CutPrefix(k, "context:"); !ok || !c.withheld[name] {
			opts[k] = v
		}
	}
	o.Opts = opts
	return o
}

// ResolveImageConfig names the lookup of a stored base as docker names a
// base's: "[internal] load metadata for docker.io/library/busybox:latest".
func (c *storeBases) ResolveImageConfig(ctx context.Context, ref string, opt sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	if rest, ok := strings.CutPrefix(opt.LogName, "[context "); ok {
		if name, _, ok := strings.Cut(rest, "] load metadata for "); ok {
			if img, ok := c.bases[name]; ok {
				opt.LogName = "[internal] load metadata for " + img.Name
			}
		}
	}
	return c.Client.ResolveImageConfig(ctx, ref, opt)
}

func (c *storeBases) Solve(ctx context.Context, req gwclient.SolveRequest) (*gwclient.Result, error) {
	if req.Definition != nil {
		if err := c.relabel(req.Definition); err != nil {
			return nil, err
		}
	}
	return c.Client.Solve(ctx, req)
}

// stepLabel is the "[PREFIX N/TOTAL] " dockerfile2llb puts before a step's
// name; PREFIX (the platform, the stage) ends in a space when present, and
// N is padded to TOTAL's width.
var stepLabel = regexp.MustCompile(`^\[([^\]]*?) *([0-9]+)/([0-9]+)\] `)

type labelled struct {
	md     *pb.OpMetadata
	stage  string // PREFIX and TOTAL: one stage of the build
	prefix string // "" or ending in a space
	n      int
	total  int
	rest   string
	on     digest.Digest // the vertex's first input: what it builds on
}

func formatLabel(prefix string, n, total int, rest string) string {
	return fmt.Sprintf("[%s%*d/%d] %s", prefix, len(strconv.Itoa(total)), n, total, rest)
}

func parseLabel(name string) (labelled, bool) {
	m := stepLabel.FindStringSubmatch(name)
	if m == nil {
		return labelled{}, false
	}
	n, err1 := strconv.Atoi(m[2])
	total, err2 := strconv.Atoi(m[3])
	if err1 != nil || err2 != nil {
		return labelled{}, false
	}
	prefix := m[1]
	if prefix != "" {
		prefix += " "
	}
	return labelled{stage: prefix + "\x00" + m[3], prefix: prefix, n: n, total: total, rest: name[len(m[0]):]}, true
}

// base is the stored image a vertex named name loads, as dockerui names
// a named context's OCI layout source.
func (c *storeBases) base(name string) (store.Image, bool) {
	rest, ok := strings.CutPrefix(name, "[context ")
	if !ok {
		return store.Image{}, false
	}
	ctxName, ok := strings.CutSuffix(rest, "] OCI load from client")
	if !ok {
		return store.Image{}, false
	}
	img, ok := c.bases[ctxName]
	return img, ok
}

// steps is what relabel reads of a definition.
type steps struct {
	from     map[digest.Digest]string // stored base vertex -> "FROM REF@DIGEST"
	numbered []labelled
	terminal digest.Digest // the vertex the definition returns
}

func (c *storeBases) scan(def *pb.Definition) (steps, error) {
	ops, err := llb.Ops(def)
	if err != nil {
		return steps{}, err
	}
	st := steps{from: map[digest.Digest]string{}}
	for _, op := range ops {
		if op.Op.Op == nil && len(op.Op.Inputs) == 1 {
			st.terminal = digest.Digest(op.Op.Inputs[0].Digest)
		}
		if op.OpMetadata == nil {
			continue
		}
		name := op.OpMetadata.Description["llb.customname"]
		if img, ok := c.base(name); ok {
			st.from[op.Digest] = "FROM " + img.Name + "@" + img.Target.Digest.String()
			continue
		}
		if l, ok := parseLabel(name); ok {
			l.md = op.OpMetadata
			if len(op.Op.Inputs) > 0 {
				l.on = digest.Digest(op.Op.Inputs[0].Digest)
			}
			st.numbered = append(st.numbered, l)
		}
	}
	return st, nil
}

// firstSteps finds the stages that stand on a stored base: those whose
// first numbered step builds on it (an ExecOp's root, a FileOp's or
// MergeOp's first input). It returns that step by stage.
func (st steps) firstSteps() map[string]labelled {
	first := map[string]labelled{}
	for _, l := range st.numbered {
		if _, ok := st.from[l.on]; ok && l.n == 1 {
			if _, seen := first[l.stage]; !seen {
				first[l.stage] = l
			}
		}
	}
	return first
}

// relabel renames, in def's metadata, the stored bases and the steps of
// the stages built on them.
func (c *storeBases) relabel(def *pb.Definition) error {
	// Most definitions a build solves (the Dockerfile's, the context's)
	// hold no stored base: their vertices are not decoded.
	found := false
	for _, md := range def.Metadata {
		if _, ok := c.base(md.GetDescription()["llb.customname"]); ok {
			found = true
			break
		}
	}
	if !found {
		return nil
	}
	st, err := c.scan(def)
	if err != nil || len(st.from) == 0 {
		return err
	}
	first := st.firstSteps()
	for _, l := range st.numbered {
		if _, ok := first[l.stage]; !ok {
			continue
		}
		l.md.Description["llb.customname"] = formatLabel(l.prefix, l.n+1, l.total, l.rest)
		if pg := l.md.ProgressGroup; pg != nil {
			if g, ok := parseLabel(pg.Name); ok && g.stage == l.stage {
				pg.Name = formatLabel(g.prefix, g.n+1, g.total, g.rest)
			}
		}
	}
	// A base that several stages share is one vertex: it takes the first
	// stage's label, as BuildKit shows one name for it.
	stages := make([]string, 0, len(first))
	for s := range first {
		stages = append(stages, s)
	}
	sort.Strings(stages)
	named := map[digest.Digest]string{}
	for _, s := range stages {
		if l := first[s]; named[l.on] == "" {
			named[l.on] = formatLabel(l.prefix, 1, l.total, st.from[l.on])
		}
	}
	for d, name := range st.from {
		switch {
		case named[d] != "":
			name = named[d]
		case d == st.terminal && len(st.numbered) == 0:
			// A base with no step on it is a one-line Dockerfile's whole
			// stage; otherwise an image only copied from, which docker
			// does not number either.
			name = formatLabel("", 1, 1, name)
		}
		def.Metadata[string(d)].Description["llb.customname"] = name
	}
	return nil
}
