package kv

import (
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	t.Parallel()
	got, err := Parse(`type=registry, Ref=r/c:1,"annotation.a=x,y",mode=min,mode=max`)
	want := map[string]string{"type": "registry", "ref": "r/c:1", "annotation.a": "x,y", "mode": "max"}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("Parse = %v, %v; want %v", got, err, want)
	}
	if _, err := Parse("type=x,novalue"); err == nil || !strings.Contains(err.Error(), `"novalue" is not key=value`) {
		t.Errorf("a field without = : %v", err)
	}
	if _, err := Parse(`a="unterminated`); err == nil {
		t.Error("a bad CSV quote was accepted")
	}
}
