/* events.c - event stream files, fed from every host's engine events. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "events.h"
#include "model.h"
#include "stream.h"
#include "swarm.h"
#include "tree.h"

#define READER_BUFFER (1 << 20)

struct subscriber {
	struct subscriber *next;
	struct stream *s;          /* the producer's reference */
	uid_t uid;                 /* who reads: only hosts it may see */
	char host[65];             /* "" = every host */
	char swarm[80];            /* a swarm's events: from its manager only */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct subscriber *subscribers;

/* Docker's timeNano as RFC 3339 with nanoseconds. */
static void event_time(json_t *ev, char *out, size_t len)
{
	long long ns = json_integer_value(json_object_get(ev, "timeNano"));
	time_t t = ns ? (time_t)(ns / 1000000000LL)
		      : (time_t)json_integer_value(json_object_get(ev, "time"));
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(out, len, "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 ns ? ns % 1000000000LL : 0);
}

/* The cluster's own events, as `docker events` on a manager shows them. */
static bool swarm_event(json_t *ev)
{
	const char *type = json_string_value(json_object_get(ev, "Type"));
	const char *scope = json_string_value(json_object_get(ev, "scope"));

	return type && (!strcmp(type, "service") || !strcmp(type, "node") ||
			!strcmp(type, "secret") || !strcmp(type, "config") ||
			(!strcmp(type, "network") && scope && !strcmp(scope, "swarm")));
}

/* Whether h is the manager that stands for the swarm called name (each
 * manager reports the cluster's events: take them from one). */
static bool backs_swarm(struct host *h, const char *name)
{
	char id[80];
	struct host *m = swarm_lookup(tree_ctx()->fleet, name, id, sizeof(id));
	bool r = m == h;

	host_put(m);
	return r;
}

/* Sends line to every reader of host's events who may see host; drops
 * the readers that have gone.  ev is NULL for dockfs's own lines. */
static void publish(struct host *h, json_t *ev, const char *line, size_t len)
{
	struct subscriber **pp, *dead = NULL;

	pthread_mutex_lock(&lock);
	for (pp = &subscribers; *pp;) {
		struct subscriber *sub = *pp;

		if (stream_cancelled(sub->s)) {
			*pp = sub->next;
			sub->next = dead;
			dead = sub;
			continue;
		}
		bool want = sub->swarm[0] ? ev && swarm_event(ev) && backs_swarm(h, sub->swarm)
					  : !sub->host[0] || strcmp(sub->host, h->name) == 0;
		if (want && access_level(sub->uid, h->name) >= LEVEL_VIEWER)
			stream_push(sub->s, line, len);
		pp = &sub->next;
	}
	pthread_mutex_unlock(&lock);
	while (dead) {
		struct subscriber *next = dead->next;
		stream_put(dead->s);
		free(dead);
		dead = next;
	}
}

static void on_event(struct host *h, json_t *ev, void *arg)
{
	json_t *actor = json_object_get(ev, "Actor");
	json_t *attrs = json_object_get(actor, "Attributes");
	char when[64];

	event_time(ev, when, sizeof(when));
	json_t *line = json_pack("{s:s, s:s, s:s?, s:s?, s:s?, s:s?, s:O?}", "host", h->name,
				 "time", when, "type",
				 json_string_value(json_object_get(ev, "Type")), "action",
				 json_string_value(json_object_get(ev, "Action")), "id",
				 json_string_value(json_object_get(actor, "ID")), "name",
				 json_string_value(json_object_get(attrs, "name")), "attributes",
				 attrs);
	char *text = line ? json_dumps(line, JSON_COMPACT) : NULL;

	if (text) {
		size_t n = strlen(text);
		text[n] = '\n'; /* the NUL's byte becomes the line's end */
		publish(h, ev, text, n + 1);
	}
	free(text);
	json_decref(line);
}

/* A host's own status is news too: "host" events, as dockfs sees them. */
static void on_host(struct host *h, void *arg)
{
	char when[64];
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(when, sizeof(when), "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec);
	pthread_rwlock_rdlock(&h->lock);
	json_t *line = json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s?}}", "host", h->name,
				 "time", when, "type", "host", "action",
				 host_health_name(h->health), "name", h->name, "attributes",
				 "type", h->host_type, "error", h->last_error);
	pthread_rwlock_unlock(&h->lock);
	char *text = line ? json_dumps(line, JSON_COMPACT) : NULL;

	if (text) {
		size_t n = strlen(text);
		text[n] = '\n';
		publish(h, NULL, text, n + 1);
	}
	free(text);
	json_decref(line);
}

void events_init(void)
{
	static const struct model_observer o = { .event = on_event, .host = on_host };

	model_observe(&o);
}

void events_shutdown(void)
{
	pthread_mutex_lock(&lock);
	struct subscriber *sub = subscribers;
	subscribers = NULL;
	pthread_mutex_unlock(&lock);
	while (sub) {
		struct subscriber *next = sub->next;
		stream_end(sub->s, 0);
		stream_put(sub->s);
		free(sub);
		sub = next;
	}
}

/* ---- the files ------------------------------------------------------------- */

static int events_stream(const struct caller *c, const struct node *n, struct stream *s)
{
	struct subscriber *sub = calloc(1, sizeof(*sub));

	if (!sub)
		return -ENOMEM;
	sub->s = s;
	sub->uid = c->uid;
	if (n->ops == &swarm_events_file_ops)
		snprintf(sub->swarm, sizeof(sub->swarm), "%.79s", n->key);
	else if (n->host)
		snprintf(sub->host, sizeof(sub->host), "%s", n->host->name);
	pthread_mutex_lock(&lock);
	sub->next = subscribers;
	subscribers = sub;
	pthread_mutex_unlock(&lock);
	return 0;
}

/* M/events and M/hosts/<h>/events: the same file, with or without a host. */
const struct node_ops events_file_ops = {
	.type = NODE_FILE,
	.read_level = LEVEL_VIEWER,
	.stream = events_stream,
};

/* M/swarms/<s>/events: the cluster's events from the manager backing it. */
const struct node_ops swarm_events_file_ops = {
	.type = NODE_FILE,
	.read_level = LEVEL_VIEWER,
	.stream = events_stream,
};

const struct node_ops fleet_events_file_ops = {
	.type = NODE_FILE,
	.stream = events_stream,
};
