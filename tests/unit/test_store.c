/* test_store.c - the registry against a real SQLite file in a temp dir.
 * Prints "ok - ..." / "not ok - ..." per check and "N passed, N failed". */
#include <errno.h>
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
#define LATEST_SCHEMA_VERSION 1

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
	CHECK_RC(store_host_set_health(st, "alpha", NULL, NULL, NULL, NULL, NULL, NULL),
		 -EINVAL);
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

static void test_reopen(void)
{
	struct store *st = NULL;
	struct store_host h;
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
	check(streq(h.docker_version, "24.0.7"), "reopen keeps health facts");
	store_host_free_fields(&h);
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

int main(void)
{
	struct store *st = NULL;
	sqlite3 *raw;
	char path[300];

	log_init(false, LOG_LVL_ERROR);
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(db_path, sizeof(db_path), "%s/dockfs.db", dir);

	test_open();
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
	sqlite3_close(raw);
	store_close(st);
	test_reopen();

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
