/* cmdline.c - shell-like word splitting and `docker run` options. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cmdline.h"

static void push(struct argv *a, struct buf *w)
{
	char **v = realloc(a->v, (size_t)(a->n + 2) * sizeof(*v));

	if (!v)
		abort();
	a->v = v;
	a->v[a->n++] = buf_steal(w);
	a->v[a->n] = NULL;
}

int cmdline_split(const char *line, size_t len, struct argv *a)
{
	struct buf w = BUF_INIT;
	bool in_word = false;
	size_t i = 0;

	a->v = NULL;
	a->n = 0;
	if (len && line[len - 1] == '\n')
		len--;
	while (i < len) {
		char c = line[i];

		if (c == '\0' || c == '\n' || c == '\r')
			goto bad;
		if (c == ' ' || c == '\t') {
			if (in_word)
				push(a, &w);
			in_word = false;
			i++;
			continue;
		}
		in_word = true;
		if (c == '\'') {
			const char *end = memchr(line + i + 1, '\'', len - i - 1);
			if (!end)
				goto bad;
			buf_append(&w, line + i + 1, (size_t)(end - line - i - 1));
			i = (size_t)(end - line) + 1;
		} else if (c == '"') {
			for (i++;; i++) {
				if (i >= len || line[i] == '\0')
					goto bad;
				if (line[i] == '"')
					break;
				if (line[i] == '\\' && i + 1 < len && strchr("\"\\$`", line[i + 1]))
					i++;
				buf_append(&w, line + i, 1);
			}
			i++;
		} else if (c == '\\') {
			if (i + 1 >= len)
				goto bad;
			buf_append(&w, line + i + 1, 1);
			i += 2;
		} else {
			buf_append(&w, &c, 1);
			i++;
		}
		if (!w.data)
			buf_reserve(&w, 0); /* '' is an empty word, not none */
	}
	if (in_word)
		push(a, &w);
	buf_free(&w);
	if (!a->v) {
		a->v = calloc(1, sizeof(*a->v));
		if (!a->v)
			abort();
	}
	return 0;
bad:
	buf_free(&w);
	argv_free(a);
	return -EINVAL;
}

