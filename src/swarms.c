/* swarms.c - M/swarms/ and M/swarms/<swarm>/: the swarm-level files, the
 * swarm's overlay networks, and the membership verbs of M/hosts/<h>/ctl.
 *
 *   M/swarms/<swarm>/   id info.json leader managers join-token/{worker,manager}
 *                       nodes/ services/ secrets/ configs/ networks/ stacks/
 *
 * Every node below carries the manager host that backs the swarm
 * (swarm.h), so levels are the caller's on that host: viewer to see,
 * operator to change services, nodes' availability and labels, networks,
 * secrets and configs; admin for tokens, roles, node rm and membership.
 * And the writes every swarm file makes (swarm_act, swarm_update).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmdline.h"
#include "docker.h"
#include "format.h"
#include "log.h"
#include "model.h"
#include "names.h"
#include "stacks.h"
#include "swarms.h"
#include "tree.h"

extern const struct node_ops swarm_dir_ops, swarm_file_ops, swarm_tokens_dir_ops,
	swarm_token_ops, swarm_networks_dir_ops, swarm_network_dir_ops,
	swarm_network_file_ops;

/* Runs fn on h's swarm lists under the read lock; -ENOENT when h is no
 * longer a manager. */
static int with_swarm(struct host *h, int (*fn)(struct swarm_cache *s, const struct node *n,
						void *arg), const struct node *n, void *arg)
{
	int err;

	pthread_rwlock_rdlock(&h->lock);
	err = h->swarm ? fn(h->swarm, n, arg) : -ENOENT;
	pthread_rwlock_unlock(&h->lock);
	return err;
}

static int swarm_stat(const struct caller *c, const struct node *n, struct tree_stat *st)
{
	pthread_rwlock_rdlock(&n->host->lock);
	if (n->host->swarm)
		st->mtime = n->host->swarm->changed;
	pthread_rwlock_unlock(&n->host->lock);
	return 0;
}

/* ---- M/swarms --------------------------------------------------------------- */

struct list_ctx {
	const struct caller *c;
	struct dirlist *out;
};

static void list_swarm_cb(const char *name, struct host *h, void *arg)
{
	struct list_ctx *lc = arg;

	if (tree_level(lc->c, h) >= LEVEL_VIEWER)
		dirlist_add(lc->out, name, NODE_DIR);
}

static int swarms_list(const struct caller *c, const struct node *dir, struct dirlist *out)
{
	struct list_ctx lc = { c, out };

	swarm_foreach(tree_ctx()->fleet, list_swarm_cb, &lc);
	return 0;
}

static int swarms_lookup(const struct caller *c, const struct node *dir, const char *name,
			 struct node *child)
{
	struct host *h = swarm_lookup(tree_ctx()->fleet, name, NULL, 0);

	if (!h)
		return -ENOENT;
	memset(child, 0, sizeof(*child));
	child->ops = &swarm_dir_ops;
	child->host = h;
	snprintf(child->key, sizeof(child->key), "%s", name);
	return 0;
}

const struct node_ops swarms_dir_ops = {
	.type = NODE_DIR,
	.collection = true,
	.resource = "swarm",
	.lookup = swarms_lookup,
	.list = swarms_list,
};

/* ---- M/swarms/<swarm> -------------------------------------------------------- */

struct swarm_attr {
	const char *name;
	int (*show)(struct swarm_cache *s, const struct node *n, void *out);
};

static int show_id(struct swarm_cache *s, const struct node *n, void *out)
{
	tree_scalar(out, s->id);
	return 0;
}

static int show_info(struct swarm_cache *s, const struct node *n, void *out)
{
	json_t *copy = json_deep_copy(s->swarm);

	/* The tokens are admit-anyone secrets: join-token/ is for admins. */
	json_object_del(copy, "JoinTokens");
	format_json(copy, out);
	json_decref(copy);
	return 0;
}

static const char *node_name(struct swarm_cache *s, json_t *node)
{
	return json_string_value(json_object_get(s->node_names, swarm_str(node, "ID") ?: ""));
}

