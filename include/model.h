/* model.h - the fleet and, per host, the objects kept current like a
 * Kubernetes informer: one list per kind at connect, then the engine's
 * /events stream, a periodic resync as a safety net, and a reconnect with
 * backoff when the engine goes away.
 *
 * Each host has its own worker thread, connection and deadlines, so a dead
 * engine never blocks another host or the mount.  Readers (the tree) take
 * the host's read lock and read the structs below directly; only the worker
 * and the fleet's own setters write them, never while waiting on the
 * network.
 */
#ifndef DOCKFS_MODEL_H
#define DOCKFS_MODEL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

#include <jansson.h>

#include "conn.h"
#include "docker.h"
#include "format.h"
#include "map.h"

struct store;
struct swarm_cache;

enum host_health { HOST_PENDING, HOST_HEALTHY, HOST_UNHEALTHY };

/* Where a new host (or a new url) is on the way to its first container
 * list, which readers of a fresh mount wait for (host_wait_listed). */
enum first_list { FIRST_LIST_DONE, FIRST_LIST_CONNECTING, FIRST_LIST_LISTING };

/* A container, compact: 10k of them must fit in a few MiB.  Filled from the
 * list at once (ls works at once), then from inspect (detailed). */
struct container {
	char id[65];
	char name[256];          /* without Docker's leading '/' */
	char *image;             /* as the user gave it (Config.Image) */
	char state[16];          /* created running paused restarting removing exited dead */
	char health[12];         /* starting healthy unhealthy, or "" for none */
	struct container_state cs;
	int pid;
	bool tty;
	bool detailed;           /* inspected since the last change */
	char *created;           /* Docker's RFC 3339 text */
	struct timespec created_ts;
	struct timespec changed_ts; /* newest of created, started, finished */
	char *ports;             /* format_ports() text, "" if none */
	char *labels;            /* packed "key\0value\0"..., labels_len bytes */
	size_t labels_len;
};

/* An image (one per tag; untagged ones by short id), network or volume: the
 * list API's summary object and the file name it goes by. */
struct object {
	char *name;              /* file name, escaped (names.h) */
	char *id;
	json_t *summary;         /* owned */
	struct timespec created_ts;
};

enum object_kind { OBJ_IMAGE, OBJ_NETWORK, OBJ_VOLUME, OBJ_KINDS };

struct fleet;

/* A credential written to a host that has no url yet (credentials.c): kept
 * in the daemon's guarded memory, not in the registry (which holds only
 * hosts with a url), until the first url registers the host with it. */
struct setup_cred {
	struct setup_cred *next;
	char type[64];             /* "tls/ca", ..., as vault.h names them */
	char *metadata;            /* what reading the file shows */
	struct secret value;       /* in clear, sodium_malloc'd: secret_free */
};

#define HOST_REFRESH_LOCKS 32

struct host {
	char name[65];
	atomic_int refs;
	struct fleet *fleet;

	/* Guards everything below; readers hold it only to copy out. */
	pthread_rwlock_t lock;
	struct conn *conn;         /* replaced when the url changes */
	char *description;
	bool is_default;
	enum host_health health;
	char *last_error;          /* why unhealthy, NULL when healthy */
	time_t last_check;
	struct timespec status_ts; /* when status or a setting last changed */
	bool stale;                /* model is the last known state, engine away */
	char api[16];              /* API version spoken */
	json_t *version;           /* /version, NULL until connected */
	json_t *info;              /* /info */
	bool insecure;             /* tcp without TLS (admin's explicit setting) */
	char host_type[16];        /* standalone | swarm_manager | swarm_worker */
	struct map containers;     /* id -> struct container */
	struct map container_names;/* name -> struct container */
	struct map objects[OBJ_KINDS]; /* file name -> struct object */
	struct timespec changed[OBJ_KINDS + 1]; /* dir mtimes; [OBJ_KINDS]: containers */
	struct swarm_cache *swarm; /* managers only: the swarm's lists (swarm.h) */
	/* Bumped when the url changes and the model above is dropped: what a
	 * call begun before fetched is from the old engine, and is not
	 * adopted (host_url_gen(), then compare under the write lock). */
	unsigned url_gen;
	/* Pending because its setup is incomplete (a credential its url
	 * needs is missing: host_setup_missing), not merely not yet
	 * answered: calls fail at once, as for an unhealthy host. */
	bool setup_incomplete;

