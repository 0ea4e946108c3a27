/* containers.c - M/hosts/<host>/containers/<name>/.
 *
 * Scalars come from the host's model (no network); inspect.json, logs and
 * stats.json are fetched from the engine when opened.  A container is found
 * by name, full id or unique short id; `ls` shows names.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker.h"
#include "model.h"
#include "tree.h"

#define LOG_TAIL_LINES 1000

extern const struct node_ops container_dir_ops, container_file_ops, container_live_ops,
	container_logs_ops, labels_dir_ops, label_file_ops;

struct container_attr {
	const char *name;
	const struct node_ops *ops;
	bool detail;   /* needs the inspect, not only the list entry */
	void (*show)(const struct container *c, struct buf *out);
	/* live files: fetched when opened */
	int (*fetch)(struct host *h, const char *id, bool tty, struct buf *out);
};

static void show_id(const struct container *c, struct buf *out)
{
	tree_scalar(out, c->id);
}

static void show_name(const struct container *c, struct buf *out)
{
	tree_scalar(out, c->name);
}

static void show_image(const struct container *c, struct buf *out)
{
	tree_scalar(out, c->image);
}

static void show_state(const struct container *c, struct buf *out)
{
	tree_scalar(out, c->state);
}

static void show_status(const struct container *c, struct buf *out)
{
	format_container_status(&c->cs, time(NULL), out);
	buf_puts(out, "\n");
}

static void show_health(const struct container *c, struct buf *out)
{
	tree_scalar(out, c->health[0] ? c->health : "none");
}

static void show_created(const struct container *c, struct buf *out)
{
	tree_scalar(out, c->created);
}

static void show_exit_code(const struct container *c, struct buf *out)
{
	buf_printf(out, "%d\n", c->cs.exit_code);
}

static void show_pid(const struct container *c, struct buf *out)
{
	buf_printf(out, "%d\n", c->pid);
}

static void show_ports(const struct container *c, struct buf *out)
{
	buf_puts(out, c->ports ? c->ports : "");
}

static int fetch_inspect(struct host *h, const char *id, bool tty, struct buf *out)
{
	char path[128];

	snprintf(path, sizeof(path), "/containers/%s/json", id);
	return host_fetch_json(h, path, out);
}

static int fetch_stats(struct host *h, const char *id, bool tty, struct buf *out)
{
	char path[160];

	/* one-shot: answers at once instead of sampling for a second. */
	snprintf(path, sizeof(path), "/containers/%s/stats?stream=false&one-shot=true", id);
	return host_fetch_json(h, path, out);
}

static int fetch_logs(struct host *h, const char *id, bool tty, struct buf *out)
{
	char path[192];
	struct docker_call call = { .path = path };
	struct docker_reply r;
	int err;

	snprintf(path, sizeof(path), "/containers/%s/logs?stdout=1&stderr=1&tail=%d", id,
		 LOG_TAIL_LINES);
	err = host_call(h, &call, &r);
	if (!err && r.body.len) {
		/* Without a tty the engine multiplexes stdout and stderr. */
		if (tty)
			buf_append(out, r.body.data, r.body.len);
		else
			docker_demux(r.body.data, r.body.len, out);
	}
	docker_reply_free(&r);
	return err;
}

static const struct container_attr container_attrs[] = {
	{ "id", &container_file_ops, false, show_id, NULL },
	{ "name", &container_file_ops, false, show_name, NULL },
	{ "image", &container_file_ops, false, show_image, NULL },
	{ "state", &container_file_ops, false, show_state, NULL },
	{ "status", &container_file_ops, true, show_status, NULL },
	{ "health", &container_file_ops, true, show_health, NULL },
	{ "created", &container_file_ops, false, show_created, NULL },
	{ "exit_code", &container_file_ops, true, show_exit_code, NULL },
	{ "pid", &container_file_ops, true, show_pid, NULL },
	{ "ports", &container_file_ops, true, show_ports, NULL },
	{ "inspect.json", &container_live_ops, false, NULL, fetch_inspect },
	{ "logs", &container_logs_ops, false, NULL, fetch_logs },
	{ "stats.json", &container_live_ops, false, NULL, fetch_stats },
};

#define N_ATTRS (sizeof(container_attrs) / sizeof(container_attrs[0]))

/* ---- containers/ --------------------------------------------------------- */

static int containers_lookup(const struct caller *c, const struct node *dir, const char *name,
			     struct node *child)
{
	struct host *h = dir->host;
	int err = 0;

	pthread_rwlock_rdlock(&h->lock);
	struct container *ct = host_container_find(h, name);
	if (ct) {
		node_child(child, dir, &container_dir_ops);
		snprintf(child->key, sizeof(child->key), "%s", ct->id);
	} else {
		err = -ENOENT;
	}
	pthread_rwlock_unlock(&h->lock);
	return err;
}

static void list_cb(const char *name, void *v, void *arg)
{
	dirlist_add(arg, name, NODE_DIR);
}

static int containers_list(const struct caller *c, const struct node *dir, struct dirlist *out)
{
	pthread_rwlock_rdlock(&dir->host->lock);
	map_foreach(&dir->host->container_names, list_cb, out);
	pthread_rwlock_unlock(&dir->host->lock);
	return 0;
}

static int containers_stat(const struct caller *c, const struct node *n, struct tree_stat *st)
{
	pthread_rwlock_rdlock(&n->host->lock);
	st->mtime = n->host->changed[OBJ_KINDS];
	pthread_rwlock_unlock(&n->host->lock);
	return 0;
}

const struct node_ops containers_dir_ops = {
	.type = NODE_DIR,
	.read_level = LEVEL_VIEWER,
	.lookup = containers_lookup,
	.list = containers_list,
	.stat = containers_stat,
};

