/* access.c - users, levels and the create allowlist. */
#include <errno.h>
#include <stdarg.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

/* ---- the allowlist ------------------------------------------------------- */

static int deny(char *out, size_t outlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int deny(char *out, size_t outlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out, outlen, fmt, ap);
	va_end(ap);
	return -EACCES;
}

static bool nonempty(json_t *v)
{
	if (!v || json_is_null(v))
		return false;
	if (json_is_array(v))
		return json_array_size(v) > 0;
	if (json_is_object(v))
		return json_object_size(v) > 0;
	if (json_is_string(v))
		return json_string_length(v) > 0;
	if (json_is_boolean(v))
		return json_is_true(v);
	return true;
}

/* The engine decodes JSON into Go structs, which match field names without
 * regard to case: "privileged" is Privileged.  So every field is looked up
 * the same way, and two spellings of one field are refused as ambiguous. */
static json_t *field(json_t *obj, const char *name, bool *ambiguous)
{
	const char *key;
	json_t *v, *found = NULL;

	json_object_foreach(obj, key, v) {
		if (strcasecmp(key, name) == 0) {
			if (found)
				*ambiguous = true;
			found = v;
		}
	}
	return found;
}

/* Namespace modes: "host" joins the host's; "container:X" joins another
 * container's, which may be the host's (so an operator may do neither). */
static const char *const ns_modes[] = {
	"NetworkMode", "PidMode", "IpcMode", "UTSMode", "UsernsMode", "CgroupnsMode",
};

/* Fields that are root on the engine whenever they are set at all. */
static const char *const forbidden_fields[] = {
	"Privileged", "Devices", "DeviceRequests", "DeviceCgroupRules", "CapAdd",
	"SecurityOpt", "Sysctls", "VolumesFrom", "CgroupParent", "Runtime",
	"MaskedPaths", "ReadonlyPaths", "Links",
};

static int check_mount(json_t *m, bool *amb, char *why, size_t whylen)
{
	const char *type = json_string_value(field(m, "Type", amb));

	if (!type || (strcasecmp(type, "volume") && strcasecmp(type, "tmpfs")))
		return deny(why, whylen, "a mount of type %s needs admin", type ? type : "?");
	if (nonempty(field(field(m, "VolumeOptions", amb), "DriverConfig", amb)))
		return deny(why, whylen, "%s", "a volume mount with driver options needs admin");
	if (nonempty(field(m, "BindOptions", amb)))
		return deny(why, whylen, "%s", "bind options need admin");
	return 0;
}

int access_check_container_spec(json_t *body, char *why, size_t whylen)
{
	bool amb = false;
	json_t *hc, *v, *mounts, *binds;
	size_t i;
	int rc;

	if (!json_is_object(body))
		return deny(why, whylen, "%s", "the spec is not a JSON object");
	hc = field(body, "HostConfig", &amb);
	if (hc && !json_is_object(hc) && !json_is_null(hc))
		return deny(why, whylen, "%s", "HostConfig is not an object");
	for (i = 0; i < sizeof(forbidden_fields) / sizeof(forbidden_fields[0]); i++) {
		if (nonempty(field(hc, forbidden_fields[i], &amb)))
			return deny(why, whylen, "HostConfig.%s needs admin", forbidden_fields[i]);
	}
	for (i = 0; i < sizeof(ns_modes) / sizeof(ns_modes[0]); i++) {
		const char *m = json_string_value(field(hc, ns_modes[i], &amb));
		if (m && (strcasecmp(m, "host") == 0 || strncasecmp(m, "container:", 10) == 0))
			return deny(why, whylen, "HostConfig.%s=host or container:... needs admin",
				    ns_modes[i]);
	}
	binds = field(hc, "Binds", &amb);
	if (nonempty(binds) && !json_is_array(binds))
		return deny(why, whylen, "%s", "Binds is not a list");
	json_array_foreach(binds, i, v) {
		const char *b = json_string_value(v);
		/* "name:/dst" is a named volume; "/src:/dst" a host path. */
		if (!b || b[0] == '/' || b[0] == '.' || b[0] == '~' || b[0] == '\\' ||
		    !strchr(b, ':'))
			return deny(why, whylen, "a bind of a host path (%s) needs admin",
				    b ? b : "?");
	}
	mounts = field(hc, "Mounts", &amb);
	if (nonempty(mounts) && !json_is_array(mounts))
		return deny(why, whylen, "%s", "Mounts is not a list");
	json_array_foreach(mounts, i, v) {
		rc = check_mount(v, &amb, why, whylen);
		if (rc)
			return rc;
	}
	/* Old top-level places some API versions still read. */
	if (nonempty(field(body, "Binds", &amb)) || nonempty(field(body, "Privileged", &amb)) ||
	    nonempty(field(body, "Mounts", &amb)))
		return deny(why, whylen, "%s", "top-level Binds/Mounts/Privileged need admin");
	if (amb)
		return deny(why, whylen, "%s", "a field is given twice (in two spellings)");
	return 0;
}

