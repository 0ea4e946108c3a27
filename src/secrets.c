/* secrets.c - M/swarms/<swarm>/secrets/ and configs/.
 *
 *   echo -n VALUE > secrets/NAME   creates a secret (the file is new: O_CREAT)
 *   cat secrets/NAME               refused: a secret's value never comes back
 *   secrets/NAME.json              inspect, without the data
 *   rm secrets/NAME                removes it
 *   configs/NAME                   the same, readable (the config's data)
 *
 * Secrets and configs cannot change in place (Docker's rule): writing an
 * existing one is EEXIST.  Operators may create and remove them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker.h"
#include "format.h"
#include "model.h"
#include "swarms.h"
#include "tree.h"

#define DATA_MAX (500 << 10)     /* Docker's limit for both */

extern const struct node_ops secret_file_ops, secret_json_ops, config_file_ops,
	config_json_ops;

struct kind {
	const char *name;         /* "secret" */
	const char *create_path;  /* "/secrets/create" */
	bool readable;
	const struct node_ops *file_ops, *json_ops;
};

static const struct kind secret_kind = { "secret", "/secrets/create", false,
					 &secret_file_ops, &secret_json_ops };
static const struct kind config_kind = { "config", "/configs/create", true,
					 &config_file_ops, &config_json_ops };

static const struct kind *kind_of(const struct node *n)
{
	return n->ops == &swarm_secrets_dir_ops || n->ops == &secret_file_ops ||
	       n->ops == &secret_json_ops ? &secret_kind : &config_kind;
}

static json_t *list_of(struct swarm_cache *s, const struct kind *k)
{
	return k == &secret_kind ? s->secrets : s->configs;
}

static int obj_stat(const struct caller *c, const struct node *n, struct tree_stat *st)
{
	pthread_rwlock_rdlock(&n->host->lock);
	if (n->host->swarm)
		st->mtime = n->host->swarm->changed;
	pthread_rwlock_unlock(&n->host->lock);
	return 0;
}

static void pending_key(const struct node *dir, const struct kind *k, const char *name,
			char *out, size_t len)
{
	snprintf(out, len, "%s:%s:%s", k->name, dir->host->name, name);
}

/* ---- the directories ------------------------------------------------------------ */

static int objs_list(const struct caller *c, const struct node *dir, struct dirlist *out)
{
	const struct kind *k = kind_of(dir);
	char file[NAME_MAX_ESCAPED + 8];
	json_t *o;
	size_t i;

	pthread_rwlock_rdlock(&dir->host->lock);
	if (dir->host->swarm) {
		json_array_foreach(list_of(dir->host->swarm, k), i, o) {
			const char *name = swarm_str(o, "Spec.Name");
			if (!name)
				continue;
			dirlist_add(out, name, NODE_FILE);
			snprintf(file, sizeof(file), "%s.json", name);
			dirlist_add(out, file, NODE_FILE);
		}
	}
	pthread_rwlock_unlock(&dir->host->lock);
	return 0;
}

/* name or name.json: the object's id into id, and whether it is the json. */
static int find_obj(const struct node *dir, const struct kind *k, const char *name, char *id,
		    size_t idlen, bool *json)
{
	char base[NAME_MAX_ESCAPED];
	int err = -ENOENT;
	size_t l = strlen(name);

	*json = false;
	snprintf(base, sizeof(base), "%s", name);
	pthread_rwlock_rdlock(&dir->host->lock);
	json_t *list = dir->host->swarm ? list_of(dir->host->swarm, k) : NULL;
	json_t *o = swarm_find(list, "Spec.Name", base);
	if (!o && l > 5 && !strcmp(name + l - 5, ".json")) {
		base[l - 5] = '\0';
		o = swarm_find(list, "Spec.Name", base);
		*json = o != NULL;
	}
	if (o) {
		snprintf(id, idlen, "%s", swarm_str(o, "ID") ?: "");
		err = 0;
	}
	pthread_rwlock_unlock(&dir->host->lock);
	return err;
}

