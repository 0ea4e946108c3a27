/* store.c - the registry in SQLite: one serialized connection behind a mutex,
 * schema versioned by PRAGMA user_version, every value bound, never spliced. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "log.h"
#include "private_file.h"
#include "store.h"

struct store {
	sqlite3 *db;
	/* Our own lock on top of SQLITE_OPEN_FULLMUTEX: it keeps a statement,
	 * its sqlite3_errmsg() and multi-statement transactions together. */
	pthread_mutex_t lock;
};

#define NOW_S "(CAST(strftime('%s', 'now') AS INTEGER))"

/* Migration N (1-based) brings user_version from N-1 to N.  Append only: a
 * released migration is never edited, since databases in the field ran it. */
static const char *const migrations[] = {
	/* 1: the plan's tables, adapted to SQLite. */
	"CREATE TABLE users ("
	"  id TEXT PRIMARY KEY NOT NULL,"
	"  username TEXT NOT NULL UNIQUE,"
	"  uid INTEGER UNIQUE,"
	"  is_admin INTEGER NOT NULL DEFAULT 0 CHECK (is_admin IN (0, 1)),"
	"  created_at INTEGER NOT NULL DEFAULT " NOW_S
	");"
	"CREATE TABLE docker_hosts ("
	"  id TEXT PRIMARY KEY NOT NULL,"
	"  name TEXT NOT NULL UNIQUE,"
	"  description TEXT,"
	"  host_type TEXT NOT NULL DEFAULT 'standalone'"
	"    CHECK (host_type IN ('standalone', 'swarm_manager', 'swarm_worker')),"
	"  connection_type TEXT NOT NULL"
	"    CHECK (connection_type IN ('unix', 'tcp', 'ssh')),"
	"  host_url TEXT NOT NULL,"
	"  is_active INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),"
	"  is_default INTEGER NOT NULL DEFAULT 0 CHECK (is_default IN (0, 1)),"
	"  swarm_id TEXT,"
	"  cluster_name TEXT,"
	"  is_leader INTEGER NOT NULL DEFAULT 0 CHECK (is_leader IN (0, 1)),"
	"  status TEXT DEFAULT 'pending'"
	"    CHECK (status IN ('healthy', 'unhealthy', 'pending')),"
	"  last_health_check INTEGER,"
	"  docker_version TEXT,"
	"  api_version TEXT,"
	"  os_type TEXT,"
	"  architecture TEXT,"
	"  created_by TEXT REFERENCES users(id) ON DELETE SET NULL,"
	"  created_at INTEGER NOT NULL DEFAULT " NOW_S ","
	"  updated_at INTEGER NOT NULL DEFAULT " NOW_S
	");"
	"CREATE INDEX idx_hosts_status ON docker_hosts(status, is_active);"
	"CREATE INDEX idx_hosts_swarm ON docker_hosts(swarm_id, host_type);"
	/* The plan's CHECK with a subquery is not possible in SQLite (nor in
	 * PostgreSQL); a partial unique index says the same thing. */
	"CREATE UNIQUE INDEX idx_hosts_one_default ON docker_hosts(is_default)"
	"  WHERE is_default = 1;"
	"CREATE TABLE host_credentials ("
	"  id TEXT PRIMARY KEY NOT NULL,"
	"  host_id TEXT NOT NULL REFERENCES docker_hosts(id) ON DELETE CASCADE,"
	"  credential_type TEXT NOT NULL,"
	"  encrypted_value BLOB NOT NULL,"
	"  nonce BLOB NOT NULL,"
	"  metadata TEXT,"
	"  created_at INTEGER NOT NULL DEFAULT " NOW_S ","
	"  updated_at INTEGER NOT NULL DEFAULT " NOW_S ","
	"  UNIQUE (host_id, credential_type)"
	");"
	"CREATE TABLE user_host_permissions ("
	"  id TEXT PRIMARY KEY NOT NULL,"
	"  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	"  host_id TEXT NOT NULL REFERENCES docker_hosts(id) ON DELETE CASCADE,"
	"  permission_level TEXT NOT NULL"
	"    CHECK (permission_level IN ('viewer', 'operator', 'admin')),"
	"  granted_by TEXT REFERENCES users(id) ON DELETE SET NULL,"
	"  granted_at INTEGER NOT NULL DEFAULT " NOW_S ","
	"  UNIQUE (user_id, host_id)"
	");"
	"CREATE INDEX idx_user_hosts ON user_host_permissions(user_id, permission_level);"
	/* Without it, every host removal scans the table for the cascade. */
	"CREATE INDEX idx_perms_host ON user_host_permissions(host_id);"
	"CREATE TABLE host_tags ("
	"  id TEXT PRIMARY KEY NOT NULL,"
	"  host_id TEXT NOT NULL REFERENCES docker_hosts(id) ON DELETE CASCADE,"
	"  tag_name TEXT NOT NULL,"
	"  tag_value TEXT,"
	"  UNIQUE (host_id, tag_name)"
	");"
	"CREATE INDEX idx_tags_name ON host_tags(tag_name, tag_value);"
	"CREATE TABLE host_connection_stats ("
	"  id TEXT PRIMARY KEY NOT NULL,"
	"  host_id TEXT NOT NULL REFERENCES docker_hosts(id) ON DELETE CASCADE,"
	"  active_connections INTEGER NOT NULL DEFAULT 0,"
	"  total_connections INTEGER NOT NULL DEFAULT 0,"
	"  failed_connections INTEGER NOT NULL DEFAULT 0,"
	"  avg_response_time_ms REAL,"
	"  last_error TEXT,"
	"  last_error_at INTEGER,"
	"  measured_at INTEGER NOT NULL DEFAULT " NOW_S
	");"
	"CREATE INDEX idx_stats_host_time ON host_connection_stats(host_id, measured_at DESC);"
	"CREATE TABLE api_tokens ("
	"  id TEXT PRIMARY KEY NOT NULL,"
	"  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	"  name TEXT NOT NULL,"
	"  token_hash TEXT NOT NULL UNIQUE,"
	"  created_at INTEGER NOT NULL DEFAULT " NOW_S ","
	"  last_used_at INTEGER,"
	"  expires_at INTEGER"
	");"
	"CREATE INDEX idx_tokens_user ON api_tokens(user_id);"
	/* No foreign keys here: the audit trail must outlive the users and
	 * hosts it names, hence the copied username and uid. */
	"CREATE TABLE audit_logs ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  ts INTEGER NOT NULL,"
	"  user_id TEXT,"
	"  username TEXT,"
	"  uid INTEGER,"
	"  host_id TEXT,"
	"  action TEXT NOT NULL,"
	"  resource_type TEXT,"
	"  resource_id TEXT,"
	"  details TEXT,"
	"  outcome TEXT,"
	"  errno INTEGER"
	");"
	"CREATE INDEX idx_audit_ts ON audit_logs(ts);"
	"CREATE INDEX idx_audit_user ON audit_logs(user_id, ts);"
	"CREATE INDEX idx_audit_host ON audit_logs(host_id, ts);",

	/* 2: audit rows keep the host's name, readable once the host is gone
	 * (host_id then points nowhere).  ts is unix milliseconds.  Rows from
	 * version 1 get the name of a host that still exists. */
	"ALTER TABLE audit_logs ADD COLUMN host_name TEXT;"
	"UPDATE audit_logs SET host_name ="
	"  (SELECT name FROM docker_hosts h WHERE h.id = audit_logs.host_id)"
	"  WHERE host_id IS NOT NULL;"
	/* The audit tail by user: username = ? AND id > ? ORDER BY id. */
	"CREATE INDEX idx_audit_username ON audit_logs(username, id);",

	/* 3: settings of the daemon itself (the vault's salt and check
	 * record); a removed host's credential rows go with it (cascade). */
	"CREATE TABLE settings ("
	"  key TEXT PRIMARY KEY NOT NULL,"
	"  value BLOB"
	");"
	/* tcp:// without TLS only when an admin says so. */
	"ALTER TABLE docker_hosts ADD COLUMN insecure INTEGER NOT NULL DEFAULT 0"
	"  CHECK (insecure IN (0, 1));",

	/* 4: a host's credentials are for the engine its url names: a changed
	 * url drops them, in the statement that changes it, whichever writes
	 * it (so they never go to another engine; vault.h also seals them
	 * with the url). */
	"CREATE TRIGGER host_url_drops_credentials"
	"  AFTER UPDATE OF host_url ON docker_hosts"
	"  WHEN old.host_url IS NOT new.host_url"
	"  BEGIN DELETE FROM host_credentials WHERE host_id = new.id; END;",
};

#define SCHEMA_VERSION ((int)(sizeof(migrations) / sizeof(migrations[0])))

#define HOST_NAME_MAX_LEN 64
#define USER_NAME_MAX_LEN 64
#define UID_MAX_VALUE 4294967294LL /* (uid_t)-1 means "no uid" to the kernel */
#define HOST_URL_MAX_LEN 500 /* the plan's VARCHAR(500) */
#define TAG_NAME_MAX_LEN 100 /* the plan's VARCHAR(100) */
#define TAG_VALUE_MAX_LEN 255

/* The one place where SQLite result codes become errnos.  Constraint
 * failures are the caller's input, so they are logged as warnings. */
static int db_err(struct store *st, int rc, const char *what)
{
	const char *msg = sqlite3_errmsg(st->db);

	switch (rc) {
	case SQLITE_CONSTRAINT_UNIQUE:
	case SQLITE_CONSTRAINT_PRIMARYKEY:
		return log_warn(-EEXIST, "store: %s: %s", what, msg);
	case SQLITE_CONSTRAINT_CHECK:
	case SQLITE_CONSTRAINT_NOTNULL:
		/* A value outside the schema's domain: bad input. */
		return log_warn(-EINVAL, "store: %s: %s", what, msg);
	}
	switch (rc & 0xff) {
	case SQLITE_FULL:
		return log_error(-ENOSPC, "store: %s: %s", what, msg);
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return log_error(-EBUSY, "store: %s: %s", what, msg);
	case SQLITE_READONLY:
	case SQLITE_PERM:
	case SQLITE_CANTOPEN:
		return log_error(-EACCES, "store: %s: %s", what, msg);
	case SQLITE_NOMEM:
		return log_error(-ENOMEM, "store: %s: %s", what, msg);
	}
	return log_error(-EIO, "store: %s: %s", what, msg);
}

