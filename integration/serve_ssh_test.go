//go:build integration

package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServeSSH: `builder --addr ssh://USER@HOST:PORT/SOCKET` reaches a
// builder serve on another host as buildctl does, through BuildKit's ssh
// connection helper: `ssh ... -- HOST buildctl --addr unix://SOCKET
// dial-stdio`. The other host is an sshd of the test's on a loopback port,
// with its own host key and an authorised key of the test's; its sessions
// find the stock buildctl on PATH, as a build host would have it.
func TestServeSSH(t *testing.T) {
	sshd, err := exec.LookPath("sshd")
	if err != nil {
		if sshd = "/usr/sbin/sshd"; func() bool { _, err := os.Stat(sshd); return err != nil }() {
			t.Skip("SKIP: no sshd (Debian's openssh-server) to serve ssh://")
		}
	}
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	keygen := func(name string) {
		if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", filepath.Join(dir, name)).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen: %v\n%s", err, out)
		}
	}
	keygen("host_key")
	keygen("user_key")
	// The remote side's PATH holds buildctl (dial-stdio is buildctl's).
	remoteBin := filepath.Join(dir, "remote-bin")
	os.MkdirAll(remoteBin, 0o755)
	os.Symlink(buildctlBin(t), filepath.Join(remoteBin, "buildctl"))
	pub, err := os.ReadFile(filepath.Join(dir, "user_key.pub"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "authorized_keys"),
		[]byte(fmt.Sprintf("environment=\"PATH=%s:/usr/bin:/bin\" %s", remoteBin, pub)), 0o600)
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "sshd_config")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`Port %d
ListenAddress 127.0.0.1
HostKey %s/host_key
AuthorizedKeysFile %s/authorized_keys
PidFile %s/sshd.pid
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitUserEnvironment yes
StrictModes no
UsePAM no
`, port, dir, dir, dir)), 0o600)
	os.MkdirAll("/run/sshd", 0o755) // sshd's privilege separation directory
	d := exec.Command(sshd, "-D", "-e", "-f", cfg)
	dlog := &lockedBuffer{}
	d.Stdout, d.Stderr = dlog, dlog
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Process.Kill(); d.Wait() })
	waitFor(t, 10*time.Second, func() bool { return strings.Contains(dlog.String(), "listening on 127.0.0.1") })

	// The local side's ssh knows the key and this throwaway host.
	localBin := filepath.Join(dir, "local-bin")
	os.MkdirAll(localBin, 0o755)
	clientCfg := filepath.Join(dir, "ssh_config")
	os.WriteFile(clientCfg, []byte(fmt.Sprintf("Host *\n  IdentityFile %s/user_key\n  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n  LogLevel ERROR\n", dir)), 0o600)
	os.WriteFile(filepath.Join(localBin, "ssh"), []byte("#!/bin/sh\nexec /usr/bin/ssh -F "+clientCfg+" \"$@\"\n"), 0o755)

	host := newEnv(t)
	sock := filepath.Join(dir, "served.sock")
	host.startServe(t, "--addr", "unix://"+sock)
	addr := fmt.Sprintf("ssh://root@127.0.0.1:%d%s", port, sock)

	client := newEnv(t)
	hello := helloContext(t)
	// builder's commands from here on find the wrapper as "ssh".
	t.Setenv("PATH", localBin+string(os.PathListSeparator)+os.Getenv("PATH"))
	if r := client.run("--addr", addr, "build", "-t", "via-ssh", hello); r.code != 0 {
		t.Fatalf("build over ssh://: %s\nsshd: %s", r, dlog.String())
	}
	if !strings.Contains(dlog.String(), "Accepted publickey for root") {
		t.Fatalf("the build did not come through the test's sshd:\n%s", dlog.String())
	}
	if got := client.must("run", "--rm", "via-ssh").stdout; got != "hello docker\n" {
		t.Fatalf("run via-ssh printed %q", got)
	}
	// A host that is not there: one error naming it, nothing stored.
	before := client.storeState()
	bad := fmt.Sprintf("ssh://root@127.0.0.1:%d%s", port, filepath.Join(dir, "nobody.sock"))
	if r := client.run("--addr", bad, "build", "-t", "nowhere", hello); r.code == 0 || !strings.Contains(r.stdout+r.stderr, "nobody.sock") {
		t.Fatalf("build over ssh:// to a socket nobody serves: %s", r)
	}
	if after := client.storeState(); after != before {
		t.Fatalf("a failed build changed the store:\n%s\n%s", before, after)
	}
}
