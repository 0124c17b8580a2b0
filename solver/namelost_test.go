package solver

import (
	"errors"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// A connection never made is not called lost.
func TestNameLost(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{status.Error(codes.Unavailable, `connection error: desc = "transport: Error while dialing: dial tcp 127.0.0.1:1: connect: connection refused"`), "cannot connect to the solver at tcp://h:1: "},
		{status.Error(codes.Unavailable, `connection error: desc = "error reading server preface: http2: frame too large"`), "cannot connect to the solver at tcp://h:1: "},
		{status.Error(codes.Unavailable, "error reading from server: EOF"), "lost the connection to the solver at tcp://h:1: "},
		{status.Error(codes.NotFound, "x"), "rpc error: code = NotFound"},
		{errors.New("plain"), "plain"},
	} {
		if got := NameLost(tc.err, "tcp://h:1"); !strings.HasPrefix(got.Error(), tc.want) {
			t.Errorf("NameLost(%v) = %v, want %q…", tc.err, got, tc.want)
		}
	}
}
