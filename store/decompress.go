package store

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/klauspost/compress/zstd"
)

var (
	gzipMagic = []byte{0x1f, 0x8b}
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// IsCompressed reports whether a stream that starts with magic (its
// first four bytes) is one Decompress decompresses. (image.Compressed
// makes a compressed copy of an image.)
func IsCompressed(magic []byte) bool {
	return bytes.HasPrefix(magic, gzipMagic) || bytes.HasPrefix(magic, zstdMagic)
}

// Decompress returns r's content, gunzipped or un-zstd'ed when its first
// bytes say so, else as it is. Pure Go on purpose, for archives and layers
// alike: containerd's DecompressStream runs an external unpigz when one is
// on PATH, and what is decompressed may be hostile.
func Decompress(r io.Reader) (io.ReadCloser, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	magic, _ := br.Peek(4)
	switch {
	case bytes.HasPrefix(magic, gzipMagic):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		return zr, nil
	case bytes.HasPrefix(magic, zstdMagic):
		zr, err := zstd.NewReader(br, zstd.WithDecoderMaxMemory(1<<30))
		if err != nil {
			return nil, fmt.Errorf("zstd: %w", err)
		}
		return zr.IOReadCloser(), nil
	}
	return io.NopCloser(br), nil
}

// DiffID is the digest of the blob desc's decompressed content. A blob
// that is not compressed is its own diff ID: the content store filed it
// under the digest of its bytes, so only its first bytes are read.
func DiffID(ctx context.Context, cs content.Provider, desc ocispec.Descriptor) (digest.Digest, error) {
	ra, err := cs.ReaderAt(ctx, desc)
	if err != nil {
		return "", err
	}
	defer ra.Close()
	magic := make([]byte, 4)
	n, _ := ra.ReadAt(magic, 0)
	if !IsCompressed(magic[:n]) {
		return desc.Digest, nil
	}
	r, err := Decompress(content.NewReader(ra))
	if err != nil {
		return "", err
	}
	defer r.Close()
	d := digest.Canonical.Digester()
	if _, err := io.Copy(d.Hash(), r); err != nil {
		return "", err
	}
	return d.Digest(), nil
}