	/* What is written to a host made by mkdir before it has a url: the
	 * credentials here, insecure and description in the fields above.
	 * The first url registers all of it in one transaction
	 * (fleet_host_set_url_with).  setup_lock is taken before the store's
	 * and the host's locks, by every writer of a url, a credential,
	 * insecure or description, so that nothing written meanwhile is
	 * lost between the registry and memory. */
	pthread_mutex_t setup_lock;
	struct setup_cred *setup_creds;

	/* Connection stats of the calls made to the engine. */
	atomic_int calls_active;
	atomic_llong calls_total, calls_failed, calls_ms;
	char *call_error;          /* guarded by lock */
	time_t call_error_at;

	/* Held across a container's inspect and its apply, so that of two
	 * refreshes the later one also lands later (an action's settle and
	 * the worker's refresh for an older event race otherwise).  One of
	 * HOST_REFRESH_LOCKS by a hash of the id: a container whose inspect
	 * hangs holds up refreshes of its own stripe only, and a caller
	 * waits for one no longer than its budget (docker_budget_until). */
	pthread_mutex_t refresh_lock[HOST_REFRESH_LOCKS];
	/* The same for the swarm lists (swarm_refresh): an action's refresh
	 * after its update must not be overtaken by a poll begun before. */
	pthread_mutex_t swarm_refresh_lock;
	/* The same for each kind's list (list_objects): an action's list
	 * after its mkdir or rmdir must not land after the worker's later
	 * one, putting back what it had before. */
	pthread_mutex_t list_lock[OBJ_KINDS];

	enum first_list first_list; /* guarded by the fleet's first_lock */
	/* Guarded by the fleet's first_lock too: one of the hosts the mount
	 * started with, its first list not yet come; a reader gave up
	 * waiting for that list. */
	bool starting, answered_unlisted;

	/* Worker control; guarded by ctl_lock. */
	pthread_mutex_t ctl_lock;
	pthread_cond_t ctl_cond;
	bool stop;
	bool reconnect;
	void *multi;               /* CURLM * while streaming events */
	pthread_t thread;
	bool started;
};

struct fleet_options {
	int health_interval;   /* seconds between health checks */
	int resync_interval;   /* seconds between full relists */
};

/* Creates the fleet over store (borrowed, must outlive the fleet). */
int fleet_new(struct store *st, const struct fleet_options *opt, struct fleet **out);
/* Loads every registered host and starts its worker. */
int fleet_start(struct fleet *f);
/* Stops every worker and frees everything. */
void fleet_free(struct fleet *f);

/* A counted reference to the host called name, or NULL: host_put() it. */
struct host *fleet_host_get(struct fleet *f, const char *name);
void host_put(struct host *h);
/* Calls cb with each host's name, sorted; cb must not call back into the
 * fleet's setters. */
void fleet_foreach_host(struct fleet *f, void (*cb)(struct host *h, void *arg), void *arg);
int fleet_host_count(struct fleet *f);

/* Registry changes: store first, then the live host. */
int fleet_host_add(struct fleet *f, const char *name, const char *url);
int fleet_host_remove(struct fleet *f, const char *name);
/* The url: stored (a changed url drops the host's credentials: store.h),
 * and, when it changed, the old engine's model dropped at once (its
 * containers, objects, swarm lists and facts leave the listings before
 * this returns, observers told) and its connections closed (conn_retire). */
int fleet_host_set_url(struct fleet *f, const char *name, const char *url);
/* The same, with put() storing the url instead of store_host_put() (the
 * first url of a host made by mkdir: credentials.c registers the host
 * with what was written to it before, in one transaction).  put is
 * called without any lock of the host's; its errno is returned. */
int fleet_host_set_url_with(struct fleet *f, const char *name, const char *url,
			    int (*put)(struct store *st, const char *name, const char *url,
				       void *arg),
			    void *arg);
/* Frees a list of setup credentials (wiping them). */
void setup_creds_free(struct setup_cred *c);
/* What a host's url still needs before it can connect, as one line in out
 * ("tcp needs tls/ca, ...: missing tls/ca"), or false when nothing: tcp
 * needs tls/ca (and tls/cert with tls/key, or neither) unless insecure;
 * ssh needs ssh/known_hosts and ssh/key or ssh/password; unix nothing.
 * Call without the host's lock (it reads the registry). */
bool host_setup_missing(struct host *h, char *out, size_t len);
int fleet_host_set_description(struct fleet *f, const char *name, const char *text);
int fleet_host_set_default(struct fleet *f, const char *name, bool on);
/* On a host made by mkdir that has no url yet, insecure and description
 * are kept in memory until the first url registers them. */
int fleet_host_set_insecure(struct fleet *f, const char *name, bool on);
/* Drops the host's connection and connects again now (credentials changed,
 * `reconnect` written to ctl). */
