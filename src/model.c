/* model.c - the fleet, and per host an informer over the Docker API.
 *
 * Worker loop of a host (one thread each):
 *
 *   connect:  /version (negotiate), /info, start GET /events, list all kinds
 *   loop:     read events -> mark objects dirty -> re-inspect / re-list them
 *             every health_interval: /_ping and /info
 *             every resync_interval: list everything again and reconcile
 *   on error: mark unhealthy (model kept, marked stale), back off, reconnect
 *
 * Events are treated as "this object changed": the object is fetched again
 * rather than patched from the event, so the order of events and a lost
 * event cannot corrupt the model (the resync catches the latter).
 */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "clock.h"
#include "container_list.h"
#include "dirlist.h"
#include "format.h"
#include "log.h"
#include "model.h"
#include "swarm.h"
#include "names.h"
#include "store.h"

#define PING_TIMEOUT_MS   5000L
#define LIST_TIMEOUT_MS   30000L
#define BACKOFF_MIN_MS    250
#define BACKOFF_MAX_MS    5000
#define DETAIL_BATCH      64     /* inspects before the other lists get their turn */
/* The worker's inspect of one container: an engine answers one in
 * milliseconds unless the container is busy (the engine holds its lock
 * through a start) or hung (a stuck runc); past this the worker moves on
 * (slow objects, worker_refresh), and the next event that names the
 * container tries it again at once. */
#define WORKER_INSPECT_MS 5000L
#define SLOW_RETRY_MIN_MS 5000L
#define SLOW_RETRY_MAX_MS 300000L
/* How long a fresh mount's reader waits for a host's first container list:
 * for an engine that has not answered yet (a dead one costs this much),
 * and for one that has and is listing. */
#define FIRST_ANSWER_WAIT_MS 1000L
#define FIRST_LIST_WAIT_MS   5000L
/* How far back a new event stream may start to give readers of the events
 * files what a lost one missed (informer_start_events). */
#define EVENTS_REPLAY_MAX_S  300
#define EVENTS_SEEN          1024   /* events remembered to drop a replay's repeats */

struct fleet {
	pthread_rwlock_t lock;   /* guards hosts */
	struct map hosts;        /* name -> struct host */
	struct store *store;
	struct fleet_options opt;

	/* The hosts on their way to a first container list (host->first_list),
	 * counted by state; first_cond is broadcast on every change. */
	pthread_mutex_t first_lock;
	pthread_cond_t first_cond;
	int first_answer;        /* FIRST_LIST_CONNECTING */
	int first_listing;       /* FIRST_LIST_LISTING */
	/* An M/containers listing was answered before every first list had
	 * come (one gave up waiting). */
	bool view_answered_unlisted;
	struct timespec started;
};

static const char *const object_list_path[OBJ_KINDS] = {
	[OBJ_IMAGE] = "/images/json",
	[OBJ_NETWORK] = "/networks",
	[OBJ_VOLUME] = "/volumes",
};

/* ---- observers ----------------------------------------------------------- */

#define MAX_OBSERVERS 4
static struct model_observer observers[MAX_OBSERVERS];
static int nobservers;

void model_observe(const struct model_observer *o)
{
	if (nobservers < MAX_OBSERVERS)
		observers[nobservers++] = *o;
}

static void observe_event(struct host *h, json_t *ev)
{
	for (int i = 0; i < nobservers; i++)
		if (observers[i].event)
			observers[i].event(h, ev, observers[i].arg);
}

static void observe_container(struct host *h, const char *name, enum change c)
{
	for (int i = 0; i < nobservers; i++)
		if (observers[i].container)
			observers[i].container(h, name, c, observers[i].arg);
}

static void observe_object(struct host *h, enum object_kind k, const char *name, enum change c)
{
	for (int i = 0; i < nobservers; i++)
		if (observers[i].object)
			observers[i].object(h, k, name, c, observers[i].arg);
}

void model_observe_swarm(struct host *h, const struct swarm_cache *before,
			 const struct swarm_cache *after)
{
	for (int i = 0; i < nobservers; i++)
		if (observers[i].swarm)
			observers[i].swarm(h, before, after, observers[i].arg);
}

static void observe_host(struct host *h)
{
	for (int i = 0; i < nobservers; i++)
		if (observers[i].host)
			observers[i].host(h, observers[i].arg);
}

const char *host_health_name(enum host_health h)
{
	switch (h) {
	case HOST_HEALTHY:
		return "healthy";
	case HOST_UNHEALTHY:
		return "unhealthy";
	case HOST_PENDING:
		break;
	}
	return "pending";
}

static void now_ts(struct timespec *ts)
{
	clock_gettime(CLOCK_REALTIME, ts);
}

static char *xstrdup(const char *s)
{
	char *p = strdup(s ? s : "");

	if (!p)
		abort();
	return p;
}

/* ---- containers ------------------------------------------------------ */

static void set_labels(struct container *c, json_t *labels)
{
	struct buf b = BUF_INIT;
	const char *k;
	json_t *v;

	json_object_foreach(labels, k, v) {
		const char *s = json_string_value(v);
		buf_append(&b, k, strlen(k) + 1);
		buf_append(&b, s ? s : "", strlen(s ? s : "") + 1);
	}
	free(c->labels);
	c->labels_len = b.len;
	c->labels = buf_steal(&b);
}

const char *container_label(const struct container *c, const char *key)
{
	const char *p = c->labels, *end = c->labels + c->labels_len;

	while (p < end) {
		const char *v = p + strlen(p) + 1;
		if (strcmp(p, key) == 0)
			return v;
		p = v + strlen(v) + 1;
	}
	return NULL;
}

static void set_str(char **dst, const char *s)
{
	free(*dst);
	*dst = xstrdup(s);
}

static void update_changed(struct container *c)
{
	c->changed_ts = c->created_ts;
	if (c->cs.started > c->changed_ts.tv_sec)
		c->changed_ts = (struct timespec){ c->cs.started, 0 };
	if (c->cs.finished > c->changed_ts.tv_sec)
		c->changed_ts = (struct timespec){ c->cs.finished, 0 };
}

void container_summary_done(struct container *c)
{
	const char *state = c->state;
	char created[64];
	struct tm tm;

	gmtime_r(&c->created_ts.tv_sec, &tm);
	strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", &tm);
	set_str(&c->created, created);
	c->cs.running = !strcmp(state, "running") || !strcmp(state, "paused") ||
			!strcmp(state, "restarting");
	c->cs.paused = !strcmp(state, "paused");
	c->cs.restarting = !strcmp(state, "restarting");
	c->cs.dead = !strcmp(state, "dead");
	c->cs.removing = !strcmp(state, "removing");
	if (!c->image)
		c->image = xstrdup("");
	if (!c->ports)
		c->ports = xstrdup("");
	c->detailed = false;
	update_changed(c);
}

void container_from_inspect(struct container *c, json_t *j)
{
	json_t *st = json_object_get(j, "State");
	json_t *cfg = json_object_get(j, "Config");
	const char *name = json_string_value(json_object_get(j, "Name"));
	const char *health = json_string_value(json_object_get(json_object_get(st, "Health"), "Status"));
	struct timespec ts;
	struct buf ports = BUF_INIT;

	snprintf(c->id, sizeof(c->id), "%s", json_string_value(json_object_get(j, "Id")) ?: "");
	snprintf(c->name, sizeof(c->name), "%s", name ? name + (name[0] == '/') : c->id);
	snprintf(c->state, sizeof(c->state), "%s",
		 json_string_value(json_object_get(st, "Status")) ?: "");
	snprintf(c->health, sizeof(c->health), "%s", health && strcmp(health, "none") ? health : "");
	set_str(&c->image, json_string_value(json_object_get(cfg, "Image")));
	set_str(&c->created, json_string_value(json_object_get(j, "Created")));
	format_parse_time(c->created, &c->created_ts);
	c->cs.running = json_is_true(json_object_get(st, "Running"));
	c->cs.paused = json_is_true(json_object_get(st, "Paused"));
	c->cs.restarting = json_is_true(json_object_get(st, "Restarting"));
	c->cs.dead = json_is_true(json_object_get(st, "Dead"));
	c->cs.removing = !strcmp(c->state, "removing");
	c->cs.exit_code = (int)json_integer_value(json_object_get(st, "ExitCode"));
	format_parse_time(json_string_value(json_object_get(st, "StartedAt")), &ts);
	c->cs.started = ts.tv_sec;
	format_parse_time(json_string_value(json_object_get(st, "FinishedAt")), &ts);
	c->cs.finished = ts.tv_sec;
	c->cs.health = c->health[0] ? c->health : NULL;
	c->pid = (int)json_integer_value(json_object_get(st, "Pid"));
	c->tty = json_is_true(json_object_get(cfg, "Tty"));
	set_labels(c, json_object_get(cfg, "Labels"));
	format_ports(json_object_get(json_object_get(j, "NetworkSettings"), "Ports"), &ports);
	free(c->ports);
	c->ports = buf_steal(&ports);
	c->detailed = true;
	update_changed(c);
}

void container_free(struct container *c)
{
	if (!c)
		return;
	free(c->image);
	free(c->created);
	free(c->ports);
	free(c->labels);
	free(c);
}

struct prefix_search {
	const char *prefix;
	void *found;
	int matches;
};

static void match_container_prefix(const char *id, void *v, void *arg)
{
	struct prefix_search *ps = arg;

	if (name_id_prefix(ps->prefix, id)) {
		ps->found = v;
		ps->matches++;
	}
}

struct container *host_container_find(struct host *h, const char *key)
{
	struct container *c = map_get(&h->container_names, key);

	if (!c)
		c = map_get(&h->containers, key);
	if (!c) {
		struct prefix_search ps = { key, NULL, 0 };

		map_foreach(&h->containers, match_container_prefix, &ps);
		if (ps.matches == 1)
			c = ps.found;
	}
	return c;
}

static void match_object_prefix(const char *name, void *v, void *arg)
{
	struct prefix_search *ps = arg;
	struct object *o = v;
	const char *id = o->id;

	/* Image ids are "sha256:<hex>"; a short id is the hex part's prefix. */
	if (strncmp(id, "sha256:", 7) == 0)
		id += 7;
	if (name_id_prefix(ps->prefix, id) || strcmp(ps->prefix, o->id) == 0) {
		/* Several tags of one image count as one match. */
		if (!ps->found) {
			ps->found = v;
			ps->matches = 1;
		} else if (strcmp(((struct object *)ps->found)->id, o->id) != 0) {
			ps->matches++;
		}
	}
}

struct object *host_object_find(struct host *h, enum object_kind kind, const char *name)
{
	struct object *o = map_get(&h->objects[kind], name);

