/* stacks.c - M/swarms/<swarm>/stacks/: compose applications, deployed,
 * updated and removed as `docker stack` does it.
 *
 *   stacks/                    one directory per stack; mkdir NAME starts one,
 *                              rmdir NAME removes it (docker stack rm)
 *   stacks/NAME/compose.yml    write: deploy or update (at close); read: the
 *                              file rendered from the live specs
 *               (also compose.yaml, docker-compose.yml, docker-compose.yaml)
 *   stacks/NAME/.env, FILE     files the compose file names (env_file, the
 *                              file: of secrets and configs), held in memory
 *   stacks/NAME/ctl            deploy [--prune] | rm
 *   stacks/NAME/status         per service: RUNNING/DESIRED, converged, error
 *   stacks/NAME/services/SVC   -> ../../../services/NAME_SVC
 *
 * The files copied into a stack directory are held by the daemon (it never
 * reads the writer's own filesystem), per swarm and stack, until the stack
 * is removed.  A deploy checks the whole file and every permission before
 * it makes anything, and removes again what it made when the engine fails
 * midway.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cmdline.h"
#include "compose.h"
#include "docker.h"
#include "map.h"
#include "model.h"
#include "objects.h"
#include "stacks.h"
#include "swarms.h"
#include "tree.h"

#define HELD_FILES_MAX 64
#define HELD_BYTES_MAX (8 << 20)
#define HELD_KEY (80 + NAME_MAX_ESCAPED + 2)

extern const struct node_ops stack_dir_ops, stack_compose_ops, stack_file_ops, stack_ctl_ops,
	stack_status_ops, stack_services_dir_ops, stack_service_link_ops;

static const char *const compose_names[] = { "compose.yaml", "compose.yml",
					      "docker-compose.yaml", "docker-compose.yml", NULL };

static bool is_compose_name(const char *name)
{
	for (int i = 0; compose_names[i]; i++)
		if (!strcmp(name, compose_names[i]))
			return true;
	return false;
}

/* ---- what the swarm says ---------------------------------------------------------- */

static const char *ns_of(json_t *labels)
{
	return json_string_value(json_object_get(labels, COMPOSE_LABEL_NAMESPACE));
}

void stacks_names(const struct swarm_cache *s, json_t *names)
{
	json_t *o;
	size_t i;

	json_array_foreach(s->services, i, o)
		if (ns_of(swarm_get(o, "Spec.Labels")))
			json_object_set_new(names, ns_of(swarm_get(o, "Spec.Labels")), json_true());
	json_array_foreach(s->networks, i, o)
		if (ns_of(json_object_get(o, "Labels")))
			json_object_set_new(names, ns_of(json_object_get(o, "Labels")), json_true());
	json_array_foreach(s->secrets, i, o)
		if (ns_of(swarm_get(o, "Spec.Labels")))
			json_object_set_new(names, ns_of(swarm_get(o, "Spec.Labels")), json_true());
	json_array_foreach(s->configs, i, o)
		if (ns_of(swarm_get(o, "Spec.Labels")))
			json_object_set_new(names, ns_of(swarm_get(o, "Spec.Labels")), json_true());
}

static bool in_stack(json_t *labels, const char *stack)
{
	const char *ns = ns_of(labels);

	return ns && !strcmp(ns, stack);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(swarm_str(*(json_t *const *)a, "Spec.Name") ?: "",
		      swarm_str(*(json_t *const *)b, "Spec.Name") ?: "");
}

/* The stack's services sorted by name; *n of them (free the array). */
static json_t **stack_services(const struct swarm_cache *s, const char *stack, size_t *n)
{
	json_t **v = calloc(json_array_size(s->services) + 1, sizeof(*v)), *o;
	size_t i;

	if (!v)
		abort();
	*n = 0;
	json_array_foreach(s->services, i, o)
		if (in_stack(swarm_get(o, "Spec.Labels"), stack))
			v[(*n)++] = o;
	qsort(v, *n, sizeof(*v), by_name);
	return v;
}

static const char *short_name(const char *stack, const char *full)
{
	size_t l = strlen(stack);

	return full && !strncmp(full, stack, l) && full[l] == '_' ? full + l + 1 : full;
}

void stacks_status(const struct swarm_cache *s, const char *stack, struct buf *out)
{
	size_t n, i, k;
	json_t **v = stack_services(s, stack, &n), *t;

	for (i = 0; i < n; i++) {
		const char *sid = swarm_str(v[i], "ID") ?: "";
		long long run = json_integer_value(swarm_get(v[i], "ServiceStatus.RunningTasks"));
		long long want = json_integer_value(swarm_get(v[i], "ServiceStatus.DesiredTasks"));
		const char *us = swarm_str(v[i], "UpdateStatus.State");
		bool updating = us && (!strcmp(us, "updating") || !strcmp(us, "rollback_started"));
		json_t *newest = NULL;

		json_array_foreach(s->tasks, k, t) {
			if (strcmp(swarm_str(t, "ServiceID") ?: "", sid))
				continue;
			if (!newest || strcmp(swarm_str(t, "Status.Timestamp") ?: "",
					      swarm_str(newest, "Status.Timestamp") ?: "") > 0)
				newest = t;
		}
		const char *err = swarm_str(newest, "Status.Err");
		buf_printf(out, "%s %lld/%lld %s%s%s\n", short_name(stack, swarm_str(v[i], "Spec.Name")),
			   run, want, run == want && !updating ? "converged" : "converging",
			   err && *err ? " " : "", err && *err ? err : "");
	}
	free(v);
}

/* ---- the files held per stack ---------------------------------------------------------- */

struct held_file {
	char *name;
	unsigned char *data;
	size_t len;
};

struct held {
	bool made;                 /* made by mkdir: listed before it has objects */
	struct held_file *files;   /* the compose file among them, by its name */
	size_t n;
	char note[768];            /* what status adds: waiting for files, warnings */
	char key[];                /* "<swarm id>/<stack>" */
};

static pthread_mutex_t held_lock = PTHREAD_MUTEX_INITIALIZER;
static struct map helds = MAP_INIT;
/* One deploy or removal at a time: two at once would both create. */
static pthread_mutex_t deploy_lock = PTHREAD_MUTEX_INITIALIZER;

static void swarm_id(struct host *h, char *out, size_t len)
{
	pthread_rwlock_rdlock(&h->lock);
	snprintf(out, len, "%s", h->swarm ? h->swarm->id : "");
	pthread_rwlock_unlock(&h->lock);
}

static void held_key(struct host *h, const char *stack, char *out, size_t len)
{
	char id[80];

	swarm_id(h, id, sizeof(id));
	snprintf(out, len, "%s/%s", id, stack);
}

