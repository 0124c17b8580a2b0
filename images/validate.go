package images

import (
	"archive/tar"
	"bufio"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/builder-dev/builder/store"
	"github.com/opencontainers/go-digest"
)

// validated wraps an archive stream so that a second tar reader checks
// every entry's header as the importer reads it: an absolute name, a name
// or link that climbs out with "..", or an entry type an image archive has
// no use for fails the read, and with it the import. wait reports the
// verdict on the entries the importer may have read last.
//
// The same reader also digests each compressed entry's decompressed
// content as it streams past, so that load can check layers against their
// image config's diff IDs without reading them again: sums maps an entry's
// digest to the digest of its decompressed content. It is complete once
// wait has returned.
func validated(r io.Reader) (_ io.Reader, wait func() error, sums map[digest.Digest]digest.Digest) {
	pr, pw := io.Pipe()
	verdict := make(chan error, 1)
	sums = map[digest.Digest]digest.Digest{}
	go func() {
		err := checkEntries(pr, sums)
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
	wait = func() error {
		pw.Close()
		return <-verdict
	}
	return tee, wait, sums
}

// ErrHostileArchive marks an archive refused for its entries.
var ErrHostileArchive = errors.New("refusing archive")

func checkEntries(r io.Reader, sums map[digest.Digest]digest.Digest) error {
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
		case tar.TypeReg, tar.TypeRegA:
			if err := digestEntry(tr, sums); err != nil {
				return err
			}
		case tar.TypeDir:
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

// digestEntry records the decompressed digest of a gzip or zstd entry. An
// entry that does not decompress is left out: load then reads the layer
// from the store and reports what is wrong with it.
func digestEntry(r io.Reader, sums map[digest.Digest]digest.Digest) error {
	br := bufio.NewReaderSize(r, 64<<10)
	magic, _ := br.Peek(4)
	if !store.IsCompressed(magic) {
		_, err := io.Copy(io.Discard, br)
		return ignoreMalformed(err)
	}
	packed := digest.Canonical.Digester()
	unpacked := digest.Canonical.Digester()
	zr, err := store.Decompress(io.TeeReader(br, packed.Hash()))
	if err != nil {
		_, err := io.Copy(io.Discard, br)
		return ignoreMalformed(err)
	}
	defer zr.Close()
	if _, err := io.Copy(unpacked.Hash(), zr); err != nil {
		_, err := io.Copy(io.Discard, br)
		return ignoreMalformed(err)
	}
	// Whatever follows the compressed stream belongs to the blob too.
	if _, err := io.Copy(packed.Hash(), br); err != nil {
		return ignoreMalformed(err)
	}
	sums[packed.Digest()] = unpacked.Digest()
	return nil
}

// ignoreMalformed: the importer reports a malformed archive itself; a
// refusal (the pipe closed with the importer's error) ends the check.
func ignoreMalformed(err error) error {
	if err == nil || errors.Is(err, io.ErrUnexpectedEOF) {
		return nil
	}
	return err
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
