/* nodes.c - M/swarms/<swarm>/nodes/<hostname>/.
 *
 *   id role availability state addr leader engine inspect.json ctl
 *   labels/<key>      read; write sets (a new key by creating the file);
 *                     unlink removes
 *   tasks/<svc>.<slot-or-id>  links to the tasks meant to run there
 *
 *   echo drain > availability     (operator: active | pause | drain)
 *   echo manager > role           (admin: promote; worker demotes)
 *   echo rm [force] > ctl         (admin)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmdline.h"
#include "docker.h"
#include "format.h"
#include "model.h"
#include "swarms.h"
#include "tree.h"

extern const struct node_ops node_dir_ops, node_file_ops, node_role_ops,
	node_availability_ops, node_ctl_ops, node_labels_dir_ops, node_label_ops,
	node_tasks_dir_ops, node_task_link_ops;

/* Runs fn on the node n->key under the host's read lock. */
static int with_node(const struct node *n, int (*fn)(struct swarm_cache *s, json_t *node,
						     const struct node *n, void *arg), void *arg)
{
	int err = -ENOENT;

	pthread_rwlock_rdlock(&n->host->lock);
	struct swarm_cache *s = n->host->swarm;
	json_t *node = s ? swarm_find(s->nodes, "ID", n->key) : NULL;
	if (node)
		err = fn(s, node, n, arg);
	pthread_rwlock_unlock(&n->host->lock);
	return err;
}

static int node_stat(const struct caller *c, const struct node *n, struct tree_stat *st)
{
	pthread_rwlock_rdlock(&n->host->lock);
	if (n->host->swarm)
		st->mtime = n->host->swarm->changed;
	pthread_rwlock_unlock(&n->host->lock);
	return 0;
}

/* ---- nodes/ ------------------------------------------------------------------ */

static int find_node_cb(struct swarm_cache *s, const struct node *n, void *arg)
{
	const char *name = arg;
	const char *key;
	json_t *v;

	/* By file name, else by id or unique id prefix. */
	json_object_foreach(s->node_names, key, v) {
		if (!strcmp(json_string_value(v), name)) {
			snprintf(arg, NAME_MAX_ESCAPED, "%s", key);
			return 0;
		}
	}
	json_t *node = swarm_find(s->nodes, "ID", name);
	if (!node)
		return -ENOENT;
	snprintf(arg, NAME_MAX_ESCAPED, "%s", swarm_str(node, "ID"));
	return 0;
}

static int nodes_lookup(const struct caller *c, const struct node *dir, const char *name,
			struct node *child)
{
	char id[NAME_MAX_ESCAPED];
	int err;

	snprintf(id, sizeof(id), "%s", name);
	pthread_rwlock_rdlock(&dir->host->lock);
	err = dir->host->swarm ? find_node_cb(dir->host->swarm, dir, id) : -ENOENT;
	pthread_rwlock_unlock(&dir->host->lock);
	if (err)
		return err;
	node_child(child, dir, &node_dir_ops);
	snprintf(child->key, sizeof(child->key), "%s", id);
	return 0;
}

static int nodes_list(const struct caller *c, const struct node *dir, struct dirlist *out)
{
	const char *key;
	json_t *v;

	pthread_rwlock_rdlock(&dir->host->lock);
	if (dir->host->swarm)
		json_object_foreach(dir->host->swarm->node_names, key, v)
			dirlist_add(out, json_string_value(v), NODE_DIR);
	pthread_rwlock_unlock(&dir->host->lock);
	return 0;
}

const struct node_ops swarm_nodes_dir_ops = {
	.type = NODE_DIR,
	.collection = true,
	.resource = "node",
	.read_level = LEVEL_VIEWER,
	.lookup = nodes_lookup,
	.list = nodes_list,
	.stat = node_stat,
};

/* ---- nodes/<name>/ ------------------------------------------------------------ */

struct node_attr {
	const char *name;
	const struct node_ops *ops;
	const char *path;        /* a string at this JSON path, or NULL */
};

static const struct node_attr node_attrs[] = {
	{ "id", &node_file_ops, "ID" },
	{ "role", &node_role_ops, "Spec.Role" },
	{ "availability", &node_availability_ops, "Spec.Availability" },
	{ "state", &node_file_ops, "Status.State" },
	{ "addr", &node_file_ops, "Status.Addr" },
	{ "engine", &node_file_ops, "Description.Engine.EngineVersion" },
	{ "leader", &node_file_ops, NULL },
	{ "inspect.json", &node_file_ops, NULL },
	{ "ctl", &node_ctl_ops, NULL },
};

