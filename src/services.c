/* services.c - M/swarms/<swarm>/services/.
 *
 *   services/.ctl               create [OPTIONS] IMAGE [ARG...] | a ServiceSpec
 *   services/<name>/            id image mode replicas running ports env spec.json
 *                               inspect.json logs logs.follow ctl error
 *   services/<name>/tasks/<slot-or-id>/   id state desired node error container
 *
 *   echo 5 > replicas           scales (operator)
 *   echo IMAGE > image          rolling update (operator)
 *   spec.json                   writing a whole spec updates (operator, allowlist)
 *   ctl                         rollback | update [--force] | scale N | rm
 *
 * Every update reads the service's version and spec first and posts the
 * spec changed (swarm_update).  Below admin, a written spec is parsed by the
 * allowlist (allowlist.h) and what is sent is the spec it writes.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmdline.h"
#include "docker.h"
#include "follow.h"
#include "format.h"
#include "names.h"
#include "log.h"
#include "model.h"
#include "objects.h"
#include "stream.h"
#include "swarms.h"
#include "tree.h"

#define SPEC_MAX (256 << 10)
#define LOG_TAIL_LINES 1000
#define FOLLOW_TAIL_LINES 10
#define FOLLOW_BUFFER (1 << 20)

extern const struct node_ops services_ctl_ops, service_dir_ops, service_file_ops,
	service_replicas_ops, service_image_ops, service_spec_ops, service_ctl_ops,
	service_logs_ops, service_follow_ops, service_live_ops, service_tasks_dir_ops,
	task_dir_ops, task_file_ops, task_link_ops;

static int svc_stat(const struct caller *c, const struct node *n, struct tree_stat *st)
{
	pthread_rwlock_rdlock(&n->host->lock);
	if (n->host->swarm)
		st->mtime = n->host->swarm->changed;
	pthread_rwlock_unlock(&n->host->lock);
	return 0;
}

/* Runs fn on service n->key under the host's read lock. */
static int with_service(const struct node *n, int (*fn)(struct swarm_cache *s, json_t *svc,
							const struct node *n, void *arg), void *arg)
{
	int err = -ENOENT;

	pthread_rwlock_rdlock(&n->host->lock);
	struct swarm_cache *s = n->host->swarm;
	json_t *svc = s ? swarm_find(s->services, "Spec.Name", n->key) : NULL;
	if (svc)
		err = fn(s, svc, n, arg);
	pthread_rwlock_unlock(&n->host->lock);
	return err;
}

/* ---- services/ ------------------------------------------------------------------ */

static int services_lookup(const struct caller *c, const struct node *dir, const char *name,
			   struct node *child)
{
	int err = -ENOENT;

	if (!strcmp(name, COLLECTION_CTL)) {
		node_child(child, dir, &services_ctl_ops);
		return 0;
	}
	pthread_rwlock_rdlock(&dir->host->lock);
	json_t *svc = dir->host->swarm ? swarm_find(dir->host->swarm->services, "Spec.Name", name)
				       : NULL;
	if (svc) {
		node_child(child, dir, &service_dir_ops);
		snprintf(child->key, sizeof(child->key), "%s", swarm_str(svc, "ID") ?: "");
		err = 0;
	}
	pthread_rwlock_unlock(&dir->host->lock);
	return err;
}

static int services_list(const struct caller *c, const struct node *dir, struct dirlist *out)
{
	json_t *svc;
	size_t i;

	dirlist_add(out, COLLECTION_CTL, NODE_FILE);
	pthread_rwlock_rdlock(&dir->host->lock);
	if (dir->host->swarm)
		json_array_foreach(dir->host->swarm->services, i, svc)
			if (swarm_str(svc, "Spec.Name"))
				dirlist_add(out, swarm_str(svc, "Spec.Name"), NODE_DIR);
	pthread_rwlock_unlock(&dir->host->lock);
	return 0;
}

const struct node_ops swarm_services_dir_ops = {
	.type = NODE_DIR,
	.collection = true,
	.resource = "service",
	.read_level = LEVEL_VIEWER,
	.error_file = true,
	.lookup = services_lookup,
	.list = services_list,
	.stat = svc_stat,
};

/* ---- services/<name>/ ------------------------------------------------------------ */

struct svc_attr {
	const char *name;
	const struct node_ops *ops;
	void (*show)(json_t *svc, struct buf *out);
};

