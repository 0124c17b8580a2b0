// Package filters is docker's --filter, for every verb that takes one
// (images, ps, image prune, container prune, builder prune): KEY=VALUE
// values, parsed once and checked against the keys the verb accepts, and
// matched by docker's rules. The values of one key are alternatives (any
// may hold) and different keys must all hold, except for labels: every
// label= given must hold and no label!= may.
//
// docker's own Args is the daemon's (the deprecated docker/docker module);
// moby's client module only builds requests. This is the part builder
// needs of it.
package filters

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Args are --filter values by key; "label!=K" is the key "label!".
type Args map[string][]string

// Parse reads --filter values, refusing a key accepted does not list with
// the daemon's words.
func Parse(values []string, accepted ...string) (Args, error) {
	a := Args{}
	for _, v := range values {
		k, val, ok := strings.Cut(v, "=")
		if !ok {
			return nil, fmt.Errorf("invalid argument %q for \"--filter\" flag: bad format of filter (expected name=value)", v)
		}
		k = strings.ToLower(strings.TrimSpace(k))
		if !slices.Contains(accepted, k) {
			return nil, fmt.Errorf("invalid filter '%s' (want one of: %s)", k, strings.Join(accepted, ", "))
		}
		a[k] = append(a[k], strings.TrimSpace(val))
	}
	return a, nil
}

// Any reports whether key is absent or one of its values holds for match.
func (a Args) Any(key string, match func(value string) bool) bool {
	vs, ok := a[key]
	if !ok {
		return true
	}
	return slices.ContainsFunc(vs, match)
}

// Labels reports whether labels hold every label=K or label=K=V given and
// none of the label!= ones.
func (a Args) Labels(labels map[string]string) bool {
	has := func(f string) bool {
		k, v, withValue := strings.Cut(f, "=")
		got, ok := labels[k]
		return ok && (!withValue || got == v)
	}
	for _, f := range a["label"] {
		if !has(f) {
			return false
		}
	}
	return !slices.ContainsFunc(a["label!"], has)
}

// Bool is key's value as docker reads dangling=: true or 1, false or 0.
func (a Args) Bool(key string) (value, set bool, err error) {
	vs := a[key]
	if len(vs) == 0 {
		return false, false, nil
	}
	for _, v := range vs[1:] {
		if v != vs[0] {
			return false, false, fmt.Errorf("--filter %s: conflicting values %q and %q", key, vs[0], v)
		}
	}
	switch strings.ToLower(vs[0]) {
	case "true", "1":
		return true, true, nil
	case "false", "0":
		return false, true, nil
	}
	return false, false, fmt.Errorf("invalid filter '%s=%s': want true or false", key, vs[0])
}

// Until is the until= filter's time (a duration back from now, or a
// timestamp), zero when not given.
func (a Args) Until(now time.Time) (time.Time, error) {
	vs := a["until"]
	switch len(vs) {
	case 0:
		return time.Time{}, nil
	case 1:
	default:
		return time.Time{}, fmt.Errorf("--filter until: give one value, not %d", len(vs))
	}
	t, err := ParseTime(vs[0], now)
	if err != nil {
		return time.Time{}, fmt.Errorf("--filter until=%s: %w", vs[0], err)
	}
	return t, nil
}

// ParseTime reads a duration back from now ("24h") or a timestamp (RFC
// 3339, a date, Unix seconds), as docker reads until= and since=.
func ParseTime(v string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(v); err == nil {
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339Nano, time.RFC3339, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	if sec, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.Unix(sec, 0), nil
	}
	return time.Time{}, fmt.Errorf("want a duration (24h) or a timestamp")
}

// Prune is the filters of image prune and container prune: until= and
// label=/label!=.
type Prune struct {
	args  Args
	until time.Time
}

// ParsePrune reads prune's --filter values, until= counted back from now.
func ParsePrune(values []string, now time.Time) (Prune, error) {
	a, err := Parse(values, "until", "label", "label!")
	if err != nil {
		return Prune{}, err
	}
	until, err := a.Until(now)
	if err != nil {
		return Prune{}, err
	}
	return Prune{args: a, until: until}, nil
}

// Match reports whether an object created at created, with labels,
// passes the filters (and may be pruned).
func (p Prune) Match(created time.Time, labels map[string]string) bool {
	return (p.until.IsZero() || created.Before(p.until)) && p.args.Labels(labels)
}