#define N_ATTRS (sizeof(node_attrs) / sizeof(node_attrs[0]))

static int node_lookup(const struct caller *c, const struct node *dir, const char *name,
		       struct node *child)
{
	if (!strcmp(name, "labels") || !strcmp(name, "tasks")) {
		node_child(child, dir, name[0] == 'l' ? &node_labels_dir_ops : &node_tasks_dir_ops);
		return 0;
	}
	for (size_t i = 0; i < N_ATTRS; i++) {
		if (!strcmp(name, node_attrs[i].name)) {
			node_child(child, dir, node_attrs[i].ops);
			child->attr = &node_attrs[i];
			return 0;
		}
	}
	return -ENOENT;
}

static int node_list(const struct caller *c, const struct node *dir, struct dirlist *out)
{
	for (size_t i = 0; i < N_ATTRS; i++)
		dirlist_add(out, node_attrs[i].name, NODE_FILE);
	dirlist_add(out, "labels", NODE_DIR);
	dirlist_add(out, "tasks", NODE_DIR);
	return 0;
}

const struct node_ops node_dir_ops = {
	.type = NODE_DIR,
	.resource = "node",
	.read_level = LEVEL_VIEWER,
	.error_file = true,
	.lookup = node_lookup,
	.list = node_list,
	.stat = node_stat,
};

static int show_attr(struct swarm_cache *s, json_t *node, const struct node *n, void *out)
{
	const struct node_attr *a = n->attr;

	if (a->path) {
		tree_scalar(out, swarm_str(node, a->path));
	} else if (!strcmp(a->name, "leader")) {
		tree_scalar(out, json_is_true(swarm_get(node, "ManagerStatus.Leader")) ? "true"
										     : "false");
	} else {
		format_json(node, out);
	}
	return 0;
}

static int node_file_read(const struct caller *c, const struct node *n, struct buf *out)
{
	return with_node(n, show_attr, out);
}

const struct node_ops node_file_ops = {
	.type = NODE_FILE,
	.resource = "node",
	.read_level = LEVEL_VIEWER,
	.stat = node_stat,
	.read = node_file_read,
};

struct set_field {
	const char *field;
	const char *value;       /* NULL deletes (labels) */
};

/* json_string() is NULL for what is not UTF-8 and json_object_set_new()
 * ignores a NULL: a label once "succeeded" and did not exist.  tree_write
 * lets only text in, and a name is checked at create; this says so if
 * anything else ever reaches here. */
static int set_text(json_t *o, const char *key, const char *value)
{
	json_t *v = json_string(value);

	if (!v || json_object_set_new(o, key, v))
		return tree_fail(-EINVAL, "%s: not UTF-8 text, cannot be sent", key);
	return 0;
}

static int edit_field(json_t *spec, void *arg)
{
	struct set_field *sf = arg;

	return set_text(spec, sf->field, sf->value);
}

static int spec_write(const struct node *n, const char *field, const char *data, size_t len,
		      const char *const allowed[])
{
	char value[32];
	struct set_field sf = { field, value };

	if (tree_parse_value(data, len, sizeof(value) - 1, value))
		goto bad;
	for (int i = 0; allowed[i]; i++)
		if (!strcmp(value, allowed[i]))
			return swarm_update(n->host, "nodes", n->key, NULL, edit_field, &sf);
bad:
	return tree_fail(-EINVAL, "%s is one of %s, %s%s%s", field, allowed[0], allowed[1],
			 allowed[2] ? ", " : "", allowed[2] ?: "");
}

static int role_write(const struct caller *c, const struct node *n, const char *data,
		      size_t len, struct buf *out)
{
	static const char *const roles[] = { "worker", "manager", NULL };

	return spec_write(n, "Role", data, len, roles);
}

static int availability_write(const struct caller *c, const struct node *n, const char *data,
			      size_t len, struct buf *out)
{
	static const char *const avail[] = { "active", "pause", "drain", NULL };

	return spec_write(n, "Availability", data, len, avail);
}

/* Promotion and demotion change who may run the swarm: admin. */
const struct node_ops node_role_ops = {
	.type = NODE_FILE,
	.resource = "node",
	.read_level = LEVEL_VIEWER,
	.write_level = LEVEL_ADMIN,
	.stat = node_stat,
	.read = node_file_read,
	.write = role_write,
};

