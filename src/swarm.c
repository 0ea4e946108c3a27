/* swarm.c - the swarm model (swarm.h): a manager host's lists of its
 * swarm and the M/swarms registry over the manager hosts.  The writes
 * are the tree's (swarms.c).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "docker.h"
#include "log.h"
#include "map.h"
#include "model.h"
#include "names.h"
#include "swarm.h"

#define HOT_MS 15000L            /* poll often this long after a change */
/* Docker reports no event when a task starts or stops: while a service
 * converges, its running count is polled this often (inotify on `running`
 * within a fraction of a second). */
#define HOT_POLL_MS 250L
#define PENDING_SECONDS 60       /* a created name waits this long for its write */
/* How long a removed network stays out of the lists (swarm_networks): a
 * node's copy goes when a task's stop grace period has passed. */
#define REMOVED_NETWORK_SECONDS 600

json_t *swarm_get(json_t *obj, const char *path)
{
	char part[64];

	while (obj && *path) {
		size_t n = strcspn(path, ".");
		if (n >= sizeof(part))
			return NULL;
		memcpy(part, path, n);
		part[n] = '\0';
		obj = json_object_get(obj, part);
		path += n;
		if (*path == '.')
			path++;
	}
	return obj;
}

const char *swarm_str(json_t *obj, const char *path)
{
	return json_string_value(swarm_get(obj, path));
}

void swarm_cache_free(struct swarm_cache *s)
{
	if (!s)
		return;
	json_decref(s->swarm);
	json_decref(s->nodes);
	json_decref(s->services);
	json_decref(s->tasks);
	json_decref(s->secrets);
	json_decref(s->configs);
	json_decref(s->networks);
	json_decref(s->node_names);
	free(s);
}

void swarm_name_of(json_t *swarm, const char *id, char *out, size_t outlen)
{
	const char *label = swarm_str(swarm, "Spec.Labels." SWARM_NAME_LABEL);
	const char *name = swarm_str(swarm, "Spec.Name");

	if (label && *label && !strchr(label, '/') && strcmp(label, ".") && strcmp(label, ".."))
		snprintf(out, outlen, "%s", label);
	else if (name && *name && strcmp(name, "default") && !strchr(name, '/'))
		snprintf(out, outlen, "%s", name);
	else
		snprintf(out, outlen, "%.12s", id);
}

/* Whether node a should keep a shared hostname before node b. */
static bool node_first(json_t *a, json_t *b)
{
	bool ra = !strcmp(swarm_str(a, "Status.State") ?: "", "ready");
	bool rb = !strcmp(swarm_str(b, "Status.State") ?: "", "ready");

	if (ra != rb)
		return ra;
	return strcmp(swarm_str(a, "CreatedAt") ?: "", swarm_str(b, "CreatedAt") ?: "") <= 0;
}

json_t *swarm_node_names(json_t *nodes)
{
	json_t *names = json_object(), *n, *m;
	size_t i, j;

	json_array_foreach(nodes, i, n) {
		const char *id = swarm_str(n, "ID");
		const char *host = swarm_str(n, "Description.Hostname");
		bool keeps = true;
		char name[NAME_MAX_ESCAPED];

		if (!id)
			continue;
		if (!host || !*host || strchr(host, '/'))
			host = id;
		json_array_foreach(nodes, j, m) {
			const char *h2 = swarm_str(m, "Description.Hostname");
			if (j != i && h2 && !strcmp(h2, host) && !node_first(n, m))
				keeps = false;
		}
		if (keeps)
			snprintf(name, sizeof(name), "%s", host);
		else
			snprintf(name, sizeof(name), "%.200s-%.6s", host, id);
		json_object_set_new(names, id, json_string(name));
	}
	return names;
}

static bool network_removed(const char *id);

/* Swarm-scoped networks only: a manager's /networks also has its own.
 * Those this daemon removed are left out: the swarm forgets a network at
 * once, but the manager's node lists its own copy (Scope "swarm" too)
 * until the last task container on it that used the network has stopped,
 * which takes the service's stop grace period. */
