//go:build !cloudcache

package solver

import "github.com/moby/buildkit/cache/remotecache"

// cloudCaches is empty in a default build; see cloudcache.go.
func cloudCaches() (map[string]remotecache.ResolveCacheExporterFunc, map[string]remotecache.ResolveCacheImporterFunc) {
	return nil, nil
}