int fleet_host_reconnect(struct fleet *f, const char *name);

/* Checks the engine now (ctl `test`): /_ping and /version, bounded.  0 with
 * a one-line summary in out, else -errno with why in msg. */
int host_test(struct host *h, struct buf *out, char *msg, size_t msglen);

/* The stats file's content (one `key: value` a line). */
void host_stats_show(struct host *h, struct buf *out);

/* With h's lock held: the container called name, or with that id or unique
 * id prefix; NULL if none. */
struct container *host_container_find(struct host *h, const char *name_or_id);
/* With h's lock held: the object of that kind by file name, id, or unique
 * id prefix. */
struct object *host_object_find(struct host *h, enum object_kind kind, const char *name);

/* Waits until h's first container list (since it was added or given a
 * url) is in, or its engine failed: a fresh mount's first `ls` shows the
 * containers of every engine that answers.  Bounded: an engine that has
 * not answered is waited for a second at most, one that is listing five.
 * No wait once the host has listed.  Call without the lock. */
void host_wait_listed(struct host *h);
/* The same for every host, under one deadline. */
void fleet_wait_listed(struct fleet *f);

/* Makes sure the container is inspected (a synchronous inspect when the
 * worker has not got to it yet).  Call without the lock. */
int host_container_detail(struct host *h, const char *id);

/* Inspects the container again now (after an action, so that a read right
 * after the write sees its effect); a container gone is dropped. */
int host_container_refresh(struct host *h, const char *id);

/* Lists one kind of object again now (after an action). */
int host_objects_refresh(struct host *h, enum object_kind kind);

/* A streaming call to h's engine (followed logs): an easy handle the caller
 * runs and frees with conn_handle_free, or NULL with -errno in *err (host
 * away, no url). */
CURL *host_stream_new(struct host *h, const char *path, curl_write_callback cb, void *arg,
		      struct curl_slist **headers, int *err);

/* A live call to h's engine in the API version negotiated with it (logs,
 * stats, inspect, actions).  Fails at once with -EHOSTDOWN while the host
 * is unhealthy.  Call without the lock. */
int host_call(struct host *h, struct docker_call *call, struct docker_reply *reply);

/* h->url_gen now (taking the read lock). */
unsigned host_url_gen(struct host *h);

/* Reads /info again now (after a swarm init, join or leave), so type and
 * the swarm's lists follow at once. */
int host_info_refresh(struct host *h);

/* GETs path from h's engine (as the worker does, in any health, cancelled
 * when the host stops) and parses it: *out is the caller's. */
int host_get_json(struct host *h, const char *path, json_t **out, char *msg, size_t msglen);

/* GETs path from h's engine and writes its JSON pretty printed, with a
 * final newline, to out (the *.json file convention). */
int host_fetch_json(struct host *h, const char *path, struct buf *out);

/* Label lookup in a container's packed labels; NULL if absent. */
const char *container_label(const struct container *c, const char *key);

/* Pure parts, exposed for tests: fill a container from a list entry or an
 * inspect object (replacing what it held). */
/* Completes a container whose id, name, state, image, created_ts and labels
 * came from the engine's list (container_list.h): not yet inspected. */
void container_summary_done(struct container *c);
void container_from_inspect(struct container *c, json_t *inspect);
void container_free(struct container *c);

const char *host_health_name(enum host_health h);

/* Who watches the model: the event files (events.c) and the kernel
 * notifier (notify.c).  Each callback runs on the thread that changed the
 * model (a host's worker, or the thread of an action's refresh), after the
 * host's lock is released; it must not block.  name is a file name in the
 * tree (escaped). */
enum change { CHANGE_CREATED, CHANGE_UPDATED, CHANGE_REMOVED };

struct model_observer {
	/* Every event the engine reported, as it came (Docker's JSON). */
	void (*event)(struct host *h, json_t *ev, void *arg);
	void (*container)(struct host *h, const char *name, enum change c, void *arg);
	void (*object)(struct host *h, enum object_kind kind, const char *name, enum change c,
		       void *arg);
	/* status, type or a setting of the host changed */
	void (*host)(struct host *h, void *arg);
	/* A manager's swarm lists were replaced (swarm.h); before may be NULL. */
	void (*swarm)(struct host *h, const struct swarm_cache *before,
		      const struct swarm_cache *after, void *arg);
	void *arg;
};

/* Adds an observer (at most a few; before fleet_start). */
void model_observe(const struct model_observer *o);
/* Tells the observers (swarm.c, after replacing a manager's lists). */
void model_observe_swarm(struct host *h, const struct swarm_cache *before,
			 const struct swarm_cache *after);

#endif
