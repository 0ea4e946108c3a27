/* allowlist.c - the fields a caller below admin may set, as schemas, and the
 * parser that writes the body sent to the engine from them (allowlist.h).
 *
 * A schema is a table of fields: the canonical name, the type, the fields of
 * a nested object and a check that judges the rebuilt value.  What is not in
 * a table is refused; adding an option means adding its row here, and its
 * judgement, nowhere else.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "allowlist.h"

enum ftype {
	T_STR,       /* a string */
	T_BOOL,
	T_INT,       /* an integer */
	T_NUM,       /* an integer or a real (MaxFailureRatio) */
	T_STRS,      /* an array of strings */
	T_STRMAP,    /* an object of strings (Labels, Options) */
	T_EMPTYMAP,  /* an object of {} (ExposedPorts, Volumes) */
	T_OBJ,       /* an object of the fields in sub */
	T_OBJS,      /* an array of such objects */
	T_MAP,       /* an object of such objects, under any key */
	T_MAPOBJS,   /* an object of arrays of such objects (PortBindings) */
};

struct judge {
	const struct allowlist_resolver *r;
	char *why;
	size_t whylen;
};

struct field {
	const char *name;
	enum ftype type;
	const struct field *sub;
	/* Judges the rebuilt value *v (never NULL), and may replace it (a
	 * reference by its resolved name); for T_OBJS each element in turn.
	 * 0 or a refusal from refuse(). */
	int (*check)(struct judge *j, const char *where, json_t **v);
	const char *const *oneof;  /* T_STR: the values allowed ("" is unset) */
};

static int refuse(struct judge *j, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int refuse(struct judge *j, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(j->why, j->whylen, fmt, ap);
	va_end(ap);
	return err;
}

/* ---- references: networks and volumes -------------------------------------- */

static bool volume_name(const char *s)
{
	if (!s || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') ||
		    (s[0] >= '0' && s[0] <= '9')))
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") ==
	       strlen(s) && strlen(s) < 256;
}

/* A named volume may be used if it does not exist yet (the engine makes it
 * with the local driver and no options) or is a plain local one: driver
 * options (type=none,o=bind,device=/) make a volume a bind of a host path. */
static int judge_volume(struct judge *j, const char *where, const char *name)
{
	struct allowlist_ref ref = { 0 };
	int err;

	if (!volume_name(name))
		return refuse(j, -EACCES, "%s: %s is no volume name; a bind of a host path needs admin",
			      where, name);
	if (!j->r || !j->r->volume)
		return refuse(j, -EACCES, "%s: volume %s cannot be checked", where, name);
	err = j->r->volume(j->r->arg, name, &ref);
	if (err == -ENOENT)
		return 0;
	if (err)
		return refuse(j, err, "%s: volume %s cannot be checked: %s", where, name,
			      strerror(-err));
	if (strcmp(ref.driver, "local") || ref.options)
		return refuse(j, -EACCES, "%s: volume %s has driver %s%s: using it needs admin",
			      where, name, ref.driver, ref.options ? " with options" : "");
	return 0;
}

/* What a network reference may be below admin: a network of a driver that
 * gives the container a namespace of its own.  want_overlay: a service's
 * (swarm scope). */
static int judge_network(struct judge *j, const char *where, json_t **v, bool want_overlay)
{
	const char *s = json_string_value(*v);
	struct allowlist_ref ref = { 0 };
	int err;

	if (!want_overlay && (!*s || !strcmp(s, "default") || !strcmp(s, "bridge") ||
			      !strcmp(s, "none")))
		return 0;
	if (!strcmp(s, "host") || !strncmp(s, "container:", 10) || !strncmp(s, "ns:", 3))
		return refuse(j, -EACCES, "%s: %s joins a namespace of the host or of another "
			      "container: that needs admin", where, s);
	if (!j->r || !j->r->network)
		return refuse(j, -EACCES, "%s: network %s cannot be checked", where, s);
	err = j->r->network(j->r->arg, s, &ref);
	if (err == -ENOENT)
		return refuse(j, -EINVAL, "%s: no network %s", where, s);
	if (err)
		return refuse(j, err, "%s: network %s cannot be checked: %s", where, s,
			      strerror(-err));
	bool ok = want_overlay ? !strcmp(ref.driver, "overlay")
			       : !strcmp(ref.driver, "bridge") || !strcmp(ref.driver, "overlay") ||
				 !strcmp(ref.driver, "null");
	if (!ok || !strcmp(ref.name, "host"))
		return refuse(j, -EACCES, "%s: network %s (%s, driver %s) needs admin", where, s,
			      ref.name, ref.driver);
	/* What was judged is what is sent: the name when it was given by
	 * name, else the full id, so an id prefix cannot resolve otherwise
	 * later. */
	if (strcmp(s, ref.name) && ref.id[0]) {
		json_decref(*v);
		*v = json_string(ref.id);
	}
	return 0;
}

