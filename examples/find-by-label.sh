#!/usr/bin/env bash
# find-by-label.sh - containers across the fleet that carry a label, with
# its value; with KEY=VALUE, only those whose value matches exactly.
#
# usage: find-by-label.sh KEY[=VALUE] [MOUNTPOINT]
#   e.g. find-by-label.sh com.docker.compose.project=shop
#   MOUNTPOINT defaults to $DOCKFS, then /mnt/dockfs.
#
# Walks the fleet view M/containers/<host>:<name> (symlinks into hosts/).
# Exit status: 0 if some container matched, 1 if none did, 2 on usage error.
set -euo pipefail
shopt -s nullglob

if [[ $# -lt 1 || $# -gt 2 || -z $1 || $1 == =* ]]; then
	sed -n 's/^# usage: /usage: /p' "$0" >&2
	exit 2
fi
M=${2:-${DOCKFS:-/mnt/dockfs}}
if [[ ! -d $M/containers ]]; then
	echo "${0##*/}: $M is not a dockfs mount" >&2
	exit 2
fi

key=${1%%=*}
want=
[[ $1 == *=* ]] && want=${1#*=}
# Label files are named like every dockfs name: '%' -> %25, '/' -> %2F.
file=${key//"%"/%25}
file=${file//"/"/%2F}

found=1
for c in "$M"/containers/*; do
	{ IFS= read -r value <"$c/labels/$file"; } 2>/dev/null || continue
	if [[ $1 == *=* && $value != "$want" ]]; then
		continue
	fi
	printf '%s\t%s=%s\n' "${c##*/}" "$key" "$value"
	found=0
done
exit "$found"
