// Package llb holds builder's helpers over BuildKit's LLB: reading a
// marshaled build graph and printing it, as JSON lines in the shape of
// `buildctl debug dump-llb` (so the same jq filters work) or as Graphviz dot.
// BuildKit's own printer lives in buildctl's command package, unexported.
// BuildKit's own llb package, which builds graphs, is imported here as
// bkllb.
package llb

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/moby/buildkit/solver/pb"
	digest "github.com/opencontainers/go-digest"
)

// Op is one vertex of a definition: the operation, its digest (what its
// inputs name it by) and the metadata the frontend attached (the step's
// name as progress shows it, caching hints).
type Op struct {
	Op         *pb.Op
	Digest     digest.Digest
	OpMetadata *pb.OpMetadata
}

// Ops decodes def's vertices in the definition's order: inputs first, the
// terminal vertex (which only names the result) last.
func Ops(def *pb.Definition) ([]Op, error) {
	ops := make([]Op, 0, len(def.Def))
	for i, dt := range def.Def {
		var op pb.Op
		if err := op.UnmarshalVT(dt); err != nil {
			return nil, fmt.Errorf("decode LLB vertex %d: %w", i, err)
		}
		dgst := digest.FromBytes(dt)
		ops = append(ops, Op{Op: &op, Digest: dgst, OpMetadata: def.Metadata[string(dgst)]})
	}
	return ops, nil
}

// WriteJSON writes one JSON object per vertex.
func WriteJSON(w io.Writer, ops []Op) error {
	enc := json.NewEncoder(w)
	for _, op := range ops {
		if err := enc.Encode(op); err != nil {
			return fmt.Errorf("write LLB vertex %s: %w", op.Digest, err)
		}
	}
	return nil
}

// WriteDot writes the graph for Graphviz: sources as ellipses, RUN steps as
// boxes, file operations as notes, edges labelled with the mount they feed.
func WriteDot(w io.Writer, ops []Op) error {
	var b strings.Builder
	b.WriteString("digraph {\n")
	for _, op := range ops {
		name, shape := describe(op)
		fmt.Fprintf(&b, "  %q [label=%q shape=%q];\n", op.Digest, name, shape)
	}
	for _, op := range ops {
		for i, in := range op.Op.Inputs {
			label := ""
			if e, ok := op.Op.Op.(*pb.Op_Exec); ok {
				for _, m := range e.Exec.Mounts {
					if int(m.Input) == i && m.Dest != "/" {
						label = m.Dest
					}
				}
			}
			fmt.Fprintf(&b, "  %q -> %q [label=%q];\n", in.Digest, op.Digest, label)
		}
	}
	b.WriteString("}\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// describe names a vertex for a reader: the step's own name where the
// frontend gave one ("[2/3] RUN make"), else what the operation does.
func describe(op Op) (label, shape string) {
	switch o := op.Op.Op.(type) {
	case *pb.Op_Source:
		label, shape = o.Source.Identifier, "ellipse"
	case *pb.Op_Exec:
		label, shape = strings.Join(o.Exec.Meta.Args, " "), "box"
	case *pb.Op_Build:
		label, shape = "build", "box3d"
	case *pb.Op_Merge:
		label, shape = "merge", "invtriangle"
	case *pb.Op_Diff:
		label, shape = "diff", "doublecircle"
	case *pb.Op_File:
		var names []string
		for _, a := range o.File.Actions {
			switch act := a.Action.(type) {
			case *pb.FileAction_Copy:
				names = append(names, fmt.Sprintf("copy{src=%s, dest=%s}", act.Copy.Src, act.Copy.Dest))
			case *pb.FileAction_Mkfile:
				names = append(names, fmt.Sprintf("mkfile{path=%s}", act.Mkfile.Path))
			case *pb.FileAction_Mkdir:
				names = append(names, fmt.Sprintf("mkdir{path=%s}", act.Mkdir.Path))
			case *pb.FileAction_Rm:
				names = append(names, fmt.Sprintf("rm{path=%s}", act.Rm.Path))
			case *pb.FileAction_Symlink:
				names = append(names, fmt.Sprintf("symlink{oldpath=%s, newpath=%s}", act.Symlink.Oldpath, act.Symlink.Newpath))
			}
		}
		label, shape = strings.Join(names, ","), "note"
	default:
		// The terminal vertex: it only names the result.
		return "result", "plaintext"
	}
	if op.OpMetadata != nil && op.OpMetadata.Description["llb.customname"] != "" {
		label = op.OpMetadata.Description["llb.customname"]
	}
	return label, shape
}
