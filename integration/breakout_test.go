//go:build integration

package integration

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// breakoutCases are containerd's archive breakout cases (pkg/archive
// tar_test.go TestBreakouts), with the directory they aim at moved from the
// layer's own /etc to a canary directory on the host: a layer that escaped
// would write, link, chmod or white out there. Each case is a layer.
func breakoutCases(canary string) map[string][]entry {
	c := strings.TrimPrefix(canary, "/")
	up := strings.Repeat("../", 12) + c // relative, far above any root
	return map[string][]entry{
		"SymlinkAbsolute": {
			{name: "localetc", typ: '2', link: canary},
			{name: "localetc/unbroken", data: []byte("pwned")},
		},
		"SymlinkUpAndOut": {
			{name: "dummy/", typ: '5', mode: 0755},
			{name: "localetc", typ: '2', link: "/dummy/" + up},
			{name: "localetc/unbroken", data: []byte("pwned")},
		},
		"SymlinkMultipleAbsolute": {
			{name: "dummy/", typ: '5', mode: 0755},
			{name: "dummy/etc", typ: '2', link: canary},
			{name: "localetc", typ: '2', link: "/dummy/etc"},
			{name: "dummy/etc/unbroken", data: []byte("pwned")},
		},
		"SymlinkMultipleRelative": {
			{name: "dummy/", typ: '5', mode: 0755},
			{name: "dummy/etc", typ: '2', link: canary},
			{name: "localetc", typ: '2', link: "./dummy/etc"},
			{name: "localetc/unbroken", data: []byte("pwned")},
		},
		"SymlinkEmptyFile": {
			{name: "localetc", typ: '2', link: canary},
			{name: "localetc/file", data: []byte{}},
		},
		"HardlinkRelative": {
			{name: "breakouts/", typ: '5', mode: 0755},
			{name: "breakouts/d1", typ: '2', link: up},
			{name: "breakouts/mypasswd", typ: '1', link: "breakouts/d1/file"},
		},
		"HardlinkAbsolute": {
			{name: "localetc", typ: '2', link: canary},
			{name: "localpasswd", typ: '1', link: "localetc/file"},
		},
		"HardlinkDirectRelative": {
			{name: "localpasswd", typ: '1', link: up + "/file"},
		},
		"HardlinkDirectAbsolute": {
			{name: "localpasswd", typ: '1', link: canary + "/file"},
		},
		"HardlinkSymlinkChmod": {
			{name: "sketch", typ: '2', link: canary + "/perm400"},
			{name: "sketchylink", typ: '1', link: "sketch", mode: 0777},
		},
		"SymlinkParentDirectory": {
			{name: "..", typ: '2', link: canary},
			{name: "localpasswd", typ: '1', link: canary + "/file"},
		},
		"SymlinkOverridePath": {
			{name: "foo/", typ: '5', mode: 0755},
			{name: "foo/" + c + "/", typ: '5', mode: 0755},
			{name: "foo", typ: '2', link: "/"},
			{name: "foo/" + c + "/written", data: []byte("pwned")},
		},
		"DotDotName": {
			{name: up + "/dotdot", data: []byte("pwned")},
		},
		"AbsoluteName": {
			{name: canary + "/absolute", data: []byte("pwned")},
		},
		"WhiteoutThroughSymlink": {
			{name: "localetc", typ: '2', link: canary},
			{name: "localetc/.wh.file", data: []byte{}},
		},
		"WhiteoutUpAndOut": {
			{name: up + "/.wh.file", data: []byte{}},
		},
		"OpaqueThroughSymlink": {
			{name: "localetc", typ: '2', link: canary},
			{name: "localetc/.wh..wh..opq", data: []byte{}},
		},
		"WhiteoutRootParent": {
			{name: ".wh...", data: []byte{}},
		},
	}
}

// canaryDir makes a host directory outside every root, with a file, a
// 0400 file and an empty directory in it, and returns it with a
// description of its state that changes if anything is written, linked,
// chmodded or removed there.
func canaryDir(t *testing.T, name string) (string, func() string) {
	t.Helper()
	dir := filepath.Join("/tmp", fmt.Sprintf("%s-%d", name, time.Now().UnixNano()))
	os.MkdirAll(filepath.Join(dir, "b"), 0755)
	os.WriteFile(filepath.Join(dir, "file"), []byte("keep"), 0644)
	os.WriteFile(filepath.Join(dir, "perm400"), []byte("keep"), 0400)
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir, func() string {
		var b strings.Builder
		filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			var st syscall.Stat_t
			syscall.Lstat(p, &st)
			dt, _ := os.ReadFile(p)
			fmt.Fprintf(&b, "%s mode=%o links=%d %q\n", p, st.Mode, st.Nlink, dt)
			return nil
		})
		return b.String()
	}
}