static json_t *swarm_networks(json_t *all)
{
	json_t *out = json_array(), *n;
	size_t i;

	json_array_foreach(all, i, n) {
		const char *scope = swarm_str(n, "Scope");
		if (scope && !strcmp(scope, "swarm") && !network_removed(swarm_str(n, "Id") ?: ""))
			json_array_append(out, n);
	}
	return out;
}

/* Whether some service has not got as many tasks running as it wants. */
static bool converging(json_t *services)
{
	json_t *s;
	size_t i;

	json_array_foreach(services, i, s) {
		json_t *st = json_object_get(s, "ServiceStatus");
		if (json_integer_value(json_object_get(st, "RunningTasks")) !=
		    json_integer_value(json_object_get(st, "DesiredTasks")))
			return true;
		const char *us = swarm_str(s, "UpdateStatus.State");
		if (us && (!strcmp(us, "updating") || !strcmp(us, "rollback_started")))
			return true;
	}
	return false;
}

static const char *const list_paths[] = {
	"/swarm", "/nodes", "/services?status=true", "/tasks", "/secrets", "/configs",
	"/networks",
};

#define N_LISTS (sizeof(list_paths) / sizeof(list_paths[0]))

static void refresh_locked(struct host *h)
{
	json_t *lists[N_LISTS] = { 0 };
	char type[16], msg[256];
	int err = 0;

	pthread_rwlock_rdlock(&h->lock);
	snprintf(type, sizeof(type), "%s", h->host_type);
	unsigned gen = h->url_gen;
	pthread_rwlock_unlock(&h->lock);
	if (strcmp(type, "swarm_manager")) {
		pthread_rwlock_wrlock(&h->lock);
		struct swarm_cache *old = h->swarm;
		h->swarm = NULL;
		pthread_rwlock_unlock(&h->lock);
		swarm_cache_free(old);
		return;
	}
	for (size_t i = 0; i < N_LISTS && !err; i++)
		err = host_get_json(h, list_paths[i], &lists[i], msg, sizeof(msg));
	if (err) {
		/* A manager without quorum answers 503: keep the last lists. */
		log_info("host %s: swarm lists: %s", h->name, msg);
		for (size_t i = 0; i < N_LISTS; i++)
			json_decref(lists[i]);
		return;
	}
	struct swarm_cache *s = calloc(1, sizeof(*s));
	if (!s)
		abort();
	const char *id = swarm_str(lists[0], "ID") ?: "";
	snprintf(s->id, sizeof(s->id), "%s", id);
	swarm_name_of(lists[0], id, s->name, sizeof(s->name));
	s->swarm = lists[0];
	s->nodes = lists[1];
	s->services = lists[2];
	s->tasks = lists[3];
	s->secrets = lists[4];
	s->configs = lists[5];
	s->networks = swarm_networks(lists[6]);
	json_decref(lists[6]);
	s->node_names = swarm_node_names(s->nodes);
	s->last_poll = mono_ms();

	pthread_rwlock_wrlock(&h->lock);
	if (h->url_gen != gen) {
		/* The url changed meanwhile: another engine's lists. */
		pthread_rwlock_unlock(&h->lock);
		swarm_cache_free(s);
		return;
	}
	struct swarm_cache *old = h->swarm;
	bool same = old && json_equal(old->nodes, s->nodes) &&
		    json_equal(old->services, s->services) && json_equal(old->tasks, s->tasks) &&
		    json_equal(old->secrets, s->secrets) && json_equal(old->configs, s->configs) &&
		    json_equal(old->networks, s->networks) && json_equal(old->swarm, s->swarm);
	if (same)
		s->changed = old->changed;
	else
		clock_gettime(CLOCK_REALTIME, &s->changed);
	s->hot_until = old ? old->hot_until : 0;
	if (!same || converging(s->services))
		s->hot_until = s->last_poll + HOT_MS;
	h->swarm = s;
	pthread_rwlock_unlock(&h->lock);
	/* The lists are immutable once built; old is ours to free, and s stays
	 * while the read lock is held (observers only read and queue). */
	if (!same) {
		pthread_rwlock_rdlock(&h->lock);
		if (h->swarm == s)
			model_observe_swarm(h, old, s);
		pthread_rwlock_unlock(&h->lock);
	}
	swarm_cache_free(old);
}