/* Binders that keep the first failure, so a run of binds is checked once.
 * SQLITE_STATIC: every bound value outlives the statement's execution. */
static void bind_text(sqlite3_stmt *s, int i, const char *v, int *rc)
{
	if (*rc == SQLITE_OK)
		*rc = sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
}

static void bind_int64(sqlite3_stmt *s, int i, int64_t v, int *rc)
{
	if (*rc == SQLITE_OK)
		*rc = sqlite3_bind_int64(s, i, v);
}

static void bind_double(sqlite3_stmt *s, int i, double v, int *rc)
{
	if (*rc == SQLITE_OK)
		*rc = sqlite3_bind_double(s, i, v);
}

/* Binds t, or NULL when t is 0 (the "never" of the API). */
static void bind_time(sqlite3_stmt *s, int i, time_t t, int *rc)
{
	if (*rc != SQLITE_OK)
		return;
	if (t)
		*rc = sqlite3_bind_int64(s, i, (int64_t)t);
	else
		*rc = sqlite3_bind_null(s, i);
}

static int prepare(struct store *st, const char *sql, sqlite3_stmt **s)
{
	int rc = sqlite3_prepare_v2(st->db, sql, -1, s, NULL);

	if (rc != SQLITE_OK)
		return db_err(st, rc, "prepare");
	return 0;
}

/* Runs a write statement to its end. */
static int step_done(struct store *st, sqlite3_stmt *s, const char *what)
{
	int rc = sqlite3_step(s);

	if (rc != SQLITE_DONE)
		return db_err(st, rc, what);
	return 0;
}

/* Reads the single integer a query (or pragma) answers. */
static int query_int(struct store *st, const char *sql, int64_t *out)
{
	sqlite3_stmt *s = NULL;
	int ret, rc;

	ret = prepare(st, sql, &s);
	if (ret)
		goto out;
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		ret = rc == SQLITE_DONE ? log_error(-EIO, "store: no row for %s", sql)
					: db_err(st, rc, sql);
		goto out;
	}
	*out = sqlite3_column_int64(s, 0);
out:
	sqlite3_finalize(s);
	return ret;
}

static int exec(struct store *st, const char *sql)
{
	int rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);

	if (rc != SQLITE_OK)
		return db_err(st, rc, sql);
	return 0;
}

/* IMMEDIATE takes the write lock up front, so two daemons racing on one
 * file wait on busy_timeout instead of failing on lock upgrade. */
static int tx_begin(struct store *st)
{
	return exec(st, "BEGIN IMMEDIATE");
}

static int tx_commit(struct store *st)
{
	return exec(st, "COMMIT");
}

/* Some errors (SQLITE_FULL, IOERR) already rolled back: do not ask twice. */
static void tx_rollback(struct store *st)
{
	if (!sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
}

static void uuid_v4(char out[STORE_ID_LEN + 1])
{
	unsigned char b[16];

	randombytes_buf(b, sizeof(b));
	b[6] = (b[6] & 0x0f) | 0x40; /* version 4 */
	b[8] = (b[8] & 0x3f) | 0x80; /* RFC 4122 variant */
	snprintf(out, STORE_ID_LEN + 1,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
		 b[10], b[11], b[12], b[13], b[14], b[15]);
}

/* 1..max chars of [A-Za-z0-9._-], the first not in bad_first. */
static bool valid_name(const char *name, size_t max, const char *bad_first)
{
	size_t i, n;

	if (!name)
		return false;
	n = strlen(name);
	if (n < 1 || n > max || strchr(bad_first, name[0]))
		return false;
	for (i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

static bool valid_host_name(const char *name)
{
	return valid_name(name, HOST_NAME_MAX_LEN, ".-");
}

/* Not '-' either: a user name often ends up as a command-line argument. */
static bool valid_user_name(const char *name)
{
	return valid_name(name, USER_NAME_MAX_LEN, ".-");
}

static bool valid_uid(long long uid)
{
	return uid == -1 || (uid >= 0 && uid <= UID_MAX_VALUE);
}

/* The value of a one-line file: no control characters, bounded. */
static bool valid_line(const char *s, size_t max)
{
	size_t n = 0;

	for (; s[n]; n++)
		if ((unsigned char)s[n] < 0x20 || s[n] == 0x7f)
			return false;
	return n <= max;
}

/* Returns the connection_type for url's scheme, or NULL if it is not one we
 * can reach or has nothing after the scheme. */
static const char *url_connection_type(const char *url)
{
	static const struct {
		const char *prefix;
		const char *type;
	} schemes[] = {
		{ "unix://", "unix" },
		{ "tcp://", "tcp" },
		{ "ssh://", "ssh" },
	};
	size_t i;

	if (!url || !valid_line(url, HOST_URL_MAX_LEN))
		return NULL;
	for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		size_t n = strlen(schemes[i].prefix);

		if (!strncmp(url, schemes[i].prefix, n) && url[n])
			return schemes[i].type;
	}
	return NULL;
}

/* A tag is a file name under tags/: no '/', not "." or "..". */
static bool valid_tag_name(const char *tag)
{
	if (!tag || !tag[0] || !valid_line(tag, TAG_NAME_MAX_LEN))
		return false;
	if (strchr(tag, '/') || !strcmp(tag, ".") || !strcmp(tag, ".."))
		return false;
	return true;
}

/* Brings the schema up to version target (at most SCHEMA_VERSION). */
static int apply_migrations(struct store *st, int target)
{
	int64_t version;
	int ret, i;

	ret = query_int(st, "PRAGMA user_version", &version);
	if (ret)
		return ret;
	if (version > SCHEMA_VERSION)
		return log_error(-EIO, "store: schema version %lld is newer than this dockfs (%d)",
				 (long long)version, SCHEMA_VERSION);
	for (i = (int)version; i < target; i++) {
		char pragma[64];

		ret = tx_begin(st);
		if (ret)
			goto out;
		/* Another process may have migrated while we waited. */
		ret = query_int(st, "PRAGMA user_version", &version);
		if (ret)
			goto out;
		if (version > i) {
			ret = tx_commit(st);
			if (ret)
				goto out;
			continue;
		}
		ret = exec(st, migrations[i]);
		if (ret)
			goto out;
		/* PRAGMA takes no parameters; i is our own counter. */
		snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", i + 1);
		ret = exec(st, pragma);
		if (ret)
			goto out;
		ret = tx_commit(st);
		if (ret)
			goto out;
		log_info("store: schema migrated to version %d", i + 1);
	}
out:
	if (ret)
		tx_rollback(st);
	return ret;
}

bool store_lock_exclusive = true;

static int configure(struct store *st)
{
	sqlite3_stmt *s = NULL;
	const char *mode;
	int64_t fk = 0;
	int ret, rc;

	sqlite3_extended_result_codes(st->db, 1);
	/* First, so that switching to WAL waits for other processes too. */
	ret = exec(st, "PRAGMA busy_timeout = 5000");
	if (ret)
		goto out;
	/* One daemon owns its registry (a second one waits busy_timeout and
	 * fails to start).  Exclusive before WAL also keeps the WAL index in
	 * heap memory instead of a -shm file SQLite would map: with a mapped
	 * -shm, a file made immutable, a full disk or a truncation under us
	 * is a SIGBUS that kills the daemon, where a write(2) is an errno
	 * for the one writer. */
	ret = store_lock_exclusive ? exec(st, "PRAGMA locking_mode = EXCLUSIVE") : 0;
	if (ret)
		goto out;
	ret = prepare(st, "PRAGMA journal_mode = WAL", &s);
	if (ret)
		goto out;
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		ret = db_err(st, rc, "journal_mode");
		goto out;
	}
	mode = (const char *)sqlite3_column_text(s, 0);
	/* Some file systems (no shared memory) refuse WAL; SQLite then keeps a
	 * rollback journal, slower but correct. */
	if (!mode || (strcmp(mode, "wal") && strcmp(mode, "memory")))
		log_msg(LOG_LVL_WARN, "store: journal mode is %s, not wal",
			mode ? mode : "?");
	ret = exec(st, "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL");
	if (ret)
		goto out;
	/* Cascades depend on it; a build without foreign keys ignores the
	 * pragma silently. */
	ret = query_int(st, "PRAGMA foreign_keys", &fk);
	if (ret)
		goto out;
	if (fk != 1)
		ret = log_error(-EIO, "store: this SQLite does not enforce foreign keys");
out:
	sqlite3_finalize(s);
	return ret;
}

/* The registry is the daemon's alone (private_file.h): opened or created
 * (O_EXCL, 0600) by us and checked on the descriptor before SQLite sees the
 * path; SQLite's -wal, -shm and -journal files, when present, pass the same
 * checks.  *fd stays open until SQLite has opened the same file. */
static int open_private(const char *path, int *fd, struct stat *sb)
{
	static const char *const companions[] = { "-wal", "-shm", "-journal" };
	bool created;
	int ret;

	*fd = private_file_open(path, O_RDWR, true, "registry", &created, sb);
	if (*fd < 0)
		return *fd;
	/* Tightens a registry that an older run left readable by others
	 * (it is ours: private_file_open checked). */
	if (!created && (sb->st_mode & 077) && fchmod(*fd, 0600) < 0)
		log_msg(LOG_LVL_WARN, "store: chmod %s: %s", path, strerror(errno));
	for (size_t i = 0; i < sizeof(companions) / sizeof(companions[0]); i++) {
		char name[PATH_MAX], what[32];

		if (snprintf(name, sizeof(name), "%s%s", path, companions[i]) >= (int)sizeof(name))
			ret = -ENAMETOOLONG;
		else {
			snprintf(what, sizeof(what), "registry's %s file", companions[i]);
			ret = private_file_check(name, what);
		}
		if (ret) {
			close(*fd);
			*fd = -1;
			return ret;
		}
	}
	return 0;
}

/* Whether SQLite opened the file we checked (the path still names it). */
static int same_file(const char *path, const struct stat *checked)
{
	struct stat now;

	if (lstat(path, &now) != 0 || now.st_dev != checked->st_dev ||
	    now.st_ino != checked->st_ino)
		return log_error(-EPERM, "store: %s: replaced while it was opened: refused", path);
	return 0;
}

static int open_at(const char *path, int target, struct store **out)
{
	struct store *st;
	struct stat sb;
	int ret, rc, fd = -1;
	bool file = path && strcmp(path, ":memory:") != 0;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!path || target < 1 || target > SCHEMA_VERSION)
		return -EINVAL;
	if (!sqlite3_threadsafe())
		return log_error(-EIO, "store: SQLite is built without thread safety");
	if (sodium_init() < 0)
		return log_error(-EIO, "store: libsodium failed to initialise");
	if (file) {
		ret = open_private(path, &fd, &sb);
		if (ret)
			return ret;
	}
	st = calloc(1, sizeof(*st));
	if (!st) {
		if (fd >= 0)
			close(fd);
		return -ENOMEM;
	}
	ret = -pthread_mutex_init(&st->lock, NULL);
	if (ret) {
		if (fd >= 0)
			close(fd);
		free(st);
		return log_error(ret, "store: mutex: %s", strerror(-ret));
	}
	/* No SQLITE_OPEN_CREATE for a file: open_private made it; NOFOLLOW
	 * in case the path became a link since. */
	rc = sqlite3_open_v2(path, &st->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX |
			     (file ? SQLITE_OPEN_NOFOLLOW : SQLITE_OPEN_CREATE), NULL);
	if (rc != SQLITE_OK) {
		if (!st->db) {
			ret = log_error(-ENOMEM, "store: %s: out of memory", path);
			goto out;
		}
		ret = db_err(st, rc, path);
		goto out;
	}
	if (file) {
		ret = same_file(path, &sb);
		close(fd);
		fd = -1;
		if (ret)
			goto out;
	}
	ret = configure(st);
	if (ret)
		goto out;
	ret = apply_migrations(st, target);
out:
	if (fd >= 0)
		close(fd);
	if (ret) {
		sqlite3_close(st->db);
		pthread_mutex_destroy(&st->lock);
		free(st);
		return ret;
	}
	*out = st;
	return 0;
}

