/* permissions.c - the per-host levels (user_host_permissions), seen from
 * both sides:
 *
 *   M/hosts/HOST/permissions/USER   (admins of HOST)
 *   M/users/USER/permissions/HOST   (global admins)
 *
 * A file reads the level ("viewer", "operator", "admin") or "none"; writing
 * a level sets it, writing "none" or unlinking removes it.  Every known user
 * (or host) can be looked up, so `echo operator > permissions/alice` works
 * without creating a file first; `ls` lists only those with a level.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "access.h"
#include "model.h"
#include "store.h"
#include "tree.h"

extern const struct node_ops host_permission_ops, user_permission_ops;

static struct store *store(void)
{
	return tree_ctx()->store;
}

/* Which (user, host) a node names: on the host side the host is the node's
 * and the user is sub; on the user side the user is key and the host sub. */
static void pair_of(const struct node *n, const char **user, const char **host)
{
	if (n->ops == &host_permission_ops) {
		*user = n->sub;
		*host = n->host->name;
	} else {
		*user = n->key;
		*host = n->sub;
	}
}

static int perm_read(const struct caller *c, const struct node *n, struct buf *out)
{
	char level[STORE_LEVEL_LEN];
	const char *user, *host;
	int err;

	pair_of(n, &user, &host);
	err = store_perm_get(store(), user, host, level);
	if (err == -ENOENT)
		snprintf(level, sizeof(level), "none");
	else if (err)
		return err;
	tree_scalar(out, level);
	return 0;
}

static int set_level(const struct caller *c, const char *user, const char *host,
		     const char *value)
{
	enum level l;
	int err;

	if (level_parse(value, &l) < 0)
		return tree_fail(-EINVAL, "levels are viewer, operator, admin or none");
	if (l == LEVEL_NONE) {
		err = store_perm_remove(store(), user, host);
		if (err == -ENOENT)
			err = 0;
	} else {
		char granter[80];
		struct store_user g;

		/* Recorded when the granter is a user (root may not be). */
		access_username(c->uid, granter, sizeof(granter));
		bool known = store_user_get(store(), granter, &g) == 0;
		if (known)
			store_user_free_fields(&g);
		err = store_perm_set(store(), user, host, value, known ? granter : NULL);
	}
	if (err)
		return tree_fail(err, "%s on %s: %s", user, host, strerror(-err));
	access_reload();
	return 0;
}

static int perm_write(const struct caller *c, const struct node *n, const char *data,
		      size_t len, struct buf *out)
{
	char value[16];
	const char *user, *host;

	if (tree_parse_value(data, len, sizeof(value) - 1, value))
		return tree_fail(-EINVAL, "levels are viewer, operator, admin or none");
	pair_of(n, &user, &host);
	return set_level(c, user, host, value);
}

/* ---- M/hosts/HOST/permissions/ ------------------------------------------- */

static int host_perm_cb(const char *user, const char *host, const char *level, void *arg)
{
	dirlist_add(arg, user, NODE_FILE);
	return 0;
}

static int host_perms_list(const struct caller *c, const struct node *dir, struct dirlist *out)
{
	int err = store_perm_foreach(store(), NULL, dir->host->name, host_perm_cb, out);

	/* A host made by mkdir has no registry row yet: nobody has a level. */
	return err == -ENOENT ? 0 : err;
}

static int host_perms_lookup(const struct caller *c, const struct node *dir, const char *name,
			     struct node *child)
{
	struct store_user u;
	int err = store_user_get(store(), name, &u);

	if (err)
		return err == -EINVAL ? -ENOENT : err;
	store_user_free_fields(&u);
	node_child(child, dir, &host_permission_ops);
	snprintf(child->sub, sizeof(child->sub), "%s", name);
	return 0;
}

static int host_perms_unlink(const struct caller *c, const struct node *dir, const char *name)
{
	int err = store_perm_remove(store(), name, dir->host->name);

	if (err)
		return tree_fail(err, "%s has no level on %s", name, dir->host->name);
	access_reload();
	return 0;
}

const struct node_ops host_permissions_dir_ops = {
	.type = NODE_DIR,
	.collection = true,
	.resource = "permission",
	.read_level = LEVEL_ADMIN,
	.error_file = true,
	.lookup = host_perms_lookup,
	.list = host_perms_list,
	.unlink = host_perms_unlink,
};

const struct node_ops host_permission_ops = {
	.type = NODE_FILE,
	.resource = "permission",
	.read_level = LEVEL_ADMIN,
	.write_level = LEVEL_ADMIN,
	.remove_level = LEVEL_ADMIN,
	.read = perm_read,
	.write = perm_write,
};

/* ---- M/users/USER/permissions/ ------------------------------------------- */

static int user_perm_cb(const char *user, const char *host, const char *level, void *arg)
{
	dirlist_add(arg, host, NODE_FILE);
	return 0;
}

static int user_perms_list(const struct caller *c, const struct node *dir, struct dirlist *out)
{
	return store_perm_foreach(store(), dir->key, NULL, user_perm_cb, out);
}

static int user_perms_lookup(const struct caller *c, const struct node *dir, const char *name,
			     struct node *child)
{
	struct host *h = fleet_host_get(tree_ctx()->fleet, name);

	if (!h)
		return -ENOENT;
	host_put(h);
	node_child(child, dir, &user_permission_ops);
	snprintf(child->sub, sizeof(child->sub), "%s", name);
	return 0;
}

static int user_perms_unlink(const struct caller *c, const struct node *dir, const char *name)
{
	int err = store_perm_remove(store(), dir->key, name);

	if (err)
		return tree_fail(err, "%s has no level on %s", dir->key, name);
	access_reload();
	return 0;
}

const struct node_ops user_permissions_dir_ops = {
	.type = NODE_DIR,
	.collection = true,
	.resource = "permission",
	.read_level = LEVEL_ADMIN,
	.error_file = true,
	.lookup = user_perms_lookup,
	.list = user_perms_list,
	.unlink = user_perms_unlink,
};

const struct node_ops user_permission_ops = {
	.type = NODE_FILE,
	.resource = "permission",
	.read_level = LEVEL_ADMIN,
	.write_level = LEVEL_ADMIN,
	.remove_level = LEVEL_ADMIN,
	.read = perm_read,
	.write = perm_write,
};
