/* tree.c - the tree core: resolution of paths, permission checks, dispatch
 * to the subtree modules.  The one place where "may this caller do this?"
 * is answered, for FUSE and HTTP alike.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "map.h"
#include "model.h"
#include "tree.h"

static struct tree_ctx ctx;

/* Sizes of live files as last fetched, so stat after open is exact
 * (path -> size).  Guarded by live_lock. */
static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static struct map live_sizes = MAP_INIT;

struct live_size {
	size_t size;
	char path[];
};

void tree_init(const struct tree_ctx *c)
{
	ctx = *c;
}

const struct tree_ctx *tree_ctx(void)
{
	return &ctx;
}

enum level tree_level(const struct caller *c, struct host *host)
{
	/* Global admins: root and the user who mounted.  Per-host levels for
	 * other users come from user_host_permissions (issue 3); until then
	 * anyone else sees nothing, the safe default for an unknown uid. */
	if (c->uid == 0 || c->uid == ctx.owner)
		return LEVEL_ADMIN;
	(void)host;
	return LEVEL_NONE;
}

void dirlist_add(struct dirlist *l, const char *name, enum node_type type)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 32;
		l->v = realloc(l->v, l->cap * sizeof(*l->v));
		if (!l->v)
			abort();
	}
	l->v[l->n].name = strdup(name);
	if (!l->v[l->n].name)
		abort();
	l->v[l->n++].type = type;
}

void dirlist_free(struct dirlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].name);
	free(l->v);
	*l = (struct dirlist){ 0 };
}

void node_release(struct node *n)
{
	if (n->host)
		host_put(n->host);
	n->host = NULL;
}

void node_child(struct node *child, const struct node *dir, const struct node_ops *ops)
{
	memset(child, 0, sizeof(*child));
	child->ops = ops;
	child->host = dir->host;
	if (child->host)
		atomic_fetch_add(&child->host->refs, 1);
	memcpy(child->key, dir->key, sizeof(child->key));
}

void tree_scalar(struct buf *out, const char *value)
{
	buf_puts(out, value ? value : "");
	buf_puts(out, "\n");
}

int tree_parse_value(const char *data, size_t len, size_t max, char *out)
{
	if (len && data[len - 1] == '\n')
		len--;
	if (len > max)
		return -EINVAL;
	for (size_t i = 0; i < len; i++)
		if (data[i] == '\n' || data[i] == '\0')
			return -EINVAL;
	memcpy(out, data, len);
	out[len] = '\0';
	return 0;
}

/* ---- the root ---------------------------------------------------------- */

static const struct {
	const char *name;
	const struct node_ops *ops;
} root_entries[] = {
	{ "hosts", &hosts_dir_ops },
	{ "containers", &fleet_containers_ops },
	{ "images", &fleet_images_ops },
};

#define N_ROOT (sizeof(root_entries) / sizeof(root_entries[0]))

static int root_lookup(const struct caller *c, const struct node *dir, const char *name,
		       struct node *child)
{
	for (size_t i = 0; i < N_ROOT; i++) {
		if (strcmp(name, root_entries[i].name) == 0) {
			node_child(child, dir, root_entries[i].ops);
			return 0;
		}
	}
	return -ENOENT;
}

static int root_list(const struct caller *c, const struct node *dir, struct dirlist *out)
{
	for (size_t i = 0; i < N_ROOT; i++)
		dirlist_add(out, root_entries[i].name, root_entries[i].ops->type);
	return 0;
}

static const struct node_ops root_ops = {
	.type = NODE_DIR,
	.lookup = root_lookup,
	.list = root_list,
};

/* ---- resolution ---------------------------------------------------------- */

static bool may(const struct caller *c, const struct node *n, enum level need)
{
	return need == LEVEL_NONE || tree_level(c, n->host) >= need;
}

/* Walks path from the root.  On success n holds a reference to release. */
static int resolve(const struct caller *c, const char *path, struct node *n)
{
	char name[NAME_MAX_ESCAPED];
	const char *p = path;

	memset(n, 0, sizeof(*n));
	n->ops = &root_ops;
	while (*p) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		size_t len = strcspn(p, "/");
		if (len >= sizeof(name)) {
			node_release(n);
			return -ENAMETOOLONG;
		}
		memcpy(name, p, len);
		name[len] = '\0';
		p += len;

		struct node child;
		if (!n->ops->lookup) {
			node_release(n);
			return -ENOTDIR;
		}
		memset(&child, 0, sizeof(child));
		int err = n->ops->lookup(c, n, name, &child);
		node_release(n);
		if (err) {
			node_release(&child);
			return err;
		}
		*n = child;
		/* Not allowed to see it is the same as it not being there: a
		 * caller cannot learn which hosts or objects exist. */
		if (!may(c, n, n->ops->read_level)) {
			node_release(n);
			return -ENOENT;
		}
	}
	return 0;
}