static void show_id(json_t *svc, struct buf *out)
{
	tree_scalar(out, swarm_str(svc, "ID"));
}

static void show_image(json_t *svc, struct buf *out)
{
	tree_scalar(out, swarm_str(svc, "Spec.TaskTemplate.ContainerSpec.Image"));
}

static const char *mode_of(json_t *svc)
{
	json_t *mode = swarm_get(svc, "Spec.Mode");

	if (json_object_get(mode, "Global"))
		return "global";
	if (json_object_get(mode, "ReplicatedJob"))
		return "replicated-job";
	if (json_object_get(mode, "GlobalJob"))
		return "global-job";
	return "replicated";
}

static void show_mode(json_t *svc, struct buf *out)
{
	tree_scalar(out, mode_of(svc));
}

/* Replicated: the replicas asked for; global: the tasks it wants. */
static void show_replicas(json_t *svc, struct buf *out)
{
	json_t *r = swarm_get(svc, "Spec.Mode.Replicated.Replicas");

	if (!r)
		r = swarm_get(svc, "ServiceStatus.DesiredTasks");
	buf_printf(out, "%lld\n", (long long)json_integer_value(r));
}

/* As docker service ls: running/desired. */
static void show_running(json_t *svc, struct buf *out)
{
	buf_printf(out, "%lld/%lld\n",
		   (long long)json_integer_value(swarm_get(svc, "ServiceStatus.RunningTasks")),
		   (long long)json_integer_value(swarm_get(svc, "ServiceStatus.DesiredTasks")));
}

static void show_ports(json_t *svc, struct buf *out)
{
	json_t *p;
	size_t i;

	json_array_foreach(swarm_get(svc, "Endpoint.Ports"), i, p) {
		json_int_t pub = json_integer_value(json_object_get(p, "PublishedPort"));
		buf_printf(out, "*:%lld->%lld/%s\n", (long long)pub,
			   (long long)json_integer_value(json_object_get(p, "TargetPort")),
			   swarm_str(p, "Protocol") ?: "tcp");
	}
}

static void show_env(json_t *svc, struct buf *out)
{
	json_t *e;
	size_t i;

	json_array_foreach(swarm_get(svc, "Spec.TaskTemplate.ContainerSpec.Env"), i, e)
		tree_scalar(out, json_string_value(e));
}

static void show_spec(json_t *svc, struct buf *out)
{
	format_json(json_object_get(svc, "Spec"), out);
}

static void show_inspect(json_t *svc, struct buf *out)
{
	format_json(svc, out);
}

static const struct svc_attr svc_attrs[] = {
	{ "id", &service_file_ops, show_id },
	{ "image", &service_image_ops, show_image },
	{ "mode", &service_file_ops, show_mode },
	{ "replicas", &service_replicas_ops, show_replicas },
	{ "running", &service_file_ops, show_running },
	{ "ports", &service_file_ops, show_ports },
	{ "env", &service_file_ops, show_env },
	{ "spec.json", &service_spec_ops, show_spec },
	{ "inspect.json", &service_file_ops, show_inspect },
	{ "logs", &service_logs_ops, NULL },
	{ "logs.follow", &service_follow_ops, NULL },
	{ "ctl", &service_ctl_ops, NULL },
};

#define N_ATTRS (sizeof(svc_attrs) / sizeof(svc_attrs[0]))

static int service_lookup(const struct caller *c, const struct node *dir, const char *name,
			  struct node *child)
{
	if (!strcmp(name, "tasks")) {
		node_child(child, dir, &service_tasks_dir_ops);
		return 0;
	}
	for (size_t i = 0; i < N_ATTRS; i++) {
		if (!strcmp(name, svc_attrs[i].name)) {
			node_child(child, dir, svc_attrs[i].ops);
			child->attr = &svc_attrs[i];
			return 0;
		}
	}
	return -ENOENT;
}

static int service_list(const struct caller *c, const struct node *dir, struct dirlist *out)
{
	enum level lvl = tree_level(c, dir->host);

	/* logs.follow never ends: reachable by name, not listed. */
	for (size_t i = 0; i < N_ATTRS; i++)
		if (!svc_attrs[i].ops->stream && lvl >= svc_attrs[i].ops->read_level)
			dirlist_add(out, svc_attrs[i].name, NODE_FILE);
	dirlist_add(out, "tasks", NODE_DIR);
	return 0;
}

