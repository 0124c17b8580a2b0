package dockerplugin

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"syscall"
	"testing"
)

func TestName(t *testing.T) {
	t.Parallel()
	// The docker CLI's rule for plugin names, and its own commands.
	if !regexp.MustCompile(`^[a-z][a-z0-9]*$`).MatchString(Name) {
		t.Fatalf("%q is not a valid plugin name", Name)
	}
	for _, taken := range []string{"builder", "build", "image", "buildx", "container", "system", "compose"} {
		if Name == taken {
			t.Fatalf("%q is taken", Name)
		}
	}
}

func TestParse(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		argv []string
		inv  Invocation
		args []string
	}{
		{[]string{"builder", "build", "."}, NotPlugin, []string{"builder", "build", "."}},
		{[]string{"/x/docker-bld", "docker-cli-plugin-metadata"}, MetadataRequest, nil},
		{[]string{"/x/docker-bld", "bld", "build", "-t", "h", "."}, Command, []string{"/x/docker-bld", "build", "-t", "h", "."}},
		{[]string{"/x/docker-bld", "bld"}, Command, []string{"/x/docker-bld"}},
		// docker builder prune, through the alias: the build cache.
		{[]string{"/x/docker-bld", "bld", "prune", "-f"}, Command, []string{"/x/docker-bld", "builder", "prune", "-f"}},
		// Renamed: the plugin's name is its file's.
		{[]string{"docker-mine", "mine", "images"}, Command, []string{"docker-mine", "images"}},
		// Run by hand, not by the CLI.
		{[]string{"docker-bld", "images"}, NotPlugin, []string{"docker-bld", "images"}},
		// The docker CLI's global flags come ahead of the plugin's name.
		{[]string{"/x/docker-bld", "--debug", "bld", "images"}, Command, []string{"/x/docker-bld", "images"}},
		{[]string{"/x/docker-bld", "-D", "--context", "default", "bld", "images"}, Command, []string{"/x/docker-bld", "images"}},
		{[]string{"/x/docker-bld", "-H", "unix:///run/d.sock", "-l", "debug", "bld", "images", "--debug"}, Command, []string{"/x/docker-bld", "images", "--debug"}},
		{[]string{"/x/docker-bld", "--config", "/c", "bld", "build", "--config", "x"}, Command, []string{"/x/docker-bld", "build", "--config", "x"}},
		{[]string{"/x/docker-bld", "--tls=false", "--tlsverify", "-c=ctx", "bld", "prune"}, Command, []string{"/x/docker-bld", "builder", "prune"}},
		{[]string{"/x/docker-bld", "--bogus", "bld", "images"}, NotPlugin, []string{"/x/docker-bld", "--bogus", "bld", "images"}},
	} {
		inv, args, _ := Parse(tc.argv)
		if inv != tc.inv || !reflect.DeepEqual(args, tc.args) {
			t.Errorf("Parse(%q) = %v %q, want %v %q", tc.argv, inv, args, tc.inv, tc.args)
		}
	}
}

func executable(t *testing.T) string {
	t.Helper()
	exe := filepath.Join(t.TempDir(), "builder")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return exe
}

func TestInstallDefaultKeepsConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	orig := `{"auths":{"r.example":{"auth":"dTpw"}},"aliases":{"other":"x"},"myOwnKey":[1,{"a":null}],"detachKeys":"ctrl-e,e"}`
	cfg := filepath.Join(dir, "config.json")
	if err := os.WriteFile(cfg, []byte(orig), 0o640); err != nil {
		t.Fatal(err)
	}
	exe := executable(t)
	path, err := Install(InstallOptions{Executable: exe, ConfigDir: dir, Default: true})
	if err != nil {
		t.Fatal(err)
	}
	if path != filepath.Join(dir, "cli-plugins", "docker-bld") {
		t.Fatalf("installed at %s", path)
	}
	if target, err := os.Readlink(path); err != nil || target != exe {
		t.Fatalf("plugin links to %q (%v), want %s", target, err, exe)
	}
	var got, want map[string]any
	dt, _ := os.ReadFile(cfg)
	if err := json.Unmarshal(dt, &got); err != nil {
		t.Fatal(err)
	}
	_ = json.Unmarshal([]byte(orig), &want)
	want["aliases"].(map[string]any)["builder"] = "bld"
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("config.json became\n%s", dt)
	}
	if fi, _ := os.Stat(cfg); fi.Mode().Perm() != 0o640 {
		t.Fatalf("config.json mode %v", fi.Mode())
	}
	// Again: the same result, nothing doubled.
	if _, err := Install(InstallOptions{Executable: exe, ConfigDir: dir, Default: true}); err != nil {
		t.Fatal(err)
	}
	if dt2, _ := os.ReadFile(cfg); !bytes.Equal(dt, dt2) {
		t.Fatalf("second install changed config.json:\n%s", dt2)
	}
}