static int objs_lookup(const struct caller *c, const struct node *dir, const char *name,
		       struct node *child)
{
	const struct kind *k = kind_of(dir);
	char id[NAME_MAX_ESCAPED], pk[3 * NAME_MAX_ESCAPED];
	bool json;
	int err = find_obj(dir, k, name, id, sizeof(id), &json);

	if (err) {
		/* created (O_CREAT) and not yet written */
		pending_key(dir, k, name, pk, sizeof(pk));
		if (!swarm_pending_has(pk))
			return err;
		node_child(child, dir, k->file_ops);
		child->key[0] = '\0'; /* no object yet */
		snprintf(child->sub, sizeof(child->sub), "%s", name);
		return 0;
	}
	node_child(child, dir, json ? k->json_ops : k->file_ops);
	snprintf(child->key, sizeof(child->key), "%s", id);
	snprintf(child->sub, sizeof(child->sub), "%s", name);
	return 0;
}

/* Docker's names for secrets and configs. */
static bool valid_name(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > 64 || (n > 5 && !strcmp(s + n - 5, ".json")))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || (i && strchr("_.-", s[i]))))
			return false;
	return true;
}

static int objs_create(const struct caller *c, const struct node *dir, const char *name)
{
	const struct kind *k = kind_of(dir);
	char pk[3 * NAME_MAX_ESCAPED];

	if (!valid_name(name))
		return tree_fail(-EINVAL, "%s names are 1-64 of [a-zA-Z0-9][a-zA-Z0-9_.-]*, "
				 "not ending in .json", k->name);
	pending_key(dir, k, name, pk, sizeof(pk));
	swarm_pending_add(pk);
	return 0;
}

static int objs_unlink(const struct caller *c, const struct node *dir, const char *name)
{
	const struct kind *k = kind_of(dir);
	char id[NAME_MAX_ESCAPED], path[320], pk[3 * NAME_MAX_ESCAPED];
	bool json;
	int err = find_obj(dir, k, name, id, sizeof(id), &json);

	pending_key(dir, k, name, pk, sizeof(pk));
	if (err && swarm_pending_has(pk)) {
		swarm_pending_del(pk);
		return 0;
	}
	if (err || json)
		return err ? err : -EPERM;
	err = k == &secret_kind ? docker_path(path, sizeof(path), "/secrets/%s", id)
				: docker_path(path, sizeof(path), "/configs/%s", id);
	if (err)
		return tree_fail(err, "%s id %s cannot be named in an API path", k->name, id);
	err = swarm_act(dir->host, "DELETE", path, NULL, false, NULL);
	swarm_settle(dir->host);
	return err;
}

const struct node_ops swarm_secrets_dir_ops = {
	.type = NODE_DIR,
	.collection = true,
	.resource = "secret",
	.read_level = LEVEL_VIEWER,
	.write_level = LEVEL_OPERATOR,
	.error_file = true,
	.lookup = objs_lookup,
	.list = objs_list,
	.stat = obj_stat,
	.unlink = objs_unlink,
	.create = objs_create,
};

const struct node_ops swarm_configs_dir_ops = {
	.type = NODE_DIR,
	.collection = true,
	.resource = "config",
	.read_level = LEVEL_VIEWER,
	.write_level = LEVEL_OPERATOR,
	.error_file = true,
	.lookup = objs_lookup,
	.list = objs_list,
	.stat = obj_stat,
	.unlink = objs_unlink,
	.create = objs_create,
};

/* ---- the files ---------------------------------------------------------------------- */

