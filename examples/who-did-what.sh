#!/usr/bin/env bash
# who-did-what.sh - the audit log of the last HOURS hours (default 1) as a
# table: time, user, host, action, resource, outcome and error.
#
# usage: who-did-what.sh [HOURS] [MOUNTPOINT]
#   HOURS is a positive number, decimals allowed (0.25 = 15 minutes).
#   MOUNTPOINT defaults to $DOCKFS, then /mnt/dockfs.
#
# Reads M/audit (JSON lines): a global admin sees everyone's actions, any
# other user only their own.  Uses jq(1) when it is installed, python3
# otherwise.  Exit status: 0, or 2 on usage error.
set -euo pipefail

hours=${1:-1}
if [[ $# -gt 2 || ! $hours =~ ^[0-9]+([.][0-9]+)?$ ]]; then
	sed -n 's/^# usage: /usage: /p' "$0" >&2
	exit 2
fi
M=${2:-${DOCKFS:-/mnt/dockfs}}
if [[ ! -r $M/audit ]]; then
	echo "${0##*/}: $M is not a dockfs mount (no audit file)" >&2
	exit 2
fi
printf -v now '%(%s)T' -1

fmt='%-20s  %-16s  %-10s  %-16s  %-36s  %-7s  %s\n'
# shellcheck disable=SC2059 # the format is ours
printf "$fmt" TIME USER HOST ACTION RESOURCE OUTCOME ERROR

if command -v jq >/dev/null; then
	# M/audit writes tabs and other control bytes as \xNN, so a plain join
	# with tabs is safe, and it keeps a backslash as written (@tsv doubles it).
	jq -r --argjson now "$now" --argjson hours "$hours" '
		def names: {"1":"EPERM","2":"ENOENT","4":"EINTR","5":"EIO","11":"EAGAIN",
			"12":"ENOMEM","13":"EACCES","16":"EBUSY","17":"EEXIST","20":"ENOTDIR",
			"21":"EISDIR","22":"EINVAL","27":"EFBIG","28":"ENOSPC","38":"ENOSYS",
			"95":"EOPNOTSUPP","110":"ETIMEDOUT","112":"EHOSTDOWN"};
		def secs: sub("\\.[0-9]+"; "") | sub("\\+00:00$"; "Z") | fromdateiso8601;
		def err: if . == null or . == 0 or . == "" or . == "0" then "-"
			elif type == "number" then (names[tostring] // tostring) else . end;
		select((.time | secs) >= $now - $hours * 3600)
		| [(.time | sub("\\.[0-9]+"; "")), (.user // "uid \(.uid)"), (.host // "-"),
		   .action, "\(.resource_type // "-"):\(.resource_id // "-")", .outcome,
		   (.errno | err)]
		| map(tostring) | join("\t")' "$M/audit" |
		while IFS=$'\t' read -r t u h a r o e; do
			# shellcheck disable=SC2059
			printf "$fmt" "$t" "$u" "$h" "$a" "$r" "$o" "$e"
		done
else
	python3 - "$M/audit" "$now" "$hours" "$fmt" <<'PY'
import calendar, errno, json, re, sys, time
path, now, hours, fmt = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
fmt = fmt.replace("\\n", "\n")
def secs(t):
    t = re.sub(r"\.[0-9]+", "", t).replace("+00:00", "Z")
    return calendar.timegm(time.strptime(t, "%Y-%m-%dT%H:%M:%SZ"))
def err(e):
    if e in (None, 0, "", "0"):
        return "-"
    return errno.errorcode.get(e, str(e)) if isinstance(e, int) else str(e)
with open(path, encoding="utf-8") as f:
    for line in f:
        if not line.strip():
            continue
        r = json.loads(line)
        if secs(r["time"]) < now - hours * 3600:
            continue
        user = r.get("user") or f"uid {r.get('uid')}"
        res = f"{r.get('resource_type') or '-'}:{r.get('resource_id') or '-'}"
        sys.stdout.write(fmt % (re.sub(r"\.[0-9]+", "", r["time"]), user, r.get("host") or "-",
                                r["action"], res, r["outcome"], err(r.get("errno"))))
PY
fi