static int check_network_mode(struct judge *j, const char *where, json_t **v)
{
	return judge_network(j, where, v, false);
}

static int check_service_network(struct judge *j, const char *where, json_t **v)
{
	return judge_network(j, where, v, true);
}

/* NetworkingConfig.EndpointsConfig: its keys are network references. */
static int check_endpoints(struct judge *j, const char *where, json_t **v)
{
	json_t *out = json_object(), *ep;
	const char *key;
	char at[320];
	int err = 0;

	json_object_foreach(*v, key, ep) {
		json_t *k = json_string(key);
		snprintf(at, sizeof(at), "%s.%s", where, key);
		err = k ? judge_network(j, at, &k, false) : refuse(j, -EINVAL, "%s: bad name", at);
		if (!err && json_object_get(out, json_string_value(k)))
			err = refuse(j, -EINVAL, "%s: the network is named twice", at);
		if (!err)
			json_object_set(out, json_string_value(k), ep);
		json_decref(k);
		if (err)
			break;
	}
	if (err) {
		json_decref(out);
		return err;
	}
	json_decref(*v);
	*v = out;
	return 0;
}

/* HostConfig.Binds: "VOLUME:/target[:ro|rw|nocopy...]"; a source that is a
 * path is a bind of the host's filesystem. */
static int check_binds(struct judge *j, const char *where, json_t **v)
{
	json_t *b;
	size_t i;

	json_array_foreach(*v, i, b) {
		char src[256], at[320];
		const char *s = json_string_value(b), *colon = strchr(s, ':');

		snprintf(at, sizeof(at), "%s[%zu]", where, i);
		if (!colon || (size_t)(colon - s) >= sizeof(src) || colon[1] != '/')
			return refuse(j, -EINVAL, "%s: expected VOLUME:/TARGET[:OPTIONS], not %s", at,
				      s);
		memcpy(src, s, (size_t)(colon - s));
		src[colon - s] = '\0';
		int err = judge_volume(j, at, src);
		if (err)
			return err;
		const char *opts = strchr(colon + 1, ':');
		if (opts) {
			char o[64];
			snprintf(o, sizeof(o), "%s", opts + 1);
			for (char *p = o, *tok; (tok = strsep(&p, ","));)
				if (strcmp(tok, "ro") && strcmp(tok, "rw") && strcmp(tok, "nocopy"))
					return refuse(j, -EACCES, "%s: option %s needs admin "
						      "(ro, rw, nocopy)", at, tok);
		}
	}
	return 0;
}

/* A Mount (containers' HostConfig.Mounts, services' ContainerSpec.Mounts):
 * a volume or a tmpfs; a bind, a named pipe or a cluster volume needs admin. */
static int check_mount(struct judge *j, const char *where, json_t **v)
{
	const char *type = json_string_value(json_object_get(*v, "Type"));
	const char *src = json_string_value(json_object_get(*v, "Source"));
	const char *target = json_string_value(json_object_get(*v, "Target"));

	if (!type)
		return refuse(j, -EINVAL, "%s: a mount needs a Type", where);
	if (!target || target[0] != '/')
		return refuse(j, -EINVAL, "%s: a mount needs an absolute Target", where);
	if (!strcmp(type, "tmpfs")) {
		if (src && *src)
			return refuse(j, -EINVAL, "%s: a tmpfs mount has no Source", where);
		if (json_object_get(*v, "VolumeOptions"))
			return refuse(j, -EINVAL, "%s: VolumeOptions are for volume mounts", where);
		return 0;
	}
	if (strcmp(type, "volume"))
		return refuse(j, -EACCES, "%s: a mount of type %s needs admin", where, type);
	if (json_object_get(*v, "TmpfsOptions"))
		return refuse(j, -EINVAL, "%s: TmpfsOptions are for tmpfs mounts", where);
	return src && *src ? judge_volume(j, where, src) : 0;
}