void argv_free(struct argv *a)
{
	for (int i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
	a->v = NULL;
	a->n = 0;
}

/* ---- docker run options ---------------------------------------------------- */

static int fail(char *out, size_t outlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *out, size_t outlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out, outlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static json_t *obj(json_t *parent, const char *key)
{
	json_t *o = json_object_get(parent, key);

	if (!o) {
		o = json_object();
		json_object_set_new(parent, key, o);
	}
	return o;
}

static json_t *arr(json_t *parent, const char *key)
{
	json_t *a = json_object_get(parent, key);

	if (!a) {
		a = json_array();
		json_object_set_new(parent, key, a);
	}
	return a;
}

static int key_value(json_t *map, const char *kv, char *err, size_t errlen)
{
	const char *eq = strchr(kv, '=');
	char key[256];

	if (!eq || eq == kv || (size_t)(eq - kv) >= sizeof(key))
		return fail(err, errlen, "expected KEY=VALUE, not %s", kv);
	memcpy(key, kv, (size_t)(eq - kv));
	key[eq - kv] = '\0';
	json_object_set_new(map, key, json_string(eq + 1));
	return 0;
}

static int restart_policy(json_t *hc, const char *p, char *err, size_t errlen)
{
	json_t *rp = obj(hc, "RestartPolicy");
	const char *colon = strchr(p, ':');

	if (!strcmp(p, "no") || !strcmp(p, "always") || !strcmp(p, "unless-stopped")) {
		json_object_set_new(rp, "Name", json_string(p));
		return 0;
	}
	if (strncmp(p, "on-failure", 10) == 0 && (!p[10] || colon == p + 10)) {
		json_object_set_new(rp, "Name", json_string("on-failure"));
		if (colon) {
			char *end;
			long n = strtol(colon + 1, &end, 10);
			if (*end || end == colon + 1 || n < 0)
				return fail(err, errlen, "bad retry count in %s", p);
			json_object_set_new(rp, "MaximumRetryCount", json_integer(n));
		}
		return 0;
	}
	return fail(err, errlen, "restart policy %s: no, always, unless-stopped, on-failure[:N]", p);
}

/* [IP:]HOSTPORT:CPORT[/proto] */
static int publish(json_t *body, json_t *hc, const char *spec, char *err, size_t errlen)
{
	char s[128], *parts[3], proto[8] = "tcp", key[32];
	int n = 0;

	if (strlen(spec) >= sizeof(s))
		return fail(err, errlen, "bad port %s", spec);
	strcpy(s, spec);
	char *slash = strchr(s, '/');
	if (slash) {
		*slash = '\0';
		if (strcmp(slash + 1, "tcp") && strcmp(slash + 1, "udp") && strcmp(slash + 1, "sctp"))
			return fail(err, errlen, "bad protocol in %s", spec);
		snprintf(proto, sizeof(proto), "%s", slash + 1);
	}
	for (char *p = s, *tok; (tok = strsep(&p, ":"));) {
		if (n == 3)
			return fail(err, errlen, "bad port %s", spec);
		parts[n++] = tok;
	}
	if (n < 2)
		return fail(err, errlen, "expected [IP:]HOSTPORT:CONTAINERPORT, not %s", spec);
	const char *cport = parts[n - 1], *hport = parts[n - 2], *ip = n == 3 ? parts[0] : "";
	for (const char *q = cport; *q; q++)
		if (!isdigit((unsigned char)*q))
			return fail(err, errlen, "bad port %s", spec);
	for (const char *q = hport; *q; q++)
		if (!isdigit((unsigned char)*q))
			return fail(err, errlen, "bad port %s", spec);
	if (!*cport)
		return fail(err, errlen, "bad port %s", spec);
	snprintf(key, sizeof(key), "%s/%s", cport, proto);
	json_object_set_new(obj(body, "ExposedPorts"), key, json_object());
	json_t *bindings = json_object_get(obj(hc, "PortBindings"), key);
	if (!bindings) {
		bindings = json_array();
		json_object_set_new(obj(hc, "PortBindings"), key, bindings);
	}
	json_array_append_new(bindings, json_pack("{s:s, s:s}", "HostIp", ip, "HostPort", hport));
	return 0;
}

/* type=T,source=S,target=D[,readonly] */
static int mount_spec(json_t *hc, const char *spec, char *err, size_t errlen)
{
	char *copy = strdup(spec), *p = copy, *tok;
	json_t *m = json_object();
	int rc = 0;

	if (!copy)
		abort();
	while ((tok = strsep(&p, ","))) {
		char *eq = strchr(tok, '=');
		const char *k = tok, *v = eq ? eq + 1 : "true";

		if (eq)
			*eq = '\0';
		if (!strcmp(k, "type"))
			json_object_set_new(m, "Type", json_string(v));
		else if (!strcmp(k, "source") || !strcmp(k, "src"))
			json_object_set_new(m, "Source", json_string(v));
		else if (!strcmp(k, "target") || !strcmp(k, "dst") || !strcmp(k, "destination"))
			json_object_set_new(m, "Target", json_string(v));
		else if (!strcmp(k, "readonly") || !strcmp(k, "ro"))
			json_object_set_new(m, "ReadOnly", json_boolean(strcmp(v, "false") != 0));
		else {
			rc = fail(err, errlen, "unknown mount option %s", k);
			break;
		}
	}
	if (!rc && (!json_object_get(m, "Type") || !json_object_get(m, "Target")))
		rc = fail(err, errlen, "a mount needs type= and target= (%s)", spec);
	if (rc)
		json_decref(m);
	else
		json_array_append_new(arr(hc, "Mounts"), m);
	free(copy);
	return rc;
}

enum opt_id {
	O_NAME, O_ENV, O_LABEL, O_RESTART, O_PUBLISH, O_WORKDIR, O_USER, O_ENTRYPOINT,
	O_HOSTNAME, O_NETWORK, O_VOLUME, O_MOUNT, O_PRIVILEGED, O_CAP_ADD, O_DEVICE,
	O_PID, O_IPC, O_UTS, O_SECURITY_OPT, O_TTY, O_INTERACTIVE,
};

static const struct {
	const char *long_name;
	char short_name;
	bool has_arg;
	enum opt_id id;
} options[] = {
	{ "name", 0, true, O_NAME },
	{ "env", 'e', true, O_ENV },
	{ "label", 'l', true, O_LABEL },
	{ "restart", 0, true, O_RESTART },
	{ "publish", 'p', true, O_PUBLISH },
	{ "workdir", 'w', true, O_WORKDIR },
	{ "user", 'u', true, O_USER },
	{ "entrypoint", 0, true, O_ENTRYPOINT },
	{ "hostname", 'h', true, O_HOSTNAME },
	{ "network", 0, true, O_NETWORK },
	{ "volume", 'v', true, O_VOLUME },
	{ "mount", 0, true, O_MOUNT },
	{ "privileged", 0, false, O_PRIVILEGED },
	{ "cap-add", 0, true, O_CAP_ADD },
	{ "device", 0, true, O_DEVICE },
	{ "pid", 0, true, O_PID },
	{ "ipc", 0, true, O_IPC },
	{ "uts", 0, true, O_UTS },
	{ "security-opt", 0, true, O_SECURITY_OPT },
	{ "tty", 't', false, O_TTY },
	{ "interactive", 'i', false, O_INTERACTIVE },
};

static int apply(enum opt_id id, const char *v, json_t *body, json_t *hc, char **name,
		 char *err, size_t errlen)
{
	switch (id) {
	case O_NAME:
		free(*name);
		*name = strdup(v);
		return 0;
	case O_ENV:
		if (!strchr(v, '='))
			return fail(err, errlen, "expected KEY=VALUE, not %s", v);
		json_array_append_new(arr(body, "Env"), json_string(v));
		return 0;
	case O_LABEL:
		return key_value(obj(body, "Labels"), v, err, errlen);
	case O_RESTART:
		return restart_policy(hc, v, err, errlen);
	case O_PUBLISH:
		return publish(body, hc, v, err, errlen);
	case O_WORKDIR:
		json_object_set_new(body, "WorkingDir", json_string(v));
		return 0;
	case O_USER:
		json_object_set_new(body, "User", json_string(v));
		return 0;
	case O_ENTRYPOINT:
		json_object_set_new(body, "Entrypoint", json_pack("[s]", v));
		return 0;
	case O_HOSTNAME:
		json_object_set_new(body, "Hostname", json_string(v));
		return 0;
	case O_NETWORK:
		json_object_set_new(hc, "NetworkMode", json_string(v));
		return 0;
	case O_VOLUME:
		if (!strchr(v, ':'))
			return fail(err, errlen, "expected SOURCE:TARGET[:ro], not %s", v);
		json_array_append_new(arr(hc, "Binds"), json_string(v));
		return 0;
	case O_MOUNT:
		return mount_spec(hc, v, err, errlen);
	case O_PRIVILEGED:
		json_object_set_new(hc, "Privileged", json_true());
		return 0;
	case O_CAP_ADD:
		json_array_append_new(arr(hc, "CapAdd"), json_string(v));
		return 0;
	case O_DEVICE: {
		char path[256];
		snprintf(path, sizeof(path), "%.*s", (int)strcspn(v, ":"), v);
		json_array_append_new(arr(hc, "Devices"),
				      json_pack("{s:s, s:s, s:s}", "PathOnHost", path,
						"PathInContainer", path, "CgroupPermissions", "rwm"));
		return 0;
	}
	case O_PID:
		json_object_set_new(hc, "PidMode", json_string(v));
		return 0;
	case O_IPC:
		json_object_set_new(hc, "IpcMode", json_string(v));
		return 0;
	case O_UTS:
		json_object_set_new(hc, "UTSMode", json_string(v));
		return 0;
	case O_SECURITY_OPT:
		json_array_append_new(arr(hc, "SecurityOpt"), json_string(v));
		return 0;
	case O_TTY:
		json_object_set_new(body, "Tty", json_true());
		return 0;
	case O_INTERACTIVE:
		json_object_set_new(body, "OpenStdin", json_true());
		return 0;
	}
	return -EINVAL;
}

int cmdline_container_spec(int argc, char *const argv[], json_t **out, char **name,
			   char *err, size_t errlen)
{
	json_t *body = json_object(), *hc = json_object();
	int i, rc = 0;

	*name = NULL;
	*out = NULL;
	json_object_set_new(body, "HostConfig", hc);
	for (i = 0; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		const char *a = argv[i], *val = NULL;
		size_t k, nopts = sizeof(options) / sizeof(options[0]);

		if (!strcmp(a, "--")) {
			i++;
			break;
		}
		for (k = 0; k < nopts; k++) {
			if (a[1] == '-') {
				size_t l = strlen(options[k].long_name);
				if (strncmp(a + 2, options[k].long_name, l) == 0 &&
				    (a[2 + l] == '\0' || (a[2 + l] == '=' && options[k].has_arg))) {
					val = a[2 + l] == '=' ? a + 3 + l : NULL;
					break;
				}
			} else if (options[k].short_name && a[1] == options[k].short_name) {
				val = a[2] ? a + 2 : NULL;
				if (val && !options[k].has_arg)
					k = nopts; /* -ti and friends: keep it simple */
				break;
			}
		}
		if (k == nopts) {
			rc = fail(err, errlen, "unknown option %s", a);
			goto out;
		}
		if (options[k].has_arg && !val) {
			if (i + 1 >= argc) {
				rc = fail(err, errlen, "%s needs a value", a);
				goto out;
			}
			val = argv[++i];
		}
		rc = apply(options[k].id, val, body, hc, name, err, errlen);
		if (rc)
			goto out;
	}
	if (i >= argc) {
		rc = fail(err, errlen, "%s", "no image given");
		goto out;
	}
	json_object_set_new(body, "Image", json_string(argv[i++]));
	if (i < argc) {
		json_t *cmd = json_array();
		for (; i < argc; i++)
			json_array_append_new(cmd, json_string(argv[i]));
		json_object_set_new(body, "Cmd", cmd);
	}
out:
	if (rc) {
		json_decref(body);
		free(*name);
		*name = NULL;
	} else {
		*out = body;
	}
	return rc;
}

/* ---- docker service create ------------------------------------------------ */

/* Go durations as Docker takes them: 10s, 1m30s, 500ms, 2h; to ns. */
static int duration_ns(const char *s, json_int_t *out, char *err, size_t errlen)
{
	static const struct {
		const char *unit;
		json_int_t ns;
	} units[] = {
		{ "ns", 1 }, { "us", 1000 }, { "ms", 1000000 }, { "s", 1000000000LL },
		{ "m", 60000000000LL }, { "h", 3600000000000LL },
	};
	const char *p = s;

	*out = 0;
	if (!strcmp(s, "0"))
		return 0;
	while (*p) {
		char *end;
		long long n = strtoll(p, &end, 10);
		size_t k, ul = 0;

		if (end == p || n < 0)
			return fail(err, errlen, "bad duration %s (10s, 1m30s, 500ms)", s);
		for (k = 0; k < sizeof(units) / sizeof(units[0]); k++) {
			ul = strlen(units[k].unit);
			/* "ms" before "m": the longest unit that matches */
			if (!strncmp(end, units[k].unit, ul) && !(ul == 1 && end[0] == 'm' &&
								  end[1] == 's'))
				break;
		}
		if (k == sizeof(units) / sizeof(units[0]))
			return fail(err, errlen, "bad duration %s (10s, 1m30s, 500ms)", s);
		*out += (json_int_t)n * units[k].ns;
		p = end + ul;
	}
	return 0;
}

static bool parse_count(const char *s, long max, json_int_t *out)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (end == s || *end || v < 0 || v > max)
		return false;
	*out = v;
	return true;
}

/* [PUBLISHED:]TARGET[/PROTO], or published=P,target=T[,protocol=X][,mode=M] */
static int service_port(json_t *ports, const char *spec, char *err, size_t errlen)
{
	json_t *p = json_object();
	json_int_t pub = 0, target = 0;
	char s[128];

	if (strlen(spec) >= sizeof(s))
		goto bad;
	strcpy(s, spec);
	json_object_set_new(p, "Protocol", json_string("tcp"));
	json_object_set_new(p, "PublishMode", json_string("ingress"));
	if (strchr(s, '=')) {
		for (char *q = s, *tok; (tok = strsep(&q, ","));) {
			char *eq = strchr(tok, '=');
			if (!eq)
				goto bad;
			*eq++ = '\0';
			if (!strcmp(tok, "published") && parse_count(eq, 65535, &pub))
				continue;
			if (!strcmp(tok, "target") && parse_count(eq, 65535, &target))
				continue;
			if (!strcmp(tok, "protocol") || !strcmp(tok, "proto"))
				json_object_set_new(p, "Protocol", json_string(eq));
			else if (!strcmp(tok, "mode") && (!strcmp(eq, "ingress") || !strcmp(eq, "host")))
				json_object_set_new(p, "PublishMode", json_string(eq));
			else
				goto bad;
		}
	} else {
		char *slash = strchr(s, '/'), *colon;
		if (slash) {
			*slash = '\0';
			json_object_set_new(p, "Protocol", json_string(slash + 1));
		}
		colon = strchr(s, ':');
		if (colon) {
			*colon = '\0';
			if (!parse_count(s, 65535, &pub))
				goto bad;
		}
		if (!parse_count(colon ? colon + 1 : s, 65535, &target))
			goto bad;
	}
	const char *proto = json_string_value(json_object_get(p, "Protocol"));
	if (!target || (strcmp(proto, "tcp") && strcmp(proto, "udp") && strcmp(proto, "sctp")))
		goto bad;
	json_object_set_new(p, "TargetPort", json_integer(target));
	if (pub)
		json_object_set_new(p, "PublishedPort", json_integer(pub));
	json_array_append_new(ports, p);
	return 0;
bad:
	json_decref(p);
	return fail(err, errlen, "bad port %s: [PUBLISHED:]TARGET[/PROTO] or "
		    "published=P,target=T[,protocol=X][,mode=ingress|host]", spec);
}

/* NAME[,target=FILE] or source=NAME[,target=FILE]: a secret or config
 * reference by name (the caller fills in the id). */
static int file_ref(json_t *list, const char *kind, const char *spec, char *err, size_t errlen)
{
	char s[256], *name = NULL, *target = NULL;

	if (strlen(spec) >= sizeof(s))
		return fail(err, errlen, "bad %s %s", kind, spec);
	strcpy(s, spec);
	for (char *q = s, *tok; (tok = strsep(&q, ","));) {
		char *eq = strchr(tok, '=');
		if (!eq && !name)
			name = tok;
		else if (eq && (!strncmp(tok, "source=", 7) || !strncmp(tok, "src=", 4)))
			name = eq + 1;
		else if (eq && !strncmp(tok, "target=", 7))
			target = eq + 1;
		else
			return fail(err, errlen, "bad %s %s: NAME[,target=FILE]", kind, spec);
	}
	if (!name || !*name)
		return fail(err, errlen, "bad %s %s: NAME[,target=FILE]", kind, spec);
	bool secret = !strcmp(kind, "secret");
	json_array_append_new(list, json_pack("{s:s, s:{s:s, s:s, s:s, s:i}}",
					      secret ? "SecretName" : "ConfigName", name,
					      "File", "Name", target && *target ? target : name,
					      "UID", "0", "GID", "0", "Mode", 0444));
	return 0;
}

enum svc_opt {
	S_NAME, S_REPLICAS, S_MODE, S_ENV, S_LABEL, S_CLABEL, S_CONSTRAINT, S_PUBLISH,
	S_NETWORK, S_MOUNT, S_SECRET, S_CONFIG, S_UPD_PAR, S_UPD_DELAY, S_UPD_FAIL,
	S_UPD_ORDER, S_RESTART, S_WORKDIR, S_USER, S_HOSTNAME, S_ENTRYPOINT, S_TTY,
};

static const struct {
	const char *long_name;
	char short_name;
	bool has_arg;
	enum svc_opt id;
} svc_options[] = {
	{ "name", 0, true, S_NAME },
	{ "replicas", 0, true, S_REPLICAS },
	{ "mode", 0, true, S_MODE },
	{ "env", 'e', true, S_ENV },
	{ "label", 'l', true, S_LABEL },
	{ "container-label", 0, true, S_CLABEL },
	{ "constraint", 0, true, S_CONSTRAINT },
	{ "publish", 'p', true, S_PUBLISH },
	{ "network", 0, true, S_NETWORK },
	{ "mount", 0, true, S_MOUNT },
	{ "secret", 0, true, S_SECRET },
	{ "config", 0, true, S_CONFIG },
	{ "update-parallelism", 0, true, S_UPD_PAR },
	{ "update-delay", 0, true, S_UPD_DELAY },
	{ "update-failure-action", 0, true, S_UPD_FAIL },
	{ "update-order", 0, true, S_UPD_ORDER },
	{ "restart-condition", 0, true, S_RESTART },
	{ "workdir", 'w', true, S_WORKDIR },
	{ "user", 'u', true, S_USER },
	{ "hostname", 0, true, S_HOSTNAME },
	{ "entrypoint", 0, true, S_ENTRYPOINT },
	{ "tty", 't', false, S_TTY },
};

static int svc_apply(enum svc_opt id, const char *v, json_t *spec, char *err, size_t errlen)
{
	json_t *tt = obj(spec, "TaskTemplate"), *cs = obj(tt, "ContainerSpec");
	json_int_t n;

	switch (id) {
	case S_NAME:
		json_object_set_new(spec, "Name", json_string(v));
		return 0;
	case S_REPLICAS:
		if (!parse_count(v, 100000, &n))
			return fail(err, errlen, "bad replica count %s", v);
		json_object_set_new(spec, "Mode", json_pack("{s:{s:I}}", "Replicated", "Replicas", n));
		return 0;
	case S_MODE:
		if (!strcmp(v, "global"))
			json_object_set_new(spec, "Mode", json_pack("{s:{}}", "Global"));
		else if (!strcmp(v, "replicated"))
			obj(obj(spec, "Mode"), "Replicated");
		else
			return fail(err, errlen, "mode %s: replicated or global", v);
		return 0;
	case S_ENV:
		if (!strchr(v, '='))
			return fail(err, errlen, "expected KEY=VALUE, not %s", v);
		json_array_append_new(arr(cs, "Env"), json_string(v));
		return 0;
	case S_LABEL:
		return key_value(obj(spec, "Labels"), v, err, errlen);
	case S_CLABEL:
		return key_value(obj(cs, "Labels"), v, err, errlen);
	case S_CONSTRAINT:
		json_array_append_new(arr(obj(tt, "Placement"), "Constraints"), json_string(v));
		return 0;
	case S_PUBLISH:
		return service_port(arr(obj(spec, "EndpointSpec"), "Ports"), v, err, errlen);
	case S_NETWORK:
		json_array_append_new(arr(tt, "Networks"), json_pack("{s:s}", "Target", v));
		return 0;
	case S_MOUNT:
		return mount_spec(cs, v, err, errlen);
	case S_SECRET:
		return file_ref(arr(cs, "Secrets"), "secret", v, err, errlen);
	case S_CONFIG:
		return file_ref(arr(cs, "Configs"), "config", v, err, errlen);
	case S_UPD_PAR:
		if (!parse_count(v, 100000, &n))
			return fail(err, errlen, "bad parallelism %s", v);
		json_object_set_new(obj(spec, "UpdateConfig"), "Parallelism", json_integer(n));
		return 0;
	case S_UPD_DELAY:
		if (duration_ns(v, &n, err, errlen))
			return -EINVAL;
		json_object_set_new(obj(spec, "UpdateConfig"), "Delay", json_integer(n));
		return 0;
	case S_UPD_FAIL:
		if (strcmp(v, "pause") && strcmp(v, "continue") && strcmp(v, "rollback"))
			return fail(err, errlen, "failure action %s: pause, continue, rollback", v);
		json_object_set_new(obj(spec, "UpdateConfig"), "FailureAction", json_string(v));
		return 0;
	case S_UPD_ORDER:
		if (strcmp(v, "stop-first") && strcmp(v, "start-first"))
			return fail(err, errlen, "update order %s: stop-first, start-first", v);
		json_object_set_new(obj(spec, "UpdateConfig"), "Order", json_string(v));
		return 0;
	case S_RESTART:
		if (strcmp(v, "none") && strcmp(v, "on-failure") && strcmp(v, "any"))
			return fail(err, errlen, "restart condition %s: none, on-failure, any", v);
		json_object_set_new(obj(tt, "RestartPolicy"), "Condition", json_string(v));
		return 0;
	case S_WORKDIR:
		json_object_set_new(cs, "Dir", json_string(v));
		return 0;
	case S_USER:
		json_object_set_new(cs, "User", json_string(v));
		return 0;
	case S_HOSTNAME:
		json_object_set_new(cs, "Hostname", json_string(v));
		return 0;
	case S_ENTRYPOINT:
		json_object_set_new(cs, "Command", json_pack("[s]", v));
		return 0;
	case S_TTY:
		json_object_set_new(cs, "TTY", json_true());
		return 0;
	}
	return -EINVAL;
}

int cmdline_service_spec(int argc, char *const argv[], json_t **out, char *err, size_t errlen)
{
	json_t *spec = json_object();
	size_t nopts = sizeof(svc_options) / sizeof(svc_options[0]);
	int i, rc = 0;

	*out = NULL;
	for (i = 0; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		const char *a = argv[i], *val = NULL;
		size_t k;

		if (!strcmp(a, "--")) {
			i++;
			break;
		}
		for (k = 0; k < nopts; k++) {
			if (a[1] == '-') {
				size_t l = strlen(svc_options[k].long_name);
				if (!strncmp(a + 2, svc_options[k].long_name, l) &&
				    (a[2 + l] == '\0' || (a[2 + l] == '=' && svc_options[k].has_arg))) {
					val = a[2 + l] == '=' ? a + 3 + l : NULL;
					break;
				}
			} else if (svc_options[k].short_name && a[1] == svc_options[k].short_name) {
				val = a[2] ? a + 2 : NULL;
				if (val && !svc_options[k].has_arg)
					k = nopts;
				break;
			}
		}
		if (k == nopts) {
			rc = fail(err, errlen, "unknown option %s", a);
			goto out;
		}
		if (svc_options[k].has_arg && !val) {
			if (i + 1 >= argc) {
				rc = fail(err, errlen, "%s needs a value", a);
				goto out;
			}
			val = argv[++i];
		}
		rc = svc_apply(svc_options[k].id, val, spec, err, errlen);
		if (rc)
			goto out;
	}
	if (i >= argc) {
		rc = fail(err, errlen, "%s", "no image given");
		goto out;
	}
	json_t *cs = obj(obj(spec, "TaskTemplate"), "ContainerSpec");
	json_object_set_new(cs, "Image", json_string(argv[i++]));
	if (i < argc) {
		json_t *args = json_array();
		for (; i < argc; i++)
			json_array_append_new(args, json_string(argv[i]));
		json_object_set_new(cs, "Args", args);
	}
	/* replicated with one replica unless told otherwise, as docker does */
	json_t *mode = obj(spec, "Mode");
	if (!json_object_get(mode, "Global") && !json_object_get(json_object_get(mode, "Replicated"),
								 "Replicas"))
		json_object_set_new(obj(mode, "Replicated"), "Replicas", json_integer(1));
out:
	if (rc)
		json_decref(spec);
	else
		*out = spec;
	return rc;
}
