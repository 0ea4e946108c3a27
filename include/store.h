/* store.h - the registry: SQLite in WAL mode, schema versioned by migrations.
 *
 * Tables follow the original plan: docker_hosts, host_credentials,
 * user_host_permissions, host_tags, host_connection_stats, users, api_tokens,
 * audit_logs.  Ids are random UUIDv4 text.  Every function returns 0 or a
 * negative errno (-ENOENT no such row, -EEXIST name taken, -EINVAL bad input,
 * -ENOSPC disk/db full, -EIO anything else) and logs the SQLite message.
 *
 * A struct store is safe to use from several threads: calls are serialised by
 * an internal mutex (one connection; SQLite in serialized mode).
 */
#ifndef DOCKFS_STORE_H
#define DOCKFS_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

struct store;

#define STORE_ID_LEN 36 /* UUID text, without the NUL */

/* One docker_hosts row.  Strings are owned by the row; free with
 * store_host_free_fields(); NULL when the column is NULL. */
struct store_host {
	char id[STORE_ID_LEN + 1];
	char *name;
	char *description;
	char *host_type;        /* standalone | swarm_manager | swarm_worker */
	char *connection_type;  /* unix | tcp | ssh */
	char *host_url;
	bool is_active;
	bool is_default;
	char *swarm_id;
	char *cluster_name;
	bool is_leader;
	char *status;           /* healthy | unhealthy | pending */
	time_t last_health_check; /* 0 = never */
	char *docker_version;
	char *api_version;
	char *os_type;
	char *architecture;
	time_t created_at;
	time_t updated_at;
};

/* Opens (creating if needed) the database at path, mode 0600, WAL, foreign
 * keys on, busy timeout, and applies pending migrations in one transaction
 * each.  *out is owned by the caller: store_close(). */
/* Whether store_open locks the registry for this process alone (SQLite's
 * exclusive locking mode, the WAL index in heap memory, no -shm mapped):
 * true, the daemon's way.  Unit tests that look at the database behind
 * the store's back set it false before store_open. */
extern bool store_lock_exclusive;
int store_open(const char *path, struct store **out);
/* For migration tests only: as store_open, but applies migrations up to
 * schema version `version` (1..latest, else -EINVAL) and no further.  A
 * database already past `version` is opened as it is. */
int store_open_version(const char *path, int version, struct store **out);
void store_close(struct store *st);
int store_schema_version(struct store *st);

/* Hosts.  connection_type is derived from the url scheme (unix:// tcp:// ssh://);
 * an unknown scheme is -EINVAL.  Names: 1..64 chars of [A-Za-z0-9._-], not
 * starting with '.' (else -EINVAL). */
int store_host_add(struct store *st, const char *name, const char *url);
/* Insert or update the url of the host called name. */
int store_host_put(struct store *st, const char *name, const char *url);
int store_host_remove(struct store *st, const char *name);
int store_host_get(struct store *st, const char *name, struct store_host *out);
/* Calls cb for every host ordered by name; a non-zero return from cb stops
 * the walk and is returned.  The row is valid only during the call. */
int store_host_foreach(struct store *st,
		       int (*cb)(const struct store_host *h, void *arg), void *arg);
void store_host_free_fields(struct store_host *h);
int store_host_count(struct store *st);

/* Settable text columns: "description", "host_url", "host_type", "status",
 * "swarm_id", "cluster_name", "docker_version", "api_version", "os_type",
 * "architecture".  Any other column is -EINVAL.  value may be NULL.
 * Updates updated_at. */
int store_host_set_text(struct store *st, const char *name, const char *column,
			const char *value);
/* Makes name the only default host (clears the flag on every other host);
 * on=false clears it on name only. */
int store_host_set_default(struct store *st, const char *name, bool on);
/* Records the outcome of a health check: status, last_health_check=now, and
 * the engine facts (each, status too, may be NULL: keep the stored value). */