const struct node_ops service_dir_ops = {
	.type = NODE_DIR,
	.resource = "service",
	.read_level = LEVEL_VIEWER,
	.error_file = true,
	.lookup = service_lookup,
	.list = service_list,
	.stat = svc_stat,
};

static int show_cb(struct swarm_cache *s, json_t *svc, const struct node *n, void *out)
{
	const struct svc_attr *a = n->attr;

	a->show(svc, out);
	return 0;
}

static int svc_file_read(const struct caller *c, const struct node *n, struct buf *out)
{
	return with_service(n, show_cb, out);
}

const struct node_ops service_file_ops = {
	.type = NODE_FILE,
	.resource = "service",
	.read_level = LEVEL_VIEWER,
	.stat = svc_stat,
	.read = svc_file_read,
};

/* ---- updates ---------------------------------------------------------------------- */

static int edit_replicas(json_t *spec, void *arg)
{
	json_t *rep = swarm_get(spec, "Mode.Replicated");

	if (!json_is_object(rep))
		return tree_fail(-EINVAL, "only a replicated service scales");
	json_object_set_new(rep, "Replicas", json_integer(*(json_int_t *)arg));
	return 0;
}

static int scale(const struct node *n, const char *value)
{
	char *end;
	long v = strtol(value, &end, 10);
	json_int_t r = v;

	if (end == value || *end || v < 0 || v > 100000)
		return tree_fail(-EINVAL, "replicas takes a count (0-100000)");
	return swarm_update(n->host, "services", n->key, NULL, edit_replicas, &r);
}

static int replicas_write(const struct caller *c, const struct node *n, const char *data,
			  size_t len, struct buf *out)
{
	char value[16];

	if (tree_parse_value(data, len, sizeof(value) - 1, value))
		return tree_fail(-EINVAL, "replicas takes a count (0-100000)");
	return scale(n, value);
}

const struct node_ops service_replicas_ops = {
	.type = NODE_FILE,
	.resource = "service",
	.read_level = LEVEL_VIEWER,
	.write_level = LEVEL_OPERATOR,
	.stat = svc_stat,
	.read = svc_file_read,
	.write = replicas_write,
};

static int edit_image(json_t *spec, void *arg)
{
	json_t *cs = swarm_get(spec, "TaskTemplate.ContainerSpec");

	if (!json_is_object(cs))
		return tree_fail(-EINVAL, "the service has no container spec");
	json_t *v = json_string(arg);

	/* NULL for what is not UTF-8: never an update that drops the image */
	if (!v || json_object_set_new(cs, "Image", v))
		return tree_fail(-EINVAL, "image: not UTF-8 text, cannot be sent");
	return 0;
}

static int image_write(const struct caller *c, const struct node *n, const char *data,
		       size_t len, struct buf *out)
{
	char value[512];

	/* Checked before the update: a service updated to what no engine
	 * can pull is a rolling update that fails on every node. */
	if (tree_parse_value(data, len, sizeof(value) - 1, value) ||
	    !name_image_ref_valid(value))
		return tree_fail(-EINVAL, "image takes one image reference (NAME[:TAG][@DIGEST], "
				 "at most %zu bytes)", sizeof(value) - 1);
	return swarm_update(n->host, "services", n->key, NULL, edit_image, value);
}

const struct node_ops service_image_ops = {
	.type = NODE_FILE,
	.resource = "service",
	.read_level = LEVEL_VIEWER,
	.write_level = LEVEL_OPERATOR,
	.stat = svc_stat,
	.read = svc_file_read,
	.write = image_write,
};

struct spec_edit {
	json_t *spec;            /* the new spec (borrowed) */
	const struct caller *c;
	struct host *h;
};

/* The secrets and configs a spec names are sent with their ids. */
static int resolve_refs(struct host *h, json_t *spec)
{
	static const struct {
		const char *list, *name, *id;
	} kinds[] = {
		{ "Secrets", "SecretName", "SecretID" },
		{ "Configs", "ConfigName", "ConfigID" },
	};
	json_t *cs = swarm_get(spec, "TaskTemplate.ContainerSpec"), *ref;
	int err = 0;
	size_t i;

	pthread_rwlock_rdlock(&h->lock);
	for (size_t k = 0; k < 2 && !err; k++) {
		json_t *cache = !h->swarm ? NULL : k == 0 ? h->swarm->secrets : h->swarm->configs;
		json_array_foreach(json_object_get(cs, kinds[k].list), i, ref) {
			const char *name = swarm_str(ref, kinds[k].name);
			if (!name || json_object_get(ref, kinds[k].id))
				continue;
			json_t *obj = swarm_find(cache, "Spec.Name", name);
			if (!obj) {
				err = tree_fail(-ENOENT, "no %s called %s", k ? "config" : "secret",
						name);
				break;
			}
			json_object_set_new(ref, kinds[k].id, json_string(swarm_str(obj, "ID")));
		}
	}
	pthread_rwlock_unlock(&h->lock);
	return err;
}


