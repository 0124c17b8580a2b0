package solver

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	resourcestypes "github.com/moby/buildkit/executor/resources/types"
	"github.com/moby/buildkit/util/network"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// fakeProvider hands out namespaces and records whether it was closed
// while one of them was still open.
type fakeProvider struct {
	open         atomic.Int32
	closedEarly  atomic.Bool
	closedLately atomic.Bool
}

func (p *fakeProvider) New(context.Context, string, network.NamespaceOptions) (network.Namespace, error) {
	p.open.Add(1)
	return &fakeNamespace{p: p}, nil
}

func (p *fakeProvider) Close() error {
	if p.open.Load() > 0 {
		p.closedEarly.Store(true)
	} else {
		p.closedLately.Store(true)
	}
	return nil
}

type fakeNamespace struct{ p *fakeProvider }

func (n *fakeNamespace) Close() error                                   { n.p.open.Add(-1); return nil }
func (n *fakeNamespace) Set(*specs.Spec) error                          { return nil }
func (n *fakeNamespace) Sample() (*resourcestypes.NetworkSample, error) { return nil, nil }

// TestBridgeCloseWaitsForSteps: a step cancelled as the solver closes
// releases its namespace after the client's Solve has returned; the
// provider is closed (and the process exits) only once it has.
func TestBridgeCloseWaitsForSteps(t *testing.T) {
	p := &fakeProvider{}
	l := &lazyBridge{}
	l.once.Do(func() { l.p = p })
	ns, err := l.New(context.Background(), "", network.NamespaceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(200 * time.Millisecond) // the step's runc stopping
		ns.Close()
	}()
	start := time.Now()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if p.closedEarly.Load() || !p.closedLately.Load() {
		t.Fatalf("the provider was closed with a step's namespace still open (after %v)", time.Since(start))
	}
}
