package interrupt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// The scenarios run in a child process, the signals being the process's.
const scenarioEnv = "INTERRUPT_TEST_SCENARIO"

func TestMain(m *testing.M) {
	if s := os.Getenv(scenarioEnv); s != "" {
		runScenario(s)
		return
	}
	os.Exit(m.Run())
}

// runScenario prints "cancelled" once its context is, and "alive" if the
// process survives to its end.
func runScenario(name string) {
	ctx, cancel, stop := Notify(context.Background())
	defer stop()
	self := func(sig syscall.Signal) { syscall.Kill(os.Getpid(), sig) }
	waitDone := func() {
		select {
		case <-ctx.Done():
			fmt.Println("cancelled")
		case <-time.After(10 * time.Second):
			fmt.Println("not cancelled")
			os.Exit(3)
		}
	}
	switch name {
	case "one signal":
		self(syscall.SIGINT)
		waitDone()
	case "cancel, then a signal":
		// The docker CLI closed its plugin socket before builder's own
		// SIGINT from the same Ctrl-C arrived.
		cancel()
		<-ctx.Done()
		time.Sleep(100 * time.Millisecond)
		self(syscall.SIGINT)
		waitDone()
	case "two signals":
		self(syscall.SIGTERM)
		waitDone()
		self(syscall.SIGINT)
	case "stopped":
		stop()
		self(syscall.SIGTERM)
	}
	time.Sleep(500 * time.Millisecond)
	fmt.Println("alive")
}

func TestNotify(t *testing.T) {
	for _, tc := range []struct {
		scenario string
		out      string
		killedBy syscall.Signal // 0: exits 0
	}{
		{"one signal", "cancelled\nalive\n", 0},
		{"cancel, then a signal", "cancelled\nalive\n", 0},
		{"two signals", "cancelled\n", syscall.SIGINT},
		{"stopped", "", syscall.SIGTERM},
	} {
		t.Run(tc.scenario, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), scenarioEnv+"="+tc.scenario)
			out, err := cmd.Output()
			if string(out) != tc.out {
				t.Errorf("printed %q, want %q", out, tc.out)
			}
			var ee *exec.ExitError
			switch {
			case tc.killedBy == 0 && err != nil:
				t.Errorf("exited with %v, want 0", err)
			case tc.killedBy != 0 && !errors.As(err, &ee):
				t.Errorf("exited with %v, want killed by %v", err, tc.killedBy)
			case tc.killedBy != 0:
				ws := ee.Sys().(syscall.WaitStatus)
				if !ws.Signaled() || ws.Signal() != tc.killedBy {
					t.Errorf("exited with %v, want killed by %v", err, tc.killedBy)
				}
			}
		})
	}
}

// A process started with SIGINT ignored (a script's background job) still
// leaves at the second signal: Reset gives it back its ignored SIGINT.
func TestNotifyStartedIgnoring(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", `trap "" INT; exec "$0" -test.run=^$`, os.Args[0])
	cmd.Env = append(os.Environ(), scenarioEnv+"=two signals")
	out, err := cmd.Output()
	if string(out) != "cancelled\n" {
		t.Errorf("printed %q, want %q", out, "cancelled\n")
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 128+int(syscall.SIGINT) {
		t.Errorf("exited with %v, want exit %d", err, 128+int(syscall.SIGINT))
	}
}

// Reader passes a stream on exactly, and gives way to ctx while the read
// underneath blocks.
func TestReader(t *testing.T) {
	want := bytes.Repeat([]byte("0123456789abcdef"), 100000) // 1.6 MB, several read-aheads
	r, w := io.Pipe()
	go func() {
		for b := want; len(b) > 0; {
			n := min(len(b), 7777)
			w.Write(b[:n])
			b = b[n:]
		}
		w.Close()
	}()
	got, err := io.ReadAll(Reader(context.Background(), r))
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("read %d bytes, %v; want %d", len(got), err, len(want))
	}
	blocked, _ := io.Pipe() // nothing is ever written
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := Reader(ctx, blocked).Read(make([]byte, 10))
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("a read cancelled while blocked: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a blocked read ignored the cancel")
	}
	// A regular file is read as it is.
	f, err := os.Open(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if Reader(ctx, f) != io.Reader(f) {
		t.Errorf("a regular file was wrapped")
	}
}
