/* access.c - users and their levels. */
#include <errno.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "log.h"
#include "map.h"
#include "store.h"

struct cached_user {
	char *name;
	uid_t uid;
	bool is_admin;
	struct map levels;      /* host name -> (enum level + 1) as a pointer */
	struct map_key_store {
		char **v;
		size_t n;
	} hosts;                /* owns the host-name keys of levels */
	char key[24];           /* uid as text: key in by_uid */
};

static pthread_rwlock_t lock = PTHREAD_RWLOCK_INITIALIZER;
static struct store *store;
static struct access_options options;
static uid_t *admins;
static struct map by_uid = MAP_INIT;     /* "uid" -> cached_user */
static struct map by_name = MAP_INIT;    /* name -> cached_user */

const char *level_name(enum level l)
{
	static const char *const names[] = { "none", "viewer", "operator", "admin" };

	return l <= LEVEL_ADMIN ? names[l] : "none";
}

int level_parse(const char *s, enum level *out)
{
	for (enum level l = LEVEL_NONE; l <= LEVEL_ADMIN; l++) {
		if (strcmp(s, level_name(l)) == 0) {
			*out = l;
			return 0;
		}
	}
	return -EINVAL;
}

static void free_user(struct cached_user *u)
{
	for (size_t i = 0; i < u->hosts.n; i++)
		free(u->hosts.v[i]);
	free(u->hosts.v);
	map_clear(&u->levels);
	free(u->name);
	free(u);
}

static void free_user_cb(const char *k, void *v, void *arg)
{
	free_user(v);
}

static void clear_cache(void)
{
	map_foreach(&by_name, free_user_cb, NULL);
	map_clear(&by_name);
	map_clear(&by_uid);
}

static int load_user_cb(const struct store_user *su, void *arg)
{
	struct cached_user *u = calloc(1, sizeof(*u));

	if (!u || !(u->name = strdup(su->username)))
		abort();
	u->is_admin = su->is_admin;
	u->uid = su->uid >= 0 ? (uid_t)su->uid : (uid_t)-1;
	map_put(&by_name, u->name, u);
	if (su->uid >= 0) {
		snprintf(u->key, sizeof(u->key), "%lld", su->uid);
		map_put(&by_uid, u->key, u);
	}
	return 0;
}

static int load_perm_cb(const char *username, const char *host, const char *level, void *arg)
{
	struct cached_user *u = map_get(&by_name, username);
	enum level l;

	if (!u || level_parse(level, &l) < 0)
		return 0;
	char *k = strdup(host);
	char **v = realloc(u->hosts.v, (u->hosts.n + 1) * sizeof(*v));
	if (!k || !v)
		abort();
	u->hosts.v = v;
	v[u->hosts.n++] = k;
	map_put(&u->levels, k, (void *)(uintptr_t)(l + 1));
	return 0;
}

void access_reload(void)
{
	pthread_rwlock_wrlock(&lock);
	clear_cache();
	if (store) {
		store_user_foreach(store, load_user_cb, NULL);
		store_perm_foreach(store, NULL, NULL, load_perm_cb, NULL);
	}
	pthread_rwlock_unlock(&lock);
}

int access_init(struct store *st, const struct access_options *opt)
{
	store = st;
	options = *opt;
	admins = calloc(opt->nadmins ? opt->nadmins : 1, sizeof(*admins));
	if (!admins)
		return -ENOMEM;
	memcpy(admins, opt->admins, opt->nadmins * sizeof(*admins));
	options.admins = admins;
	access_reload();
	return 0;
}

void access_free(void)
{
	pthread_rwlock_wrlock(&lock);
	clear_cache();
	free(admins);
	admins = NULL;
	options.nadmins = 0;
	store = NULL;
	pthread_rwlock_unlock(&lock);
}

static struct cached_user *find_uid(uid_t uid)
{
	char key[24];

	snprintf(key, sizeof(key), "%u", (unsigned)uid);
	return map_get(&by_uid, key);
}

static bool is_global_admin_locked(uid_t uid)
{
	for (size_t i = 0; i < options.nadmins; i++)
		if (options.admins[i] == uid)
			return true;
	struct cached_user *u = find_uid(uid);
	return u && u->is_admin;
}

bool access_is_global_admin(uid_t uid)
{
	bool r;

	pthread_rwlock_rdlock(&lock);
	r = is_global_admin_locked(uid);
	pthread_rwlock_unlock(&lock);
	return r;
}

enum level access_level(uid_t uid, const char *host)
{
	enum level l = LEVEL_NONE;

	pthread_rwlock_rdlock(&lock);
	if (is_global_admin_locked(uid)) {
		l = LEVEL_ADMIN;
	} else if (host) {
		struct cached_user *u = find_uid(uid);
		if (u) {
			uintptr_t v = (uintptr_t)map_get(&u->levels, host);
			l = v ? (enum level)(v - 1) : LEVEL_NONE;
		} else {
			l = options.default_level;
		}
	}
	pthread_rwlock_unlock(&lock);
	return l;
}

void access_username(uid_t uid, char *out, size_t outlen)
{
	struct passwd pw, *res = NULL;
	char buf[1024];
	bool found;

	pthread_rwlock_rdlock(&lock);
	struct cached_user *u = find_uid(uid);
	found = u != NULL;
	if (found)
		snprintf(out, outlen, "%s", u->name);
	pthread_rwlock_unlock(&lock);
	if (found)
		return;
	/* Not a dockfs user: its login name says more than a number. */
	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) == 0 && res)
		snprintf(out, outlen, "%s", pw.pw_name);
	else
		snprintf(out, outlen, "uid:%u", (unsigned)uid);
}
