package solver

import (
	"testing"
	"time"

	bkconfig "github.com/moby/buildkit/cmd/buildkitd/config"
)

func TestGCPolicy(t *testing.T) {
	off := false
	if p := gcPolicy(bkconfig.GCConfig{GC: &off}, t.TempDir()); p != nil {
		t.Errorf("gc = false: policy %v, want none", p)
	}
	// No settings: buildkitd's four default rules, capped by the disk.
	def := gcPolicy(bkconfig.GCConfig{}, t.TempDir())
	if len(def) != 4 || def[3].MaxUsedSpace <= 0 || !def[3].All {
		t.Errorf("default policy %+v", def)
	}
	capped := gcPolicy(bkconfig.GCConfig{GCMaxUsedSpace: bkconfig.DiskSpace{Bytes: 2e6}}, t.TempDir())
	if last := capped[len(capped)-1]; last.MaxUsedSpace != 2e6 {
		t.Errorf("maxUsedSpace = 2MB: last rule %+v", last)
	}
	// An explicit rule is taken as written; keepBytes is reservedSpace's old name.
	rules := gcPolicy(bkconfig.GCConfig{GCPolicy: []bkconfig.GCPolicy{{
		Filters:      []string{"type==source.local"},
		KeepDuration: bkconfig.Duration{Duration: time.Hour},
		KeepBytes:    bkconfig.DiskSpace{Bytes: 1e6},
	}}}, t.TempDir())
	if len(rules) != 1 || rules[0].ReservedSpace != 1e6 || rules[0].KeepDuration != time.Hour || rules[0].Filter[0] != "type==source.local" {
		t.Errorf("explicit rule became %+v", rules)
	}
}

// A collection that starts after the solver closed does nothing; close
// waits for one under way.
func TestGCGate(t *testing.T) {
	var g gcGate
	ran := 0
	g.run(func() error { ran++; return nil })
	started, release := make(chan struct{}), make(chan struct{})
	go g.run(func() error { close(started); <-release; ran++; return nil })
	<-started
	closed := make(chan struct{})
	go func() { g.close(); close(closed) }()
	select {
	case <-closed:
		t.Fatal("close returned while a collection was under way")
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	<-closed
	if err := g.run(func() error { ran++; return nil }); err != nil || ran != 2 {
		t.Fatalf("after close: err %v, %d collections ran, want 2", err, ran)
	}
}
