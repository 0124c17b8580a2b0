package frontend

import (
	"reflect"
	"strings"
	"testing"
)

func TestAttestAttrs(t *testing.T) {
	for _, c := range []struct {
		o         AttestOptions
		published bool
		noDef     bool
		want      map[string]string
		err       string
	}{
		{AttestOptions{}, false, false, map[string]string{}, ""},
		{AttestOptions{}, true, false, map[string]string{"attest:provenance": "mode=min"}, ""},
		{AttestOptions{}, true, true, map[string]string{}, ""},
		{AttestOptions{Provenance: "false"}, true, false, map[string]string{}, ""},
		{AttestOptions{Provenance: "true"}, false, false, map[string]string{"attest:provenance": "mode=min"}, ""},
		{AttestOptions{Provenance: "mode=max,builder-id=ci"}, false, false, map[string]string{"attest:provenance": "builder-id=ci,mode=max"}, ""},
		{AttestOptions{Attest: []string{"type=provenance,mode=max"}}, true, false, map[string]string{"attest:provenance": "mode=max"}, ""},
		{AttestOptions{Attest: []string{"type=provenance,disabled=true"}}, true, false, map[string]string{}, ""},
		{AttestOptions{SBOM: "true"}, false, false, map[string]string{"attest:sbom": ""}, ""},
		{AttestOptions{SBOM: "generator=example.com/gen:1"}, false, false, map[string]string{"attest:sbom": "generator=example.com/gen:1"}, ""},
		{AttestOptions{Provenance: "mode=all"}, false, false, nil, `mode="all"`},
		{AttestOptions{Attest: []string{"mode=max"}}, false, false, nil, "type=provenance or type=sbom is required"},
		{AttestOptions{Attest: []string{"type=slsa"}}, false, false, nil, "unknown attestation type"},
		{AttestOptions{Provenance: "novalue"}, false, false, nil, "is not key=value"},
	} {
		if c.noDef {
			t.Setenv("BUILDX_NO_DEFAULT_ATTESTATIONS", "1")
		} else {
			t.Setenv("BUILDX_NO_DEFAULT_ATTESTATIONS", "")
		}
		got, err := attestAttrs(c.o, c.published)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%+v: error %v; want %q", c.o, err, c.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%+v published=%v: %v, %v; want %v", c.o, c.published, got, err, c.want)
		}
	}
}