/* One refresh at a time, so that the lists fetched last are the ones
 * kept. */
void swarm_refresh(struct host *h)
{
	/* A caller's settle waits for the worker's refresh no longer than
	 * its budget (docker.h); the worker's own lists then come soon. */
	if (docker_budget_user()) {
		struct timespec until = docker_budget_until(DOCKER_DEFAULT_TIMEOUT_MS);

		if (pthread_mutex_timedlock(&h->swarm_refresh_lock, &until))
			return;
	} else {
		pthread_mutex_lock(&h->swarm_refresh_lock);
	}
	refresh_locked(h);
	pthread_mutex_unlock(&h->swarm_refresh_lock);
}

bool swarm_poll_due(struct host *h)
{
	bool due = false;
	long now = mono_ms();

	pthread_rwlock_rdlock(&h->lock);
	if (h->swarm)
		due = now < h->swarm->hot_until && now - h->swarm->last_poll >= HOT_POLL_MS;
	pthread_rwlock_unlock(&h->lock);
	return due;
}

long swarm_poll_wait(struct host *h, long cap)
{
	long now = mono_ms(), wait = cap;

	pthread_rwlock_rdlock(&h->lock);
	if (h->swarm && now < h->swarm->hot_until)
		wait = h->swarm->last_poll + HOT_POLL_MS - now;
	pthread_rwlock_unlock(&h->lock);
	return wait < 0 ? 0 : wait < cap ? wait : cap;
}

void swarm_heat(struct host *h)
{
	pthread_rwlock_wrlock(&h->lock);
	if (h->swarm)
		h->swarm->hot_until = mono_ms() + HOT_MS;
	pthread_rwlock_unlock(&h->lock);
}

void swarm_settle(struct host *h)
{
	swarm_refresh(h);
	swarm_heat(h);
}

/* ---- the registry ---------------------------------------------------------- */

struct swarm_entry {
	char name[80];
	char id[80];
	struct host *h;          /* counted reference */
	bool healthy;
};

struct collect {
	struct swarm_entry *v;
	size_t n, cap;
};

static void collect_cb(struct host *h, void *arg)
{
	struct collect *c = arg;
	struct swarm_entry e = { .h = h };

	pthread_rwlock_rdlock(&h->lock);
	if (h->swarm && h->swarm->id[0]) {
		snprintf(e.name, sizeof(e.name), "%s", h->swarm->name);
		snprintf(e.id, sizeof(e.id), "%s", h->swarm->id);
		e.healthy = h->health == HOST_HEALTHY;
	}
	pthread_rwlock_unlock(&h->lock);
	if (!e.id[0])
		return;
	/* One entry per swarm: hosts come sorted by name, the first healthy
	 * manager wins. */
	for (size_t i = 0; i < c->n; i++) {
		if (strcmp(c->v[i].id, e.id))
			continue;
		if (!c->v[i].healthy && e.healthy) {
			host_put(c->v[i].h);
			atomic_fetch_add(&h->refs, 1);
			c->v[i].h = h;
			c->v[i].healthy = true;
		}
		return;
	}
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 4;
		c->v = realloc(c->v, c->cap * sizeof(*c->v));
		if (!c->v)
			abort();
	}
	atomic_fetch_add(&h->refs, 1);
	c->v[c->n++] = e;
}

static int entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct swarm_entry *)a)->name, ((const struct swarm_entry *)b)->name);
}

/* Every swarm once, sorted, names made unique (a second swarm of one name
 * is told apart by its id). */
