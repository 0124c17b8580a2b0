// Package layergzip is builder's one gzip writer for image layers: the
// store's (import, commit, push's compression of stored layers) and the
// embedded solver's (cache export). It is klauspost's gzip, whose output
// is a few percent larger than compress/gzip's at about 2.7 times its speed
// here; every gzip reader takes it.
package layergzip

import (
	"io"

	"github.com/klauspost/compress/gzip"
)

// DefaultLevel is the level a layer is compressed at unless asked otherwise.
const DefaultLevel = gzip.DefaultCompression

// NewWriter compresses into dst at level (gzip's -1 to 9, or DefaultLevel).
func NewWriter(dst io.Writer, level int) (io.WriteCloser, error) {
	return gzip.NewWriterLevel(dst, level)
}