const struct node_ops node_availability_ops = {
	.type = NODE_FILE,
	.resource = "node",
	.read_level = LEVEL_VIEWER,
	.write_level = LEVEL_OPERATOR,
	.stat = node_stat,
	.read = node_file_read,
	.write = availability_write,
};

/* ---- ctl ---------------------------------------------------------------------- */

static int node_ctl_read(const struct caller *c, const struct node *n, struct buf *out)
{
	buf_puts(out, "rm [force]\n");
	return 0;
}

static int node_ctl_write(const struct caller *c, const struct node *n, const char *data,
			  size_t len, struct buf *out)
{
	struct argv a;
	char path[320];
	int err;

	if (cmdline_split(data, len, &a))
		return tree_fail(-EINVAL, "rm [force]");
	bool ok = a.n >= 1 && !strcmp(a.v[0], "rm") &&
		  (a.n == 1 || (a.n == 2 && !strcmp(a.v[1], "force")));
	bool force = a.n == 2;
	argv_free(&a);
	if (!ok)
		return tree_fail(-EINVAL, "rm [force]");
	err = docker_path(path, sizeof(path), "/nodes/%s?force=%d", n->key, force);
	if (err)
		return tree_fail(err, "node id %s cannot be named in an API path", n->key);
	err = swarm_act(n->host, "DELETE", path, NULL, false, NULL);
	swarm_settle(n->host);
	return err;
}

const struct node_ops node_ctl_ops = {
	.type = NODE_FILE,
	.resource = "node",
	.read_level = LEVEL_VIEWER,
	.write_level = LEVEL_ADMIN,
	.stat = node_stat,
	.read = node_ctl_read,
	.write = node_ctl_write,
};

/* ---- labels/ ------------------------------------------------------------------ */

static void pending_key(const struct node *n, const char *key, char *out, size_t len)
{
	snprintf(out, len, "nodelabel:%s:%s", n->key, key);
}

static int list_labels(struct swarm_cache *s, json_t *node, const struct node *n, void *out)
{
	const char *k;
	json_t *v;
	char file[NAME_MAX_ESCAPED];

	json_object_foreach(swarm_get(node, "Spec.Labels"), k, v)
		if (name_escape(k, file, sizeof(file)) >= 0 && file[0] && strcmp(file, ".") &&
		    strcmp(file, ".."))
			dirlist_add(out, file, NODE_FILE);
	return 0;
}

static int labels_list(const struct caller *c, const struct node *dir, struct dirlist *out)
{
	return with_node(dir, list_labels, out);
}

static int has_label(struct swarm_cache *s, json_t *node, const struct node *n, void *arg)
{
	return json_object_get(swarm_get(node, "Spec.Labels"), arg) ? 0 : -ENOENT;
}

static int labels_lookup(const struct caller *c, const struct node *dir, const char *name,
			 struct node *child)
{
	char key[NAME_MAX_ESCAPED], pk[3 * NAME_MAX_ESCAPED];
	int err;

	if (name_unescape(name, key, sizeof(key)) < 0)
		return -ENOENT;
	err = with_node(dir, has_label, key);
	pending_key(dir, key, pk, sizeof(pk));
	if (err == -ENOENT && swarm_pending_has(pk))
		err = 0;
	if (err)
		return err;
	node_child(child, dir, &node_label_ops);
	snprintf(child->sub, sizeof(child->sub), "%s", key);
	return 0;
}

static int labels_create(const struct caller *c, const struct node *dir, const char *name)
{
	char key[NAME_MAX_ESCAPED], pk[3 * NAME_MAX_ESCAPED];

	if (name_unescape(name, key, sizeof(key)) < 0 || !key[0])
		return -EINVAL;
	pending_key(dir, key, pk, sizeof(pk));
	swarm_pending_add(pk);
	return 0;
}

static int edit_label(json_t *spec, void *arg)
{
	struct set_field *sf = arg;
	json_t *labels = json_object_get(spec, "Labels");

	if (!json_is_object(labels)) {
		labels = json_object();
		json_object_set_new(spec, "Labels", labels);
	}
	if (sf->value)
		return set_text(labels, sf->field, sf->value);
	json_object_del(labels, sf->field);
	return 0;
}

static int labels_unlink(const struct caller *c, const struct node *dir, const char *name)
{
	char key[NAME_MAX_ESCAPED];
	struct set_field sf = { key, NULL };

	if (name_unescape(name, key, sizeof(key)) < 0)
		return -ENOENT;
	return swarm_update(dir->host, "nodes", dir->key, NULL, edit_label, &sf);
}

