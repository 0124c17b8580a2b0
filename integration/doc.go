// Package integration drives the built builder binary as a user would,
// against real runc, a real registry (Debian's docker-registry on
// 127.0.0.1) and skopeo as an independent client. Its tests need root and
// what `make test` installs, so they are behind the build tag integration:
// `go test ./...` runs the unit tests alone, anywhere, as any user, and
// `make test` (scripts/test.sh) runs these too.
package integration
