//go:build integration

package integration

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// account is an unprivileged login the test creates, with the subordinate
// ID ranges useradd gives a new account, and removes at the end.
type account struct {
	name     string
	uid, gid int
	home     string
}

func newAccount(t *testing.T, name string) *account {
	t.Helper()
	removeAccount(name) // left by an interrupted run
	if out, err := exec.Command("useradd", "--create-home", "--shell", "/bin/sh", name).CombinedOutput(); err != nil {
		t.Fatalf("useradd %s: %v\n%s", name, err, out)
	}
	t.Cleanup(func() { removeAccount(name) })
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	a := &account{name: name, home: u.HomeDir}
	a.uid, _ = strconv.Atoi(u.Uid)
	a.gid, _ = strconv.Atoi(u.Gid)
	// Debian's useradd allocates ranges (SUB_UID_COUNT in login.defs); a
	// machine configured otherwise gets one here.
	if dt, _ := os.ReadFile("/etc/subuid"); !strings.Contains("\n"+string(dt), "\n"+name+":") {
		t.Fatalf("useradd gave %s no range in /etc/subuid", name)
	}
	return a
}

func removeAccount(name string) {
	if _, err := user.Lookup(name); err != nil {
		return
	}
	exec.Command("pkill", "-KILL", "-u", name).Run()
	exec.Command("userdel", "--remove", "--force", name).Run()
}

// env is builder as the account runs it: its own default root
// (~/.local/share/builder, no --root), with the suite's registry config,
// and a login's environment, not root's.
func (a *account) env(t *testing.T) *env {
	t.Helper()
	root := filepath.Join(a.home, ".local", "share", "builder")
	if err := os.MkdirAll(root, 0700); err != nil {
		t.Fatal(err)
	}
	cfg := mirrorConfig(s.registry)
	if err := os.WriteFile(filepath.Join(root, "config.toml"), []byte(cfg), 0644); err != nil {
		t.Fatal(err)
	}
	a.chown(t, filepath.Join(a.home, ".local"))
	return &env{t: t, root: root, as: a}
}

func (a *account) chown(t *testing.T, path string) {
	t.Helper()
	if out, err := exec.Command("chown", "-R", fmt.Sprintf("%d:%d", a.uid, a.gid), path).CombinedOutput(); err != nil {
		t.Fatalf("chown: %v\n%s", err, out)
	}
}

// own copies dir into the account's home, as the account's, and returns
// the copy: test directories are root's and closed to others.
func (a *account) own(t *testing.T, dir string) string {
	t.Helper()
	dst, err := os.MkdirTemp(a.home, "ctx-")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("cp", "-a", dir+"/.", dst).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v\n%s", err, out)
	}
	a.chown(t, dst)
	return dst
}

// login makes cmd run as the account, with a login's environment.
func (a *account) login(cmd *exec.Cmd) *exec.Cmd {
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(a.uid), Gid: uint32(a.gid)}}
	cmd.Env = []string{"HOME=" + a.home, "USER=" + a.name, "LOGNAME=" + a.name, "PATH=/usr/local/bin:/usr/bin:/bin", "BUILDKIT_PROGRESS=plain"}
	cmd.Dir = a.home
	return cmd
}

// layerOwners reads a docker-archive and returns the owner (uid:gid) of
// every path in its layers, as the layer tars record them.
func layerOwners(t *testing.T, archive string) map[string]string {
	t.Helper()
	owners := map[string]string{}
	for name, e := range readTar(t, archive).m {
		if !strings.HasSuffix(name, ".tar") && !strings.HasPrefix(name, "blobs/") {
			continue
		}
		var r io.Reader = bytes.NewReader(e.data)
		if zr, err := gzip.NewReader(bytes.NewReader(e.data)); err == nil {
			r = zr
		}
		tr := tar.NewReader(r)
		for {
			h, err := tr.Next()
			if err != nil {
				break
			}
			io.Copy(io.Discard, tr)
			owners[strings.TrimSuffix(h.Name, "/")] = fmt.Sprintf("%d:%d", h.Uid, h.Gid)
		}
	}
	return owners
}