	if (!o) {
		struct prefix_search ps = { name, NULL, 0 };

		map_foreach(&h->objects[kind], match_object_prefix, &ps);
		if (ps.matches == 1)
			o = ps.found;
	}
	return o;
}

/* ---- images, networks, volumes --------------------------------------- */

static void object_free(struct object *o)
{
	if (!o)
		return;
	free(o->name);
	free(o->id);
	json_decref(o->summary);
	free(o);
}

static struct object *object_new(const char *name, const char *id, json_t *summary)
{
	char file[NAME_MAX_ESCAPED];
	struct object *o;

	if (name_escape(name, file, sizeof(file)) < 0)
		return NULL;
	o = calloc(1, sizeof(*o));
	if (!o)
		abort();
	o->name = xstrdup(file);
	o->id = xstrdup(id);
	o->summary = json_incref(summary);
	return o;
}

static void put_object(struct map *m, struct object *o)
{
	if (!o)
		return;
	object_free(map_put(m, o->name, o));
}

/* Builds the name -> object map of one kind from its list reply. */
static void objects_from_list(enum object_kind kind, json_t *list, struct map *m)
{
	size_t i;
	json_t *e;

	if (kind == OBJ_VOLUME)
		list = json_object_get(list, "Volumes");
	json_array_foreach(list, i, e) {
		const char *id = json_string_value(json_object_get(e, kind == OBJ_VOLUME ? "Name" : "Id"));
		struct timespec ts = { 0, 0 };

		if (!id)
			continue;
		if (kind == OBJ_IMAGE) {
			json_t *tags = json_object_get(e, "RepoTags");
			size_t ti;
			json_t *t;
			bool named = false;

			ts.tv_sec = (time_t)json_integer_value(json_object_get(e, "Created"));
			json_array_foreach(tags, ti, t) {
				const char *tag = json_string_value(t);
				if (!tag || strcmp(tag, "<none>:<none>") == 0)
					continue;
				struct object *o = object_new(tag, id, e);
				if (o)
					o->created_ts = ts;
				put_object(m, o);
				named = true;
			}
			if (!named) {
				/* Untagged: by short id, as `docker images` shows it. */
				char shortid[13];
				const char *hex = strncmp(id, "sha256:", 7) ? id : id + 7;
				snprintf(shortid, sizeof(shortid), "%s", hex);
				struct object *o = object_new(shortid, id, e);
				if (o)
					o->created_ts = ts;
				put_object(m, o);
			}
			continue;
		}
		const char *name = json_string_value(json_object_get(e, "Name"));
		const char *created = json_string_value(json_object_get(e, kind == OBJ_VOLUME ? "CreatedAt" : "Created"));
		format_parse_time(created, &ts);
		struct object *o = object_new(name ? name : id, id, e);
		if (!o)
			continue;
		o->created_ts = ts;
		if (map_get(m, o->name)) {
			/* Two networks may share a name (swarm scopes): the
			 * second goes by name@shortid. */
			char alt[NAME_MAX_ESCAPED];
			snprintf(alt, sizeof(alt), "%.200s@%.12s", o->name, id);
			set_str(&o->name, alt);
		}
		put_object(m, o);
	}
}

static void free_object_cb(const char *k, void *v, void *arg)
{
	object_free(v);
}

static void objects_clear(struct map *m)
{
	map_foreach(m, free_object_cb, NULL);
	map_clear(m);
}

/* ---- host lifecycle ---------------------------------------------------- */

static struct host *host_new(struct fleet *f, const char *name, const char *url)
{
	struct host *h = calloc(1, sizeof(*h));

	if (!h)
		abort();
	snprintf(h->name, sizeof(h->name), "%s", name);
	atomic_init(&h->refs, 1);
	h->fleet = f;
	pthread_rwlock_init(&h->lock, NULL);
	pthread_mutex_init(&h->ctl_lock, NULL);
	for (int i = 0; i < HOST_REFRESH_LOCKS; i++)
		pthread_mutex_init(&h->refresh_lock[i], NULL);
	pthread_mutex_init(&h->swarm_refresh_lock, NULL);
	for (int k = 0; k < OBJ_KINDS; k++)
		pthread_mutex_init(&h->list_lock[k], NULL);
	pthread_mutex_init(&h->setup_lock, NULL);
	pthread_cond_init(&h->ctl_cond, NULL);
	if (!url) {
		h->last_error = xstrdup("no url yet: write one to url");
	} else if (conn_new(name, url, &h->conn) < 0) {
		h->conn = NULL;
		h->health = HOST_UNHEALTHY;
		h->last_error = xstrdup("invalid url");
	}
	snprintf(h->host_type, sizeof(h->host_type), "unknown"); /* until /info says */
	return h;
}

static void free_container_cb(const char *k, void *v, void *arg)
{
	container_free(v);
}

static void host_destroy(struct host *h)
{
	map_foreach(&h->containers, free_container_cb, NULL);
	map_clear(&h->containers);
	map_clear(&h->container_names);
	for (int k = 0; k < OBJ_KINDS; k++)
		objects_clear(&h->objects[k]);
	conn_unref(h->conn);
	free(h->description);
	free(h->last_error);
	free(h->call_error);
	json_decref(h->version);
	json_decref(h->info);
	swarm_cache_free(h->swarm);
	pthread_rwlock_destroy(&h->lock);
	pthread_mutex_destroy(&h->ctl_lock);
	for (int i = 0; i < HOST_REFRESH_LOCKS; i++)
		pthread_mutex_destroy(&h->refresh_lock[i]);
	pthread_mutex_destroy(&h->swarm_refresh_lock);
	for (int k = 0; k < OBJ_KINDS; k++)
		pthread_mutex_destroy(&h->list_lock[k]);
	pthread_mutex_destroy(&h->setup_lock);
	setup_creds_free(h->setup_creds);
	pthread_cond_destroy(&h->ctl_cond);
	free(h);
}

void setup_creds_free(struct setup_cred *c)
{
	while (c) {
		struct setup_cred *next = c->next;

		secret_free(&c->value);
		free(c->metadata);
		free(c);
		c = next;
	}
}

static bool has_cred(struct host *h, const char *type)
{
	struct store_cred rec;

	if (store_cred_get(h->fleet->store, h->name, type, &rec))
		return false;
	store_cred_free_fields(&rec);
	return true;
}

bool host_setup_missing(struct host *h, char *out, size_t len)
{
	enum conn_kind kind;
	bool insecure;

	pthread_rwlock_rdlock(&h->lock);
	bool has_url = h->conn != NULL;
	kind = has_url ? h->conn->kind : CONN_UNIX;
	insecure = h->insecure;
	pthread_rwlock_unlock(&h->lock);
	if (!has_url) {
		snprintf(out, len, "no url yet: write one to url");
		return true;
	}
	if (kind == CONN_TCP && !insecure) {
		bool ca = has_cred(h, "tls/ca"), cert = has_cred(h, "tls/cert"),
		     key = has_cred(h, "tls/key");

		/* tls/ca alone is TLS that checks the engine without a client
		 * certificate (an engine that asks for none); a certificate
		 * without its key, or a key without its certificate, is half
		 * a client certificate. */
		if (ca && cert == key)
			return false;
		snprintf(out, len, "tcp needs tls/ca, tls/cert and tls/key in hosts/%s/tls/ (or "
			 "insecure set to 1 for plain tcp): missing%s%s%s", h->name,
			 ca ? "" : " tls/ca", cert ? "" : " tls/cert", key ? "" : " tls/key");
		return true;
	}
	if (kind == CONN_SSH) {
		bool kh = has_cred(h, "ssh/known_hosts"),
		     auth = has_cred(h, "ssh/key") || has_cred(h, "ssh/password");

		if (kh && auth)
			return false;
		snprintf(out, len, "ssh needs ssh/known_hosts and ssh/key or ssh/password in "
			 "hosts/%s/ssh/: missing%s%s", h->name, kh ? "" : " ssh/known_hosts",
			 auth ? "" : " ssh/key (or ssh/password)");
		return true;
	}
	return false;
}

void host_put(struct host *h)
{
	if (h && atomic_fetch_sub(&h->refs, 1) == 1)
		host_destroy(h);
}

static struct host *host_get(struct host *h)
{
	atomic_fetch_add(&h->refs, 1);
	return h;
}

/* Also when the daemon ends: its calls then fail EINTR (docker_cancel_all)
 * before the host is stopped, and that says nothing of the engine (the
 * registry kept "unhealthy" from a clean exit once). */
static bool host_stopping(void *arg)
{
	struct host *h = arg;
	bool stop;

	if (docker_cancelled())
		return true;
	pthread_mutex_lock(&h->ctl_lock);
	stop = h->stop || h->reconnect;
	pthread_mutex_unlock(&h->ctl_lock);
	return stop;
}

/* Wakes the worker from a sleep or from waiting on the event stream. */
static void host_wake(struct host *h)
{
	pthread_mutex_lock(&h->ctl_lock);
	pthread_cond_broadcast(&h->ctl_cond);
	if (h->multi)
		curl_multi_wakeup(h->multi);
	pthread_mutex_unlock(&h->ctl_lock);
	/* and from the wait for the fleet's first lists */
	pthread_mutex_lock(&h->fleet->first_lock);
	pthread_cond_broadcast(&h->fleet->first_cond);
	pthread_mutex_unlock(&h->fleet->first_lock);
}

/* from + ms, for pthread_cond_timedwait (CLOCK_REALTIME). */
static struct timespec ts_after(struct timespec from, long ms)
{
	from.tv_sec += ms / 1000;
	from.tv_nsec += (ms % 1000) * 1000000L;
	if (from.tv_nsec >= 1000000000L) {
		from.tv_sec++;
		from.tv_nsec -= 1000000000L;
	}
	return from;
}

/* Sleeps up to ms, or until stopped/reconnect.  Returns true if stopping. */
static bool host_sleep(struct host *h, long ms)
{
	struct timespec until;
	bool stop;

	now_ts(&until);
	until = ts_after(until, ms);
	pthread_mutex_lock(&h->ctl_lock);
	while (!h->stop && !h->reconnect &&
	       pthread_cond_timedwait(&h->ctl_cond, &h->ctl_lock, &until) == 0)
		;
	stop = h->stop;
	pthread_mutex_unlock(&h->ctl_lock);
	return stop;
}

/* ---- first lists --------------------------------------------------------- */

static bool ts_before(struct timespec a, struct timespec b)
{
	return a.tv_sec < b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec < b.tv_nsec);
}

static void set_first_list(struct host *h, enum first_list state)
{
	struct fleet *f = h->fleet;

	pthread_mutex_lock(&f->first_lock);
	f->first_answer -= h->first_list == FIRST_LIST_CONNECTING;
	f->first_listing -= h->first_list == FIRST_LIST_LISTING;
	h->first_list = state;
	if (state == FIRST_LIST_DONE)
		h->starting = false;
	f->first_answer += state == FIRST_LIST_CONNECTING;
	f->first_listing += state == FIRST_LIST_LISTING;
	pthread_cond_broadcast(&f->first_cond);
	pthread_mutex_unlock(&f->first_lock);
}

