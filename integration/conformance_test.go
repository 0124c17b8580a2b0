//go:build integration

package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/builder-dev/builder/frontend"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// conformanceCase is one case.json of the shared corpus (see its README).
type conformanceCase struct {
	ID         string            `json:"id"`
	Tier       string            `json:"tier"`
	Bases      []string          `json:"bases"`
	Context    string            `json:"context"`
	Dockerfile string            `json:"dockerfile"`
	BuildArgs  map[string]string `json:"build_args"`
	Target     string            `json:"target"`
	Variants   []struct {
		Name           string            `json:"name"`
		DockerfileName string            `json:"dockerfile_name"`
		BuildArgs      map[string]string `json:"build_args"`
		Target         string            `json:"target"`
	} `json:"variants"`
	dir string
}

// conformanceBuild is one build of a case: the case itself or a variant.
type conformanceBuild struct {
	name, context, dockerfile, target string
	args                              map[string]string
}

func (c conformanceCase) builds() []conformanceBuild {
	df := filepath.Join(c.dir, "Dockerfile")
	if strings.HasPrefix(c.Dockerfile, "context/") {
		df = filepath.Join(c.dir, c.Dockerfile)
	}
	base := conformanceBuild{name: c.ID, context: filepath.Join(c.dir, c.Context), dockerfile: df, target: c.Target, args: c.BuildArgs}
	if len(c.Variants) == 0 {
		return []conformanceBuild{base}
	}
	var out []conformanceBuild
	for _, v := range c.Variants {
		b := base
		b.name = c.ID + "/" + v.Name
		if v.DockerfileName != "" {
			b.dockerfile = filepath.Join(filepath.Dir(df), v.DockerfileName)
		}
		if v.Target != "" {
			b.target = v.Target
		}
		b.args = map[string]string{}
		for k, val := range c.BuildArgs {
			b.args[k] = val
		}
		for k, val := range v.BuildArgs {
			b.args[k] = val
		}
		out = append(out, b)
	}
	return out
}

// conformanceDir is the corpus: $BUILDER_CONFORMANCE, which must hold it
// (CI sets it), else shared/conformance/cases beside the repository, as
// this project's machines lay it; a clone alone has none, and the test is
// skipped, visibly.
func conformanceDir(t *testing.T) string {
	t.Helper()
	d := os.Getenv("BUILDER_CONFORMANCE")
	named := d != ""
	if !named {
		d = filepath.Join(filepath.Dir(repoDir(t)), "shared", "conformance", "cases")
	}
	if _, err := os.Stat(filepath.Join(d, "cases.json")); err != nil {
		if named {
			t.Fatalf("conformance corpus: %v (BUILDER_CONFORMANCE names its cases/ directory)", err)
		}
		t.Skipf("SKIP: no conformance corpus beside the repository (%v); set BUILDER_CONFORMANCE to its cases/ directory", err)
	}
	return d
}

// TestConformance builds every core case of the shared corpus with builder
// (embedded solver) and with stock buildctl + buildkitd from the pinned
// BuildKit, on the same base images and contexts. They must agree: both
// fail, or both succeed with no difference imgdiff can see.
func TestConformance(t *testing.T) {
	dir := conformanceDir(t)
	imgdiff := filepath.Join(filepath.Dir(dir), "..", "tools", "imgdiff")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var cases []conformanceCase
	needDebian := false
	for _, ent := range entries {
		dt, err := os.ReadFile(filepath.Join(dir, ent.Name(), "case.json"))
		if err != nil {
			continue
		}
		var c conformanceCase
		if err := json.Unmarshal(dt, &c); err != nil {
			t.Fatalf("%s: %v", ent.Name(), err)
		}
		if c.Tier != "core" {
			continue
		}
		c.dir = filepath.Join(dir, ent.Name())
		for _, b := range c.Bases {
			needDebian = needDebian || strings.Contains(b, "debian") || strings.Contains(b, "ubuntu")
		}
		cases = append(cases, c)
	}
	sort.Slice(cases, func(i, j int) bool { return cases[i].ID < cases[j].ID })
	if needDebian {
		debianBase(t)
	}
	bk := startBuildkitd(t)
	e := newEnv(t)
	out := t.TempDir()
	var total, agreed, bothFailed int
	var disagreements, known []string
	for _, c := range cases {
		for i, b := range c.builds() {
			total++
			mine := filepath.Join(out, fmt.Sprintf("%s-%d-builder.tar", c.ID, i))
			theirs := filepath.Join(out, fmt.Sprintf("%s-%d-buildctl.tar", c.ID, i))
			r := e.run(builderArgs(b, mine)...)
			ref, refErr := runBuildctl(bk, b, theirs)
			switch {
			case r.code != 0 && refErr != nil:
				agreed++
				bothFailed++
			case r.code == 0 && refErr == nil:
				if why, ok := knownDivergence[b.name]; ok {
					if err := why.check(out, mine); err != nil {
						disagreements = append(disagreements, fmt.Sprintf("%s: %v", b.name, err))
						continue
					}
					known = append(known, b.name+": "+why.reason)
					continue
				}
				if diff, err := compareImages(imgdiff, mine, theirs); err != nil {
					disagreements = append(disagreements, fmt.Sprintf("%s: images differ:\n%s", b.name, diff))
					continue
				}
				agreed++
			case r.code != 0:
				disagreements = append(disagreements, fmt.Sprintf("%s: builder failed, buildctl succeeded:\n%s", b.name, r.stderr))
			default:
				disagreements = append(disagreements, fmt.Sprintf("%s: builder succeeded, buildctl failed:\n%s", b.name, ref))
			}
		}
	}
	fmt.Printf("conformance: %d of %d core builds agree with buildctl+buildkitd (%d cases; %d refused by both; %d known divergences)\n",
		agreed, total, len(cases), bothFailed, len(known))
	for _, k := range known {
		fmt.Println("  known divergence:", k)
	}
	for _, d := range disagreements {
		t.Error(d)
	}
}