/* "80", "80/tcp", "8000-8010/udp" */
static bool port_key(const char *s)
{
	size_t n = strspn(s, "0123456789");

	if (!n || n > 5)
		return false;
	s += n;
	if (*s == '-') {
		n = strspn(++s, "0123456789");
		if (!n || n > 5)
			return false;
		s += n;
	}
	return !*s || !strcmp(s, "/tcp") || !strcmp(s, "/udp") || !strcmp(s, "/sctp");
}

static int check_port_keys(struct judge *j, const char *where, json_t **v)
{
	const char *key;
	json_t *x;

	json_object_foreach(*v, key, x)
		if (!port_key(key))
			return refuse(j, -EINVAL, "%s: %s is no port (80, 80/tcp, 8000-8010/udp)",
				      where, key);
	return 0;
}

static int check_absolute_keys(struct judge *j, const char *where, json_t **v)
{
	const char *key;
	json_t *x;

	json_object_foreach(*v, key, x)
		if (key[0] != '/')
			return refuse(j, -EINVAL, "%s: %s is no absolute path", where, key);
	return 0;
}

/* ---- the schemas --------------------------------------------------------- */

#define END { NULL, T_STR, NULL, NULL, NULL }
#define F(n, t) { n, t, NULL, NULL, NULL }
#define SUB(n, t, s) { n, t, s, NULL, NULL }
#define CHECK(n, t, s, c) { n, t, s, c, NULL }
#define ONEOF(n, values) { n, T_STR, NULL, NULL, values }

static const char *const restart_names[] = { "", "no", "always", "unless-stopped", "on-failure",
					     NULL };
/* Drivers that keep what is logged on the engine or in its journal; the
 * others send it elsewhere or load a plugin. */
static const char *const log_drivers[] = { "", "json-file", "local", "journald", "none", NULL };
static const char *const protocols[] = { "", "tcp", "udp", "sctp", NULL };

static const struct field healthcheck[] = {
	F("Test", T_STRS), F("Interval", T_INT), F("Timeout", T_INT), F("Retries", T_INT),
	F("StartPeriod", T_INT), F("StartInterval", T_INT), END,
};

static const struct field restart_policy[] = {
	ONEOF("Name", restart_names), F("MaximumRetryCount", T_INT), END,
};

static const struct field port_binding[] = {
	F("HostIp", T_STR), F("HostPort", T_STR), END,
};

static const struct field log_config[] = {
	ONEOF("Type", log_drivers), F("Config", T_STRMAP), END,
};

static const struct field ulimit[] = {
	F("Name", T_STR), F("Soft", T_INT), F("Hard", T_INT), END,
};

static const struct field volume_options[] = {
	F("NoCopy", T_BOOL), F("Labels", T_STRMAP), END,
};

static const struct field tmpfs_options[] = {
	F("SizeBytes", T_INT), F("Mode", T_INT), END,
};

static const struct field mount[] = {
	F("Type", T_STR), F("Source", T_STR), F("Target", T_STR), F("ReadOnly", T_BOOL),
	F("Consistency", T_STR), SUB("VolumeOptions", T_OBJ, volume_options),
	SUB("TmpfsOptions", T_OBJ, tmpfs_options), END,
};

