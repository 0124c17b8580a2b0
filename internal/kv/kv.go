// Package kv reads the comma-separated KEY=VALUE lists buildx's flags take
// (-o, --cache-to, --cache-from, --attest, --provenance, --sbom).
package kv

import (
	"fmt"
	"strings"

	"github.com/tonistiigi/go-csvvalue"
)

// Parse reads s as CSV fields of KEY=VALUE (a value may be quoted and hold
// commas), with keys trimmed and lower-cased as buildx reads them; a later
// key wins over an earlier one. The caller names its flag in errors.
func Parse(s string) (map[string]string, error) {
	fields, err := csvvalue.Fields(s, nil)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(fields))
	for _, f := range fields {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return nil, fmt.Errorf("%q is not key=value", f)
		}
		out[strings.ToLower(strings.TrimSpace(k))] = v
	}
	return out, nil
}
