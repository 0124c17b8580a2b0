package main

import (
	"strings"
	"testing"
)

func TestInterspersed(t *testing.T) {
	t.Parallel()
	app := newApp()
	for in, want := range map[string]string{
		"builder save img -o f.tar":                     "builder save -o f.tar img",
		"builder image save img -o f.tar --format oci":  "builder image save -o f.tar --format oci img",
		"builder --root /r build . -t hello --no-cache": "builder --root /r build -t hello --no-cache .",
		"builder build . --tag=x -q":                    "builder build --tag=x -q .",
		"builder run --rm img ls -la":                   "builder run --rm img ls -la",
		"builder rmi a b -f":                            "builder rmi -f a b",
		"builder images":                                "builder images",
		"builder build -f - . -- -t":                    "builder build -f - . -- -t",
		"builder --debug images --format {{.ID}} nginx": "builder --debug images --format {{.ID}} nginx",
	} {
		got := strings.Join(interspersed(app, strings.Fields(in)), " ")
		if got != want {
			t.Errorf("interspersed(%q) = %q; want %q", in, got, want)
		}
	}
}
