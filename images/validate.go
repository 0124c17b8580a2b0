package images

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
)

// validated wraps an archive stream so that a second tar reader checks
// every entry's header as the importer reads it: an absolute name, a name
// or link that climbs out with "..", or an entry type an image archive has
// no use for fails the read, and with it the import. wait reports the
// verdict on the entries the importer may have read last.
func validated(r io.Reader) (io.Reader, func() error) {
	pr, pw := io.Pipe()
	verdict := make(chan error, 1)
	go func() {
		err := checkEntries(pr)
		if err != nil {
			// The importer's next read fails with err.
			pr.CloseWithError(err)
		} else {
			// Keep taking what the importer reads (padding, or a malformed
			// rest it reports itself) until it is done.
			io.Copy(io.Discard, pr)
		}
		verdict <- err
	}()
	tee := io.TeeReader(r, pw)
	wait := func() error {
		pw.Close()
		return <-verdict
	}
	return tee, wait
}

// ErrHostileArchive marks an archive refused for its entries.
var ErrHostileArchive = errors.New("refusing archive")

func checkEntries(r io.Reader) error {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			// The importer reports malformed archives itself.
			return nil
		}
		if err := checkName(h.Name); err != nil {
			return err
		}
		switch h.Typeflag {
		case tar.TypeReg, tar.TypeRegA, tar.TypeDir:
		case tar.TypeSymlink, tar.TypeLink:
			target := h.Linkname
			if h.Typeflag == tar.TypeSymlink && !path.IsAbs(target) {
				target = path.Join(path.Dir(h.Name), target)
			}
			if path.IsAbs(h.Linkname) || escapes(target) {
				return fmt.Errorf("%w: entry %q links outside the archive (%q)", ErrHostileArchive, h.Name, h.Linkname)
			}
		default:
			return fmt.Errorf("%w: entry %q is a device, FIFO or other special file", ErrHostileArchive, h.Name)
		}
	}
}

func checkName(name string) error {
	if path.IsAbs(name) || escapes(name) {
		return fmt.Errorf("%w: entry %q is outside the archive", ErrHostileArchive, name)
	}
	return nil
}

func escapes(p string) bool {
	c := path.Clean(p)
	return c == ".." || strings.HasPrefix(c, "../")
}
