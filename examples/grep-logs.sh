#!/usr/bin/env bash
# grep-logs.sh - search the recent logs of every container on every host.
# Prints HOST:CONTAINER: LINE for each matching line.
#
# usage: grep-logs.sh [-i] PATTERN [MOUNTPOINT]
#   PATTERN is an extended regular expression (grep -E); -i ignores case.
#   MOUNTPOINT defaults to $DOCKFS, then /mnt/dockfs.
#
# Each logs file is fetched from its engine when opened: the last 1000
# lines of stdout and stderr.  Hosts that cannot be reached are reported on
# stderr and skipped.  Exit status: 0 if a line matched, 1 if none did,
# 2 on usage error.
set -euo pipefail
shopt -s nullglob

flags=(-E)
if [[ ${1:-} == -i ]]; then
	flags+=(-i)
	shift
fi
if [[ $# -lt 1 || $# -gt 2 ]]; then
	sed -n 's/^# usage: /usage: /p' "$0" >&2
	exit 2
fi
pattern=$1
M=${2:-${DOCKFS:-/mnt/dockfs}}
if [[ ! -d $M/containers ]]; then
	echo "${0##*/}: $M is not a dockfs mount" >&2
	exit 2
fi

# One fetch per container: copy the logs, then search the copy.
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
rc=1
for c in "$M"/containers/*; do
	entry=${c##*/}
	if ! cat -- "$c/logs" >"$tmp" 2>/dev/null; then
		echo "${0##*/}: $entry: cannot read its logs" >&2
		continue
	fi
	if grep "${flags[@]}" --label="$entry" -H -e "$pattern" <"$tmp"; then
		rc=0
	fi
done
exit "$rc"
