// Package rootless lets an unprivileged account run builder as root runs it.
// Each command runs in a user namespace in which the account is root and
// its /etc/subuid and /etc/subgid ranges are mapped after it (through the
// setuid newuidmap and newgidmap of Debian's uidmap), with a mount
// namespace of its own, as buildah and podman run: the files of an image
// keep their owners (0, 1234, 65534 inside, subordinate IDs on the host),
// and overlay mounts work.
//
// One namespace per account, kept by a holder process (Hold), is made by
// go.podman.io/storage/pkg/unshare, buildah's and podman's own: its C
// constructor unshares in the child before the Go runtime starts threads
// (a multi-threaded process cannot). Commands join it in join.c's
// constructor, on their own once it runs or when Exec names it.
package rootless

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/builder-dev/builder/internal/atomicfile"
	"github.com/builder-dev/builder/internal/rootfile"
	mobyuser "github.com/moby/sys/user"
	"github.com/moby/sys/userns"
	"github.com/opencontainers/runtime-spec/specs-go"
	"go.podman.io/storage/pkg/reexec"
	"go.podman.io/storage/pkg/unshare"
)

// Inside reports whether this process is root of a user namespace whose
// root is an unprivileged account (builder joined to the account's).
func Inside() bool {
	return os.Geteuid() == 0 && HostUID() != 0
}

// HostUID is the account's UID on the host: the UID this process's root
// maps to in /proc/self/uid_map, its own outside a namespace.
func HostUID() int {
	uid := os.Geteuid()
	if uid != 0 || !userns.RunningInUserNS() {
		// Root on the host pays no read: RunningInUserNS reads uid_map
		// once per process.
		return uid
	}
	dt, err := os.ReadFile("/proc/self/uid_map")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(dt), "\n") {
		if f := strings.Fields(l); len(f) == 3 && f[0] == "0" {
			if host, err := strconv.Atoi(f[1]); err == nil {
				return host
			}
		}
	}
	return 0
}

// RuntimeDir is the account's runtime directory: $XDG_RUNTIME_DIR, or
// /tmp/builder-run-UID where the session has none (a login through su, a
// CI runner), as podman's /tmp/podman-run-UID. The namespace holder's PID
// is kept in its builder directory (join.c reads it there), and runc, root
// in the namespace but not of the host's /run/runc, keeps its state in it
// as for rootless BuildKit. It is made 0700, and refused when another
// account has it.
func RuntimeDir() (string, error) {
	if d := os.Getenv("XDG_RUNTIME_DIR"); strings.HasPrefix(d, "/") {
		return d, nil
	}
	d := fmt.Sprintf("/tmp/builder-run-%d", HostUID())
	if err := os.Mkdir(d, 0700); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", fmt.Errorf("create runtime directory: %w", err)
	}
	fi, err := os.Lstat(d)
	if err != nil {
		return "", fmt.Errorf("runtime directory: %w", err)
	}
	if !fi.IsDir() || fi.Mode().Perm() != 0700 || owner(fi) != os.Geteuid() {
		return "", fmt.Errorf("runtime directory %s is not a directory of this account's only (mode 0700): remove it, or set XDG_RUNTIME_DIR", d)
	}
	return d, nil
}

// SetRuntimeDir gives this process's children (runc) the account's
// runtime directory, the one RuntimeDir (and join.c) chose.
func SetRuntimeDir() error {
	d, err := RuntimeDir()
	if err != nil {
		return err
	}
	return os.Setenv("XDG_RUNTIME_DIR", d)
}

// Files that decide whether an account may have a namespace; a test points
// them elsewhere.
type Files struct {
	MaxUserNamespaces string // /proc/sys/user/max_user_namespaces
	SubUID, SubGID    string // /etc/subuid, /etc/subgid
}

// HostFiles are the host's.
func HostFiles() Files {
	return Files{
		MaxUserNamespaces: "/proc/sys/user/max_user_namespaces",
		SubUID:            "/etc/subuid",
		SubGID:            "/etc/subgid",
	}
}

// Mappings are the ID maps of the account's namespace: the account as 0,
// then its subordinate ranges from 1 on.
type Mappings struct {
	UIDs, GIDs []specs.LinuxIDMapping
}

