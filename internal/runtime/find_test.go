package runtime

import "testing"

func TestParseRuncVersion(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want [3]int
		old  bool
	}{
		{"runc version 1.5.2\ncommit: v1.5.2\nspec: 1.3.0\n", [3]int{1, 5, 2}, false},
		{"runc version 1.1.5+ds1\nspec: 1.0.2-dev\n", [3]int{1, 1, 5}, true},
		{"runc version 1.4.3\n", [3]int{1, 4, 3}, false},
		{"runc version 1.4.2-rc.1\n", [3]int{1, 4, 2}, true},
	} {
		got, ok := parseRuncVersion(tc.in)
		if !ok || got != tc.want {
			t.Errorf("parseRuncVersion(%q) = %v, %v; want %v", tc.in, got, ok, tc.want)
		}
		if less(got, MinRunc) != tc.old {
			t.Errorf("less(%v, MinRunc) = %v; want %v", got, !tc.old, tc.old)
		}
	}
	if _, ok := parseRuncVersion("garbage"); ok {
		t.Error("parseRuncVersion(garbage) succeeded")
	}
}
