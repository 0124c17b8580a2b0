// Package progress shows a build's progress with BuildKit's own display,
// in docker's modes: auto, tty, plain, quiet and rawjson.
package progress

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/util/progress/progressui"
)

// Modes lists what --progress accepts.
var Modes = []string{"auto", "tty", "plain", "quiet", "rawjson"}

// Mode resolves the --progress flag: the flag wins, then BUILDKIT_PROGRESS,
// then auto (a live view in a terminal, plain lines elsewhere).
func Mode(flag string) (progressui.DisplayMode, error) {
	m := flag
	if m == "" {
		m = os.Getenv("BUILDKIT_PROGRESS")
	}
	if m == "" {
		m = "auto"
	}
	for _, ok := range Modes {
		if m == ok {
			return progressui.DisplayMode(m), nil
		}
	}
	return "", fmt.Errorf("--progress %q: want one of auto, tty, plain, quiet, rawjson", m)
}

// Display draws the statuses from ch on w until ch is closed. A tty mode on
// a non-terminal falls back to plain rather than failing the build.
func Display(ctx context.Context, mode progressui.DisplayMode, w io.Writer, ch chan *client.SolveStatus) error {
	d, err := progressui.NewDisplay(w, mode)
	if err != nil && mode == progressui.TtyMode {
		return fmt.Errorf("--progress tty: %w", err)
	}
	if err != nil {
		d, err = progressui.NewDisplay(w, progressui.PlainMode)
		if err != nil {
			return err
		}
	}
	_, err = d.UpdateFrom(ctx, ch)
	return err
}
