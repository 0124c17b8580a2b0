package llb

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	bkllb "github.com/moby/buildkit/client/llb"
)

func TestDump(t *testing.T) {
	t.Parallel()
	st := bkllb.Image("docker.io/library/busybox:latest").
		Run(bkllb.Shlex("sh -c 'echo hi > /hi'"), bkllb.WithCustomName("[1/2] RUN echo hi")).Root().
		File(bkllb.Copy(bkllb.Local("context"), "/a", "/a"))
	def, err := st.Marshal(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ops, err := Ops(def.ToPB())
	if err != nil {
		t.Fatal(err)
	}
	// image, local, exec, file, and the terminal vertex.
	if len(ops) != 5 {
		t.Fatalf("%d vertices, want 5", len(ops))
	}

	var js bytes.Buffer
	if err := WriteJSON(&js, ops); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(js.String()), "\n")
	if len(lines) != 5 {
		t.Fatalf("%d JSON lines, want 5:\n%s", len(lines), js.String())
	}
	var sources []string
	for _, l := range lines {
		var v struct {
			Op struct {
				Op struct{ Source *struct{ Identifier string } }
			}
			Digest string
		}
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		if !strings.HasPrefix(v.Digest, "sha256:") {
			t.Errorf("line without a digest: %s", l)
		}
		if v.Op.Op.Source != nil {
			sources = append(sources, v.Op.Op.Source.Identifier)
		}
	}
	if strings.Join(sources, " ") != "docker-image://docker.io/library/busybox:latest local://context" {
		t.Errorf("sources %v", sources)
	}

	var dot bytes.Buffer
	if err := WriteDot(&dot, ops); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"digraph {", `label="[1/2] RUN echo hi" shape="box"`, `label="copy{src=/a, dest=/a}" shape="note"`, `label="local://context" shape="ellipse"`} {
		if !strings.Contains(dot.String(), want) {
			t.Errorf("dot output lacks %s:\n%s", want, dot.String())
		}
	}
	if n := strings.Count(dot.String(), " -> "); n != 4 {
		t.Errorf("%d edges, want 4 (image->exec, exec->file, local->file, file->result):\n%s", n, dot.String())
	}
}