static void held_file_free(struct held_file *f)
{
	if (f->data)
		sodium_memzero(f->data, f->len);
	free(f->data);
	free(f->name);
}

static void held_free(struct held *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->n; i++)
		held_file_free(&h->files[i]);
	free(h->files);
	free(h);
}

/* With held_lock: the stack's entry, made if create. */
static struct held *held_get(const char *key, bool create)
{
	struct held *h = map_get(&helds, key);

	if (!h && create) {
		h = calloc(1, sizeof(*h) + strlen(key) + 1);
		if (!h)
			abort();
		strcpy(h->key, key);
		map_put(&helds, h->key, h);
	}
	return h;
}

static struct held_file *held_find(struct held *h, const char *name)
{
	for (size_t i = 0; h && i < h->n; i++)
		if (!strcmp(h->files[i].name, name))
			return &h->files[i];
	return NULL;
}

/* The compose file held (any of its names). */
static struct held_file *held_compose(struct held *h)
{
	for (size_t i = 0; h && i < h->n; i++)
		if (is_compose_name(h->files[i].name))
			return &h->files[i];
	return NULL;
}

static int held_put(struct held *h, const char *name, const char *data, size_t len)
{
	struct held_file *f = held_find(h, name);
	size_t total = len;

	for (size_t i = 0; i < h->n; i++)
		if (&h->files[i] != f)
			total += h->files[i].len;
	if (total > HELD_BYTES_MAX)
		return tree_fail(-EFBIG, "a stack directory holds at most %d bytes", HELD_BYTES_MAX);
	/* one compose file: a new name replaces the old one */
	if (is_compose_name(name)) {
		struct held_file *old = held_compose(h);
		if (old && old != f) {
			held_file_free(old);
			*old = h->files[--h->n];
			f = held_find(h, name);
		}
	}
	if (!f) {
		if (h->n >= HELD_FILES_MAX)
			return tree_fail(-ENOSPC, "a stack directory holds at most %d files",
					 HELD_FILES_MAX);
		struct held_file *v = realloc(h->files, (h->n + 1) * sizeof(*v));
		if (!v)
			abort();
		h->files = v;
		f = &h->files[h->n++];
		memset(f, 0, sizeof(*f));
		f->name = strdup(name);
		if (!f->name)
			abort();
	}
	unsigned char *copy = malloc(len + 1);
	if (!copy)
		abort();
	memcpy(copy, data, len);
	copy[len] = '\0';
	if (f->data)
		sodium_memzero(f->data, f->len);
	free(f->data);
	f->data = copy;
	f->len = len;
	return 0;
}

/* A refused or failed compose file is not kept: what was held before
 * (before->name NULL: nothing) is held again, so that a read, or the next
 * `deploy`, sees the stack as it was.  The other files stay: they are the
 * next try's inputs. */
static void held_restore(const char *key, const char *name, const struct held_file *before)
{
	pthread_mutex_lock(&held_lock);
	struct held *h = held_get(key, false);
	struct held_file *f = held_find(h, name);
	if (f) {
		held_file_free(f);
		*f = h->files[--h->n];
	}
	if (h && before->name)
		held_put(h, before->name, (const char *)before->data, before->len);
	pthread_mutex_unlock(&held_lock);
}

/* A copy of what a deploy needs, taken under the lock. */
struct snapshot {
	struct held_file *files;
	size_t n;
};

static void snapshot_take(struct held *h, struct snapshot *s)
{
	s->n = h ? h->n : 0;
	s->files = calloc(s->n + 1, sizeof(*s->files));
	if (!s->files)
		abort();
	for (size_t i = 0; i < s->n; i++) {
		s->files[i].name = strdup(h->files[i].name);
		s->files[i].data = malloc(h->files[i].len + 1);
		if (!s->files[i].name || !s->files[i].data)
			abort();
		memcpy(s->files[i].data, h->files[i].data, h->files[i].len + 1);
		s->files[i].len = h->files[i].len;
	}
}

static void snapshot_free(struct snapshot *s)
{
	for (size_t i = 0; i < s->n; i++)
		held_file_free(&s->files[i]);
	free(s->files);
}

static int snapshot_get(void *arg, const char *name, const char **data, size_t *len)
{
	struct snapshot *s = arg;

	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->files[i].name, name)) {
			*data = (const char *)s->files[i].data;
			*len = s->files[i].len;
			return 0;
		}
	return -ENOENT;
}

static struct held_file *snapshot_compose(struct snapshot *s)
{
	for (size_t i = 0; i < s->n; i++)
		if (is_compose_name(s->files[i].name))
			return &s->files[i];
	return NULL;
}

static void note_set(struct host *h, const char *stack, const char *text)
{
	char key[HELD_KEY];

	held_key(h, stack, key, sizeof(key));
	pthread_mutex_lock(&held_lock);
	struct held *e = held_get(key, text && *text);
	if (e)
		snprintf(e->note, sizeof(e->note), "%s", text ? text : "");
	pthread_mutex_unlock(&held_lock);
}

/* ---- engine calls ------------------------------------------------------------------------ */

/* The engine's words of the last call that failed on this thread. */
static __thread char engine_msg[512];

/* One call; the answer's "ID" (if any) into id. */
static int call(struct host *h, const char *method, const char *path, json_t *body, bool create,
		char *id, size_t idlen)
{
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	struct docker_call dc = {
		.method = method, .path = path, .body = text, .create = create, .timeout_ms = 30000,
	};
	struct docker_reply r;
	int err = host_call(h, &dc, &r);

	free(text);
	if (err) {
		snprintf(engine_msg, sizeof(engine_msg), "%s", r.message);
		tree_fail(err, "%s", r.message);
	} else if (id) {
		json_t *j = json_loadb(r.body.data ? r.body.data : "", r.body.len, 0, NULL);
		snprintf(id, idlen, "%s", json_string_value(json_object_get(j, "ID")) ?:
					  json_string_value(json_object_get(j, "Id")) ?: "");
		json_decref(j);
	}
	docker_reply_free(&r);
	return err;
}

static int remove_object(struct host *h, const char *kind, const char *id)
{
	char path[320];
	int err;

	if (!strcmp(kind, "service"))
		err = docker_path(path, sizeof(path), "/services/%s", id);
	else if (!strcmp(kind, "secret"))
		err = docker_path(path, sizeof(path), "/secrets/%s", id);
	else if (!strcmp(kind, "config"))
		err = docker_path(path, sizeof(path), "/configs/%s", id);
	else
		err = docker_path(path, sizeof(path), "/networks/%s", id);
	if (err)
		return tree_fail(err, "%s id %s cannot be named in an API path", kind, id);
	err = call(h, "DELETE", path, NULL, false, NULL, 0);
	if ((!err || err == -ENOENT) && !strcmp(kind, "network"))
		swarm_network_removed(id);
	return err;
}

