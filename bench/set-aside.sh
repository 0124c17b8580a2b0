#!/usr/bin/env bash
# Moves a benchmark round's spent state root aside, beside it, instead of
# deleting it: a CI runner deletes nothing before its build, and on this
# project's VMs (ext4 without a journal) rounds that followed such a delete
# slowed, round by round, in the kernel's inode allocator (bench/README.md,
# ci (a)). The benchmark's own cleanup deletes the spent roots at its end.
# Usage: set-aside.sh DIR   (nothing to do when DIR does not exist)
set -euo pipefail
if [ -e "$1" ]; then mv "$1" "$1.spent-$(date +%s%N)"; fi
