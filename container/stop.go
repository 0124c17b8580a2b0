package container

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Stop asks a container to stop with its stop signal (SIGTERM by default),
// and kills it after timeout.
func (m Manager) Stop(ctx context.Context, refs []string, timeout time.Duration, w io.Writer) error {
	p := m.records()
	for _, ref := range refs {
		c, err := p.find(ctx, m.Runtime, ref)
		if err != nil {
			return err
		}
		if !c.Running {
			// Exited (a kill just before, say) but perhaps not yet
			// recorded, its ports and network not yet released.
			p.waitFinished(c.ID)
		} else {
			sig := stopSignal(c.Config.StopSignal)
			if err := m.Runtime.Kill(ctx, c.ID, sig); err != nil && m.Runtime.Alive(ctx, c.ID) {
				return fmt.Errorf("stop %s: %w", ref, err)
			}
			deadline := time.Now().Add(timeout)
			for m.Runtime.Alive(ctx, c.ID) && time.Now().Before(deadline) {
				time.Sleep(50 * time.Millisecond)
			}
			if m.Runtime.Alive(ctx, c.ID) {
				p.kill(ctx, m.Runtime, c.ID, syscall.SIGKILL)
			}
			p.waitFinished(c.ID)
		}
		fmt.Fprintln(w, ref)
	}
	return nil
}

// Kill sends sig to running containers.
func (m Manager) Kill(ctx context.Context, refs []string, sig string, w io.Writer) error {
	p := m.records()
	s := stopSignal(sig)
	if sig == "" {
		s = syscall.SIGKILL
	}
	for _, ref := range refs {
		c, err := p.find(ctx, m.Runtime, ref)
		if err != nil {
			return err
		}
		if !c.Running {
			return fmt.Errorf("cannot kill container: %s: container %s is not running", ref, c.ID[:12])
		}
		if err := m.Runtime.Kill(ctx, c.ID, s); err != nil {
			return fmt.Errorf("kill %s: %w", ref, err)
		}
		fmt.Fprintln(w, ref)
	}
	return nil
}

// waitFinished waits briefly for the monitor to record the exit and
// release the container's ports and network (unless it is dead).
func (p records) waitFinished(id string) {
	for i := 0; i < 100; i++ {
		if c, err := p.load(id); err != nil || !c.Running && (c.Attachment == nil || !alive(c.NetOwner)) {
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
