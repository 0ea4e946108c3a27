#!/usr/bin/env bash
# fleet-health.sh - one line per registered host: name, health, type, engine
# version, number of containers, and why the host is not healthy.
#
# usage: fleet-health.sh [MOUNTPOINT]
#   MOUNTPOINT defaults to $DOCKFS, then /mnt/dockfs.
#
# Exit status: 0 if every host is healthy, 1 if any is not, 2 on usage error.
set -euo pipefail
shopt -s nullglob

M=${1:-${DOCKFS:-/mnt/dockfs}}
if [[ ! -d $M/hosts ]]; then
	echo "${0##*/}: $M is not a dockfs mount" >&2
	exit 2
fi

# First line of a dockfs file into the variable $1; fails if the host
# went away between the listing and the read.
get() { { IFS= read -r "$1" <"$2"; } 2>/dev/null; }

type='' version='' rc=0
printf '%-12s %-9s %-13s %-16s %5s  %s\n' HOST STATUS TYPE VERSION CTRS REASON
for h in "$M"/hosts/*/; do
	h=${h%/}
	# status: the word on line 1; the last error on line 2 when not healthy.
	{ IFS= read -r status && { IFS= read -r reason || true; }; } 2>/dev/null <"$h/status" ||
		continue
	get type "$h/type" || continue
	get version "$h/version" || continue
	containers=("$h"/containers/*)
	printf '%-12s %-9s %-13s %-16s %5d%s\n' "${h##*/}" "$status" "$type" \
		"${version:--}" "${#containers[@]}" "${reason:+  $reason}"
	[[ $status == healthy ]] || rc=1
done
exit "$rc"
