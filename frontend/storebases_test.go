package frontend

import (
	"context"
	"strings"
	"testing"

	"github.com/builder-dev/builder/llb"
	"github.com/builder-dev/builder/store"
	bkllb "github.com/moby/buildkit/client/llb"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestStoreBases(t *testing.T) {
	t.Parallel()
	d := ocispec.Descriptor{Digest: "sha256:" + sixtyFour}
	other := ocispec.Descriptor{Digest: digest.Digest("sha256:" + strings.Repeat("b", 64))}
	got := StoreBases([]store.Image{
		{Name: "docker.io/library/hello:latest", Target: d},
		{Name: "docker.io/library/hello:latest", Target: other},
		{Name: "docker.io/library/base:v1", Target: d},
		{Name: "quay.io/x/y:latest", Target: d},
		{Name: "", Target: d},
	})
	want := map[string]string{"hello": "docker.io/library/hello:latest", "base:v1": "docker.io/library/base:v1", "quay.io/x/y": "quay.io/x/y:latest"}
	if len(got) != len(want) {
		t.Fatalf("StoreBases = %v; want %v", got, want)
	}
	for k, v := range want {
		if got[k].Name != v || got[k].Target.Digest != d.Digest {
			t.Errorf("%s = %v; want %s@%s", k, got[k], v, d.Digest)
		}
	}
	if c := storeContext(d.Digest); c != "oci-layout://builder@sha256:"+sixtyFour {
		t.Errorf("storeContext = %q", c)
	}
}

func TestStageNames(t *testing.T) {
	t.Parallel()
	got := stageNames([]byte("FROM busybox AS Build\nRUN x\nFROM build\nFROM scratch AS out\n"))
	if len(got) != 2 || !got["build"] || !got["out"] {
		t.Errorf("stageNames = %v; want build, out", got)
	}
	if got := stageNames([]byte("FROM")); len(got) != 0 {
		t.Errorf("stageNames of a bad Dockerfile = %v; want none", got)
	}
}

// names solves nothing: it relabels def as a build's Solve would and
// returns the steps' names in the definition's order.
func relabelled(t *testing.T, sb *storeBases, st bkllb.State) []string {
	t.Helper()
	def, err := st.Marshal(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	pbdef := def.ToPB()
	if err := sb.relabel(pbdef); err != nil {
		t.Fatal(err)
	}
	ops, err := llb.Ops(pbdef)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, op := range ops {
		if op.OpMetadata != nil && op.OpMetadata.Description["llb.customname"] != "" {
			names = append(names, op.OpMetadata.Description["llb.customname"])
		}
	}
	return names
}

func TestRelabelStoreBases(t *testing.T) {
	t.Parallel()
	img := store.Image{Name: "docker.io/library/busybox:latest", Target: ocispec.Descriptor{Digest: "sha256:" + sixtyFour}}
	sb := withStoreBases(nil, map[string]store.Image{"busybox": img, "build": img}, []byte("FROM busybox AS build\n")).(*storeBases)
	if !sb.withheld["build"] || sb.bases["build"].Name != "" {
		t.Fatalf("a stored image named like a stage is offered: %+v", sb)
	}
	base := func() bkllb.State {
		return bkllb.OCILayout("docker.io/library/busybox@sha256:"+sixtyFour, bkllb.OCIStore("", StoreName),
			bkllb.WithCustomName("[context busybox] OCI load from client"))
	}
	from := "FROM docker.io/library/busybox:latest@sha256:" + sixtyFour
	run := func(st bkllb.State, name string) bkllb.State {
		return st.Run(bkllb.Shlex("true"), bkllb.WithCustomName(name)).Root()
	}

	// One stage: FROM is step 1 of 4, the rest move up one.
	st := run(base(), "[1/4] RUN a")
	st = st.File(bkllb.Mkdir("/w", 0755), bkllb.WithCustomName("[2/4] WORKDIR /w"))
	st = run(st, "[3/4] RUN b")
	want := []string{"[1/4] " + from, "[2/4] RUN a", "[3/4] WORKDIR /w", "[4/4] RUN b"}
	if got := relabelled(t, sb, st); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("one stage:\n got %q\nwant %q", got, want)
	}

	// Ten steps pad to two digits; a stage built on another stage is not
	// renumbered; a stored image only copied from is not numbered.
	st = run(base(), "[linux/amd64 stage-0  1/10] RUN a")
	st = run(st, "[linux/amd64 stage-0  9/10] RUN i")
	other := bkllb.Image("docker.io/library/debian:12", bkllb.WithCustomName("[linux/amd64 out 1/3] FROM docker.io/library/debian:12"))
	other = other.File(bkllb.Copy(st, "/a", "/a"), bkllb.WithCustomName("[linux/amd64 out 2/3] COPY --from=stage-0 /a /a"))
	other = other.File(bkllb.Copy(base(), "/bin", "/bin"), bkllb.WithCustomName("[linux/amd64 out 3/3] COPY --from=busybox /bin /bin"))
	want = []string{
		"[linux/amd64 out 1/3] FROM docker.io/library/debian:12",
		"[linux/amd64 stage-0  1/10] " + from,
		"[linux/amd64 stage-0  2/10] RUN a",
		"[linux/amd64 stage-0 10/10] RUN i",
		"[linux/amd64 out 2/3] COPY --from=stage-0 /a /a",
		"[linux/amd64 out 3/3] COPY --from=busybox /bin /bin",
	}
	if got := relabelled(t, sb, other); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("stages:\n got %q\nwant %q", got, want)
	}

	// FROM alone is the whole of a one-line Dockerfile; copied from only,
	// it has no number.
	if got := relabelled(t, sb, base()); len(got) != 1 || got[0] != "[1/1] "+from {
		t.Errorf("FROM alone: %q", got)
	}
	copied := bkllb.Scratch().File(bkllb.Copy(base(), "/bin", "/bin"), bkllb.WithCustomName("COPY --from=busybox /bin /bin"))
	if got := relabelled(t, sb, copied); len(got) != 2 || got[0] != from {
		t.Errorf("copied from: %q", got)
	}
}