int store_host_set_health(struct store *st, const char *name, const char *status,
			  const char *docker_version, const char *api_version,
			  const char *os_type, const char *architecture,
			  const char *host_type);

/* Tags (host_tags). */
int store_tag_set(struct store *st, const char *host, const char *tag,
		  const char *value);
int store_tag_remove(struct store *st, const char *host, const char *tag);
int store_tag_foreach(struct store *st, const char *host,
		      int (*cb)(const char *tag, const char *value, void *arg),
		      void *arg);

/* Connection statistics (host_connection_stats): one row appended per call. */
struct store_conn_stats {
	int active_connections;
	int64_t total_connections;
	int64_t failed_connections;
	double avg_response_time_ms;
	const char *last_error; /* may be NULL */
	time_t last_error_at;   /* 0 = none */
};
int store_conn_stats_add(struct store *st, const char *host,
			 const struct store_conn_stats *s);

/* tcp:// without TLS for this host (docker_hosts.insecure). */
int store_host_set_insecure(struct store *st, const char *host, bool on);
bool store_host_insecure(struct store *st, const char *host);

/* The host's row id (the credentials' associated data). */
int store_host_id(struct store *st, const char *host, char id[STORE_ID_LEN + 1]);

/* Credentials (host_credentials): sealed bytes only; vault.h seals and
 * opens them.  One row per (host, type); a put replaces it.  A change of
 * the host's url deletes its rows (a trigger: whatever changes the url).
 * get and foreach fill owned copies: store_cred_free_fields. */
struct store_cred {
	char host_id[STORE_ID_LEN + 1];  /* get: the row's host id */
	const char *type;                /* put: "tls/ca" ...; get: a copy */
	const unsigned char *sealed;
	size_t sealed_len;
	const unsigned char *nonce;
	size_t nonce_len;
	const char *metadata;            /* shown instead of the secret (fingerprint) */
	/* put: the url the value was sealed for (required); get: the host's
	 * url now */
	const char *url;
	const char *host;                /* get: the host's name */
	time_t updated_at;
};
/* -ENOENT when the host is not registered or its url is no longer c->url
 * (changed while the value was sealed). */
int store_cred_put(struct store *st, const char *host, const struct store_cred *c);
int store_cred_get(struct store *st, const char *host, const char *type, struct store_cred *c);
/* Every credential row, ordered by host then type; rows are copied and cb
 * runs unlocked; a non-zero return from cb stops the walk and is returned. */
int store_cred_foreach(struct store *st, int (*cb)(const struct store_cred *c, void *arg),
		       void *arg);
void store_cred_free_fields(struct store_cred *c);
int store_cred_remove(struct store *st, const char *host, const char *type);
/* A fresh row id, for a caller that seals under it before the row exists
 * (vault_register). */
void store_new_id(char id[STORE_ID_LEN + 1]);
/* Registers a host that is not in the registry yet, under id, with its
 * insecure flag, description (may be NULL) and credentials (c->url is not
 * read: each is sealed for url), in one transaction: all of it or none.
 * -EEXIST when a host of that name is registered already. */
int store_host_register(struct store *st, const char *id, const char *name, const char *url,
			bool insecure, const char *description, const struct store_cred *creds,
			size_t ncreds);

/* Settings of the daemon (settings table), as bytes.  get: *value is owned
 * (free(); NUL-terminated for convenience), -ENOENT if unset. */
int store_setting_get(struct store *st, const char *key, void **value, size_t *len);
int store_setting_set(struct store *st, const char *key, const void *value, size_t len);

/* Users (users table).  Names: 1..64 chars of [A-Za-z0-9._-], not starting
 * with '.' or '-' (else -EINVAL).  uid is the Unix uid the user is bound to,
 * 0..4294967294, or -1 for none (anything else is -EINVAL); no two users
 * share a uid.  username is owned by the row: store_user_free_fields(). */
