package container

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A bare NAME takes this process's value, or is left out when it has none,
// whether it comes from -e or from an env file.
func TestHostValue(t *testing.T) {
	t.Setenv("BUILDER_TEST_SET", "v")
	os.Unsetenv("BUILDER_TEST_UNSET")
	file := filepath.Join(t.TempDir(), "env")
	os.WriteFile(file, []byte("# comment\nA=1\nBUILDER_TEST_SET\nBUILDER_TEST_UNSET\n\nB=\n"), 0644)
	got, err := readEnvFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, " ") != "A=1 BUILDER_TEST_SET=v B=" {
		t.Errorf("env file read as %q", got)
	}
	for in, want := range map[string]string{"X=y": "X=y", "BUILDER_TEST_SET": "BUILDER_TEST_SET=v", "E=": "E="} {
		if got, ok := hostValue(in); !ok || got != want {
			t.Errorf("hostValue(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	if _, ok := hostValue("BUILDER_TEST_UNSET"); ok {
		t.Error("an unset bare name was kept")
	}
}
