#!/usr/bin/env bash
# wait-for-exit.sh - waits until a container stops, without polling: an
# inotify watch (inotifywait, from inotify-tools) on its directory wakes the
# script when dockfs learns from the engine that the state changed, whoever
# changed it (docker CLI, another host's operator, the container exiting).
#
# usage: wait-for-exit.sh [-t SECONDS] HOST NAME
#   Uses the mount at $DOCKFS, else /mnt/dockfs.
#
# Prints "HOST:NAME exited CODE" once the state is exited or dead.
# Exit status: 0 stopped, 1 removed before it stopped, 2 usage error or no
# such container, 3 timed out.
set -euo pipefail

timeout=0
if [[ ${1:-} == -t ]]; then
	timeout=${2:?-t needs seconds}
	shift 2
fi
if [[ $# -ne 2 ]]; then
	echo "usage: ${0##*/} [-t SECONDS] HOST NAME" >&2
	exit 2
fi
M=${DOCKFS:-/mnt/dockfs}
c=$M/hosts/$1/containers/$2
if [[ ! -d $c ]]; then
	echo "${0##*/}: no container $2 on $1 (under $M)" >&2
	exit 2
fi

# Watch first, then look: a change between the two cannot be missed.  The
# kernel only reports what happens in a directory it has looked up; the
# watch itself does that.
exec {ev}< <(exec inotifywait -m -e attrib,modify,delete_self --format '%e %f' "$c" 2>&1)
watcher=$!
trap 'kill "$watcher" 2>/dev/null || true' EXIT
while IFS= read -r -u "$ev" line; do
	[[ $line == "Watches established." ]] && break
done

deadline=$((SECONDS + timeout))
while :; do
	if IFS= read -r state <"$c/state" 2>/dev/null; then
		if [[ $state == exited || $state == dead ]]; then
			IFS= read -r code <"$c/exit_code" || code='?'
			echo "$1:$2 $state $code"
			exit 0
		fi
	elif [[ ! -d $c ]]; then
		echo "${0##*/}: $1:$2 was removed" >&2
		exit 1
	fi
	if ((timeout > 0)); then
		left=$((deadline - SECONDS))
		if ((left <= 0)) || ! IFS= read -r -t "$left" -u "$ev" line; then
			echo "${0##*/}: $1:$2 still ${state:-unknown} after ${timeout}s" >&2
			exit 3
		fi
	elif ! IFS= read -r -u "$ev" line; then
		echo "${0##*/}: inotifywait ended" >&2
		exit 1
	fi
	if [[ $line == DELETE_SELF* ]]; then
		echo "${0##*/}: $1:$2 was removed" >&2
		exit 1
	fi
done