// Check says what keeps the account (uid, gid, name) from having a user
// namespace, as an error that names the fix, or returns its mappings.
func (f Files) Check(uid, gid int, name string) (Mappings, error) {
	if dt, err := os.ReadFile(f.MaxUserNamespaces); err == nil && strings.TrimSpace(string(dt)) == "0" {
		return Mappings{}, fmt.Errorf("user namespaces are disabled (%s is 0), and builder needs one to run without root: as root, run `sysctl -w user.max_user_namespaces=15000`", f.MaxUserNamespaces)
	}
	for _, tool := range []string{"newuidmap", "newgidmap"} {
		if _, err := exec.LookPath(tool); err != nil {
			return Mappings{}, fmt.Errorf("%s not found, and builder needs it to run without root: install Debian's uidmap package (`apt-get install uidmap`)", tool)
		}
	}
	uids, err := subIDs(f.SubUID, uid, name)
	if err != nil {
		return Mappings{}, err
	}
	gids, err := subIDs(f.SubGID, uid, name)
	if err != nil {
		return Mappings{}, err
	}
	if len(uids) == 0 || len(gids) == 0 {
		file := f.SubUID
		if len(uids) > 0 {
			file = f.SubGID
		}
		return Mappings{}, fmt.Errorf("%s has no subordinate IDs for %s, and builder needs a range of them to run without root: as root, run `usermod --add-subuids 100000-165535 --add-subgids 100000-165535 %s` (a range no other account's overlaps)", file, name, name)
	}
	return Mappings{UIDs: mapping(uid, uids), GIDs: mapping(gid, gids)}, nil
}

// subIDs are the ranges file gives the account, by name or by UID as
// shadow's tools read it; a missing file gives none.
func subIDs(file string, uid int, name string) ([]mobyuser.SubID, error) {
	ids, err := mobyuser.ParseSubIDFileFilter(file, func(s mobyuser.SubID) bool {
		return s.Name == name || s.Name == strconv.Itoa(uid)
	})
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", file, err)
	}
	return ids, nil
}

func mapping(id int, ranges []mobyuser.SubID) []specs.LinuxIDMapping {
	m := []specs.LinuxIDMapping{{ContainerID: 0, HostID: uint32(id), Size: 1}}
	next := uint32(1)
	for _, r := range ranges {
		m = append(m, specs.LinuxIDMapping{ContainerID: next, HostID: uint32(r.SubID), Size: uint32(r.Count)})
		next += uint32(r.Count)
	}
	return m
}

// HolderCommand is the hidden verb of the process that keeps an account's
// namespace (Hold).
const HolderCommand = "__rootless-namespace"

// Exec replaces this process with argv (this program's own arguments) run
// as root of the account's user namespace, which has its mount namespace:
// builder starts again naming the holder, and join.c's constructor joins
// it before Go starts, so the command keeps this process's PID, stdio and
// signals, and its exit status is this process's. It returns only on
// error. (A command that finds the holder running joins in join.c on its
// own and never gets here.)
//
// The namespace is one per account and outlives the command, held by a
// process of its own (started here when there is none), as podman's pause
// process holds podman's: a container that `run -d` leaves running lives
// in it, and `exec`, `stop` or `commit` must reach it from there (a
// sibling namespace may neither signal nor enter it), as its overlay
// mounts must be seen.
func Exec(argv []string) error {
	u, err := user.Current()
	if err != nil {
		return fmt.Errorf("find the current account: %w", err)
	}
	m, err := HostFiles().Check(os.Geteuid(), os.Getegid(), u.Username)
	if err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find builder's executable: %w", err)
	}
	dir, err := RuntimeDir()
	if err != nil {
		return err
	}
	dir = filepath.Join(dir, "builder")
	if err := os.MkdirAll(dir, 0700); err != nil {
		return fmt.Errorf("create runtime directory: %w", err)
	}
	pid, err := holder(dir, exe, m)
	if err != nil {
		return err
	}
	// The command is run by the name it was given where that is a path:
	// as the docker CLI plugin, docker-NAME is what says so.
	prog := exe
	if strings.Contains(argv[0], "/") {
		if p, err := filepath.Abs(argv[0]); err == nil {
			prog = p
		}
	}
	args := append([]string{prog}, argv[1:]...)
	env := append(os.Environ(), joinEnv+"="+strconv.Itoa(pid))
	if err := syscall.Exec(prog, args, env); err != nil {
		return fmt.Errorf("run %s: %w", prog, err)
	}
	return nil
}

