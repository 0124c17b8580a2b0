//go:build cloudcache

package solver

import (
	"github.com/builder-dev/builder/cache"
	"github.com/moby/buildkit/cache/remotecache"
	"github.com/moby/buildkit/cache/remotecache/gha"
	s3remotecache "github.com/moby/buildkit/cache/remotecache/s3"
)

// cloudCaches are BuildKit's GitHub Actions and S3 cache backends, linked
// only into a builder built with -tags cloudcache: their libraries (the
// AWS SDK, sigstore for signed GitHub caches) add about 13 ms of package
// initialisation to every builder command, a quarter of a warm build.
func cloudCaches() (map[string]remotecache.ResolveCacheExporterFunc, map[string]remotecache.ResolveCacheImporterFunc) {
	return map[string]remotecache.ResolveCacheExporterFunc{
			cache.GHA: gha.ResolveCacheExporterFunc(nil, nil),
			cache.S3:  s3remotecache.ResolveCacheExporterFunc(),
		}, map[string]remotecache.ResolveCacheImporterFunc{
			cache.GHA: gha.ResolveCacheImporterFunc(nil, nil),
			cache.S3:  s3remotecache.ResolveCacheImporterFunc(),
		}
}
