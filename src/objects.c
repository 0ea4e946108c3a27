/* objects.c - M/hosts/<host>/{images,networks,volumes}/<name>/.
 *
 * The three have one shape: a directory per object named as Docker names
 * it (image references escaped, see names.h; untagged images by short id),
 * a few scalars from the list API's summary, and inspect.json fetched when
 * opened.  Objects are also found by full or unique short id.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmdline.h"
#include "docker.h"
#include "model.h"
#include "names.h"
#include "objects.h"
#include "swarm.h"

struct object_attr {
	const char *name;
	/* Scalar from the summary, under the host's read lock. */
	void (*show)(const struct object *o, struct buf *out);
};

struct object_kind_desc {
	enum object_kind kind;
	const char *resource;         /* the audit's name: image, network, volume */
	const char *create_path, *prune_path;   /* constants */
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
	[OBJ_IMAGE] = { OBJ_IMAGE, "image", NULL, "/images/prune", ATTRS(image_attrs) },
	[OBJ_NETWORK] = { OBJ_NETWORK, "network", "/networks/create", "/networks/prune",
			  ATTRS(network_attrs) },
	[OBJ_VOLUME] = { OBJ_VOLUME, "volume", "/volumes/create", "/volumes/prune",
			 ATTRS(volume_attrs) },
};

extern const struct node_ops images_dir_ops, networks_dir_ops, volumes_dir_ops,
	object_file_ops, object_live_ops;
