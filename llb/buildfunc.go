package llb

import (
	"context"
	"fmt"
	"io"

	bkllb "github.com/moby/buildkit/client/llb"
	gwclient "github.com/moby/buildkit/frontend/gateway/client"
)

// DumpFunc runs build (a frontend) and prints the graph it returns in
// format ("json" or "dot") instead of returning it to be built: the
// result is left unsolved, as BuildKit evaluates a gateway result only
// when it is exported. It serves `build --dump-llb`.
func DumpFunc(build gwclient.BuildFunc, format string, w io.Writer) gwclient.BuildFunc {
	return func(ctx context.Context, c gwclient.Client) (*gwclient.Result, error) {
		res, err := build(ctx, c)
		if err != nil {
			return nil, err
		}
		ref, err := res.SingleRef()
		if err != nil {
			return nil, fmt.Errorf("--dump-llb: %w", err)
		}
		st := bkllb.Scratch()
		if ref != nil {
			if st, err = ref.ToState(); err != nil {
				return nil, fmt.Errorf("--dump-llb: %w", err)
			}
		}
		def, err := st.Marshal(ctx)
		if err != nil {
			return nil, fmt.Errorf("--dump-llb: %w", err)
		}
		ops, err := Ops(def.ToPB())
		if err != nil {
			return nil, err
		}
		write := WriteJSON
		if format == "dot" {
			write = WriteDot
		}
		if err := write(w, ops); err != nil {
			return nil, err
		}
		return gwclient.NewResult(), nil
	}
}