static const struct field host_config[] = {
	CHECK("Binds", T_STRS, NULL, check_binds),
	CHECK("Mounts", T_OBJS, mount, check_mount),
	SUB("RestartPolicy", T_OBJ, restart_policy),
	CHECK("PortBindings", T_MAPOBJS, port_binding, check_port_keys),
	F("PublishAllPorts", T_BOOL),
	CHECK("NetworkMode", T_STR, NULL, check_network_mode),
	CHECK("Tmpfs", T_STRMAP, NULL, check_absolute_keys),
	F("Memory", T_INT), F("MemorySwap", T_INT), F("MemoryReservation", T_INT),
	F("NanoCpus", T_INT), F("CpuShares", T_INT), F("CpuPeriod", T_INT), F("CpuQuota", T_INT),
	F("CpusetCpus", T_STR), F("PidsLimit", T_INT), F("ShmSize", T_INT),
	/* the container's own cgroup: its memory's swap tendency, its NUMA
	 * nodes, its share of block I/O; nothing outside it */
	F("MemorySwappiness", T_INT), F("CpusetMems", T_STR), F("BlkioWeight", T_INT),
	SUB("LogConfig", T_OBJ, log_config),
	F("Dns", T_STRS), F("DnsOptions", T_STRS), F("DnsSearch", T_STRS), F("ExtraHosts", T_STRS),
	SUB("Ulimits", T_OBJS, ulimit),
	F("ReadonlyRootfs", T_BOOL), F("Init", T_BOOL), F("AutoRemove", T_BOOL),
	F("CapDrop", T_STRS), F("GroupAdd", T_STRS),
	END,
};

static const struct field ipam_config[] = {
	F("IPv4Address", T_STR), F("IPv6Address", T_STR), END,
};

static const struct field endpoint[] = {
	F("Aliases", T_STRS), SUB("IPAMConfig", T_OBJ, ipam_config), END,
};

static const struct field networking_config[] = {
	CHECK("EndpointsConfig", T_MAP, endpoint, check_endpoints), END,
};

static const struct field container[] = {
	F("Image", T_STR), F("Cmd", T_STRS), F("Entrypoint", T_STRS), F("Env", T_STRS),
	F("Labels", T_STRMAP), F("WorkingDir", T_STR), F("User", T_STR), F("Hostname", T_STR),
	F("Domainname", T_STR), F("StopSignal", T_STR), F("StopTimeout", T_INT),
	F("Tty", T_BOOL), F("OpenStdin", T_BOOL), F("StdinOnce", T_BOOL), F("AttachStdin", T_BOOL),
	F("AttachStdout", T_BOOL), F("AttachStderr", T_BOOL),
	CHECK("ExposedPorts", T_EMPTYMAP, NULL, check_port_keys),
	CHECK("Volumes", T_EMPTYMAP, NULL, check_absolute_keys),
	SUB("Healthcheck", T_OBJ, healthcheck),
	SUB("HostConfig", T_OBJ, host_config),
	SUB("NetworkingConfig", T_OBJ, networking_config),
	END,
};

/* ---- ServiceSpec ---- */

static const char *const conditions[] = { "", "none", "on-failure", "any", NULL };
static const char *const failure_actions[] = { "", "pause", "continue", "rollback", NULL };
static const char *const orders[] = { "", "stop-first", "start-first", NULL };
static const char *const endpoint_modes[] = { "", "vip", "dnsrr", NULL };
static const char *const publish_modes[] = { "", "ingress", "host", NULL };
static const char *const isolations[] = { "", "default", NULL };
static const char *const runtimes[] = { "", "container", NULL };

static const struct field file_target[] = {
	F("Name", T_STR), F("UID", T_STR), F("GID", T_STR), F("Mode", T_INT), END,
};

/* Configs are readable by anyone who may read the swarm; secrets are not
 * here: attaching a secret lets the task print it, so it needs admin. */
static const struct field config_ref[] = {
	SUB("File", T_OBJ, file_target), F("ConfigID", T_STR), F("ConfigName", T_STR), END,
};

static const struct field dns_config[] = {
	F("Nameservers", T_STRS), F("Search", T_STRS), F("Options", T_STRS), END,
};

static const struct field privileges[] = {
	F("NoNewPrivileges", T_BOOL), END,
};