// holder returns the PID of the account's namespace holder, starting one
// if none runs; the lock keeps two commands from starting two.
func holder(dir, exe string, m Mappings) (int, error) {
	lock := rootfile.Lock(filepath.Join(dir, "namespace.lock"))
	if err := lock.Lock(); err != nil {
		return 0, fmt.Errorf("lock %s: %w", lock.Path(), err)
	}
	defer lock.Unlock()
	pidFile := filepath.Join(dir, "namespace.pid")
	if dt, err := os.ReadFile(pidFile); err == nil {
		if pid, err := strconv.Atoi(strings.TrimSpace(string(dt))); err == nil && holds(pid) {
			return pid, nil
		}
	}
	// unshare's commands come from its reexec package, which insists that
	// main has called Init; builder registers no reexec handlers, so Init
	// only records that it ran.
	reexec.Init()
	cmd := unshare.Command(exe, HolderCommand)
	cmd.Dir = "/"
	cmd.Setsid = true // no terminal's signals reach it
	cmd.UnshareFlags = syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS
	cmd.UseNewuidmap, cmd.UidMappings = true, m.UIDs
	cmd.UseNewgidmap, cmd.GidMappings = true, m.GIDs
	cmd.GidMappingsEnableSetgroups = true
	cmd.Hook = func(pid int) error {
		// unshare falls back to mapping the account alone when newuidmap
		// fails, with a warning only: the files of any image with other
		// owners would then fail to unpack, so refuse here instead.
		return fullyMapped(pid, len(m.UIDs))
	}
	pid, err := startHolder(cmd)
	if err != nil {
		if perr := canUnshare(exe); perr != nil {
			return 0, perr
		}
		return 0, fmt.Errorf("create a user namespace: %w", err)
	}
	if err := atomicfile.WriteFile(pidFile, []byte(strconv.Itoa(pid)+"\n"), 0600); err != nil {
		syscall.Kill(pid, syscall.SIGKILL)
		return 0, fmt.Errorf("record the namespace's holder: %w", err)
	}
	return pid, nil
}

// readyEnv names, in the holder, the pipe it writes a byte to once Hold
// runs (its descriptor).
const readyEnv = "_BUILDER_HOLDER_READY"

// holderTimeout bounds the wait for a new holder to say it is ready.
const holderTimeout = 30 * time.Second

// startHolder starts cmd, a holder, and returns its PID once it runs
// Hold. unshare's Start returns as soon as the namespace's ID maps are
// written: the child makes its mount namespace only after that, so a
// command that joined it straight away could find the host's mount
// namespace there and fail to enter it (TestHolderReady).
func startHolder(cmd *unshare.Cmd) (int, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return 0, fmt.Errorf("create the holder's pipe: %w", err)
	}
	defer r.Close()
	// unshare adds its own descriptors after these.
	cmd.ExtraFiles = append(cmd.ExtraFiles, w)
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	cmd.Env = append(cmd.Env, fmt.Sprintf("%s=%d", readyEnv, len(cmd.ExtraFiles)+2))
	err = cmd.Start()
	w.Close()
	if err != nil {
		return 0, err
	}
	pid := cmd.Process.Pid
	r.SetReadDeadline(time.Now().Add(holderTimeout))
	if _, err := io.ReadFull(r, make([]byte, 1)); err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		if errors.Is(err, io.EOF) {
			return 0, fmt.Errorf("the namespace's holder (pid %d) exited as it started", pid)
		}
		return 0, fmt.Errorf("wait for the namespace's holder (pid %d): %w", pid, err)
	}
	cmd.Process.Release()
	return pid, nil
}

// canUnshare says, when unshare's holder failed to start, whether this
// account may create a user namespace at all; unshare's own error then
// says little ("parsing PID"). A container's default seccomp profile
// refuses it (and AppArmor's profile refuses the mounts in it): rootless
// BuildKit's documented options for its container are the fix.
func canUnshare(exe string) error {
	cmd := exec.Command(exe, "--version")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWUSER}
	err := cmd.Run()
	if err == nil {
		return nil
	}
	if errors.Is(err, syscall.EPERM) {
		return fmt.Errorf("this account may not create a user namespace (%w), and builder needs one to run without root: in a container, run it with --security-opt seccomp=unconfined --security-opt apparmor=unconfined; on the host, check kernel.unprivileged_userns_clone and kernel.apparmor_restrict_unprivileged_userns", err)
	}
	return fmt.Errorf("create a user namespace: %w", err)
}