/* Per kind, so that the audit log names what was acted on. */
extern const struct node_ops object_dir_ops[OBJ_KINDS], objects_ctl_ops[OBJ_KINDS];

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

	if (strcmp(name, COLLECTION_CTL) == 0) {
		node_child(child, dir, &objects_ctl_ops[k->kind]);
		child->sub[0] = (char)k->kind;
		return 0;
	}
	/* "%2f" and "%2F" name the same image: look up the canonical form. */
	if (name_unescape(name, raw, sizeof(raw)) < 0 ||
	    name_escape(raw, canon, sizeof(canon)) < 0)
		return -ENOENT;
	pthread_rwlock_rdlock(&h->lock);
	struct object *o = host_object_find(h, k->kind, canon);
	if (o) {
		node_child(child, dir, &object_dir_ops[k->kind]);
		snprintf(child->key, sizeof(child->key), "%s", o->name);
		child->attr = k;
		child->sub[0] = (char)k->kind;
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

	dirlist_add(out, COLLECTION_CTL, NODE_FILE);
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

/* ---- actions ------------------------------------------------------------------
 *
 *   mkdir networks/NAME, volumes/NAME     create with the defaults
 *   rmdir images/REF, networks/NAME, volumes/NAME
 *   ctl: prune (admin); networks: create NAME [--driver D] [--internal]
 *        [--label K=V] [--subnet CIDR] [--opt K=V]; volumes: create NAME
 *        [--driver D] [--label K=V] [--opt K=V]; images: rm REF [force]
 */

static int act(struct host *h, const char *method, const char *path, const char *body,
	       bool create)
{
	struct docker_call call = {
		.method = method, .path = path, .body = body, .create = create,
		.timeout_ms = 60000,
	};
	struct docker_reply r;
	int err = host_call(h, &call, &r);

	if (err)
		err = tree_fail(err, "%s", r.message);
	docker_reply_free(&r);
	return err;
}

/* The model catches up through the engine's events; relist now so that
 * `ls` right after the call already agrees. */
static void settle(struct host *h, enum object_kind kind)
{
	host_objects_refresh(h, kind);
}

/* The path of object id of kind (DELETE), or of its inspection. */
static int object_path(enum object_kind kind, bool inspect, const char *id, char *path,
		       size_t len)
{
	switch (kind) {
	case OBJ_IMAGE:
		return inspect ? docker_path(path, len, "/images/%s/json", id)
			       : docker_path(path, len, "/images/%s", id);
	case OBJ_NETWORK:
		return docker_path(path, len, "/networks/%s", id);
	default:
		return docker_path(path, len, "/volumes/%s", id);
	}
}

/* body: the caller's, which may be replaced by what the allowlist wrote. */
static int create_object(const struct caller *c, struct host *h, enum object_kind kind,
			 json_t **body)
{
	int err;

	err = objects_judge_body(c, h, kind == OBJ_NETWORK ? ALLOW_NETWORK : ALLOW_VOLUME, body);
	if (err)
		return err;
	/* Docker allows two networks of one name unless asked not to. */
	if (kind == OBJ_NETWORK)
		json_object_set_new(*body, "CheckDuplicate", json_true());
	char *text = json_dumps(*body, JSON_COMPACT);
	err = act(h, "POST", kinds[kind].create_path, text, true);
	free(text);
	settle(h, kind);
	return err;
}

static int objects_mkdir(const struct caller *c, const struct node *dir, const char *name)
{
	enum object_kind kind = kind_of_dir(dir)->kind;

	if (kind == OBJ_IMAGE)
		return tree_fail(-EPERM, "images come from the engine (pull, build, import)");
	if (!name_object_valid(name))
		return tree_fail(-EINVAL, "names are [a-zA-Z0-9][a-zA-Z0-9_.-]*");
	tree_set_resource(name);
	json_t *body = json_pack("{s:s}", "Name", name);
	int err = create_object(c, dir->host, kind, &body);
	json_decref(body);
	return err;
}

static int objects_rmdir(const struct caller *c, const struct node *dir, const char *name)
{
	enum object_kind kind = kind_of_dir(dir)->kind;
	char id[NAME_MAX_ESCAPED], path[3 * NAME_MAX_ESCAPED + 64], raw[NAME_MAX_ESCAPED];
	int err = 0;

	pthread_rwlock_rdlock(&dir->host->lock);
	struct object *o = host_object_find(dir->host, kind,
					    name_unescape(name, raw, sizeof(raw)) >= 0 ? name : "");
	if (o && kind == OBJ_IMAGE)
		name_unescape(o->name, id, sizeof(id)); /* remove this tag, not the image */
	else if (o)
		snprintf(id, sizeof(id), "%s", o->id);
	else
		err = -ENOENT;
	pthread_rwlock_unlock(&dir->host->lock);
	if (err)
		return err;
	tree_set_resource(id);
	err = object_path(kind, false, id, path, sizeof(path));
	if (err)
		return tree_fail(err, "%s cannot be named in an API path", id);
	err = act(dir->host, "DELETE", path, NULL, false);
	/* A swarm's network removed on its manager leaves the swarm's lists
	 * as it does through swarms/ (harmless for any other network). */
	if (kind == OBJ_NETWORK && (!err || err == -ENOENT))
		swarm_network_removed(id);
	settle(dir->host, kind);
	return err;
}

#define OBJECTS_DIR_OPS(var, what)              \
	const struct node_ops var = {           \
		.type = NODE_DIR,               \
		.resource = what,               \
		.read_level = LEVEL_VIEWER,     \
		.write_level = LEVEL_OPERATOR,  \
		.error_file = true,             \
		.collection = true,             \
		.lookup = objects_lookup,       \
		.list = objects_list,           \
		.stat = objects_stat,           \
		.mkdir = objects_mkdir,         \
		.rmdir = objects_rmdir,         \
	}

OBJECTS_DIR_OPS(images_dir_ops, "image");
OBJECTS_DIR_OPS(networks_dir_ops, "network");
OBJECTS_DIR_OPS(volumes_dir_ops, "volume");

static const char *const ctl_usage[OBJ_KINDS] = {
	[OBJ_IMAGE] = "rm REF [force]\nprune            (admin: unused dangling images)\n",
	[OBJ_NETWORK] = "create NAME [--driver D] [--internal] [--label K=V] [--subnet CIDR]"
			" [--opt K=V]\nprune            (admin: unused networks)\n",
	[OBJ_VOLUME] = "create NAME [--driver D] [--label K=V] [--opt K=V]\n"
		       "prune            (admin: unused volumes)\n",
};

static int ctl_read(const struct caller *c, const struct node *n, struct buf *out)
{
	buf_puts(out, ctl_usage[(int)n->sub[0]]);
	return 0;
}

/* 10.1.0.0/16 or fd00::/64: the engine answers 500 to a bad one. */
static bool valid_cidr(const char *s)
{
	char addr[64];
	unsigned char bin[16];
	const char *slash = strchr(s, '/');
	char *end;

	if (!slash || (size_t)(slash - s) >= sizeof(addr) || !slash[1])
		return false;
	memcpy(addr, s, (size_t)(slash - s));
	addr[slash - s] = '\0';
	bool v6 = strchr(addr, ':') != NULL;
	long bits = strtol(slash + 1, &end, 10);
	return !*end && bits >= 0 && bits <= (v6 ? 128 : 32) &&
	       inet_pton(v6 ? AF_INET6 : AF_INET, addr, bin) == 1;
}

/* create NAME [options]: the body of /networks/create or /volumes/create. */
static int parse_create(enum object_kind kind, const struct argv *a, json_t **out)
{
	/* A value json_pack or json_string cannot carry (not UTF-8) fails
	 * the parse: never a body sent without it. */
	json_t *body = json_pack("{s:s}", "Name", a->v[1]);
	const char *opts_key = kind == OBJ_VOLUME ? "DriverOpts" : "Options";

	if (!body)
		return -EINVAL;

	for (int i = 2; i < a->n; i++) {
		const char *o = a->v[i], *v = i + 1 < a->n ? a->v[i + 1] : NULL;

		if (!strcmp(o, "--internal") && kind == OBJ_NETWORK) {
			json_object_set_new(body, "Internal", json_true());
			continue;
		}
		if (!v)
			goto bad;
		if (!strcmp(o, "--driver")) {
			if (json_object_set_new(body, "Driver", json_string(v)))
				goto bad;
		} else if (!strcmp(o, "--label") || !strcmp(o, "--opt")) {
			const char *eq = strchr(v, '=');
			if (!eq || eq == v)
				goto bad;
			json_t *m = json_object_get(body, o[2] == 'l' ? "Labels" : opts_key);
			if (!m) {
				m = json_object();
				json_object_set_new(body, o[2] == 'l' ? "Labels" : opts_key, m);
			}
			char key[256];
			/* a longer key is refused, never cut */
			if ((size_t)(eq - v) >= sizeof(key))
				goto bad;
			snprintf(key, sizeof(key), "%.*s", (int)(eq - v), v);
			if (json_object_set_new(m, key, json_string(eq + 1)))
				goto bad;
		} else if (!strcmp(o, "--subnet") && kind == OBJ_NETWORK) {
			if (!valid_cidr(v))
				goto bad;
			if (json_object_set_new(body, "IPAM",
						json_pack("{s:[{s:s}]}", "Config", "Subnet", v)))
				goto bad;
		} else {
			goto bad;
		}
		i++;
	}
	*out = body;
	return 0;
bad:
	json_decref(body);
	return -EINVAL;
}

static int ctl_write(const struct caller *c, const struct node *n, const char *data, size_t len,
		     struct buf *out)
{
	enum object_kind kind = (enum object_kind)n->sub[0];
	struct argv a;
	char path[3 * NAME_MAX_ESCAPED + 64];
	int err;

	if (cmdline_split(data, len, &a))
		return tree_fail(-EINVAL, "unbalanced quotes or a control byte");
	const char *verb = a.n ? a.v[0] : "";
	if (!strcmp(verb, "prune") && a.n == 1) {
		if (tree_level(c, n->host) < LEVEL_ADMIN)
			err = tree_deny("prune needs the admin level");
		else {
			err = act(n->host, "POST", kinds[kind].prune_path, NULL, false);
			settle(n->host, kind);
		}
	} else if (!strcmp(verb, "create") && a.n >= 2 && kind != OBJ_IMAGE) {
		json_t *body = NULL;

		tree_set_resource(a.v[1]);
		if (!name_object_valid(a.v[1]) || parse_create(kind, &a, &body))
			err = tree_fail(-EINVAL, "%s", ctl_usage[kind]);
		else
			err = create_object(c, n->host, kind, &body);
		json_decref(body);
	} else if (!strcmp(verb, "rm") && kind == OBJ_IMAGE && (a.n == 2 ||
		   (a.n == 3 && !strcmp(a.v[2], "force")))) {
		/* An image reference as Docker writes it: a/b:c, not escaped.
		 * "../nodes/X" once left /images through curl's squashing of
		 * dot segments; the grammar refuses it in the caller's terms,
		 * docker_path() would keep it one segment anyway. */
		tree_set_resource(a.v[1]);
		if (!name_image_ref_valid(a.v[1]))
			err = tree_fail(-EINVAL, "not an image reference (NAME[:TAG][@DIGEST], an "
					"id or a short id): %s", a.v[1]);
		else if ((err = docker_path(path, sizeof(path), "/images/%s?force=%d", a.v[1],
					    a.n == 3)))
			err = tree_fail(err, "not an image reference: %s", a.v[1]);
		else {
			err = act(n->host, "DELETE", path, NULL, false);
			settle(n->host, kind);
		}
	} else {
		err = tree_fail(-EINVAL, "%s", ctl_usage[kind]);
	}
	argv_free(&a);
	return err;
}

#define OBJECTS_CTL_OPS(what)                   \
	{                                       \
		.type = NODE_FILE,              \
		.resource = what,               \
		.read_level = LEVEL_VIEWER,     \
		.write_level = LEVEL_OPERATOR,  \
		.read = ctl_read,               \
		.write = ctl_write,             \
	}

const struct node_ops objects_ctl_ops[OBJ_KINDS] = {
	[OBJ_IMAGE] = OBJECTS_CTL_OPS("image"),
	[OBJ_NETWORK] = OBJECTS_CTL_OPS("network"),
	[OBJ_VOLUME] = OBJECTS_CTL_OPS("volume"),
};

/* ---- <kind>/<name>/ ------------------------------------------------------ */

/* Every node below an object directory has the kind in sub[0]; attr is the
 * kind's descriptor for the directory, the file's for a file. */
static enum object_kind node_kind(const struct node *n)
{
	return (enum object_kind)n->sub[0];
}

static int object_stat(const struct caller *c, const struct node *n, struct tree_stat *st)
{
	const struct object_attr *a = n->ops->type == NODE_DIR ? NULL : n->attr;
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

#define OBJECT_DIR_OPS(what)                    \
	{                                       \
		.type = NODE_DIR,               \
		.resource = what,               \
		.read_level = LEVEL_VIEWER,     \
		.remove_level = LEVEL_OPERATOR, \
		.lookup = object_lookup,        \
		.list = object_list,            \
		.stat = object_stat,            \
	}

const struct node_ops object_dir_ops[OBJ_KINDS] = {
	[OBJ_IMAGE] = OBJECT_DIR_OPS("image"),
	[OBJ_NETWORK] = OBJECT_DIR_OPS("network"),
	[OBJ_VOLUME] = OBJECT_DIR_OPS("volume"),
};

static int object_read(const struct caller *c, const struct node *n, struct buf *out)
{
	const struct object_attr *a = n->attr;
	enum object_kind kind = node_kind(n);
	char id[NAME_MAX_ESCAPED], path[3 * NAME_MAX_ESCAPED + 64];
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
	err = object_path(kind, true, id, path, sizeof(path));
	return err ? err : host_fetch_json(n->host, path, out);
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

/* ---- judging create bodies below admin ------------------------------------ */

/* The allowlist's references, looked up on the engine the body is for
 * (networks by name, id or id prefix, as the engine resolves them). */
static int lookup(struct host *h, const char *path, json_t **out)
{
	struct docker_call call = { .method = "GET", .path = path, .timeout_ms = 10000 };
	struct docker_reply r;
	int err = host_call(h, &call, &r);

	if (!err) {
		*out = json_loadb(r.body.data ? r.body.data : "", r.body.len, 0, NULL);
		if (!json_is_object(*out)) {
			json_decref(*out);
			*out = NULL;
			err = -EIO;
		}
	}
	docker_reply_free(&r);
	return err;
}

static void ref_fill(json_t *obj, struct allowlist_ref *out)
{
	snprintf(out->name, sizeof(out->name), "%s",
		 json_string_value(json_object_get(obj, "Name")) ?: "");
	snprintf(out->id, sizeof(out->id), "%s", json_string_value(json_object_get(obj, "Id")) ?: "");
	snprintf(out->driver, sizeof(out->driver), "%s",
		 json_string_value(json_object_get(obj, "Driver")) ?: "");
	json_t *opts = json_object_get(obj, "Options");
	out->options = json_is_object(opts) && json_object_size(opts);
}

/* path: made by docker_path (err its result); what cannot be a path
 * segment names nothing. */
static int resolve(struct host *h, int err, const char *path, struct allowlist_ref *out)
{
	json_t *obj = NULL;

	if (err)
		return err == -EINVAL ? -ENOENT : err;
	err = lookup(h, path, &obj);
	if (!err)
		ref_fill(obj, out);
	json_decref(obj);
	return err;
}

static int resolve_network(void *arg, const char *ref, struct allowlist_ref *out)
{
	char path[NAME_MAX_ESCAPED * 3 + 16];

	return resolve(arg, docker_path(path, sizeof(path), "/networks/%s", ref), path, out);
}

static int resolve_volume(void *arg, const char *name, struct allowlist_ref *out)
{
	char path[NAME_MAX_ESCAPED * 3 + 16];

	return resolve(arg, docker_path(path, sizeof(path), "/volumes/%s", name), path, out);
}

void objects_resolver(struct host *h, struct allowlist_resolver *r)
{
	*r = (struct allowlist_resolver){ resolve_network, resolve_volume, h };
}

int objects_judge_body(const struct caller *c, struct host *h, enum allowlist_kind kind,
		       json_t **body)
{
	struct allowlist_resolver r;
	char why[512];
	json_t *sent;
	int err;

	if (tree_level(c, h) >= LEVEL_ADMIN)
		return 0;
	objects_resolver(h, &r);
	err = allowlist_rebuild(kind, *body, &r, &sent, why, sizeof(why));
	if (err)
		return err == -EACCES ? tree_deny("%s", why) : tree_fail(err, "%s", why);
	/* On record is what is sent, not what was written. */
	char *text = json_dumps(sent, JSON_COMPACT);
	if (text)
		tree_set_details(text);
	free(text);
	json_decref(*body);
	*body = sent;
	return 0;
}
