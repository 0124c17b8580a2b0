//go:build integration

package integration

import (
	"encoding/json"
	"net"
	"strings"
	"testing"
)

// TestInspectAnyObject: `inspect` looks a name up among containers, then
// images, as docker's does (--type to choose), one JSON array over mixed
// arguments; a name found nowhere is an error after the rest is printed.
func TestInspectAnyObject(t *testing.T) {
	e := newEnv(t)
	e.must("pull", "busybox")
	e.must("run", "-d", "--name", "web", "busybox", "sleep", "300")
	t.Cleanup(func() { e.run("rm", "-f", "web") })
	ip := strings.TrimSpace(e.must("inspect", "-f", "{{.NetworkSettings.IPAddress}}", "web").stdout)
	if net.ParseIP(ip) == nil {
		t.Errorf("inspect -f {{.NetworkSettings.IPAddress}} web printed %q", ip)
	}
	// A container and an image of the same name: the container, unless
	// --type image.
	e.must("tag", "busybox", "web")
	kind := func(args ...string) []string {
		t.Helper()
		var objs []map[string]any
		out := e.must(append([]string{"inspect"}, args...)...).stdout
		if err := json.Unmarshal([]byte(out), &objs); err != nil {
			t.Fatalf("inspect %v: %v\n%s", args, err, out)
		}
		var kinds []string
		for _, o := range objs {
			if _, ok := o["State"]; ok {
				kinds = append(kinds, "container")
			} else if _, ok := o["RepoTags"]; ok {
				kinds = append(kinds, "image")
			}
		}
		return kinds
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"web"}, "container"},
		{[]string{"--type", "image", "web"}, "image"},
		{[]string{"--type", "container", "web"}, "container"},
		{[]string{"busybox", "web"}, "image container"},
	} {
		if got := strings.Join(kind(tc.args...), " "); got != tc.want {
			t.Errorf("inspect %v: %s, want %s", tc.args, got, tc.want)
		}
	}
	if got := strings.Join(kind2(t, e, "image", "inspect", "web"), ""); got != "RepoTags" {
		t.Errorf("image inspect web: %s", got)
	}
	// Names found nowhere.
	for _, tc := range []struct {
		args        []string
		stdout, err string
	}{
		{[]string{"nosuch"}, "[]\n", "Error: No such object: nosuch"},
		{[]string{"--type", "container", "busybox"}, "[]\n", "Error: No such container: busybox"},
		{[]string{"--type", "image", "nosuch"}, "[]\n", "Error: No such image: nosuch"},
		{[]string{"--type", "volume", "web"}, "", `"volume" is not a valid value for --type`},
	} {
		r := e.run(append([]string{"inspect"}, tc.args...)...)
		if r.code != 1 || r.stdout != tc.stdout || strings.TrimSpace(r.stderr) != tc.err && !strings.Contains(r.stderr, tc.err) {
			t.Errorf("inspect %v: want exit 1, %q and %q: %s", tc.args, tc.stdout, tc.err, r)
		}
	}
	// One missing among found ones: the found are printed, then the error.
	r := e.run("inspect", "-f", "{{.Name}}", "web", "nosuch")
	if r.code != 1 || r.stdout != "/web\n" || strings.TrimSpace(r.stderr) != "Error: No such object: nosuch" {
		t.Errorf("inspect web nosuch: %s", r)
	}
}

// kind2 runs a typed inspect and returns which of State and RepoTags its
// one object has.
func kind2(t *testing.T, e *env, args ...string) []string {
	t.Helper()
	var objs []map[string]any
	out := e.must(args...).stdout
	if err := json.Unmarshal([]byte(out), &objs); err != nil || len(objs) != 1 {
		t.Fatalf("%v: %v\n%s", args, err, out)
	}
	var keys []string
	for _, k := range []string{"State", "RepoTags"} {
		if _, ok := objs[0][k]; ok {
			keys = append(keys, k)
		}
	}
	return keys
}