int store_open(const char *path, struct store **out)
{
	return open_at(path, SCHEMA_VERSION, out);
}

int store_open_version(const char *path, int version, struct store **out)
{
	return open_at(path, version, out);
}

void store_close(struct store *st)
{
	if (!st)
		return;
	/* Every statement is finalised before its function returns, so a
	 * busy close is a bug worth a line in the log. */
	if (sqlite3_close(st->db) != SQLITE_OK)
		log_msg(LOG_LVL_ERROR, "store: close: %s", sqlite3_errmsg(st->db));
	pthread_mutex_destroy(&st->lock);
	free(st);
}

int store_schema_version(struct store *st)
{
	int64_t v = 0;
	int ret;

	pthread_mutex_lock(&st->lock);
	ret = query_int(st, "PRAGMA user_version", &v);
	pthread_mutex_unlock(&st->lock);
	return ret ? ret : (int)v;
}

/* ---- hosts ---- */

#define HOST_COLUMNS                                                          \
	"id, name, description, host_type, connection_type, host_url, "       \
	"is_active, is_default, swarm_id, cluster_name, is_leader, status, "  \
	"last_health_check, docker_version, api_version, os_type, "          \
	"architecture, created_at, updated_at"

/* strdup of a text column; NULL stays NULL.  Returns false on ENOMEM. */
static bool column_dup(sqlite3_stmt *s, int i, char **out)
{
	const unsigned char *t = sqlite3_column_text(s, i);

	*out = NULL;
	if (!t)
		return sqlite3_column_type(s, i) == SQLITE_NULL;
	*out = strdup((const char *)t);
	return *out != NULL;
}

/* Fills h from a row of HOST_COLUMNS.  On failure h holds what was copied;
 * the caller frees it. */
static int host_from_row(sqlite3_stmt *s, struct store_host *h)
{
	const unsigned char *id = sqlite3_column_text(s, 0);

	memset(h, 0, sizeof(*h));
	snprintf(h->id, sizeof(h->id), "%s", id ? (const char *)id : "");
	if (!column_dup(s, 1, &h->name) || !column_dup(s, 2, &h->description) ||
	    !column_dup(s, 3, &h->host_type) ||
	    !column_dup(s, 4, &h->connection_type) ||
	    !column_dup(s, 5, &h->host_url) || !column_dup(s, 8, &h->swarm_id) ||
	    !column_dup(s, 9, &h->cluster_name) ||
	    !column_dup(s, 11, &h->status) ||
	    !column_dup(s, 13, &h->docker_version) ||
	    !column_dup(s, 14, &h->api_version) ||
	    !column_dup(s, 15, &h->os_type) ||
	    !column_dup(s, 16, &h->architecture))
		return -ENOMEM;
	h->is_active = sqlite3_column_int(s, 6) != 0;
	h->is_default = sqlite3_column_int(s, 7) != 0;
	h->is_leader = sqlite3_column_int(s, 10) != 0;
	h->last_health_check = (time_t)sqlite3_column_int64(s, 12);
	h->created_at = (time_t)sqlite3_column_int64(s, 17);
	h->updated_at = (time_t)sqlite3_column_int64(s, 18);
	return 0;
}

void store_host_free_fields(struct store_host *h)
{
	if (!h)
		return;
	free(h->name);
	free(h->description);
	free(h->host_type);
	free(h->connection_type);
	free(h->host_url);
	free(h->swarm_id);
	free(h->cluster_name);
	free(h->status);
	free(h->docker_version);
	free(h->api_version);
	free(h->os_type);
	free(h->architecture);
	memset(h, 0, sizeof(*h));
}

int store_host_add(struct store *st, const char *name, const char *url)
{
	static const char sql[] =
		"INSERT INTO docker_hosts (id, name, connection_type, host_url,"
		" created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)";
	char id[STORE_ID_LEN + 1];
	sqlite3_stmt *s = NULL;
	const char *type;
	int ret, rc = SQLITE_OK;

	type = url_connection_type(url);
	if (!valid_host_name(name) || !type)
		return -EINVAL;
	uuid_v4(id);
	pthread_mutex_lock(&st->lock);
	ret = prepare(st, sql, &s);
	if (ret)
		goto out;
	bind_text(s, 1, id, &rc);
	bind_text(s, 2, name, &rc);
	bind_text(s, 3, type, &rc);
	bind_text(s, 4, url, &rc);
	bind_int64(s, 5, (int64_t)time(NULL), &rc);
	if (rc != SQLITE_OK) {
		ret = db_err(st, rc, "bind");
		goto out;
	}
	ret = step_done(st, s, "add host");
out:
	sqlite3_finalize(s);
	pthread_mutex_unlock(&st->lock);
	return ret;
}

int store_host_put(struct store *st, const char *name, const char *url)
{
	/* One statement, so a concurrent add cannot slip in between a lookup
	 * and an insert. */
	static const char sql[] =
		"INSERT INTO docker_hosts (id, name, connection_type, host_url,"
		" created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)"
		" ON CONFLICT (name) DO UPDATE SET"
		" connection_type = excluded.connection_type,"
		" host_url = excluded.host_url, updated_at = excluded.updated_at";
	char id[STORE_ID_LEN + 1];
	sqlite3_stmt *s = NULL;
	const char *type;
	int ret, rc = SQLITE_OK;

	type = url_connection_type(url);
	if (!valid_host_name(name) || !type)
		return -EINVAL;
	uuid_v4(id);
	pthread_mutex_lock(&st->lock);
	ret = prepare(st, sql, &s);
	if (ret)
		goto out;
	bind_text(s, 1, id, &rc);
	bind_text(s, 2, name, &rc);
	bind_text(s, 3, type, &rc);
	bind_text(s, 4, url, &rc);
	bind_int64(s, 5, (int64_t)time(NULL), &rc);
	if (rc != SQLITE_OK) {
		ret = db_err(st, rc, "bind");
		goto out;
	}
	ret = step_done(st, s, "put host");
out:
	sqlite3_finalize(s);
	pthread_mutex_unlock(&st->lock);
	return ret;
}

int store_host_remove(struct store *st, const char *name)
{
	sqlite3_stmt *s = NULL;
	int ret, rc = SQLITE_OK;

	if (!valid_host_name(name))
		return -EINVAL;
	pthread_mutex_lock(&st->lock);
	ret = prepare(st, "DELETE FROM docker_hosts WHERE name = ?1", &s);
	if (ret)
		goto out;
	bind_text(s, 1, name, &rc);
	if (rc != SQLITE_OK) {
		ret = db_err(st, rc, "bind");
		goto out;
	}
	ret = step_done(st, s, "remove host");
	if (!ret && sqlite3_changes(st->db) == 0)
		ret = -ENOENT;
out:
	sqlite3_finalize(s);
	pthread_mutex_unlock(&st->lock);
	return ret;
}

int store_host_get(struct store *st, const char *name, struct store_host *out)
{
	sqlite3_stmt *s = NULL;
	int ret, rc = SQLITE_OK;

	memset(out, 0, sizeof(*out));
	if (!valid_host_name(name))
		return -EINVAL;
	pthread_mutex_lock(&st->lock);
	ret = prepare(st, "SELECT " HOST_COLUMNS " FROM docker_hosts WHERE name = ?1", &s);
	if (ret)
		goto out;
	bind_text(s, 1, name, &rc);
	if (rc != SQLITE_OK) {
		ret = db_err(st, rc, "bind");
		goto out;
	}
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE)
		ret = -ENOENT;
	else if (rc != SQLITE_ROW)
		ret = db_err(st, rc, "get host");
	else
		ret = host_from_row(s, out);
	if (ret)
		store_host_free_fields(out);
out:
	sqlite3_finalize(s);
	pthread_mutex_unlock(&st->lock);
	return ret;
}