/* Whether one who came at since still waits, given how many engines are
 * yet to answer and how many are listing; *until is when to look again
 * (any change wakes the waiters before). */
static bool first_awaited(int answer, int listing, struct timespec since,
			  struct timespec *until)
{
	struct timespec now;

	now_ts(&now);
	*until = ts_after(since, FIRST_LIST_WAIT_MS);
	if (listing && ts_before(now, *until))
		return true;
	*until = ts_after(since, FIRST_ANSWER_WAIT_MS);
	return answer && ts_before(now, *until);
}

void host_wait_listed(struct host *h)
{
	struct fleet *f = h->fleet;
	struct timespec since, until;

	now_ts(&since);
	pthread_mutex_lock(&f->first_lock);
	while (first_awaited(h->first_list == FIRST_LIST_CONNECTING,
			     h->first_list == FIRST_LIST_LISTING, since, &until))
		pthread_cond_timedwait(&f->first_cond, &f->first_lock, &until);
	if (h->first_list != FIRST_LIST_DONE)
		h->answered_unlisted = true;
	pthread_mutex_unlock(&f->first_lock);
}

void fleet_wait_listed(struct fleet *f)
{
	struct timespec since, until;

	now_ts(&since);
	pthread_mutex_lock(&f->first_lock);
	while (first_awaited(f->first_answer, f->first_listing, since, &until))
		pthread_cond_timedwait(&f->first_cond, &f->first_lock, &until);
	if (f->first_answer || f->first_listing)
		f->view_answered_unlisted = true;
	pthread_mutex_unlock(&f->first_lock);
}

/* Whether the containers of the list h is adopting are what the mount
 * starts with rather than news: the first list of a host the mount started
 * with, every reader of its directories held until it came (none gave up
 * waiting).  Their appearing is then no creation to announce, and telling
 * inotify of each would cost a fresh mount's first `ls` a round trip
 * through the mount per container.  A host added or pointed elsewhere
 * later brings news. */
static bool starting_content(struct host *h)
{
	struct fleet *f = h->fleet;

	pthread_mutex_lock(&f->first_lock);
	bool starting = h->starting && h->first_list == FIRST_LIST_LISTING &&
			!h->answered_unlisted && !f->view_answered_unlisted;
	pthread_mutex_unlock(&f->first_lock);
	return starting;
}

/* A worker that has its first list waits, as the readers would, for the
 * other hosts' before asking its engine anything else: the engines of a
 * fleet often share machines, and /info, /version and the other lists
 * would slow the container lists still under way. */
static void wait_fleet_listed(struct host *h)
{
	struct fleet *f = h->fleet;
	struct timespec until;

	pthread_mutex_lock(&f->first_lock);
	while (!host_stopping(h) &&
	       first_awaited(f->first_answer, f->first_listing, f->started, &until))
		pthread_cond_timedwait(&f->first_cond, &f->first_lock, &until);
	pthread_mutex_unlock(&f->first_lock);
}

/* Takes a counted reference to h's conn so a call can run unlocked while
 * the url changes under it. */
static struct conn *host_conn_get(struct host *h, char *api, size_t apilen)
{
	struct conn *c = NULL;

	pthread_rwlock_rdlock(&h->lock);
	if (h->conn)
		c = conn_ref(h->conn);
	if (api)
		snprintf(api, apilen, "%s", h->api[0] ? h->api : DOCKER_API_MIN);
	pthread_rwlock_unlock(&h->lock);
	return c;
}

/* A call to h's engine in the negotiated API version, however h is doing. */
static int engine_call_any(struct host *h, struct docker_call *call, struct docker_reply *reply)
{
	char api[16];
	struct conn *c = host_conn_get(h, api, sizeof(api));
	int err;

	if (!c) {
		memset(reply, 0, sizeof(*reply));
		snprintf(reply->message, sizeof(reply->message), "host %s has no valid url", h->name);
		return -EHOSTDOWN;
	}
	if (!call->api)
		call->api = api;
	atomic_fetch_add(&h->calls_active, 1);
	long t0 = mono_ms();
	err = docker_call(c, call, reply);
	atomic_fetch_add(&h->calls_ms, mono_ms() - t0);
	atomic_fetch_add(&h->calls_total, 1);
	atomic_fetch_sub(&h->calls_active, 1);
	/* Failed: no answer, or the engine failing (not a 404 or a 409). */
	if (err && (reply->status == 0 || reply->status >= 500)) {
		atomic_fetch_add(&h->calls_failed, 1);
		pthread_rwlock_wrlock(&h->lock);
		set_str(&h->call_error, reply->message);
		h->call_error_at = time(NULL);
		pthread_rwlock_unlock(&h->lock);
	}
	if (call->api == api)
		call->api = NULL;
	conn_unref(c);
	return err;
}


/* The same, except that a caller (not the worker, which is the one that
 * retries) is not made to wait out a deadline on a host known to be away:
 * whatever the call, an action's or the re-inspect that settles it. */
static int engine_call(struct host *h, struct docker_call *call, struct docker_reply *reply)
{
	if (docker_budget_user()) {
		bool away;

		pthread_rwlock_rdlock(&h->lock);
		away = h->health == HOST_UNHEALTHY;
		if (away) {
			memset(reply, 0, sizeof(*reply));
			snprintf(reply->message, sizeof(reply->message),
				 "host %s is unhealthy: %s", h->name,
				 h->last_error ? h->last_error : "");
		}
		pthread_rwlock_unlock(&h->lock);
		if (away)
			return -EHOSTDOWN;
	}
	return engine_call_any(h, call, reply);
}

