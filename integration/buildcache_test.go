//go:build integration

package integration

import (
	"strings"
	"testing"
)

// TestBuildCacheHousekeeping: builder du as buildx du, system df -v's
// build-cache table, and builder prune's filters and space flags, against
// a root whose cache records the test made.
func TestBuildCacheHousekeeping(t *testing.T) {
	e := newEnv(t)
	dir := writeContext(t, map[string]string{"Dockerfile": "FROM busybox\nRUN echo a > /a\nCOPY f /f\n", "f": "f\n"})
	e.must("build", "-t", "bc", dir)
	lines := func(s string) []string { return strings.Split(strings.TrimSpace(s), "\n") }

	du := e.must("du").stdout
	if l := lines(du); !strings.HasPrefix(l[0], "ID") || !strings.Contains(l[0], "RECLAIMABLE") || !strings.Contains(l[0], "LAST ACCESSED") ||
		!strings.HasPrefix(l[len(l)-1], "Total:") {
		t.Fatalf("du:\n%s", du)
	}
	types := lines(e.must("du", "--format", "{{.Type}}").stdout)
	count := func(typ string) int {
		n := 0
		for _, ty := range types {
			if ty == typ {
				n++
			}
		}
		return n
	}
	if count("regular") == 0 || count("source.local") == 0 {
		t.Fatalf("du --format {{.Type}}: %q", types)
	}
	for _, l := range lines(e.must("du", "--filter", "type=regular", "--format", "{{.Type}}").stdout) {
		if l != "regular" {
			t.Errorf("du --filter type=regular listed %q", l)
		}
	}
	if v := e.must("du", "--verbose").stdout; !strings.Contains(v, "Usage count:") || !strings.Contains(v, "Type:") {
		t.Errorf("du --verbose:\n%s", v)
	}
	if df := e.must("system", "df", "-v").stdout; !strings.Contains(df, "CACHE ID") || !strings.Contains(df, "regular") {
		t.Errorf("system df -v has no build-cache table:\n%s", df)
	}
	for _, bad := range [][]string{
		{"du", "--verbose", "--format", "{{.ID}}"},
		{"du", "--filter", "colour=red"},
		{"builder", "prune", "-f", "--reserved-space", "lots"},
		{"builder", "prune", "-f", "--filter", "until=later"},
	} {
		if r := e.run(bad...); r.code == 0 {
			t.Errorf("%v accepted: %s", bad, r)
		}
	}
	// Space limits the cache is under remove nothing.
	before := len(types)
	e.must("builder", "prune", "-a", "-f", "--max-used-space", "10GB", "--reserved-space", "1GB")
	if n := len(lines(e.must("du", "--format", "{{.ID}}").stdout)); n != before {
		t.Errorf("a prune within the limits removed records: %d, then %d", before, n)
	}
	// A filter removes what it names and nothing else.
	out := e.must("builder", "prune", "-a", "-f", "--verbose", "--filter", "type=source.local").stdout
	if !strings.Contains(out, "Description:\tlocal source for context") || !strings.Contains(out, "Total reclaimed space") {
		t.Errorf("prune --verbose printed no record:\n%s", out)
	}
	types = lines(e.must("du", "--format", "{{.Type}}").stdout)
	if count("source.local") != 0 || count("regular") == 0 {
		t.Errorf("after prune --filter type=source.local: %q", types)
	}
}