static void collect(struct fleet *f, struct collect *c)
{
	*c = (struct collect){ 0 };
	fleet_foreach_host(f, collect_cb, c);
	if (c->n)
		qsort(c->v, c->n, sizeof(*c->v), entry_cmp);
	for (size_t i = 1; i < c->n; i++) {
		if (!strcmp(c->v[i].name, c->v[i - 1].name)) {
			char alt[80];
			snprintf(alt, sizeof(alt), "%.60s-%.12s", c->v[i].name, c->v[i].id);
			snprintf(c->v[i].name, sizeof(c->v[i].name), "%s", alt);
		}
	}
}

static void collect_free(struct collect *c)
{
	for (size_t i = 0; i < c->n; i++)
		host_put(c->v[i].h);
	free(c->v);
}

struct host *swarm_lookup(struct fleet *f, const char *name, char *id, size_t idlen)
{
	struct collect c;
	struct host *h = NULL;

	collect(f, &c);
	for (size_t i = 0; i < c.n && !h; i++) {
		if (!strcmp(c.v[i].name, name) || !strcmp(c.v[i].id, name)) {
			h = c.v[i].h;
			atomic_fetch_add(&h->refs, 1);
			if (id)
				snprintf(id, idlen, "%s", c.v[i].id);
		}
	}
	collect_free(&c);
	return h;
}

void swarm_foreach(struct fleet *f, void (*cb)(const char *name, struct host *h, void *arg),
		   void *arg)
{
	struct collect c;

	collect(f, &c);
	for (size_t i = 0; i < c.n; i++)
		cb(c.v[i].name, c.v[i].h, arg);
	collect_free(&c);
}

struct node_host {
	const char *node_id;
	struct host *found;
};

static void node_host_cb(struct host *h, void *arg)
{
	struct node_host *nh = arg;
	const char *id;

	if (nh->found)
		return;
	pthread_rwlock_rdlock(&h->lock);
	id = swarm_str(h->info, "Swarm.NodeID");
	if (id && *id && !strcmp(id, nh->node_id)) {
		atomic_fetch_add(&h->refs, 1);
		nh->found = h;
	}
	pthread_rwlock_unlock(&h->lock);
}

struct host *swarm_node_host(struct fleet *f, const char *node_id)
{
	struct node_host nh = { node_id, NULL };

	fleet_foreach_host(f, node_host_cb, &nh);
	return nh.found;
}

struct of_host {
	const char *node_id;
	char *name;
	size_t len;
};

static void of_host_cb(const char *name, struct host *m, void *arg)
{
	struct of_host *o = arg;
	json_t *n;
	size_t i;

	if (o->name[0])
		return;
	pthread_rwlock_rdlock(&m->lock);
	json_array_foreach(m->swarm ? m->swarm->nodes : NULL, i, n) {
		if (!strcmp(swarm_str(n, "ID") ?: "", o->node_id)) {
			snprintf(o->name, o->len, "%s", name);
			break;
		}
	}
	pthread_rwlock_unlock(&m->lock);
}

void swarm_of_host(struct host *h, char *name, size_t len)
{
	char node_id[80];

	name[0] = '\0';
	pthread_rwlock_rdlock(&h->lock);
	snprintf(node_id, sizeof(node_id), "%s", swarm_str(h->info, "Swarm.NodeID") ?: "");
	pthread_rwlock_unlock(&h->lock);
	if (!node_id[0])
		return;
	struct of_host o = { node_id, name, len };
	swarm_foreach(h->fleet, of_host_cb, &o);
}

json_t *swarm_find(json_t *list, const char *name_path, const char *key)
{
	json_t *o, *prefix = NULL;
	size_t i, klen = strlen(key);
	int matches = 0;

	json_array_foreach(list, i, o) {
		const char *name = swarm_str(o, name_path);
		const char *id = swarm_str(o, "ID") ?: swarm_str(o, "Id");
		if ((name && !strcmp(name, key)) || (id && !strcmp(id, key)))
			return o;
		if (id && klen >= 4 && !strncmp(id, key, klen)) {
			prefix = o;
			matches++;
		}
	}
	return matches == 1 ? prefix : NULL;
}