void host_stats_show(struct host *h, struct buf *out)
{
	long long total = atomic_load(&h->calls_total);
	char when[64] = "";

	buf_printf(out, "active_connections: %d\n", atomic_load(&h->calls_active));
	buf_printf(out, "total_requests: %lld\n", total);
	buf_printf(out, "failed_requests: %lld\n", (long long)atomic_load(&h->calls_failed));
	buf_printf(out, "avg_response_ms: %.1f\n",
		   total ? (double)atomic_load(&h->calls_ms) / (double)total : 0.0);
	pthread_rwlock_rdlock(&h->lock);
	if (h->call_error_at) {
		struct tm tm;
		gmtime_r(&h->call_error_at, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	}
	buf_printf(out, "last_error: %s\n", h->call_error ? h->call_error : "");
	buf_printf(out, "last_error_at: %s\n", when);
	pthread_rwlock_unlock(&h->lock);
}

/* One host_connection_stats row (each health check). */
static void stats_persist(struct host *h)
{
	long long total = atomic_load(&h->calls_total);
	struct store_conn_stats s = {
		.active_connections = atomic_load(&h->calls_active),
		.total_connections = total,
		.failed_connections = atomic_load(&h->calls_failed),
		.avg_response_time_ms = total ? (double)atomic_load(&h->calls_ms) / (double)total : 0,
	};
	char *err = NULL;

	pthread_rwlock_rdlock(&h->lock);
	err = h->call_error ? xstrdup(h->call_error) : NULL;
	s.last_error_at = h->call_error_at;
	pthread_rwlock_unlock(&h->lock);
	s.last_error = err;
	store_conn_stats_add(h->fleet->store, h->name, &s);
	free(err);
}

int host_call(struct host *h, struct docker_call *call, struct docker_reply *reply)
{
	bool away;

	/* A host known to be away fails at once instead of making every
	 * reader wait out a deadline; its worker is the one that retries. */
	pthread_rwlock_rdlock(&h->lock);
	away = h->health == HOST_UNHEALTHY || (h->health == HOST_PENDING && h->setup_incomplete);
	if (away) {
		memset(reply, 0, sizeof(*reply));
		snprintf(reply->message, sizeof(reply->message), "host %s is %s: %s", h->name,
			 host_health_name(h->health), h->last_error ? h->last_error : "");
	}
	pthread_rwlock_unlock(&h->lock);
	return away ? -EHOSTDOWN : engine_call(h, call, reply);
}

CURL *host_stream_new(struct host *h, const char *path, curl_write_callback cb, void *arg,
		      struct curl_slist **headers, int *err)
{
	char api[16];
	struct conn *c;
	CURL *easy;

	*headers = NULL;
	pthread_rwlock_rdlock(&h->lock);
	bool away = h->health == HOST_UNHEALTHY ||
		    (h->health == HOST_PENDING && h->setup_incomplete);
	pthread_rwlock_unlock(&h->lock);
	if (away) {
		*err = -EHOSTDOWN;
		return NULL;
	}
	c = host_conn_get(h, api, sizeof(api));
	if (!c) {
		*err = -EHOSTDOWN;
		return NULL;
	}
	easy = docker_stream_new(c, api, path, cb, arg, headers);
	conn_unref(c);
	*err = easy ? 0 : -EIO;
	return easy;
}

int host_fetch_json(struct host *h, const char *path, struct buf *out)
{
	struct docker_call call = { .path = path };
	struct docker_reply r;
	int err = host_call(h, &call, &r);

	if (!err) {
		json_t *j = json_loadb(r.body.data ? r.body.data : "", r.body.len, 0, NULL);
		if (!format_json(j, out))
			err = -EIO;
		json_decref(j);
	}
	docker_reply_free(&r);
	return err;
}

/* The worker's own calls: cancelled when the host stops or reconnects. */
static int worker_call(struct host *h, const char *path, long timeout_ms, json_t **out,
		       char *msg, size_t msglen)
{
	struct docker_call call = {
		.path = path,
		.timeout_ms = timeout_ms,
		.cancelled = host_stopping,
		.cancel_arg = h,
	};
	struct docker_reply r;
	int err = engine_call(h, &call, &r);

	*out = NULL;
	if (!err) {
		json_error_t je;
		*out = json_loadb(r.body.data ? r.body.data : "", r.body.len, 0, &je);
		if (!*out) {
			snprintf(r.message, sizeof(r.message), "bad JSON from %s: %s", path, je.text);
			err = -EIO;
		}
	}
	if (err && msg)
		snprintf(msg, msglen, "%s", r.message);
	docker_reply_free(&r);
	return err;
}

int host_get_json(struct host *h, const char *path, json_t **out, char *msg, size_t msglen)
{
	return worker_call(h, path, LIST_TIMEOUT_MS, out, msg, msglen);
}

static void set_health(struct host *h, enum host_health health, const char *error)
{
	bool changed;
	char type[16];

	pthread_rwlock_wrlock(&h->lock);
	changed = h->health != health ||
		  (error && (!h->last_error || strcmp(error, h->last_error)));
	if (changed)
		now_ts(&h->status_ts);
	h->health = health;
	h->stale = health != HOST_HEALTHY;
	h->last_check = time(NULL);
	free(h->last_error);
	h->last_error = error ? xstrdup(error) : NULL;
	snprintf(type, sizeof(type), "%s", h->host_type);
	pthread_rwlock_unlock(&h->lock);
	if (changed) {
		if (health == HOST_UNHEALTHY)
			log_warn(0, "host %s: unhealthy: %s", h->name, error ? error : "");
		else
			log_info("host %s: %s", h->name, host_health_name(health));
		observe_host(h);
	}
	store_host_set_health(h->fleet->store, h->name, host_health_name(health),
			      NULL, NULL, NULL, NULL, health == HOST_HEALTHY ? type : NULL);
	stats_persist(h);
}

static const char *detect_type(json_t *info)
{
	json_t *swarm = json_object_get(info, "Swarm");
	const char *state = json_string_value(json_object_get(swarm, "LocalNodeState"));

	if (!state || strcmp(state, "active") != 0)
		return "standalone";
	return json_is_true(json_object_get(swarm, "ControlAvailable")) ? "swarm_manager"
									 : "swarm_worker";
}

/* Adopts /info fetched when url_gen was gen (else drops it: another
 * engine's). */
static void apply_info(struct host *h, json_t *info, unsigned gen)
{
	const char *type = detect_type(info);
	bool changed;

	pthread_rwlock_wrlock(&h->lock);
	if (h->url_gen != gen) {
		pthread_rwlock_unlock(&h->lock);
		json_decref(info);
		return;
	}
	json_decref(h->info);
	h->info = info;
	changed = strcmp(h->host_type, type) != 0;
	snprintf(h->host_type, sizeof(h->host_type), "%s", type);
	pthread_rwlock_unlock(&h->lock);
	if (changed)
		observe_host(h);
}

int host_info_refresh(struct host *h)
{
	json_t *info;
	unsigned gen = host_url_gen(h);
	int err = worker_call(h, "/info", PING_TIMEOUT_MS, &info, NULL, 0);

	if (err)
		return err;
	apply_info(h, info, gen);
	pthread_rwlock_wrlock(&h->lock);
	now_ts(&h->status_ts);
	pthread_rwlock_unlock(&h->lock);
	swarm_refresh(h);
	return 0;
}

/* ---- the informer ------------------------------------------------------ */

struct informer {
	struct host *h;
	CURLM *multi;
	CURL *events;
	struct curl_slist *events_hdr;
	struct buf events_buf;   /* bytes of a partial event line */
	struct map dirty;        /* container ids to inspect (key owned) */
	/* Containers whose inspect failed while the engine answered /_ping:
	 * id -> struct slow_object, retried with backoff, never a reason to
	 * call the host unhealthy (one hung object must not take its host's
	 * other objects down with it). */
	struct map slow;
	bool dirty_kind[OBJ_KINDS];
	bool dirty_info;
	bool dirty_swarm;        /* a manager's swarm lists (swarm.h) */
	bool have_version;       /* this session's /version is in */
	time_t engine_date;      /* the engine's clock at this session's /_ping */
	int64_t last_event_ns;   /* the newest timeNano handed on */
	uint64_t seen[EVENTS_SEEN]; /* event_seen(): hashes of the last ones */
	size_t seen_next;
	char *events_url;        /* of the engine it came from (owned) */
};

struct slow_object {
	long retry_at;           /* mono_ms */
	long backoff;
	char id[];
};

static void mark_dirty(struct informer *in, const char *id)
{
	if (!map_get(&in->dirty, id)) {
		char *k = xstrdup(id);
		map_put(&in->dirty, k, k);
	}
}

static void handle_event(struct informer *in, json_t *ev)
{
	const char *type = json_string_value(json_object_get(ev, "Type"));
	const char *action = json_string_value(json_object_get(ev, "Action"));
	json_t *actor = json_object_get(ev, "Actor");
	const char *id = json_string_value(json_object_get(actor, "ID"));
	const char *container = json_string_value(
		json_object_get(json_object_get(actor, "Attributes"), "container"));

	if (!type || !action)
		return;
	/* A manager reports its swarm's objects; task containers tell of
	 * tasks that changed state. */
	if (!strcmp(type, "service") || !strcmp(type, "node") || !strcmp(type, "secret") ||
	    !strcmp(type, "config") || !strcmp(type, "network") ||
	    (!strcmp(type, "container") && json_object_get(json_object_get(actor, "Attributes"),
							   "com.docker.swarm.task.id")))
		in->dirty_swarm = true;
	if (strcmp(type, "container") == 0 && id) {
		/* Exec, attach and friends do not change what we show. */
		if (strncmp(action, "exec_", 5) == 0 || !strcmp(action, "attach") ||
		    !strcmp(action, "resize") || !strcmp(action, "top") ||
		    !strcmp(action, "archive-path") || !strcmp(action, "extract-to-dir") ||
		    !strcmp(action, "export") || !strcmp(action, "copy"))
			return;
		mark_dirty(in, id);
		/* The engine did something with it: a slow one may answer now
		 * (an inspect waits through a start). */
		struct slow_object *so = map_get(&in->slow, id);
		if (so)
			so->retry_at = 0;
	} else if (strcmp(type, "image") == 0) {
		in->dirty_kind[OBJ_IMAGE] = true;
	} else if (strcmp(type, "network") == 0) {
		in->dirty_kind[OBJ_NETWORK] = true;
		if (container)
			mark_dirty(in, container); /* its NetworkSettings changed */
	} else if (strcmp(type, "volume") == 0) {
		in->dirty_kind[OBJ_VOLUME] = true;
	} else if (strcmp(type, "daemon") == 0 || strcmp(type, "node") == 0) {
		in->dirty_info = true;
	}
}

static size_t events_write(char *p, size_t size, size_t n, void *arg)
{
	struct informer *in = arg;
	size_t len = size * n;

	buf_append(&in->events_buf, p, len);
	return len;
}

/* Whether ev was handed on already (and remembers it): the last
 * EVENTS_SEEN events by a hash of their time, type, action and actor.  The
 * engine replays at most its last 256. */
static bool event_seen(struct informer *in, json_t *ev)
{
	const char *parts[3] = {
		json_string_value(json_object_get(ev, "Type")),
		json_string_value(json_object_get(ev, "Action")),
		json_string_value(json_object_get(json_object_get(ev, "Actor"), "ID")),
	};
	uint64_t h = (uint64_t)json_integer_value(json_object_get(ev, "timeNano"));

	if (!h)
		return false;   /* no time: nothing tells a repeat */
	for (int i = 0; i < 3; i++)
		for (const unsigned char *p = (const unsigned char *)(parts[i] ? parts[i] : "");
		     *p; p++)
			h = (h ^ *p) * 1099511628211ULL;
	for (size_t i = 0; i < EVENTS_SEEN; i++)
		if (in->seen[i] == h)
			return true;
	in->seen[in->seen_next++ % EVENTS_SEEN] = h;
	return false;
}

/* Handles every complete line received so far. */
static void drain_events(struct informer *in)
{
	struct buf *b = &in->events_buf;
	size_t start = 0;

	while (start < b->len) {
		char *nl = memchr(b->data + start, '\n', b->len - start);
		if (!nl)
			break;
		json_t *ev = json_loadb(b->data + start, (size_t)(nl - (b->data + start)), 0, NULL);
		if (ev) {
			json_int_t ns = json_integer_value(json_object_get(ev, "timeNano"));

			/* The model may see an event twice (it re-inspects what
			 * events name); the events files' readers may not: a
			 * stream started in the past (informer_start_events)
			 * repeats what an earlier one handed on.  Repeats are
			 * known by the event itself, not by a time older than
			 * the last: the engine stamps an event before it queues
			 * it, so concurrent ones arrive out of time order (a
			 * soak with four churners lost one event in six so). */
			handle_event(in, ev);
			if (ns > in->last_event_ns)
				in->last_event_ns = ns;
			if (!event_seen(in, ev))
				observe_event(in->h, ev);
			json_decref(ev);
		}
		start = (size_t)(nl - b->data) + 1;
	}
	if (start) {
		memmove(b->data, b->data + start, b->len - start);
		b->len -= start;
		b->data[b->len] = '\0';
	}
}

static void index_container(struct host *h, struct container *c)
{
	map_put(&h->containers, c->id, c);
	map_put(&h->container_names, c->name, c);
}

static void unindex_container(struct host *h, struct container *c)
{
	map_del(&h->containers, c->id);
	if (map_get(&h->container_names, c->name) == c)
		map_del(&h->container_names, c->name);
}

/* The stripe of h->refresh_lock for id. */
static pthread_mutex_t *refresh_lock_of(struct host *h, const char *id)
{
	unsigned v = 2166136261u;

	for (const unsigned char *p = (const unsigned char *)id; *p; p++)
		v = (v ^ *p) * 16777619u;
	return &h->refresh_lock[v % HOST_REFRESH_LOCKS];
}

static int refresh_container_locked(struct host *h, const char *id, long timeout_ms);

/* Inspects one container and puts the result (or its absence) in the model.
 * A caller waits for the lock no longer than its budget (-ETIMEDOUT); the
 * worker waits as long as it takes, which is one inspect's deadline. */
static int refresh_container(struct host *h, const char *id, long timeout_ms)
{
	pthread_mutex_t *lock = refresh_lock_of(h, id);
	int err;

	if (docker_budget_user()) {
		struct timespec until = docker_budget_until(DOCKER_DEFAULT_TIMEOUT_MS);

		err = pthread_mutex_timedlock(lock, &until);
		if (err)
			return err == ETIMEDOUT ? -ETIMEDOUT : -err;
	} else {
		pthread_mutex_lock(lock);
	}
	err = refresh_container_locked(h, id, timeout_ms);
	pthread_mutex_unlock(lock);
	return err;
}

static int refresh_container_locked(struct host *h, const char *id, long timeout_ms)
{
	char path[128], msg[256];
	json_t *j;
	int err;

	/* id may come from an event: whatever it holds stays one segment. */
	err = docker_path(path, sizeof(path), "/containers/%s/json", id);
	if (err)
		return err;
	unsigned gen = host_url_gen(h);
	err = worker_call(h, path, timeout_ms, &j, msg, sizeof(msg));
	if (err && err != -ENOENT)
		return err;

	char old_name[256] = "", new_name[256] = "";
	bool updated = false;

	pthread_rwlock_wrlock(&h->lock);
	if (h->url_gen != gen) {
		/* Another engine's answer: the url changed meanwhile. */
		pthread_rwlock_unlock(&h->lock);
		json_decref(j);
		return 0;
	}
	struct container *c = map_get(&h->containers, id);
	if (c)
		snprintf(old_name, sizeof(old_name), "%s", c->name);
	if (err == -ENOENT) {
		if (c) {
			unindex_container(h, c);
			container_free(c);
			now_ts(&h->changed[OBJ_KINDS]);
		}
	} else {
		struct container before = { 0 };

		if (c) {
			before = *c;
			unindex_container(h, c); /* the name may have changed */
		} else {
			c = calloc(1, sizeof(*c));
			if (!c)
				abort();
			now_ts(&h->changed[OBJ_KINDS]);
		}
		container_from_inspect(c, j);
		index_container(h, c);
		snprintf(new_name, sizeof(new_name), "%s", c->name);
		/* What the scalar files show (status text aside, which moves
		 * with the clock).  A first inspect that only confirms what the
		 * list said is no change: touching five files of each of 10k
		 * containers at start costs 50k requests and their inodes. */
		updated = strcmp(before.state, c->state) || strcmp(before.health, c->health) ||
			  before.pid != c->pid || before.cs.exit_code != c->cs.exit_code ||
			  before.cs.started != c->cs.started || before.cs.finished != c->cs.finished;
		if (old_name[0] && strcmp(old_name, new_name))
			now_ts(&h->changed[OBJ_KINDS]);
	}
	pthread_rwlock_unlock(&h->lock);
	json_decref(j);
	if (old_name[0] && strcmp(old_name, new_name))
		observe_container(h, old_name, CHANGE_REMOVED);
	if (new_name[0] && strcmp(old_name, new_name))
		observe_container(h, new_name, CHANGE_CREATED);
	else if (new_name[0] && updated)
		observe_container(h, new_name, CHANGE_UPDATED);
	return 0;
}

int host_container_refresh(struct host *h, const char *id)
{
	char idcopy[65];

	snprintf(idcopy, sizeof(idcopy), "%s", id);
	return refresh_container(h, idcopy, DOCKER_DEFAULT_TIMEOUT_MS);
}

int host_container_detail(struct host *h, const char *id)
{
	bool detailed;
	char idcopy[65];

	pthread_rwlock_rdlock(&h->lock);
	struct container *c = map_get(&h->containers, id);
	detailed = !c || c->detailed || h->stale;
	snprintf(idcopy, sizeof(idcopy), "%s", id);
	pthread_rwlock_unlock(&h->lock);
	return detailed ? 0 : refresh_container(h, idcopy, DOCKER_DEFAULT_TIMEOUT_MS);
}

struct reconcile {
	struct host *h;
	struct map *seen;      /* id -> summary */
	struct informer *in;
};

static void drop_unseen(const char *id, void *v, void *arg)
{
	struct reconcile *r = arg;

	if (!map_get(r->seen, id))
		mark_dirty(r->in, id); /* inspect will find it gone (404) */
}

/* Lists containers and reconciles: new ones are added from the summary at
 * once (so `ls` shows them) and queued for inspection, with changed and
 * vanished ones. */
static int list_containers(struct informer *in, char *msg, size_t msglen)
{
	struct host *h = in->h;
	struct map seen = MAP_INIT;
	struct container_list list;
	struct dirlist created = { 0 };
	struct docker_call call = {
		.path = "/containers/json?all=1",
		.timeout_ms = LIST_TIMEOUT_MS,
		.cancelled = host_stopping,
		.cancel_arg = h,
		.sink = container_list_feed,
		.sink_arg = &list,
	};
	struct docker_reply r;
	int err;

	container_list_init(&list);
	unsigned gen = host_url_gen(h);
	err = engine_call(h, &call, &r);
	if (!err)
		err = container_list_end(&list);
	if (err) {
		snprintf(msg, msglen, "listing containers: %.400s",
			 list.error[0] ? list.error : r.message);
		goto out;
	}
	bool quiet = starting_content(h);
	pthread_rwlock_wrlock(&h->lock);
	if (h->url_gen != gen) {
		/* The url changed meanwhile: another engine's list. */
		pthread_rwlock_unlock(&h->lock);
		snprintf(msg, msglen, "the url changed");
		err = -EAGAIN;
		goto out;
	}
	for (size_t i = 0; i < list.n; i++) {
		struct container *s = list.v[i];
		struct container *c = map_get(&h->containers, s->id);

		map_put(&seen, s->id, s);
		if (c && c->detailed && strcmp(s->state, c->state) == 0)
			continue;
		if (!c) {
			/* The summary itself joins the model; seen still
			 * points at it until the map is cleared below. */
			index_container(h, s);
			list.v[i] = NULL;
			now_ts(&h->changed[OBJ_KINDS]);
			if (!quiet)
				dirlist_add(&created, s->name, NODE_DIR);
		}
		mark_dirty(in, s->id);
	}
	struct reconcile rc = { h, &seen, in };
	map_foreach(&h->containers, drop_unseen, &rc);
	pthread_rwlock_unlock(&h->lock);
	/* Readers may go before the clean-up below. */
	set_first_list(h, FIRST_LIST_DONE);
	map_clear(&seen);
	for (size_t k = 0; k < created.n; k++)
		observe_container(h, created.v[k].name, CHANGE_CREATED);
	dirlist_free(&created);
out:
	docker_reply_free(&r);
	container_list_free(&list);
	return err;
}

struct names_diff {
	const struct map *other;
	struct dirlist *only;   /* names of this map not in other */
};

static void not_in_other_cb(const char *name, void *v, void *arg)
{
	struct names_diff *nd = arg;

	if (!map_get(nd->other, name))
		dirlist_add(nd->only, name, NODE_DIR);
}

/* The names in a and not in b. */
static void names_only_in(const struct map *a, const struct map *b, struct dirlist *out)
{
	struct names_diff nd = { b, out };

	map_foreach(a, not_in_other_cb, &nd);
}

static int list_objects_locked(struct host *h, enum object_kind kind)
{
	struct map fresh = MAP_INIT, old;
	char msg[256];
	json_t *list;
	int err;

	unsigned gen = host_url_gen(h);
	err = worker_call(h, object_list_path[kind], LIST_TIMEOUT_MS, &list, msg, sizeof(msg));
	if (err)
		return err;
	struct dirlist added = { 0 }, removed = { 0 };

	objects_from_list(kind, list, &fresh);
	json_decref(list);
	pthread_rwlock_wrlock(&h->lock);
	if (h->url_gen != gen) {
		/* Another engine's list: the url changed meanwhile. */
		pthread_rwlock_unlock(&h->lock);
		objects_clear(&fresh);
		return -EAGAIN;
	}
	old = h->objects[kind];
	h->objects[kind] = fresh;
	names_only_in(&fresh, &old, &added);
	names_only_in(&old, &fresh, &removed);
	if (added.n || removed.n)
		now_ts(&h->changed[kind]);
	pthread_rwlock_unlock(&h->lock);
	objects_clear(&old);
	for (size_t i = 0; i < removed.n; i++)
		observe_object(h, kind, removed.v[i].name, CHANGE_REMOVED);
	for (size_t i = 0; i < added.n; i++)
		observe_object(h, kind, added.v[i].name, CHANGE_CREATED);
	dirlist_free(&added);
	dirlist_free(&removed);
	return 0;
}

/* One list of a kind at a time, so that the one fetched last is kept
 * (swarm_refresh does the same for the swarm's lists).  A caller's settle
 * waits no longer than its budget; the worker's own list then comes. */
static int list_objects(struct informer *in, enum object_kind kind)
{
	struct host *h = in->h;
	int err;

	if (docker_budget_user()) {
		struct timespec until = docker_budget_until(DOCKER_DEFAULT_TIMEOUT_MS);

		if (pthread_mutex_timedlock(&h->list_lock[kind], &until))
			return -ETIMEDOUT;
	} else {
		pthread_mutex_lock(&h->list_lock[kind]);
	}
	err = list_objects_locked(h, kind);
	pthread_mutex_unlock(&h->list_lock[kind]);
	return err;
}

int host_objects_refresh(struct host *h, enum object_kind kind)
{
	struct informer in = { .h = h };

	return list_objects(&in, kind);
}

/* Returns freed heap to the system.  Not under ASan, whose allocator is
 * not glibc's: malloc_trim would set up glibc's unused arenas on its first
 * call, which is not thread-safe, and two host workers met in it (SEGV). */
static void give_back_heap(void)
{
#ifndef __SANITIZE_ADDRESS__
	malloc_trim(0);
#endif
}

/* Everything but the containers, and the swarm's lists. */
static int list_others(struct informer *in)
{
	int err = 0;

	for (int k = 0; k < OBJ_KINDS && !err; k++)
		err = list_objects(in, k);
	/* A full list is parsed whole (megabytes of JSON for thousands of
	 * containers) and kept as small structs: give the peak back. */
	give_back_heap();
	if (!err)
		swarm_refresh(in->h);
	return err;
}

static int list_all(struct informer *in, char *msg, size_t msglen)
{
	int err = list_containers(in, msg, msglen);

	return err ? err : list_others(in);
}

static void free_key_cb(const char *k, void *v, void *arg)
{
	free(v);
}

static void slow_due_cb(const char *id, void *v, void *arg)
{
	struct informer *in = arg;
	struct slow_object *so = v;

	if (mono_ms() >= so->retry_at)
		mark_dirty(in, id);
}

/* Whether the engine answers at all (a failed inspect: the object's fault
 * or the engine's?). */
static bool engine_answers(struct host *h)
{
	struct docker_call call = {
		.path = "/_ping", .timeout_ms = 2000,
		.cancelled = host_stopping, .cancel_arg = h,
	};
	struct docker_reply r;
	int err = engine_call(h, &call, &r);

	docker_reply_free(&r);
	return err == 0;
}

/* One container's inspect by the worker: a failure of that object alone
 * (the engine answers /_ping) defers it with backoff and returns 0. */
static int worker_refresh(struct informer *in, const char *id)
{
	struct slow_object *so = map_get(&in->slow, id);
	int err;

	if (so && mono_ms() < so->retry_at)
		return 0;   /* slow_due_cb marks it dirty again when due */
	err = refresh_container(in->h, id, WORKER_INSPECT_MS);
	if (!err) {
		if (so) {
			map_del(&in->slow, id);
			log_info("host %s: container %.12s answers again", in->h->name, id);
			free(so);
		}
		return 0;
	}
	if (err == -EINTR || err == -EHOSTDOWN || host_stopping(in->h) || !engine_answers(in->h))
		return err;
	if (!so) {
		so = calloc(1, sizeof(*so) + strlen(id) + 1);
		if (!so)
			abort();
		strcpy(so->id, id);
		so->backoff = SLOW_RETRY_MIN_MS;
		map_put(&in->slow, so->id, so);
		log_msg(LOG_LVL_WARN, "host %s: container %.12s: inspect failed (%s) while the "
			"engine answers: retried every %ld s at most", in->h->name, id,
			strerror(-err), SLOW_RETRY_MAX_MS / 1000);
	} else {
		so->backoff = so->backoff * 2 > SLOW_RETRY_MAX_MS ? SLOW_RETRY_MAX_MS
								   : so->backoff * 2;
	}
	so->retry_at = mono_ms() + so->backoff;
	return 0;
}

static int pump_events(struct informer *in, long wait_ms, char *msg, size_t msglen);

/* Relists the kinds events named, then inspects up to DETAIL_BATCH dirty
 * containers, reading the event stream after each, so that the other
 * lists get their turn on a host with thousands.  Returns 0 or the first
 * error (msg set when the event stream ended). */
static int process_dirty(struct informer *in, char *msg, size_t msglen)
{
	int err = 0;

	/* The lists first: one call each, while a batch of inspects can take
	 * seconds on a busy engine (an inspect waits through a start). */
	for (int k = 0; k < OBJ_KINDS && !err; k++) {
		if (in->dirty_kind[k]) {
			err = list_objects(in, k);
			in->dirty_kind[k] = err != 0;
		}
	}
	map_foreach(&in->slow, slow_due_cb, in);
	for (int n = 0; n < DETAIL_BATCH && !err; n++) {
		char *id = map_pop(&in->dirty);
		if (!id)
			break;
		err = worker_refresh(in, id);
		if (err)
			mark_dirty(in, id); /* try again after reconnecting */
		free(id);
		/* The stream is read between two inspects: a loaded engine
		 * takes seconds over a batch (a soak saw up to 12 s), and the queue
		 * it keeps for a subscriber holds 1024 events; past that its
		 * publisher waits 100 ms, then drops the event for us. */
		if (!err)
			err = pump_events(in, 0, msg, msglen);
	}
	if (!err && in->dirty_info) {
		json_t *info;
		unsigned gen = host_url_gen(in->h);
		err = worker_call(in->h, "/info", PING_TIMEOUT_MS, &info, NULL, 0);
		if (!err) {
			apply_info(in->h, info, gen);
			in->dirty_info = false;
			in->dirty_swarm = true; /* promoted or demoted */
		}
	}
	if (!err && (in->dirty_swarm || swarm_poll_due(in->h))) {
		in->dirty_swarm = false;
		swarm_refresh(in->h);
	}
	return err;
}

static void informer_stop_events(struct informer *in)
{
	struct host *h = in->h;

	pthread_mutex_lock(&h->ctl_lock);
	h->multi = NULL;
	pthread_mutex_unlock(&h->ctl_lock);
	if (in->events) {
		curl_multi_remove_handle(in->multi, in->events);
		conn_handle_free(in->events);
		in->events = NULL;
	}
	curl_slist_free_all(in->events_hdr);
	in->events_hdr = NULL;
	if (in->multi)
		curl_multi_cleanup(in->multi);
	in->multi = NULL;
	buf_reset(&in->events_buf);
}

/* The engine sends the stream's headers before it subscribes it, so their
 * arrival proves nothing: the stream is asked to start in the past
 * instead, a second before the engine's clock at /_ping (its Date has
 * whole seconds), and nothing that changes between subscribing and the
 * list that follows can be missed.  After a lost stream it starts at the
 * last event handed on, if that is recent: the engine keeps its last 256
 * events, and readers of the events files then miss nothing of a short
 * break (drain_events drops what they already had). */
static int informer_start_events(struct informer *in, char *msg, size_t msglen)
{
	struct host *h = in->h;
	char api[16], path[64] = "/events";
	struct conn *c = host_conn_get(h, api, sizeof(api));

	if (!c) {
		snprintf(msg, msglen, "invalid url");
		return -EINVAL;
	}
	/* Another engine's events are no repeats, whatever their times. */
	if (!in->events_url || strcmp(in->events_url, c->url) != 0) {
		free(in->events_url);
		in->events_url = xstrdup(c->url);
		in->last_event_ns = 0;
		memset(in->seen, 0, sizeof(in->seen));
	}
	if (in->engine_date > 0) {
		time_t since = in->engine_date - 1;
		time_t last = (time_t)(in->last_event_ns / 1000000000);

		if (last && last < since && since - last <= EVENTS_REPLAY_MAX_S)
			since = last;
		if (docker_path(path, sizeof(path), "/events?since=%lld", (long long)since))
			snprintf(path, sizeof(path), "/events");   /* cannot be: 64 bytes hold it */
	}
	in->multi = curl_multi_init();
	in->events = docker_stream_new(c, api, path, events_write, in, &in->events_hdr);
	conn_unref(c);
	if (!in->multi || !in->events) {
		snprintf(msg, msglen, "cannot set up the event stream");
		informer_stop_events(in);
		return -EIO;
	}
	curl_multi_add_handle(in->multi, in->events);
	pthread_mutex_lock(&h->ctl_lock);
	h->multi = in->multi;
	pthread_mutex_unlock(&h->ctl_lock);
	return 0;
}

/* Returns 0 while the event stream runs, else an errno with msg set. */
static int pump_events(struct informer *in, long wait_ms, char *msg, size_t msglen)
{
	int running = 0, left;
	CURLMsg *m;

	curl_multi_poll(in->multi, NULL, 0, (int)wait_ms, NULL);
	curl_multi_perform(in->multi, &running);
	drain_events(in);
	while ((m = curl_multi_info_read(in->multi, &left))) {
		if (m->msg != CURLMSG_DONE)
			continue;
		long status = 0;
		curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &status);
		snprintf(msg, msglen, "event stream ended: %s",
			 m->data.result != CURLE_OK ? curl_easy_strerror(m->data.result)
						    : "engine closed it");
		int err = docker_errno(status, m->data.result, false);
		return err ? err : -EHOSTDOWN;
	}
	return 0;
}