// TestBreakoutCorpus gives every breakout case as a layer to each path
// that extracts one: load (a layer on busybox), import (a root file
// system), unpacking for run, a build's ADD of a local tar, and diff and
// commit back of the container. Each is refused or contained: the canary
// directory outside stays as it was.
func TestBreakoutCorpus(t *testing.T) {
	e := newEnv(t)
	e.must("pull", "-q", "busybox")
	base := filepath.Join(t.TempDir(), "bb.tar")
	e.must("save", "-o", base, "busybox")
	canary, state := canaryDir(t, "breakout-canary")
	before := state()
	// The check sees an escape: GNU tar told to keep absolute names
	// (-P) writes the AbsoluteName case into the canary.
	naive := filepath.Join(t.TempDir(), "naive.tar")
	os.WriteFile(naive, writeTar(breakoutCases(canary)["AbsoluteName"]), 0644)
	if out, err := exec.Command("tar", "-xPf", naive, "-C", t.TempDir()).CombinedOutput(); err != nil {
		t.Fatalf("tar -xP: %v\n%s", err, out)
	}
	if state() == before {
		t.Fatal("a naive extraction left the canary as it was: the check cannot see an escape")
	}
	os.Remove(filepath.Join(canary, "absolute"))
	if state() != before {
		t.Fatal("the canary could not be restored")
	}
	paths := 0
	took := map[string]int{} // how many cases each path accepted
	for name, layer := range breakoutCases(canary) {
		t.Run(name, func(t *testing.T) {
			ref := "bo-" + strings.ToLower(name)
			layerTar := filepath.Join(t.TempDir(), "layer.tar")
			os.WriteFile(layerTar, writeTar(layer), 0644)
			check := func(path string) {
				t.Helper()
				paths++
				if got := state(); got != before {
					t.Fatalf("%s of layer %s changed the host canary:\nbefore:\n%s\nafter:\n%s", path, name, before, got)
				}
			}
			// load: the layer on top of busybox, then run, diff and commit.
			archive := filepath.Join(t.TempDir(), "bo.tar")
			os.WriteFile(archive, withLayer(t, base, layerTar, ref), 0644)
			loaded := e.run("load", "-q", "-i", archive).code == 0
			check("load")
			if loaded {
				took["load"]++
				ctr := ref + "-c"
				if e.run("run", "--name", ctr, ref, "sh", "-c", "ls -la / /localetc/ >/dev/null 2>&1; echo x > /after").code == 0 {
					took["run"]++
				}
				check("run (unpack)")
				if e.run("diff", ctr).code == 0 {
					took["diff"]++
				}
				check("diff")
				if e.run("commit", ctr, ref+"-committed").code == 0 {
					took["commit"]++
				}
				check("commit")
				e.run("rm", "-f", ctr)
			}
			// import: the layer as a whole root file system; run unpacks it
			// (and finds no command).
			if e.run("import", layerTar, ref+"-imported").code == 0 {
				took["import"]++
				check("import")
				e.run("run", "--rm", ref+"-imported", "/nothing")
				check("run of the imported image")
			}
			check("import")
			// A build's ADD of a local tar extracts it.
			dir := writeContext(t, map[string]string{"Dockerfile": "FROM busybox\nADD layer.tar /\nRUN ls / >/dev/null\n"})
			dt, _ := os.ReadFile(layerTar)
			os.WriteFile(filepath.Join(dir, "layer.tar"), dt, 0644)
			if e.run("build", "-q", "-t", ref+"-added", dir).code == 0 {
				took["build ADD"]++
			}
			check("build ADD")
		})
	}
	fmt.Printf("breakout corpus: %d cases, %d extractions checked; accepted (contained) by: %v\n", len(breakoutCases(canary)), paths, took)
}

// withLayer returns base (a docker-archive of one image) with layer added
// on top as a new image named ref.
func withLayer(t *testing.T, base, layer, ref string) []byte {
	t.Helper()
	in := readTar(t, base)
	var manifest []struct {
		Config string
		Layers []string
	}
	if err := json.Unmarshal(in.m["manifest.json"].data, &manifest); err != nil || len(manifest) != 1 {
		t.Fatalf("manifest.json of %s: %v", base, err)
	}
	var config map[string]any
	if err := json.Unmarshal(in.m[manifest[0].Config].data, &config); err != nil {
		t.Fatal(err)
	}
	dt, _ := os.ReadFile(layer)
	diffID := fmt.Sprintf("sha256:%x", sha256.Sum256(dt))
	rootfs := config["rootfs"].(map[string]any)
	rootfs["diff_ids"] = append(rootfs["diff_ids"].([]any), diffID)
	if h, ok := config["history"].([]any); ok {
		config["history"] = append(h, map[string]any{"created_by": "breakout case"})
	}
	cfg, _ := json.Marshal(config)
	cfgName := fmt.Sprintf("%x.json", sha256.Sum256(cfg))
	layerName := strings.TrimPrefix(diffID, "sha256:") + "/layer.tar"
	out := []entry{{name: cfgName, data: cfg}, {name: layerName, data: dt}}
	for _, l := range manifest[0].Layers {
		out = append(out, entry{name: l, data: in.m[l].data})
	}
	m, _ := json.Marshal([]map[string]any{{"Config": cfgName, "RepoTags": []string{ref + ":latest"},
		"Layers": append(append([]string{}, manifest[0].Layers...), layerName)}})
	return writeTar(append(out, entry{name: "manifest.json", data: m}))
}
