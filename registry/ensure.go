package registry

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/builder-dev/builder/store"
	"github.com/distribution/reference"
)

// PullPolicy is docker's --pull for the verbs that make a container: when
// the image it is made from is pulled.
type PullPolicy string

const (
	PullMissing PullPolicy = "missing" // only when the store has no image by that name (docker's default)
	PullAlways  PullPolicy = "always"  // before every run, whatever the store holds
	PullNever   PullPolicy = "never"   // never: a missing image is an error
)

// ParsePullPolicy reads a --pull value, with docker's message for a bad one.
func ParsePullPolicy(s string) (PullPolicy, error) {
	switch p := PullPolicy(s); p {
	case PullMissing, PullAlways, PullNever:
		return p, nil
	}
	return "", fmt.Errorf("invalid pull option: '%s': must be one of \"always\", \"missing\" or \"never\"", s)
}

// Ensure makes ref's image available in st as docker run does. With
// PullMissing it pulls only when st has no image by that name, first
// saying "Unable to find image 'NAME:TAG' locally"; with PullAlways it
// pulls whatever st holds; with PullNever it does nothing and the caller
// reports the missing image. client is called only when there is a pull to
// make, so that running a stored image reads no registry configuration.
// Pull's progress goes to w, none with o.Quiet.
func Ensure(ctx context.Context, st *store.Store, ref string, policy PullPolicy, client func() (*Client, error), o PullOptions, w io.Writer) error {
	if policy == PullNever {
		return nil
	}
	if policy == PullMissing {
		_, _, err := st.Lookup(ctx, ref)
		if err == nil {
			return nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return fmt.Errorf("invalid reference format: %s", ref)
	}
	named = reference.TagNameOnly(named)
	if policy == PullMissing {
		fmt.Fprintf(w, "Unable to find image '%s' locally\n", reference.FamiliarString(named))
	}
	c, err := client()
	if err != nil {
		return err
	}
	if o.Quiet {
		// docker run -q: no pull output at all (pull -q would print
		// the name pulled).
		o.Quiet, w = false, io.Discard
	}
	return c.pull(ctx, st, named, o, w)
}