static void set_api(struct host *h, const char *engine_api)
{
	char api[16];

	docker_api_negotiate(engine_api, api, sizeof(api));
	pthread_rwlock_wrlock(&h->lock);
	snprintf(h->api, sizeof(h->api), "%s", api);
	pthread_rwlock_unlock(&h->lock);
}

/* An unversioned call on the worker's behalf: how the version is learnt. */
static int unversioned_call(struct host *h, const char *path, struct docker_reply *r,
			    char *msg, size_t msglen)
{
	struct docker_call call = {
		.path = path, .api = NULL, .timeout_ms = PING_TIMEOUT_MS,
		.cancelled = host_stopping, .cancel_arg = h,
	};
	struct conn *c = host_conn_get(h, NULL, 0);
	int err;

	if (!c) {
		memset(r, 0, sizeof(*r));
		snprintf(msg, msglen, "invalid url");
		return -EINVAL;
	}
	err = docker_call(c, &call, r);
	conn_unref(c);
	if (err)
		snprintf(msg, msglen, "%s", r->message);
	return err;
}

/* /version: the engine's facts, and the API version if not known yet. */
static int read_version(struct informer *in, char *msg, size_t msglen)
{
	struct host *h = in->h;
	struct docker_reply r;
	json_t *version;
	unsigned gen = host_url_gen(h);
	int err = unversioned_call(h, "/version", &r, msg, msglen);

	if (err) {
		docker_reply_free(&r);
		return err;
	}
	version = json_loadb(r.body.data ? r.body.data : "", r.body.len, 0, NULL);
	docker_reply_free(&r);
	if (!version) {
		snprintf(msg, msglen, "/version answered no JSON");
		return -EIO;
	}
	char api[16];
	docker_api_negotiate(json_string_value(json_object_get(version, "ApiVersion")), api,
			     sizeof(api));
	pthread_rwlock_wrlock(&h->lock);
	if (h->url_gen != gen) {
		/* Another engine's: the url changed meanwhile. */
		pthread_rwlock_unlock(&h->lock);
		json_decref(version);
		snprintf(msg, msglen, "the url changed");
		return -EAGAIN;
	}
	if (!h->api[0])
		snprintf(h->api, sizeof(h->api), "%s", api);
	json_decref(h->version);
	h->version = version;
	pthread_rwlock_unlock(&h->lock);
	in->have_version = true;
	return 0;
}

