package filters

import (
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	t.Parallel()
	a, err := Parse([]string{"Label=a=b", "label!=c", "name=x", "name=y", " status = running "}, "label", "label!", "name", "status")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(a["label"], ",") != "a=b" || strings.Join(a["label!"], ",") != "c" || len(a["name"]) != 2 || a["status"][0] != "running" {
		t.Errorf("Parse = %v", a)
	}
	for in, want := range map[string]string{"colour=red": "invalid filter 'colour'", "colour": "bad format of filter (expected name=value)"} {
		if _, err := Parse([]string{in}, "label"); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) = %v; want %q", in, err, want)
		}
	}
}

func TestMatch(t *testing.T) {
	t.Parallel()
	a, _ := Parse([]string{"name=x", "name=y", "label=a", "label=b=2", "label!=c"}, "name", "label", "label!")
	// One key's values are alternatives; another key must hold too.
	if !a.Any("name", func(v string) bool { return v == "y" }) || a.Any("name", func(v string) bool { return v == "z" }) {
		t.Error("name= values are not alternatives")
	}
	if !a.Any("absent", func(string) bool { return false }) {
		t.Error("an absent key does not hold")
	}
	for _, c := range []struct {
		labels map[string]string
		want   bool
	}{
		{map[string]string{"a": "", "b": "2"}, true},
		{map[string]string{"a": "1", "b": "2", "d": "x"}, true},
		{map[string]string{"a": "1"}, false},                   // every label= must hold
		{map[string]string{"a": "1", "b": "3"}, false},         // with its value
		{map[string]string{"a": "", "b": "2", "c": ""}, false}, // and no label!=
	} {
		if got := a.Labels(c.labels); got != c.want {
			t.Errorf("Labels(%v) = %v; want %v", c.labels, got, c.want)
		}
	}
}

func TestBoolAndUntil(t *testing.T) {
	t.Parallel()
	a, _ := Parse([]string{"dangling=1", "until=2h"}, "dangling", "until")
	if v, set, err := a.Bool("dangling"); !v || !set || err != nil {
		t.Errorf("dangling=1: %v %v %v", v, set, err)
	}
	if _, set, _ := a.Bool("other"); set {
		t.Error("an absent bool is set")
	}
	b, _ := Parse([]string{"dangling=maybe"}, "dangling")
	if _, _, err := b.Bool("dangling"); err == nil {
		t.Error("dangling=maybe accepted")
	}
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	if u, err := a.Until(now); err != nil || !u.Equal(now.Add(-2*time.Hour)) {
		t.Errorf("until=2h: %v %v", u, err)
	}
	for in, want := range map[string]time.Time{
		"2026-01-02":           time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC),
		"2026-01-02T03:04:05Z": time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		"1700000000":           time.Unix(1700000000, 0),
	} {
		if got, err := ParseTime(in, now); err != nil || !got.Equal(want) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"later", "12abc", ""} {
		if _, err := ParseTime(bad, now); err == nil {
			t.Errorf("ParseTime(%q) accepted", bad)
		}
	}
}

func TestPrune(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	p, err := ParsePrune([]string{"until=24h", "label!=keep"}, now)
	if err != nil {
		t.Fatal(err)
	}
	old, young := now.Add(-48*time.Hour), now.Add(-time.Hour)
	if !p.Match(old, nil) || p.Match(young, nil) || p.Match(old, map[string]string{"keep": ""}) {
		t.Error("until=24h, label!=keep: wrong matches")
	}
	if _, err := ParsePrune([]string{"dangling=true"}, now); err == nil {
		t.Error("prune accepted dangling=")
	}
}
