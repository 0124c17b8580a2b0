package main

import (
	"os"
	"runtime"
	"runtime/pprof"
	"runtime/trace"

	"github.com/sirupsen/logrus"
)

// startProfiles writes a CPU profile of this process to $BUILDER_CPUPROFILE
// a Go execution trace to $BUILDER_TRACE and a heap profile (what was
// allocated and what is live at the end) to $BUILDER_MEMPROFILE, for
// bench/README.md's accounts of where a command's time and memory go. stop
// ends them.
func startProfiles() (stop func()) {
	var stops []func()
	if p := os.Getenv("BUILDER_CPUPROFILE"); p != "" {
		if f, err := os.Create(p); err != nil {
			logrus.Warnf("cpu profile: %v", err)
		} else if err := pprof.StartCPUProfile(f); err != nil {
			logrus.Warnf("cpu profile: %v", err)
			f.Close()
		} else {
			stops = append(stops, func() { pprof.StopCPUProfile(); f.Close() })
		}
	}
	if p := os.Getenv("BUILDER_TRACE"); p != "" {
		if f, err := os.Create(p); err != nil {
			logrus.Warnf("trace: %v", err)
		} else if err := trace.Start(f); err != nil {
			logrus.Warnf("trace: %v", err)
			f.Close()
		} else {
			stops = append(stops, func() { trace.Stop(); f.Close() })
		}
	}
	if p := os.Getenv("BUILDER_MEMPROFILE"); p != "" {
		runtime.MemProfileRate = 4096 // finer than the default 512 KB
		stops = append(stops, func() {
			f, err := os.Create(p)
			if err != nil {
				logrus.Warnf("heap profile: %v", err)
				return
			}
			defer f.Close()
			if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
				logrus.Warnf("heap profile: %v", err)
			}
		})
	}
	return func() {
		for _, s := range stops {
			s()
		}
	}
}