/* /_ping, whose Api-Version header negotiates the version as the docker
 * CLI does: /version costs the engine ten times as much, and the container
 * list should not wait for it.  Without the header, /version says. */
static int negotiate_api(struct informer *in, char *msg, size_t msglen)
{
	struct host *h = in->h;
	struct docker_reply r;
	int err;

	pthread_rwlock_wrlock(&h->lock);
	h->api[0] = '\0';
	pthread_rwlock_unlock(&h->lock);
	in->have_version = false;
	err = unversioned_call(h, "/_ping", &r, msg, msglen);
	if (!err && r.api_version[0])
		set_api(h, r.api_version);
	in->engine_date = err || !r.date[0] ? 0 : curl_getdate(r.date, NULL);
	docker_reply_free(&r);
	if (err)
		return err;
	pthread_rwlock_rdlock(&h->lock);
	bool have_api = h->api[0] != '\0';
	pthread_rwlock_unlock(&h->lock);
	return have_api ? 0 : read_version(in, msg, msglen);
}

/* /info, and the engine's facts into the registry. */
static int read_info(struct informer *in, char *msg, size_t msglen)
{
	struct host *h = in->h;
	json_t *info;
	unsigned gen = host_url_gen(h);
	int err = worker_call(h, "/info", PING_TIMEOUT_MS, &info, msg, msglen);

	if (err)
		return err;
	/* Before apply_info gives info away (an action's refresh may
	 * replace it).  version and api are copied under the lock: a url
	 * change drops them (fleet_host_set_url). */
	const char *type = detect_type(info);
	char ver[64] = "", os[32] = "", arch[32] = "", api[16] = "";
	pthread_rwlock_rdlock(&h->lock);
	bool same = h->url_gen == gen;
	snprintf(ver, sizeof(ver), "%s",
		 json_string_value(json_object_get(h->version, "Version")) ?: "");
	snprintf(os, sizeof(os), "%s", json_string_value(json_object_get(h->version, "Os")) ?: "");
	snprintf(arch, sizeof(arch), "%s",
		 json_string_value(json_object_get(h->version, "Arch")) ?: "");
	snprintf(api, sizeof(api), "%s", h->api);
	pthread_rwlock_unlock(&h->lock);
	if (same)
		store_host_set_health(h->fleet->store, h->name, NULL, ver[0] ? ver : NULL,
				      api[0] ? api : NULL, os[0] ? os : NULL,
				      arch[0] ? arch : NULL, type);
	apply_info(h, info, gen);
	return 0;
}

