/* swarm.h - the swarm model: what a manager host knows of its swarm, and
 * the M/swarms registry built over the manager hosts.
 *
 * A host whose /info says it is a swarm manager keeps, beside its own
 * objects, the swarm's lists (nodes, services with status, tasks, secrets,
 * configs, swarm-scoped networks, GET /swarm), refreshed by its worker at
 * connect, on every service/node/secret/config/network event (and task
 * container events), each second while something converges, and at
 * resync.  The lists are immutable JSON once published under the host's
 * lock: readers hold the read lock while they look at them.
 *
 * M/swarms/<swarm> is one directory per cluster id, whatever number of
 * manager hosts lead to it: the first healthy one (by host name) backs it,
 * and every node under it carries that host, so the caller's level on
 * that manager host is the level it has on the swarm.
 */
#ifndef DOCKFS_SWARM_H
#define DOCKFS_SWARM_H

#include <stdbool.h>

#include <jansson.h>

#include "buf.h"

struct fleet;
struct host;

/* A label on the swarm's spec that names its directory. */
#define SWARM_NAME_LABEL "dockfs.name"

/* Guarded by the host's lock; every json_t is owned and never changed
 * after it is published. */
struct swarm_cache {
	char id[80];             /* cluster id */
	char name[80];           /* directory name (swarm_name_of) */
	json_t *swarm;           /* GET /swarm, with JoinTokens */
	json_t *nodes, *services, *tasks, *secrets, *configs, *networks;
	json_t *node_names;      /* node id -> file name */
	struct timespec changed; /* when a list last changed */
	long hot_until;          /* monotonic ms: poll each second until then */
	long last_poll;
};

/* ---- the model (swarm.c) ------------------------------------------------ */

/* Lists everything again from h's engine if h is a manager (else drops its
 * cache).  Never fails the host: a manager without quorum keeps its last
 * lists.  Call without the lock. */
void swarm_refresh(struct host *h);
/* Whether the worker should refresh now (something converging). */
bool swarm_poll_due(struct host *h);
/* Milliseconds until that poll is due while the swarm converges, or
 * `cap` when it does not (the worker's longest sleep). */
long swarm_poll_wait(struct host *h, long cap);
/* Keeps polling often for a while (after a write or an event). */
void swarm_heat(struct host *h);
void swarm_cache_free(struct swarm_cache *s);

/* Directory name of a swarm: the SWARM_NAME_LABEL label, else the spec's
 * Name unless it is "default", else the first 12 characters of the id. */
void swarm_name_of(json_t *swarm_spec_owner, const char *id, char *out, size_t outlen);
/* File names of nodes: the hostname; of several nodes with one hostname,
 * the ready one (then the oldest) keeps it and the others get
 * "-<first 6 of the id>".  Returns a new object id -> name. */
json_t *swarm_node_names(json_t *nodes);

/* The backing manager host of the swarm called name (a counted reference,
 * host_put) with its cluster id, or NULL. */
struct host *swarm_lookup(struct fleet *f, const char *name, char *id, size_t idlen);
/* Calls cb for each swarm, sorted by name, with its backing host. */
void swarm_foreach(struct fleet *f, void (*cb)(const char *name, struct host *h, void *arg),
		   void *arg);
/* The name of the swarm a host belongs to (as manager or worker), "" if
 * none known. */
void swarm_of_host(struct host *h, char *name, size_t len);
/* The registered host whose engine is the swarm node id (a counted
 * reference), or NULL. */
struct host *swarm_node_host(struct fleet *f, const char *node_id);

/* With h's lock held: the object in list whose name (at the JSON path
 * "Spec.Name" or "Name") or id (full or a unique prefix of 4+) is key. */
json_t *swarm_find(json_t *list, const char *name_path, const char *key);
/* The string at a dotted path ("Spec.Mode.Replicated"), or NULL. */
json_t *swarm_get(json_t *obj, const char *path);
const char *swarm_str(json_t *obj, const char *path);

/* With h's lock held: the service a task belongs to and the task's file
 * name under services/<name>/tasks/ (the slot of a replicated service, else
 * the task id).  false if its service is gone. */
bool swarm_task_file(struct swarm_cache *s, json_t *task, const char **service, char *file,
		     size_t len);
/* Whether task is the one its file name shows: of the tasks of one slot,
 * the one meant to run, else the newest. */
bool swarm_task_current(struct swarm_cache *s, json_t *task);

/* After a write: lists again so the next read sees it, and keeps polling. */
void swarm_settle(struct host *h);

/* Names written but not yet made (secrets/NEW, labels/NEW): a create
 * (O_CREAT) registers the name for a minute so that the write after it
 * finds a file.  key: "kind:swarm-or-object:name". */
void swarm_pending_add(const char *key);
bool swarm_pending_has(const char *key);
void swarm_pending_del(const char *key);
/* After a DELETE of network id answered 204 (or 404), whichever directory
 * asked it (swarms/S/networks, stacks/, hosts/H/networks): the swarm lists leave
 * it out for a while, though a manager still lists its node's copy until
 * the tasks that used it have stopped (swarm.c). */
void swarm_network_removed(const char *id);

#endif