/* The walk copies the rows first and calls cb with the lock released, so cb
 * may call back into the store (and a slow cb blocks no one). */
int store_host_foreach(struct store *st,
		       int (*cb)(const struct store_host *h, void *arg), void *arg)
{
	struct store_host *rows = NULL, *grown;
	size_t n = 0, cap = 0, i;
	sqlite3_stmt *s = NULL;
	int ret, rc;

	pthread_mutex_lock(&st->lock);
	ret = prepare(st, "SELECT " HOST_COLUMNS " FROM docker_hosts ORDER BY name", &s);
	if (ret)
		goto unlock;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			grown = realloc(rows, cap * sizeof(*rows));
			if (!grown) {
				ret = -ENOMEM;
				goto unlock;
			}
			rows = grown;
		}
		ret = host_from_row(s, &rows[n]);
		n++; /* counted even on failure: its fields are freed below */
		if (ret)
			goto unlock;
	}
	if (rc != SQLITE_DONE)
		ret = db_err(st, rc, "list hosts");
unlock:
	sqlite3_finalize(s);
	pthread_mutex_unlock(&st->lock);
	for (i = 0; i < n; i++) {
		if (!ret)
			ret = cb(&rows[i], arg);
		store_host_free_fields(&rows[i]);
	}
	free(rows);
	return ret;
}

int store_host_count(struct store *st)
{
	int64_t n = 0;
	int ret;

	pthread_mutex_lock(&st->lock);
	ret = query_int(st, "SELECT count(*) FROM docker_hosts", &n);
	pthread_mutex_unlock(&st->lock);
	return ret ? ret : (int)n;
}

/* Column names never reach SQL: each maps to its own fixed statement.
 * ?1 value, ?2 now, ?3 host name, ?4 connection type (host_url only). */
#define SET_TEXT(col)                                                         \
	{ #col, "UPDATE docker_hosts SET " #col " = ?1, updated_at = ?2"      \
		" WHERE name = ?3" }
static const struct {
	const char *column;
	const char *sql;
} text_columns[] = {
	SET_TEXT(description),
	{ "host_url", "UPDATE docker_hosts SET host_url = ?1,"
		      " connection_type = ?4, updated_at = ?2 WHERE name = ?3" },
	SET_TEXT(host_type),
	SET_TEXT(status),
	SET_TEXT(swarm_id),
	SET_TEXT(cluster_name),
	SET_TEXT(docker_version),
	SET_TEXT(api_version),
	SET_TEXT(os_type),
	SET_TEXT(architecture),
};
#undef SET_TEXT

int store_host_set_text(struct store *st, const char *name, const char *column,
			const char *value)
{
	const char *sql = NULL, *type = NULL;
	sqlite3_stmt *s = NULL;
	int ret, rc = SQLITE_OK;
	size_t i;

	if (!valid_host_name(name) || !column)
		return -EINVAL;
	for (i = 0; i < sizeof(text_columns) / sizeof(text_columns[0]); i++)
		if (!strcmp(column, text_columns[i].column)) {
			sql = text_columns[i].sql;
			break;
		}
	if (!sql)
		return -EINVAL;
	/* The url decides the transport: the two must change together. */
	if (!strcmp(column, "host_url")) {
		type = url_connection_type(value);
		if (!type)
			return -EINVAL;
	}
	pthread_mutex_lock(&st->lock);
	ret = prepare(st, sql, &s);
	if (ret)
		goto out;
	bind_text(s, 1, value, &rc);
	bind_int64(s, 2, (int64_t)time(NULL), &rc);
	bind_text(s, 3, name, &rc);
	if (type)
		bind_text(s, 4, type, &rc);
	if (rc != SQLITE_OK) {
		ret = db_err(st, rc, "bind");
		goto out;
	}
	ret = step_done(st, s, column);
	if (!ret && sqlite3_changes(st->db) == 0)
		ret = -ENOENT;
out:
	sqlite3_finalize(s);
	pthread_mutex_unlock(&st->lock);
	return ret;
}

int store_host_set_default(struct store *st, const char *name, bool on)
{
	sqlite3_stmt *clear = NULL, *set = NULL;
	int64_t now = (int64_t)time(NULL);
	int ret, rc = SQLITE_OK;
	bool in_tx = false;

	if (!valid_host_name(name))
		return -EINVAL;
	pthread_mutex_lock(&st->lock);
	if (on) {
		ret = tx_begin(st);
		if (ret)
			goto out;
		in_tx = true;
		/* Clear first: the partial unique index forbids two defaults
		 * even for an instant. */
		ret = prepare(st, "UPDATE docker_hosts SET is_default = 0, updated_at = ?1"
			      " WHERE is_default = 1 AND name <> ?2", &clear);
		if (ret)
			goto out;
		bind_int64(clear, 1, now, &rc);
		bind_text(clear, 2, name, &rc);
		if (rc != SQLITE_OK) {
			ret = db_err(st, rc, "bind");
			goto out;
		}
		ret = step_done(st, clear, "clear default");
		if (ret)
			goto out;
	}
	ret = prepare(st, "UPDATE docker_hosts SET is_default = ?1, updated_at = ?2"
		      " WHERE name = ?3", &set);
	if (ret)
		goto out;
	bind_int64(set, 1, on ? 1 : 0, &rc);
	bind_int64(set, 2, now, &rc);
	bind_text(set, 3, name, &rc);
	if (rc != SQLITE_OK) {
		ret = db_err(st, rc, "bind");
		goto out;
	}
	ret = step_done(st, set, "set default");
	if (ret)
		goto out;
	/* No such host: the rollback below restores the old default. */
	if (sqlite3_changes(st->db) == 0) {
		ret = -ENOENT;
		goto out;
	}
	if (in_tx)
		ret = tx_commit(st);
out:
	sqlite3_finalize(clear);
	sqlite3_finalize(set);
	if (ret && in_tx)
		tx_rollback(st);
	pthread_mutex_unlock(&st->lock);
	return ret;
}

int store_host_set_health(struct store *st, const char *name, const char *status,
			  const char *docker_version, const char *api_version,
			  const char *os_type, const char *architecture,
			  const char *host_type)
{
	/* updated_at is left alone: it dates configuration changes, and a
	 * health check every few seconds would make it meaningless. */
	static const char sql[] =
		"UPDATE docker_hosts SET status = COALESCE(?1, status), last_health_check = ?2,"
		" docker_version = COALESCE(?3, docker_version),"
		" api_version = COALESCE(?4, api_version),"
		" os_type = COALESCE(?5, os_type),"
		" architecture = COALESCE(?6, architecture),"
		" host_type = COALESCE(?7, host_type)"
		" WHERE name = ?8";
	sqlite3_stmt *s = NULL;
	int ret, rc = SQLITE_OK;

	if (!valid_host_name(name))
		return -EINVAL;
	pthread_mutex_lock(&st->lock);
	ret = prepare(st, sql, &s);
	if (ret)
		goto out;
	bind_text(s, 1, status, &rc);
	bind_int64(s, 2, (int64_t)time(NULL), &rc);
	bind_text(s, 3, docker_version, &rc);
	bind_text(s, 4, api_version, &rc);
	bind_text(s, 5, os_type, &rc);
	bind_text(s, 6, architecture, &rc);
	bind_text(s, 7, host_type, &rc);
	bind_text(s, 8, name, &rc);
	if (rc != SQLITE_OK) {
		ret = db_err(st, rc, "bind");
		goto out;
	}
	ret = step_done(st, s, "set health");
	if (!ret && sqlite3_changes(st->db) == 0)
		ret = -ENOENT;
out:
	sqlite3_finalize(s);
	pthread_mutex_unlock(&st->lock);
	return ret;
}

/* ---- tags ---- */

int store_tag_set(struct store *st, const char *host, const char *tag,
		  const char *value)
{
	/* INSERT ... SELECT makes "no such host" zero rows, not a foreign key
	 * error; the WHERE also keeps the upsert parse unambiguous. */
	static const char sql[] =
		"INSERT INTO host_tags (id, host_id, tag_name, tag_value)"
		" SELECT ?1, id, ?2, ?3 FROM docker_hosts WHERE name = ?4"
		" ON CONFLICT (host_id, tag_name) DO UPDATE SET"
		" tag_value = excluded.tag_value";
	char id[STORE_ID_LEN + 1];
	sqlite3_stmt *s = NULL;
	int ret, rc = SQLITE_OK;

	if (!valid_host_name(host) || !valid_tag_name(tag) ||
	    (value && strlen(value) > TAG_VALUE_MAX_LEN))
		return -EINVAL;
	uuid_v4(id);
	pthread_mutex_lock(&st->lock);
	ret = prepare(st, sql, &s);
	if (ret)
		goto out;
	bind_text(s, 1, id, &rc);
	bind_text(s, 2, tag, &rc);
	bind_text(s, 3, value, &rc);
	bind_text(s, 4, host, &rc);
	if (rc != SQLITE_OK) {
		ret = db_err(st, rc, "bind");
		goto out;
	}
	ret = step_done(st, s, "set tag");
	if (!ret && sqlite3_changes(st->db) == 0)
		ret = -ENOENT;
out:
	sqlite3_finalize(s);
	pthread_mutex_unlock(&st->lock);
	return ret;
}

int store_tag_remove(struct store *st, const char *host, const char *tag)
{
	static const char sql[] =
		"DELETE FROM host_tags WHERE tag_name = ?1 AND host_id ="
		" (SELECT id FROM docker_hosts WHERE name = ?2)";
	sqlite3_stmt *s = NULL;
	int ret, rc = SQLITE_OK;

	if (!valid_host_name(host) || !valid_tag_name(tag))
		return -EINVAL;
	pthread_mutex_lock(&st->lock);
	ret = prepare(st, sql, &s);
	if (ret)
		goto out;
	bind_text(s, 1, tag, &rc);
	bind_text(s, 2, host, &rc);
	if (rc != SQLITE_OK) {
		ret = db_err(st, rc, "bind");
		goto out;
	}
	ret = step_done(st, s, "remove tag");
	if (!ret && sqlite3_changes(st->db) == 0)
		ret = -ENOENT;
out:
	sqlite3_finalize(s);
	pthread_mutex_unlock(&st->lock);
	return ret;
}