/* What the swarm has of the stack, copied under the lock. */
struct live {
	json_t *services;    /* the stack's, [Service] */
	json_t *networks;    /* all the swarm's */
	json_t *secrets, *configs;   /* all */
};

static int live_take(struct host *h, struct live *l)
{
	int err = 0;

	memset(l, 0, sizeof(*l));
	pthread_rwlock_rdlock(&h->lock);
	if (!h->swarm) {
		err = -ENOENT;
	} else {
		l->services = json_deep_copy(h->swarm->services);
		l->networks = json_deep_copy(h->swarm->networks);
		l->secrets = json_deep_copy(h->swarm->secrets);
		l->configs = json_deep_copy(h->swarm->configs);
	}
	pthread_rwlock_unlock(&h->lock);
	return err;
}

static void live_free(struct live *l)
{
	json_decref(l->services);
	json_decref(l->networks);
	json_decref(l->secrets);
	json_decref(l->configs);
}

static json_t *live_find(json_t *list, const char *field, const char *name)
{
	json_t *o;
	size_t i;

	json_array_foreach(list, i, o) {
		const char *v = swarm_str(o, field);
		if (v && !strcmp(v, name))
			return o;
	}
	return NULL;
}

/* ---- deploy ---------------------------------------------------------------------------- */

/* Why a deploy failed, kept for undo()'s message (tree_fail's is the
 * caller's error only once the write ends). */
static __thread char failure[768];