static int show_leader(struct swarm_cache *s, const struct node *n, void *out)
{
	json_t *node;
	size_t i;

	json_array_foreach(s->nodes, i, node)
		if (json_is_true(swarm_get(node, "ManagerStatus.Leader")))
			tree_scalar(out, node_name(s, node));
	return 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int show_managers(struct swarm_cache *s, const struct node *n, void *out)
{
	const char *v[256];
	size_t k = 0, i;
	json_t *node;

	json_array_foreach(s->nodes, i, node)
		if (!strcmp(swarm_str(node, "Spec.Role") ?: "", "manager") && k < 256 &&
		    node_name(s, node))
			v[k++] = node_name(s, node);
	qsort(v, k, sizeof(v[0]), name_cmp);
	for (i = 0; i < k; i++)
		tree_scalar(out, v[i]);
	return 0;
}

static const struct swarm_attr swarm_attrs[] = {
	{ "id", show_id },
	{ "info.json", show_info },
	{ "leader", show_leader },
	{ "managers", show_managers },
};

#define N_ATTRS (sizeof(swarm_attrs) / sizeof(swarm_attrs[0]))

static const struct {
	const char *name;
	const struct node_ops *ops;
} swarm_dirs[] = {
	{ "join-token", &swarm_tokens_dir_ops },
	{ "nodes", &swarm_nodes_dir_ops },
	{ "services", &swarm_services_dir_ops },
	{ "secrets", &swarm_secrets_dir_ops },
	{ "configs", &swarm_configs_dir_ops },
	{ "networks", &swarm_networks_dir_ops },
	{ "stacks", &swarm_stacks_dir_ops },
};

#define N_DIRS (sizeof(swarm_dirs) / sizeof(swarm_dirs[0]))

static int swarm_lookup_child(const struct caller *c, const struct node *dir, const char *name,
			      struct node *child)
{
	for (size_t i = 0; i < N_ATTRS; i++) {
		if (!strcmp(name, swarm_attrs[i].name)) {
			node_child(child, dir, &swarm_file_ops);
			child->attr = &swarm_attrs[i];
			return 0;
		}
	}
	for (size_t i = 0; i < N_DIRS; i++) {
		if (!strcmp(name, swarm_dirs[i].name)) {
			node_child(child, dir, swarm_dirs[i].ops);
			return 0;
		}
	}
	if (!strcmp(name, "events")) {
		node_child(child, dir, &swarm_events_file_ops);
		return 0;
	}
	return -ENOENT;
}

static int swarm_list(const struct caller *c, const struct node *dir, struct dirlist *out)
{
	enum level lvl = tree_level(c, dir->host);

	for (size_t i = 0; i < N_ATTRS; i++)
		dirlist_add(out, swarm_attrs[i].name, NODE_FILE);
	dirlist_add(out, "events", NODE_FILE);
	for (size_t i = 0; i < N_DIRS; i++)
		if (lvl >= swarm_dirs[i].ops->read_level)
			dirlist_add(out, swarm_dirs[i].name, NODE_DIR);
	return 0;
}

const struct node_ops swarm_dir_ops = {
	.type = NODE_DIR,
	.resource = "swarm",
	.read_level = LEVEL_VIEWER,
	.error_file = true,
	.lookup = swarm_lookup_child,
	.list = swarm_list,
	.stat = swarm_stat,
};

static int swarm_file_read(const struct caller *c, const struct node *n, struct buf *out)
{
	const struct swarm_attr *a = n->attr;

	return with_swarm(n->host, a->show, n, out);
}

const struct node_ops swarm_file_ops = {
	.type = NODE_FILE,
	.resource = "swarm",
	.read_level = LEVEL_VIEWER,
	.stat = swarm_stat,
	.read = swarm_file_read,
};

/* ---- join-token/{worker,manager} --------------------------------------------- */

static int tokens_lookup(const struct caller *c, const struct node *dir, const char *name,
			 struct node *child)
{
	if (strcmp(name, "worker") && strcmp(name, "manager"))
		return -ENOENT;
	node_child(child, dir, &swarm_token_ops);
	snprintf(child->sub, sizeof(child->sub), "%s", name);
	return 0;
}

static int tokens_list(const struct caller *c, const struct node *dir, struct dirlist *out)
{
	dirlist_add(out, "worker", NODE_FILE);
	dirlist_add(out, "manager", NODE_FILE);
	return 0;
}

const struct node_ops swarm_tokens_dir_ops = {
	.type = NODE_DIR,
	.resource = "swarm",
	.read_level = LEVEL_ADMIN,
	.write_level = LEVEL_ADMIN,
	.error_file = true,
	.lookup = tokens_lookup,
	.list = tokens_list,
	.stat = swarm_stat,
};

static int show_token(struct swarm_cache *s, const struct node *n, void *out)
{
	const char *t = swarm_str(s->swarm, !strcmp(n->sub, "worker") ? "JoinTokens.Worker"
								       : "JoinTokens.Manager");
	tree_scalar(out, t ? t : "");
	return 0;
}

static int token_read(const struct caller *c, const struct node *n, struct buf *out)
{
	return with_swarm(n->host, show_token, n, out);
}

static int no_edit(json_t *spec, void *arg)
{
	return 0;
}

static int token_write(const struct caller *c, const struct node *n, const char *data,
		       size_t len, struct buf *out)
{
	char value[16];

	if (tree_parse_value(data, len, sizeof(value) - 1, value) || strcmp(value, "rotate"))
		return tree_fail(-EINVAL, "write rotate to make a new %s token", n->sub);
	return swarm_update(n->host, "swarm", NULL,
			    !strcmp(n->sub, "worker") ? "rotateWorkerToken=true"
						      : "rotateManagerToken=true",
			    no_edit, NULL);
}

const struct node_ops swarm_token_ops = {
	.type = NODE_FILE,
	.resource = "swarm",
	.read_level = LEVEL_ADMIN,
	.write_level = LEVEL_ADMIN,
	.secret = true,
	.stat = swarm_stat,
	.read = token_read,
	.write = token_write,
};

/* ---- networks/<name>/ ---------------------------------------------------------
 *
 *   mkdir networks/NAME     creates an attachable overlay network
 *   rmdir networks/NAME     removes it
 *   networks/NAME/{id,driver,scope,inspect.json}
 */

static int find_network(struct swarm_cache *s, const struct node *n, void *arg)
{
	json_t *net = swarm_find(s->networks, "Name", arg);

	if (!net)
		return -ENOENT;
	snprintf(arg, NAME_MAX_ESCAPED, "%s", swarm_str(net, "Id") ?: "");
	return 0;
}

static int networks_lookup(const struct caller *c, const struct node *dir, const char *name,
			   struct node *child)
{
	char id[NAME_MAX_ESCAPED];
	int err;

	snprintf(id, sizeof(id), "%s", name);
	err = with_swarm(dir->host, find_network, dir, id);
	if (err)
		return err;
	node_child(child, dir, &swarm_network_dir_ops);
	snprintf(child->key, sizeof(child->key), "%s", id);
	return 0;
}

static int list_networks(struct swarm_cache *s, const struct node *n, void *out)
{
	json_t *net;
	size_t i;

	json_array_foreach(s->networks, i, net)
		if (swarm_str(net, "Name"))
			dirlist_add(out, swarm_str(net, "Name"), NODE_DIR);
	return 0;
}

static int networks_list(const struct caller *c, const struct node *dir, struct dirlist *out)
{
	return with_swarm(dir->host, list_networks, dir, out);
}

static int networks_mkdir(const struct caller *c, const struct node *dir, const char *name)
{
	if (!name_object_valid(name))
		return tree_fail(-EINVAL, "network names are [a-zA-Z0-9][a-zA-Z0-9_.-]*");
	json_t *body = json_pack("{s:s, s:s, s:b, s:b}", "Name", name, "Driver", "overlay",
				 "Attachable", 1, "CheckDuplicate", 1);
	char *text = json_dumps(body, JSON_COMPACT);
	int err = swarm_act(dir->host, "POST", "/networks/create", text, true, NULL);

	free(text);
	json_decref(body);
	swarm_settle(dir->host);
	return err;
}

static int networks_rmdir(const struct caller *c, const struct node *dir, const char *name)
{
	char id[NAME_MAX_ESCAPED], path[320];
	int err;

	snprintf(id, sizeof(id), "%s", name);
	err = with_swarm(dir->host, find_network, dir, id);
	if (err)
		return err;
	err = docker_path(path, sizeof(path), "/networks/%s", id);
	if (err)
		return tree_fail(err, "network id %s cannot be named in an API path", id);
	err = swarm_act(dir->host, "DELETE", path, NULL, false, NULL);
	if (!err || err == -ENOENT)
		swarm_network_removed(id);
	swarm_settle(dir->host);
	return err;
}

const struct node_ops swarm_networks_dir_ops = {
	.type = NODE_DIR,
	.collection = true,
	.resource = "network",
	.read_level = LEVEL_VIEWER,
	.write_level = LEVEL_OPERATOR,
	.error_file = true,
	.lookup = networks_lookup,
	.list = networks_list,
	.stat = swarm_stat,
	.mkdir = networks_mkdir,
	.rmdir = networks_rmdir,
};

static const char *const network_files[] = { "id", "driver", "scope", "inspect.json" };

static int network_lookup(const struct caller *c, const struct node *dir, const char *name,
			  struct node *child)
{
	for (size_t i = 0; i < sizeof(network_files) / sizeof(network_files[0]); i++) {
		if (!strcmp(name, network_files[i])) {
			node_child(child, dir, &swarm_network_file_ops);
			snprintf(child->sub, sizeof(child->sub), "%s", name);
			return 0;
		}
	}
	return -ENOENT;
}

static int network_list(const struct caller *c, const struct node *dir, struct dirlist *out)
{
	for (size_t i = 0; i < sizeof(network_files) / sizeof(network_files[0]); i++)
		dirlist_add(out, network_files[i], NODE_FILE);
	return 0;
}

const struct node_ops swarm_network_dir_ops = {
	.type = NODE_DIR,
	.resource = "network",
	.read_level = LEVEL_VIEWER,
	.remove_level = LEVEL_OPERATOR,
	.lookup = network_lookup,
	.list = network_list,
	.stat = swarm_stat,
};

static int show_network(struct swarm_cache *s, const struct node *n, void *out)
{
	json_t *net = swarm_find(s->networks, "Name", n->key);

	if (!net)
		return -ENOENT;
	if (!strcmp(n->sub, "inspect.json"))
		format_json(net, out);
	else if (!strcmp(n->sub, "id"))
		tree_scalar(out, swarm_str(net, "Id"));
	else if (!strcmp(n->sub, "driver"))
		tree_scalar(out, swarm_str(net, "Driver"));
	else
		tree_scalar(out, swarm_str(net, "Scope"));
	return 0;
}

static int network_file_read(const struct caller *c, const struct node *n, struct buf *out)
{
	return with_swarm(n->host, show_network, n, out);
}

const struct node_ops swarm_network_file_ops = {
	.type = NODE_FILE,
	.resource = "network",
	.read_level = LEVEL_VIEWER,
	.stat = swarm_stat,
	.read = network_file_read,
};

/* ---- membership: M/hosts/<h>/ctl `swarm ...` ----------------------------------
 *
 *   swarm init [--advertise-addr A] [--listen-addr L]
 *   swarm join --token T [--advertise-addr A] [--listen-addr L] MANAGER-ADDR
 *   swarm leave [force]
 */

static const char membership_usage[] =
	"swarm init [--advertise-addr ADDR] [--listen-addr ADDR]; "
	"swarm join --token TOKEN [--advertise-addr ADDR] [--listen-addr ADDR] MANAGER:PORT; "
	"swarm leave [force]";

int swarm_host_ctl(const struct caller *c, struct host *h, int argc, char *const argv[],
		   struct buf *out)
{
	const char *advertise = NULL, *listen = "0.0.0.0:2377", *token = NULL, *remote = NULL;
	json_t *body = NULL;
	int err;

	if (tree_level(c, h) < LEVEL_ADMIN)
		return tree_deny("swarm membership needs the admin level on %s", h->name);
	if (argc < 1)
		return tree_fail(-EINVAL, "%s", membership_usage);
	if (!strcmp(argv[0], "leave")) {
		if (argc > 2 || (argc == 2 && strcmp(argv[1], "force")))
			return tree_fail(-EINVAL, "%s", membership_usage);
		err = swarm_act(h, "POST", argc == 2 ? "/swarm/leave?force=1" : "/swarm/leave?force=0",
				NULL, false, NULL);
		host_info_refresh(h);
		return err;
	}
	if (strcmp(argv[0], "init") && strcmp(argv[0], "join"))
		return tree_fail(-EINVAL, "%s", membership_usage);
	bool join = !strcmp(argv[0], "join");
	for (int i = 1; i < argc; i++) {
		const char *opt = argv[i];
		if ((!strcmp(opt, "--advertise-addr") || !strcmp(opt, "--listen-addr") ||
		     (join && !strcmp(opt, "--token"))) && i + 1 < argc) {
			const char *v = argv[++i];
			if (!strcmp(opt, "--advertise-addr"))
				advertise = v;
			else if (!strcmp(opt, "--listen-addr"))
				listen = v;
			else
				token = v;
		} else if (join && opt[0] != '-' && !remote) {
			remote = opt;
		} else {
			return tree_fail(-EINVAL, "%s: %s", opt, membership_usage);
		}
	}
	if (join && (!token || !remote))
		return tree_fail(-EINVAL, "join needs --token and a manager address");
	/* Each value either goes in or fails the write: a NULL (a word that
	 * is not UTF-8) once left json_dumps() nothing, and an empty body
	 * would init a swarm with the engine's defaults. */
	body = json_pack("{s:s}", "ListenAddr", listen);
	bool lost = !body;
	if (advertise && !lost)
		lost = json_object_set_new(body, "AdvertiseAddr", json_string(advertise)) != 0;
	if (join && !lost)
		lost = json_object_set_new(body, "JoinToken", json_string(token)) ||
		       json_object_set_new(body, "RemoteAddrs", json_pack("[s]", remote));
	if (lost) {
		json_decref(body);
		return tree_fail(-EINVAL, "an address or token that is not UTF-8 text cannot be sent");
	}
	char *text = json_dumps(body, JSON_COMPACT);
	struct buf answer = BUF_INIT;
	err = swarm_act(h, "POST", join ? "/swarm/join" : "/swarm/init", text, false, &answer);
	free(text);
	json_decref(body);
	if (!err && !join && out && answer.len) {
		/* init answers the new node's id as a JSON string */
		json_t *id = json_loadb(answer.data, answer.len, JSON_DECODE_ANY, NULL);
		if (json_is_string(id))
			buf_printf(out, "%s\n", json_string_value(id));
		json_decref(id);
	}
	buf_free(&answer);
	host_info_refresh(h);
	return err;
}

/* ---- the writes every swarm file makes (swarms.h) ---------------------------- */

int swarm_act(struct host *h, const char *method, const char *path, const char *body,
	      bool create, struct buf *answer)
{
	struct docker_call call = {
		.method = method, .path = path, .body = body, .create = create,
		.timeout_ms = 30000,
	};
	struct docker_reply r;
	int err = host_call(h, &call, &r);

	if (err)
		err = tree_fail(err, "%s", r.message);
	else if (answer)
		buf_append(answer, r.body.data ? r.body.data : "", r.body.len);
	docker_reply_free(&r);
	return err;
}

/* The path of swarm_update's object (update false) or of its update
 * at version, with extra ("rollback=previous", a constant of the caller)
 * as one more query parameter. */
static int update_path(char *path, size_t len, const char *kind, const char *id, bool update,
		       long long version, const char *extra)
{
	char key[32] = "", value[32] = "";
	const char *eq = extra ? strchr(extra, '=') : NULL;

	if (extra) {
		if (!eq || (size_t)(eq - extra) >= sizeof(key) || strlen(eq + 1) >= sizeof(value))
			return -EINVAL;
		memcpy(key, extra, (size_t)(eq - extra));
		snprintf(value, sizeof(value), "%s", eq + 1);
	}
	if (!strcmp(kind, "swarm")) {
		if (!update)
			return docker_path(path, len, "/swarm");
		return extra ? docker_path(path, len, "/swarm/update?version=%lld&%s=%s", version,
					   key, value)
			     : docker_path(path, len, "/swarm/update?version=%lld", version);
	}
	if (!strcmp(kind, "services")) {
		if (!update)
			return docker_path(path, len, "/services/%s", id);
		return extra ? docker_path(path, len, "/services/%s/update?version=%lld&%s=%s", id,
					   version, key, value)
			     : docker_path(path, len, "/services/%s/update?version=%lld", id, version);
	}
	if (!strcmp(kind, "nodes")) {
		if (!update)
			return docker_path(path, len, "/nodes/%s", id);
		return extra ? docker_path(path, len, "/nodes/%s/update?version=%lld&%s=%s", id,
					   version, key, value)
			     : docker_path(path, len, "/nodes/%s/update?version=%lld", id, version);
	}
	return -EINVAL;
}

#define SWARM_UPDATE_TRIES 4

int swarm_update_unsettled(struct host *h, const char *kind, const char *id, const char *extra,
			   int (*edit)(json_t *spec, void *arg), void *arg)
{
	char path[640];
	int err = 0;

	for (int attempt = 0; attempt < SWARM_UPDATE_TRIES; attempt++) {
		struct buf b = BUF_INIT;
		json_t *obj, *spec;

		err = update_path(path, sizeof(path), kind, id, false, 0, extra);
		if (err)
			return tree_fail(err, "%s %s cannot be named in an API path", kind, id ?: "");
		err = swarm_act(h, "GET", path, NULL, false, &b);
		if (err)
			return err;
		obj = json_loadb(b.data ? b.data : "", b.len, 0, NULL);
		buf_free(&b);
		json_int_t version = json_integer_value(swarm_get(obj, "Version.Index"));
		spec = json_object_get(obj, "Spec");
		if (!json_is_object(spec)) {
			json_decref(obj);
			return tree_fail(-EIO, "the engine gave no spec for %s", id);
		}
		err = edit(spec, arg);
		if (err) {
			json_decref(obj);
			return err;
		}
		char *body = json_dumps(spec, JSON_COMPACT);
		json_decref(obj);
		err = update_path(path, sizeof(path), kind, id, true, (long long)version, extra);
		if (err) {
			free(body);
			return tree_fail(err, "%s %s cannot be named in an API path", kind, id ?: "");
		}
		struct docker_call call = {
			.method = "POST", .path = path, .body = body, .timeout_ms = 30000,
		};
		struct docker_reply r;
		err = host_call(h, &call, &r);
		free(body);
		bool moved = err && strstr(r.message, "out of sequence") &&
			     attempt + 1 < SWARM_UPDATE_TRIES;
		if (err && !moved)
			err = tree_fail(err, "%s", r.message);
		docker_reply_free(&r);
		if (!moved)
			break;
		log_info("host %s: %s %s: update out of sequence, read again", h->name, kind, id);
	}
	return err;
}

int swarm_update(struct host *h, const char *kind, const char *id, const char *extra,
		 int (*edit)(json_t *spec, void *arg), void *arg)
{
	int err = swarm_update_unsettled(h, kind, id, extra, edit, arg);

	swarm_settle(h);
	return err;
}