// holds reports whether pid is this account's namespace holder, not a
// process that took its PID after it died.
func holds(pid int) bool {
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || !strings.Contains(string(cmdline), HolderCommand) {
		return false
	}
	fi, err := os.Stat(fmt.Sprintf("/proc/%d", pid))
	return err == nil && owner(fi) == os.Geteuid()
}

// Hold is the namespace holder's life: nothing, until SIGTERM. It ignores
// the signals of a closing terminal or session.
func Hold() {
	signal.Ignore(syscall.SIGHUP, syscall.SIGINT, syscall.SIGPIPE)
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	// Go runs only after unshare's constructor has made the namespaces:
	// the command that started this holder may now have it joined.
	if fd, err := strconv.Atoi(os.Getenv(readyEnv)); err == nil {
		os.Unsetenv(readyEnv)
		ready := os.NewFile(uintptr(fd), "ready")
		ready.Write([]byte{1})
		ready.Close()
	}
	<-term
	os.Exit(0)
}

func fullyMapped(pid, want int) error {
	dt, err := os.ReadFile(fmt.Sprintf("/proc/%d/uid_map", pid))
	if err != nil {
		return fmt.Errorf("read the namespace's uid_map: %w", err)
	}
	if got := len(strings.Split(strings.TrimSpace(string(dt)), "\n")); got < want {
		return fmt.Errorf("newuidmap did not map the subordinate IDs of /etc/subuid (uid_map: %q): check that /usr/bin/newuidmap is setuid root and the ranges are the account's", strings.TrimSpace(string(dt)))
	}
	return nil
}

// CheckOwner refuses a state root that belongs to another account: its
// files would end up owned by two accounts, and neither could manage them
// all. A root this account cannot reach is named by the owner of the
// nearest directory above it that it can (another's home, typically).
func CheckOwner(root string) error {
	fi, err := os.Stat(root)
	if errors.Is(err, fs.ErrPermission) {
		for p := filepath.Dir(root); fi == nil; p = filepath.Dir(p) {
			fi, _ = os.Stat(p)
			if p == filepath.Dir(p) {
				break
			}
		}
		if fi == nil || owner(fi) == os.Geteuid() {
			return fmt.Errorf("state root %s: %w", root, err)
		}
	} else if err != nil {
		return nil // made later, by this account
	}
	uid := owner(fi)
	if uid == os.Geteuid() {
		return checkWritableByOthers(root, fi)
	}
	name := "uid " + strconv.Itoa(uid)
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		name = u.Username + " (uid " + strconv.Itoa(uid) + ")"
	}
	me := strconv.Itoa(HostUID())
	if u, err := user.LookupId(me); err == nil {
		me = u.Username
	}
	if Inside() {
		// Owners outside the namespace's ranges all look like the
		// overflow UID from in here; join.c leaves a --root to be checked
		// outside, where they have names.
		name = "another account"
	}
	return fmt.Errorf("state root %s belongs to %s, not to %s: each account needs a root of its own (--root or BUILDER_ROOT)", root, name, me)
}

// checkWritableByOthers refuses a root that other accounts may write to:
// whatever they left in it (a link named solver.pid to a file of this
// account's, a blob, a lock) this account's commands would then use as
// their own. A root builder made is 0700; one of the user's making is
// theirs to fix, after looking at what is in it.
func checkWritableByOthers(root string, fi fs.FileInfo) error {
	if !fi.IsDir() {
		return fmt.Errorf("state root %s is not a directory", root)
	}
	if fi.Mode().Perm()&0o022 != 0 {
		mode := uint32(fi.Mode().Perm())
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			mode = st.Mode & 0o7777
		}
		return fmt.Errorf("state root %s is writable by other accounts (mode %04o): anything in it may be theirs; check its contents and `chmod go-w` it, or use another root (--root or BUILDER_ROOT)", root, mode)
	}
	return nil
}

func owner(fi fs.FileInfo) int {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid)
	}
	return -1
}
