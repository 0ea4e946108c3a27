/* objects.c - M/hosts/<host>/{images,networks,volumes}/<name>/.
 *
 * The three have one shape: a directory per object named as Docker names
 * it (image references escaped, see names.h; untagged images by short id),
 * a few scalars from the list API's summary, and inspect.json fetched when
 * opened.  Objects are also found by full or unique short id.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "model.h"
#include "names.h"
#include "tree.h"

struct object_attr {
	const char *name;
	/* Scalar from the summary, under the host's read lock. */
	void (*show)(const struct object *o, struct buf *out);
};

struct object_kind_desc {
	enum object_kind kind;
	const char *inspect_path;     /* the inspect call is <path><id><suffix> */
	const char *inspect_suffix;
	const struct object_attr *attrs;
	size_t nattrs;
};

static void show_field(const struct object *o, const char *field, struct buf *out)
{
	json_t *v = json_object_get(o->summary, field);

	if (json_is_string(v))
		tree_scalar(out, json_string_value(v));
	else if (json_is_integer(v))
		buf_printf(out, "%lld\n", (long long)json_integer_value(v));
	else
		tree_scalar(out, "");
}

static void show_id(const struct object *o, struct buf *out)
{
	tree_scalar(out, o->id);
}

static void show_created(const struct object *o, struct buf *out)
{
	char text[64];
	struct tm tm;

	gmtime_r(&o->created_ts.tv_sec, &tm);
	strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &tm);
	tree_scalar(out, text);
}

static void show_tags(const struct object *o, struct buf *out)
{
	size_t i;
	json_t *t;

	json_array_foreach(json_object_get(o->summary, "RepoTags"), i, t)
		if (json_string_value(t) && strcmp(json_string_value(t), "<none>:<none>"))
			tree_scalar(out, json_string_value(t));
}

static void show_size(const struct object *o, struct buf *out)
{
	show_field(o, "Size", out);
}

static void show_name(const struct object *o, struct buf *out)
{
	show_field(o, "Name", out);
}

static void show_driver(const struct object *o, struct buf *out)
{
	show_field(o, "Driver", out);
}

static void show_scope(const struct object *o, struct buf *out)
{
	show_field(o, "Scope", out);
}

static void show_mountpoint(const struct object *o, struct buf *out)
{
	show_field(o, "Mountpoint", out);
}

#define INSPECT_JSON { "inspect.json", NULL }

static const struct object_attr image_attrs[] = {
	{ "id", show_id }, { "tags", show_tags }, { "created", show_created },
	{ "size", show_size }, INSPECT_JSON,
};
static const struct object_attr network_attrs[] = {
	{ "id", show_id }, { "name", show_name }, { "driver", show_driver },
	{ "scope", show_scope }, { "created", show_created }, INSPECT_JSON,
};
static const struct object_attr volume_attrs[] = {
	{ "id", show_id }, { "name", show_name }, { "driver", show_driver },
	{ "scope", show_scope }, { "mountpoint", show_mountpoint },
	{ "created", show_created }, INSPECT_JSON,
};

#define ATTRS(a) a, sizeof(a) / sizeof(a[0])

static const struct object_kind_desc kinds[OBJ_KINDS] = {
	[OBJ_IMAGE] = { OBJ_IMAGE, "/images/", "/json", ATTRS(image_attrs) },
	[OBJ_NETWORK] = { OBJ_NETWORK, "/networks/", "", ATTRS(network_attrs) },
	[OBJ_VOLUME] = { OBJ_VOLUME, "/volumes/", "", ATTRS(volume_attrs) },
};

extern const struct node_ops images_dir_ops, networks_dir_ops, volumes_dir_ops,
	object_dir_ops, object_file_ops, object_live_ops;

static const struct object_kind_desc *kind_of_dir(const struct node *dir)
{
	if (dir->ops == &images_dir_ops)
		return &kinds[OBJ_IMAGE];
	if (dir->ops == &networks_dir_ops)
		return &kinds[OBJ_NETWORK];
	return &kinds[OBJ_VOLUME];
}

/* ---- images/ networks/ volumes/ ------------------------------------------ */

static int objects_lookup(const struct caller *c, const struct node *dir, const char *name,
			  struct node *child)
{
	const struct object_kind_desc *k = kind_of_dir(dir);
	struct host *h = dir->host;
	char raw[NAME_MAX_ESCAPED], canon[NAME_MAX_ESCAPED];
	int err = 0;

