package solver

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/session/secrets"
	"github.com/moby/buildkit/session/secrets/secretsprovider"
)

// A session run with dialSession is served by the manager, and once the
// session ends the manager forgets it and both sockets are closed.
func TestDialSession(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sm, err := session.NewManager()
	if err != nil {
		t.Fatal(err)
	}
	e := &embedded{sm: sm}
	fds := openFDs(t)

	s, err := session.NewSession(ctx, "key")
	if err != nil {
		t.Fatal(err)
	}
	s.Allow(secretsprovider.FromMap(map[string][]byte{"id": []byte("value")}))
	ran := make(chan error, 1)
	go func() { ran <- s.Run(ctx, e.dialSession) }()

	c, err := sm.Get(ctx, s.ID(), false)
	if err != nil {
		t.Fatalf("session not served: %v", err)
	}
	dt, err := secrets.GetSecret(ctx, c, "id")
	if err != nil || string(dt) != "value" {
		t.Fatalf("secret through the session: %q, %v", dt, err)
	}

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-ran; err != nil {
		t.Fatalf("session run: %v", err)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if c, err := sm.Get(ctx, s.ID(), true); err != nil || c == nil {
			break // Get without waiting finds no session: (nil, nil)
		}
		if time.Now().After(deadline) {
			t.Fatal("the manager still serves the ended session")
		}
	}
	for deadline := time.Now().Add(5 * time.Second); openFDs(t) > fds; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d file descriptors open after the session ended, %d before", openFDs(t), fds)
		}
	}
}

func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}