static int edit_whole(json_t *spec, void *arg)
{
	struct spec_edit *se = arg;

	/* The name is the service's; the rest is what was written. */
	json_object_set(se->spec, "Name", json_object_get(spec, "Name"));
	json_object_clear(spec);
	json_object_update(spec, se->spec);
	return 0;
}

static json_t *parse_spec(const char *data, size_t len)
{
	json_error_t je;
	/* What is checked must be what the engine decodes: no duplicates. */
	json_t *j = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);

	/* je is filled only when the parse fails: an array parses. */
	if (!j)
		tree_fail(-EINVAL, "bad JSON: %s (line %d, column %d)", je.text, je.line,
			  je.column);
	else if (!json_is_object(j))
		tree_fail(-EINVAL, "a ServiceSpec is a JSON object, not %s", format_json_kind(j));
	if (!json_is_object(j)) {
		json_decref(j);
		return NULL;
	}
	return j;
}

static int spec_write(const struct caller *c, const struct node *n, const char *data,
		      size_t len, struct buf *out)
{
	if (len > SPEC_MAX)
		return tree_fail(-EINVAL, "a spec is at most %d bytes", SPEC_MAX);
	json_t *spec = parse_spec(data, len);
	if (!spec)
		return -EINVAL;
	int err = resolve_refs(n->host, spec);
	if (!err)
		err = objects_judge_body(c, n->host, ALLOW_SERVICE, &spec);
	struct spec_edit se = { spec, c, n->host };
	if (!err)
		err = swarm_update(n->host, "services", n->key, NULL, edit_whole, &se);
	json_decref(spec);
	return err;
}

const struct node_ops service_spec_ops = {
	.type = NODE_FILE,
	.resource = "service",
	.read_level = LEVEL_VIEWER,
	.write_level = LEVEL_OPERATOR,
	.stat = svc_stat,
	.read = svc_file_read,
	.write = spec_write,
};

static int edit_force(json_t *spec, void *arg)
{
	json_t *tt = json_object_get(spec, "TaskTemplate");

	if (!json_is_object(tt))
		return tree_fail(-EINVAL, "the service has no task template");
	json_object_set_new(tt, "ForceUpdate",
			    json_integer(json_integer_value(json_object_get(tt, "ForceUpdate")) + 1));
	return 0;
}

static int edit_none(json_t *spec, void *arg)
{
	return 0;
}

static const char svc_ctl_usage[] =
	"rollback\n"
	"update [--force]\n"
	"scale N\n"
	"rm\n";

static int svc_ctl_read(const struct caller *c, const struct node *n, struct buf *out)
{
	buf_puts(out, svc_ctl_usage);
	return 0;
}

static int svc_ctl_write(const struct caller *c, const struct node *n, const char *data,
			 size_t len, struct buf *out)
{
	struct argv a;
	char path[320], arg[32] = "";
	int err;

	if (cmdline_split(data, len, &a))
		return tree_fail(-EINVAL, "rollback, update [--force], scale N, rm");
	char verb[16];
	snprintf(verb, sizeof(verb), "%s", a.n ? a.v[0] : "");
	if (a.n > 1)
		snprintf(arg, sizeof(arg), "%s", a.v[1]);
	int argc = a.n;
	argv_free(&a);
	if (!strcmp(verb, "rollback") && argc == 1)
		return swarm_update(n->host, "services", n->key, "rollback=previous", edit_none,
				    NULL);
	if (!strcmp(verb, "update") && (argc == 1 || (argc == 2 && !strcmp(arg, "--force"))))
		return swarm_update(n->host, "services", n->key, NULL,
				    argc == 2 ? edit_force : edit_none, NULL);
	if (!strcmp(verb, "scale") && argc == 2)
		return scale(n, arg);
	if (!strcmp(verb, "rm") && argc == 1) {
		err = docker_path(path, sizeof(path), "/services/%s", n->key);
		if (err)
			return tree_fail(err, "service id %s cannot be named in an API path", n->key);
		err = swarm_act(n->host, "DELETE", path, NULL, false, NULL);
		swarm_settle(n->host);
		return err;
	}
	return tree_fail(-EINVAL, "commands: rollback, update [--force], scale N, rm");
}

