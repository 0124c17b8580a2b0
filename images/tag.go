package images

import (
	"context"

	"github.com/builder-dev/builder/store"
)

// Tag names the image source refers to (by name or ID) as target.
func Tag(ctx context.Context, st *store.Store, source, target string) error {
	name, err := store.ParseName(target)
	if err != nil {
		return err
	}
	img, _, err := st.Lookup(ctx, source)
	if err != nil {
		return store.NoSuchImageFor(err, source)
	}
	return st.Tag(ctx, name, img.Target)
}
