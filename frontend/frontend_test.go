package frontend

import (
	"testing"
)

func TestEmbeddedServes(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]bool{
		"docker/dockerfile:1":                     true,
		"docker/dockerfile:1.4":                   true,
		"docker.io/docker/dockerfile:1.28":        true,
		"docker/dockerfile:1.28.1":                true,
		"docker/dockerfile:1.29":                  false,
		"docker/dockerfile:2":                     false,
		"docker/dockerfile:1-labs":                false,
		"docker/dockerfile:1.7-labs":              false,
		"docker/dockerfile":                       false,
		"docker/dockerfile:1@sha256:" + sixtyFour: false,
		"example.com/docker/dockerfile:1":         false,
		"tonistiigi/dockerfile:1":                 false,
	} {
		if got := EmbeddedServes(in); got != want {
			t.Errorf("EmbeddedServes(%q) = %v; want %v", in, got, want)
		}
	}
}

const sixtyFour = "0000000000000000000000000000000000000000000000000000000000000000"

func TestAttrs(t *testing.T) {
	t.Parallel()
	a, err := Attrs([]byte("# syntax=docker/dockerfile:1\nFROM scratch\n"), AttrOptions{Filename: "Dockerfile", Pull: true, NoCache: true,
		BuildArgs: map[string]string{"A": "1"}, Labels: map[string]string{"l": "v"}, Network: "none"})
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"filename": "Dockerfile", "image-resolve-mode": "pull", "no-cache": "",
		"build-arg:A": "1", "label:l": "v", "force-network-mode": "none", "cmdline": "docker/dockerfile:1"} {
		if got, ok := a[k]; !ok || got != v {
			t.Errorf("attr %s = %q, %v; want %q", k, got, ok, v)
		}
	}
	a, _ = Attrs([]byte("# syntax=example.com/my/frontend\nFROM scratch\n"), AttrOptions{Filename: "Dockerfile"})
	if _, ok := a["cmdline"]; ok {
		t.Error("a foreign syntax image must be forwarded, not served by the embedded frontend")
	}
	if _, err := Attrs(nil, AttrOptions{Network: "bridge0"}); err == nil {
		t.Error("unknown --network accepted")
	}
	ps, err := ParsePlatforms("linux/amd64, linux/arm64/v8,linux/amd64")
	if a, _ := Attrs(nil, AttrOptions{Platforms: ps}); err != nil || a["platform"] != "linux/amd64,linux/arm64" {
		t.Errorf("two platforms: %q, %v", a["platform"], err)
	}
	if _, err := ParsePlatforms("linux/amd64,"); err == nil {
		t.Error("an empty platform accepted")
	}
}

func TestStepAttrs(t *testing.T) {
	t.Parallel()
	a, err := Attrs([]byte("FROM scratch\n"), AttrOptions{Filename: "Dockerfile", NoCacheFilter: []string{"a", "b"},
		Steps: StepOptions{AddHosts: []string{"db:10.0.0.2", "v6=::1"}, ShmSize: "64m", Ulimits: []string{"nofile=1024:2048"}, CgroupParent: "/x"}})
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"add-hosts": "db=10.0.0.2,v6=::1", "shm-size": "67108864",
		"ulimit": "nofile=1024:2048", "cgroup-parent": "/x", "no-cache": "a,b"} {
		if a[k] != v {
			t.Errorf("attr %s = %q, want %q", k, a[k], v)
		}
	}
	if a, _ := Attrs([]byte("FROM scratch\n"), AttrOptions{NoCache: true, NoCacheFilter: []string{"a"}}); a["no-cache"] != "" {
		t.Errorf("--no-cache with a filter: %q, want every stage", a["no-cache"])
	}
	for _, bad := range []StepOptions{
		{AddHosts: []string{"db"}}, {AddHosts: []string{"db:nope"}}, {AddHosts: []string{":1.2.3.4"}},
		{AddHosts: []string{"db:host-gateway"}}, {ShmSize: "lots"}, {ShmSize: "0"}, {Ulimits: []string{"nofile"}},
	} {
		if _, err := Attrs([]byte("FROM scratch\n"), AttrOptions{Steps: bad}); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}