static int fail_why(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail_why(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(failure, sizeof(failure), fmt, ap);
	va_end(ap);
	tree_fail(err, "%s", failure);
	return err;
}

struct made {
	const char *kind;
	char id[80];
	char name[256];
};

struct deploy {
	const struct caller *c;
	struct host *h;
	const char *stack;
	struct compose_plan plan;
	struct live live;
	struct made *made;
	size_t nmade;
	json_t *updated, *created, *removed;   /* names, for the audit */
	json_t *restore;   /* [{id, name, spec[, removed]}]: services as they were */
	json_t *ids;                           /* secret/config name -> id */
};

static void made_add(struct deploy *d, const char *kind, const char *id, const char *name)
{
	struct made *v = realloc(d->made, (d->nmade + 1) * sizeof(*v));

	if (!v)
		abort();
	d->made = v;
	v = &d->made[d->nmade++];
	v->kind = kind;
	snprintf(v->id, sizeof(v->id), "%s", id);
	snprintf(v->name, sizeof(v->name), "%s", name);
	json_array_append_new(d->created, json_pack("s+++", kind, " ", "", name));
}

/* swarm_update's edit: the spec becomes (a copy of) arg. */
static int edit_replace(json_t *spec, void *arg)
{
	json_t *body = json_deep_copy(arg);
	int err = body && !json_object_clear(spec) && !json_object_update(spec, body) ? 0 : -ENOMEM;

	json_decref(body);
	return err;
}

/* Puts back the spec a service had before this deploy updated it: an
 * update of its current version to that spec, as `docker service
 * rollback` would (the engine's PreviousSpec may be someone else's).  A
 * service the deploy's prune removed is made again from its spec. */
static int restore_service(struct host *h, json_t *r)
{
	if (json_is_true(json_object_get(r, "removed")))
		return call(h, "POST", "/services/create", json_object_get(r, "spec"), true,
			    NULL, 0);
	return swarm_update_unsettled(h, "services", json_string_value(json_object_get(r, "id")),
				      NULL, edit_replace, json_object_get(r, "spec"));
}

/* An engine failure midway: the services this deploy updated get their
 * specs back, then what it made goes again, newest first (services
 * before the networks, secrets and configs they use). */
static void undo(struct deploy *d, const char *why)
{
	char msg[2048];
	struct buf undone = BUF_INIT, restored = BUF_INIT, kept = BUF_INIT;
	int failures = 0;
	size_t i;

	for (i = json_array_size(d->restore); i > 0; i--) {
		json_t *r = json_array_get(d->restore, i - 1);
		const char *name = json_string_value(json_object_get(r, "name"));
		struct buf *to = restore_service(d->h, r) ? &kept : &restored;

		buf_printf(to, "%s%s", to->len ? ", " : "", name);
	}
	for (i = d->nmade; i > 0; i--) {
		struct made *m = &d->made[i - 1];
		if (remove_object(d->h, m->kind, m->id))
			failures++;
		else
			buf_printf(&undone, "%s%s %s", undone.len ? ", " : "", m->kind, m->name);
	}
	snprintf(msg, sizeof(msg), "%s; %s%s%s%s%s%s%s", why,
		 d->nmade ? "removed again what this deploy had created: " : "nothing had been created",
		 undone.data ? undone.data : "",
		 failures ? " (some of it could not be removed)" : "",
		 restored.len ? "; put back as it was before this deploy: service " : "",
		 restored.len ? restored.data : "",
		 kept.len ? "; could not put back as it was before this deploy: service " : "",
		 kept.len ? kept.data : "");
	buf_free(&undone);
	buf_free(&restored);
	buf_free(&kept);
	tree_fail(0, "%s", msg);
}

static bool is_plan_network(struct deploy *d, const char *target)
{
	return json_object_get(d->plan.networks, target) != NULL;
}

static int att_cmp(const void *a, const void *b)
{
	return strcmp(json_string_value(json_object_get(*(json_t *const *)a, "Target")) ?: "",
		      json_string_value(json_object_get(*(json_t *const *)b, "Target")) ?: "");
}

/* Below admin: every body through the allowlist, the stack's own networks
 * (not made yet, so not to be looked up) judged as network bodies. */
static int judge(struct deploy *d)
{
	const char *k;
	json_t *spec;
	int err = 0;

	if (tree_level(d->c, d->h) >= LEVEL_ADMIN)
		return 0;
	if (json_array_size(d->plan.admin_fields)) {
		json_t *f = json_array_get(d->plan.admin_fields, 0);
		return tree_deny("%s needs admin (docker stack deploy would ignore it; dockfs "
				 "refuses an operator's file that asks for it)", json_string_value(f));
	}
	json_t *nb;
	json_object_foreach(d->plan.networks, k, nb) {
		json_t *body = json_deep_copy(nb);
		err = objects_judge_body(d->c, d->h, ALLOW_NETWORK, &body);
		if (!err)
			json_object_set(d->plan.networks, k, body);
		json_decref(body);
		if (err)
			return err;
	}
	json_object_foreach(d->plan.services, k, spec) {
		json_t *copy = json_deep_copy(spec), *own = json_array(), *att;
		json_t *nets = swarm_get(copy, "TaskTemplate.Networks");
		size_t i;
		for (i = json_array_size(nets); i > 0; i--) {
			att = json_array_get(nets, i - 1);
			const char *t = json_string_value(json_object_get(att, "Target"));
			if (t && is_plan_network(d, t)) {
				if (json_object_get(att, "DriverOpts")) {
					json_decref(copy);
					json_decref(own);
					return tree_deny("services.%s.networks.%s.driver_opts needs admin", k,
							 t);
				}
				json_array_append(own, att);
				json_array_remove(nets, i - 1);
			}
		}
		err = objects_judge_body(d->c, d->h, ALLOW_SERVICE, &copy);
		if (!err) {
			json_t *tt = json_object_get(copy, "TaskTemplate");
			json_t *merged = json_object_get(tt, "Networks");
			if (!json_is_array(merged)) {
				merged = json_array();
				json_object_set_new(tt, "Networks", merged);
			}
			json_array_extend(merged, own);
			size_t n = json_array_size(merged);
			json_t **v = calloc(n + 1, sizeof(*v));
			if (!v)
				abort();
			for (i = 0; i < n; i++)
				v[i] = json_incref(json_array_get(merged, i));
			qsort(v, n, sizeof(*v), att_cmp);
			json_array_clear(merged);
			for (i = 0; i < n; i++)
				json_array_append_new(merged, v[i]);
			free(v);
			json_object_set(d->plan.services, k, copy);
		}
		json_decref(own);
		json_decref(copy);
		if (err)
			return err;
	}
	return 0;
}

/* Checks the plan against the swarm; nothing is made yet. */
static int check(struct deploy *d, bool forced, bool *waiting, char *note, size_t notelen)
{
	json_t *m;
	size_t i;

	*waiting = false;
	note[0] = '\0';
	json_array_foreach(d->plan.missing, i, m) {
		const char *kind = json_string_value(json_object_get(m, "kind"));
		const char *file = json_string_value(json_object_get(m, "file"));
		const char *name = json_string_value(json_object_get(m, "name"));
		bool exists = strcmp(kind, "env_file") &&
			      live_find(!strcmp(kind, "secret") ? d->live.secrets : d->live.configs,
					"Spec.Name", name);
		if (exists)
			continue; /* kept as it is */
		if (!forced) {
			size_t l = strlen(note);
			snprintf(note + l, notelen - l, "%s%s", l ? " " : "", file);
			*waiting = true;
			continue;
		}
		return tree_fail(-EINVAL, "%s %s: %s is not in the stack directory (copy it there "
				 "first)", kind, name, file);
	}
	if (*waiting)
		return 0;
	json_array_foreach(d->plan.external_networks, i, m) {
		const char *name = json_string_value(m);
		if (!strcmp(name, "host") || !strcmp(name, "bridge") || !strcmp(name, "none"))
			continue;
		json_t *net = live_find(d->live.networks, "Name", name);
		if (!net)
			net = live_find(d->live.networks, "Id", name);
		if (!net)
			return tree_fail(-EINVAL, "network \"%s\" is declared as external, but could not "
					 "be found. You need to create a swarm-scoped network before "
					 "the stack is deployed", name);
	}
	/* a name the stack would make, taken by an object of no stack (or
	 * of another): the engine would refuse it midway */
	const char *k;
	json_t *v;
	json_object_foreach(d->plan.networks, k, v) {
		json_t *net = live_find(d->live.networks, "Name", k);
		if (net && !in_stack(json_object_get(net, "Labels"), d->stack))
			return tree_fail(-EEXIST, "network %s exists and is not of stack %s", k, d->stack);
	}
	json_object_foreach(d->plan.services, k, v) {
		const char *name = json_string_value(json_object_get(v, "Name"));
		json_t *svc = live_find(d->live.services, "Spec.Name", name);
		if (svc && !in_stack(swarm_get(svc, "Spec.Labels"), d->stack))
			return tree_fail(-EEXIST, "service %s exists and is not of stack %s", name,
					 d->stack);
	}
	return judge(d);
}

static int put_objects(struct deploy *d, bool secret)
{
	json_t *list = secret ? d->plan.secrets : d->plan.configs, *spec;
	json_t *live = secret ? d->live.secrets : d->live.configs;
	const char *kind = secret ? "secret" : "config";
	char path[320], id[80];
	size_t i;
	int err;

	json_array_foreach(list, i, spec) {
		const char *name = json_string_value(json_object_get(spec, "Name"));
		json_t *obj = live_find(live, "Spec.Name", name);
		if (obj) {
			const char *oid = swarm_str(obj, "ID") ?: "";
			json_object_set_new(d->ids, name, json_string(oid));
			if (!json_object_get(spec, "Data"))
				continue; /* not copied in: kept */
			long long version = json_integer_value(swarm_get(obj, "Version.Index"));
			err = secret ? docker_path(path, sizeof(path), "/secrets/%s/update?version=%lld",
						   oid, version)
				     : docker_path(path, sizeof(path), "/configs/%s/update?version=%lld",
						   oid, version);
			if (!err)
				err = call(d->h, "POST", path, spec, false, NULL, 0);
			if (err)
				return fail_why(err, "failed to update %s %s: %s (only the labels of a "
						"secret or config can change)", kind, name, engine_msg);
			json_array_append_new(d->updated, json_pack("s++", kind, " ", name));
			continue;
		}
		err = call(d->h, "POST", secret ? "/secrets/create" : "/configs/create", spec, true, id,
			   sizeof(id));
		if (err)
			return fail_why(err, "failed to create %s %s: %s", kind, name, engine_msg);
		made_add(d, kind, id, name);
		json_object_set_new(d->ids, name, json_string(id));
	}
	return 0;
}

static void resolve_ids(struct deploy *d, json_t *spec)
{
	json_t *cs = swarm_get(spec, "TaskTemplate.ContainerSpec"), *ref;
	size_t i;

	json_array_foreach(json_object_get(cs, "Secrets"), i, ref) {
		const char *name = json_string_value(json_object_get(ref, "SecretName"));
		json_t *id = json_object_get(d->ids, name ?: "");
		json_t *obj = id ? NULL : live_find(d->live.secrets, "Spec.Name", name ?: "");
		if (id)
			json_object_set(ref, "SecretID", id);
		else if (obj)
			json_object_set_new(ref, "SecretID", json_string(swarm_str(obj, "ID") ?: ""));
	}
	json_array_foreach(json_object_get(cs, "Configs"), i, ref) {
		const char *name = json_string_value(json_object_get(ref, "ConfigName"));
		json_t *id = json_object_get(d->ids, name ?: "");
		json_t *obj = id ? NULL : live_find(d->live.configs, "Spec.Name", name ?: "");
		if (id)
			json_object_set(ref, "ConfigID", id);
		else if (obj)
			json_object_set_new(ref, "ConfigID", json_string(swarm_str(obj, "ID") ?: ""));
	}
	/* a config as the credential spec: named in the plan, the id here,
	 * that of its runtime reference just resolved */
	json_t *cred = swarm_get(cs, "Privileges.CredentialSpec");
	const char *config = swarm_str(cred, "Config");
	json_array_foreach(json_object_get(cs, "Configs"), i, ref) {
		if (config && json_object_get(ref, "Runtime") &&
		    !strcmp(swarm_str(ref, "ConfigName") ?: "", config)) {
			json_object_set(cred, "Config", json_object_get(ref, "ConfigID"));
			break;
		}
	}
}

struct to_plan {
	json_t *plan;   /* the plan's spec, not changed */
	json_t *was;    /* the spec the engine had, for undo(); ours */
};

/* The service's spec (as the engine has it now) becomes the plan's, as
 * the CLI makes it: the image the engine resolved stays when the file's
 * image did not change; ForceUpdate is kept. */
static int edit_to_plan(json_t *spec, void *arg)
{
	struct to_plan *t = arg;
	const char *image = swarm_str(t->plan, "TaskTemplate.ContainerSpec.Image");
	const char *was = swarm_str(spec, "Labels." COMPOSE_LABEL_IMAGE);
	json_t *pinned = image && was && !strcmp(image, was) &&
			 swarm_str(spec, "TaskTemplate.ContainerSpec.Image") ?
			 json_incref(swarm_get(spec, "TaskTemplate.ContainerSpec.Image")) : NULL;
	json_t *fu = json_incref(swarm_get(spec, "TaskTemplate.ForceUpdate"));
	int err;

	json_decref(t->was);   /* an earlier try's */
	t->was = json_deep_copy(spec);
	err = t->was ? edit_replace(spec, t->plan) : -ENOMEM;
	if (!err && pinned)
		json_object_set(swarm_get(spec, "TaskTemplate.ContainerSpec"), "Image", pinned);
	if (!err && fu)
		json_object_set(json_object_get(spec, "TaskTemplate"), "ForceUpdate", fu);
	json_decref(pinned);
	json_decref(fu);
	return err;
}
static int put_services(struct deploy *d)
{
	const char *k;
	json_t *spec;
	char id[80];
	int err;

	json_object_foreach(d->plan.services, k, spec) {
		const char *name = json_string_value(json_object_get(spec, "Name"));
		json_t *svc = live_find(d->live.services, "Spec.Name", name);
		resolve_ids(d, spec);
		if (!svc) {
			err = call(d->h, "POST", "/services/create", spec, true, id, sizeof(id));
			if (err)
				return fail_why(err, "failed to create service %s: %s", name, engine_msg);
			made_add(d, "service", id, name);
			continue;
		}
		const char *sid = swarm_str(svc, "ID") ?: "";
		struct to_plan t = { .plan = spec };
		err = swarm_update_unsettled(d->h, "services", sid, NULL, edit_to_plan, &t);
		if (err) {
			json_decref(t.was);
			return fail_why(err, "failed to update service %s: %s", name,
					tree_fail_message());
		}
		json_array_append_new(d->updated, json_pack("s+", "service ", name));
		json_array_append_new(d->restore, json_pack("{s:s, s:s, s:o}", "id", sid,
							    "name", name, "spec", t.was));
	}
	return 0;
}

static int put_networks(struct deploy *d)
{
	const char *k;
	json_t *body;
	char id[80];
	int err;

	json_object_foreach(d->plan.networks, k, body) {
		json_t *net = live_find(d->live.networks, "Name", k);
		if (net)
			continue;
		err = call(d->h, "POST", "/networks/create", body, true, id, sizeof(id));
		if (err)
			return fail_why(err, "failed to create network %s: %s", k, engine_msg);
		made_add(d, "network", id, k);
	}
	return 0;
}

static int prune(struct deploy *d)
{
	json_t *svc;
	size_t i;
	int err;

	json_array_foreach(d->live.services, i, svc) {
		if (!in_stack(swarm_get(svc, "Spec.Labels"), d->stack))
			continue;
		const char *name = short_name(d->stack, swarm_str(svc, "Spec.Name"));
		if (json_object_get(d->plan.services, name ?: ""))
			continue;
		err = remove_object(d->h, "service", swarm_str(svc, "ID") ?: "");
		if (err)
			return fail_why(err, "failed to remove service %s: %s",
					swarm_str(svc, "Spec.Name") ?: "", engine_msg);
		json_array_append_new(d->removed, json_pack("s+", "service ",
							    swarm_str(svc, "Spec.Name") ?: ""));
		json_array_append_new(d->restore, json_pack("{s:s, s:O, s:b}", "name",
							    swarm_str(svc, "Spec.Name") ?: "",
							    "spec", swarm_get(svc, "Spec"),
							    "removed", 1));
	}
	return 0;
}

static void audit_details(struct deploy *d, const char *verb)
{
	json_t *o = json_pack("{s:s, s:s, s:O, s:O, s:O}", "stack", d->stack, "action", verb,
			      "created", d->created, "updated", d->updated, "removed", d->removed);
	char *text = json_dumps(o, JSON_COMPACT);

	tree_set_details(text);
	free(text);
	json_decref(o);
}

/* Deploys the compose file held for the stack.  forced (ctl deploy):
 * files still missing are an error; otherwise they make it wait (0). */
static int deploy(const struct caller *c, struct host *h, const char *stack, bool do_prune,
		  bool forced)
{
	struct snapshot snap;
	struct deploy d = { .c = c, .h = h, .stack = stack };
	char key[HELD_KEY], why[512], note[512];
	bool waiting;
	int err;

	held_key(h, stack, key, sizeof(key));
	pthread_mutex_lock(&deploy_lock);
	pthread_mutex_lock(&held_lock);
	snapshot_take(held_get(key, false), &snap);
	pthread_mutex_unlock(&held_lock);
	struct held_file *cf = snapshot_compose(&snap);
	const char *env = NULL;
	size_t envlen = 0;
	struct compose_files files = { snapshot_get, &snap };
	if (snapshot_get(&snap, ".env", &env, &envlen))
		env = NULL;
	if (!cf) {
		err = tree_fail(-EINVAL, "no compose file to deploy: write compose.yml (or "
				"compose.yaml, docker-compose.yml, docker-compose.yaml) first");
		goto out_snap;
	}
	tree_set_resource(stack);
	err = compose_plan_make(stack, (const char *)cf->data, cf->len, env, envlen, &files, &d.plan,
				why, sizeof(why));
	if (err) {
		err = tree_fail(-EINVAL, "%s", why);
		goto out_snap;
	}
	d.updated = json_array();
	d.created = json_array();
	d.removed = json_array();
	d.restore = json_array();
	d.ids = json_object();
	if ((err = live_take(h, &d.live)))
		goto out;
	err = check(&d, forced, &waiting, note, sizeof(note));
	if (err)
		goto out;
	if (waiting) {
		char text[700];
		snprintf(text, sizeof(text), "# waiting for: %s (copy them into the stack directory; "
			 "or echo deploy > ctl)", note);
		note_set(h, stack, text);
		goto out;
	}
	if (do_prune && (err = prune(&d)))
		goto failed;
	if ((err = put_networks(&d)) || (err = put_objects(&d, true)) ||
	    (err = put_objects(&d, false)) || (err = put_services(&d)))
		goto failed;
	/* status: what the CLI would have warned about */
	{
		struct buf w = BUF_INIT;
		json_t *v;
		size_t i;
		json_array_foreach(d.plan.warnings, i, v)
			buf_printf(&w, "%s# warning: %s", w.len ? "\n" : "", json_string_value(v));
		json_array_foreach(d.plan.unset, i, v)
			buf_printf(&w, "%s# warning: the %s variable is not set. Defaulting to a blank "
				   "string.", w.len ? "\n" : "", json_string_value(v));
		note_set(h, stack, w.data ? w.data : "");
		buf_free(&w);
	}
	pthread_mutex_lock(&held_lock);
	struct held *e = held_get(key, false);
	if (e)
		e->made = false; /* the swarm's labels list it now */
	pthread_mutex_unlock(&held_lock);
	audit_details(&d, do_prune ? "deploy --prune" : "deploy");
	goto out;
failed:
	audit_details(&d, "deploy (failed)");
	undo(&d, failure);
out:
	if (d.live.services || d.live.networks)
		swarm_settle(h);
	free(d.made);
	json_decref(d.updated);
	json_decref(d.created);
	json_decref(d.removed);
	json_decref(d.restore);
	json_decref(d.ids);
	live_free(&d.live);
	compose_plan_free(&d.plan);
out_snap:
	snapshot_free(&snap);
	pthread_mutex_unlock(&deploy_lock);
	return err;
}

/* docker stack rm: services, secrets, configs, networks. */
static int stack_remove(const struct caller *c, struct host *h, const char *stack)
{
	struct live l;
	char key[HELD_KEY];
	int err, first = 0, failures = 0;
	json_t *o, *removed = json_array();
	size_t i;

	pthread_mutex_lock(&deploy_lock);
	tree_set_resource(stack);
	if ((err = live_take(h, &l))) {
		pthread_mutex_unlock(&deploy_lock);
		json_decref(removed);
		return err;
	}
	static const struct {
		const char *kind, *labels, *name, *id;
	} kinds[] = {
		{ "service", "Spec.Labels", "Spec.Name", "ID" },
		{ "secret", "Spec.Labels", "Spec.Name", "ID" },
		{ "config", "Spec.Labels", "Spec.Name", "ID" },
		{ "network", "Labels", "Name", "Id" },
	};
	json_t *lists[] = { l.services, l.secrets, l.configs, l.networks };
	for (size_t k = 0; k < 4; k++) {
		size_t n = json_array_size(lists[k]);
		json_t **v = calloc(n + 1, sizeof(*v));
		size_t m = 0;
		if (!v)
			abort();
		json_array_foreach(lists[k], i, o)
			if (in_stack(swarm_get(o, kinds[k].labels), stack))
				v[m++] = o;
		if (k == 0)
			qsort(v, m, sizeof(*v), by_name);
		for (i = 0; i < m; i++) {
			err = remove_object(h, kinds[k].kind, swarm_str(v[i], kinds[k].id) ?: "");
			if (err && err != -ENOENT) {
				failures++;
				if (!first)
					first = err;
			} else {
				json_array_append_new(removed, json_pack("s++", kinds[k].kind, " ",
									 swarm_str(v[i], kinds[k].name) ?: ""));
			}
		}
		free(v);
	}
	live_free(&l);
	held_key(h, stack, key, sizeof(key));
	pthread_mutex_lock(&held_lock);
	held_free(map_del(&helds, key));
	pthread_mutex_unlock(&held_lock);
	json_t *details = json_pack("{s:s, s:s, s:o}", "stack", stack, "action", "rm", "removed",
				    removed);
	char *text = json_dumps(details, JSON_COMPACT);
	tree_set_details(text);
	free(text);
	json_decref(details);
	swarm_settle(h);
	pthread_mutex_unlock(&deploy_lock);
	if (failures)
		return tree_fail(first, "failed to remove some resources from stack %s", stack);
	return 0;
}

bool stacks_made(const char *swarm_id, const char *stack)
{
	char key[HELD_KEY];

	snprintf(key, sizeof(key), "%s/%s", swarm_id, stack);
	pthread_mutex_lock(&held_lock);
	struct held *h = held_get(key, false);
	bool made = h && h->made;
	pthread_mutex_unlock(&held_lock);
	return made;
}

/* ---- stacks/ --------------------------------------------------------------------------------- */

static int stk_stat(const struct caller *c, const struct node *n, struct tree_stat *st)
{
	pthread_rwlock_rdlock(&n->host->lock);
	if (n->host->swarm)
		st->mtime = n->host->swarm->changed;
	pthread_rwlock_unlock(&n->host->lock);
	return 0;
}

struct made_ctx {
	const char *prefix;
	json_t *names;
};

static void made_cb(const char *key, void *value, void *arg)
{
	struct made_ctx *m = arg;
	struct held *h = value;
	size_t l = strlen(m->prefix);

	if (h->made && !strncmp(key, m->prefix, l))
		json_object_set_new(m->names, key + l, json_true());
}

/* Every stack of the swarm: the swarm's labels and the directories made. */
static json_t *all_stacks(struct host *h)
{
	json_t *names = json_object();
	char prefix[96];

	pthread_rwlock_rdlock(&h->lock);
	if (h->swarm) {
		stacks_names(h->swarm, names);
		snprintf(prefix, sizeof(prefix), "%s/", h->swarm->id);
	} else {
		prefix[0] = '\0';
	}
	pthread_rwlock_unlock(&h->lock);
	if (prefix[0]) {
		struct made_ctx m = { prefix, names };
		pthread_mutex_lock(&held_lock);
		map_foreach(&helds, made_cb, &m);
		pthread_mutex_unlock(&held_lock);
	}
	return names;
}

static int stacks_lookup(const struct caller *c, const struct node *dir, const char *name,
			 struct node *child)
{
	json_t *names = all_stacks(dir->host);
	bool found = json_object_get(names, name) != NULL;

	json_decref(names);
	if (!found)
		return -ENOENT;
	node_child(child, dir, &stack_dir_ops);
	snprintf(child->key, sizeof(child->key), "%s", name);
	return 0;
}

static int stacks_list(const struct caller *c, const struct node *dir, struct dirlist *out)
{
	json_t *names = all_stacks(dir->host), *v;
	const char *k;

	json_object_foreach(names, k, v)
		dirlist_add(out, k, NODE_DIR);
	json_decref(names);
	return 0;
}

static int stacks_mkdir(const struct caller *c, const struct node *dir, const char *name)
{
	char key[HELD_KEY];

	if (!compose_stack_name_valid(name))
		return tree_fail(-EINVAL, "stack names are [a-zA-Z0-9][a-zA-Z0-9_-]*, at most 63");
	json_t *names = all_stacks(dir->host);
	bool exists = json_object_get(names, name) != NULL;
	json_decref(names);
	if (exists)
		return -EEXIST;
	held_key(dir->host, name, key, sizeof(key));
	tree_set_resource(name);
	pthread_mutex_lock(&held_lock);
	/* what was held for a stack of this name that has gone is dropped */
	held_free(map_del(&helds, key));
	struct held *h = held_get(key, true);
	h->made = true;
	pthread_mutex_unlock(&held_lock);
	return 0;
}

static int stacks_rmdir(const struct caller *c, const struct node *dir, const char *name)
{
	return stack_remove(c, dir->host, name);
}

const struct node_ops swarm_stacks_dir_ops = {
	.type = NODE_DIR,
	.resource = "stack",
	.read_level = LEVEL_VIEWER,
	.write_level = LEVEL_OPERATOR,
	.collection = true,
	.error_file = true,
	.lookup = stacks_lookup,
	.list = stacks_list,
	.stat = stk_stat,
	.mkdir = stacks_mkdir,
	.rmdir = stacks_rmdir,
};

/* ---- stacks/NAME/ ------------------------------------------------------------------------------ */

static bool reserved(const char *name)
{
	return !strcmp(name, "ctl") || !strcmp(name, "status") || !strcmp(name, "services") ||
	       !strcmp(name, "error");
}

static bool held_has(struct host *h, const char *stack, const char *name)
{
	char key[HELD_KEY];

	held_key(h, stack, key, sizeof(key));
	pthread_mutex_lock(&held_lock);
	bool has = held_find(held_get(key, false), name) != NULL;
	pthread_mutex_unlock(&held_lock);
	return has;
}

static int stack_lookup(const struct caller *c, const struct node *dir, const char *name,
			struct node *child)
{
	const struct node_ops *ops = NULL;

	if (!strcmp(name, "ctl"))
		ops = &stack_ctl_ops;
	else if (!strcmp(name, "status"))
		ops = &stack_status_ops;
	else if (!strcmp(name, "services"))
		ops = &stack_services_dir_ops;
	else if (is_compose_name(name))
		ops = &stack_compose_ops;
	else if (held_has(dir->host, dir->key, name))
		ops = &stack_file_ops;
	if (!ops)
		return -ENOENT;
	node_child(child, dir, ops);
	snprintf(child->sub, sizeof(child->sub), "%s", name);
	return 0;
}

static int stack_list(const struct caller *c, const struct node *dir, struct dirlist *out)
{
	char key[HELD_KEY];
	bool other_compose = false;

	dirlist_add(out, "ctl", NODE_FILE);
	dirlist_add(out, "status", NODE_FILE);
	dirlist_add(out, "services", NODE_DIR);
	held_key(dir->host, dir->key, key, sizeof(key));
	pthread_mutex_lock(&held_lock);
	struct held *h = held_get(key, false);
	for (size_t i = 0; h && i < h->n; i++) {
		if (is_compose_name(h->files[i].name) && strcmp(h->files[i].name, "compose.yml"))
			other_compose = true;
		if (strcmp(h->files[i].name, "compose.yml"))
			dirlist_add(out, h->files[i].name, NODE_FILE);
	}
	pthread_mutex_unlock(&held_lock);
	if (!other_compose)
		dirlist_add(out, "compose.yml", NODE_FILE);
	return 0;
}

static int stack_create(const struct caller *c, const struct node *dir, const char *name)
{
	char key[HELD_KEY];

	if (reserved(name) || !name[0] || strchr(name, '/') || !strcmp(name, ".") ||
	    !strcmp(name, ".."))
		return tree_fail(-EINVAL, "%s cannot be a file of a stack directory", name);
	held_key(dir->host, dir->key, key, sizeof(key));
	pthread_mutex_lock(&held_lock);
	int err = held_put(held_get(key, true), name, "", 0);
	pthread_mutex_unlock(&held_lock);
	return err;
}

static int stack_unlink(const struct caller *c, const struct node *dir, const char *name)
{
	char key[HELD_KEY];

	held_key(dir->host, dir->key, key, sizeof(key));
	pthread_mutex_lock(&held_lock);
	struct held *h = held_get(key, false);
	struct held_file *f = held_find(h, name);
	if (f) {
		held_file_free(f);
		*f = h->files[--h->n];
	}
	pthread_mutex_unlock(&held_lock);
	if (!f && !is_compose_name(name) && !reserved(name))
		return -ENOENT;
	return f ? 0 : -EPERM;
}

const struct node_ops stack_dir_ops = {
	.type = NODE_DIR,
	.resource = "stack",
	.read_level = LEVEL_VIEWER,
	.write_level = LEVEL_OPERATOR,
	.remove_level = LEVEL_OPERATOR,
	.error_file = true,
	.lookup = stack_lookup,
	.list = stack_list,
	.stat = stk_stat,
	.create = stack_create,
	.unlink = stack_unlink,
};

/* ---- the files ------------------------------------------------------------------------------------ */

static int compose_read(const struct caller *c, const struct node *n, struct buf *out)
{
	struct live l;
	char *text = NULL, key[HELD_KEY];
	int err = live_take(n->host, &l);
	bool has_services = false;
	json_t *o;
	size_t i;

	if (err)
		return err;
	json_array_foreach(l.services, i, o)
		has_services |= in_stack(swarm_get(o, "Spec.Labels"), n->key);
	if (!has_services) {
		/* not deployed (yet): what was written, if anything */
		held_key(n->host, n->key, key, sizeof(key));
		pthread_mutex_lock(&held_lock);
		struct held_file *f = held_compose(held_get(key, false));
		if (f)
			buf_append(out, (const char *)f->data, f->len);
		pthread_mutex_unlock(&held_lock);
		if (f) {
			live_free(&l);
			return 0;
		}
	}
	err = compose_render(n->key, l.services, l.networks, l.secrets, l.configs, &text);
	if (!err)
		buf_puts(out, text);
	free(text);
	live_free(&l);
	return err;
}

/* A file of the stack written: held; a compose file deploys, another file
 * deploys the compose file held when that was waiting for files or names
 * this one. */
static int held_write(const struct caller *c, const struct node *n, const char *data,
		      size_t len, struct buf *out)
{
	char key[HELD_KEY];
	bool compose = is_compose_name(n->sub), again = false;

	held_key(n->host, n->key, key, sizeof(key));
	pthread_mutex_lock(&held_lock);
	struct held *h = held_get(key, true);
	/* The compose file held before: it comes back if this one is refused. */
	struct held_file *cf = held_compose(h), before = { 0 };
	if (compose && cf) {
		before.name = strdup(cf->name);
		before.data = malloc(cf->len + 1);
		if (!before.name || !before.data)
			abort();
		memcpy(before.data, cf->data, cf->len + 1);
		before.len = cf->len;
	}
	int err = held_put(h, n->sub, data, len);
	cf = held_compose(h);
	if (!err && !compose && cf) {
		/* the compose file names this one (or it is the .env): deploy
		 * again with it, as a user who copies a directory expects */
		again = !strcmp(n->sub, ".env") || strstr(h->note, n->sub) ||
			memmem(cf->data, cf->len, n->sub, strlen(n->sub));
	}
	pthread_mutex_unlock(&held_lock);
	if (!err && (compose || again))
		err = deploy(c, n->host, n->key, false, false);
	if (err && compose)
		held_restore(key, n->sub, &before);
	held_file_free(&before);
	return err;
}

const struct node_ops stack_compose_ops = {
	.type = NODE_FILE,
	.resource = "stack",
	.read_level = LEVEL_VIEWER,
	.write_level = LEVEL_OPERATOR,
	.buffered = true,
	.stat = stk_stat,
	.read = compose_read,
	.write = held_write,
};

/* The other files may hold secrets: write-only. */
static int file_read(const struct caller *c, const struct node *n, struct buf *out)
{
	return -EACCES;
}

const struct node_ops stack_file_ops = {
	.type = NODE_FILE,
	.resource = "stack",
	.read_level = LEVEL_VIEWER,
	.write_level = LEVEL_OPERATOR,
	.remove_level = LEVEL_OPERATOR,
	.buffered = true,
	.secret = true,
	.stat = stk_stat,
	.read = file_read,
	.write = held_write,
};

static const char ctl_usage[] = "deploy [--prune]\nrm\n";

static int ctl_read(const struct caller *c, const struct node *n, struct buf *out)
{
	buf_puts(out, ctl_usage);
	return 0;
}

static int ctl_write(const struct caller *c, const struct node *n, const char *data, size_t len,
		     struct buf *out)
{
	struct argv a;
	int err = -EINVAL;

	if (cmdline_split(data, len, &a))
		return tree_fail(-EINVAL, "deploy [--prune], rm");
	if (a.n == 1 && !strcmp(a.v[0], "rm"))
		err = 1;
	else if (a.n >= 1 && !strcmp(a.v[0], "deploy") &&
		 (a.n == 1 || (a.n == 2 && !strcmp(a.v[1], "--prune"))))
		err = a.n == 2 ? 2 : 3;
	argv_free(&a);
	if (err == 1)
		return stack_remove(c, n->host, n->key);
	if (err == 2 || err == 3)
		return deploy(c, n->host, n->key, err == 2, true);
	return tree_fail(-EINVAL, "commands: deploy [--prune], rm");
}

const struct node_ops stack_ctl_ops = {
	.type = NODE_FILE,
	.resource = "stack",
	.read_level = LEVEL_VIEWER,
	.write_level = LEVEL_OPERATOR,
	.stat = stk_stat,
	.read = ctl_read,
	.write = ctl_write,
};

static int status_read(const struct caller *c, const struct node *n, struct buf *out)
{
	char key[HELD_KEY];

	pthread_rwlock_rdlock(&n->host->lock);
	if (n->host->swarm)
		stacks_status(n->host->swarm, n->key, out);
	pthread_rwlock_unlock(&n->host->lock);
	held_key(n->host, n->key, key, sizeof(key));
	pthread_mutex_lock(&held_lock);
	struct held *h = held_get(key, false);
	if (h && h->note[0])
		buf_printf(out, "%s\n", h->note);
	pthread_mutex_unlock(&held_lock);
	return 0;
}

const struct node_ops stack_status_ops = {
	.type = NODE_FILE,
	.resource = "stack",
	.read_level = LEVEL_VIEWER,
	.stat = stk_stat,
	.read = status_read,
};

/* ---- services/ ---------------------------------------------------------------------------------- */

static int links_list(const struct caller *c, const struct node *dir, struct dirlist *out)
{
	size_t n;

	pthread_rwlock_rdlock(&dir->host->lock);
	if (dir->host->swarm) {
		json_t **v = stack_services(dir->host->swarm, dir->key, &n);
		for (size_t i = 0; i < n; i++)
			dirlist_add(out, short_name(dir->key, swarm_str(v[i], "Spec.Name")), NODE_LINK);
		free(v);
	}
	pthread_rwlock_unlock(&dir->host->lock);
	return 0;
}

static int links_lookup(const struct caller *c, const struct node *dir, const char *name,
			struct node *child)
{
	char full[NAME_MAX_ESCAPED * 2];
	int err = -ENOENT;

	snprintf(full, sizeof(full), "%s_%s", dir->key, name);
	pthread_rwlock_rdlock(&dir->host->lock);
	json_t *svc = dir->host->swarm ? live_find(dir->host->swarm->services, "Spec.Name", full)
				       : NULL;
	if (svc && in_stack(swarm_get(svc, "Spec.Labels"), dir->key)) {
		node_child(child, dir, &stack_service_link_ops);
		snprintf(child->sub, sizeof(child->sub), "%s", name);
		err = 0;
	}
	pthread_rwlock_unlock(&dir->host->lock);
	return err;
}

const struct node_ops stack_services_dir_ops = {
	.type = NODE_DIR,
	.resource = "stack",
	.read_level = LEVEL_VIEWER,
	.lookup = links_lookup,
	.list = links_list,
	.stat = stk_stat,
};

static int link_read(const struct caller *c, const struct node *n, struct buf *out)
{
	buf_printf(out, "../../../services/%s_%s", n->key, n->sub);
	return 0;
}

const struct node_ops stack_service_link_ops = {
	.type = NODE_LINK,
	.resource = "stack",
	.read_level = LEVEL_VIEWER,
	.stat = stk_stat,
	.read = link_read,
};