	/* "%2f" and "%2F" name the same image: look up the canonical form. */
	if (name_unescape(name, raw, sizeof(raw)) < 0 ||
	    name_escape(raw, canon, sizeof(canon)) < 0)
		return -ENOENT;
	pthread_rwlock_rdlock(&h->lock);
	struct object *o = host_object_find(h, k->kind, canon);
	if (o) {
		node_child(child, dir, &object_dir_ops);
		snprintf(child->key, sizeof(child->key), "%s", o->name);
		child->attr = k;
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

static int objects_list(const struct caller *c, const struct node *dir, struct dirlist *out)
{
	const struct object_kind_desc *k = kind_of_dir(dir);

	pthread_rwlock_rdlock(&dir->host->lock);
	map_foreach(&dir->host->objects[k->kind], list_cb, out);
	pthread_rwlock_unlock(&dir->host->lock);
	return 0;
}

static int objects_stat(const struct caller *c, const struct node *n, struct tree_stat *st)
{
	pthread_rwlock_rdlock(&n->host->lock);
	st->mtime = n->host->changed[kind_of_dir(n)->kind];
	pthread_rwlock_unlock(&n->host->lock);
	return 0;
}

#define OBJECTS_DIR_OPS(var)                \
	const struct node_ops var = {       \
		.type = NODE_DIR,           \
		.read_level = LEVEL_VIEWER, \
		.lookup = objects_lookup,   \
		.list = objects_list,       \
		.stat = objects_stat,       \
	}

OBJECTS_DIR_OPS(images_dir_ops);
OBJECTS_DIR_OPS(networks_dir_ops);
OBJECTS_DIR_OPS(volumes_dir_ops);

/* ---- <kind>/<name>/ ------------------------------------------------------ */

/* The node of an object dir holds its kind in attr; of a file, the file's
 * attr, with the kind in sub[0]. */
static enum object_kind node_kind(const struct node *n)
{
	return n->ops == &object_dir_ops ? ((const struct object_kind_desc *)n->attr)->kind
					 : (enum object_kind)n->sub[0];
}

static int object_stat(const struct caller *c, const struct node *n, struct tree_stat *st)
{
	const struct object_attr *a = n->ops == &object_dir_ops ? NULL : n->attr;
	int err = 0;

	st->live = a && !a->show;
	pthread_rwlock_rdlock(&n->host->lock);
	struct object *o = map_get(&n->host->objects[node_kind(n)], n->key);
	if (o)
		st->mtime = o->created_ts;
	else
		err = -ENOENT;
	pthread_rwlock_unlock(&n->host->lock);
	return err;
}

static int object_lookup(const struct caller *c, const struct node *dir, const char *name,
			 struct node *child)
{
	const struct object_kind_desc *k = dir->attr;

	for (size_t i = 0; i < k->nattrs; i++) {
		if (strcmp(name, k->attrs[i].name) == 0) {
			node_child(child, dir, k->attrs[i].show ? &object_file_ops : &object_live_ops);
			child->attr = &k->attrs[i];
			child->sub[0] = (char)k->kind;
			return 0;
		}
	}
	return -ENOENT;
}

static int object_list(const struct caller *c, const struct node *dir, struct dirlist *out)
{
	const struct object_kind_desc *k = dir->attr;

	for (size_t i = 0; i < k->nattrs; i++)
		dirlist_add(out, k->attrs[i].name, NODE_FILE);
	return 0;
}

const struct node_ops object_dir_ops = {
	.type = NODE_DIR,
	.read_level = LEVEL_VIEWER,
	.lookup = object_lookup,
	.list = object_list,
	.stat = object_stat,
};

static int object_read(const struct caller *c, const struct node *n, struct buf *out)
{
	const struct object_attr *a = n->attr;
	enum object_kind kind = node_kind(n);
	char id[NAME_MAX_ESCAPED], path[NAME_MAX_ESCAPED + 64];
	int err = 0;

	pthread_rwlock_rdlock(&n->host->lock);
	struct object *o = map_get(&n->host->objects[kind], n->key);
	if (!o)
		err = -ENOENT;
	else if (a->show)
		a->show(o, out);
	else
		snprintf(id, sizeof(id), "%s", o->id);
	pthread_rwlock_unlock(&n->host->lock);
	if (err || a->show)
		return err;
	snprintf(path, sizeof(path), "%s%s%s", kinds[kind].inspect_path, id,
		 kinds[kind].inspect_suffix);
	return host_fetch_json(n->host, path, out);
}

const struct node_ops object_file_ops = {
	.type = NODE_FILE,
	.read_level = LEVEL_VIEWER,
	.stat = object_stat,
	.read = object_read,
};

const struct node_ops object_live_ops = {
	.type = NODE_FILE,
	.read_level = LEVEL_VIEWER,
	.stat = object_stat,
	.read = object_read,
};