const struct node_ops service_ctl_ops = {
	.type = NODE_FILE,
	.resource = "service",
	.read_level = LEVEL_VIEWER,
	.write_level = LEVEL_OPERATOR,
	.stat = svc_stat,
	.read = svc_ctl_read,
	.write = svc_ctl_write,
};

/* ---- services/.ctl: create ----------------------------------------------------------- */

static const char create_usage[] =
	"create [OPTIONS] IMAGE [ARG...]\n"
	"{ ...the Docker API's ServiceSpec... }\n"
	"OPTIONS: docker service create's, with its syntax and defaults:\n"
	"  --name NAME, --replicas N, --mode replicated|global|replicated-job|global-job,\n"
	"  --max-concurrent N, --replicas-max-per-node N, -e/--env K=V, -l/--label K=V,\n"
	"  --container-label K=V, --constraint EXPR, --placement-pref spread=D,\n"
	"  -p/--publish [PUBLISHED:]TARGET[/PROTO] or published=P,target=T[,...],\n"
	"  --endpoint-mode vip|dnsrr, --network NAME or name=N,alias=A,\n"
	"  --mount type=volume|tmpfs,source=S,target=D[,...] (bind: admins),\n"
	"  --secret NAME[,target=FILE,...] (admins), --config NAME[,target=FILE,...],\n"
	"  --update-parallelism N, --update-delay D, --update-monitor D,\n"
	"  --update-failure-action pause|continue|rollback, --update-max-failure-ratio R,\n"
	"  --update-order stop-first|start-first, the same --rollback-*,\n"
	"  --restart-condition none|on-failure|any, --restart-delay D,\n"
	"  --restart-max-attempts N, --restart-window D, --limit-cpu N, --limit-memory SIZE,\n"
	"  --limit-pids N, --reserve-cpu N, --reserve-memory SIZE, --health-cmd CMD,\n"
	"  --health-interval D, --health-timeout D, --health-retries N,\n"
	"  --health-start-period D, --no-healthcheck, --stop-grace-period D,\n"
	"  --stop-signal SIG, --dns IP, --dns-option OPT, --dns-search DOMAIN,\n"
	"  --host HOST:IP, --hostname NAME, --init, --read-only, -w/--workdir DIR,\n"
	"  -u/--user USER, --group GROUP, --entrypoint CMD, -t/--tty, --log-driver D,\n"
	"  --log-opt K=V, --cap-drop CAP, --ulimit NAME=SOFT[:HARD], -d, -q;\n"
	"  for admins: --cap-add CAP, --sysctl K=V, --isolation I, other log drivers\n";

static int create_read(const struct caller *c, const struct node *n, struct buf *out)
{
	buf_puts(out, create_usage);
	return 0;
}

static int create_write(const struct caller *c, const struct node *n, const char *data,
			size_t len, struct buf *out)
{
	json_t *spec = NULL;
	char why[256];
	struct buf answer = BUF_INIT;
	size_t skip = 0;
	int err;

	if (len > SPEC_MAX)
		return tree_fail(-EINVAL, "a spec is at most %d bytes", SPEC_MAX);
	while (skip < len && (data[skip] == ' ' || data[skip] == '\n' || data[skip] == '\t'))
		skip++;
	if (skip < len && data[skip] == '{') {
		spec = parse_spec(data, len);
		if (!spec)
			return -EINVAL;
	} else {
		struct argv a;

		if (cmdline_split(data, len, &a))
			return tree_fail(-EINVAL, "unbalanced quotes or a control byte");
		if (a.n < 1 || strcmp(a.v[0], "create")) {
			argv_free(&a);
			return tree_fail(-EINVAL, "create [OPTIONS] IMAGE [ARG...], or a ServiceSpec");
		}
		err = cmdline_service_spec(a.n - 1, a.v + 1, &spec, why, sizeof(why));
		argv_free(&a);
		if (err)
			return tree_fail(err, "%s", why);
	}
	const char *name = json_string_value(json_object_get(spec, "Name"));
	if (name)
		tree_set_resource(name);
	err = resolve_refs(n->host, spec);
	if (!err)
		err = objects_judge_body(c, n->host, ALLOW_SERVICE, &spec);
	if (err)
		goto out;
	/* The name as sent (below admin, the body was written anew). */
	name = json_string_value(json_object_get(spec, "Name"));
	char *text = json_dumps(spec, JSON_COMPACT);
	err = swarm_act(n->host, "POST", "/services/create", text, true, &answer);
	free(text);
	if (err)
		goto out;
	json_t *reply = json_loadb(answer.data ? answer.data : "", answer.len, 0, NULL);
	const char *id = json_string_value(json_object_get(reply, "ID"));
	if (id) {
		if (!name)
			tree_set_resource(id);
		if (out)
			buf_printf(out, "%s\n", id);
	}
	json_decref(reply);
	swarm_settle(n->host);
out:
	buf_free(&answer);
	json_decref(spec);
	return err;
}

