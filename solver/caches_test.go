package solver

import "testing"

// EmbeddedCaches answers from the backends the embedded solver registers.
func TestEmbeddedCaches(t *testing.T) {
	for typ, want := range map[string]bool{"registry": true, "local": true, "inline": true, "nosuch": false} {
		if got := EmbeddedCaches(typ); got != want {
			t.Errorf("EmbeddedCaches(%q) = %v, want %v", typ, got, want)
		}
	}
	exporters, _ := cloudCaches()
	if _, linked := exporters["gha"]; EmbeddedCaches("gha") != linked || EmbeddedCaches("s3") != linked {
		t.Errorf("gha/s3: EmbeddedCaches disagrees with the linked cloud backends (%v)", linked)
	}
}
