/* access.h - who may do what: users, per-host levels and global admins.
 * What an operator may create is allowlist.h's.
 *
 * Part of the tree core: the tree asks access_level() for every node it
 * resolves, for FUSE and HTTP alike.  Users and levels live in the store
 * and are cached here (reloaded whenever they change through the tree), so
 * a check costs a hash lookup, not a query.
 */
#ifndef DOCKFS_ACCESS_H
#define DOCKFS_ACCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct store;

/* Permission levels per host, as in the plan's user_host_permissions. */
enum level { LEVEL_NONE, LEVEL_VIEWER, LEVEL_OPERATOR, LEVEL_ADMIN };

struct access_options {
	const uid_t *admins;        /* global admins by uid */
	size_t nadmins;
	enum level default_level;   /* for uids that are no user (default none) */
};

/* Loads users and levels from st (borrowed).  The options are copied. */
int access_init(struct store *st, const struct access_options *opt);
void access_free(void);
/* Re-reads users and levels after a change. */
void access_reload(void);

/* The level of uid on the host called host; host NULL asks for the global
 * level: LEVEL_ADMIN for a global admin, else LEVEL_NONE. */
enum level access_level(uid_t uid, const char *host);
bool access_is_global_admin(uid_t uid);
/* The user's name for the audit log, or "uid:N" for an unknown uid. */
void access_username(uid_t uid, char *out, size_t outlen);

const char *level_name(enum level l);
/* "viewer" | "operator" | "admin" | "none"; -EINVAL otherwise. */
int level_parse(const char *s, enum level *out);

#endif
