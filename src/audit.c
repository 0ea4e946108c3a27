/* audit.c - the audit log and M/audit.
 *
 * M/audit shows one JSON object a line, oldest first:
 *   {"id":..,"time":"RFC 3339","user":..,"uid":..,"host":..,"action":..,
 *    "resource_type":..,"resource_id":..,"details":..,"outcome":..,"errno":..}
 * Global admins see every row, anyone else their own.
 *
 * Texts are stored whole (a request is as long as one write may be) and
 * as printable UTF-8 (audit_text): jansson refuses a string that is not
 * UTF-8, and a row it refuses would be missing from M/audit.  Rows stored
 * before that rule are passed through audit_text again when shown.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "audit.h"
#include "log.h"
#include "store.h"
#include "text.h"

#define AUDIT_SHOWN_MAX 10000   /* rows M/audit shows: the newest */

void audit_text(struct buf *out, const char *data, size_t len)
{
	text_printable(out, data, len);
}

/* text as audit_text() makes it, in b (reset first); NULL stays NULL. */
static const char *clean(struct buf *b, const char *text)
{
	if (!text)
		return NULL;
	buf_reset(b);
	audit_text(b, text, strlen(text));
	return b->data;
}

enum { F_USER, F_HOST, F_ACTION, F_TYPE, F_ID, F_DETAILS, F_N };

static void clean_free(struct buf *f)
{
	for (int i = 0; i < F_N; i++)
		buf_free(&f[i]);
}

void audit_record(const struct caller *c, const char *host, const char *action,
		  const char *resource_type, const char *resource_id, const char *details,
		  enum audit_outcome outcome, int err, const char *message)
{
	static const char *const outcomes[] = { "ok", "denied", "failed" };
	struct buf f[F_N] = { BUF_INIT, BUF_INIT, BUF_INIT, BUF_INIT, BUF_INIT, BUF_INIT };
	char user[256];

	access_username(c->uid, user, sizeof(user));
	/* The request and why it failed, both whole. */
	if (details)
		audit_text(&f[F_DETAILS], details, strlen(details));
	if (message && *message) {
		if (f[F_DETAILS].len)
			buf_puts(&f[F_DETAILS], ": ");
		audit_text(&f[F_DETAILS], message, strlen(message));
	}

	struct store_audit a = {
		.uid = (long long)c->uid,
		.username = clean(&f[F_USER], user),
		.host = clean(&f[F_HOST], host),
		.action = clean(&f[F_ACTION], action),
		.resource_type = clean(&f[F_TYPE], resource_type),
		.resource_id = clean(&f[F_ID], resource_id),
		.details = details || (message && *message) ? f[F_DETAILS].data : NULL,
		.outcome = outcomes[outcome],
		.error = err < 0 ? -err : err,
	};
	int rc = store_audit_add(tree_ctx()->store, &a, NULL);
	if (rc)
		log_error(rc, "audit: cannot record %s by %s: %s", a.action, a.username,
			  strerror(-rc));
	clean_free(f);
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
	struct buf f[F_N] = { BUF_INIT, BUF_INIT, BUF_INIT, BUF_INIT, BUF_INIT, BUF_INIT };

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
	/* Rows of older versions may hold any bytes: each row is shown. */
	json_t *j = json_pack("{s:I, s:s, s:s?, s:I, s:s?, s:s, s:s?, s:s?, s:s?, s:s?, s:i}",
			      "id", (json_int_t)a->id, "time", when, "user",
			      clean(&f[F_USER], a->username), "uid", (json_int_t)a->uid,
			      "host", clean(&f[F_HOST], a->host), "action",
			      a->action ? clean(&f[F_ACTION], a->action) : "", "resource_type",
			      clean(&f[F_TYPE], a->resource_type), "resource_id",
			      clean(&f[F_ID], a->resource_id), "details",
			      clean(&f[F_DETAILS], a->details), "outcome", a->outcome, "errno",
			      a->error);
	char *line = j ? json_dumps(j, JSON_COMPACT) : NULL;

	if (line) {
		buf_puts(out, line);
		buf_puts(out, "\n");
	} else {
		log_error(-EINVAL, "audit: row %lld cannot be shown", a->id);
	}
	free(line);
	json_decref(j);
	clean_free(f);
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