/* ---- containers/<name>/ -------------------------------------------------- */

/* Runs fn on the container of node n under the host's read lock. */
static int with_container(const struct node *n, void (*fn)(const struct container *, void *),
			  void *arg)
{
	int err = 0;

	pthread_rwlock_rdlock(&n->host->lock);
	struct container *ct = map_get(&n->host->containers, n->key);
	if (ct)
		fn(ct, arg);
	else
		err = -ENOENT;
	pthread_rwlock_unlock(&n->host->lock);
	return err;
}

static void get_mtime(const struct container *ct, void *arg)
{
	*(struct timespec *)arg = ct->changed_ts;
}

static int container_stat(const struct caller *c, const struct node *n, struct tree_stat *st)
{
	const struct container_attr *a = n->attr;

	if (a && a->fetch)
		st->live = true;
	return with_container(n, get_mtime, &st->mtime);
}

static int container_lookup(const struct caller *c, const struct node *dir, const char *name,
			    struct node *child)
{
	if (strcmp(name, "labels") == 0) {
		node_child(child, dir, &labels_dir_ops);
		return 0;
	}
	for (size_t i = 0; i < N_ATTRS; i++) {
		if (strcmp(name, container_attrs[i].name) == 0) {
			node_child(child, dir, container_attrs[i].ops);
			child->attr = &container_attrs[i];
			return 0;
		}
	}
	return -ENOENT;
}

static int container_list(const struct caller *c, const struct node *dir, struct dirlist *out)
{
	enum level lvl = tree_level(c, dir->host);

	for (size_t i = 0; i < N_ATTRS; i++)
		if (lvl >= container_attrs[i].ops->read_level)
			dirlist_add(out, container_attrs[i].name, NODE_FILE);
	dirlist_add(out, "labels", NODE_DIR);
	return 0;
}

const struct node_ops container_dir_ops = {
	.type = NODE_DIR,
	.read_level = LEVEL_VIEWER,
	.lookup = container_lookup,
	.list = container_list,
	.stat = container_stat,
};

struct show_ctx {
	const struct container_attr *attr;
	struct buf *out;
	bool tty;
};

static void show_cb(const struct container *ct, void *arg)
{
	struct show_ctx *sc = arg;

	if (sc->attr->show)
		sc->attr->show(ct, sc->out);
	sc->tty = ct->tty;
}

static int container_file_read(const struct caller *c, const struct node *n, struct buf *out)
{
	const struct container_attr *a = n->attr;
	struct show_ctx sc = { a, out, false };
	int err;

	if (a->detail) {
		err = host_container_detail(n->host, n->key);
		if (err)
			return err;
	}
	err = with_container(n, show_cb, &sc);
	if (!err && a->fetch)
		err = a->fetch(n->host, n->key, sc.tty, out);
	return err;
}

const struct node_ops container_file_ops = {
	.type = NODE_FILE,
	.read_level = LEVEL_VIEWER,
	.stat = container_stat,
	.read = container_file_read,
};

const struct node_ops container_live_ops = {
	.type = NODE_FILE,
	.read_level = LEVEL_VIEWER,
	.stat = container_stat,
	.read = container_file_read,
};

/* Logs can tell what a program printed, secrets included: operator level,
 * as in the plan. */
const struct node_ops container_logs_ops = {
	.type = NODE_FILE,
	.read_level = LEVEL_OPERATOR,
	.stat = container_stat,
	.read = container_file_read,
};

/* ---- containers/<name>/labels/ ------------------------------------------- */

static void list_labels(const struct container *ct, void *arg)
{
	const char *p = ct->labels, *end = ct->labels + ct->labels_len;
	char file[NAME_MAX_ESCAPED];

	while (p < end) {
		const char *v = p + strlen(p) + 1;
		if (name_escape(p, file, sizeof(file)) >= 0 && file[0] && strcmp(file, ".") &&
		    strcmp(file, ".."))
			dirlist_add(arg, file, NODE_FILE);
		p = v + strlen(v) + 1;
	}
}

static int labels_list(const struct caller *c, const struct node *dir, struct dirlist *out)
{
	return with_container(dir, list_labels, out);
}

struct label_ctx {
	const char *key;
	bool found;
	struct buf *out;
};

static void find_label(const struct container *ct, void *arg)
{
	struct label_ctx *lc = arg;
	const char *v = container_label(ct, lc->key);

	lc->found = v != NULL;
	if (v && lc->out)
		tree_scalar(lc->out, v);
}

static int labels_lookup(const struct caller *c, const struct node *dir, const char *name,
			 struct node *child)
{
	char key[NAME_MAX_ESCAPED];
	struct label_ctx lc = { key, false, NULL };
	int err = name_unescape(name, key, sizeof(key));

	if (err < 0)
		return -ENOENT;
	err = with_container(dir, find_label, &lc);
	if (err)
		return err;
	if (!lc.found)
		return -ENOENT;
	node_child(child, dir, &label_file_ops);
	snprintf(child->sub, sizeof(child->sub), "%s", key);
	return 0;
}

const struct node_ops labels_dir_ops = {
	.type = NODE_DIR,
	.read_level = LEVEL_VIEWER,
	.lookup = labels_lookup,
	.list = labels_list,
	.stat = container_stat,
};

static int label_read(const struct caller *c, const struct node *n, struct buf *out)
{
	struct label_ctx lc = { n->sub, false, out };
	int err = with_container(n, find_label, &lc);

	return err ? err : lc.found ? 0 : -ENOENT;
}

const struct node_ops label_file_ops = {
	.type = NODE_FILE,
	.read_level = LEVEL_VIEWER,
	.stat = container_stat,
	.read = label_read,
};