static const struct field container_spec[] = {
	F("Image", T_STR), F("Labels", T_STRMAP), F("Command", T_STRS), F("Args", T_STRS),
	F("Hostname", T_STR), F("Env", T_STRS), F("Dir", T_STR), F("User", T_STR),
	F("Groups", T_STRS), F("TTY", T_BOOL), F("OpenStdin", T_BOOL), F("ReadOnly", T_BOOL),
	CHECK("Mounts", T_OBJS, mount, check_mount), F("StopSignal", T_STR),
	F("StopGracePeriod", T_INT),
	SUB("Healthcheck", T_OBJ, healthcheck), F("Hosts", T_STRS),
	SUB("DNSConfig", T_OBJ, dns_config), SUB("Configs", T_OBJS, config_ref),
	F("Init", T_BOOL), ONEOF("Isolation", isolations), SUB("Privileges", T_OBJ, privileges),
	F("CapabilityDrop", T_STRS), SUB("Ulimits", T_OBJS, ulimit),
	END,
};

static const struct field resources_limits[] = {
	F("NanoCPUs", T_INT), F("MemoryBytes", T_INT), F("Pids", T_INT), END,
};

static const struct field resources[] = {
	SUB("Limits", T_OBJ, resources_limits), SUB("Reservations", T_OBJ, resources_limits), END,
};

static const struct field task_restart[] = {
	ONEOF("Condition", conditions), F("Delay", T_INT), F("MaxAttempts", T_INT),
	F("Window", T_INT), END,
};

static const struct field spread[] = {
	F("SpreadDescriptor", T_STR), END,
};

static const struct field preference[] = {
	SUB("Spread", T_OBJ, spread), END,
};

static const struct field platform[] = {
	F("Architecture", T_STR), F("OS", T_STR), END,
};

static const struct field placement[] = {
	F("Constraints", T_STRS), SUB("Preferences", T_OBJS, preference), F("MaxReplicas", T_INT),
	SUB("Platforms", T_OBJS, platform), END,
};

static const struct field network_attachment[] = {
	CHECK("Target", T_STR, NULL, check_service_network), F("Aliases", T_STRS), END,
};

static const struct field log_driver[] = {
	ONEOF("Name", log_drivers), F("Options", T_STRMAP), END,
};

static const struct field task_template[] = {
	SUB("ContainerSpec", T_OBJ, container_spec), SUB("Resources", T_OBJ, resources),
	SUB("RestartPolicy", T_OBJ, task_restart), SUB("Placement", T_OBJ, placement),
	SUB("Networks", T_OBJS, network_attachment), SUB("LogDriver", T_OBJ, log_driver),
	F("ForceUpdate", T_INT), ONEOF("Runtime", runtimes), END,
};

static const struct field replicated[] = {
	F("Replicas", T_INT), END,
};

static const struct field no_fields[] = {
	END,
};

static const struct field replicated_job[] = {
	F("MaxConcurrent", T_INT), F("TotalCompletions", T_INT), END,
};

static const struct field service_mode[] = {
	SUB("Replicated", T_OBJ, replicated), SUB("Global", T_OBJ, no_fields),
	SUB("ReplicatedJob", T_OBJ, replicated_job), SUB("GlobalJob", T_OBJ, no_fields), END,
};

static const struct field update_config[] = {
	F("Parallelism", T_INT), F("Delay", T_INT), ONEOF("FailureAction", failure_actions),
	F("Monitor", T_INT), F("MaxFailureRatio", T_NUM), ONEOF("Order", orders), END,
};

static const struct field endpoint_port[] = {
	F("Name", T_STR), ONEOF("Protocol", protocols), F("TargetPort", T_INT),
	F("PublishedPort", T_INT), ONEOF("PublishMode", publish_modes), END,
};

static const struct field endpoint_spec[] = {
	ONEOF("Mode", endpoint_modes), SUB("Ports", T_OBJS, endpoint_port), END,
};

static const struct field service[] = {
	F("Name", T_STR), F("Labels", T_STRMAP), SUB("TaskTemplate", T_OBJ, task_template),
	SUB("Mode", T_OBJ, service_mode), SUB("UpdateConfig", T_OBJ, update_config),
	SUB("RollbackConfig", T_OBJ, update_config), SUB("EndpointSpec", T_OBJ, endpoint_spec),
	SUB("Networks", T_OBJS, network_attachment),
	END,
};

/* ---- networks and volumes ---- */

static const char *const network_drivers[] = { "", "bridge", "overlay", NULL };
static const char *const volume_drivers[] = { "", "local", NULL };
static const char *const ipam_drivers[] = { "", "default", NULL };