bool swarm_task_file(struct swarm_cache *s, json_t *task, const char **service, char *file,
		     size_t len)
{
	json_t *svc = swarm_find(s->services, "Spec.Name", swarm_str(task, "ServiceID") ?: "");
	json_t *slot = json_object_get(task, "Slot");

	if (!svc)
		return false;
	*service = swarm_str(svc, "Spec.Name");
	if (json_integer_value(slot) > 0)
		snprintf(file, len, "%lld", (long long)json_integer_value(slot));
	else
		snprintf(file, len, "%s", swarm_str(task, "ID") ?: "");
	return *service != NULL;
}

static bool wants_run(json_t *task)
{
	const char *d = swarm_str(task, "DesiredState") ?: "";

	return strcmp(d, "shutdown") && strcmp(d, "remove");
}

bool swarm_task_current(struct swarm_cache *s, json_t *task)
{
	json_t *slot = json_object_get(task, "Slot"), *t;
	const char *svc = swarm_str(task, "ServiceID") ?: "";
	size_t i;

	if (json_integer_value(slot) <= 0)
		return wants_run(task);
	json_array_foreach(s->tasks, i, t) {
		if (t == task || strcmp(swarm_str(t, "ServiceID") ?: "", svc) ||
		    json_integer_value(json_object_get(t, "Slot")) != json_integer_value(slot))
			continue;
		if (wants_run(t) != wants_run(task)) {
			if (wants_run(t))
				return false;
			continue;
		}
		if (strcmp(swarm_str(t, "CreatedAt") ?: "", swarm_str(task, "CreatedAt") ?: "") > 0)
			return false;
	}
	return true;
}

/* ---- names pending their first write, networks just removed --------------- */

static pthread_mutex_t pending_lock = PTHREAD_MUTEX_INITIALIZER;
static struct map pending = MAP_INIT;

struct pending_name {
	time_t expires;
	char key[];
};

static void expire_cb(const char *k, void *v, void *arg)
{
	struct pending_name *p = v;
	struct pending_name **gone = arg;

	if (!*gone && p->expires < time(NULL))
		*gone = p;
}

static void remember(const char *key, int seconds)
{
	struct pending_name *p = malloc(sizeof(*p) + strlen(key) + 1), *gone;

	if (!p)
		abort();
	strcpy(p->key, key);
	p->expires = time(NULL) + seconds;
	pthread_mutex_lock(&pending_lock);
	do {
		gone = NULL;
		map_foreach(&pending, expire_cb, &gone);
		if (gone)
			free(map_del(&pending, gone->key));
	} while (gone);
	free(map_put(&pending, p->key, p));
	pthread_mutex_unlock(&pending_lock);
}

void swarm_pending_add(const char *key)
{
	remember(key, PENDING_SECONDS);
}

bool swarm_pending_has(const char *key)
{
	pthread_mutex_lock(&pending_lock);
	struct pending_name *p = map_get(&pending, key);
	bool has = p && p->expires >= time(NULL);
	pthread_mutex_unlock(&pending_lock);
	return has;
}

void swarm_pending_del(const char *key)
{
	pthread_mutex_lock(&pending_lock);
	free(map_del(&pending, key));
	pthread_mutex_unlock(&pending_lock);
}

/* Network ids are never reused, so a remembered one hides no other. */
static void removed_network_key(const char *id, char *key, size_t len)
{
	snprintf(key, len, "network-removed:%s", id);
}

void swarm_network_removed(const char *id)
{
	char key[128];

	removed_network_key(id, key, sizeof(key));
	remember(key, REMOVED_NETWORK_SECONDS);
}

static bool network_removed(const char *id)
{
	char key[128];

	removed_network_key(id, key, sizeof(key));
	return swarm_pending_has(key);
}