// divergence is a difference from stock buildkitd that is the oracle's own
// doing; the case's own expectation is still checked on builder's image.
type divergence struct {
	reason string
	check  func(tmp, image string) error
}

var knownDivergence = map[string]divergence{
	"bk-empty-string-arg-in-env": {
		reason: "stock buildkitd always runs a trace recorder and injects OTEL_* and a per-build TRACEPARENT into RUN's " +
			"environment, so `env > env.txt` differs even between two buildkitd builds; checked: BAR= present, FOO= absent",
		check: func(tmp, image string) error {
			env, err := fileFromImage(tmp, image, "env.txt")
			if err != nil {
				return err
			}
			if !strings.Contains(env, "BAR=") || strings.Contains(env, "FOO=") {
				return fmt.Errorf("env.txt = %q; want BAR= and no FOO=", env)
			}
			return nil
		},
	},
}

// compareImages runs the shared imgdiff. imgdiff cannot read an image
// whose manifest has no layers ("layers": null, a FROM scratch with no
// files); for those, the same config fields are compared here.
func compareImages(imgdiff, a, b string) (string, error) {
	diff, err := exec.Command("python3", imgdiff, a, b).CombinedOutput()
	if err == nil || !strings.Contains(string(diff), "Traceback") {
		return string(diff), err
	}
	ca, na, errA := archiveConfig(a)
	cb, nb, errB := archiveConfig(b)
	if errA != nil || errB != nil || na != 0 || nb != 0 {
		return string(diff), err
	}
	var out []string
	for _, f := range []string{"User", "Env", "Entrypoint", "Cmd", "WorkingDir", "Labels", "ExposedPorts",
		"Volumes", "StopSignal", "Healthcheck", "Shell", "OnBuild"} {
		if string(ca[f]) != string(cb[f]) {
			out = append(out, fmt.Sprintf("~ config.%s: %s != %s", f, ca[f], cb[f]))
		}
	}
	if len(out) > 0 {
		return strings.Join(out, "\n"), fmt.Errorf("configs differ")
	}
	return "", nil
}

func builderArgs(b conformanceBuild, dest string) []string {
	// buildctl records no provenance unless asked; builder, like buildx,
	// does for an archive. The corpus compares Dockerfile semantics.
	args := []string{"build", "--progress", "quiet", "--provenance=false", "-f", b.dockerfile, "-o", "type=docker,dest=" + dest}
	if b.target != "" {
		args = append(args, "--target", b.target)
	}
	for k, v := range b.args {
		args = append(args, "--build-arg", k+"="+v)
	}
	return append(args, b.context)
}

// runBuildctl builds b with stock buildctl and the server-side
// dockerfile.v0 frontend. A `# syntax=` line that builder serves with its
// compiled-in frontend is served by buildkitd's built-in one too (cmdline
// set), since neither may pull the frontend image here.
func runBuildctl(bk *buildkitd, b conformanceBuild, dest string) (string, error) {
	bin := filepath.Join(filepath.Dir(s.runc), "buildctl")
	args := []string{"--addr", bk.addr, "build", "--progress", "quiet", "--frontend", "dockerfile.v0",
		"--local", "context=" + b.context, "--local", "dockerfile=" + filepath.Dir(b.dockerfile),
		"--opt", "filename=" + filepath.Base(b.dockerfile), "--output", "type=docker,dest=" + dest}
	if b.target != "" {
		args = append(args, "--opt", "target="+b.target)
	}
	for k, v := range b.args {
		args = append(args, "--opt", "build-arg:"+k+"="+v)
	}
	if dt, err := os.ReadFile(b.dockerfile); err == nil {
		if ref, _, _, ok := parser.DetectSyntax(dt); ok && frontend.EmbeddedServes(ref) {
			args = append(args, "--opt", "cmdline="+ref)
		}
	}
	out, err := exec.Command(bin, args...).CombinedOutput()
	return string(out), err
}