static const struct field ipam_pool[] = {
	F("Subnet", T_STR), F("Gateway", T_STR), F("IPRange", T_STR), END,
};

static const struct field ipam[] = {
	ONEOF("Driver", ipam_drivers), SUB("Config", T_OBJS, ipam_pool), END,
};

static const struct field network_create[] = {
	F("Name", T_STR), ONEOF("Driver", network_drivers), F("Labels", T_STRMAP),
	F("Internal", T_BOOL), F("Attachable", T_BOOL), F("EnableIPv6", T_BOOL),
	F("CheckDuplicate", T_BOOL), SUB("IPAM", T_OBJ, ipam), END,
};

static const struct field volume_create[] = {
	F("Name", T_STR), ONEOF("Driver", volume_drivers), F("Labels", T_STRMAP), END,
};

/* Fields the engine knows that are root on it: named in a refusal so the
 * caller learns why, not only that the field is unknown.  Among them, from
 * docker run's options: --oom-score-adj (a negative score spares the
 * container and kills the host's processes first), --storage-opt and
 * --volume-driver (the host's storage, a plugin), --cpu-rt-* (real-time
 * time taken from the host), the per-device blkio limits (a host device by
 * path). */
static const char *const needs_admin[] = {
	"Privileged", "CapAdd", "CapabilityAdd", "Devices", "DeviceRequests",
	"DeviceCgroupRules", "SecurityOpt", "Sysctls", "VolumesFrom", "CgroupParent",
	"Runtime", "PidMode", "IpcMode", "UTSMode", "UsernsMode", "CgroupnsMode", "Cgroup",
	"Links", "MaskedPaths", "ReadonlyPaths", "Secrets", "PluginSpec",
	"NetworkAttachmentSpec", "DriverOpts", "Options", "DriverConfig", "BindOptions",
	"OomKillDisable", "Isolation", "CredentialSpec", "SELinuxContext", "Seccomp",
	"AppArmor", "OomScoreAdj", "StorageOpt", "VolumeDriver", "CpuRealtimePeriod",
	"CpuRealtimeRuntime", "BlkioWeightDevice", "BlkioDeviceReadBps", "BlkioDeviceWriteBps",
	"BlkioDeviceReadIOps", "BlkioDeviceWriteIOps",
};

/* ---- the parser ----------------------------------------------------------- */

static int rebuild_obj(struct judge *j, const struct field *fields, json_t *in,
		       const char *where, json_t **out);

static const char *type_name(enum ftype t)
{
	static const char *const names[] = {
		[T_STR] = "a string", [T_BOOL] = "true or false", [T_INT] = "an integer",
		[T_NUM] = "a number", [T_STRS] = "a list of strings",
		[T_STRMAP] = "an object of strings", [T_EMPTYMAP] = "an object of {}",
		[T_OBJ] = "an object", [T_OBJS] = "a list of objects", [T_MAP] = "an object",
		[T_MAPOBJS] = "an object of lists",
	};
	return names[t];
}

static void join(char *out, size_t len, const char *where, const char *key)
{
	snprintf(out, len, "%s%s%s", where, *where ? "." : "", key);
}

