package main

import (
	"os"
	"runtime/pprof"
	"runtime/trace"

	"github.com/sirupsen/logrus"
)

// startProfiles writes a CPU profile of this process to $BUILDER_CPUPROFILE
// and a Go execution trace to $BUILDER_TRACE, for bench/README.md's
// accounts of where a command's time goes. stop ends both.
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
	return func() {
		for _, s := range stops {
			s()
		}
	}
}