struct tag_row {
	char *name;
	char *value;
};

/* As store_host_foreach: rows are copied, cb runs unlocked. */
int store_tag_foreach(struct store *st, const char *host,
		      int (*cb)(const char *tag, const char *value, void *arg),
		      void *arg)
{
	/* The LEFT JOIN tells "no such host" (no row) from "no tags" (one row
	 * with a NULL tag) in one query. */
	static const char sql[] =
		"SELECT t.tag_name, t.tag_value FROM docker_hosts h"
		" LEFT JOIN host_tags t ON t.host_id = h.id"
		" WHERE h.name = ?1 ORDER BY t.tag_name";
	struct tag_row *rows = NULL, *grown;
	size_t n = 0, cap = 0, i;
	sqlite3_stmt *s = NULL;
	bool found = false;
	int ret, rc = SQLITE_OK;

	if (!valid_host_name(host))
		return -EINVAL;
	pthread_mutex_lock(&st->lock);
	ret = prepare(st, sql, &s);
	if (ret)
		goto unlock;
	bind_text(s, 1, host, &rc);
	if (rc != SQLITE_OK) {
		ret = db_err(st, rc, "bind");
		goto unlock;
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		found = true;
		if (sqlite3_column_type(s, 0) == SQLITE_NULL)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			grown = realloc(rows, cap * sizeof(*rows));
			if (!grown) {
				ret = -ENOMEM;
				goto unlock;
			}
			rows = grown;
		}
		/* Counted before the copy: a half-copied row is freed below. */
		memset(&rows[n], 0, sizeof(rows[n]));
		n++;
		if (!column_dup(s, 0, &rows[n - 1].name) ||
		    !column_dup(s, 1, &rows[n - 1].value)) {
			ret = -ENOMEM;
			goto unlock;
		}
	}
	if (rc != SQLITE_DONE)
		ret = db_err(st, rc, "list tags");
	else if (!found)
		ret = -ENOENT;
unlock:
	sqlite3_finalize(s);
	pthread_mutex_unlock(&st->lock);
	for (i = 0; i < n; i++) {
		if (!ret)
			ret = cb(rows[i].name, rows[i].value, arg);
		free(rows[i].name);
		free(rows[i].value);
	}
	free(rows);
	return ret;
}

/* ---- connection statistics ---- */

int store_conn_stats_add(struct store *st, const char *host,
			 const struct store_conn_stats *cs)
{
	static const char sql[] =
		"INSERT INTO host_connection_stats (id, host_id,"
		" active_connections, total_connections, failed_connections,"
		" avg_response_time_ms, last_error, last_error_at, measured_at)"
		" SELECT ?1, id, ?2, ?3, ?4, ?5, ?6, ?7, ?8"
		" FROM docker_hosts WHERE name = ?9";
	char id[STORE_ID_LEN + 1];
	sqlite3_stmt *s = NULL;
	int ret, rc = SQLITE_OK;

	if (!valid_host_name(host) || !cs)
		return -EINVAL;
	uuid_v4(id);
	pthread_mutex_lock(&st->lock);
	ret = prepare(st, sql, &s);
	if (ret)
		goto out;
	bind_text(s, 1, id, &rc);
	bind_int64(s, 2, cs->active_connections, &rc);
	bind_int64(s, 3, cs->total_connections, &rc);
	bind_int64(s, 4, cs->failed_connections, &rc);
	bind_double(s, 5, cs->avg_response_time_ms, &rc);
	bind_text(s, 6, cs->last_error, &rc);
	bind_time(s, 7, cs->last_error_at, &rc);
	bind_int64(s, 8, (int64_t)time(NULL), &rc);
	bind_text(s, 9, host, &rc);
	if (rc != SQLITE_OK) {
		ret = db_err(st, rc, "bind");
		goto out;
	}
	ret = step_done(st, s, "add connection stats");
	if (!ret && sqlite3_changes(st->db) == 0)
		ret = -ENOENT;
out:
	sqlite3_finalize(s);
	pthread_mutex_unlock(&st->lock);
	return ret;
}

/* ---- users ---- */

#define USER_COLUMNS "id, username, uid, is_admin, created_at"

/* Binds a uid, or NULL for -1 (the "none" of the API). */
static void bind_uid(sqlite3_stmt *s, int i, long long uid, int *rc)
{
	if (*rc != SQLITE_OK)
		return;
	if (uid < 0)
		*rc = sqlite3_bind_null(s, i);
	else
		*rc = sqlite3_bind_int64(s, i, uid);
}

static long long column_uid(sqlite3_stmt *s, int i)
{
	if (sqlite3_column_type(s, i) == SQLITE_NULL)
		return -1;
	return sqlite3_column_int64(s, i);
}

/* Fills u from a row of USER_COLUMNS. */
static int user_from_row(sqlite3_stmt *s, struct store_user *u)
{
	const unsigned char *id = sqlite3_column_text(s, 0);

	memset(u, 0, sizeof(*u));
	snprintf(u->id, sizeof(u->id), "%s", id ? (const char *)id : "");
	if (!column_dup(s, 1, &u->username))
		return -ENOMEM;
	u->uid = column_uid(s, 2);
	u->is_admin = sqlite3_column_int(s, 3) != 0;
	u->created_at = (time_t)sqlite3_column_int64(s, 4);
	return 0;
}

void store_user_free_fields(struct store_user *u)
{
	if (!u)
		return;
	free(u->username);
	memset(u, 0, sizeof(*u));
}

int store_user_add(struct store *st, const char *username, long long uid,
		   bool is_admin)
{
	static const char sql[] =
		"INSERT INTO users (id, username, uid, is_admin, created_at)"
		" VALUES (?1, ?2, ?3, ?4, ?5)";
	char id[STORE_ID_LEN + 1];
	sqlite3_stmt *s = NULL;
	int ret, rc = SQLITE_OK;

	if (!valid_user_name(username) || !valid_uid(uid))
		return -EINVAL;
	uuid_v4(id);
	pthread_mutex_lock(&st->lock);
	ret = prepare(st, sql, &s);
	if (ret)
		goto out;
	bind_text(s, 1, id, &rc);
	bind_text(s, 2, username, &rc);
	bind_uid(s, 3, uid, &rc);
	bind_int64(s, 4, is_admin ? 1 : 0, &rc);
	bind_int64(s, 5, (int64_t)time(NULL), &rc);
	if (rc != SQLITE_OK) {
		ret = db_err(st, rc, "bind");
		goto out;
	}
	ret = step_done(st, s, "add user");
out:
	sqlite3_finalize(s);
	pthread_mutex_unlock(&st->lock);
	return ret;
}

int store_user_remove(struct store *st, const char *username)
{
	sqlite3_stmt *s = NULL;
	int ret, rc = SQLITE_OK;

	if (!valid_user_name(username))
		return -EINVAL;
	pthread_mutex_lock(&st->lock);
	/* Foreign keys cascade to permissions and tokens in this statement. */
	ret = prepare(st, "DELETE FROM users WHERE username = ?1", &s);
	if (ret)
		goto out;
	bind_text(s, 1, username, &rc);
	if (rc != SQLITE_OK) {
		ret = db_err(st, rc, "bind");
		goto out;
	}
	ret = step_done(st, s, "remove user");
	if (!ret && sqlite3_changes(st->db) == 0)
		ret = -ENOENT;
out:
	sqlite3_finalize(s);
	pthread_mutex_unlock(&st->lock);
	return ret;
}

/* One user by name (username != NULL) or else by uid. */
static int user_get(struct store *st, const char *username, long long uid,
		    struct store_user *out)
{
	sqlite3_stmt *s = NULL;
	int ret, rc = SQLITE_OK;

	pthread_mutex_lock(&st->lock);
	ret = prepare(st, username ?
		      "SELECT " USER_COLUMNS " FROM users WHERE username = ?1" :
		      "SELECT " USER_COLUMNS " FROM users WHERE uid = ?1", &s);
	if (ret)
		goto out;
	if (username)
		bind_text(s, 1, username, &rc);
	else
		bind_int64(s, 1, uid, &rc);
	if (rc != SQLITE_OK) {
		ret = db_err(st, rc, "bind");
		goto out;
	}
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE)
		ret = -ENOENT;
	else if (rc != SQLITE_ROW)
		ret = db_err(st, rc, "get user");
	else
		ret = user_from_row(s, out);
	if (ret)
		store_user_free_fields(out);
out:
	sqlite3_finalize(s);
	pthread_mutex_unlock(&st->lock);
	return ret;
}

int store_user_get(struct store *st, const char *username, struct store_user *out)
{
	memset(out, 0, sizeof(*out));
	if (!valid_user_name(username))
		return -EINVAL;
	return user_get(st, username, -1, out);
}

int store_user_get_by_uid(struct store *st, long long uid, struct store_user *out)
{
	memset(out, 0, sizeof(*out));
	if (uid < 0 || !valid_uid(uid))
		return -EINVAL;
	return user_get(st, NULL, uid, out);
}

/* UPDATE users SET <one column> = ?1 WHERE username = ?2; value is a uid
 * (NULL for -1) or a flag. */
static int user_update(struct store *st, const char *sql, const char *username,
		       long long value, bool is_uid, const char *what)
{
	sqlite3_stmt *s = NULL;
	int ret, rc = SQLITE_OK;

	pthread_mutex_lock(&st->lock);
	ret = prepare(st, sql, &s);
	if (ret)
		goto out;
	if (is_uid)
		bind_uid(s, 1, value, &rc);
	else
		bind_int64(s, 1, value, &rc);
	bind_text(s, 2, username, &rc);
	if (rc != SQLITE_OK) {
		ret = db_err(st, rc, "bind");
		goto out;
	}
	ret = step_done(st, s, what);
	if (!ret && sqlite3_changes(st->db) == 0)
		ret = -ENOENT;
out:
	sqlite3_finalize(s);
	pthread_mutex_unlock(&st->lock);
	return ret;
}

