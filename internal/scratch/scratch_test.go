package scratch

import (
	"os"
	"sync"
	"testing"
)

// A directory being claimed while other processes sweep is either taken
// by the claimer, and then stays, or removed before it was locked, and
// then claimed again: a claimed directory is never swept from under its
// owner. (flock locks belong to open files, so goroutines stand in for
// processes.)
func TestClaimWhileSweeping(t *testing.T) {
	base := t.TempDir()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
					Sweep(base)
				}
			}
		}()
	}
	var claimed []*Dir
	for len(claimed) < 300 {
		d, err := claim(base)
		if err != nil {
			t.Fatal(err)
		}
		if d == nil {
			continue // swept before it was locked: claim again
		}
		claimed = append(claimed, d)
		if _, err := os.Stat(d.path + "/.lock"); err != nil {
			t.Fatalf("claim %d: the claimed directory was swept: %v", len(claimed), err)
		}
	}
	close(stop)
	wg.Wait()
	for i, d := range claimed {
		if _, err := os.Stat(d.path); err != nil {
			t.Fatalf("claimed directory %d gone while its lock was held: %v", i, err)
		}
		d.Release()
		if _, err := os.Stat(d.path); !os.IsNotExist(err) {
			t.Errorf("released directory %d still there: %v", i, err)
		}
	}
}