const struct node_ops services_ctl_ops = {
	.type = NODE_FILE,
	.resource = "service",
	.read_level = LEVEL_VIEWER,
	.write_level = LEVEL_OPERATOR,
	.read = create_read,
	.write = create_write,
};

/* ---- logs ----------------------------------------------------------------------------
 *
 * The engine's service logs with details=1 start each line with
 * "com.docker.swarm.node.id=N,com.docker.swarm.service.id=S,com.docker.swarm.task.id=T ";
 * that becomes docker service logs' prefix "name.slot.taskid@node | ".
 */

static void detail_value(const char *details, size_t len, const char *key, char *out,
			 size_t outlen)
{
	size_t kl = strlen(key);
	const char *p = details, *end = details + len;

	out[0] = '\0';
	while (p < end) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		const char *stop = comma ? comma : end;
		if ((size_t)(stop - p) > kl && !strncmp(p, key, kl) && p[kl] == '=') {
			snprintf(out, outlen, "%.*s", (int)(stop - p - (ptrdiff_t)kl - 1), p + kl + 1);
			return;
		}
		p = stop + 1;
	}
}

/* Rewrites whole lines of in (demultiplexed) to out with their prefixes,
 * under h's read lock (the names come from the model).  Returns the bytes
 * used: a partial last line stays. */
static size_t prefix_lines(struct host *h, const char *in, size_t len, struct buf *out)
{
	size_t used = 0;

	pthread_rwlock_rdlock(&h->lock);
	struct swarm_cache *s = h->swarm;
	while (used < len) {
		const char *line = in + used, *nl = memchr(line, '\n', len - used);
		if (!nl)
			break;
		size_t ll = (size_t)(nl - line) + 1;
		const char *sp = memchr(line, ' ', ll);
		char tid[80], nid[80], slot[32] = "";
		const char *svc = "?", *node = NULL;

		if (!sp || strncmp(line, "com.docker.swarm.", 17)) {
			buf_append(out, line, ll);
			used += ll;
			continue;
		}
		detail_value(line, (size_t)(sp - line), "com.docker.swarm.task.id", tid, sizeof(tid));
		detail_value(line, (size_t)(sp - line), "com.docker.swarm.node.id", nid, sizeof(nid));
		json_t *task = s ? swarm_find(s->tasks, "ID", tid) : NULL;
		if (task) {
			json_t *sv = swarm_find(s->services, "Spec.Name",
						swarm_str(task, "ServiceID") ?: "");
			svc = swarm_str(sv, "Spec.Name") ?: "?";
			json_int_t sl = json_integer_value(json_object_get(task, "Slot"));
			if (sl > 0)
				snprintf(slot, sizeof(slot), ".%lld", (long long)sl);
		}
		if (s)
			node = json_string_value(json_object_get(s->node_names, nid));
		buf_printf(out, "%s%s.%.12s@%s | ", svc, slot, tid, node ? node : nid);
		buf_append(out, sp + 1, (size_t)(nl - sp));
		used += ll;
	}
	pthread_rwlock_unlock(&h->lock);
	return used;
}

