#!/usr/bin/env bash
# deploy-stack.sh - deploys a compose application from a directory (its
# compose file, .env, env files, secret and config files) as a swarm stack,
# then waits until every service has its tasks running.  What
# `docker stack deploy -c DIR/compose.yml NAME` and a watch of
# `docker stack services NAME` do, with cp and cat.
#
# usage: deploy-stack.sh [-t SECONDS] [--prune] SWARM NAME DIR
#   Uses the mount at $DOCKFS, else /mnt/dockfs.
#
# Exit status: 0 deployed and converged, 1 the deploy was refused or failed
# (the reason is printed), 2 usage error, 3 not converged in time.
set -euo pipefail

timeout=120 prune=
while [[ ${1:-} == -* ]]; do
	case $1 in
	-t) timeout=${2:?-t needs seconds}; shift 2 ;;
	--prune) prune=1; shift ;;
	*) echo "${0##*/}: unknown option $1" >&2; exit 2 ;;
	esac
done
if [[ $# -ne 3 ]]; then
	echo "usage: ${0##*/} [-t SECONDS] [--prune] SWARM NAME DIR" >&2
	exit 2
fi
M=${DOCKFS:-/mnt/dockfs}
stacks=$M/swarms/$1/stacks name=$2 dir=$3
if [[ ! -d $stacks ]]; then
	echo "${0##*/}: no swarm $1 (under $M)" >&2
	exit 2
fi
compose=
for f in compose.yaml compose.yml docker-compose.yaml docker-compose.yml; do
	[[ -f $dir/$f ]] && { compose=$f; break; }
done
if [[ -z $compose ]]; then
	echo "${0##*/}: no compose file in $dir" >&2
	exit 2
fi

[[ -d $stacks/$name ]] || mkdir "$stacks/$name"
# The other files first, then the compose file: its close deploys.
for f in "$dir"/.env "$dir"/*; do
	[[ -f $f && ${f##*/} != "$compose" ]] || continue
	cp "$f" "$stacks/$name/"
done
if ! cp "$dir/$compose" "$stacks/$name/compose.yml" ||
   { [[ -n $prune ]] && ! echo 'deploy --prune' >"$stacks/$name/ctl"; }; then
	echo "${0##*/}: $(cat "$stacks/$name/error")" >&2
	exit 1
fi

# status: "SERVICE RUNNING/DESIRED converged|converging [error]"
deadline=$((SECONDS + timeout))
while :; do
	if ! grep -v '^#' "$stacks/$name/status" | grep -q ' converging'; then
		grep -v '^#' "$stacks/$name/status"
		exit 0
	fi
	if ((SECONDS >= deadline)); then
		cat "$stacks/$name/status" >&2
		exit 3
	fi
	# woken by the change (dockfs touches status), or once a second
	inotifywait -qq -t 1 -e attrib,modify "$stacks/$name/status" 2>/dev/null || true
done
