#!/usr/bin/env bash
# restart-exited.sh - restart every exited container on every host (with
# -l KEY=VALUE, only those that carry that label).  Swarm task containers
# are left to their swarm, which replaces failed tasks itself.
#
# usage: restart-exited.sh [-l KEY=VALUE] [MOUNTPOINT]
#   MOUNTPOINT defaults to $DOCKFS, then /mnt/dockfs.
#
# Each restart is a write to the container's ctl (checked against your level
# on that host, and audited).  Prints HOST:NAME and the new state for each
# container restarted; failures go to stderr with the engine's message.
# Exit status: 0 if every restart worked (or there was none), 1 if one
# failed, 2 on usage error.
set -euo pipefail
shopt -s nullglob

usage() {
	sed -n 's/^# usage: /usage: /p' "$0" >&2
	exit 2
}
key='' want='' file=''
if [[ ${1:-} == -l ]]; then
	[[ $# -ge 2 && $2 == *=* && $2 != =* ]] || usage
	key=${2%%=*}
	want=${2#*=}
	file=${key//"%"/%25}
	file=${file//"/"/%2F}
	shift 2
fi
[[ $# -le 1 ]] || usage
M=${1:-${DOCKFS:-/mnt/dockfs}}
if [[ ! -d $M/hosts ]]; then
	echo "${0##*/}: $M is not a dockfs mount" >&2
	exit 2
fi

rc=0 value='' state='' why='' engine=''
for c in "$M"/hosts/*/containers/*/; do
	c=${c%/}
	{ IFS= read -r state <"$c/state"; } 2>/dev/null || continue
	[[ $state == exited ]] || continue
	[[ -e $c/labels/com.docker.swarm.task.id ]] && continue
	if [[ -n $key ]]; then
		{ IFS= read -r value <"$c/labels/$file"; } 2>/dev/null || continue
		[[ $value == "$want" ]] || continue
	fi
	host=${c%/containers/*}
	host=${host##*/}
	if why=$({ echo restart >"$c/ctl"; } 2>&1); then
		{ IFS= read -r state <"$c/state"; } 2>/dev/null || state=gone
		printf '%s:%s\t%s\n' "$host" "${c##*/}" "$state"
	else
		engine=$(cat "$c/error" 2>/dev/null) || engine=
		printf '%s: %s:%s: not restarted: %s%s\n' "${0##*/}" "$host" "${c##*/}" \
			"${why##*: }" "${engine:+ ($engine)}" >&2
		rc=1
	fi
done
exit "$rc"