int store_user_set_uid(struct store *st, const char *username, long long uid)
{
	if (!valid_user_name(username) || !valid_uid(uid))
		return -EINVAL;
	return user_update(st, "UPDATE users SET uid = ?1 WHERE username = ?2",
			   username, uid, true, "set uid");
}

int store_user_set_admin(struct store *st, const char *username, bool is_admin)
{
	if (!valid_user_name(username))
		return -EINVAL;
	return user_update(st, "UPDATE users SET is_admin = ?1 WHERE username = ?2",
			   username, is_admin ? 1 : 0, false, "set admin");
}

/* Returns rows with room for element n (of size bytes), doubling *cap when
 * full, or NULL on ENOMEM (rows and *cap intact). */
static void *grow(void *rows, size_t size, size_t n, size_t *cap)
{
	void *grown;
	size_t c;

	if (n < *cap)
		return rows;
	c = *cap ? 2 * *cap : 16;
	grown = realloc(rows, c * size);
	if (grown)
		*cap = c;
	return grown;
}

int store_user_foreach(struct store *st,
		       int (*cb)(const struct store_user *u, void *arg), void *arg)
{
	struct store_user *rows = NULL, *grown;
	size_t n = 0, cap = 0, i;
	sqlite3_stmt *s = NULL;
	int ret, rc;

	pthread_mutex_lock(&st->lock);
	ret = prepare(st, "SELECT " USER_COLUMNS " FROM users ORDER BY username", &s);
	if (ret)
		goto unlock;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		grown = grow(rows, sizeof(*rows), n, &cap);
		if (!grown) {
			ret = -ENOMEM;
			goto unlock;
		}
		rows = grown;
		ret = user_from_row(s, &rows[n]);
		n++; /* counted even on failure: its fields are freed below */
		if (ret)
			goto unlock;
	}
	if (rc != SQLITE_DONE)
		ret = db_err(st, rc, "list users");
unlock:
	sqlite3_finalize(s);
	pthread_mutex_unlock(&st->lock);
	for (i = 0; i < n; i++) {
		if (!ret)
			ret = cb(&rows[i], arg);
		store_user_free_fields(&rows[i]);
	}
	free(rows);
	return ret;
}

/* ---- per-host permissions ---- */

static bool valid_level(const char *level)
{
	return level && (!strcmp(level, "viewer") || !strcmp(level, "operator") ||
			 !strcmp(level, "admin"));
}

int store_perm_set(struct store *st, const char *username, const char *host,
		   const char *level, const char *granted_by)
{
	/* As store_tag_set: a missing user, host or granter makes zero rows.
	 * The WHERE also keeps the upsert parse unambiguous. */
	static const char sql[] =
		"INSERT INTO user_host_permissions (id, user_id, host_id,"
		" permission_level, granted_by, granted_at)"
		" SELECT ?1, u.id, h.id, ?2, g.id, ?3"
		" FROM users u, docker_hosts h LEFT JOIN users g ON g.username = ?6"
		" WHERE u.username = ?4 AND h.name = ?5"
		" AND (?6 IS NULL OR g.id IS NOT NULL)"
		" ON CONFLICT (user_id, host_id) DO UPDATE SET"
		" permission_level = excluded.permission_level,"
		" granted_by = excluded.granted_by, granted_at = excluded.granted_at";
	char id[STORE_ID_LEN + 1];
	sqlite3_stmt *s = NULL;
	int ret, rc = SQLITE_OK;

	if (!valid_user_name(username) || !valid_host_name(host) ||
	    !valid_level(level) || (granted_by && !valid_user_name(granted_by)))
		return -EINVAL;
	uuid_v4(id);
	pthread_mutex_lock(&st->lock);
	ret = prepare(st, sql, &s);
	if (ret)
		goto out;
	bind_text(s, 1, id, &rc);
	bind_text(s, 2, level, &rc);
	bind_int64(s, 3, (int64_t)time(NULL), &rc);
	bind_text(s, 4, username, &rc);
	bind_text(s, 5, host, &rc);
	bind_text(s, 6, granted_by, &rc);
	if (rc != SQLITE_OK) {
		ret = db_err(st, rc, "bind");
		goto out;
	}
	ret = step_done(st, s, "set permission");
	if (!ret && sqlite3_changes(st->db) == 0)
		ret = -ENOENT;
out:
	sqlite3_finalize(s);
	pthread_mutex_unlock(&st->lock);
	return ret;
}

int store_perm_remove(struct store *st, const char *username, const char *host)
{
	static const char sql[] =
		"DELETE FROM user_host_permissions"
		" WHERE user_id = (SELECT id FROM users WHERE username = ?1)"
		" AND host_id = (SELECT id FROM docker_hosts WHERE name = ?2)";
	sqlite3_stmt *s = NULL;
	int ret, rc = SQLITE_OK;

	if (!valid_user_name(username) || !valid_host_name(host))
		return -EINVAL;
	pthread_mutex_lock(&st->lock);
	ret = prepare(st, sql, &s);
	if (ret)
		goto out;
	bind_text(s, 1, username, &rc);
	bind_text(s, 2, host, &rc);
	if (rc != SQLITE_OK) {
		ret = db_err(st, rc, "bind");
		goto out;
	}
	ret = step_done(st, s, "remove permission");
	if (!ret && sqlite3_changes(st->db) == 0)
		ret = -ENOENT;
out:
	sqlite3_finalize(s);
	pthread_mutex_unlock(&st->lock);
	return ret;
}

int store_perm_get(struct store *st, const char *username, const char *host,
		   char level[STORE_LEVEL_LEN])
{
	static const char sql[] =
		"SELECT p.permission_level FROM user_host_permissions p"
		" JOIN users u ON u.id = p.user_id"
		" JOIN docker_hosts h ON h.id = p.host_id"
		" WHERE u.username = ?1 AND h.name = ?2";
	sqlite3_stmt *s = NULL;
	const unsigned char *t;
	int ret, rc = SQLITE_OK;

	level[0] = '\0';
	if (!valid_user_name(username) || !valid_host_name(host))
		return -EINVAL;
	pthread_mutex_lock(&st->lock);
	ret = prepare(st, sql, &s);
	if (ret)
		goto out;
	bind_text(s, 1, username, &rc);
	bind_text(s, 2, host, &rc);
	if (rc != SQLITE_OK) {
		ret = db_err(st, rc, "bind");
		goto out;
	}
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE) {
		ret = -ENOENT;
	} else if (rc != SQLITE_ROW) {
		ret = db_err(st, rc, "get permission");
	} else {
		/* The schema's CHECK keeps it to the three levels, all
		 * shorter than STORE_LEVEL_LEN. */
		t = sqlite3_column_text(s, 0);
		if (!t)
			ret = -ENOMEM;
		else
			snprintf(level, STORE_LEVEL_LEN, "%s", (const char *)t);
	}
out:
	sqlite3_finalize(s);
	pthread_mutex_unlock(&st->lock);
	return ret;
}

struct perm_row {
	char *username;
	char *host;
	char *level;
};

/* 0 when each named filter exists, -ENOENT when one does not. */
static int perm_filters_exist(struct store *st, const char *username,
			      const char *host)
{
	static const char sql[] =
		"SELECT (?1 IS NULL OR EXISTS (SELECT 1 FROM users WHERE username = ?1))"
		" AND (?2 IS NULL OR EXISTS (SELECT 1 FROM docker_hosts WHERE name = ?2))";
	sqlite3_stmt *s = NULL;
	int ret, rc = SQLITE_OK;

	ret = prepare(st, sql, &s);
	if (ret)
		goto out;
	bind_text(s, 1, username, &rc);
	bind_text(s, 2, host, &rc);
	if (rc != SQLITE_OK) {
		ret = db_err(st, rc, "bind");
		goto out;
	}
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW)
		ret = db_err(st, rc, "check permission filters");
	else if (sqlite3_column_int(s, 0) == 0)
		ret = -ENOENT;
out:
	sqlite3_finalize(s);
	return ret;
}

int store_perm_foreach(struct store *st, const char *username, const char *host,
		       int (*cb)(const char *username, const char *host,
				 const char *level, void *arg),
		       void *arg)
{
	/* users x hosts is small: one statement with optional filters. */
	static const char sql[] =
		"SELECT u.username, h.name, p.permission_level"
		" FROM user_host_permissions p"
		" JOIN users u ON u.id = p.user_id"
		" JOIN docker_hosts h ON h.id = p.host_id"
		" WHERE (?1 IS NULL OR u.username = ?1) AND (?2 IS NULL OR h.name = ?2)"
		" ORDER BY h.name, u.username";
	struct perm_row *rows = NULL, *grown;
	size_t n = 0, cap = 0, i;
	sqlite3_stmt *s = NULL;
	int ret, rc = SQLITE_OK;

	if ((username && !valid_user_name(username)) ||
	    (host && !valid_host_name(host)))
		return -EINVAL;
	pthread_mutex_lock(&st->lock);
	ret = perm_filters_exist(st, username, host);
	if (ret)
		goto unlock;
	ret = prepare(st, sql, &s);
	if (ret)
		goto unlock;
	bind_text(s, 1, username, &rc);
	bind_text(s, 2, host, &rc);
	if (rc != SQLITE_OK) {
		ret = db_err(st, rc, "bind");
		goto unlock;
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		grown = grow(rows, sizeof(*rows), n, &cap);
		if (!grown) {
			ret = -ENOMEM;
			goto unlock;
		}
		rows = grown;
		/* Counted before the copy: a half-copied row is freed below. */
		memset(&rows[n], 0, sizeof(rows[n]));
		n++;
		if (!column_dup(s, 0, &rows[n - 1].username) ||
		    !column_dup(s, 1, &rows[n - 1].host) ||
		    !column_dup(s, 2, &rows[n - 1].level)) {
			ret = -ENOMEM;
			goto unlock;
		}
	}
	if (rc != SQLITE_DONE)
		ret = db_err(st, rc, "list permissions");
unlock:
	sqlite3_finalize(s);
	pthread_mutex_unlock(&st->lock);
	for (i = 0; i < n; i++) {
		if (!ret)
			ret = cb(rows[i].username, rows[i].host, rows[i].level, arg);
		free(rows[i].username);
		free(rows[i].host);
		free(rows[i].level);
	}
	free(rows);
	return ret;
}

