/* test_store.c - the registry against a real SQLite file in a temp dir.
 * Prints "ok - ..." / "not ok - ..." per check and "N passed, N failed". */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "log.h"
#include "store.h"

/* Bump with every migration added to src/store.c. */
#define LATEST_SCHEMA_VERSION 4

static int passed, failed;

static void check(bool cond, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void check(bool cond, const char *fmt, ...)
{
	va_list ap;

	printf("%s - ", cond ? "ok" : "not ok");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (cond)
		passed++;
	else
		failed++;
}

#define CHECK_RC(expr, want)                                                  \
	do {                                                                  \
		int rc_ = (expr);                                             \
		check(rc_ == (want), "%s == %s (got %d)", #expr, #want, rc_); \
	} while (0)

static bool streq(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

static char dir[] = "/tmp/test_store.XXXXXX";
static char db_path[256];

/* A second, raw connection: checks what the store wrote, behind its back. */
static sqlite3 *raw_open(const char *path)
{
	sqlite3 *db = NULL;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		fprintf(stderr, "raw open %s: %s\n", path, sqlite3_errmsg(db));
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_busy_timeout(db, 5000);
	return db;
}

/* The integer answered by sql with one optional text parameter, or -1. */
static long long raw_int(sqlite3 *db, const char *sql, const char *param)
{
	sqlite3_stmt *s = NULL;
	long long v = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
		goto out;
	if (param)
		sqlite3_bind_text(s, 1, param, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
out:
	sqlite3_finalize(s);
	return v;
}

static int raw_exec(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

static bool is_uuid_v4(const char *id)
{
	size_t i;

	if (strlen(id) != STORE_ID_LEN)
		return false;
	for (i = 0; i < STORE_ID_LEN; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (id[i] != '-')
				return false;
		} else if (!strchr("0123456789abcdef", id[i])) {
			return false;
		}
	}
	return id[14] == '4' && strchr("89ab", id[19]);
}

struct walk {
	char names[16][65];
	int n;
	int stop_at;           /* stop (return 7) after this many, 0 = never */
	struct store *st;      /* when set, re-enter the store from the callback */
	int reentrant_count;
};

static int host_cb(const struct store_host *h, void *arg)
{
	struct walk *w = arg;

	if (w->n < 16)
		snprintf(w->names[w->n], sizeof(w->names[0]), "%s", h->name);
	w->n++;
	if (w->st)
		w->reentrant_count = store_host_count(w->st);
	if (w->stop_at && w->n == w->stop_at)
		return 7;
	return 0;
}

struct tags {
	char text[512];
	int n;
};

static int tag_cb(const char *tag, const char *value, void *arg)
{
	struct tags *t = arg;
	size_t len = strlen(t->text);

	snprintf(t->text + len, sizeof(t->text) - len, "%s%s=%s", t->n ? "," : "",
		 tag, value ? value : "(null)");
	t->n++;
	return 0;
}

static int count_defaults(sqlite3 *raw)
{
	return (int)raw_int(raw, "SELECT count(*) FROM docker_hosts WHERE is_default = 1",
			    NULL);
}

static void test_open(void)
{
	static const char *const tables[] = {
		"docker_hosts", "host_credentials", "user_host_permissions",
		"host_tags", "host_connection_stats", "users", "api_tokens",
		"audit_logs",
	};
	struct store *st = NULL;
	char side[300];
	struct stat sb;
	mode_t old_mask;
	sqlite3 *raw;
	size_t i;
	int ret;

	/* A permissive umask must not leak into the file's mode. */
	old_mask = umask(0);
	ret = store_open(db_path, &st);
	umask(old_mask);
	check(ret == 0 && st, "store_open creates %s (ret %d)", db_path, ret);
	if (!st)
		exit(1);
	check(store_schema_version(st) == LATEST_SCHEMA_VERSION,
	      "new database is at schema version %d", LATEST_SCHEMA_VERSION);
	memset(&sb, 0, sizeof(sb));
	stat(db_path, &sb);
	check((sb.st_mode & 07777) == 0600, "database file mode is 0600 (got %o)",
	      (unsigned)(sb.st_mode & 07777));
	snprintf(side, sizeof(side), "%s-wal", db_path);
	memset(&sb, 0, sizeof(sb));
	stat(side, &sb);
	check((sb.st_mode & 07777) == 0600, "WAL file mode is 0600 (got %o)",
	      (unsigned)(sb.st_mode & 07777));
	CHECK_RC(store_host_count(st), 0);

	raw = raw_open(db_path);
	check(raw != NULL, "raw connection opens");
	if (!raw)
		exit(1);
	for (i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
		check(raw_int(raw, "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
			      " AND name = ?1", tables[i]) == 1,
		      "table %s exists", tables[i]);
	check(raw_int(raw, "SELECT count(*) FROM sqlite_master WHERE type = 'index'"
		      " AND name = ?1", "idx_hosts_one_default") == 1,
	      "partial unique index on is_default exists");
	check(raw_int(raw, "SELECT journal_mode = 'wal' FROM pragma_journal_mode", NULL) == 1,
	      "journal mode is WAL");
	check(stat(db_path, &sb) == 0 && (sb.st_mode & 07777) == 0600,
	      "database file mode still 0600 after schema creation");
	sqlite3_close(raw);
	store_close(st);

	/* An existing file with a loose mode is tightened. */
	chmod(db_path, 0644);
	ret = store_open(db_path, &st);
	check(ret == 0 && stat(db_path, &sb) == 0 && (sb.st_mode & 07777) == 0600,
	      "reopen tightens a 0644 file to 0600");
	store_close(st);
}

static void test_hosts(struct store *st, sqlite3 *raw)
{
	char long_name[66];
	struct store_host h;
	char first_id[STORE_ID_LEN + 1];
	time_t now = time(NULL);
	struct walk w;

	CHECK_RC(store_host_add(st, "local", "unix:///var/run/docker.sock"), 0);
	CHECK_RC(store_host_get(st, "local", &h), 0);
	check(streq(h.name, "local") && streq(h.host_url, "unix:///var/run/docker.sock"),
	      "get returns name and url");
	check(streq(h.connection_type, "unix"), "unix:// gives connection_type unix");
	check(streq(h.host_type, "standalone") && streq(h.status, "pending"),
	      "new host is standalone and pending");
	check(h.is_active && !h.is_default && !h.is_leader, "new host flags are active only");
	check(h.last_health_check == 0 && !h.description && !h.docker_version,
	      "unset columns read as 0 / NULL");
	check(h.created_at >= now - 5 && h.created_at <= now + 5 &&
	      h.updated_at == h.created_at, "created_at and updated_at are now");
	check(is_uuid_v4(h.id), "id is a UUIDv4 (%s)", h.id);
	snprintf(first_id, sizeof(first_id), "%s", h.id);
	store_host_free_fields(&h);
	check(h.name == NULL && h.host_url == NULL, "free_fields clears the row");
	store_host_free_fields(&h); /* twice is harmless */

	CHECK_RC(store_host_add(st, "local", "tcp://h:2376"), -EEXIST);
	CHECK_RC(store_host_add(st, "edge", "tcp://10.0.0.2:2376"), 0);
	CHECK_RC(store_host_add(st, "build-1.lan_x", "ssh://me@build:22"), 0);
	CHECK_RC(store_host_get(st, "edge", &h), 0);
	check(streq(h.connection_type, "tcp"), "tcp:// gives connection_type tcp");
	check(strcmp(h.id, first_id) != 0, "ids differ between hosts");
	store_host_free_fields(&h);
	CHECK_RC(store_host_get(st, "build-1.lan_x", &h), 0);
	check(streq(h.connection_type, "ssh"), "ssh:// gives connection_type ssh");
	store_host_free_fields(&h);

	/* Names. */
	CHECK_RC(store_host_add(st, "", "unix:///s"), -EINVAL);
	CHECK_RC(store_host_add(st, NULL, "unix:///s"), -EINVAL);
	CHECK_RC(store_host_add(st, ".hidden", "unix:///s"), -EINVAL);
	CHECK_RC(store_host_add(st, "..", "unix:///s"), -EINVAL);
	CHECK_RC(store_host_add(st, "a/b", "unix:///s"), -EINVAL);
	CHECK_RC(store_host_add(st, "a b", "unix:///s"), -EINVAL);
	CHECK_RC(store_host_add(st, "caf\xc3\xa9", "unix:///s"), -EINVAL);
	memset(long_name, 'x', 65);
	long_name[65] = '\0';
	CHECK_RC(store_host_add(st, long_name, "unix:///s"), -EINVAL);
	long_name[64] = '\0';
	CHECK_RC(store_host_add(st, long_name, "unix:///s"), 0);
	CHECK_RC(store_host_remove(st, long_name), 0);
	/* Schemes. */
	CHECK_RC(store_host_add(st, "web", "http://h:2375"), -EINVAL);
	CHECK_RC(store_host_add(st, "web", "unix://"), -EINVAL);
	CHECK_RC(store_host_add(st, "web", "tcp:/h"), -EINVAL);
	CHECK_RC(store_host_add(st, "web", "TCP://h:2376"), -EINVAL);
	CHECK_RC(store_host_add(st, "web", "tcp://h\n:2376"), -EINVAL);
	CHECK_RC(store_host_add(st, "web", NULL), -EINVAL);
	CHECK_RC(store_host_count(st), 3);

	/* Missing hosts. */
	CHECK_RC(store_host_get(st, "nope", &h), -ENOENT);
	check(h.name == NULL, "failed get leaves a zeroed row");
	CHECK_RC(store_host_remove(st, "nope"), -ENOENT);

	/* put: update keeps the id, insert creates. */
	CHECK_RC(store_host_put(st, "local", "ssh://root@box"), 0);
	CHECK_RC(store_host_get(st, "local", &h), 0);
	check(streq(h.host_url, "ssh://root@box") && streq(h.connection_type, "ssh") &&
	      !strcmp(h.id, first_id), "put on an existing host updates url and type, keeps id");
	store_host_free_fields(&h);
	CHECK_RC(store_host_put(st, "alpha", "unix:///run/alt.sock"), 0);
	CHECK_RC(store_host_count(st), 4);
	CHECK_RC(store_host_put(st, "alpha", "ftp://x"), -EINVAL);

	/* foreach walks by name, stops on a non-zero return, may re-enter. */
	memset(&w, 0, sizeof(w));
	CHECK_RC(store_host_foreach(st, host_cb, &w), 0);
	check(w.n == 4 && !strcmp(w.names[0], "alpha") && !strcmp(w.names[1], "build-1.lan_x") &&
	      !strcmp(w.names[2], "edge") && !strcmp(w.names[3], "local"),
	      "foreach visits all hosts ordered by name");
	memset(&w, 0, sizeof(w));
	w.stop_at = 2;
	CHECK_RC(store_host_foreach(st, host_cb, &w), 7);
	check(w.n == 2, "foreach stops at the callback's non-zero return");
	memset(&w, 0, sizeof(w));
	w.st = st;
	CHECK_RC(store_host_foreach(st, host_cb, &w), 0);
	check(w.reentrant_count == 4, "callback may call back into the store");

	check(raw_int(raw, "SELECT count(*) FROM docker_hosts", NULL) == 4,
	      "raw connection sees the 4 hosts");
}

static void test_default(struct store *st, sqlite3 *raw)
{
	struct store_host h;

	CHECK_RC(store_host_set_default(st, "edge", true), 0);
	CHECK_RC(store_host_get(st, "edge", &h), 0);
	check(h.is_default, "edge is default");
	store_host_free_fields(&h);
	CHECK_RC(store_host_set_default(st, "local", true), 0);
	CHECK_RC(store_host_get(st, "edge", &h), 0);
	check(!h.is_default, "setting local clears edge");
	store_host_free_fields(&h);
	CHECK_RC(store_host_get(st, "local", &h), 0);
	check(h.is_default, "local is default");
	store_host_free_fields(&h);
	check(count_defaults(raw) == 1, "exactly one default host");
	CHECK_RC(store_host_set_default(st, "local", true), 0);
	check(count_defaults(raw) == 1, "setting the default again is idempotent");

	/* A failed switch must not lose the current default. */
	CHECK_RC(store_host_set_default(st, "nope", true), -ENOENT);
	check(count_defaults(raw) == 1 &&
	      raw_int(raw, "SELECT is_default FROM docker_hosts WHERE name = ?1", "local") == 1,
	      "set_default on a missing host rolls back, local stays default");

	/* The index holds even against a writer that skips the store. */
	check(raw_exec(raw, "UPDATE docker_hosts SET is_default = 1 WHERE name = 'edge'")
	      == SQLITE_CONSTRAINT, "schema refuses a second default");

	CHECK_RC(store_host_set_default(st, "local", false), 0);
	check(count_defaults(raw) == 0, "clearing the default leaves none");
	CHECK_RC(store_host_set_default(st, "nope", false), -ENOENT);
	CHECK_RC(store_host_set_default(st, "edge", true), 0);
	check(count_defaults(raw) == 1, "edge is default again");
}

static void test_set_text(struct store *st)
{
	static const char *const bad[] = {
		"name", "id", "is_default", "connection_type", "created_at",
		"description; DROP TABLE docker_hosts", "DESCRIPTION", "",
	};
	struct store_host h;
	size_t i;

	CHECK_RC(store_host_set_text(st, "edge", "description", "the edge box"), 0);
	CHECK_RC(store_host_set_text(st, "edge", "cluster_name", "prod"), 0);
	CHECK_RC(store_host_set_text(st, "edge", "swarm_id", "abc123"), 0);
	CHECK_RC(store_host_set_text(st, "edge", "host_type", "swarm_manager"), 0);
	CHECK_RC(store_host_set_text(st, "edge", "status", "healthy"), 0);
	CHECK_RC(store_host_get(st, "edge", &h), 0);
	check(streq(h.description, "the edge box") && streq(h.cluster_name, "prod") &&
	      streq(h.swarm_id, "abc123") && streq(h.host_type, "swarm_manager") &&
	      streq(h.status, "healthy"), "set_text writes whitelisted columns");
	store_host_free_fields(&h);

	CHECK_RC(store_host_set_text(st, "edge", "description", NULL), 0);
	CHECK_RC(store_host_get(st, "edge", &h), 0);
	check(h.description == NULL, "set_text NULL clears a column");
	store_host_free_fields(&h);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		check(store_host_set_text(st, "edge", bad[i], "x") == -EINVAL,
		      "set_text column \"%s\" is -EINVAL", bad[i]);
	CHECK_RC(store_host_set_text(st, "edge", NULL, "x"), -EINVAL);
	CHECK_RC(store_host_set_text(st, "edge", "status", "great"), -EINVAL);
	CHECK_RC(store_host_set_text(st, "edge", "host_type", "mainframe"), -EINVAL);
	CHECK_RC(store_host_set_text(st, "edge", "host_type", NULL), -EINVAL);
	CHECK_RC(store_host_set_text(st, "edge", "host_url", "http://x"), -EINVAL);
	CHECK_RC(store_host_set_text(st, "edge", "host_url", NULL), -EINVAL);
	CHECK_RC(store_host_set_text(st, "nope", "description", "x"), -ENOENT);
	check(store_host_count(st) == 4, "table survives the injection attempt");

	CHECK_RC(store_host_set_text(st, "edge", "host_url", "ssh://ops@edge"), 0);
	CHECK_RC(store_host_get(st, "edge", &h), 0);
	check(streq(h.host_url, "ssh://ops@edge") && streq(h.connection_type, "ssh"),
	      "set_text host_url re-derives connection_type");
	store_host_free_fields(&h);
}

static void test_health(struct store *st)
{
	struct store_host h;
	time_t now = time(NULL);

	CHECK_RC(store_host_set_health(st, "alpha", "healthy", "24.0.7", "1.43",
				       "linux", "x86_64", "standalone"), 0);
	CHECK_RC(store_host_get(st, "alpha", &h), 0);
	check(streq(h.status, "healthy") && streq(h.docker_version, "24.0.7") &&
	      streq(h.api_version, "1.43") && streq(h.os_type, "linux") &&
	      streq(h.architecture, "x86_64") && streq(h.host_type, "standalone"),
	      "set_health records status and engine facts");
	check(h.last_health_check >= now - 5 && h.last_health_check <= now + 5,
	      "last_health_check is now");
	store_host_free_fields(&h);

	CHECK_RC(store_host_set_health(st, "alpha", "unhealthy", NULL, NULL, NULL,
				       NULL, NULL), 0);
	CHECK_RC(store_host_get(st, "alpha", &h), 0);
	check(streq(h.status, "unhealthy") && streq(h.docker_version, "24.0.7") &&
	      streq(h.architecture, "x86_64") && streq(h.host_type, "standalone"),
	      "NULL facts keep the stored values");
	store_host_free_fields(&h);

	CHECK_RC(store_host_set_health(st, "alpha", "sick", NULL, NULL, NULL, NULL, NULL),
		 -EINVAL);
	/* NULL status: a connect that learnt the facts keeps the status. */
	CHECK_RC(store_host_set_health(st, "alpha", NULL, "24.0.8", NULL, NULL, NULL, NULL), 0);
	CHECK_RC(store_host_get(st, "alpha", &h), 0);
	check(h.status && strcmp(h.status, "unhealthy") == 0 && h.docker_version &&
	      strcmp(h.docker_version, "24.0.8") == 0, "NULL status keeps the stored one");
	store_host_free_fields(&h);
	CHECK_RC(store_host_set_health(st, "nope", "healthy", NULL, NULL, NULL, NULL, NULL),
		 -ENOENT);
}

static void test_tags(struct store *st)
{
	struct tags t;

	CHECK_RC(store_tag_set(st, "edge", "env", "prod"), 0);
	CHECK_RC(store_tag_set(st, "edge", "dc", "fra1"), 0);
	CHECK_RC(store_tag_set(st, "edge", "role", NULL), 0);
	memset(&t, 0, sizeof(t));
	CHECK_RC(store_tag_foreach(st, "edge", tag_cb, &t), 0);
	check(!strcmp(t.text, "dc=fra1,env=prod,role=(null)"),
	      "tags listed by name (%s)", t.text);

	CHECK_RC(store_tag_set(st, "edge", "env", "staging"), 0);
	memset(&t, 0, sizeof(t));
	CHECK_RC(store_tag_foreach(st, "edge", tag_cb, &t), 0);
	check(!strcmp(t.text, "dc=fra1,env=staging,role=(null)"),
	      "tag_set overwrites (%s)", t.text);

	CHECK_RC(store_tag_remove(st, "edge", "dc"), 0);
	CHECK_RC(store_tag_remove(st, "edge", "dc"), -ENOENT);
	memset(&t, 0, sizeof(t));
	CHECK_RC(store_tag_foreach(st, "edge", tag_cb, &t), 0);
	check(!strcmp(t.text, "env=staging,role=(null)"), "tag removed (%s)", t.text);

	memset(&t, 0, sizeof(t));
	CHECK_RC(store_tag_foreach(st, "local", tag_cb, &t), 0);
	check(t.n == 0, "host without tags lists none");
	CHECK_RC(store_tag_foreach(st, "nope", tag_cb, &t), -ENOENT);
	CHECK_RC(store_tag_set(st, "nope", "env", "x"), -ENOENT);
	CHECK_RC(store_tag_remove(st, "nope", "env"), -ENOENT);
	CHECK_RC(store_tag_set(st, "edge", "", "x"), -EINVAL);
	CHECK_RC(store_tag_set(st, "edge", "a/b", "x"), -EINVAL);
	CHECK_RC(store_tag_set(st, "edge", "..", "x"), -EINVAL);
	CHECK_RC(store_tag_set(st, "edge", NULL, "x"), -EINVAL);
}

static void test_stats(struct store *st, sqlite3 *raw)
{
	struct store_conn_stats cs = {
		.active_connections = 2,
		.total_connections = 1000,
		.failed_connections = 3,
		.avg_response_time_ms = 12.5,
		.last_error = "connection refused",
		.last_error_at = 1700000000,
	};
	struct store_conn_stats quiet = { .active_connections = 1 };

	CHECK_RC(store_conn_stats_add(st, "edge", &cs), 0);
	CHECK_RC(store_conn_stats_add(st, "edge", &quiet), 0);
	check(raw_int(raw, "SELECT count(*) FROM host_connection_stats s JOIN docker_hosts h"
		      " ON h.id = s.host_id WHERE h.name = ?1", "edge") == 2,
	      "two stats rows appended");
	check(raw_int(raw, "SELECT count(*) FROM host_connection_stats WHERE"
		      " total_connections = 1000 AND failed_connections = 3 AND"
		      " active_connections = 2 AND avg_response_time_ms = 12.5 AND"
		      " last_error = ?1 AND last_error_at = 1700000000", "connection refused") == 1,
	      "stats values stored");
	check(raw_int(raw, "SELECT count(*) FROM host_connection_stats WHERE"
		      " active_connections = 1 AND last_error IS NULL AND last_error_at IS NULL",
		      NULL) == 1, "absent error stored as NULL");
	CHECK_RC(store_conn_stats_add(st, "nope", &cs), -ENOENT);
	CHECK_RC(store_conn_stats_add(st, "edge", NULL), -EINVAL);
}

static void test_cascade(struct store *st, sqlite3 *raw)
{
	struct store_host h;
	char id[STORE_ID_LEN + 1];

	CHECK_RC(store_host_get(st, "edge", &h), 0);
	snprintf(id, sizeof(id), "%s", h.id);
	store_host_free_fields(&h);
	check(raw_int(raw, "SELECT count(*) FROM host_tags WHERE host_id = ?1", id) == 2,
	      "edge has 2 tags before removal");
	CHECK_RC(store_host_remove(st, "edge"), 0);
	check(raw_int(raw, "SELECT count(*) FROM host_tags WHERE host_id = ?1", id) == 0,
	      "removing a host removes its tags");
	check(raw_int(raw, "SELECT count(*) FROM host_connection_stats WHERE host_id = ?1",
		      id) == 0, "removing a host removes its stats");
	CHECK_RC(store_host_get(st, "edge", &h), -ENOENT);
	CHECK_RC(store_host_count(st), 3);
}

struct adder {
	struct store *st;
	int base;
	int errors;
};

static void *add_many(void *arg)
{
	struct adder *a = arg;
	char name[32];
	int i;

	for (i = 0; i < 25; i++) {
		snprintf(name, sizeof(name), "t%d-%d", a->base, i);
		if (store_host_add(a->st, name, "tcp://x:2376") ||
		    store_tag_set(a->st, name, "n", name) ||
		    store_host_count(a->st) < 0)
			a->errors++;
	}
	return NULL;
}

static void test_threads(struct store *st)
{
	struct adder a[4];
	pthread_t th[4];
	int i, errors = 0;

	for (i = 0; i < 4; i++) {
		a[i] = (struct adder){ .st = st, .base = i };
		pthread_create(&th[i], NULL, add_many, &a[i]);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		errors += a[i].errors;
	}
	check(errors == 0, "4 threads add 100 hosts without error");
	CHECK_RC(store_host_count(st), 103);
	for (i = 0; i < 4; i++) {
		char name[32];
		int j;

		for (j = 0; j < 25; j++) {
			snprintf(name, sizeof(name), "t%d-%d", i, j);
			if (store_host_remove(st, name))
				errors++;
		}
	}
	check(errors == 0, "the 100 thread hosts are removed");
}

/* ---- users, permissions, audit ---- */

struct users_walk {
	char text[512];
	int n;
	int stop_at;
	struct store *st;
	int reentrant_ret;
};

static int user_cb(const struct store_user *u, void *arg)
{
	struct users_walk *w = arg;
	size_t len = strlen(w->text);

	snprintf(w->text + len, sizeof(w->text) - len, "%s%s:%lld:%d", w->n ? "," : "",
		 u->username, u->uid, u->is_admin);
	w->n++;
	if (w->st) {
		struct store_user again;

		w->reentrant_ret = store_user_get(w->st, u->username, &again);
		store_user_free_fields(&again);
	}
	if (w->stop_at && w->n == w->stop_at)
		return 9;
	return 0;
}

static void user_id_of(struct store *st, const char *name, char id[STORE_ID_LEN + 1])
{
	struct store_user u;

	id[0] = '\0';
	if (store_user_get(st, name, &u) == 0)
		snprintf(id, STORE_ID_LEN + 1, "%s", u.id);
	store_user_free_fields(&u);
}

static void host_id_of(struct store *st, const char *name, char id[STORE_ID_LEN + 1])
{
	struct store_host h;

	id[0] = '\0';
	if (store_host_get(st, name, &h) == 0)
		snprintf(id, STORE_ID_LEN + 1, "%s", h.id);
	store_host_free_fields(&h);
}

static void test_users(struct store *st, sqlite3 *raw)
{
	char long_name[66];
	struct store_user u;
	struct users_walk w;
	time_t now = time(NULL);

	CHECK_RC(store_user_add(st, "alice", 1000, false), 0);
	CHECK_RC(store_user_add(st, "bob", -1, false), 0);
	CHECK_RC(store_user_add(st, "carol", 1001, true), 0);
	CHECK_RC(store_user_add(st, "root", 0, true), 0);
	CHECK_RC(store_user_add(st, "a-b.c_D9", -1, false), 0);

	CHECK_RC(store_user_get(st, "alice", &u), 0);
	check(streq(u.username, "alice") && u.uid == 1000 && !u.is_admin,
	      "get returns name, uid and admin flag");
	check(is_uuid_v4(u.id), "user id is a UUIDv4 (%s)", u.id);
	check(u.created_at >= now - 5 && u.created_at <= now + 5, "user created_at is now");
	store_user_free_fields(&u);
	check(u.username == NULL, "user free_fields clears the row");
	store_user_free_fields(&u);
	CHECK_RC(store_user_get(st, "bob", &u), 0);
	check(u.uid == -1, "user without a uid reads -1");
	store_user_free_fields(&u);
	check(raw_int(raw, "SELECT uid IS NULL FROM users WHERE username = ?1", "bob") == 1,
	      "uid -1 is stored as NULL");
	CHECK_RC(store_user_get(st, "carol", &u), 0);
	check(u.is_admin && u.uid == 1001, "carol is admin with uid 1001");
	store_user_free_fields(&u);

	/* Uniqueness: name, and uid (but any number of users without one). */
	CHECK_RC(store_user_add(st, "alice", 2000, false), -EEXIST);
	CHECK_RC(store_user_add(st, "dave", 1000, false), -EEXIST);
	CHECK_RC(store_user_add(st, "dave", 0, false), -EEXIST);
	CHECK_RC(store_user_add(st, "eve", -1, false), 0);
	CHECK_RC(store_user_get(st, "dave", &u), -ENOENT);
	check(u.username == NULL, "failed user get leaves a zeroed row");

	/* Names and uids. */
	CHECK_RC(store_user_add(st, "", -1, false), -EINVAL);
	CHECK_RC(store_user_add(st, NULL, -1, false), -EINVAL);
	CHECK_RC(store_user_add(st, ".dot", -1, false), -EINVAL);
	CHECK_RC(store_user_add(st, "-dash", -1, false), -EINVAL);
	CHECK_RC(store_user_add(st, "a b", -1, false), -EINVAL);
	CHECK_RC(store_user_add(st, "a/b", -1, false), -EINVAL);
	CHECK_RC(store_user_add(st, "a:b", -1, false), -EINVAL);
	CHECK_RC(store_user_add(st, "j\xc3\xb6rg", -1, false), -EINVAL);
	memset(long_name, 'u', 65);
	long_name[65] = '\0';
	CHECK_RC(store_user_add(st, long_name, -1, false), -EINVAL);
	long_name[64] = '\0';
	CHECK_RC(store_user_add(st, long_name, -1, false), 0);
	CHECK_RC(store_user_remove(st, long_name), 0);
	CHECK_RC(store_user_add(st, "frank", -2, false), -EINVAL);
	CHECK_RC(store_user_add(st, "frank", 4294967295LL, false), -EINVAL);
	CHECK_RC(store_user_add(st, "frank", 4294967294LL, false), 0);
	CHECK_RC(store_user_remove(st, "frank"), 0);
	CHECK_RC(store_user_get(st, "-dash", &u), -EINVAL);

	/* By uid. */
	CHECK_RC(store_user_get_by_uid(st, 1000, &u), 0);
	check(streq(u.username, "alice"), "uid 1000 is alice");
	store_user_free_fields(&u);
	CHECK_RC(store_user_get_by_uid(st, 0, &u), 0);
	check(streq(u.username, "root") && u.is_admin, "uid 0 is root");
	store_user_free_fields(&u);
	CHECK_RC(store_user_get_by_uid(st, 4242, &u), -ENOENT);
	CHECK_RC(store_user_get_by_uid(st, -1, &u), -EINVAL);

	/* set_uid. */
	CHECK_RC(store_user_set_uid(st, "bob", 1002), 0);
	CHECK_RC(store_user_get_by_uid(st, 1002, &u), 0);
	check(streq(u.username, "bob"), "set_uid binds bob to 1002");
	store_user_free_fields(&u);
	CHECK_RC(store_user_set_uid(st, "bob", 1000), -EEXIST);
	CHECK_RC(store_user_get(st, "bob", &u), 0);
	check(u.uid == 1002, "a refused set_uid keeps the old uid");
	store_user_free_fields(&u);
	CHECK_RC(store_user_set_uid(st, "bob", 1002), 0);
	CHECK_RC(store_user_set_uid(st, "bob", -1), 0);
	CHECK_RC(store_user_get_by_uid(st, 1002, &u), -ENOENT);
	check(raw_int(raw, "SELECT uid IS NULL FROM users WHERE username = ?1", "bob") == 1,
	      "set_uid -1 unbinds");
	CHECK_RC(store_user_set_uid(st, "nope", 5), -ENOENT);
	CHECK_RC(store_user_set_uid(st, "bob", -7), -EINVAL);

	/* set_admin. */
	CHECK_RC(store_user_set_admin(st, "alice", true), 0);
	CHECK_RC(store_user_get(st, "alice", &u), 0);
	check(u.is_admin, "set_admin sets the flag");
	store_user_free_fields(&u);
	CHECK_RC(store_user_set_admin(st, "alice", false), 0);
	CHECK_RC(store_user_get(st, "alice", &u), 0);
	check(!u.is_admin, "set_admin clears the flag");
	store_user_free_fields(&u);
	CHECK_RC(store_user_set_admin(st, "nope", true), -ENOENT);

	/* foreach. */
	memset(&w, 0, sizeof(w));
	CHECK_RC(store_user_foreach(st, user_cb, &w), 0);
	check(!strcmp(w.text, "a-b.c_D9:-1:0,alice:1000:0,bob:-1:0,carol:1001:1,"
		      "eve:-1:0,root:0:1"), "user foreach by name (%s)", w.text);
	memset(&w, 0, sizeof(w));
	w.stop_at = 2;
	CHECK_RC(store_user_foreach(st, user_cb, &w), 9);
	check(w.n == 2, "user foreach stops at the callback's non-zero return");
	memset(&w, 0, sizeof(w));
	w.st = st;
	w.reentrant_ret = -1;
	CHECK_RC(store_user_foreach(st, user_cb, &w), 0);
	check(w.reentrant_ret == 0, "user callback may call back into the store");

	/* remove. */
	CHECK_RC(store_user_remove(st, "a-b.c_D9"), 0);
	CHECK_RC(store_user_remove(st, "a-b.c_D9"), -ENOENT);
	CHECK_RC(store_user_get(st, "a-b.c_D9", &u), -ENOENT);
	CHECK_RC(store_user_remove(st, ".x"), -EINVAL);
}

struct perms {
	char text[512];
	int n;
	int stop_at;
};

static int perm_cb(const char *username, const char *host, const char *level, void *arg)
{
	struct perms *p = arg;
	size_t len = strlen(p->text);

	snprintf(p->text + len, sizeof(p->text) - len, "%s%s/%s=%s", p->n ? "," : "",
		 host, username, level);
	p->n++;
	if (p->stop_at && p->n == p->stop_at)
		return 5;
	return 0;
}

static void list_perms(struct store *st, const char *user, const char *host,
		       struct perms *p, int want_ret)
{
	memset(p, 0, sizeof(*p));
	check(store_perm_foreach(st, user, host, perm_cb, p) == want_ret,
	      "perm_foreach(%s, %s) returns %d", user ? user : "NULL",
	      host ? host : "NULL", want_ret);
}

static void test_perms(struct store *st, sqlite3 *raw)
{
	char level[STORE_LEVEL_LEN], carol_id[STORE_ID_LEN + 1], host_id[STORE_ID_LEN + 1];
	char temp_id[STORE_ID_LEN + 1];
	struct perms p;
	sqlite3_stmt *s = NULL;
	bool tokens_ok = false;

	user_id_of(st, "carol", carol_id);

	CHECK_RC(store_perm_set(st, "alice", "local", "viewer", "carol"), 0);
	CHECK_RC(store_perm_get(st, "alice", "local", level), 0);
	check(streq(level, "viewer"), "perm_get reads viewer");
	check(raw_int(raw, "SELECT count(*) FROM user_host_permissions WHERE granted_by = ?1",
		      carol_id) == 1, "granted_by holds the granter's id");
	CHECK_RC(store_perm_set(st, "alice", "local", "operator", NULL), 0);
	CHECK_RC(store_perm_get(st, "alice", "local", level), 0);
	check(streq(level, "operator"), "perm_set overwrites the level");
	check(raw_int(raw, "SELECT count(*) FROM user_host_permissions WHERE granted_by IS NULL",
		      NULL) == 1 &&
	      raw_int(raw, "SELECT count(*) FROM user_host_permissions", NULL) == 1,
	      "overwrite keeps one row and records the new granter (none)");

	/* Bad input, unknown names. */
	CHECK_RC(store_perm_set(st, "alice", "local", "root", NULL), -EINVAL);
	CHECK_RC(store_perm_set(st, "alice", "local", "Viewer", NULL), -EINVAL);
	CHECK_RC(store_perm_set(st, "alice", "local", "", NULL), -EINVAL);
	CHECK_RC(store_perm_set(st, "alice", "local", NULL, NULL), -EINVAL);
	CHECK_RC(store_perm_set(st, "alice", "local", "admin", "-x"), -EINVAL);
	CHECK_RC(store_perm_set(st, "-x", "local", "admin", NULL), -EINVAL);
	CHECK_RC(store_perm_set(st, "alice", "a/b", "admin", NULL), -EINVAL);
	CHECK_RC(store_perm_set(st, "nobody", "local", "viewer", NULL), -ENOENT);
	CHECK_RC(store_perm_set(st, "alice", "nohost", "viewer", NULL), -ENOENT);
	CHECK_RC(store_perm_set(st, "alice", "local", "viewer", "nobody"), -ENOENT);
	CHECK_RC(store_perm_get(st, "alice", "local", level), 0);
	check(streq(level, "operator"), "refused perm_set calls change nothing");
	CHECK_RC(store_perm_get(st, "bob", "local", level), -ENOENT);
	check(level[0] == '\0', "perm_get without a level leaves an empty string");
	CHECK_RC(store_perm_get(st, "nobody", "local", level), -ENOENT);
	CHECK_RC(store_perm_get(st, "alice", "nohost", level), -ENOENT);
	CHECK_RC(store_perm_get(st, "alice", ".x", level), -EINVAL);

	/* foreach with filters. */
	CHECK_RC(store_perm_set(st, "alice", "alpha", "admin", "root"), 0);
	CHECK_RC(store_perm_set(st, "bob", "local", "viewer", "root"), 0);
	CHECK_RC(store_perm_set(st, "carol", "alpha", "viewer", NULL), 0);
	list_perms(st, NULL, NULL, &p, 0);
	check(!strcmp(p.text, "alpha/alice=admin,alpha/carol=viewer,"
		      "local/alice=operator,local/bob=viewer"),
	      "perm_foreach lists all by host, user (%s)", p.text);
	list_perms(st, "alice", NULL, &p, 0);
	check(!strcmp(p.text, "alpha/alice=admin,local/alice=operator"),
	      "perm_foreach by user (%s)", p.text);
	list_perms(st, NULL, "local", &p, 0);
	check(!strcmp(p.text, "local/alice=operator,local/bob=viewer"),
	      "perm_foreach by host (%s)", p.text);
	list_perms(st, "carol", "alpha", &p, 0);
	check(!strcmp(p.text, "alpha/carol=viewer"), "perm_foreach by user and host (%s)",
	      p.text);
	list_perms(st, "eve", NULL, &p, 0);
	check(p.n == 0, "a user without levels lists none");
	list_perms(st, "carol", "local", &p, 0);
	check(p.n == 0, "no level of carol on local");
	list_perms(st, "nobody", NULL, &p, -ENOENT);
	list_perms(st, NULL, "nohost", &p, -ENOENT);
	list_perms(st, "-x", NULL, &p, -EINVAL);
	memset(&p, 0, sizeof(p));
	p.stop_at = 1;
	CHECK_RC(store_perm_foreach(st, NULL, NULL, perm_cb, &p), 5);
	check(p.n == 1, "perm_foreach stops at the callback's non-zero return");

	/* remove. */
	CHECK_RC(store_perm_remove(st, "carol", "alpha"), 0);
	CHECK_RC(store_perm_remove(st, "carol", "alpha"), -ENOENT);
	CHECK_RC(store_perm_get(st, "carol", "alpha", level), -ENOENT);
	CHECK_RC(store_perm_remove(st, "nobody", "alpha"), -ENOENT);
	CHECK_RC(store_perm_remove(st, "carol", "nohost"), -ENOENT);
	CHECK_RC(store_perm_remove(st, "carol", ""), -EINVAL);

	/* Removing a user takes its levels and tokens; its grants stay. */
	CHECK_RC(store_user_add(st, "temp", 3000, false), 0);
	user_id_of(st, "temp", temp_id);
	CHECK_RC(store_perm_set(st, "temp", "local", "admin", NULL), 0);
	CHECK_RC(store_perm_set(st, "temp", "alpha", "viewer", NULL), 0);
	CHECK_RC(store_perm_set(st, "eve", "alpha", "viewer", "temp"), 0);
	if (sqlite3_prepare_v2(raw, "INSERT INTO api_tokens (id, user_id, name, token_hash)"
			       " VALUES ('tok-1', ?1, 'ci', 'hash-1')", -1, &s, NULL) == SQLITE_OK) {
		sqlite3_bind_text(s, 1, temp_id, -1, SQLITE_STATIC);
		tokens_ok = sqlite3_step(s) == SQLITE_DONE;
	}
	sqlite3_finalize(s);
	check(tokens_ok, "api token inserted for temp");
	check(raw_int(raw, "SELECT count(*) FROM user_host_permissions WHERE user_id = ?1",
		      temp_id) == 2, "temp has 2 levels before removal");
	CHECK_RC(store_user_remove(st, "temp"), 0);
	check(raw_int(raw, "SELECT count(*) FROM user_host_permissions WHERE user_id = ?1",
		      temp_id) == 0, "removing a user removes its levels");
	check(raw_int(raw, "SELECT count(*) FROM api_tokens WHERE user_id = ?1", temp_id) == 0,
	      "removing a user removes its tokens");
	CHECK_RC(store_perm_get(st, "eve", "alpha", level), 0);
	check(streq(level, "viewer") &&
	      raw_int(raw, "SELECT count(*) FROM user_host_permissions p JOIN users u"
		      " ON u.id = p.user_id WHERE u.username = ?1 AND p.granted_by IS NULL",
		      "eve") == 1, "a grant by a removed user stays, granted_by NULL");
	CHECK_RC(store_perm_remove(st, "eve", "alpha"), 0);

	/* Removing a host takes its levels. */
	CHECK_RC(store_host_add(st, "perm-host", "tcp://ph:2376"), 0);
	host_id_of(st, "perm-host", host_id);
	CHECK_RC(store_perm_set(st, "alice", "perm-host", "admin", NULL), 0);
	CHECK_RC(store_perm_set(st, "bob", "perm-host", "operator", NULL), 0);
	list_perms(st, NULL, "perm-host", &p, 0);
	check(p.n == 2, "perm-host has 2 levels");
	CHECK_RC(store_host_remove(st, "perm-host"), 0);
	check(raw_int(raw, "SELECT count(*) FROM user_host_permissions WHERE host_id = ?1",
		      host_id) == 0, "removing a host removes its levels");
	list_perms(st, NULL, "perm-host", &p, -ENOENT);
	list_perms(st, NULL, NULL, &p, 0);
	check(!strcmp(p.text, "alpha/alice=admin,local/alice=operator,local/bob=viewer"),
	      "other levels untouched (%s)", p.text);
}

struct audits {
	long long ids[32];
	char rows[32][256];
	int n;
	int stop_at;
};

static int audit_cb(const struct store_audit *a, void *arg)
{
	struct audits *r = arg;

#define S(x) ((x) ? (x) : "-")
	if (r->n < 32) {
		r->ids[r->n] = a->id;
		snprintf(r->rows[r->n], sizeof(r->rows[0]), "%s|%lld|%s|%s|%s|%s|%s|%s|%d",
			 S(a->username), a->uid, S(a->host), a->action,
			 S(a->resource_type), S(a->resource_id), S(a->details),
			 S(a->outcome), a->error);
	}
#undef S
	r->n++;
	if (r->stop_at && r->n == r->stop_at)
		return 3;
	return 0;
}

static void list_audit(struct store *st, const char *user, long long after, int limit,
		       struct audits *r)
{
	memset(r, 0, sizeof(*r));
	CHECK_RC(store_audit_foreach(st, user, after, limit, audit_cb, r), 0);
}

/* True when r holds exactly the ids want[0..n-1], in that order. */
static bool audit_ids(const struct audits *r, const long long *want, int n)
{
	int i;

	if (r->n != n)
		return false;
	for (i = 0; i < n; i++)
		if (r->ids[i] != want[i])
			return false;
	return true;
}

/* Whether the walk after id - 1 starts at id. */
static bool walk_starts_at(struct store *st, long long id)
{
	struct audits r;

	memset(&r, 0, sizeof(r));
	r.stop_at = 1;
	return store_audit_foreach(st, NULL, id - 1, 0, audit_cb, &r) == 3 &&
	       r.ids[0] == id;
}

struct ts_catch {
	long long ts[32];
	int n;
};

static int ts_cb(const struct store_audit *a, void *arg)
{
	struct ts_catch *t = arg;

	if (t->n < 32)
		t->ts[t->n] = a->ts_ms;
	t->n++;
	return 0;
}

static void test_audit(struct store *st, sqlite3 *raw)
{
	struct store_audit a;
	long long id[6] = { 0 }, before, after, got;
	char host_id[STORE_ID_LEN + 1], alice_id[STORE_ID_LEN + 1], sql[200];
	struct timespec tp;
	struct ts_catch t;
	struct audits r;

	CHECK_RC(store_host_add(st, "audited", "tcp://au:2376"), 0);
	host_id_of(st, "audited", host_id);
	user_id_of(st, "alice", alice_id);

	a = (struct store_audit){ .ts_ms = 1700000000123LL, .username = "alice",
				  .uid = 1000, .host = "audited", .action = "start",
				  .resource_type = "container", .resource_id = "abc123",
				  .details = "{\"n\":1}", .outcome = "ok" };
	CHECK_RC(store_audit_add(st, &a, &id[0]), 0);
	clock_gettime(CLOCK_REALTIME, &tp);
	before = (long long)tp.tv_sec * 1000 + tp.tv_nsec / 1000000;
	a = (struct store_audit){ .username = "bob", .uid = -1, .action = "login",
				  .outcome = "denied", .error = EACCES };
	CHECK_RC(store_audit_add(st, &a, &id[1]), 0);
	clock_gettime(CLOCK_REALTIME, &tp);
	after = (long long)tp.tv_sec * 1000 + tp.tv_nsec / 1000000;
	a = (struct store_audit){ .username = "alice", .uid = 1000, .host = "nohost",
				  .action = "stop", .outcome = "failed", .error = ENOENT };
	CHECK_RC(store_audit_add(st, &a, &id[2]), 0);
	a = (struct store_audit){ .uid = -1, .action = "health", .host = "local" };
	CHECK_RC(store_audit_add(st, &a, &id[3]), 0);
	a = (struct store_audit){ .username = "alice", .uid = 1000, .action = "ls" };
	CHECK_RC(store_audit_add(st, &a, &id[4]), 0);
	a = (struct store_audit){ .username = "ghost", .uid = 4294967295LL, .action = "rm",
				  .host = "../x" };
	CHECK_RC(store_audit_add(st, &a, NULL), 0);
	check(id[0] > 0 && id[0] < id[1] && id[1] < id[2] && id[2] < id[3] && id[3] < id[4],
	      "audit ids increase (%lld..%lld)", id[0], id[4]);
	id[5] = raw_int(raw, "SELECT max(id) FROM audit_logs", NULL);
	check(id[5] > id[4], "an audit add without an id pointer is stored");

	/* What the rows hold. */
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM audit_logs WHERE id = %lld AND"
		 " host_id = ?1 AND host_name = 'audited' AND ts = 1700000000123", id[0]);
	check(raw_int(raw, sql, host_id) == 1, "audit row has the host's id and name, ts in ms");
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM audit_logs WHERE id = %lld AND"
		 " user_id = ?1", id[0]);
	check(raw_int(raw, sql, alice_id) == 1, "audit row has the user's id");
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM audit_logs WHERE id = %lld AND"
		 " host_id IS NULL AND host_name = ?1", id[2]);
	check(raw_int(raw, sql, "nohost") == 1, "unknown host: host_id NULL, name kept");
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM audit_logs WHERE id = %lld AND"
		 " user_id IS NULL AND username IS NULL AND uid IS NULL", id[3]);
	check(raw_int(raw, sql, NULL) == 1, "no user: user_id, username, uid NULL");

	/* Bad input. */
	CHECK_RC(store_audit_add(st, NULL, NULL), -EINVAL);
	a = (struct store_audit){ .uid = -1 };
	CHECK_RC(store_audit_add(st, &a, NULL), -EINVAL);
	a = (struct store_audit){ .uid = -1, .action = "x", .outcome = "maybe" };
	CHECK_RC(store_audit_add(st, &a, NULL), -EINVAL);
	a = (struct store_audit){ .uid = -2, .action = "x" };
	CHECK_RC(store_audit_add(st, &a, NULL), -EINVAL);
	a = (struct store_audit){ .uid = -1, .action = "x", .ts_ms = -5 };
	got = 0;
	CHECK_RC(store_audit_add(st, &a, &got), -EINVAL);
	check(got == 0, "a refused audit add reports no id");
	check(raw_int(raw, "SELECT max(id) FROM audit_logs", NULL) == id[5],
	      "refused audit adds store nothing");

	/* foreach: all, in id order, every field. */
	list_audit(st, NULL, 0, 0, &r);
	check(audit_ids(&r, id, 6), "audit foreach lists the 6 rows in id order");
	check(!strcmp(r.rows[0], "alice|1000|audited|start|container|abc123|{\"n\":1}|ok|0"),
	      "audit row 1 reads back (%s)", r.rows[0]);
	check(!strcmp(r.rows[1], "bob|-1|-|login|-|-|-|denied|13"),
	      "audit row 2 reads back, uid -1 and NULLs (%s)", r.rows[1]);
	check(!strcmp(r.rows[5], "ghost|4294967295|../x|rm|-|-|-|-|0"),
	      "odd uid and malformed host are recorded as given (%s)", r.rows[5]);
	memset(&t, 0, sizeof(t));
	CHECK_RC(store_audit_foreach(st, NULL, 0, 0, ts_cb, &t), 0);
	check(t.n == 6 && t.ts[0] == 1700000000123LL, "explicit ts_ms kept");
	check(t.ts[1] >= before - 1000 && t.ts[1] <= after + 1000,
	      "ts_ms 0 is now in milliseconds (%lld in [%lld, %lld])", t.ts[1], before, after);
	check(walk_starts_at(st, id[2]), "after_id = id - 1 starts at id");

	/* Filters. */
	list_audit(st, "alice", 0, 0, &r);
	{
		long long want[] = { id[0], id[2], id[4] };

		check(audit_ids(&r, want, 3), "username filter: alice's 3 rows in order");
	}
	list_audit(st, NULL, id[1], 0, &r);
	check(audit_ids(&r, id + 2, 4), "after_id skips up to and including it");
	list_audit(st, NULL, 0, 2, &r);
	check(audit_ids(&r, id + 4, 2), "limit 2: the last 2 rows, in id order");
	list_audit(st, "alice", 0, 2, &r);
	{
		long long want[] = { id[2], id[4] };

		check(audit_ids(&r, want, 2), "alice limit 2: her last 2 rows, in order");
	}
	list_audit(st, "alice", id[2], 5, &r);
	check(audit_ids(&r, id + 4, 1), "alice after row 3, limit 5: row 5 only");
	list_audit(st, NULL, id[0], 100, &r);
	check(audit_ids(&r, id + 1, 5), "limit above the count returns all after after_id");
	list_audit(st, NULL, 0, -3, &r);
	check(r.n == 6, "negative limit is no limit");
	list_audit(st, NULL, id[5], 0, &r);
	check(r.n == 0, "after the last id: nothing");
	list_audit(st, "nobody", 0, 0, &r);
	check(r.n == 0, "unknown user: nothing");
	memset(&r, 0, sizeof(r));
	r.stop_at = 2;
	CHECK_RC(store_audit_foreach(st, NULL, 0, 0, audit_cb, &r), 3);
	check(r.n == 2, "audit foreach stops at the callback's non-zero return");

	/* The trail outlives the host and the user it names. */
	CHECK_RC(store_host_remove(st, "audited"), 0);
	CHECK_RC(store_user_add(st, "leaver", 4000, false), 0);
	a = (struct store_audit){ .username = "leaver", .uid = 4000, .action = "bye",
				  .outcome = "ok" };
	CHECK_RC(store_audit_add(st, &a, &got), 0);
	CHECK_RC(store_user_remove(st, "leaver"), 0);
	list_audit(st, NULL, 0, 0, &r);
	check(r.n == 7 && !strcmp(r.rows[0], "alice|1000|audited|start|container|abc123|"
				  "{\"n\":1}|ok|0"),
	      "audit row keeps the removed host's name (%s)", r.rows[0]);
	check(r.ids[6] == got && !strcmp(r.rows[6], "leaver|4000|-|bye|-|-|-|ok|0"),
	      "audit row keeps the removed user's name and uid (%s)", r.rows[6]);
	list_audit(st, "leaver", 0, 0, &r);
	check(r.n == 1, "a removed user's rows are still found by name");
	check(raw_int(raw, "SELECT count(*) FROM audit_logs", NULL) == 7,
	      "no audit row was lost");
}

/* A database made by the version-1 code (migration 1 only) is upgraded in
 * place: the v1 rows stay and gain what migration 2 adds. */
static void test_migration(void)
{
	char path[300], host_id[STORE_ID_LEN + 1], sql[400];
	struct store *st = NULL;
	struct store_user u;
	struct audits r;
	sqlite3 *raw;
	int ret;

	snprintf(path, sizeof(path), "%s/v1.db", dir);
	CHECK_RC(store_open_version(path, 0, &st), -EINVAL);
	check(st == NULL, "bad version leaves *out NULL");
	CHECK_RC(store_open_version(path, LATEST_SCHEMA_VERSION + 1, &st), -EINVAL);
	ret = store_open_version(path, 1, &st);
	check(ret == 0 && st, "open at schema version 1 (ret %d)", ret);
	if (ret)
		return;
	CHECK_RC(store_schema_version(st), 1);
	CHECK_RC(store_host_add(st, "old", "tcp://old:2376"), 0);
	CHECK_RC(store_host_add(st, "doomed", "tcp://doomed:2376"), 0);
	CHECK_RC(store_user_add(st, "olduser", 1500, true), 0);
	CHECK_RC(store_perm_set(st, "olduser", "old", "operator", NULL), 0);
	host_id_of(st, "old", host_id);
	store_close(st);

	raw = raw_open(path);
	check(raw != NULL, "raw connection to the v1 database");
	if (!raw)
		return;
	check(raw_int(raw, "SELECT count(*) FROM pragma_table_info('audit_logs')"
		      " WHERE name = 'host_name'", NULL) == 0, "v1 audit_logs has no host_name");
	/* Rows as a v1 writer left them: a host by id only. */
	snprintf(sql, sizeof(sql),
		 "INSERT INTO audit_logs (ts, username, uid, host_id, action, outcome, errno)"
		 " VALUES (1600000000000, 'olduser', 1500, '%s', 'start', 'ok', 0),"
		 " (1600000000001, 'olduser', 1500, 'gone-host-id', 'stop', 'failed', 5)",
		 host_id);
	check(raw_exec(raw, sql) == SQLITE_OK, "v1 audit rows inserted");
	sqlite3_close(raw);

	ret = store_open(path, &st);
	check(ret == 0, "store_open upgrades the v1 database (ret %d)", ret);
	if (ret)
		return;
	CHECK_RC(store_schema_version(st), LATEST_SCHEMA_VERSION);
	CHECK_RC(store_host_count(st), 2);
	CHECK_RC(store_user_get(st, "olduser", &u), 0);
	check(u.uid == 1500 && u.is_admin, "v1 user kept");
	store_user_free_fields(&u);
	{
		char level[STORE_LEVEL_LEN];

		CHECK_RC(store_perm_get(st, "olduser", "old", level), 0);
		check(streq(level, "operator"), "v1 permission kept");
	}
	list_audit(st, NULL, 0, 0, &r);
	check(r.n == 2 && !strcmp(r.rows[0], "olduser|1500|old|start|-|-|-|ok|0") &&
	      !strcmp(r.rows[1], "olduser|1500|-|stop|-|-|-|failed|5"),
	      "v1 audit rows kept; a live host's name is filled in (%s / %s)",
	      r.rows[0], r.rows[1]);
	{
		struct store_audit a = { .username = "olduser", .uid = 1500,
					 .host = "doomed", .action = "kill", .outcome = "ok" };

		CHECK_RC(store_audit_add(st, &a, NULL), 0);
	}
	CHECK_RC(store_host_remove(st, "doomed"), 0);
	list_audit(st, NULL, 0, 1, &r);
	check(r.n == 1 && !strcmp(r.rows[0], "olduser|1500|doomed|kill|-|-|-|ok|0"),
	      "upgraded database keeps a removed host's name (%s)", r.rows[0]);
	store_close(st);

	raw = raw_open(path);
	if (raw) {
		check(raw_int(raw, "SELECT count(*) FROM pragma_table_info('audit_logs')"
			      " WHERE name = 'host_name'", NULL) == 1 &&
		      raw_int(raw, "SELECT count(*) FROM sqlite_master WHERE type = 'index'"
			      " AND name = ?1", "idx_audit_username") == 1,
		      "migration 2 added host_name and its index");
		check(raw_int(raw, "PRAGMA user_version", NULL) == LATEST_SCHEMA_VERSION,
		      "user_version is %d on disk", LATEST_SCHEMA_VERSION);
		sqlite3_close(raw);
	}

	/* Asking for an older version than the file has does not downgrade. */
	ret = store_open_version(path, 1, &st);
	check(ret == 0 && store_schema_version(st) == LATEST_SCHEMA_VERSION,
	      "open_version below the file's version opens it as it is");
	if (!ret)
		store_close(st);

	unlink(path);
	snprintf(sql, sizeof(sql), "%s-wal", path);
	unlink(sql);
	snprintf(sql, sizeof(sql), "%s-shm", path);
	unlink(sql);
}

static void test_reopen(void)
{
	struct store *st = NULL;
	struct store_host h;
	struct store_user u;
	char path[300];
	sqlite3 *raw;
	int ret;

	ret = store_open(db_path, &st);
	check(ret == 0, "reopen succeeds");
	if (ret)
		return;
	check(store_schema_version(st) == LATEST_SCHEMA_VERSION,
	      "reopen keeps schema version %d", LATEST_SCHEMA_VERSION);
	CHECK_RC(store_host_count(st), 3);
	CHECK_RC(store_host_get(st, "local", &h), 0);
	check(streq(h.host_url, "ssh://root@box"), "reopen keeps host data");
	store_host_free_fields(&h);
	CHECK_RC(store_host_get(st, "alpha", &h), 0);
	check(streq(h.docker_version, "24.0.8"), "reopen keeps health facts (the last ones set)");
	store_host_free_fields(&h);
	CHECK_RC(store_user_get_by_uid(st, 1000, &u), 0);
	check(streq(u.username, "alice"), "reopen keeps users");
	store_user_free_fields(&u);
	store_close(st);

	/* A database from a newer dockfs is refused, not downgraded. */
	snprintf(path, sizeof(path), "%s/future.db", dir);
	ret = sqlite3_open(path, &raw);
	if (ret == SQLITE_OK)
		ret = raw_exec(raw, "PRAGMA user_version = 999");
	sqlite3_close(raw);
	check(ret == SQLITE_OK, "future database prepared");
	st = NULL;
	ret = store_open(path, &st);
	check(ret < 0 && st == NULL, "schema newer than the code is refused (%d)", ret);
	unlink(path);

	/* In-memory databases, for other units' tests, skip the file mode. */
	ret = store_open(":memory:", &st);
	check(ret == 0 && store_schema_version(st) == LATEST_SCHEMA_VERSION &&
	      store_host_add(st, "m", "unix:///s") == 0, ":memory: store works");
	if (!ret)
		store_close(st);
	check(access(":memory:", F_OK) != 0, "no file named :memory: is created");

	/* An unusable path fails cleanly. */
	snprintf(path, sizeof(path), "%s/no/such/dir.db", dir);
	ret = store_open(path, &st);
	check(ret == -ENOENT && st == NULL, "open in a missing directory is -ENOENT (%d)", ret);
}

/* The registry is the daemon's alone: what another user could have made or
 * changed is refused before SQLite sees it. */
static void test_private(void)
{
	char sub[300], path[400], target[400];
	struct store *st = NULL;
	struct stat sb;
	int ret, fd;

	snprintf(sub, sizeof(sub), "%s/priv", dir);
	check(mkdir(sub, 0700) == 0, "made %s", sub);

	snprintf(path, sizeof(path), "%s/fresh.db", sub);
	ret = store_open(path, &st);
	check(ret == 0 && stat(path, &sb) == 0 && (sb.st_mode & 07777) == 0600,
	      "a fresh registry is created 0600 (ret %d)", ret);
	if (!ret)
		store_close(st);

	/* A symlink, even to a file of ours. */
	snprintf(target, sizeof(target), "%s/real.db", sub);
	snprintf(path, sizeof(path), "%s/link.db", sub);
	fd = open(target, O_CREAT | O_WRONLY, 0600);
	close(fd);
	check(symlink(target, path) == 0, "symlink made");
	st = NULL;
	ret = store_open(path, &st);
	check(ret == -ELOOP && !st, "a symlinked registry is refused (%d)", ret);

	/* Writable by others (a planted file made so to be written). */
	snprintf(path, sizeof(path), "%s/open.db", sub);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	fchmod(fd, 0666);
	close(fd);
	ret = store_open(path, &st);
	check(ret == -EPERM && !st, "a registry writable by others is refused (%d)", ret);
	chmod(path, 0620);
	ret = store_open(path, &st);
	check(ret == -EPERM && !st, "a registry writable by its group is refused (%d)", ret);

	/* Readable by others only: ours, tightened. */
	chmod(path, 0644);
	ret = store_open(path, &st);
	check(ret == 0 && stat(path, &sb) == 0 && (sb.st_mode & 07777) == 0600,
	      "a registry readable by others is tightened to 0600 (%d)", ret);
	if (!ret)
		store_close(st);

	/* A -wal file someone else could write. */
	snprintf(path, sizeof(path), "%s/w.db-wal", sub);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	fchmod(fd, 0622);
	close(fd);
	snprintf(path, sizeof(path), "%s/w.db", sub);
	ret = store_open(path, &st);
	check(ret == -EPERM && !st, "a -wal file writable by others is refused (%d)", ret);

	/* A directory others can write, sticky or not. */
	snprintf(sub, sizeof(sub), "%s/shared", dir);
	mkdir(sub, 0700);
	chmod(sub, 01777);
	snprintf(path, sizeof(path), "%s/x.db", sub);
	ret = store_open(path, &st);
	check(ret == -EPERM && !st && access(path, F_OK) != 0,
	      "a registry in a world-writable directory is refused, and not created (%d)", ret);
}

int main(void)
{
	struct store *st = NULL;
	sqlite3 *raw;
	char path[300];

	/* The tests read the database behind the store's back. */
	store_lock_exclusive = false;
	log_init(LOG_LVL_ERROR);
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(db_path, sizeof(db_path), "%s/dockfs.db", dir);

	test_open();
	test_private();
	if (store_open(db_path, &st)) {
		printf("not ok - reopen for the host tests\n");
		return 1;
	}
	raw = raw_open(db_path);
	if (!raw)
		return 1;
	test_hosts(st, raw);
	test_default(st, raw);
	test_set_text(st);
	test_health(st);
	test_tags(st);
	test_stats(st, raw);
	test_cascade(st, raw);
	test_threads(st);
	test_users(st, raw);
	test_perms(st, raw);
	test_audit(st, raw);
	sqlite3_close(raw);
	store_close(st);
	test_reopen();
	test_migration();

	/* The -wal and -shm files go when the last connection closes. */
	unlink(db_path);
	snprintf(path, sizeof(path), "%s-wal", db_path);
	unlink(path);
	snprintf(path, sizeof(path), "%s-shm", db_path);
	unlink(path);
	rmdir(dir);

	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
