package container

import (
	"github.com/builder-dev/builder/internal/runtime"

	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/builder-dev/builder/store"
	"github.com/moby/moby/api/pkg/stdcopy"
)

// MonitorCommand is the hidden builder verb a detached container runs
// under: `builder --root ROOT MonitorCommand ID`.
const MonitorCommand = "__container-monitor"

// spawnMonitor starts a monitor process for c in a session of its own, so
// it outlives this builder; the container's output goes to its log, and
// what the monitor itself says to monitor.log.
func spawnMonitor(p Paths, c *Container, rt runtime.Runtime) error {
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
	cmd.Env = append(os.Environ(), "BUILDER_RUNC="+rt.Binary())
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

// Monitor runs a detached container's process in the foreground, its
// output to the monitor's own (the log), and records the exit.
func Monitor(ctx context.Context, root string, rt runtime.Runtime, id string) error {
	p := NewPaths(root)
	c, err := p.load(id)
	if err != nil {
		return err
	}
	// run -t: the spec asks for a terminal, which runRunc then makes.
	var spec struct {
		Process struct{ Terminal bool } `json:"process"`
	}
	if dt, err := os.ReadFile(filepath.Join(p.dir(id), "config.json")); err == nil {
		json.Unmarshal(dt, &spec)
	}
	log, err := openLog(p.logPath(id))
	if err != nil {
		return err
	}
	defer log.Close()
	code, err := runRunc(context.WithoutCancel(ctx), p, c, RunOptions{Runtime: rt,
		Stdout: log.Stream(stdcopy.Stdout), Stderr: log.Stream(stdcopy.Stderr),
		TTY: spec.Process.Terminal, Detach: true})
	p.finish(c, code)
	return err
}

// Stop asks a container to stop with its stop signal (SIGTERM by default),
// and kills it after timeout.
func Stop(ctx context.Context, root string, rt runtime.Runtime, refs []string, timeout time.Duration, w io.Writer) error {
	p := NewPaths(root)
	for _, ref := range refs {
		c, err := p.Find(ctx, rt, ref)
		if err != nil {
			return err
		}
		if c.Running {
			sig := stopSignal(c.Config.StopSignal)
			if err := rt.Kill(ctx, c.ID, sig); err != nil && rt.Alive(ctx, c.ID) {
				return fmt.Errorf("stop %s: %w", ref, err)
			}
			deadline := time.Now().Add(timeout)
			for rt.Alive(ctx, c.ID) && time.Now().Before(deadline) {
				time.Sleep(50 * time.Millisecond)
			}
			if rt.Alive(ctx, c.ID) {
				p.kill(ctx, rt, c.ID, syscall.SIGKILL)
			}
			p.waitFinished(c.ID)
		}
		fmt.Fprintln(w, ref)
	}
	return nil
}

// Kill sends sig to running containers.
func Kill(ctx context.Context, root string, rt runtime.Runtime, refs []string, sig string, w io.Writer) error {
	p := NewPaths(root)
	s := stopSignal(sig)
	if sig == "" {
		s = syscall.SIGKILL
	}
	for _, ref := range refs {
		c, err := p.Find(ctx, rt, ref)
		if err != nil {
			return err
		}
		if !c.Running {
			return fmt.Errorf("cannot kill container: %s: container %s is not running", ref, c.ID[:12])
		}
		if err := rt.Kill(ctx, c.ID, s); err != nil {
			return fmt.Errorf("kill %s: %w", ref, err)
		}
		fmt.Fprintln(w, ref)
	}
	return nil
}

// waitFinished waits briefly for the monitor to record the exit.
func (p Paths) waitFinished(id string) {
	for i := 0; i < 100; i++ {
		if c, err := p.load(id); err != nil || !c.Running {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func stopSignal(name string) syscall.Signal {
	if name == "" {
		return syscall.SIGTERM
	}
	if n, err := strconv.Atoi(name); err == nil {
		return syscall.Signal(n)
	}
	if s := unix.SignalNum("SIG" + strings.TrimPrefix(strings.ToUpper(name), "SIG")); s != 0 {
		return s
	}
	return syscall.SIGTERM
}

// Start starts stopped containers again, detached, or attached with attach.
func Start(ctx context.Context, st *store.Store, root string, rt runtime.Runtime, refs []string, attach, interactive bool, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	p := NewPaths(root)
	for _, ref := range refs {
		c, err := p.Find(ctx, rt, ref)
		if err != nil {
			return ExitBuilderError, err
		}
		if c.Running {
			if !attach {
				fmt.Fprintln(stdout, ref)
			}
			continue
		}
		_, lowers, err := p.imageLayers(ctx, st, c)
		if err != nil {
			return ExitBuilderError, err
		}
		if len(lowers) == 0 {
			lowers = []string{filepath.Join(p.dir(c.ID), "empty")}
		}
		// The runc record of the last run, if any, goes first.
		if err := rt.Delete(ctx, c.ID); err != nil {
			return ExitBuilderError, fmt.Errorf("start %s: %w", ref, err)
		}
		if err := mountRootfs(lowers, p.upper(c.ID), filepath.Join(p.dir(c.ID), "work"), p.rootfs(c.ID)); err != nil {
			return ExitBuilderError, err
		}
		c.Running, c.StartedAt, c.FinishedAt = true, time.Now().UTC(), time.Time{}
		p.save(c)
		if !attach {
			if err := spawnMonitor(p, c, rt); err != nil {
				p.finish(c, ExitBuilderError)
				return ExitBuilderError, err
			}
			fmt.Fprintln(stdout, ref)
			continue
		}
		code, err := runRunc(ctx, p, c, RunOptions{Runtime: rt, Interactive: interactive, Stdin: stdin, Stdout: stdout, Stderr: stderr})
		p.finish(c, code)
		return code, err
	}
	return 0, nil
}
