#!/usr/bin/env bash
# exited-everywhere.sh - every exited (or dead) container on every host,
# with its exit code and when it stopped.
#
# usage: exited-everywhere.sh [MOUNTPOINT]
#   MOUNTPOINT defaults to $DOCKFS, then /mnt/dockfs.
#
# Reads M/hosts/*/containers/*/{state,exit_code,status}: served from dockfs'
# in-memory model (an engine is asked only about a container it has not
# inspected since its last change).  Exit status: 0 if no container has
# exited with a non-zero code, 1 if some have, 2 on usage error.
set -euo pipefail
shopt -s nullglob

M=${1:-${DOCKFS:-/mnt/dockfs}}
if [[ ! -d $M/hosts ]]; then
	echo "${0##*/}: $M is not a dockfs mount" >&2
	exit 2
fi

# First line of a dockfs file into the variable $1; fails if the object
# went away between the listing and the read.
get() { { IFS= read -r "$1" <"$2"; } 2>/dev/null; }

state='' code='' status='' failed=0
printf '%-12s %-32s %5s  %s\n' HOST CONTAINER EXIT STATUS
for c in "$M"/hosts/*/containers/*/; do
	c=${c%/}
	get state "$c/state" || continue
	[[ $state == exited || $state == dead ]] || continue
	get code "$c/exit_code" || continue
	get status "$c/status" || continue
	host=${c#"$M"/hosts/}
	host=${host%%/*}
	printf '%-12s %-32s %5s  %s\n' "$host" "${c##*/}" "$code" "$status"
	[[ $code == 0 ]] || failed=1
done
exit "$failed"
