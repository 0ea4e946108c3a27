/* audit.c - the audit log and M/audit.
 *
 * M/audit shows one JSON object a line, oldest first:
 *   {"id":..,"time":"RFC 3339","user":..,"uid":..,"host":..,"action":..,
 *    "resource_type":..,"resource_id":..,"details":..,"outcome":..,"errno":..}
 * Global admins see every row, anyone else their own.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "audit.h"
#include "log.h"
#include "store.h"

#define AUDIT_SHOWN_MAX 10000   /* rows M/audit shows: the newest */

void audit_record(const struct caller *c, const char *host, const char *action,
		  const char *resource_type, const char *resource_id, const char *details,
		  enum audit_outcome outcome, int err, const char *message)
{
	static const char *const outcomes[] = { "ok", "denied", "failed" };
	char user[80], text[1600];
	struct store_audit a = {
		.uid = (long long)c->uid,
		.host = host,
		.action = action,
		.resource_type = resource_type,
		.resource_id = resource_id,
		.details = details,
		.outcome = outcomes[outcome],
		.error = err < 0 ? -err : err,
	};

	access_username(c->uid, user, sizeof(user));
	a.username = user;
	if (message && *message) {
		snprintf(text, sizeof(text), "%s%s%s", details && *details ? details : "",
			 details && *details ? ": " : "", message);
		a.details = text;
	}
	int rc = store_audit_add(tree_ctx()->store, &a, NULL);
	if (rc)
		log_error(rc, "audit: cannot record %s by %s: %s", action, user, strerror(-rc));
}

struct rows {
	struct buf *out;
	bool all;
	uid_t uid;
};

static int row_cb(const struct store_audit *a, void *arg)
{
	struct rows *rows = arg;
	struct buf *out = rows->out;

	/* By uid, not by name: a name may be rebound to another uid. */
	if (!rows->all && a->uid != (long long)rows->uid)
		return 0;
	char when[80];
	time_t t = (time_t)(a->ts_ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(when, sizeof(when), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (int)(a->ts_ms % 1000));
	json_t *j = json_pack("{s:I, s:s, s:s?, s:I, s:s?, s:s, s:s?, s:s?, s:s?, s:s?, s:i}",
			      "id", (json_int_t)a->id, "time", when, "user", a->username,
			      "uid", (json_int_t)a->uid, "host", a->host, "action",
			      a->action ? a->action : "", "resource_type", a->resource_type,
			      "resource_id", a->resource_id, "details", a->details, "outcome",
			      a->outcome, "errno", a->error);
	char *line = j ? json_dumps(j, JSON_COMPACT) : NULL;

	if (line) {
		buf_puts(out, line);
		buf_puts(out, "\n");
	}
	free(line);
	json_decref(j);
	return 0;
}

static int audit_read(const struct caller *c, const struct node *n, struct buf *out)
{
	struct rows rows = { out, access_is_global_admin(c->uid), c->uid };

	return store_audit_foreach(tree_ctx()->store, NULL, 0, AUDIT_SHOWN_MAX, row_cb, &rows);
}

static int audit_stat(const struct caller *c, const struct node *n, struct tree_stat *st)
{
	st->per_caller = true; /* each caller's size is that of their own rows */
	return 0;
}

const struct node_ops audit_file_ops = {
	.type = NODE_FILE,
	.stat = audit_stat,
	.read = audit_read,
};
