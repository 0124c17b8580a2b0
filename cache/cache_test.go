package cache

import (
	"strings"
	"testing"
	"time"

	"github.com/moby/buildkit/client"
)

func TestPruneOptions(t *testing.T) {
	t.Parallel()
	info := func(o PruneOptions) (client.PruneInfo, error) {
		var pi client.PruneInfo
		opts, err := pruneOptions(o)
		for _, opt := range opts {
			opt.SetPruneOption(&pi)
		}
		return pi, err
	}
	pi, err := info(PruneOptions{All: true, KeepStorage: 5, Filters: []string{"until=24h", "id=abc", "type=regular", "shared=true", "parent=p1"}})
	if err != nil {
		t.Fatal(err)
	}
	if pi.KeepDuration != 24*time.Hour || pi.ReservedSpace != 5 || !pi.All {
		t.Errorf("prune info %+v", pi)
	}
	if len(pi.Filter) != 1 || pi.Filter[0] != "id~=abc,parents==p1,type==regular,shared" {
		t.Errorf("BuildKit filter %q", pi.Filter)
	}
	if pi, _ := info(PruneOptions{Filters: []string{"unused-for=1h"}}); pi.KeepDuration != time.Hour || len(pi.Filter) != 0 {
		t.Errorf("unused-for: %+v", pi)
	}
	for in, want := range map[string]string{
		"bogus=1":     "invalid filter 'bogus'",
		"until":       "bad format of filter",
		"until=later": "want a duration",
		"inuse=false": "want inuse=true",
	} {
		if _, err := info(PruneOptions{Filters: []string{in}}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("--filter %s: %v; want %q", in, err, want)
		}
	}
	if _, err := info(PruneOptions{Filters: []string{"id=a", "id=b"}}); err == nil {
		t.Error("two ids accepted")
	}
}