struct store_user {
	char id[STORE_ID_LEN + 1];
	char *username;
	long long uid;          /* -1 when none */
	bool is_admin;
	time_t created_at;
};
/* -EEXIST when the name or the uid is taken. */
int store_user_add(struct store *st, const char *username, long long uid,
		   bool is_admin);
/* Removes the user with its permissions and api tokens; grants it made and
 * hosts it created keep their rows (granted_by / created_by become NULL).
 * Audit rows keep its name and uid. */
int store_user_remove(struct store *st, const char *username);
int store_user_get(struct store *st, const char *username, struct store_user *out);
/* uid must be >= 0 (-EINVAL); -ENOENT when no user has it. */
int store_user_get_by_uid(struct store *st, long long uid, struct store_user *out);
/* uid -1 unbinds; -EEXIST if another user has it. */
int store_user_set_uid(struct store *st, const char *username, long long uid);
int store_user_set_admin(struct store *st, const char *username, bool is_admin);
/* As store_host_foreach, ordered by username: rows are copied first and cb
 * runs with the store unlocked (it may call back into the store). */
int store_user_foreach(struct store *st,
		       int (*cb)(const struct store_user *u, void *arg), void *arg);
void store_user_free_fields(struct store_user *u);

/* Per-host permission levels (user_host_permissions), one per (user, host).
 * level is "viewer" | "operator" | "admin" (else -EINVAL).  A user, host or
 * granter that does not exist is -ENOENT. */
#define STORE_LEVEL_LEN 16 /* size of a level buffer, NUL included */
/* Inserts or overwrites the user's level on host.  granted_by names the
 * granting user, or NULL. */
int store_perm_set(struct store *st, const char *username, const char *host,
		   const char *level, const char *granted_by);
/* -ENOENT if the user has no level on host. */
int store_perm_remove(struct store *st, const char *username, const char *host);
/* Copies the level into level; -ENOENT if none. */
int store_perm_get(struct store *st, const char *username, const char *host,
		   char level[STORE_LEVEL_LEN]);
/* Calls cb for every (username, host, level), ordered by host then username;
 * username or host NULL matches any, a named one that does not exist is
 * -ENOENT.  Rows are copied, cb runs unlocked; a non-zero return from cb
 * stops the walk and is returned. */
int store_perm_foreach(struct store *st, const char *username, const char *host,
		       int (*cb)(const char *username, const char *host,
				 const char *level, void *arg),
		       void *arg);

/* Audit log (audit_logs): append only, and it outlives what it names.  The
 * row copies the username, uid and host name; user_id / host_id are also
 * filled with the ids of the user and host of those names when they exist
 * (NULL otherwise), and the names stay readable after they are removed.
 * Strings other than action may be NULL; they are stored as given (an
 * attempt on a malformed name is worth recording too). */
struct store_audit {
	long long id;           /* set by store_audit_foreach */
	long long ts_ms;        /* unix milliseconds; 0 = now on add */
	const char *username;
	long long uid;          /* -1 = none */
	const char *host;       /* host name */
	const char *action;     /* required */
	const char *resource_type;
	const char *resource_id;
	const char *details;
	const char *outcome;    /* "ok" | "denied" | "failed" | NULL (else -EINVAL) */
	int error;              /* errno, 0 on success */
};
/* Appends a row; its id goes to *id when id is not NULL. */
int store_audit_add(struct store *st, const struct store_audit *a, long long *id);
/* Calls cb for the rows with id > after_id, in id order; username NULL means
 * all users.  limit <= 0: every such row; else only the LAST limit of them
 * (still in id order, so a tail resumes with after_id = the last id seen).
 * Rows are copied, cb runs unlocked; a non-zero return from cb stops the walk
 * and is returned.  The row is valid only during the call. */
int store_audit_foreach(struct store *st, const char *username, long long after_id,
			int limit, int (*cb)(const struct store_audit *a, void *arg),
			void *arg);

#endif
