/* fleet_view.c - M/containers/ and M/images/: every host at once.
 *
 * Each entry is "<host>:<name>", a symlink to hosts/<host>/<kind>/<name>,
 * so `ls M/containers` is the fleet's `docker ps -a` and every tool that
 * follows links reaches the real directory.  Host names cannot contain ':'
 * (names.h), so the first ':' splits an entry unambiguously.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "model.h"
#include "tree.h"

extern const struct node_ops fleet_link_ops;

static bool is_images(const struct node *n)
{
	return n->ops == &fleet_images_ops || n->sub[0] == 'i';
}

struct list_ctx {
	const struct caller *c;
	struct dirlist *out;
	bool images;
	struct host *h;
};

static void add_entry(const char *name, void *v, void *arg)
{
	struct list_ctx *lc = arg;
	char entry[NAME_MAX_ESCAPED];

	if (snprintf(entry, sizeof(entry), "%s:%s", lc->h->name, name) < (int)sizeof(entry))
		dirlist_add(lc->out, entry, NODE_LINK);
}

static void list_host(struct host *h, void *arg)
{
	struct list_ctx *lc = arg;

	if (tree_level(lc->c, h) < LEVEL_VIEWER)
		return;
	lc->h = h;
	pthread_rwlock_rdlock(&h->lock);
	map_foreach(lc->images ? &h->objects[OBJ_IMAGE] : &h->container_names, add_entry, lc);
	pthread_rwlock_unlock(&h->lock);
}

static int view_list(const struct caller *c, const struct node *dir, struct dirlist *out)
{
	struct list_ctx lc = { c, out, is_images(dir), NULL };

	if (!lc.images)
		fleet_wait_listed(tree_ctx()->fleet);
	fleet_foreach_host(tree_ctx()->fleet, list_host, &lc);
	return 0;
}

static int view_lookup(const struct caller *c, const struct node *dir, const char *name,
		       struct node *child)
{
	char hostname[NAME_MAX_ESCAPED];
	const char *colon = strchr(name, ':');
	bool images = is_images(dir);
	bool found;

	if (!colon || (size_t)(colon - name) >= sizeof(hostname))
		return -ENOENT;
	memcpy(hostname, name, (size_t)(colon - name));
	hostname[colon - name] = '\0';
	struct host *h = fleet_host_get(tree_ctx()->fleet, hostname);
	if (!h)
		return -ENOENT;
	pthread_rwlock_rdlock(&h->lock);
	found = map_get(images ? &h->objects[OBJ_IMAGE] : &h->container_names, colon + 1) != NULL;
	pthread_rwlock_unlock(&h->lock);
	if (!found) {
		host_put(h);
		return -ENOENT;
	}
	memset(child, 0, sizeof(*child));
	child->ops = &fleet_link_ops;
	child->host = h;
	snprintf(child->key, sizeof(child->key), "%s", colon + 1);
	child->sub[0] = images ? 'i' : 'c';
	return 0;
}

struct newest_ctx {
	const struct caller *c;
	bool images;
	struct timespec t;
};

static void newest_cb(struct host *h, void *arg)
{
	struct newest_ctx *nc = arg;
	struct timespec t;

	if (tree_level(nc->c, h) < LEVEL_VIEWER)
		return;
	pthread_rwlock_rdlock(&h->lock);
	t = h->changed[nc->images ? OBJ_IMAGE : OBJ_KINDS];
	pthread_rwlock_unlock(&h->lock);
	if (t.tv_sec > nc->t.tv_sec || (t.tv_sec == nc->t.tv_sec && t.tv_nsec > nc->t.tv_nsec))
		nc->t = t;
}

/* A view changes when the list of that kind of a host the caller may see
 * changes: the time says nothing of the others' hosts, and differs by
 * caller. */
static int view_stat(const struct caller *c, const struct node *n, struct tree_stat *st)
{
	struct newest_ctx nc = { c, is_images(n), { 0, 0 } };

	fleet_foreach_host(tree_ctx()->fleet, newest_cb, &nc);
	st->mtime = nc.t;
	st->per_caller = true;
	return 0;
}

const struct node_ops fleet_containers_ops = {
	.type = NODE_DIR,
	.lookup = view_lookup,
	.list = view_list,
	.stat = view_stat,
};

const struct node_ops fleet_images_ops = {
	.type = NODE_DIR,
	.lookup = view_lookup,
	.list = view_list,
	.stat = view_stat,
};

static int link_read(const struct caller *c, const struct node *n, struct buf *out)
{
	buf_printf(out, "../hosts/%s/%s/%s", n->host->name, is_images(n) ? "images" : "containers",
		   n->key);
	return 0;
}

const struct node_ops fleet_link_ops = {
	.type = NODE_LINK,
	.read_level = LEVEL_VIEWER,
	.read = link_read,
};