/* in (not null) as f's type: a new value built from it, or a refusal. */
static int rebuild_value(struct judge *j, const struct field *f, json_t *in, const char *where,
			 json_t **out)
{
	char at[320];
	const char *key;
	json_t *v, *x;
	size_t i;
	int err = 0;

	*out = NULL;
	switch (f->type) {
	case T_STR:
		if (!json_is_string(in))
			break;
		if (f->oneof) {
			const char *s = json_string_value(in);
			size_t k;
			for (k = 0; f->oneof[k] && strcmp(f->oneof[k], s); k++)
				;
			if (!f->oneof[k])
				return refuse(j, -EACCES, "%s: %s is not one an operator may set",
					      where, s);
		}
		*out = json_stringn(json_string_value(in), json_string_length(in));
		return 0;
	case T_BOOL:
		if (!json_is_boolean(in))
			break;
		*out = json_boolean(json_is_true(in));
		return 0;
	case T_INT:
		if (!json_is_integer(in))
			break;
		*out = json_integer(json_integer_value(in));
		return 0;
	case T_NUM:
		if (!json_is_number(in))
			break;
		*out = json_is_integer(in) ? json_integer(json_integer_value(in))
					   : json_real(json_real_value(in));
		return 0;
	case T_STRS:
		if (!json_is_array(in))
			break;
		*out = json_array();
		json_array_foreach(in, i, v) {
			if (!json_is_string(v)) {
				json_decref(*out);
				*out = NULL;
				return refuse(j, -EINVAL, "%s[%zu] is not a string", where, i);
			}
			json_array_append_new(*out, json_stringn(json_string_value(v),
								 json_string_length(v)));
		}
		return 0;
	case T_STRMAP:
	case T_EMPTYMAP:
		if (!json_is_object(in))
			break;
		*out = json_object();
		json_object_foreach(in, key, v) {
			bool ok = f->type == T_STRMAP ? json_is_string(v)
						      : json_is_object(v) && !json_object_size(v);
			if (!ok) {
				json_decref(*out);
				*out = NULL;
				return refuse(j, -EINVAL, "%s.%s is not %s", where, key,
					      f->type == T_STRMAP ? "a string" : "{}");
			}
			json_object_set_new(*out, key, f->type == T_STRMAP
						 ? json_stringn(json_string_value(v),
								json_string_length(v))
						 : json_object());
		}
		return 0;
	case T_OBJ:
		if (!json_is_object(in))
			break;
		return rebuild_obj(j, f->sub, in, where, out);
	case T_OBJS:
	case T_MAP:
	case T_MAPOBJS:
		if (f->type == T_OBJS ? !json_is_array(in) : !json_is_object(in))
			break;
		*out = f->type == T_OBJS ? json_array() : json_object();
		if (f->type == T_OBJS) {
			json_array_foreach(in, i, v) {
				x = NULL;
				snprintf(at, sizeof(at), "%s[%zu]", where, i);
				if (!json_is_object(v))
					err = refuse(j, -EINVAL, "%s is not an object", at);
				else
					err = rebuild_obj(j, f->sub, v, at, &x);
				if (!err && f->check)
					err = f->check(j, at, &x);
				if (err) {
					json_decref(x);
					break;
				}
				json_array_append_new(*out, x);
			}
		} else {
			json_object_foreach(in, key, v) {
				x = NULL;
				join(at, sizeof(at), where, key);
				if (f->type == T_MAP) {
					err = json_is_object(v) ? rebuild_obj(j, f->sub, v, at, &x)
								: refuse(j, -EINVAL, "%s is not an object", at);
				} else if (json_is_null(v)) {
					x = json_array();
				} else {
					struct field each = { key, T_OBJS, f->sub, NULL, NULL };
					err = rebuild_value(j, &each, v, at, &x);
				}
				if (err)
					break;
				json_object_set_new(*out, key, x);
			}
		}
		if (err) {
			json_decref(*out);
			*out = NULL;
		}
		return err;
	}
	return refuse(j, -EINVAL, "%s is not %s", where, type_name(f->type));
}

static bool needs_admin_field(const char *key)
{
	for (size_t i = 0; i < sizeof(needs_admin) / sizeof(needs_admin[0]); i++)
		if (!strcmp(key, needs_admin[i]))
			return true;
	return false;
}

/* The value the engine takes for unset: what the docker CLI writes for
 * options not given ("Privileged":false, "CapAdd":null).  Dropped, so the
 * engine's default applies. */
static bool zero(json_t *v)
{
	return json_is_null(v) || json_is_false(v) ||
	       (json_is_string(v) && !json_string_length(v)) ||
	       (json_is_array(v) && !json_array_size(v)) ||
	       (json_is_object(v) && !json_object_size(v)) ||
	       (json_is_integer(v) && !json_integer_value(v));
}

static int unknown_key(struct judge *j, const struct field *fields, const char *where,
		       const char *key)
{
	char at[320];

	join(at, sizeof(at), where, key);
	if (needs_admin_field(key))
		return refuse(j, -EACCES, "%s needs admin", at);
	for (const struct field *f = fields; f->name; f++)
		if (!strcasecmp(key, f->name))
			return refuse(j, -EINVAL, "%s: write it as %s (keys are exact)", at, f->name);
	return refuse(j, -EACCES, "%s is not a field an operator may set", at);
}

