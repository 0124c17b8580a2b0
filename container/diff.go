package container

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/containerd/continuity/fs"
)

// Diff prints a container's changes to its image as docker does: A, C or
// D and the path, from the container's overlay upper directory.
func (m Manager) Diff(ctx context.Context, ref string, w io.Writer) error {
	p := m.records()
	c, err := p.find(ctx, m.Runtime, ref)
	if err != nil {
		return err
	}
	_, lowers, err := p.imageLayers(ctx, m.Store, c)
	if err != nil {
		return err
	}
	return walkChanges(ctx, p.upper(c.ID), lowers, func(k fs.ChangeKind, path string, _ os.FileInfo, _ string) error {
		fmt.Fprintf(w, "%s %s\n", changeLetter(k), path)
		return nil
	})
}

func changeLetter(k fs.ChangeKind) string {
	switch k {
	case fs.ChangeKindAdd:
		return "A"
	case fs.ChangeKindDelete:
		return "D"
	}
	return "C"
}