int access_check_driver_opts(json_t *body, char *why, size_t whylen)
{
	bool amb = false;
	const char *driver = json_string_value(field(body, "Driver", &amb));

	if (nonempty(field(body, "DriverOpts", &amb)) || nonempty(field(body, "Options", &amb)))
		return deny(why, whylen, "%s", "driver options need admin");
	if (driver && *driver && strcmp(driver, "local") && strcmp(driver, "bridge") &&
	    strcmp(driver, "overlay"))
		return deny(why, whylen, "driver %s needs admin", driver);
	if (amb)
		return deny(why, whylen, "%s", "a field is given twice (in two spellings)");
	return 0;
}

/* Fields of a ServiceSpec's ContainerSpec that are root on every node. */
static const char *const service_forbidden[] = {
	"CapabilityAdd", "Sysctls", "Isolation",
};

static int check_networks(json_t *nets, bool *amb, char *why, size_t whylen)
{
	json_t *v;
	size_t i;

	if (nonempty(nets) && !json_is_array(nets))
		return deny(why, whylen, "%s", "Networks is not a list");
	json_array_foreach(nets, i, v) {
		const char *t = json_string_value(field(v, "Target", amb));
		if (t && (!strcasecmp(t, "host") || !strcasecmp(t, "bridge")))
			return deny(why, whylen, "attaching to the %s network needs admin", t);
	}
	return 0;
}

int access_check_service_spec(json_t *spec, char *why, size_t whylen)
{
	bool amb = false;
	json_t *tt, *cs, *priv, *mounts, *v;
	const char *k;
	size_t i;
	int rc;

	if (!json_is_object(spec))
		return deny(why, whylen, "%s", "the spec is not a JSON object");
	tt = field(spec, "TaskTemplate", &amb);
	if (tt && !json_is_object(tt) && !json_is_null(tt))
		return deny(why, whylen, "%s", "TaskTemplate is not an object");
	/* A plugin task installs an engine plugin with its privileges. */
	if (nonempty(field(tt, "PluginSpec", &amb)) || nonempty(field(tt, "NetworkAttachmentSpec",
									  &amb)))
		return deny(why, whylen, "%s", "plugin and attachment tasks need admin");
	const char *runtime = json_string_value(field(tt, "Runtime", &amb));
	if (runtime && *runtime && strcasecmp(runtime, "container"))
		return deny(why, whylen, "runtime %s needs admin", runtime);
	cs = field(tt, "ContainerSpec", &amb);
	if (cs && !json_is_object(cs) && !json_is_null(cs))
		return deny(why, whylen, "%s", "ContainerSpec is not an object");
	for (i = 0; i < sizeof(service_forbidden) / sizeof(service_forbidden[0]); i++) {
		v = field(cs, service_forbidden[i], &amb);
		const char *s = json_string_value(v);
		if (nonempty(v) && !(s && !strcasecmp(s, "default")))
			return deny(why, whylen, "ContainerSpec.%s needs admin", service_forbidden[i]);
	}
	/* Privileges: credential specs, SELinux, seccomp and AppArmor profiles;
	 * only asking for less (NoNewPrivileges) is an operator's. */
	priv = field(cs, "Privileges", &amb);
	if (nonempty(priv) && !json_is_object(priv))
		return deny(why, whylen, "%s", "Privileges is not an object");
	json_object_foreach(priv, k, v) {
		if (strcasecmp(k, "NoNewPrivileges") && nonempty(v))
			return deny(why, whylen, "ContainerSpec.Privileges.%s needs admin", k);
	}
	mounts = field(cs, "Mounts", &amb);
	if (nonempty(mounts) && !json_is_array(mounts))
		return deny(why, whylen, "%s", "Mounts is not a list");
	json_array_foreach(mounts, i, v) {
		rc = check_mount(v, &amb, why, whylen);
		if (rc)
			return rc;
	}
	rc = check_networks(field(tt, "Networks", &amb), &amb, why, whylen);
	if (!rc)
		rc = check_networks(field(spec, "Networks", &amb), &amb, why, whylen);
	if (rc)
		return rc;
	if (amb)
		return deny(why, whylen, "%s", "a field is given twice (in two spellings)");
	return 0;
}
