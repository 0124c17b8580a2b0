package container

import (
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

func unixSignalName(s syscall.Signal) string { return unix.SignalName(s) }

func trimSIG(s string) string { return strings.TrimPrefix(strings.ToUpper(s), "SIG") }