static bool service_tty(const struct node *n)
{
	bool tty = false;

	pthread_rwlock_rdlock(&n->host->lock);
	json_t *svc = n->host->swarm ? swarm_find(n->host->swarm->services, "Spec.Name", n->key)
				     : NULL;
	tty = json_is_true(swarm_get(svc, "Spec.TaskTemplate.ContainerSpec.TTY"));
	pthread_rwlock_unlock(&n->host->lock);
	return tty;
}

static int logs_read(const struct caller *c, const struct node *n, struct buf *out)
{
	char path[320];
	struct docker_call call = { .path = path, .timeout_ms = 30000 };
	struct docker_reply r;
	struct buf plain = BUF_INIT;
	int err;

	err = docker_path(path, sizeof(path),
			  "/services/%s/logs?stdout=1&stderr=1&details=1&tail=%d", n->key,
			  LOG_TAIL_LINES);
	if (err)
		return err;
	err = host_call(n->host, &call, &r);
	if (err) {
		err = tree_fail(err, "%s", r.message);
	} else if (r.body.len) {
		if (service_tty(n))
			buf_append(&plain, r.body.data, r.body.len);
		else
			docker_demux(r.body.data, r.body.len, &plain);
		if (plain.len && plain.data[plain.len - 1] != '\n')
			buf_puts(&plain, "\n");
		prefix_lines(n->host, plain.data, plain.len, out);
	}
	buf_free(&plain);
	docker_reply_free(&r);
	return err;
}

static int logs_stat(const struct caller *c, const struct node *n, struct tree_stat *st)
{
	st->live = true;
	return svc_stat(c, n, st);
}

const struct node_ops service_logs_ops = {
	.type = NODE_FILE,
	.resource = "service",
	.read_level = LEVEL_OPERATOR,
	.stat = logs_stat,
	.read = logs_read,
};

static int service_follow(const struct caller *c, const struct node *n, struct stream *s)
{
	char path[320];
	int err = docker_path(path, sizeof(path),
			      "/services/%s/logs?stdout=1&stderr=1&details=1&follow=1&tail=%d",
			      n->key, FOLLOW_TAIL_LINES);

	return err ? err : follow_start(n->host, path, service_tty(n), prefix_lines, s);
}

const struct node_ops service_follow_ops = {
	.type = NODE_FILE,
	.resource = "service",
	.read_level = LEVEL_OPERATOR,
	.stat = svc_stat,
	.stream = service_follow,
};

/* ---- tasks/ ---------------------------------------------------------------------------- */

/* The task of service n->key whose file name is name (or whose id it is). */
static json_t *find_task(struct swarm_cache *s, const struct node *n, const char *name)
{
	json_t *svc = swarm_find(s->services, "Spec.Name", n->key), *t, *by_id;
	const char *sid = swarm_str(svc, "ID"), *svcname;
	char file[NAME_MAX_ESCAPED];
	size_t i;

	if (!sid)
		return NULL;
	json_array_foreach(s->tasks, i, t) {
		if (strcmp(swarm_str(t, "ServiceID") ?: "", sid) || !swarm_task_current(s, t))
			continue;
		if (swarm_task_file(s, t, &svcname, file, sizeof(file)) && !strcmp(file, name))
			return t;
	}
	by_id = swarm_find(s->tasks, "ID", name);
	return by_id && !strcmp(swarm_str(by_id, "ServiceID") ?: "", sid) ? by_id : NULL;
}

static int tasks_list_cb(struct swarm_cache *s, json_t *svc, const struct node *n, void *out)
{
	const char *sid = swarm_str(svc, "ID"), *svcname;
	char file[NAME_MAX_ESCAPED];
	json_t *t;
	size_t i;

	json_array_foreach(s->tasks, i, t) {
		if (strcmp(swarm_str(t, "ServiceID") ?: "", sid) || !swarm_task_current(s, t))
			continue;
		if (swarm_task_file(s, t, &svcname, file, sizeof(file)))
			dirlist_add(out, file, NODE_DIR);
	}
	return 0;
}

static int tasks_list(const struct caller *c, const struct node *dir, struct dirlist *out)
{
	return with_service(dir, tasks_list_cb, out);
}

static int tasks_lookup(const struct caller *c, const struct node *dir, const char *name,
			struct node *child)
{
	int err = -ENOENT;

	pthread_rwlock_rdlock(&dir->host->lock);
	json_t *t = dir->host->swarm ? find_task(dir->host->swarm, dir, name) : NULL;
	if (t) {
		node_child(child, dir, &task_dir_ops);
		snprintf(child->sub, sizeof(child->sub), "%s", swarm_str(t, "ID") ?: "");
		err = 0;
	}
	pthread_rwlock_unlock(&dir->host->lock);
	return err;
}

