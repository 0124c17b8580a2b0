//go:build integration

package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestTagRemoveInspectHistory walks docker's image verbs on the store.
func TestTagRemoveInspectHistory(t *testing.T) {
	e := newEnv(t)
	dir := writeContext(t, map[string]string{
		"Dockerfile": "FROM busybox\nLABEL a=b\nRUN echo one > /one\nCMD [\"cat\", \"/one\"]\n",
	})
	e.must("build", "-t", "app:v1", dir)
	id := strings.TrimSpace(e.must("images", "-q", "app:v1").stdout)

	e.must("tag", "app:v1", "quay.io/team/app:v2")
	e.must("image", "tag", id, "app:latest")
	out := e.must("images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}").stdout
	for _, want := range []string{"app:v1 " + id, "quay.io/team/app:v2 " + id, "app:latest " + id} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("images lacks %q:\n%s", want, out)
		}
	}

	// inspect: docker's JSON fields.
	var ii []map[string]any
	if err := json.Unmarshal([]byte(e.must("inspect", "app:v1").stdout), &ii); err != nil || len(ii) != 1 {
		t.Fatalf("inspect JSON: %v", err)
	}
	for _, k := range []string{"Id", "RepoTags", "RepoDigests", "Parent", "Comment", "Created", "Author", "Config",
		"Architecture", "Os", "Size", "RootFS", "Metadata"} {
		if _, ok := ii[0][k]; !ok {
			t.Errorf("inspect lacks %s", k)
		}
	}
	if got := e.must("image", "inspect", "--format", "{{.Config.Labels.a}} {{len .RepoTags}} {{.Os}}", "app:v1").stdout; got != "b 3 linux\n" {
		t.Errorf("inspect --format = %q", got)
	}

	// history: newest first, the top row carries the image ID.
	h := e.must("history", "app:v1").stdout
	lines := strings.Split(strings.TrimSpace(h), "\n")
	if !regexp.MustCompile(`^IMAGE\s+CREATED\s+CREATED BY\s+SIZE\s+COMMENT$`).MatchString(lines[0]) ||
		!strings.HasPrefix(lines[1], id+" ") || !strings.Contains(lines[1], "CMD [\"cat\"") || len(lines) < 4 {
		t.Errorf("history:\n%s", h)
	}
	if q := e.must("history", "-q", "app:v1").stdout; !strings.HasPrefix(q, id+"\n<missing>\n") {
		t.Errorf("history -q: %q", q)
	}

	// rm by ID with several names needs -f.
	r := e.run("rmi", id)
	if r.code != 1 || !strings.Contains(r.stderr, "must be forced") {
		t.Errorf("rmi of a multiply-tagged ID: %s", r)
	}
	// rm by name untags only that name while others remain.
	if got := e.must("rmi", "app:latest").stdout; got != "Untagged: app:latest\n" {
		t.Errorf("rmi app:latest printed %q", got)
	}
	// An image sharing busybox's layer with this one.
	e.must("build", "-t", "other", writeContext(t, map[string]string{"Dockerfile": "FROM busybox\nRUN echo two > /two\n"}))
	got := e.must("image", "rm", "-f", id).stdout
	if !strings.Contains(got, "Untagged: app:v1\n") || !strings.Contains(got, "Untagged: quay.io/team/app:v2\n") ||
		!regexp.MustCompile(`Deleted: sha256:[0-9a-f]{64}\n`).MatchString(got) {
		t.Errorf("rmi -f printed %q", got)
	}
	// The shared busybox layer is kept: the other image still runs.
	if got := e.must("run", "--rm", "other", "cat", "/two").stdout; got != "two\n" {
		t.Errorf("other image after rmi: %q", got)
	}
	if out := e.must("images", "--format", "{{.Repository}}").stdout; out != "other\n" {
		t.Errorf("images after rmi: %q", out)
	}
	// Blobs only the removed image used are gone; the rest stay.
	blobs := countBlobs(t, e.root)
	e.must("rmi", "other")
	if after := countBlobs(t, e.root); after >= blobs || after != 0 {
		t.Errorf("blobs: %d before rmi other, %d after; want 0", blobs, after)
	}

	// Unknown images: docker's message and exit 1.
	// (`inspect` of any object says "No such object": TestInspectAnyObject.)
	for _, args := range [][]string{{"rmi", "nosuch"}, {"image", "inspect", "nosuch"}, {"history", "nosuch"}, {"tag", "nosuch", "x"}} {
		r := e.run(args...)
		if r.code != 1 || !strings.Contains(r.stderr, "Error: No such image: nosuch") {
			t.Errorf("%v: %s", args, r)
		}
	}
	if r := e.run("tag", "nosuch", "Bad::Name"); r.code == 0 {
		t.Errorf("tag to an invalid name succeeded")
	}
}

