package metareply

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestWriteMetadata(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"SchemaVersion", "Vendor", "Version", "ShortDescription", "URL"} {
		if m[k] == "" || m[k] == nil {
			t.Errorf("metadata lacks %s: %s", k, buf.String())
		}
	}
	if m["SchemaVersion"] != "0.1.0" {
		t.Errorf("SchemaVersion %v", m["SchemaVersion"])
	}
}

func TestIsRequest(t *testing.T) {
	for argv, want := range map[string]bool{
		"/x/docker-bld docker-cli-plugin-metadata": true,
		"docker-bld docker-cli-plugin-metadata":    true,
		"builder docker-cli-plugin-metadata":       false,
		"docker-bld bld build":                     false,
		"docker-bld":                               false,
	} {
		if got := IsRequest(strings.Fields(argv)); got != want {
			t.Errorf("IsRequest(%q) = %v", argv, got)
		}
	}
}