func TestInstallWithoutConfig(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "new")
	if _, err := Install(InstallOptions{Executable: executable(t), ConfigDir: dir, Default: true}); err != nil {
		t.Fatal(err)
	}
	dt, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil || !bytes.Contains(dt, []byte(`"builder": "bld"`)) {
		t.Fatalf("config.json: %s %v", dt, err)
	}
	// Without --default, config.json is not touched (here: not made).
	dir2 := t.TempDir()
	if _, err := Install(InstallOptions{Executable: executable(t), ConfigDir: dir2}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir2, "config.json")); !os.IsNotExist(err) {
		t.Fatalf("config.json made without --default: %v", err)
	}
}

// A failing install changes nothing: no plugin, config.json as it was.
func TestInstallFailures(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		config string
		exe    func(t *testing.T) string
	}{
		"config not JSON":      {config: "{not json", exe: executable},
		"aliases not object":   {config: `{"aliases":[1]}`, exe: executable},
		"missing executable":   {config: `{}`, exe: func(t *testing.T) string { return filepath.Join(t.TempDir(), "nope") }},
		"executable directory": {config: `{}`, exe: func(t *testing.T) string { return t.TempDir() }},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := filepath.Join(dir, "config.json")
			if err := os.WriteFile(cfg, []byte(tc.config), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := Install(InstallOptions{Executable: tc.exe(t), ConfigDir: dir, Default: true}); err == nil {
				t.Fatal("install succeeded")
			}
			if dt, _ := os.ReadFile(cfg); string(dt) != tc.config {
				t.Fatalf("config.json changed: %s", dt)
			}
			if _, err := os.Lstat(filepath.Join(dir, "cli-plugins", BinaryName)); !os.IsNotExist(err) {
				t.Fatalf("plugin left behind: %v", err)
			}
			if ents, _ := os.ReadDir(filepath.Join(dir, "cli-plugins")); len(ents) != 0 {
				t.Fatalf("plugin directory holds %v", ents)
			}
		})
	}
}

// A config.json holding null is the docker CLI's {}.
func TestInstallNullConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.json")
	if err := os.WriteFile(cfg, []byte("null\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Install(InstallOptions{Executable: executable(t), ConfigDir: dir, Default: true}); err != nil {
		t.Fatal(err)
	}
	if dt, _ := os.ReadFile(cfg); !bytes.Contains(dt, []byte(`"builder": "bld"`)) {
		t.Fatalf("config.json: %s", dt)
	}
}

// Root installing into another account's DOCKER_CONFIG leaves config.json
// with its owner and mode, and what it makes (cli-plugins/, the link) the
// account's: the account can still read its own credentials.
func TestInstallKeepsOwner(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("SKIP: needs root to give files to another owner")
	}
	const uid, gid = 4321, 4322
	dir := filepath.Join(t.TempDir(), "docker")
	cfg := filepath.Join(dir, "config.json")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, []byte(`{"auths":{}}`), 0o640); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{dir, cfg} {
		if err := os.Chown(p, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Install(InstallOptions{Executable: executable(t), ConfigDir: dir, Default: true}); err != nil {
		t.Fatal(err)
	}
	for p, mode := range map[string]os.FileMode{cfg: 0o640, filepath.Join(dir, "cli-plugins"): os.ModeDir | 0o755, filepath.Join(dir, "cli-plugins", BinaryName): os.ModeSymlink | 0o777} {
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		if st.Uid != uid || st.Gid != gid || fi.Mode() != mode {
			t.Errorf("%s: %d:%d %v, want %d:%d %v", p, st.Uid, st.Gid, fi.Mode(), uid, gid, mode)
		}
	}
}

func TestParseGlobalFlags(t *testing.T) {
	t.Parallel()
	_, _, g := Parse([]string{"/x/docker-bld", "--config", "/c", "-D", "-H", "tcp://a:1", "--host=unix:///b", "--context", "ctx", "bld", "images", "--config", "mine"})
	want := Global{ConfigDir: "/c", Context: "ctx", Hosts: []string{"tcp://a:1", "unix:///b"}, Debug: true}
	if !reflect.DeepEqual(g, want) {
		t.Errorf("Parse's global flags: %+v, want %+v", g, want)
	}
}