func countBlobs(t *testing.T, root string) int {
	matches, err := filepath.Glob(filepath.Join(root, "images", "blobs", "sha256", "*"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range matches {
		if fi, err := os.Stat(m); err == nil && fi.Mode().IsRegular() {
			n++
		}
	}
	return n
}

// TestImagesFilters: docker's --filter keys on the listing.
func TestImagesFilters(t *testing.T) {
	e := newEnv(t)
	dir := writeContext(t, map[string]string{"Dockerfile": "FROM scratch\nARG V\nLABEL v=$V\nCOPY f$V /f\n",
		// A layer of its own per build: BuildKit dates an image by its
		// newest layer-making step, so cached steps would share one time.
		"f1": "1", "f2": "2", "f3": "3", "fkeep": "k"})
	e.must("build", "--build-arg", "V=1", "-t", "one", dir)
	e.must("build", "--build-arg", "V=2", "-t", "quay.io/x/two:v2", dir)
	e.must("build", "--build-arg", "V=3", "-t", "one", dir) // the first one becomes <none>
	list := func(args ...string) string {
		return e.must(append([]string{"images", "--format", "{{.Repository}}:{{.Tag}}"}, args...)...).stdout
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--filter", "dangling=true"}, "<none>:<none>\n"},
		{[]string{"--filter", "dangling=false", "--filter", "label=v=2"}, "quay.io/x/two:v2\n"},
		{[]string{"-f", "reference=one"}, "one:latest\n"},
		{[]string{"--filter", "reference=quay.io/x/*"}, "quay.io/x/two:v2\n"},
		{[]string{"--filter", "since=quay.io/x/two:v2"}, "one:latest\n"},
		{[]string{"--filter", "before=quay.io/x/two:v2"}, "<none>:<none>\n"},
		// As docker's: each label= must hold (no image has v=1 and v=3).
		{[]string{"--filter", "label=v=1", "--filter", "label=v=3"}, ""},
		{[]string{"--filter", "reference=one", "--filter", "reference=quay.io/x/*"}, "one:latest\nquay.io/x/two:v2\n"},
	} {
		if got := list(tc.args...); got != tc.want {
			t.Errorf("images %v = %q; want %q", tc.args, got, tc.want)
		}
	}
	if r := e.run("images", "--filter", "colour=red"); r.code == 0 || !strings.Contains(r.stderr, "invalid filter 'colour'") {
		t.Errorf("unknown filter: %s", r)
	}
	// Every prune takes until= (builder prune's help gives until=24h) and
	// label filters, with one parser's rules.
	e.must("image", "prune", "-f", "--filter", "until=24h", "--filter", "label!=keep")
	e.must("container", "prune", "-f", "--filter", "until=24h")
	e.must("builder", "prune", "-f", "--filter", "until=24h")
	if got := list("--filter", "dangling=true"); got != "<none>:<none>\n" {
		t.Errorf("image prune --filter until=24h removed a new image: %q", got)
	}
	e.must("image", "prune", "-f", "--filter", "label=v=3")
	if got := list("--filter", "dangling=true"); got != "<none>:<none>\n" {
		t.Errorf("image prune --filter label=v=3 removed an image without it: %q", got)
	}
	e.must("image", "prune", "-f", "--filter", "label!=v=3")
	if got := list("--filter", "dangling=true"); got != "" {
		t.Errorf("image prune --filter label!=v=3 kept %q", got)
	}
}