static int health_check(struct informer *in, char *msg, size_t msglen)
{
	json_t *info;
	struct docker_call call = {
		.path = "/_ping", .timeout_ms = PING_TIMEOUT_MS,
		.cancelled = host_stopping, .cancel_arg = in->h,
	};
	struct docker_reply r;
	int err = engine_call(in->h, &call, &r);

	if (err)
		snprintf(msg, msglen, "health check: %.400s", r.message);
	docker_reply_free(&r);
	if (err)
		return err;
	unsigned gen = host_url_gen(in->h);
	err = worker_call(in->h, "/info", PING_TIMEOUT_MS, &info, msg, msglen);
	if (!err)
		apply_info(in->h, info, gen);
	return err;
}

/* One connected session: returns when the engine fails or we are told to
 * stop or reconnect; the error says why. */
static int run_session(struct informer *in, char *msg, size_t msglen)
{
	struct host *h = in->h;
	const struct fleet_options *opt = &h->fleet->opt;
	long next_health, next_resync;
	int err;

	err = negotiate_api(in, msg, msglen);
	if (err)
		return err;
	pthread_mutex_lock(&h->fleet->first_lock);
	bool first = h->first_list == FIRST_LIST_CONNECTING;
	pthread_mutex_unlock(&h->fleet->first_lock);
	if (first)
		set_first_list(h, FIRST_LIST_LISTING);
	/* Watch before listing, so nothing between the two is lost (the
	 * stream starts before this moment: informer_start_events). */
	err = informer_start_events(in, msg, msglen);
	if (err)
		return err;
	err = pump_events(in, 0, msg, msglen);
	/* Containers first: they are what a fresh mount is listed for, and
	 * /info and the other kinds cost the engine as much again. */
	if (!err)
		err = list_containers(in, msg, msglen);
	if (!err) {
		wait_fleet_listed(h);
		if (!in->have_version)
			err = read_version(in, msg, msglen);
	}
	if (!err)
		err = read_info(in, msg, msglen);
	if (!err)
		err = list_others(in);
	if (err) {
		if (!*msg)
			snprintf(msg, msglen, "listing failed: %s", strerror(-err));
		return err;
	}
	set_health(h, HOST_HEALTHY, NULL);
	next_health = mono_ms() + opt->health_interval * 1000L;
	next_resync = mono_ms() + opt->resync_interval * 1000L;

	while (!host_stopping(h)) {
		long now = mono_ms();
		long wait = (next_health < next_resync ? next_health : next_resync) - now;

		if (in->dirty.count || in->dirty_info || in->dirty_swarm)
			wait = 0;
		for (int k = 0; k < OBJ_KINDS; k++)
			if (in->dirty_kind[k])
				wait = 0;
		/* At most a second; less while a swarm converges (no event
		 * tells when its tasks start). */
		wait = swarm_poll_wait(h, wait < 0 ? 0 : wait > 1000 ? 1000 : wait);
		err = pump_events(in, wait, msg, msglen);
		if (err)
			return err;
		*msg = '\0';
		err = process_dirty(in, msg, msglen);
		if (err) {
			if (!*msg)
				snprintf(msg, msglen, "refresh failed: %s", strerror(-err));
			return err;
		}
		now = mono_ms();
		if (now >= next_health) {
			err = health_check(in, msg, msglen);
			if (err)
				return err;
			set_health(h, HOST_HEALTHY, NULL);
			next_health = now + opt->health_interval * 1000L;
		}
		if (now >= next_resync) {
			*msg = '\0';
			err = list_all(in, msg, msglen);
			if (err) {
				if (!*msg)
					snprintf(msg, msglen, "resync failed: %s", strerror(-err));
				return err;
			}
			next_resync = now + opt->resync_interval * 1000L;
		}
	}
	return 0;
}

static void *host_worker(void *arg)
{
	struct host *h = arg;
	struct informer in = { .h = h };
	long backoff = BACKOFF_MIN_MS;
	char msg[512];

	for (;;) {
		pthread_mutex_lock(&h->ctl_lock);
		bool stop = h->stop || docker_cancelled();
		h->reconnect = false;
		pthread_mutex_unlock(&h->ctl_lock);
		if (stop)
			break;
		pthread_rwlock_rdlock(&h->lock);
		bool has_url = h->conn != NULL;
		pthread_rwlock_unlock(&h->lock);
		if (!has_url) {
			/* Nothing to connect to until a url is written. */
			if (host_sleep(h, 3600 * 1000L))
				break;
			continue;
		}
		msg[0] = '\0';
		long started = mono_ms();
		int err = run_session(&in, msg, sizeof(msg));
		informer_stop_events(&in);
		if (host_stopping(h))
			continue;
		/* Readers waiting for its first list wait no more. */
		set_first_list(h, FIRST_LIST_DONE);
		/* The session was tried all the same: over ssh without
		 * known_hosts its error names the server's key, what the
		 * user needs to write it. */
		char need[400], why[1000];
		if (host_setup_missing(h, need, sizeof(need))) {
			snprintf(why, sizeof(why), "%s (%s)", need, *msg ? msg : strerror(-err));
			pthread_rwlock_wrlock(&h->lock);
			h->setup_incomplete = true;
			pthread_rwlock_unlock(&h->lock);
			set_health(h, HOST_PENDING, why);
		} else {
			pthread_rwlock_wrlock(&h->lock);
			h->setup_incomplete = false;
			pthread_rwlock_unlock(&h->lock);
			set_health(h, HOST_UNHEALTHY, *msg ? msg : strerror(-err));
		}
		/* A session that ran a while was healthy: start backing off anew. */
		if (mono_ms() - started > BACKOFF_MAX_MS)
			backoff = BACKOFF_MIN_MS;
		if (host_sleep(h, backoff))
			break;
		backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
	}
	informer_stop_events(&in);
	map_foreach(&in.dirty, free_key_cb, NULL);
	map_clear(&in.dirty);
	map_foreach(&in.slow, free_key_cb, NULL);
	map_clear(&in.slow);
	buf_free(&in.events_buf);
	free(in.events_url);
	return NULL;
}

static void host_start(struct host *h)
{
	host_get(h); /* the worker's reference */
	if (h->conn)
		set_first_list(h, FIRST_LIST_CONNECTING);
	if (pthread_create(&h->thread, NULL, host_worker, h) != 0) {
		log_error(0, "host %s: cannot start its worker", h->name);
		set_first_list(h, FIRST_LIST_DONE);
		host_put(h);
		return;
	}
	h->started = true;
}

static void host_stop(struct host *h)
{
	pthread_mutex_lock(&h->ctl_lock);
	h->stop = true;
	pthread_mutex_unlock(&h->ctl_lock);
	set_first_list(h, FIRST_LIST_DONE);
	host_wake(h);
	if (h->started) {
		pthread_join(h->thread, NULL);
		h->started = false;
		host_put(h);
	}
}

/* ---- the fleet --------------------------------------------------------- */

int fleet_new(struct store *st, const struct fleet_options *opt, struct fleet **out)
{
	struct fleet *f = calloc(1, sizeof(*f));

	if (!f)
		return -ENOMEM;
	pthread_rwlock_init(&f->lock, NULL);
	pthread_mutex_init(&f->first_lock, NULL);
	pthread_cond_init(&f->first_cond, NULL);
	f->store = st;
	f->opt = *opt;
	if (f->opt.health_interval < 1)
		f->opt.health_interval = 30;
	if (f->opt.resync_interval < 1)
		f->opt.resync_interval = 300;
	*out = f;
	return 0;
}

static struct host *host_from_row(struct fleet *f, const struct store_host *row)
{
	struct host *h = host_new(f, row->name, row->host_url);

	h->insecure = store_host_insecure(f->store, row->name);
	if (h->conn)
		atomic_store(&h->conn->insecure, h->insecure);

	h->description = xstrdup(row->description);
	h->is_default = row->is_default;
	return h;
}

static int load_host_cb(const struct store_host *row, void *arg)
{
	struct fleet *f = arg;
	struct host *h = host_from_row(f, row);

	map_put(&f->hosts, h->name, h);
	return 0;
}

static void start_host_cb(struct host *h, void *arg)
{
	pthread_mutex_lock(&h->fleet->first_lock);
	h->starting = true;
	pthread_mutex_unlock(&h->fleet->first_lock);
	host_start(h);
}

int fleet_start(struct fleet *f)
{
	int err;

	now_ts(&f->started);
	pthread_rwlock_wrlock(&f->lock);
	err = store_host_foreach(f->store, load_host_cb, f);
	pthread_rwlock_unlock(&f->lock);
	if (err)
		return err;
	fleet_foreach_host(f, start_host_cb, NULL);
	return 0;
}

static void collect_host_cb(const char *k, void *v, void *arg)
{
	struct host ***pp = arg;

	*(*pp)++ = host_get(v);
}

static int host_name_cmp(const void *a, const void *b)
{
	return strcmp((*(struct host *const *)a)->name, (*(struct host *const *)b)->name);
}

void fleet_foreach_host(struct fleet *f, void (*cb)(struct host *h, void *arg), void *arg)
{
	struct host **v, **p;
	size_t n;

	/* Snapshot under the lock, call back outside it. */
	pthread_rwlock_rdlock(&f->lock);
	n = f->hosts.count;
	v = p = calloc(n ? n : 1, sizeof(*v));
	if (!v)
		abort();
	map_foreach(&f->hosts, collect_host_cb, &p);
	pthread_rwlock_unlock(&f->lock);
	qsort(v, n, sizeof(*v), host_name_cmp);
	for (size_t i = 0; i < n; i++) {
		cb(v[i], arg);
		host_put(v[i]);
	}
	free(v);
}

int fleet_host_count(struct fleet *f)
{
	int n;

	pthread_rwlock_rdlock(&f->lock);
	n = (int)f->hosts.count;
	pthread_rwlock_unlock(&f->lock);
	return n;
}

struct host *fleet_host_get(struct fleet *f, const char *name)
{
	struct host *h;

	pthread_rwlock_rdlock(&f->lock);
	h = map_get(&f->hosts, name);
	if (h)
		host_get(h);
	pthread_rwlock_unlock(&f->lock);
	return h;
}

int fleet_host_add(struct fleet *f, const char *name, const char *url)
{
	struct host *h;
	int err = 0;

	if (!name_host_valid(name))
		return -EINVAL;
	pthread_rwlock_wrlock(&f->lock);
	if (map_get(&f->hosts, name)) {
		err = -EEXIST;
		goto out;
	}
	/* A host made by mkdir has no url yet: it lives in memory only, as
	 * pending, until a url is written (the registry keeps usable hosts). */
	if (url) {
		err = store_host_add(f->store, name, url);
		if (err)
			goto out;
	}
	h = host_new(f, name, url);
	map_put(&f->hosts, h->name, h);
	host_start(h);
	log_info("host %s: added (%s)", name, url ? url : "no url yet");
out:
	pthread_rwlock_unlock(&f->lock);
	return err;
}