const struct node_ops node_labels_dir_ops = {
	.type = NODE_DIR,
	.collection = true,
	.resource = "node",
	.read_level = LEVEL_VIEWER,
	.write_level = LEVEL_OPERATOR,
	.error_file = true,
	.lookup = labels_lookup,
	.list = labels_list,
	.stat = node_stat,
	.unlink = labels_unlink,
	.create = labels_create,
};

static int show_label(struct swarm_cache *s, json_t *node, const struct node *n, void *out)
{
	const char *v = json_string_value(json_object_get(swarm_get(node, "Spec.Labels"), n->sub));

	if (v)
		tree_scalar(out, v);
	return 0;
}

static int label_read(const struct caller *c, const struct node *n, struct buf *out)
{
	return with_node(n, show_label, out);
}

static int label_write(const struct caller *c, const struct node *n, const char *data,
		       size_t len, struct buf *out)
{
	char value[1024], pk[3 * NAME_MAX_ESCAPED];
	struct set_field sf = { n->sub, value };
	int err;

	if (tree_parse_value(data, len, sizeof(value) - 1, value))
		return tree_fail(-EINVAL, "a label is one line of at most %zu bytes",
				 sizeof(value) - 1);
	err = swarm_update(n->host, "nodes", n->key, NULL, edit_label, &sf);
	pending_key(n, n->sub, pk, sizeof(pk));
	swarm_pending_del(pk);
	return err;
}

const struct node_ops node_label_ops = {
	.type = NODE_FILE,
	.resource = "node",
	.read_level = LEVEL_VIEWER,
	.write_level = LEVEL_OPERATOR,
	.remove_level = LEVEL_OPERATOR,
	.stat = node_stat,
	.read = label_read,
	.write = label_write,
};

/* ---- tasks/ -------------------------------------------------------------------- */

struct task_ctx {
	struct dirlist *out;
	const char *want;        /* lookup: this file name */
	struct buf *target;      /* lookup: its link */
};

static int node_tasks(struct swarm_cache *s, json_t *node, const struct node *n, void *arg)
{
	struct task_ctx *tc = arg;
	const char *id = swarm_str(node, "ID"), *svc;
	char file[NAME_MAX_ESCAPED], entry[2 * NAME_MAX_ESCAPED];
	json_t *t;
	size_t i;

	json_array_foreach(s->tasks, i, t) {
		if (strcmp(swarm_str(t, "NodeID") ?: "", id) || !swarm_task_current(s, t))
			continue;
		const char *d = swarm_str(t, "DesiredState") ?: "";
		if (!strcmp(d, "shutdown") || !strcmp(d, "remove"))
			continue;
		if (!swarm_task_file(s, t, &svc, file, sizeof(file)))
			continue;
		snprintf(entry, sizeof(entry), "%s.%s", svc, file);
		if (tc->out) {
			dirlist_add(tc->out, entry, NODE_LINK);
		} else if (!strcmp(entry, tc->want)) {
			buf_printf(tc->target, "../../../services/%s/tasks/%s", svc, file);
			return 0;
		}
	}
	return tc->out ? 0 : -ENOENT;
}

static int tasks_list(const struct caller *c, const struct node *dir, struct dirlist *out)
{
	struct task_ctx tc = { out, NULL, NULL };

	return with_node(dir, node_tasks, &tc);
}

static int tasks_lookup(const struct caller *c, const struct node *dir, const char *name,
			struct node *child)
{
	struct buf b = BUF_INIT;
	struct task_ctx tc = { NULL, name, &b };
	int err = with_node(dir, node_tasks, &tc);

	buf_free(&b);
	if (err)
		return err;
	node_child(child, dir, &node_task_link_ops);
	snprintf(child->sub, sizeof(child->sub), "%s", name);
	return 0;
}

const struct node_ops node_tasks_dir_ops = {
	.type = NODE_DIR,
	.resource = "node",
	.read_level = LEVEL_VIEWER,
	.lookup = tasks_lookup,
	.list = tasks_list,
	.stat = node_stat,
};

static int task_link_read(const struct caller *c, const struct node *n, struct buf *out)
{
	struct task_ctx tc = { NULL, n->sub, out };

	return with_node(n, node_tasks, &tc);
}

const struct node_ops node_task_link_ops = {
	.type = NODE_LINK,
	.resource = "node",
	.read_level = LEVEL_VIEWER,
	.stat = node_stat,
	.read = task_link_read,
};
