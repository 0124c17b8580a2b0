package container

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/builder-dev/builder/internal/runtime"
	"github.com/builder-dev/builder/network"
	"github.com/moby/moby/api/pkg/stdcopy"
)

// MonitorCommand is the hidden builder verb a detached container runs
// under: `builder --root ROOT MonitorCommand ID`.
const MonitorCommand = "__container-monitor"

// spawnMonitor starts a monitor process for c in a session of its own, so
// it outlives this builder; the container's output goes to its log, and
// what the monitor itself says to monitor.log.
func spawnMonitor(p records, c *Container, rt runtime.Runtime, ports *network.Reservation) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	logf, err := os.OpenFile(filepath.Join(p.dir(c.ID), "monitor.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0600)
	if err != nil {
		return fmt.Errorf("start container monitor: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(exe, "--root", p.root, MonitorCommand, c.ID)
	cmd.Env = append(os.Environ(), "BUILDER_RUNC="+rt.Binary(), fmt.Sprintf("%s=%d", heldEnv, len(ports.Files)))
	cmd.ExtraFiles = ports.Files
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start container monitor: %w", err)
	}
	// Wait until runc has the container running, so that ps, exec and
	// stop right after `run -d` find it.
	for i := 0; i < 200; i++ {
		if rt.Alive(context.Background(), c.ID) {
			break
		}
		if cur, err := p.load(c.ID); err == nil && !cur.Running {
			break // it already exited
		}
		time.Sleep(25 * time.Millisecond)
	}
	return cmd.Process.Release()
}

// heldEnv tells the monitor how many files it inherits (from fd 3): the
// sockets that hold the container's published host ports.
const heldEnv = "BUILDER_HELD_PORTS"

// Monitor runs a detached container's process in the foreground, its
// output to the monitor's own (the log), and records the exit.
func (m Manager) Monitor(ctx context.Context, id string) error {
	// The ports are held here until the exit; runc and the container's
	// process do not inherit them.
	n, _ := strconv.Atoi(os.Getenv(heldEnv))
	ports := &network.Reservation{}
	for fd := 3; fd < 3+n; fd++ {
		syscall.CloseOnExec(fd)
		ports.Files = append(ports.Files, os.NewFile(uintptr(fd), "published port"))
	}
	os.Unsetenv(heldEnv)
	p := m.records()
	c, err := p.load(id)
	if err != nil {
		return err
	}
	if c.Attachment != nil {
		// The attachment is this process's to release now, and its
		// ports to serve.
		c.NetOwner = os.Getpid()
		if err := p.save(c); err != nil {
			warn(p.finish(c, ExitBuilderError, ports))
			return err
		}
		ports.Ports = c.Attachment.Ports
		if err := serve(c, ports); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}
	// run -t: the spec asks for a terminal, which runRunc then makes.
	tty := false
	if spec, err := p.spec(id); err == nil {
		tty = spec.Process.Terminal
	}
	log, err := openLog(p.logPath(id))
	if err != nil {
		return err
	}
	defer log.Close()
	code, err := runRunc(context.WithoutCancel(ctx), m.Runtime, p, c, RunOptions{
		Stdout: log.Stream(stdcopy.Stdout), Stderr: log.Stream(stdcopy.Stderr),
		TTY: tty, Detach: true})
	if ferr := p.finish(c, code, ports); ferr != nil && err == nil {
		return ferr
	}
	return err
}