int fleet_host_remove(struct fleet *f, const char *name)
{
	struct host *h;
	int err;

	pthread_rwlock_wrlock(&f->lock);
	h = map_get(&f->hosts, name);
	err = h ? store_host_remove(f->store, name) : -ENOENT;
	if (err == -ENOENT && h)
		err = 0; /* made by mkdir, never given a url */
	if (!err)
		map_del(&f->hosts, name);
	pthread_rwlock_unlock(&f->lock);
	if (err)
		return err;
	host_stop(h);
	host_put(h); /* the fleet's reference */
	log_info("host %s: removed", name);
	return 0;
}

unsigned host_url_gen(struct host *h)
{
	pthread_rwlock_rdlock(&h->lock);
	unsigned gen = h->url_gen;
	pthread_rwlock_unlock(&h->lock);
	return gen;
}

/* What the host knew of the engine its old url named. */
struct old_engine {
	struct map containers;            /* id -> struct container */
	struct map objects[OBJ_KINDS];
	struct swarm_cache *swarm;
	json_t *version, *info;
};

/* With h's write lock held: moves the model out into o and bumps url_gen,
 * so that no call begun before adopts what it fetched. */
static void take_engine_model(struct host *h, struct old_engine *o)
{
	o->containers = h->containers;
	h->containers = (struct map)MAP_INIT;
	map_clear(&h->container_names);
	for (int k = 0; k < OBJ_KINDS; k++) {
		o->objects[k] = h->objects[k];
		h->objects[k] = (struct map)MAP_INIT;
	}
	for (int k = 0; k <= OBJ_KINDS; k++)
		now_ts(&h->changed[k]);
	o->swarm = h->swarm;
	h->swarm = NULL;
	o->version = h->version;
	h->version = NULL;
	o->info = h->info;
	h->info = NULL;
	h->api[0] = '\0';
	snprintf(h->host_type, sizeof(h->host_type), "unknown");
	h->url_gen++;
}

static void forget_container_cb(const char *id, void *v, void *arg)
{
	struct container *c = v;

	observe_container(arg, c->name, CHANGE_REMOVED);
	container_free(c);
}

struct forget_object {
	struct host *h;
	enum object_kind kind;
};

static void forget_object_cb(const char *name, void *v, void *arg)
{
	struct forget_object *fo = arg;

	observe_object(fo->h, fo->kind, name, CHANGE_REMOVED);
}

/* Unlocked: tells the observers each thing is gone, then frees it. */
static void drop_engine_model(struct host *h, struct old_engine *o)
{
	map_foreach(&o->containers, forget_container_cb, h);
	map_clear(&o->containers);
	for (int k = 0; k < OBJ_KINDS; k++) {
		struct forget_object fo = { h, k };

		map_foreach(&o->objects[k], forget_object_cb, &fo);
		objects_clear(&o->objects[k]);
	}
	/* As swarm.c drops the lists of a host no longer a manager: the
	 * swarm's directory goes with its backing host's lists. */
	swarm_cache_free(o->swarm);
	json_decref(o->version);
	json_decref(o->info);
	/* No observe_host: the status went pending, which is no news (as
	 * before the model was dropped); the worker's answer from the new
	 * engine is (set_health, apply_info). */
}

int fleet_host_set_url(struct fleet *f, const char *name, const char *url)
{
	return fleet_host_set_url_with(f, name, url, NULL, NULL);
}

int fleet_host_set_url_with(struct fleet *f, const char *name, const char *url,
			    int (*put)(struct store *st, const char *name, const char *url,
				       void *arg),
			    void *arg)
{
	struct old_engine gone;
	struct conn *c, *old = NULL;
	struct host *h;
	bool changed = false;
	int err = conn_new(name, url, &c);

	if (err)
		return err;
	h = fleet_host_get(f, name);
	if (!h) {
		conn_free(c);
		return -ENOENT;
	}
	/* The registry drops the host's credentials if the url changed
	 * (store.h).  Outside the host's lock, as every store call. */
	err = put ? put(f->store, name, url, arg) : store_host_put(f->store, name, url);
	pthread_rwlock_wrlock(&h->lock);
	if (!err) {
		atomic_store(&c->insecure, h->insecure);
		old = h->conn;
		changed = !old || strcmp(old->url, url) != 0;
		if (changed)
			take_engine_model(h, &gone);
		h->conn = c;
		h->health = HOST_PENDING;
		h->setup_incomplete = false;
		h->stale = false;
		free(h->last_error);
		h->last_error = NULL;
		now_ts(&h->status_ts);
		c = NULL;
	}
	pthread_rwlock_unlock(&h->lock);
	if (!err) {
		/* Calls still holding the old conn fail instead of reaching
		 * the old engine (or, over ssh, pointing the session back). */
		if (old) {
			if (changed)
				conn_retire(old);
			else
				conn_reset(old);
			conn_unref(old);
		}
		if (changed) {
			drop_engine_model(h, &gone);
			if (old)
				log_info("host %s: url changed to %s: the old engine's model, "
					 "connections and the host's credentials dropped", name, url);
		}
		pthread_mutex_lock(&h->ctl_lock);
		h->reconnect = true;
		pthread_mutex_unlock(&h->ctl_lock);
		set_first_list(h, FIRST_LIST_CONNECTING); /* another engine, maybe */
		host_wake(h);
	}
	conn_free(c);
	host_put(h);
	return err;
}

static bool host_has_url(struct host *h)
{
	pthread_rwlock_rdlock(&h->lock);
	bool has = h->conn != NULL;
	pthread_rwlock_unlock(&h->lock);
	return has;
}

int fleet_host_set_description(struct fleet *f, const char *name, const char *text)
{
	struct host *h = fleet_host_get(f, name);
	int err;

	if (!h)
		return -ENOENT;
	err = store_host_set_text(f->store, name, "description", text);
	if (err == -ENOENT && !host_has_url(h))
		err = 0; /* made by mkdir: kept here until its url registers it */
	if (!err) {
		pthread_rwlock_wrlock(&h->lock);
		set_str(&h->description, text);
		now_ts(&h->status_ts);
		pthread_rwlock_unlock(&h->lock);
	}
	host_put(h);
	return err;
}

static void clear_default_cb(struct host *h, void *arg)
{
	const char *keep = arg;

	pthread_rwlock_wrlock(&h->lock);
	if (h->is_default != (keep && strcmp(h->name, keep) == 0))
		now_ts(&h->status_ts);
	h->is_default = keep && strcmp(h->name, keep) == 0;
	pthread_rwlock_unlock(&h->lock);
}

int fleet_host_set_default(struct fleet *f, const char *name, bool on)
{
	struct host *h = fleet_host_get(f, name);
	int err;

	if (!h)
		return -ENOENT;
	err = store_host_set_default(f->store, name, on);
	if (err == -ENOENT)
		err = -EINVAL; /* made by mkdir: it has no registry row until a url */
	if (!err) {
		if (on) {
			fleet_foreach_host(f, clear_default_cb, (void *)name);
		} else {
			pthread_rwlock_wrlock(&h->lock);
			h->is_default = false;
			pthread_rwlock_unlock(&h->lock);
		}
	}
	host_put(h);
	return err;
}

int fleet_host_set_insecure(struct fleet *f, const char *name, bool on)
{
	struct host *h = fleet_host_get(f, name);
	int err;

	if (!h)
		return -ENOENT;
	err = store_host_set_insecure(f->store, name, on);
	if (err == -ENOENT && !host_has_url(h))
		err = 0; /* made by mkdir: kept here until its url registers it */
	if (!err) {
		pthread_rwlock_wrlock(&h->lock);
		h->insecure = on;
		if (h->conn)
			atomic_store(&h->conn->insecure, on);
		now_ts(&h->status_ts);
		pthread_rwlock_unlock(&h->lock);
	}
	host_put(h);
	return err ? err : fleet_host_reconnect(f, name);
}

int fleet_host_reconnect(struct fleet *f, const char *name)
{
	struct host *h = fleet_host_get(f, name);
	struct conn *c;

	if (!h)
		return -ENOENT;
	c = host_conn_get(h, NULL, 0);
	if (c) {
		conn_reset(c);
		conn_unref(c);
	}
	pthread_rwlock_wrlock(&h->lock);
	/* Calls are let through again until the worker's attempt says. */
	if (h->health == HOST_UNHEALTHY)
		h->health = HOST_PENDING;
	h->setup_incomplete = false;
	now_ts(&h->status_ts);
	pthread_rwlock_unlock(&h->lock);
	pthread_mutex_lock(&h->ctl_lock);
	h->reconnect = true;
	pthread_mutex_unlock(&h->ctl_lock);
	host_wake(h);
	host_put(h);
	return 0;
}

int host_test(struct host *h, struct buf *out, char *msg, size_t msglen)
{
	struct docker_call call = { .path = "/version", .timeout_ms = PING_TIMEOUT_MS };
	struct docker_reply r;
	long t0 = mono_ms();
	/* Whatever status says: this is how a caller asks again. */
	int err = engine_call_any(h, &call, &r);

	if (err) {
		snprintf(msg, msglen, "%s", r.message);
		docker_reply_free(&r);
		set_health(h, HOST_UNHEALTHY, msg);
		return err;
	}
	json_t *v = json_loadb(r.body.data ? r.body.data : "", r.body.len, 0, NULL);
	buf_printf(out, "ok %ld ms: docker %s, api %s, %s/%s\n", mono_ms() - t0,
		   json_string_value(json_object_get(v, "Version")) ?: "?",
		   json_string_value(json_object_get(v, "ApiVersion")) ?: "?",
		   json_string_value(json_object_get(v, "Os")) ?: "?",
		   json_string_value(json_object_get(v, "Arch")) ?: "?");
	json_decref(v);
	docker_reply_free(&r);
	pthread_rwlock_rdlock(&h->lock);
	bool healthy = h->health == HOST_HEALTHY;
	pthread_rwlock_unlock(&h->lock);
	/* Answering again: let the worker connect now, not after its backoff. */
	if (!healthy)
		fleet_host_reconnect(h->fleet, h->name);
	return 0;
}

static void stop_host_cb(struct host *h, void *arg)
{
	host_stop(h);
}

static void put_host_cb(const char *k, void *v, void *arg)
{
	host_put(v);
}

void fleet_free(struct fleet *f)
{
	if (!f)
		return;
	fleet_foreach_host(f, stop_host_cb, NULL);
	map_foreach(&f->hosts, put_host_cb, NULL);
	map_clear(&f->hosts);
	pthread_rwlock_destroy(&f->lock);
	pthread_mutex_destroy(&f->first_lock);
	pthread_cond_destroy(&f->first_cond);
	free(f);
}