// TestRootless is builder run by an unprivileged account created for the
// test: a user namespace of its own, state in ~/.local/share/builder, and
// images whose files keep the owners the Dockerfile gives them.
func TestRootless(t *testing.T) {
	a := newAccount(t, "bldrl1")
	e := a.env(t)

	e.must("build", "-t", "hello", a.own(t, helloContext(t)))
	if got := e.must("run", "--rm", "hello").stdout; got != "hello docker\n" {
		t.Errorf("run --rm hello printed %q", got)
	}
	if fi, err := os.Stat(filepath.Join(e.root, "images", "index.json")); err != nil {
		t.Fatalf("the default root %s holds no store: %v", e.root, err)
	} else if st := fi.Sys().(*syscall.Stat_t); int(st.Uid) != a.uid {
		t.Errorf("the store's index is owned by uid %d, not the account's %d", st.Uid, a.uid)
	}

	// With the account's namespace holder running, a command joins it
	// before Go starts (rootless/join.c): no second start of builder.
	trace := filepath.Join(a.home, "trace")
	if out, err := a.login(exec.Command("strace", "-f", "-e", "trace=execve", "-o", trace, s.builder, "images")).CombinedOutput(); err != nil {
		t.Fatalf("strace builder images: %v\n%s", err, out)
	}
	if dt, _ := os.ReadFile(trace); strings.Count(string(dt), "execve(") != 1 {
		t.Errorf("builder images with the holder running executed more than itself:\n%s", dt)
	}

	// As the docker CLI plugin (docker-bld in a plugin directory, which
	// the CLI runs by its path): the verb after the plugin's name.
	plugin := filepath.Join(a.home, "docker-bld")
	if err := os.Symlink(s.builder, plugin); err != nil {
		t.Fatal(err)
	}
	if out, err := a.login(exec.Command(plugin, "bld", "images", "--format", "{{.Repository}}")).CombinedOutput(); err != nil || string(out) != "hello\n" {
		t.Errorf("docker-bld bld images: %v\n%s", err, out)
	}

	// Owners the image gives: COPY --chown, RUN chown, USER nobody.
	dir := a.own(t, writeContext(t, map[string]string{
		"Dockerfile": "FROM busybox\nCOPY --chown=1234:1234 f /owned\nRUN mkdir /nob && chown 65534:65534 /nob && id -u > /rootid\nUSER nobody\nRUN id -u > /tmp/nobodyid\n",
		"f":          "f\n",
	}))
	e.must("build", "-t", "owned", dir)
	got := e.must("run", "--rm", "owned", "sh", "-c", "cat /rootid /tmp/nobodyid; stat -c '%u:%g %n' /owned /nob /tmp/nobodyid").stdout
	if want := "0\n65534\n1234:1234 /owned\n65534:65534 /nob\n65534:65534 /tmp/nobodyid\n"; got != want {
		t.Errorf("in the container:\n%s\nwant:\n%s", got, want)
	}
	// A cache mount kept between builds, and a secret that no layer keeps.
	secret := filepath.Join(a.home, "token")
	if err := os.WriteFile(secret, []byte("s3cr3t"), 0600); err != nil {
		t.Fatal(err)
	}
	a.chown(t, secret)
	mounts := a.own(t, writeContext(t, map[string]string{
		"Dockerfile": "FROM busybox\nARG N\nRUN --mount=type=cache,target=/cache --mount=type=secret,id=tok echo $N >> /cache/runs && cp /cache/runs /runs && cat /run/secrets/tok > /seen\n",
	}))
	e.must("build", "--secret", "id=tok,src="+secret, "--build-arg", "N=1", "-t", "mounts", mounts)
	e.must("build", "--secret", "id=tok,src="+secret, "--build-arg", "N=2", "-t", "mounts", mounts)
	if got := e.must("run", "--rm", "mounts", "sh", "-c", "cat /runs /seen; ls /run/secrets 2>/dev/null | wc -l").stdout; got != "1\n2\ns3cr3t0\n" {
		t.Errorf("cache mount and secret: %q", got)
	}

	saved := filepath.Join(a.home, "owned.tar")
	e.must("save", "-o", saved, "owned")
	owners := layerOwners(t, saved)
	for path, want := range map[string]string{"owned": "1234:1234", "nob": "65534:65534", "tmp/nobodyid": "65534:65534", "rootid": "0:0", "bin/busybox": "0:0"} {
		if owners[path] != want {
			t.Errorf("saved layer: %s owned by %q, want %s", path, owners[path], want)
		}
	}
	if st, err := os.Stat(saved); err == nil && int(st.Sys().(*syscall.Stat_t).Uid) != a.uid {
		t.Errorf("save -o wrote a file owned by uid %d", st.Sys().(*syscall.Stat_t).Uid)
	}
	e.must("rmi", "owned")
	e.must("load", "-i", saved)
	if got := e.must("run", "--rm", "owned", "stat", "-c", "%u", "/owned").stdout; got != "1234\n" {
		t.Errorf("after save and load: /owned owned by %q", got)
	}

	// A rootfs tarball with other owners (-o type=tar of the image, owners
	// kept) imported as a one-layer image.
	rootfs := filepath.Join(a.home, "rootfs.tar")
	e.must("build", "-o", "type=tar,dest="+rootfs, a.own(t, writeContext(t, map[string]string{"Dockerfile": "FROM owned\n"})))
	e.must("import", rootfs, "imp:v1")
	if got := e.must("run", "--rm", "imp:v1", "stat", "-c", "%u:%g", "/owned", "/nob").stdout; got != "1234:1234\n65534:65534\n" {
		t.Errorf("imported rootfs: owners %q", got)
	}
	e.must("rmi", "imp:v1")

	// push and pull against the suite's registry.
	ref := s.registry + "/rootless/owned:1"
	e.must("tag", "owned", ref)
	e.must("push", ref)
	e.must("rmi", "owned", ref)
	e.must("pull", ref)
	if got := e.must("run", "--rm", ref, "stat", "-c", "%u:%g", "/nob").stdout; got != "65534:65534\n" {
		t.Errorf("after push and pull: /nob owned by %q", got)
	}

	// login to a registry with htpasswd auth over TLS (its CA in the
	// account's config), then push there: the credentials go in the
	// account's ~/.docker/config.json, the account's own file.
	addr, cert := startAuthRegistry(t, "alice", "s3cret")
	ca := filepath.Join(a.home, "registry-ca.pem")
	if err := copyFile(cert, ca); err != nil {
		t.Fatal(err)
	}
	a.chown(t, ca)
	cfg, err := os.OpenFile(filepath.Join(e.root, "config.toml"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(cfg, "[registry.%q]\n  http = false\n  ca = [%q]\n", addr, ca)
	cfg.Close()
	private := addr + "/team/owned:1"
	e.must("tag", ref, private)
	if r := e.run("push", private); r.code == 0 {
		t.Errorf("push to the auth registry before login succeeded")
	}
	e.mustIn([]byte("s3cret\n"), "login", "-u", "alice", "--password-stdin", addr)
	if fi, err := os.Stat(filepath.Join(a.home, ".docker", "config.json")); err != nil {
		t.Errorf("login wrote no ~/.docker/config.json: %v", err)
	} else if st := fi.Sys().(*syscall.Stat_t); int(st.Uid) != a.uid || fi.Mode().Perm() != 0600 {
		t.Errorf("~/.docker/config.json: uid %d mode %v, want the account's and 0600", st.Uid, fi.Mode().Perm())
	}
	e.must("push", private)
	e.must("rmi", private)
	e.must("pull", private)

	// The tutorial's walk: change a container, commit it, run the result.
	e.must("run", "--name", "web", "busybox", "sh", "-c", "echo hi > /newfile; rm /bin/vi; chown 1234 /newfile")
	e.must("commit", "-m", "A new image", "--author", "Aomine", "web", "aoct/apache2")
	if got := e.must("inspect", "--format", "{{.Comment}}|{{.Author}}", "aoct/apache2").stdout; got != "A new image|Aomine\n" {
		t.Errorf("inspect: %q", got)
	}
	if got := e.must("run", "--rm", "aoct/apache2", "sh", "-c", "stat -c '%u %n' /newfile; test ! -e /bin/vi && echo vi-gone").stdout; got != "1234 /newfile\nvi-gone\n" {
		t.Errorf("committed image: %q", got)
	}
	e.must("rm", "web")

	// A detached container, reached by later commands: they all run in the
	// account's one namespace.
	e.must("run", "-d", "--name", "bg", "busybox", "sh", "-c", "echo started; echo x > /made; sleep 60")
	if got := e.must("exec", "bg", "id", "-u").stdout; got != "0\n" {
		t.Errorf("exec bg id -u = %q", got)
	}
	if got := e.must("logs", "bg").stdout; got != "started\n" {
		t.Errorf("logs bg = %q", got)
	}
	// Without root there is no freezer cgroup unless the host delegates
	// cgroup v2 to the account; where there is none, the error says what
	// to do instead.
	if r := e.run("commit", "bg", "snap"); r.code != 0 && !strings.Contains(r.stderr, "--pause=false") {
		t.Errorf("commit of a running container without a freezer: want --pause=false named, got %s", r)
	}
	e.must("commit", "--pause=false", "bg", "snap")
	if got := e.must("run", "--rm", "snap", "cat", "/made").stdout; got != "x\n" {
		t.Errorf("commit --pause=false: /made = %q", got)
	}
	if got := e.must("diff", "bg").stdout; !strings.Contains(got, "A /made") {
		t.Errorf("diff bg: %q", got)
	}
	exported := filepath.Join(a.home, "bg.tar")
	e.must("export", "-o", exported, "bg")
	if f, ok := readTar(t, exported).m["made"]; !ok || string(f.data) != "x\n" {
		t.Errorf("export bg: /made missing or wrong")
	}
	e.must("stop", "-t", "1", "bg")
	e.must("rm", "bg")

	e.must("image", "prune", "-a", "-f")
	e.must("builder", "prune", "-a", "-f")

	// A bind mount of the account's own directory: what the container
	// writes as its root is the account's on the host.
	vol := filepath.Join(a.home, "vol")
	e.must("run", "--rm", "-v", vol+":/vol", "busybox", "sh", "-c", "echo x > /vol/f")
	if fi, err := os.Stat(filepath.Join(vol, "f")); err != nil {
		t.Errorf("-v: %v", err)
	} else if st := fi.Sys().(*syscall.Stat_t); int(st.Uid) != a.uid {
		t.Errorf("-v: the container's file is owned by uid %d on the host, not the account's %d", st.Uid, a.uid)
	}

	// A holder killed (an OOM kill, a kill -9 of the session's processes)
	// is replaced by the next command, which works as before.
	pidFile := fmt.Sprintf("/tmp/builder-run-%d/builder/namespace.pid", a.uid)
	holder := func() int {
		dt, _ := os.ReadFile(pidFile)
		pid, _ := strconv.Atoi(strings.TrimSpace(string(dt)))
		return pid
	}
	old := holder()
	if old <= 0 || syscall.Kill(old, syscall.SIGKILL) != nil {
		t.Fatalf("no holder to kill: %s holds %d", pidFile, old)
	}
	if got := e.must("run", "--rm", "busybox", "echo", "again").stdout; got != "again\n" {
		t.Errorf("after the holder was killed, run --rm busybox echo again printed %q", got)
	}
	if now := holder(); now == old || syscall.Kill(now, 0) != nil {
		t.Errorf("after the holder (%d) was killed, %s names %d, not a new one running", old, pidFile, now)
	}
}

// TestRootlessTTY: run -it by an account, on a real terminal: a shell in
// the container as its root, typed commands, Ctrl-D, and a commit of what
// was typed.
func TestRootlessTTY(t *testing.T) {
	a := newAccount(t, "bldrl6")
	e := a.env(t)
	e.must("pull", "busybox")
	session := fmt.Sprintf("builder-rl-it-%d", time.Now().UnixNano())
	tmuxRun(t, e, session, "run", "-it", "--name", "shell", "busybox", "sh")
	tmuxWait(t, session, "/ #", 30*time.Second)
	tmuxType(session, "tty; id -u; stty size; echo typed > /typed")
	tmuxWait(t, session, "\n/dev/pts/0\n0\n30 100\n", 10*time.Second)
	exec.Command("tmux", "send-keys", "-t", session, "C-d").Run()
	tmuxWait(t, session, "EXIT=0", 10*time.Second)
	e.must("commit", "shell", "typed")
	if got := e.must("run", "--rm", "typed", "cat", "/typed").stdout; got != "typed\n" {
		t.Errorf("committed interactive changes: %q", got)
	}
}

// TestRootlessPython is the python example (a Debian base, apt-get install
// in a RUN, which drops to apt's own user) built by an unprivileged account.
func TestRootlessPython(t *testing.T) {
	debianBase(t)
	a := newAccount(t, "bldrl2")
	e := a.env(t)
	e.must("build", "-t", "pyhello", a.own(t, filepath.Join(repoDir(t), "examples", "python")))
	if got := e.must("run", "--rm", "pyhello").stdout; !strings.Contains(got, "hello") {
		t.Errorf("python example printed %q", got)
	}
}

// TestRootlessErrors: what keeps an account from running builder is named,
// with the fix, before anything is written.
func TestRootlessErrors(t *testing.T) {
	a := newAccount(t, "bldrl3")
	e := a.env(t)
	check := func(what string, r result, want string) {
		t.Helper()
		if r.code == 0 || !strings.Contains(r.stderr, want) || strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
			t.Errorf("%s: want one error line containing %q, got %s", what, want, r)
		}
		if entries, _ := os.ReadDir(e.root); len(entries) != 1 { // config.toml
			t.Errorf("%s: the root holds %d entries, want only config.toml", what, len(entries))
		}
	}

	e.pathEnv = "/nonexistent"
	check("no newuidmap", e.run("images"), "install Debian's uidmap package (`apt-get install uidmap`)")
	e.pathEnv = ""

	dt, err := os.ReadFile("/proc/sys/user/max_user_namespaces")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("/proc/sys/user/max_user_namespaces", []byte("0\n"), 0644); err != nil {
		// A VM or container whose /proc/sys is not root's to change; the
		// message itself is rootless's unit test.
		t.Logf("SKIP: user namespaces disabled: cannot set max_user_namespaces here: %v", err)
	} else {
		r := e.run("images")
		os.WriteFile("/proc/sys/user/max_user_namespaces", dt, 0644)
		check("user namespaces disabled", r, "user namespaces are disabled (/proc/sys/user/max_user_namespaces is 0)")
	}

	sub, _ := os.ReadFile("/etc/subuid")
	for _, l := range strings.Split(string(sub), "\n") {
		if f := strings.Split(l, ":"); len(f) == 3 && f[0] == a.name {
			start, _ := strconv.Atoi(f[1])
			n, _ := strconv.Atoi(f[2])
			rng := fmt.Sprintf("%d-%d", start, start+n-1)
			if out, err := exec.Command("usermod", "--del-subuids", rng, "--del-subgids", rng, a.name).CombinedOutput(); err != nil {
				t.Fatalf("usermod: %v\n%s", err, out)
			}
		}
	}
	check("no subordinate IDs", e.run("images"), "/etc/subuid has no subordinate IDs for bldrl3, and builder needs a range of them to run without root: as root, run `usermod --add-subuids 100000-165535 --add-subgids 100000-165535 bldrl3`")
}

// TestRootlessTwoAccounts: two accounts build at once, each in its own
// root; neither reaches the other's root, and a root is never shared.
func TestRootlessTwoAccounts(t *testing.T) {
	a, b := newAccount(t, "bldrl4"), newAccount(t, "bldrl5")
	ea, eb := a.env(t), b.env(t)
	df := "FROM busybox\nRUN echo %s > /who && sleep 1\n"
	ctxA := a.own(t, writeContext(t, map[string]string{"Dockerfile": fmt.Sprintf(df, "a")}))
	ctxB := b.own(t, writeContext(t, map[string]string{"Dockerfile": fmt.Sprintf(df, "b")}))
	var wg sync.WaitGroup
	var ra, rb result
	wg.Add(2)
	go func() { defer wg.Done(); ra = ea.run("build", "-t", "mine", ctxA) }()
	go func() { defer wg.Done(); rb = eb.run("build", "-t", "mine", ctxB) }()
	wg.Wait()
	// Only a failed build is printed: a passing one's progress would push
	// the other's error out of a shortened log.
	for who, r := range map[string]result{"a": ra, "b": rb} {
		if r.code != 0 {
			t.Errorf("concurrent builds: account %s's failed:\n%s", who, r)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	for who, e := range map[string]*env{"a": ea, "b": eb} {
		if got := e.must("run", "--rm", "mine", "cat", "/who").stdout; got != who+"\n" {
			t.Errorf("account %s's image holds %q", who, got)
		}
	}
	// The root, and the solver socket in it, are closed to others.
	if out, err := b.login(exec.Command("ls", ea.root)).CombinedOutput(); err == nil {
		t.Errorf("%s listed %s's root:\n%s", b.name, a.name, out)
	}
	// A root of another account's is refused, by name, for root too.
	r := eb.run("--root", ea.root, "images")
	if r.code == 0 || !strings.Contains(r.stderr, "belongs to bldrl4") {
		t.Errorf("bldrl5 on bldrl4's root: %s", r)
	}
	root := &env{t: t, root: ea.root}
	if r := root.run("images"); r.code == 0 || !strings.Contains(r.stderr, "state root "+ea.root+" belongs to bldrl4") {
		t.Errorf("root on bldrl4's root: %s", r)
	}
}