const struct node_ops service_tasks_dir_ops = {
	.type = NODE_DIR,
	.resource = "service",
	.read_level = LEVEL_VIEWER,
	.lookup = tasks_lookup,
	.list = tasks_list,
	.stat = svc_stat,
};

static const char *const task_files[] = { "id", "state", "desired", "node", "error" };

#define N_TASK_FILES (sizeof(task_files) / sizeof(task_files[0]))

static int task_lookup(const struct caller *c, const struct node *dir, const char *name,
		       struct node *child)
{
	for (size_t i = 0; i < N_TASK_FILES; i++) {
		if (!strcmp(name, task_files[i])) {
			node_child(child, dir, &task_file_ops);
			memcpy(child->sub, dir->sub, sizeof(child->sub));
			child->attr = task_files[i];
			return 0;
		}
	}
	if (!strcmp(name, "container")) {
		node_child(child, dir, &task_link_ops);
		memcpy(child->sub, dir->sub, sizeof(child->sub));
		return 0;
	}
	return -ENOENT;
}

static int task_list(const struct caller *c, const struct node *dir, struct dirlist *out)
{
	for (size_t i = 0; i < N_TASK_FILES; i++)
		dirlist_add(out, task_files[i], NODE_FILE);
	dirlist_add(out, "container", NODE_LINK);
	return 0;
}

const struct node_ops task_dir_ops = {
	.type = NODE_DIR,
	.resource = "task",
	.read_level = LEVEL_VIEWER,
	.lookup = task_lookup,
	.list = task_list,
	.stat = svc_stat,
};

static int task_file_read(const struct caller *c, const struct node *n, struct buf *out)
{
	const char *file = n->attr;
	int err = 0;

	pthread_rwlock_rdlock(&n->host->lock);
	struct swarm_cache *s = n->host->swarm;
	json_t *t = s ? swarm_find(s->tasks, "ID", n->sub) : NULL;
	if (!t)
		err = -ENOENT;
	else if (!strcmp(file, "id"))
		tree_scalar(out, swarm_str(t, "ID"));
	else if (!strcmp(file, "state"))
		tree_scalar(out, swarm_str(t, "Status.State"));
	else if (!strcmp(file, "desired"))
		tree_scalar(out, swarm_str(t, "DesiredState"));
	else if (!strcmp(file, "error"))
		tree_scalar(out, swarm_str(t, "Status.Err"));
	else
		tree_scalar(out, json_string_value(json_object_get(
				 s->node_names, swarm_str(t, "NodeID") ?: "")));
	pthread_rwlock_unlock(&n->host->lock);
	return err;
}

const struct node_ops task_file_ops = {
	.type = NODE_FILE,
	.resource = "task",
	.read_level = LEVEL_VIEWER,
	.stat = svc_stat,
	.read = task_file_read,
};

/* tasks/T/container: into M/hosts/<host>/containers/ when the task's node
 * is a registered host, else a dangling link naming the container id. */
static int task_link_read(const struct caller *c, const struct node *n, struct buf *out)
{
	char cid[80], nid[80];

	pthread_rwlock_rdlock(&n->host->lock);
	struct swarm_cache *s = n->host->swarm;
	json_t *t = s ? swarm_find(s->tasks, "ID", n->sub) : NULL;
	snprintf(cid, sizeof(cid), "%s", swarm_str(t, "Status.ContainerStatus.ContainerID") ?: "");
	snprintf(nid, sizeof(nid), "%s", swarm_str(t, "NodeID") ?: "");
	pthread_rwlock_unlock(&n->host->lock);
	if (!t)
		return -ENOENT;
	if (!cid[0])
		return -ENOENT;
	struct host *h = nid[0] ? swarm_node_host(tree_ctx()->fleet, nid) : NULL;
	if (h) {
		buf_printf(out, "../../../../../../hosts/%s/containers/%s", h->name, cid);
		host_put(h);
	} else {
		buf_puts(out, cid);
	}
	return 0;
}

const struct node_ops task_link_ops = {
	.type = NODE_LINK,
	.resource = "task",
	.read_level = LEVEL_VIEWER,
	.stat = svc_stat,
	.read = task_link_read,
};
