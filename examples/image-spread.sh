#!/usr/bin/env bash
# image-spread.sh - which hosts hold which image tags, and whether a tag
# points at the same image everywhere ("drift" when it does not).
#
# usage: image-spread.sh [MOUNTPOINT]
#   MOUNTPOINT defaults to $DOCKFS, then /mnt/dockfs.
#
# Reads the fleet view M/images/<host>:<name>.  Names are shown unescaped
# (dockfs writes '/' as %2F and '%' as %25 in file names).  Untagged images
# appear under their 12-digit short id.
set -euo pipefail
shopt -s nullglob

M=${1:-${DOCKFS:-/mnt/dockfs}}
if [[ ! -d $M/images ]]; then
	echo "${0##*/}: $M is not a dockfs mount" >&2
	exit 2
fi

declare -A hosts ids
for e in "$M"/images/*; do
	entry=${e##*/}
	host=${entry%%:*}      # host names cannot contain ':'
	name=${entry#*:}
	{ IFS= read -r id <"$e/id"; } 2>/dev/null || continue
	id=${id#sha256:}
	hosts[$name]+="${hosts[$name]:+,}$host"
	[[ " ${ids[$name]:-} " == *" ${id:0:12} "* ]] || ids[$name]+="${ids[$name]:+ }${id:0:12}"
done

printf '%-40s %-24s %s\n' IMAGE HOSTS ID
for name in "${!hosts[@]}"; do
	shown=${name//"%2F"/\/}
	shown=${shown//"%25"/%}
	note=
	[[ ${ids[$name]} == *" "* ]] && note="  drift"
	printf '%-40s %-24s %s%s\n' "$shown" "${hosts[$name]}" "${ids[$name]}" "$note"
done | sort
