package exporter

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse: any -o value is a spec or an error; a spec's plan is made or
// refused without writing anything (files are created only when BuildKit
// asks for them).
func FuzzParse(f *testing.F) {
	for _, s := range []string{"type=docker,dest=f.tar", "type=oci,dest=-", "type=local,dest=dir", "-", "out", "type=image,name=x,push=true",
		`"type=tar,dest=a,b"`, "type=,dest=", "type=registry", "dest=x", "type=oci,tar=false,dest=d", "a=b=c", `"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		dir := t.TempDir()
		wd, _ := os.Getwd()
		if err := os.Chdir(dir); err != nil {
			t.Fatal(err)
		}
		defer os.Chdir(wd)
		sp, err := Parse(s)
		if err != nil {
			return
		}
		if p, err := NewPlan([]Spec{sp}, []string{"docker.io/library/x:latest"}, false, nil, &bytes.Buffer{}, false); err == nil {
			p.Abort()
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 0 {
			t.Fatalf("planning -o %q wrote %s", s, filepath.Join(dir, ents[0].Name()))
		}
	})
}
