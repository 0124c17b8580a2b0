package image

import "strings"

// DefaultPath is the PATH docker gives a container whose image sets none
// (an import, say).
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// MergeEnv returns env with each KEY=VALUE of add set in turn: in place of
// KEY's entries where env has them, else appended. It is the one rule of
// ENV (commit -c, import -c), run's -e and --env-file, and exec's -e.
// env itself is not changed.
func MergeEnv(env []string, add ...string) []string {
	out := append([]string(nil), env...)
	for _, a := range add {
		k, _, _ := strings.Cut(a, "=")
		replaced := false
		for i, e := range out {
			if strings.HasPrefix(e, k+"=") {
				out[i], replaced = a, true
			}
		}
		if !replaced {
			out = append(out, a)
		}
	}
	return out
}

// WithDefaultPath returns env with DefaultPath first when it has no PATH.
func WithDefaultPath(env []string) []string {
	for _, e := range env {
		if strings.HasPrefix(e, "PATH=") {
			return append([]string(nil), env...)
		}
	}
	return append([]string{"PATH=" + DefaultPath}, env...)
}