static int parent_and_name(const char *path, char *parent, size_t plen, const char **name)
{
	const char *slash = strrchr(path, '/');

	if (!slash || !slash[1])
		return -EINVAL;
	if ((size_t)(slash - path) >= plen)
		return -ENAMETOOLONG;
	memcpy(parent, path, (size_t)(slash - path));
	parent[slash - path] = '\0';
	*name = slash + 1;
	return 0;
}

static void live_size_set(const char *path, size_t size)
{
	pthread_mutex_lock(&live_lock);
	struct live_size *ls = map_get(&live_sizes, path);
	if (!ls) {
		size_t n = strlen(path) + 1;
		ls = malloc(sizeof(*ls) + n);
		if (!ls)
			abort();
		memcpy(ls->path, path, n);
		map_put(&live_sizes, ls->path, ls);
	}
	ls->size = size;
	pthread_mutex_unlock(&live_lock);
}

static size_t live_size_get(const char *path)
{
	size_t size = 0;

	pthread_mutex_lock(&live_lock);
	struct live_size *ls = map_get(&live_sizes, path);
	if (ls)
		size = ls->size;
	pthread_mutex_unlock(&live_lock);
	return size;
}

/* ---- operations ---------------------------------------------------------- */

int tree_stat(const struct caller *c, const char *path, struct tree_stat *st)
{
	struct node n;
	int err = resolve(c, path, &n);

	if (err)
		return err;
	memset(st, 0, sizeof(*st));
	st->type = n.ops->type;
	st->perm = n.ops->type == NODE_DIR ? 0555 : n.ops->type == NODE_LINK ? 0777 :
		   n.ops->write ? 0644 : 0444;
	if (n.ops->stat)
		err = n.ops->stat(c, &n, st);
	if (st->mtime.tv_sec == 0)
		st->mtime = ctx.started;
	if (!err && st->type != NODE_DIR) {
		if (st->live) {
			st->size = live_size_get(path);
		} else if (n.ops->read) {
			struct buf b = BUF_INIT;
			err = n.ops->read(c, &n, &b);
			st->size = b.len;
			buf_free(&b);
			/* A write-only file still exists when it has nothing
			 * to show. */
			if (err == -EACCES && n.ops->write)
				err = 0;
		}
	}
	node_release(&n);
	return err;
}

int tree_list(const struct caller *c, const char *path, struct dirlist *out)
{
	struct node n;
	int err = resolve(c, path, &n);

	if (err)
		return err;
	err = n.ops->list ? n.ops->list(c, &n, out) : -ENOTDIR;
	node_release(&n);
	return err;
}

int tree_read(const struct caller *c, const char *path, struct buf *out)
{
	struct node n;
	struct tree_stat st = { 0 };
	int err = resolve(c, path, &n);

	if (err)
		return err;
	if (n.ops->type == NODE_DIR)
		err = -EISDIR;
	else if (!n.ops->read)
		err = -EACCES;
	else
		err = n.ops->read(c, &n, out);
	if (!err && n.ops->stat && n.ops->stat(c, &n, &st) == 0 && st.live)
		live_size_set(path, out->len);
	node_release(&n);
	return err;
}

int tree_readlink(const struct caller *c, const char *path, struct buf *out)
{
	struct node n;
	int err = resolve(c, path, &n);

	if (err)
		return err;
	err = n.ops->type == NODE_LINK ? n.ops->read(c, &n, out) : -EINVAL;
	node_release(&n);
	return err;
}

int tree_open(const struct caller *c, const char *path, bool for_write)
{
	struct node n;
	int err = resolve(c, path, &n);

	if (err)
		return err;
	if (n.ops->type == NODE_DIR && for_write)
		err = -EISDIR;
	else if (for_write && !n.ops->write)
		err = -EACCES;
	else if (for_write && !may(c, &n, n.ops->write_level))
		err = -EACCES;
	node_release(&n);
	return err;
}

int tree_write(const struct caller *c, const char *path, const char *data, size_t len)
{
	struct node n;
	int err = resolve(c, path, &n);

	if (err)
		return err;
	if (!n.ops->write || !may(c, &n, n.ops->write_level))
		err = -EACCES;
	else
		err = n.ops->write(c, &n, data, len);
	node_release(&n);
	return err;
}

static int dir_op(const struct caller *c, const char *path, bool make)
{
	char parent[4096];
	const char *name;
	struct node dir;
	int err = parent_and_name(path, parent, sizeof(parent), &name);

	if (err)
		return err;
	err = resolve(c, parent, &dir);
	if (err)
		return err;
	int (*op)(const struct caller *, const struct node *, const char *) =
		make ? dir.ops->mkdir : dir.ops->rmdir;
	if (!op)
		err = -EACCES;
	else if (!may(c, &dir, dir.ops->write_level))
		err = -EACCES;
	else
		err = op(c, &dir, name);
	node_release(&dir);
	return err;
}

int tree_mkdir(const struct caller *c, const char *path)
{
	return dir_op(c, path, true);
}

int tree_rmdir(const struct caller *c, const char *path)
{
	return dir_op(c, path, false);
}
