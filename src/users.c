/* users.c - M/users/: who dockfs knows (global admins only).
 *
 *   mkdir users/NAME             adds a user (bound to the system user's uid
 *                                of that name, if there is one)
 *   users/NAME/uid               the Unix uid the user is (rw; "none" unbinds)
 *   users/NAME/admin             1 for a global admin (rw)
 *   users/NAME/permissions/HOST  the user's level on HOST (permissions.c)
 *   rmdir users/NAME             removes the user and its levels
 */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "names.h"
#include "store.h"
#include "tree.h"

extern const struct node_ops user_dir_ops, user_file_ops, user_permissions_dir_ops;

static struct store *store(void)
{
	return tree_ctx()->store;
}

static int store_error(int err, const char *what, const char *name)
{
	switch (err) {
	case -ENOENT:
		return tree_fail(err, "no user %s", name);
	case -EEXIST:
		return tree_fail(err, "%s: %s is taken", name, what);
	case -EINVAL:
		return tree_fail(err, "%s: invalid %s", name, what);
	default:
		return tree_fail(err, "%s: %s: %s", name, what, strerror(-err));
	}
}

/* ---- users/ -------------------------------------------------------------- */

static int list_cb(const struct store_user *u, void *arg)
{
	dirlist_add(arg, u->username, NODE_DIR);
	return 0;
}

static int users_list(const struct caller *c, const struct node *dir, struct dirlist *out)
{
	return store_user_foreach(store(), list_cb, out);
}

static int users_lookup(const struct caller *c, const struct node *dir, const char *name,
			struct node *child)
{
	struct store_user u;
	int err = store_user_get(store(), name, &u);

	if (err)
		return err == -EINVAL ? -ENOENT : err;
	store_user_free_fields(&u);
	node_child(child, dir, &user_dir_ops);
	snprintf(child->key, sizeof(child->key), "%s", name);
	return 0;
}

static int users_mkdir(const struct caller *c, const struct node *dir, const char *name)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	long long uid = -1;
	int err;

	if (!name_host_valid(name))
		return tree_fail(-EINVAL, "%s: user names are 1-64 of A-Z a-z 0-9 . _ - "
				 "(not first: . -; not error or ctl)", name);
	if (getpwnam_r(name, &pw, buf, sizeof(buf), &res) == 0 && res)
		uid = (long long)pw.pw_uid;
	err = store_user_add(store(), name, uid, false);
	if (err == -EEXIST && uid >= 0) {
		/* The uid is another user's: add the name unbound. */
		err = store_user_add(store(), name, -1, false);
	}
	if (err)
		return store_error(err, "name", name);
	access_reload();
	return 0;
}

static int users_rmdir(const struct caller *c, const struct node *dir, const char *name)
{
	int err = store_user_remove(store(), name);

	if (err)
		return store_error(err, "user", name);
	access_reload();
	return 0;
}

const struct node_ops users_dir_ops = {
	.type = NODE_DIR,
	.collection = true,
	.resource = "user",
	.read_level = LEVEL_ADMIN,
	.write_level = LEVEL_ADMIN,
	.error_file = true,
	.lookup = users_lookup,
	.list = users_list,
	.mkdir = users_mkdir,
	.rmdir = users_rmdir,
};

/* ---- users/NAME/ --------------------------------------------------------- */

enum user_attr { ATTR_UID = 1, ATTR_ADMIN };

static int user_lookup(const struct caller *c, const struct node *dir, const char *name,
		       struct node *child)
{
	if (strcmp(name, "permissions") == 0) {
		node_child(child, dir, &user_permissions_dir_ops);
		return 0;
	}
	if (strcmp(name, "uid") && strcmp(name, "admin"))
		return -ENOENT;
	node_child(child, dir, &user_file_ops);
	child->sub[0] = strcmp(name, "uid") == 0 ? ATTR_UID : ATTR_ADMIN;
	return 0;
}

static int user_list(const struct caller *c, const struct node *dir, struct dirlist *out)
{
	dirlist_add(out, "uid", NODE_FILE);
	dirlist_add(out, "admin", NODE_FILE);
	dirlist_add(out, "permissions", NODE_DIR);
	return 0;
}

const struct node_ops user_dir_ops = {
	.type = NODE_DIR,
	.resource = "user",
	.read_level = LEVEL_ADMIN,
	.remove_level = LEVEL_ADMIN,
	.error_file = true,
	.lookup = user_lookup,
	.list = user_list,
};

static int user_file_read(const struct caller *c, const struct node *n, struct buf *out)
{
	struct store_user u;
	int err = store_user_get(store(), n->key, &u);

	if (err)
		return err;
	if (n->sub[0] == ATTR_UID) {
		if (u.uid >= 0)
			buf_printf(out, "%lld\n", u.uid);
		else
			tree_scalar(out, "none");
	} else {
		tree_scalar(out, u.is_admin ? "1" : "0");
	}
	store_user_free_fields(&u);
	return 0;
}

static int user_file_write(const struct caller *c, const struct node *n, const char *data,
			   size_t len, struct buf *out)
{
	char value[32], *end;
	int err = tree_parse_value(data, len, sizeof(value) - 1, value);

	if (err)
		return tree_fail_context(err, n->sub[0] == ATTR_ADMIN ? "admin" : "uid");
	if (n->sub[0] == ATTR_ADMIN) {
		if (strcmp(value, "0") && strcmp(value, "1"))
			return tree_fail(-EINVAL, "admin takes 0 or 1");
		err = store_user_set_admin(store(), n->key, value[0] == '1');
	} else {
		long long uid = -1;

		if (strcmp(value, "none") && strcmp(value, "-1")) {
			errno = 0;
			uid = strtoll(value, &end, 10);
			if (errno || end == value || *end || uid < 0)
				return tree_fail(-EINVAL, "uid takes a number or none");
		}
		err = store_user_set_uid(store(), n->key, uid);
	}
	if (err)
		return store_error(err, n->sub[0] == ATTR_UID ? "uid" : "admin", n->key);
	access_reload();
	return 0;
}

const struct node_ops user_file_ops = {
	.type = NODE_FILE,
	.resource = "user",
	.read_level = LEVEL_ADMIN,
	.write_level = LEVEL_ADMIN,
	.read = user_file_read,
	.write = user_file_write,
};