static int rebuild_obj(struct judge *j, const struct field *fields, json_t *in,
		       const char *where, json_t **out)
{
	const char *key;
	json_t *v;
	int err = 0;

	*out = json_object();
	json_object_foreach(in, key, v) {
		const struct field *f;
		char at[320];
		json_t *x = NULL;

		for (f = fields; f->name && strcmp(f->name, key); f++)
			;
		if (!f->name && needs_admin_field(key) && zero(v))
			continue;  /* the default, which is what is sent */
		if (!f->name) {
			err = unknown_key(j, fields, where, key);
			break;
		}
		if (json_is_null(v))
			continue;  /* unset, as the engine reads it */
		join(at, sizeof(at), where, key);
		err = rebuild_value(j, f, v, at, &x);
		if (!err && f->check && f->type != T_OBJS)
			err = f->check(j, at, &x);
		if (err) {
			json_decref(x);
			break;
		}
		json_object_set_new(*out, key, x);
	}
	if (err) {
		json_decref(*out);
		*out = NULL;
	}
	return err;
}

int allowlist_rebuild(enum allowlist_kind kind, json_t *body, const struct allowlist_resolver *r,
		      json_t **out, char *why, size_t whylen)
{
	static const struct field *const schemas[] = {
		[ALLOW_CONTAINER] = container, [ALLOW_SERVICE] = service,
		[ALLOW_NETWORK] = network_create, [ALLOW_VOLUME] = volume_create,
	};
	struct judge j = { r, why, whylen };

	*out = NULL;
	if (!json_is_object(body))
		return refuse(&j, -EINVAL, "%s", "the body is not a JSON object");
	return rebuild_obj(&j, schemas[kind], body, "", out);
}

/* ---- containers that exist ------------------------------------------------ */

static bool set(json_t *v)
{
	return v && !zero(v);
}

int allowlist_judge_container(json_t *inspect, const struct allowlist_resolver *r, char *why,
			      size_t whylen)
{
	static const char *const rooted[] = {
		"Privileged", "CapAdd", "Devices", "DeviceRequests", "DeviceCgroupRules",
		"SecurityOpt",
	};
	static const char *const namespaces[] = {
		"NetworkMode", "PidMode", "IpcMode", "UTSMode", "UsernsMode",
	};
	struct judge j = { r, why, whylen };
	json_t *hc = json_object_get(inspect, "HostConfig"), *m;
	const char *key;
	size_t i;

	if (!json_is_object(hc))
		return refuse(&j, -EACCES, "%s", "the container's settings are unknown");
	for (i = 0; i < sizeof(rooted) / sizeof(rooted[0]); i++)
		if (set(json_object_get(hc, rooted[i])))
			return refuse(&j, -EACCES, "the container has HostConfig.%s: that needs admin",
				      rooted[i]);
	for (i = 0; i < sizeof(namespaces) / sizeof(namespaces[0]); i++) {
		const char *s = json_string_value(json_object_get(hc, namespaces[i]));
		if (s && (!strcmp(s, "host") || !strncmp(s, "container:", 10)))
			return refuse(&j, -EACCES, "the container has %s %s: that needs admin",
				      namespaces[i], s);
	}
	json_object_foreach(json_object_get(json_object_get(inspect, "NetworkSettings"), "Networks"),
			    key, m)
		if (!strcmp(key, "host"))
			return refuse(&j, -EACCES, "%s", "the container is on the host network: "
				      "that needs admin");
	json_array_foreach(json_object_get(inspect, "Mounts"), i, m) {
		const char *type = json_string_value(json_object_get(m, "Type")) ?: "";
		const char *name = json_string_value(json_object_get(m, "Name"));
		const char *dst = json_string_value(json_object_get(m, "Destination")) ?: "?";
		char at[300];

		if (!strcmp(type, "tmpfs"))
			continue;
		if (strcmp(type, "volume") || !name)
			return refuse(&j, -EACCES, "the container has a %s mount at %s: that needs "
				      "admin", type, dst);
		snprintf(at, sizeof(at), "the container's mount at %s", dst);
		int err = judge_volume(&j, at, name);
		if (err)
			return err;
	}
	return 0;
}