/* ---- audit log ---- */

static bool valid_outcome(const char *outcome)
{
	return !outcome || !strcmp(outcome, "ok") || !strcmp(outcome, "denied") ||
	       !strcmp(outcome, "failed");
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int store_audit_add(struct store *st, const struct store_audit *a, long long *id)
{
	/* The ids are looked up by name in the same statement; the names are
	 * kept as given, so the row reads the same once they are gone. */
	static const char sql[] =
		"INSERT INTO audit_logs (ts, user_id, username, uid, host_id,"
		" host_name, action, resource_type, resource_id, details, outcome,"
		" errno) VALUES (?1, (SELECT id FROM users WHERE username = ?2), ?2,"
		" ?3, (SELECT id FROM docker_hosts WHERE name = ?4), ?4, ?5, ?6, ?7,"
		" ?8, ?9, ?10)";
	sqlite3_stmt *s = NULL;
	int ret, rc = SQLITE_OK;

	if (id)
		*id = 0;
	/* Any uid the kernel hands over is recorded; only -1 means none. */
	if (!a || !a->action || a->ts_ms < 0 || a->uid < -1 ||
	    !valid_outcome(a->outcome))
		return -EINVAL;
	pthread_mutex_lock(&st->lock);
	ret = prepare(st, sql, &s);
	if (ret)
		goto out;
	bind_int64(s, 1, a->ts_ms ? a->ts_ms : now_ms(), &rc);
	bind_text(s, 2, a->username, &rc);
	bind_uid(s, 3, a->uid, &rc);
	bind_text(s, 4, a->host, &rc);
	bind_text(s, 5, a->action, &rc);
	bind_text(s, 6, a->resource_type, &rc);
	bind_text(s, 7, a->resource_id, &rc);
	bind_text(s, 8, a->details, &rc);
	bind_text(s, 9, a->outcome, &rc);
	bind_int64(s, 10, a->error, &rc);
	if (rc != SQLITE_OK) {
		ret = db_err(st, rc, "bind");
		goto out;
	}
	ret = step_done(st, s, "add audit");
	/* Still under the lock: no other insert on this connection between. */
	if (!ret && id)
		*id = sqlite3_last_insert_rowid(st->db);
out:
	sqlite3_finalize(s);
	pthread_mutex_unlock(&st->lock);
	return ret;
}

/* A copied row: a points into strs. */
struct audit_row {
	struct store_audit a;
	char *strs[7];
};

#define AUDIT_COLUMNS                                                         \
	"id, ts, username, uid, host_name, action, resource_type, resource_id, " \
	"details, outcome, errno"
/* The last ?3 rows with id > ?1 (of user ?2), turned back into id order;
 * LIMIT -1 is no limit.  Two statements so the user's tail uses its index. */
#define AUDIT_TAIL(where)                                                     \
	"SELECT * FROM (SELECT " AUDIT_COLUMNS " FROM audit_logs WHERE " where  \
	" ORDER BY id DESC LIMIT ?3) ORDER BY id"

/* Fills r from a row of AUDIT_COLUMNS.  On failure r holds what was
 * copied; the caller frees it. */
static int audit_from_row(sqlite3_stmt *s, struct audit_row *r)
{
	/* The text columns, in the order of strs. */
	static const int cols[7] = { 2, 4, 5, 6, 7, 8, 9 };
	int i;

	memset(r, 0, sizeof(*r));
	for (i = 0; i < 7; i++)
		if (!column_dup(s, cols[i], &r->strs[i]))
			return -ENOMEM;
	r->a.id = sqlite3_column_int64(s, 0);
	r->a.ts_ms = sqlite3_column_int64(s, 1);
	r->a.username = r->strs[0];
	r->a.uid = column_uid(s, 3);
	r->a.host = r->strs[1];
	r->a.action = r->strs[2];
	r->a.resource_type = r->strs[3];
	r->a.resource_id = r->strs[4];
	r->a.details = r->strs[5];
	r->a.outcome = r->strs[6];
	r->a.error = sqlite3_column_int(s, 10);
	return 0;
}

static void audit_row_free(struct audit_row *r)
{
	int i;

	for (i = 0; i < 7; i++)
		free(r->strs[i]);
}

int store_audit_foreach(struct store *st, const char *username, long long after_id,
			int limit, int (*cb)(const struct store_audit *a, void *arg),
			void *arg)
{
	struct audit_row *rows = NULL, *grown;
	size_t n = 0, cap = 0, i;
	sqlite3_stmt *s = NULL;
	int ret, rc = SQLITE_OK;

	pthread_mutex_lock(&st->lock);
	ret = prepare(st, username ? AUDIT_TAIL("username = ?2 AND id > ?1")
				   : AUDIT_TAIL("id > ?1"), &s);
	if (ret)
		goto unlock;
	bind_int64(s, 1, after_id, &rc);
	if (username)
		bind_text(s, 2, username, &rc);
	bind_int64(s, 3, limit > 0 ? limit : -1, &rc);
	if (rc != SQLITE_OK) {
		ret = db_err(st, rc, "bind");
		goto unlock;
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		grown = grow(rows, sizeof(*rows), n, &cap);
		if (!grown) {
			ret = -ENOMEM;
			goto unlock;
		}
		rows = grown;
		ret = audit_from_row(s, &rows[n]);
		n++; /* counted even on failure: its strings are freed below */
		if (ret)
			goto unlock;
	}
	if (rc != SQLITE_DONE)
		ret = db_err(st, rc, "list audit");
unlock:
	sqlite3_finalize(s);
	pthread_mutex_unlock(&st->lock);
	for (i = 0; i < n; i++) {
		if (!ret)
			ret = cb(&rows[i].a, arg);
		audit_row_free(&rows[i]);
	}
	free(rows);
	return ret;
}

/* ---- settings ------------------------------------------------------------ */

int store_setting_get(struct store *st, const char *key, void **value, size_t *len)
{
	sqlite3_stmt *s = NULL;
	int ret, rc = SQLITE_OK;

	*value = NULL;
	*len = 0;
	pthread_mutex_lock(&st->lock);
	ret = prepare(st, "SELECT value FROM settings WHERE key = ?1", &s);
	if (ret)
		goto out;
	bind_text(s, 1, key, &rc);
	if (rc != SQLITE_OK) {
		ret = db_err(st, rc, "bind");
		goto out;
	}
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE) {
		ret = -ENOENT;
	} else if (rc != SQLITE_ROW) {
		ret = db_err(st, rc, "get setting");
	} else {
		int n = sqlite3_column_bytes(s, 0);
		*value = malloc((size_t)n + 1);
		if (!*value) {
			ret = -ENOMEM;
			goto out;
		}
		if (n)
			memcpy(*value, sqlite3_column_blob(s, 0), (size_t)n);
		((char *)*value)[n] = '\0';
		*len = (size_t)n;
	}
out:
	sqlite3_finalize(s);
	pthread_mutex_unlock(&st->lock);
	return ret;
}

