package image

import (
	"strings"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestMergeEnv(t *testing.T) {
	t.Parallel()
	env := []string{"A=1", "PATH=/bin", "B=2"}
	got := MergeEnv(env, "B=3", "C=4", "A=", "PATHX=5")
	if strings.Join(got, " ") != "A= PATH=/bin B=3 C=4 PATHX=5" {
		t.Errorf("MergeEnv = %q", got)
	}
	if strings.Join(env, " ") != "A=1 PATH=/bin B=2" {
		t.Errorf("MergeEnv changed its input: %q", env)
	}
	if got := WithDefaultPath([]string{"A=1"}); got[0] != "PATH="+DefaultPath || len(got) != 2 {
		t.Errorf("WithDefaultPath = %q", got)
	}
	if got := WithDefaultPath(env); strings.Join(got, " ") != strings.Join(env, " ") {
		t.Errorf("WithDefaultPath replaced a PATH: %q", got)
	}
}

func TestApplyChangeEnv(t *testing.T) {
	t.Parallel()
	cfg := ocispec.ImageConfig{Env: []string{"A=1", "P=x"}}
	if err := ApplyChange(&cfg, "ENV A=2 B=3"); err != nil {
		t.Fatal(err)
	}
	if strings.Join(cfg.Env, " ") != "A=2 P=x B=3" {
		t.Errorf("ENV gave %q", cfg.Env)
	}
}