static int obj_read(const struct caller *c, const struct node *n, struct buf *out)
{
	const struct kind *k = kind_of(n);
	bool json = n->ops == k->json_ops;
	int err = 0;

	if (!json && !k->readable)
		return -EACCES;
	if (!n->key[0])
		return 0; /* created, not yet written */
	pthread_rwlock_rdlock(&n->host->lock);
	json_t *o = n->host->swarm ? swarm_find(list_of(n->host->swarm, k), "ID", n->key) : NULL;
	if (!o) {
		err = -ENOENT;
	} else if (json) {
		json_t *copy = json_deep_copy(o);
		json_object_del(json_object_get(copy, "Spec"), "Data");
		format_json(copy, out);
		json_decref(copy);
	} else {
		/* a config's data is base64 in the API */
		const char *b64 = swarm_str(o, "Spec.Data") ?: "";
		size_t bl = strlen(b64);
		static const char tbl[] =
			"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
		unsigned acc = 0;
		int bits = 0;
		for (size_t i = 0; i < bl && b64[i] != '='; i++) {
			const char *p = strchr(tbl, b64[i]);
			if (!p || !b64[i])
				continue;
			acc = (acc << 6) | (unsigned)(p - tbl);
			bits += 6;
			if (bits >= 8) {
				bits -= 8;
				char ch = (char)((acc >> bits) & 0xff);
				buf_append(out, &ch, 1);
			}
		}
	}
	pthread_rwlock_unlock(&n->host->lock);
	return err;
}

static int obj_write(const struct caller *c, const struct node *n, const char *data,
		     size_t len, struct buf *out)
{
	const struct kind *k = kind_of(n);
	char pk[3 * NAME_MAX_ESCAPED];
	struct buf b64 = BUF_INIT;
	static const char tbl[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	int err;

	if (n->key[0])
		return tree_fail(-EEXIST, "%ss cannot change: remove %s and write it again",
				 k->name, n->sub);
	if (len > DATA_MAX)
		return tree_fail(-EFBIG, "a %s is at most %d bytes", k->name, DATA_MAX);
	for (size_t i = 0; i < len; i += 3) {
		unsigned v = (unsigned char)data[i] << 16;
		if (i + 1 < len)
			v |= (unsigned char)data[i + 1] << 8;
		if (i + 2 < len)
			v |= (unsigned char)data[i + 2];
		char q[4] = { tbl[v >> 18 & 63], tbl[v >> 12 & 63],
			      i + 1 < len ? tbl[v >> 6 & 63] : '=', i + 2 < len ? tbl[v & 63] : '=' };
		buf_append(&b64, q, 4);
	}
	json_t *body = json_pack("{s:s, s:s}", "Name", n->sub, "Data", b64.data ? b64.data : "");
	char *text = json_dumps(body, JSON_COMPACT);
	tree_set_resource(n->sub);
	err = swarm_act(n->host, "POST", k->create_path, text, true, NULL);
	free(text);
	json_decref(body);
	if (b64.data)
		memset(b64.data, 0, b64.len);
	buf_free(&b64);
	pending_key(n, k, n->sub, pk, sizeof(pk));
	swarm_pending_del(pk);
	swarm_settle(n->host);
	return err;
}

const struct node_ops secret_file_ops = {
	.type = NODE_FILE,
	.resource = "secret",
	.read_level = LEVEL_VIEWER,
	.write_level = LEVEL_OPERATOR,
	.remove_level = LEVEL_OPERATOR,
	.secret = true,
	.binary = true,           /* a key, a certificate, any blob */
	.stat = obj_stat,
	.read = obj_read,
	.write = obj_write,
};

const struct node_ops secret_json_ops = {
	.type = NODE_FILE,
	.resource = "secret",
	.read_level = LEVEL_VIEWER,
	.stat = obj_stat,
	.read = obj_read,
};

const struct node_ops config_file_ops = {
	.type = NODE_FILE,
	.resource = "config",
	.read_level = LEVEL_VIEWER,
	.write_level = LEVEL_OPERATOR,
	.remove_level = LEVEL_OPERATOR,
	.binary = true,           /* the engine takes any bytes (base64 in the API) */
	.stat = obj_stat,
	.read = obj_read,
	.write = obj_write,
};

const struct node_ops config_json_ops = {
	.type = NODE_FILE,
	.resource = "config",
	.read_level = LEVEL_VIEWER,
	.stat = obj_stat,
	.read = obj_read,
};
