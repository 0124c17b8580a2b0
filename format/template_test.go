package format

import "testing"

func TestTemplate(t *testing.T) {
	t.Parallel()
	const table = "table {{.ID}}\t{{.Name}}"
	for _, tc := range []struct {
		format string
		quiet  bool
		want   string
	}{
		{"", false, table},
		{"table", false, table},
		{"{{.Name}}", false, "{{.Name}}"},
		{"table {{.Name}}", false, "table {{.Name}}"},
		{"", true, "{{.ID}}"},
		{"{{.Name}}", true, "{{.ID}}"}, // -q wins over --format, as in docker
	} {
		if got := Template(tc.format, tc.quiet, table); got != tc.want {
			t.Errorf("Template(%q, %v) = %q; want %q", tc.format, tc.quiet, got, tc.want)
		}
	}
}