int store_setting_set(struct store *st, const char *key, const void *value, size_t len)
{
	sqlite3_stmt *s = NULL;
	int ret, rc = SQLITE_OK;

	pthread_mutex_lock(&st->lock);
	ret = prepare(st, "INSERT INTO settings (key, value) VALUES (?1, ?2)"
		      " ON CONFLICT (key) DO UPDATE SET value = excluded.value", &s);
	if (ret)
		goto out;
	bind_text(s, 1, key, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_blob(s, 2, value, (int)len, SQLITE_STATIC);
	if (rc != SQLITE_OK) {
		ret = db_err(st, rc, "bind");
		goto out;
	}
	ret = step_done(st, s, "set setting");
out:
	sqlite3_finalize(s);
	pthread_mutex_unlock(&st->lock);
	return ret;
}

/* ---- credentials (host_credentials) -------------------------------------- */

int store_cred_put(struct store *st, const char *host, const struct store_cred *c)
{
	/* Only while the host still has the url the value was sealed for: a
	 * value sealed before a url change must not land after it. */
	static const char sql[] =
		"INSERT INTO host_credentials (id, host_id, credential_type, encrypted_value,"
		" nonce, metadata)"
		" SELECT ?1, id, ?2, ?3, ?4, ?5 FROM docker_hosts WHERE name = ?6"
		" AND host_url = ?7"
		" ON CONFLICT (host_id, credential_type) DO UPDATE SET"
		" encrypted_value = excluded.encrypted_value, nonce = excluded.nonce,"
		" metadata = excluded.metadata, updated_at = " NOW_S;
	char id[STORE_ID_LEN + 1];
	sqlite3_stmt *s = NULL;
	int ret, rc = SQLITE_OK;

	if (!valid_host_name(host) || !c->type || !c->sealed || !c->nonce || !c->url)
		return -EINVAL;
	uuid_v4(id);
	pthread_mutex_lock(&st->lock);
	ret = prepare(st, sql, &s);
	if (ret)
		goto out;
	bind_text(s, 1, id, &rc);
	bind_text(s, 2, c->type, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_blob(s, 3, c->sealed, (int)c->sealed_len, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_blob(s, 4, c->nonce, (int)c->nonce_len, SQLITE_STATIC);
	bind_text(s, 5, c->metadata, &rc);
	bind_text(s, 6, host, &rc);
	bind_text(s, 7, c->url, &rc);
	if (rc != SQLITE_OK) {
		ret = db_err(st, rc, "bind");
		goto out;
	}
	ret = step_done(st, s, "put credential");
	if (!ret && sqlite3_changes(st->db) == 0)
		ret = -ENOENT;
out:
	sqlite3_finalize(s);
	pthread_mutex_unlock(&st->lock);
	return ret;
}

static void *blob_dup(sqlite3_stmt *s, int col, size_t *len)
{
	int n = sqlite3_column_bytes(s, col);
	void *p = malloc(n ? (size_t)n : 1);

	if (!p)
		abort();
	if (n)
		memcpy(p, sqlite3_column_blob(s, col), (size_t)n);
	*len = (size_t)n;
	return p;
}

/* Fills c from a row of c.host_id, encrypted_value, nonce, metadata,
 * updated_at, h.host_url, credential_type, h.name. */
static void cred_from_row(sqlite3_stmt *s, struct store_cred *c)
{
	const char *hid = (const char *)sqlite3_column_text(s, 0);
	const char *meta = (const char *)sqlite3_column_text(s, 3);
	const char *url = (const char *)sqlite3_column_text(s, 5);
	const char *type = (const char *)sqlite3_column_text(s, 6);
	const char *host = (const char *)sqlite3_column_text(s, 7);

	snprintf(c->host_id, sizeof(c->host_id), "%s", hid ? hid : "");
	c->sealed = blob_dup(s, 1, &c->sealed_len);
	c->nonce = blob_dup(s, 2, &c->nonce_len);
	c->metadata = meta ? strdup(meta) : NULL;
	c->updated_at = (time_t)sqlite3_column_int64(s, 4);
	c->url = url ? strdup(url) : NULL;
	c->type = type ? strdup(type) : NULL;
	c->host = host ? strdup(host) : NULL;
}

#define CRED_COLUMNS                                                          \
	"SELECT c.host_id, c.encrypted_value, c.nonce, c.metadata, c.updated_at,"   \
	" h.host_url, c.credential_type, h.name"                                 \
	" FROM host_credentials c JOIN docker_hosts h ON h.id = c.host_id"

int store_cred_get(struct store *st, const char *host, const char *type, struct store_cred *c)
{
	static const char sql[] = CRED_COLUMNS " WHERE h.name = ?1 AND c.credential_type = ?2";
	sqlite3_stmt *s = NULL;
	int ret, rc = SQLITE_OK;

	memset(c, 0, sizeof(*c));
	if (!valid_host_name(host))
		return -EINVAL;
	pthread_mutex_lock(&st->lock);
	ret = prepare(st, sql, &s);
	if (ret)
		goto out;
	bind_text(s, 1, host, &rc);
	bind_text(s, 2, type, &rc);
	if (rc != SQLITE_OK) {
		ret = db_err(st, rc, "bind");
		goto out;
	}
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE)
		ret = -ENOENT;
	else if (rc != SQLITE_ROW)
		ret = db_err(st, rc, "get credential");
	else
		cred_from_row(s, c);
out:
	sqlite3_finalize(s);
	pthread_mutex_unlock(&st->lock);
	return ret;
}

int store_cred_foreach(struct store *st, int (*cb)(const struct store_cred *c, void *arg),
		       void *arg)
{
	static const char sql[] = CRED_COLUMNS " ORDER BY h.name, c.credential_type";
	struct store_cred *rows = NULL;
	size_t n = 0, cap = 0;
	sqlite3_stmt *s = NULL;
	int ret, rc;

	/* Copied first, so that cb runs unlocked (it may put). */
	pthread_mutex_lock(&st->lock);
	ret = prepare(st, sql, &s);
	while (!ret && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			rows = realloc(rows, cap * sizeof(*rows));
			if (!rows)
				abort();
		}
		memset(&rows[n], 0, sizeof(rows[n]));
		cred_from_row(s, &rows[n++]);
	}
	if (!ret && rc != SQLITE_DONE)
		ret = db_err(st, rc, "list credentials");
	sqlite3_finalize(s);
	pthread_mutex_unlock(&st->lock);
	for (size_t i = 0; i < n; i++) {
		if (!ret)
			ret = cb(&rows[i], arg);
		store_cred_free_fields(&rows[i]);
	}
	free(rows);
	return ret;
}

void store_cred_free_fields(struct store_cred *c)
{
	free((void *)c->sealed);
	free((void *)c->nonce);
	free((void *)c->metadata);
	free((void *)c->url);
	free((void *)c->type);
	free((void *)c->host);
	c->sealed = c->nonce = NULL;
	c->metadata = c->url = c->type = c->host = NULL;
}

int store_cred_remove(struct store *st, const char *host, const char *type)
{
	static const char sql[] =
		"DELETE FROM host_credentials WHERE credential_type = ?1 AND host_id ="
		" (SELECT id FROM docker_hosts WHERE name = ?2)";
	sqlite3_stmt *s = NULL;
	int ret, rc = SQLITE_OK;

	if (!valid_host_name(host))
		return -EINVAL;
	pthread_mutex_lock(&st->lock);
	ret = prepare(st, sql, &s);
	if (ret)
		goto out;
	bind_text(s, 1, type, &rc);
	bind_text(s, 2, host, &rc);
	if (rc != SQLITE_OK) {
		ret = db_err(st, rc, "bind");
		goto out;
	}
	ret = step_done(st, s, "remove credential");
	if (!ret && sqlite3_changes(st->db) == 0)
		ret = -ENOENT;
out:
	sqlite3_finalize(s);
	pthread_mutex_unlock(&st->lock);
	return ret;
}

int store_host_set_insecure(struct store *st, const char *host, bool on)
{
	sqlite3_stmt *s = NULL;
	int ret, rc = SQLITE_OK;

	if (!valid_host_name(host))
		return -EINVAL;
	pthread_mutex_lock(&st->lock);
	ret = prepare(st, "UPDATE docker_hosts SET insecure = ?1, updated_at = " NOW_S
		      " WHERE name = ?2", &s);
	if (ret)
		goto out;
	bind_int64(s, 1, on, &rc);
	bind_text(s, 2, host, &rc);
	if (rc != SQLITE_OK) {
		ret = db_err(st, rc, "bind");
		goto out;
	}
	ret = step_done(st, s, "set insecure");
	if (!ret && sqlite3_changes(st->db) == 0)
		ret = -ENOENT;
out:
	sqlite3_finalize(s);
	pthread_mutex_unlock(&st->lock);
	return ret;
}

bool store_host_insecure(struct store *st, const char *host)
{
	sqlite3_stmt *s = NULL;
	bool on = false;
	int rc = SQLITE_OK;

	pthread_mutex_lock(&st->lock);
	if (prepare(st, "SELECT insecure FROM docker_hosts WHERE name = ?1", &s) == 0) {
		bind_text(s, 1, host, &rc);
		if (rc == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
			on = sqlite3_column_int(s, 0) != 0;
	}
	sqlite3_finalize(s);
	pthread_mutex_unlock(&st->lock);
	return on;
}

void store_new_id(char id[STORE_ID_LEN + 1])
{
	uuid_v4(id);
}

int store_host_register(struct store *st, const char *id, const char *name, const char *url,
			bool insecure, const char *description, const struct store_cred *creds,
			size_t ncreds)
{
	static const char host_sql[] =
		"INSERT INTO docker_hosts (id, name, connection_type, host_url, insecure,"
		" description, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)";
	static const char cred_sql[] =
		"INSERT INTO host_credentials (id, host_id, credential_type, encrypted_value,"
		" nonce, metadata) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
	const char *type = url_connection_type(url);
	sqlite3_stmt *s = NULL;
	int ret, rc = SQLITE_OK;

	if (!valid_host_name(name) || !type || !id)
		return -EINVAL;
	for (size_t i = 0; i < ncreds; i++)
		if (!creds[i].type || !creds[i].sealed || !creds[i].nonce)
			return -EINVAL;
	pthread_mutex_lock(&st->lock);
	ret = tx_begin(st);
	if (ret)
		goto out;
	ret = prepare(st, host_sql, &s);
	if (ret)
		goto out;
	bind_text(s, 1, id, &rc);
	bind_text(s, 2, name, &rc);
	bind_text(s, 3, type, &rc);
	bind_text(s, 4, url, &rc);
	bind_int64(s, 5, insecure, &rc);
	bind_text(s, 6, description, &rc);
	bind_int64(s, 7, (int64_t)time(NULL), &rc);
	ret = rc != SQLITE_OK ? db_err(st, rc, "bind") : step_done(st, s, "register host");
	for (size_t i = 0; !ret && i < ncreds; i++) {
		char cid[STORE_ID_LEN + 1];

		sqlite3_finalize(s);
		s = NULL;
		ret = prepare(st, cred_sql, &s);
		if (ret)
			break;
		uuid_v4(cid);
		bind_text(s, 1, cid, &rc);
		bind_text(s, 2, id, &rc);
		bind_text(s, 3, creds[i].type, &rc);
		if (rc == SQLITE_OK)
			rc = sqlite3_bind_blob(s, 4, creds[i].sealed, (int)creds[i].sealed_len,
					       SQLITE_STATIC);
		if (rc == SQLITE_OK)
			rc = sqlite3_bind_blob(s, 5, creds[i].nonce, (int)creds[i].nonce_len,
					       SQLITE_STATIC);
		bind_text(s, 6, creds[i].metadata, &rc);
		ret = rc != SQLITE_OK ? db_err(st, rc, "bind")
				      : step_done(st, s, "register credential");
	}
	if (!ret)
		ret = tx_commit(st);
out:
	sqlite3_finalize(s);
	if (ret)
		tx_rollback(st);
	pthread_mutex_unlock(&st->lock);
	return ret;
}

int store_host_id(struct store *st, const char *host, char id[STORE_ID_LEN + 1])
{
	sqlite3_stmt *s = NULL;
	int ret, rc = SQLITE_OK;

	if (!valid_host_name(host))
		return -EINVAL;
	pthread_mutex_lock(&st->lock);
	ret = prepare(st, "SELECT id FROM docker_hosts WHERE name = ?1", &s);
	if (ret)
		goto out;
	bind_text(s, 1, host, &rc);
	if (rc != SQLITE_OK) {
		ret = db_err(st, rc, "bind");
		goto out;
	}
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE)
		ret = -ENOENT;
	else if (rc != SQLITE_ROW)
		ret = db_err(st, rc, "get host id");
	else
		snprintf(id, STORE_ID_LEN + 1, "%s", (const char *)sqlite3_column_text(s, 0));
out:
	sqlite3_finalize(s);
	pthread_mutex_unlock(&st->lock);
	return ret;
}
