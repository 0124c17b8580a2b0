//go:build integration

package integration

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

// TestDumpLLB: --dump-llb prints the graph the Dockerfile becomes and runs
// none of it: a RUN that would fail is only printed, the store is untouched.
func TestDumpLLB(t *testing.T) {
	e := newEnv(t)
	dir := writeContext(t, map[string]string{
		"Dockerfile": "FROM busybox\nRUN echo never ran && false\nCOPY a /a\n",
		"a":          "a\n",
	})
	before := e.storeState()
	r := e.must("build", "--dump-llb", "json", "-t", "x", dir)
	var sources, steps []string
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var v struct {
			Op struct {
				Op struct {
					Source *struct{ Identifier string }
					Exec   *struct{ Meta struct{ Args []string } }
				}
			}
			OpMetadata *struct{ Description map[string]string }
		}
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Fatalf("stdout line %q: %v", line, err)
		}
		if v.Op.Op.Source != nil {
			sources = append(sources, v.Op.Op.Source.Identifier)
		}
		if v.OpMetadata != nil && regexp.MustCompile(`^\[\d+/\d+\] `).MatchString(v.OpMetadata.Description["llb.customname"]) {
			steps = append(steps, v.OpMetadata.Description["llb.customname"])
		}
	}
	// The base is pinned to the digest it resolved to.
	if len(sources) != 2 || !strings.HasPrefix(sources[0], "docker-image://docker.io/library/busybox:latest@sha256:") || sources[1] != "local://context" {
		t.Errorf("sources %q", sources)
	}
	steps1 := `^\[1/3\] FROM docker\.io/library/busybox:latest@sha256:[0-9a-f]{64}\|\[2/3\] RUN echo never ran && false\|\[3/3\] COPY a /a$`
	if !regexp.MustCompile(steps1).MatchString(strings.Join(steps, "|")) {
		t.Errorf("steps %q", strings.Join(steps, "|"))
	}
	if strings.Contains(r.stderr, "never ran") {
		t.Errorf("the RUN step ran:\n%s", r.stderr)
	}
	if e.storeState() != before {
		t.Error("--dump-llb changed the image store")
	}

	if dot := e.must("build", "--dump-llb", "dot", dir).stdout; !strings.HasPrefix(dot, "digraph {\n") || !strings.Contains(dot, `[label="[2/3] RUN echo never ran && false" shape="box"]`) {
		t.Errorf("dot output:\n%s", dot)
	}
	if r := e.run("build", "--dump-llb", "xml", dir); r.code == 0 || !strings.Contains(r.stderr, `--dump-llb "xml"`) {
		t.Errorf("--dump-llb xml: %s", r)
	}
	if r := e.run("build", "--dump-llb", "json", "-o", "type=local,dest="+t.TempDir(), dir); r.code == 0 || !strings.Contains(r.stderr, "--dump-llb builds nothing") {
		t.Errorf("--dump-llb with -o: %s", r)
	}
}
