#!/usr/bin/env bash
# stop-by-label.sh - stop every running container, on every host, that
# carries the label KEY=VALUE.  Each stop is a write to the container's ctl,
# so dockfs checks it against your level on that host and audits it.
#
# usage: stop-by-label.sh KEY=VALUE [MOUNTPOINT]
#   e.g. stop-by-label.sh com.docker.compose.project=shop
#   MOUNTPOINT defaults to $DOCKFS, then /mnt/dockfs.
#
# Prints HOST:NAME for each container stopped; a stop that failed is
# reported on stderr with dockfs' reason and the engine's message (the
# container's error file).  Exit status: 0 if every matching container
# stopped (or none matched), 1 if a stop failed, 2 on usage error.
set -euo pipefail
shopt -s nullglob

if [[ $# -lt 1 || $# -gt 2 || $1 != *=* || $1 == =* ]]; then
	sed -n 's/^# usage: /usage: /p' "$0" >&2
	exit 2
fi
M=${2:-${DOCKFS:-/mnt/dockfs}}
if [[ ! -d $M/hosts ]]; then
	echo "${0##*/}: $M is not a dockfs mount" >&2
	exit 2
fi

key=${1%%=*}
want=${1#*=}
# Label files are named like every dockfs name: '%' -> %25, '/' -> %2F.
file=${key//"%"/%25}
file=${file//"/"/%2F}

rc=0 value='' state='' why='' engine=''
for c in "$M"/hosts/*/containers/*/; do
	c=${c%/}
	{ IFS= read -r value <"$c/labels/$file"; } 2>/dev/null || continue
	[[ $value == "$want" ]] || continue
	{ IFS= read -r state <"$c/state"; } 2>/dev/null || continue
	[[ $state == running || $state == paused || $state == restarting ]] || continue
	host=${c%/containers/*}
	host=${host##*/}
	# One write, one command; it returns once the engine has stopped it.
	if why=$({ echo stop >"$c/ctl"; } 2>&1); then
		printf '%s:%s\n' "$host" "${c##*/}"
	else
		engine=$(cat "$c/error" 2>/dev/null) || engine=
		printf '%s: %s:%s: not stopped: %s%s\n' "${0##*/}" "$host" "${c##*/}" \
			"${why##*: }" "${engine:+ ($engine)}" >&2
		rc=1
	fi
done
exit "$rc"
