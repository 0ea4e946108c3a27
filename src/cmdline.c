/* cmdline.c - shell-like word splitting, and the options of `docker run` and
 * `docker service create` as the docker CLI parses them. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "cmdline.h"
#include "text.h"

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
	/* A word is a C string: a NUL anywhere, quoted or escaped, would end
	 * it early and act on a prefix of what was written. */
	if (memchr(line, '\0', len))
		return -EINVAL;
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

/* ---- values, as the docker CLI parses them ------------------------------------ */

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

/* go-units RAMInBytes: a number (fractions allowed), an optional blank,
 * then nothing, b, or k|m|g|t|p with an optional b or ib, in any case;
 * 1024-based; the fraction of a byte truncated. */
int cmdline_ram_bytes(const char *s, int64_t *out)
{
	static const char units[] = "kmgtp";
	size_t n = strlen(s), sep = n;
	char num[64], sfx[8];
	double v;

	while (sep > 0 && !strchr("0123456789. ", s[sep - 1]))
		sep--;
	if (!sep || sep >= sizeof(num) || n - sep >= sizeof(sfx))
		return -EINVAL;
	memcpy(num, s, sep);
	num[s[sep - 1] == ' ' ? sep - 1 : sep] = '\0';
	strcpy(sfx, s + sep);
	for (char *p = sfx; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	if (!num[0] || strspn(num, "0123456789.eE+-") != strlen(num))
		return -EINVAL;
	char *end;
	errno = 0;
	v = strtod(num, &end);
	if (*end || errno || v < 0 || v != v)
		return -EINVAL;
	if (sfx[0] && strcmp(sfx, "b")) {
		const char *u = strchr(units, sfx[0]);
		if (!u || (sfx[1] && strcmp(sfx + 1, "b") && strcmp(sfx + 1, "ib")))
			return -EINVAL;
		for (long k = 0; k <= u - units; k++)
			v *= 1024;
	}
	if (v >= 9.2e18)
		return -EINVAL;
	*out = (int64_t)v;
	return 0;
}

/* Go's time.ParseDuration: [-+]?(N[.F]UNIT)+ or 0; units ns us µs ms s m h.
 * Truncated to whole nanoseconds, as Go does. */
int cmdline_duration_ns(const char *s, int64_t *out)
{
	static const struct {
		const char *unit;
		int64_t ns;
	} units[] = {
		{ "ns", 1 }, { "us", 1000 }, { "\xc2\xb5s", 1000 }, { "\xce\xbcs", 1000 },
		{ "ms", 1000000 }, { "s", 1000000000LL }, { "m", 60000000000LL },
		{ "h", 3600000000000LL },
	};
	const char *p = s;
	bool neg = false;
	int64_t total = 0;

	if (*p == '-' || *p == '+')
		neg = *p++ == '-';
	if (!strcmp(p, "0")) {
		*out = 0;
		return 0;
	}
	if (!*p)
		return -EINVAL;
	while (*p) {
		int64_t whole = 0, frac = 0, scale = 1;
		bool digits = false;
		size_t k, best = 0, best_len = 0;

		for (; isdigit((unsigned char)*p); p++, digits = true) {
			if (whole > (INT64_MAX - 9) / 10)
				return -EINVAL;
			whole = whole * 10 + (*p - '0');
		}
		if (*p == '.') {
			for (p++; isdigit((unsigned char)*p); p++, digits = true)
				if (scale < 1000000000000000000LL) {
					frac = frac * 10 + (*p - '0');
					scale *= 10;
				}
		}
		if (!digits)
			return -EINVAL;
		for (k = 0; k < sizeof(units) / sizeof(units[0]); k++) {
			size_t l = strlen(units[k].unit);
			if (!strncmp(p, units[k].unit, l) && l > best_len) {
				best = k;
				best_len = l;
			}
		}
		if (!best_len)
			return -EINVAL;
		int64_t unit = units[best].ns;
		if (whole > INT64_MAX / unit)
			return -EINVAL;
		int64_t v = whole * unit + (int64_t)((long double)frac * unit / scale);
		if (v < 0 || total > INT64_MAX - v)
			return -EINVAL;
		total += v;
		p += best_len;
	}
	*out = neg ? -total : total;
	return 0;
}

/* opts.NanoCPUs: a decimal number of CPUs, in billionths; finer is refused
 * ("too precise"), as the CLI does. */
int cmdline_nano_cpus(const char *s, int64_t *out)
{
	int64_t whole = 0, frac = 0;
	int places = 0;
	const char *p = s;
	bool digits = false;

	for (; isdigit((unsigned char)*p); p++, digits = true) {
		if (whole > 1000000)
			return -EINVAL;
		whole = whole * 10 + (*p - '0');
	}
	if (*p == '.')
		for (p++; isdigit((unsigned char)*p); p++, digits = true) {
			if (places == 9) {
				if (*p != '0')
					return -EINVAL;
				continue;
			}
			frac = frac * 10 + (*p - '0');
			places++;
		}
	if (*p || !digits)
		return -EINVAL;
	while (places++ < 9)
		frac *= 10;
	*out = whole * 1000000000LL + frac;
	return 0;
}

/* strconv.ParseBool */
static bool parse_bool(const char *s, bool *v)
{
	static const char *const yes[] = { "1", "t", "T", "TRUE", "true", "True" };
	static const char *const no[] = { "0", "f", "F", "FALSE", "false", "False" };

	for (size_t i = 0; i < 6; i++) {
		if (!strcmp(s, yes[i]))
			return *v = true;
		if (!strcmp(s, no[i])) {
			*v = false;
			return true;
		}
	}
	return false;
}

/* strconv.ParseInt(s, 0, 64), as pflag's integer flags take them. */
static bool parse_int(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 0);
	if (end == s || *end || errno || v < min || v > max)
		return false;
	*out = v;
	return true;
}

static bool parse_count(const char *s, long max, json_int_t *out)
{
	int64_t v;

	if (!isdigit((unsigned char)s[0]) || !parse_int(s, 0, max, &v))
		return false;
	*out = v;
	return true;
}

static bool ip_address(const char *s)
{
	unsigned char a[16];

	return inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1;
}

/* The address as Go's net.IP.String() writes it (ValidateIPAddress). */
static bool canonical_ip(const char *s, char *out, size_t outlen)
{
	unsigned char a[16];

	if (inet_pton(AF_INET, s, a) == 1)
		return inet_ntop(AF_INET, a, out, (socklen_t)outlen) != NULL;
	if (inet_pton(AF_INET6, s, a) == 1) {
		static const unsigned char v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
		if (!memcmp(a, v4mapped, 12))
			return inet_ntop(AF_INET, a + 12, out, (socklen_t)outlen) != NULL;
		return inet_ntop(AF_INET6, a, out, (socklen_t)outlen) != NULL;
	}
	return false;
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

static void append_str(json_t *parent, const char *key, const char *v)
{
	json_array_append_new(arr(parent, key), json_string(v));
}

/* KEY=VALUE into map; a KEY alone is KEY="" (opts.ConvertKVStringsToMap). */
static int key_value(json_t *map, const char *kv, char *err, size_t errlen)
{
	const char *eq = strchr(kv, '=');
	size_t kl = eq ? (size_t)(eq - kv) : strlen(kv);
	char *key;

	if (!kl)
		return fail(err, errlen, "expected KEY=VALUE, not %s", kv);
	key = strndup(kv, kl);
	if (!key)
		abort();
	json_object_set_new(map, key, json_string(eq ? eq + 1 : ""));
	free(key);
	return 0;
}

/* -e KEY=VALUE.  The CLI reads a bare KEY from its own environment; the
 * writer's environment never reaches dockfs. */
static int env_word(const char *v, char *err, size_t errlen)
{
	if (!strchr(v, '=') || v[0] == '=')
		return fail(err, errlen, "-e %s: write KEY=VALUE (the writer's environment is not "
			    "read)", v);
	return 0;
}

/* ulimits keyed by name (the last one given wins), sent sorted by name. */
static int ulimit(json_t *byname, const char *v, char *err, size_t errlen)
{
	static const char *const names[] = {
		"core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile",
		"nproc", "rss", "rtprio", "rttime", "sigpending", "stack",
	};
	const char *eq = strchr(v, '=');
	char name[16];
	int64_t soft, hard;
	size_t k;

	if (!eq || (size_t)(eq - v) >= sizeof(name))
		return fail(err, errlen, "invalid ulimit argument: %s (NAME=SOFT[:HARD])", v);
	memcpy(name, v, (size_t)(eq - v));
	name[eq - v] = '\0';
	for (k = 0; k < sizeof(names) / sizeof(names[0]) && strcmp(names[k], name); k++)
		;
	if (k == sizeof(names) / sizeof(names[0]))
		return fail(err, errlen, "invalid ulimit type: %s", name);
	const char *colon = strchr(eq + 1, ':');
	char softs[32];
	snprintf(softs, sizeof(softs), "%.*s", colon ? (int)(colon - eq - 1) : 31, eq + 1);
	if (!parse_int(softs, INT64_MIN, INT64_MAX, &soft) ||
	    (colon && (strchr(colon + 1, ':') || !parse_int(colon + 1, INT64_MIN, INT64_MAX, &hard))))
		return fail(err, errlen, "invalid ulimit argument: %s (NAME=SOFT[:HARD])", v);
	if (!colon)
		hard = soft;
	if (hard != -1 && soft > hard)
		return fail(err, errlen, "ulimit soft limit must be less than or equal to hard limit: %s",
			    v);
	json_object_set_new(byname, name, json_pack("{s:s, s:I, s:I}", "Name", name, "Hard",
						     (json_int_t)hard, "Soft", (json_int_t)soft));
	return 0;
}

/* The keys of o, sorted (jansson keeps insertion order); free() the array. */
static const char **sorted_names(json_t *o, size_t *n)
{
	const char **keys = calloc(json_object_size(o) + 1, sizeof(*keys)), *k;
	json_t *v;
	size_t i = 0;

	if (!keys)
		abort();
	json_object_foreach(o, k, v)
		keys[i++] = k;
	for (size_t a = 1; a < i; a++)
		for (size_t b = a; b > 0 && strcmp(keys[b - 1], keys[b]) > 0; b--) {
			const char *t = keys[b];
			keys[b] = keys[b - 1];
			keys[b - 1] = t;
		}
	*n = i;
	return keys;
}

static json_t *ulimit_list(json_t *byname)
{
	json_t *list = json_array();
	size_t n;
	const char **keys = sorted_names(byname, &n);

	for (size_t i = 0; i < n; i++)
		json_array_append(list, json_object_get(byname, keys[i]));
	free(keys);
	return list;
}

/* --add-host / --host HOST:IP (or HOST=IP; [IPv6] in brackets); host-gateway
 * is the engine's own word.  Written HOST:IP, as the API takes it. */
static int extra_host(const char *v, char *out, size_t outlen, char *err, size_t errlen)
{
	const char *sep = strchr(v, '=');
	char ip[64];

	if (!sep)
		sep = strchr(v, ':');
	if (!sep || sep == v || memchr(v, ':', (size_t)(sep - v)))
		return fail(err, errlen, "bad format for add-host: \"%s\" (HOST:IP)", v);
	snprintf(ip, sizeof(ip), "%s", sep + 1);
	size_t l = strlen(ip);
	if (l > 2 && ip[0] == '[' && ip[l - 1] == ']') {
		memmove(ip, ip + 1, l - 2);
		ip[l - 2] = '\0';
	}
	if (strcmp(ip, "host-gateway") && !ip_address(ip))
		return fail(err, errlen, "invalid IP address in add-host: \"%s\"", ip);
	snprintf(out, outlen, "%.*s:%s", (int)(sep - v), v, ip);
	return 0;
}

/* ---- the flag syntax (spf13/pflag, as the docker CLI takes it) ----------------- */

enum kind { K_BOOL, K_VALUE, K_REFUSED };

struct optdef {
	const char *name;      /* long name */
	char short_name;
	enum kind kind;
	int id;
	const char *refusal;   /* K_REFUSED: why */
};

typedef int (*opt_fn)(void *st, int id, const char *value, bool on, char *err, size_t errlen);

static const struct optdef *find_long(const struct optdef *defs, const char *a, size_t len)
{
	for (; defs->name; defs++)
		if (strlen(defs->name) == len && !strncmp(defs->name, a, len))
			return defs;
	return NULL;
}

static const struct optdef *find_short(const struct optdef *defs, char c)
{
	for (; defs->name; defs++)
		if (defs->short_name == c)
			return defs;
	return NULL;
}

static int refused(const struct optdef *d, char *err, size_t errlen)
{
	return fail(err, errlen, "--%s: %s", d->name, d->refusal);
}

/* --name VALUE, --name=VALUE, -x VALUE, -xVALUE, -x=VALUE, clustered
 * booleans (-dit, -itp 80:80), --bool=false.  Options end at the first
 * word that is not one (the image: what follows is the command) or after
 * "--".  The index of the first operand, or -EINVAL with err set. */
static int parse_flags(const struct optdef *defs, int argc, char *const argv[], opt_fn fn,
		       void *st, char *err, size_t errlen)
{
	int i, rc;

	for (i = 0; i < argc; i++) {
		const char *a = argv[i];

		if (a[0] != '-' || !a[1])
			break;
		if (!strcmp(a, "--"))
			return i + 1;
		if (a[1] == '-') {
			const char *eq = strchr(a + 2, '=');
			size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
			const struct optdef *d = find_long(defs, a + 2, len);
			const char *v = eq ? eq + 1 : NULL;
			bool on = true;

			if (!d)
				return fail(err, errlen, "unknown option --%.*s", (int)len, a + 2);
			if (d->kind == K_REFUSED)
				return refused(d, err, errlen);
			if (d->kind == K_BOOL) {
				if (v && !parse_bool(v, &on))
					return fail(err, errlen, "--%s takes true or false, not %s", d->name,
						    v);
				v = NULL;
			} else if (!v) {
				if (i + 1 >= argc)
					return fail(err, errlen, "--%s needs a value", d->name);
				v = argv[++i];
			}
			rc = fn(st, d->id, v, on, err, errlen);
			if (rc)
				return rc;
			continue;
		}
		for (const char *p = a + 1; *p; p++) {
			const struct optdef *d = find_short(defs, *p);
			const char *v = NULL;
			bool on = true;

			if (!d)
				return fail(err, errlen, "unknown option -%c%s%s", *p,
					    p > a + 1 ? " in " : "", p > a + 1 ? a : "");
			if (d->kind == K_REFUSED)
				return refused(d, err, errlen);
			if (d->kind == K_BOOL) {
				if (p[1] == '=') {
					if (!parse_bool(p + 2, &on))
						return fail(err, errlen, "-%c takes true or false, not %s",
							    *p, p + 2);
					rc = fn(st, d->id, NULL, on, err, errlen);
					if (rc)
						return rc;
					break;
				}
				rc = fn(st, d->id, NULL, true, err, errlen);
				if (rc)
					return rc;
				continue;
			}
			v = p[1] == '=' ? p + 2 : p[1] ? p + 1 : NULL;
			if (!v) {
				if (i + 1 >= argc)
					return fail(err, errlen, "-%c needs a value", *p);
				v = argv[++i];
			}
			rc = fn(st, d->id, v, true, err, errlen);
			if (rc)
				return rc;
			break;
		}
	}
	return i;
}

/* ---- health checks (run and service create alike) ------------------------------ */

struct health {
	const char *cmd;
	int64_t interval, timeout, start_period, start_interval, retries;
	bool any, none;
};

enum { H_CMD = 1000, H_INTERVAL, H_TIMEOUT, H_RETRIES, H_START_PERIOD, H_START_INTERVAL, H_NONE };

static int health_opt(struct health *h, int id, const char *v, bool on, char *err, size_t errlen)
{
	int64_t *d = id == H_INTERVAL ? &h->interval : id == H_TIMEOUT ? &h->timeout :
		     id == H_START_PERIOD ? &h->start_period : &h->start_interval;

	switch (id) {
	case H_CMD:
		h->cmd = v;
		h->any = h->any || *v;
		return 0;
	case H_NONE:
		h->none = on;
		return 0;
	case H_RETRIES:
		if (!parse_int(v, INT32_MIN, INT32_MAX, &h->retries) || h->retries < 0)
			return fail(err, errlen, "--health-retries: %s is no count", v);
		h->any = h->any || h->retries;
		return 0;
	default:
		if (cmdline_duration_ns(v, d) || *d < 0)
			return fail(err, errlen, "bad duration %s (10s, 1m30s, 500ms)", v);
		h->any = h->any || *d;
		return 0;
	}
}

/* Into parent.Healthcheck, as the CLI builds it: NONE, or what was given
 * (Test left out, so the image's own check keeps its command). */
static int health_build(const struct health *h, json_t *parent, char *err, size_t errlen)
{
	json_t *hc;

	if (h->none) {
		if (h->any)
			return fail(err, errlen, "%s", "--no-healthcheck conflicts with --health-* "
				    "options");
		json_object_set_new(parent, "Healthcheck", json_pack("{s:[s]}", "Test", "NONE"));
		return 0;
	}
	if (!h->any)
		return 0;
	hc = json_object();
	if (h->cmd && *h->cmd)
		json_object_set_new(hc, "Test", json_pack("[s, s]", "CMD-SHELL", h->cmd));
	if (h->interval)
		json_object_set_new(hc, "Interval", json_integer(h->interval));
	if (h->timeout)
		json_object_set_new(hc, "Timeout", json_integer(h->timeout));
	if (h->start_period)
		json_object_set_new(hc, "StartPeriod", json_integer(h->start_period));
	if (h->start_interval)
		json_object_set_new(hc, "StartInterval", json_integer(h->start_interval));
	if (h->retries)
		json_object_set_new(hc, "Retries", json_integer(h->retries));
	json_object_set_new(parent, "Healthcheck", hc);
	return 0;
}

#define HEALTH_OPTS \
	{ "health-cmd", 0, K_VALUE, H_CMD, NULL }, \
	{ "health-interval", 0, K_VALUE, H_INTERVAL, NULL }, \
	{ "health-timeout", 0, K_VALUE, H_TIMEOUT, NULL }, \
	{ "health-retries", 0, K_VALUE, H_RETRIES, NULL }, \
	{ "health-start-period", 0, K_VALUE, H_START_PERIOD, NULL }, \
	{ "health-start-interval", 0, K_VALUE, H_START_INTERVAL, NULL }, \
	{ "no-healthcheck", 0, K_BOOL, H_NONE, NULL }

/* ---- --mount, for run and service create ---------------------------------------- */

/* opts.MountOpt: type (volume unless told), source, target, readonly,
 * volume-*, tmpfs-*, bind-*; keys in any case. */
static int mount_spec(json_t *list, const char *spec, char *err, size_t errlen)
{
	char *copy = strdup(spec), *p = copy, *tok;
	json_t *m = json_object(), *vo = NULL, *to = NULL, *bo = NULL;
	int rc = 0;

	if (!copy)
		abort();
	json_object_set_new(m, "Type", json_string("volume"));
	while (!rc && (tok = strsep(&p, ","))) {
		char *eq = strchr(tok, '=');
		const char *v = eq ? eq + 1 : NULL;
		bool b = true;
		int64_t n;

		if (eq)
			*eq = '\0';
		for (char *q = tok; *q; q++)
			*q = (char)tolower((unsigned char)*q);
		if (!v && strcmp(tok, "readonly") && strcmp(tok, "ro") && strcmp(tok, "volume-nocopy") &&
		    strcmp(tok, "bind-nonrecursive")) {
			rc = fail(err, errlen, "invalid field '%s' must be a key=value pair", tok);
			break;
		}
		if (!strcmp(tok, "type")) {
			char *t = strdup(v);
			if (!t)
				abort();
			for (char *q = t; *q; q++)
				*q = (char)tolower((unsigned char)*q);
			json_object_set_new(m, "Type", json_string(t));
			free(t);
		} else if (!strcmp(tok, "source") || !strcmp(tok, "src")) {
			if (v[0] == '.')
				rc = fail(err, errlen, "mount source %s: a relative path is the writer's; "
					  "give an absolute one", v);
			json_object_set_new(m, "Source", json_string(v));
		} else if (!strcmp(tok, "target") || !strcmp(tok, "dst") ||
			   !strcmp(tok, "destination")) {
			json_object_set_new(m, "Target", json_string(v));
		} else if (!strcmp(tok, "readonly") || !strcmp(tok, "ro")) {
			if (v && !parse_bool(v, &b))
				rc = fail(err, errlen, "invalid value for %s: %s", tok, v);
			json_object_set_new(m, "ReadOnly", json_boolean(b));
		} else if (!strcmp(tok, "consistency")) {
			json_object_set_new(m, "Consistency", json_string(v));
		} else if (!strcmp(tok, "volume-nocopy")) {
			if (v && !parse_bool(v, &b))
				rc = fail(err, errlen, "invalid value for volume-nocopy: %s", v);
			json_object_set_new(vo = vo ? vo : json_object(), "NoCopy", json_boolean(b));
		} else if (!strcmp(tok, "volume-label")) {
			vo = vo ? vo : json_object();
			rc = key_value(obj(vo, "Labels"), v, err, errlen);
		} else if (!strcmp(tok, "volume-driver")) {
			vo = vo ? vo : json_object();
			json_object_set_new(obj(vo, "DriverConfig"), "Name", json_string(v));
		} else if (!strcmp(tok, "volume-opt")) {
			vo = vo ? vo : json_object();
			rc = key_value(obj(obj(vo, "DriverConfig"), "Options"), v, err, errlen);
		} else if (!strcmp(tok, "tmpfs-size")) {
			if (cmdline_ram_bytes(v, &n))
				rc = fail(err, errlen, "invalid value for tmpfs-size: %s", v);
			json_object_set_new(to = to ? to : json_object(), "SizeBytes", json_integer(n));
		} else if (!strcmp(tok, "tmpfs-mode")) {
			char *end;
			errno = 0;
			unsigned long mode = strtoul(v, &end, 8);
			if (!*v || *end || errno || mode > 0xffffffffUL)
				rc = fail(err, errlen, "invalid value for tmpfs-mode: %s", v);
			json_object_set_new(to = to ? to : json_object(), "Mode",
					    json_integer((json_int_t)mode));
		} else if (!strcmp(tok, "bind-propagation")) {
			json_object_set_new(bo = bo ? bo : json_object(), "Propagation", json_string(v));
		} else if (!strcmp(tok, "bind-nonrecursive")) {
			if (v && !parse_bool(v, &b))
				rc = fail(err, errlen, "invalid value for bind-nonrecursive: %s", v);
			json_object_set_new(bo = bo ? bo : json_object(), "NonRecursive", json_boolean(b));
		} else {
			rc = fail(err, errlen, "unexpected key '%s' in '%s'", tok, spec);
		}
	}
	const char *type = json_string_value(json_object_get(m, "Type"));
	if (!rc && !json_object_get(m, "Target"))
		rc = fail(err, errlen, "target is required (%s)", spec);
	else if (!rc && ((vo && strcmp(type, "volume")) || (to && strcmp(type, "tmpfs")) ||
			 (bo && strcmp(type, "bind"))))
		rc = fail(err, errlen, "cannot mix volume-, tmpfs- or bind- options with mount type "
			  "'%s'", type);
	if (vo)
		json_object_set_new(m, "VolumeOptions", vo);
	if (to)
		json_object_set_new(m, "TmpfsOptions", to);
	if (bo)
		json_object_set_new(m, "BindOptions", bo);
	if (rc)
		json_decref(m);
	else
		json_array_append_new(list, m);
	free(copy);
	return rc;
}

/* A capability as the CLI normalizes it: upper case, CAP_ prefixed, ALL as
 * it is (and, for services, RESET: an update's word, dropped). */
static void capability(json_t *set, const char *v, bool service)
{
	char c[64];
	size_t i, o = 0;

	if (strncasecmp(v, "CAP_", 4) && strcasecmp(v, "ALL") && (!service || strcasecmp(v, "RESET")))
		o = (size_t)snprintf(c, sizeof(c), "CAP_");
	for (i = 0; v[i] && o + 1 < sizeof(c); i++)
		c[o++] = (char)toupper((unsigned char)v[i]);
	c[o] = '\0';
	json_object_set_new(set, c, json_true());
}

/* The capabilities of a set, sorted, without RESET (an update's word). */
static json_t *sorted_keys(json_t *set)
{
	json_t *list = json_array();
	size_t n;
	const char **keys = sorted_names(set, &n);

	for (size_t i = 0; i < n; i++)
		if (strcmp(keys[i], "RESET"))
			json_array_append_new(list, json_string(keys[i]));
	free(keys);
	return list;
}

/* ---- docker run / create ---------------------------------------------------------- */

/* A port or range: "80", "8000-8010"; 0 on success. */
static int port_range(const char *s, long *lo, long *hi)
{
	char *end;

	if (!isdigit((unsigned char)*s))
		return -1;
	*lo = strtol(s, &end, 10);
	*hi = *lo;
	if (*end == '-') {
		const char *h = end + 1;
		if (!isdigit((unsigned char)*h))
			return -1;
		*hi = strtol(h, &end, 10);
	}
	return *end || *lo < 0 || *hi > 65535 || *hi < *lo ? -1 : 0;
}

/* PORT[-END][/PROTO] -> range and protocol */
static int port_proto(const char *s, long *lo, long *hi, char proto[8])
{
	char buf[32];
	const char *slash = strchr(s, '/');

	snprintf(buf, sizeof(buf), "%.*s", slash ? (int)(slash - s) : 31, s);
	snprintf(proto, 8, "%s", slash ? slash + 1 : "tcp");
	for (char *q = proto; *q; q++)
		*q = (char)tolower((unsigned char)*q);
	if (strcmp(proto, "tcp") && strcmp(proto, "udp") && strcmp(proto, "sctp"))
		return -1;
	return port_range(buf, lo, hi);
}

/* -p as nat.ParsePortSpec takes it: [IP:][HOSTPORT[-END]:]PORT[-END][/PROTO],
 * IPv6 in brackets; or published=P,target=T[,protocol=X]. */
static int publish(json_t *body, json_t *hc, const char *spec, char *err, size_t errlen)
{
	char s[160], ip[160] = "", hport[160] = "", proto[8], key[32];
	const char *cport;
	long clo, chi, hlo = 0, hhi = 0;

	if (strlen(spec) >= sizeof(s) - 8)
		return fail(err, errlen, "bad port %s", spec);
	if (strchr(spec, '=')) {
		char pub[32] = "", tgt[32] = "", pr[8] = "tcp", t[160];
		strcpy(t, spec);
		for (char *q = t, *tok; (tok = strsep(&q, ","));) {
			char *eq = strchr(tok, '=');
			if (!eq || eq == tok)
				return fail(err, errlen, "invalid publish opts format (should be "
					    "name=value but got '%s')", tok);
			*eq++ = '\0';
			if (!strcmp(tok, "published"))
				snprintf(pub, sizeof(pub), "%s", eq);
			else if (!strcmp(tok, "target"))
				snprintf(tgt, sizeof(tgt), "%s", eq);
			else if (!strcmp(tok, "protocol"))
				snprintf(pr, sizeof(pr), "%s", eq);
		}
		snprintf(s, sizeof(s), "%s:%s/%s", pub, tgt, pr);
	} else {
		strcpy(s, spec);
	}
	/* the container port is after the last colon; an IPv6 host address
	 * is in brackets */
	char *last = strrchr(s, ':');
	cport = last ? last + 1 : s;
	if (last) {
		*last = '\0';
		char *mid = strrchr(s, ':');
		if (mid && s[0] == '[' && mid < strchr(s, ']'))
			mid = NULL;
		if (mid) {
			*mid = '\0';
			snprintf(hport, sizeof(hport), "%s", mid + 1);
			snprintf(ip, sizeof(ip), "%s", s);
		} else if (s[0] == '[') {
			return fail(err, errlen, "bad port %s", spec);
		} else {
			snprintf(hport, sizeof(hport), "%s", s);
		}
		size_t l = strlen(ip);
		if (l >= 2 && ip[0] == '[' && ip[l - 1] == ']') {
			memmove(ip, ip + 1, l - 2);
			ip[l - 2] = '\0';
		}
		if (ip[0] && !ip_address(ip))
			return fail(err, errlen, "invalid IP address %s in %s", ip, spec);
	}
	if (port_proto(cport, &clo, &chi, proto) || (hport[0] && port_range(hport, &hlo, &hhi)))
		return fail(err, errlen, "bad port %s: [IP:][HOSTPORT:]PORT[/PROTO]", spec);
	if (hport[0] && hhi - hlo != chi - clo && chi != clo)
		return fail(err, errlen, "invalid ranges specified for container and host ports: %s",
			    spec);
	for (long p = clo; p <= chi; p++) {
		char hp[32] = "";
		snprintf(key, sizeof(key), "%ld/%s", p, proto);
		if (hport[0] && chi == clo && hhi != hlo)
			snprintf(hp, sizeof(hp), "%ld-%ld", hlo, hhi);
		else if (hport[0])
			snprintf(hp, sizeof(hp), "%ld", hlo + (p - clo));
		json_object_set_new(obj(body, "ExposedPorts"), key, json_object());
		json_t *b = json_object_get(obj(hc, "PortBindings"), key);
		if (!b) {
			b = json_array();
			json_object_set_new(obj(hc, "PortBindings"), key, b);
		}
		json_array_append_new(b, json_pack("{s:s, s:s}", "HostIp", ip, "HostPort", hp));
	}
	return 0;
}

static int expose(json_t *body, const char *v, char *err, size_t errlen)
{
	char proto[8], key[32];
	long lo, hi;

	if (port_proto(v, &lo, &hi, proto))
		return fail(err, errlen, "invalid range format for --expose: %s", v);
	for (long p = lo; p <= hi; p++) {
		snprintf(key, sizeof(key), "%ld/%s", p, proto);
		json_object_set_new(obj(body, "ExposedPorts"), key, json_object());
	}
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
			int64_t n;
			if (!parse_int(colon + 1, 0, INT32_MAX, &n))
				return fail(err, errlen, "bad retry count in %s", p);
			json_object_set_new(rp, "MaximumRetryCount", json_integer(n));
		}
		return 0;
	}
	return fail(err, errlen, "restart policy %s: no, always, unless-stopped, on-failure[:N]", p);
}

enum run_opt {
	O_NAME, O_ENV, O_LABEL, O_RESTART, O_PUBLISH, O_PUBLISH_ALL, O_EXPOSE, O_WORKDIR, O_USER,
	O_ENTRYPOINT, O_HOSTNAME, O_DOMAINNAME, O_NETWORK, O_ALIAS, O_IP, O_IP6, O_VOLUME,
	O_MOUNT, O_TMPFS, O_PRIVILEGED, O_CAP_ADD, O_CAP_DROP, O_GROUP_ADD, O_DEVICE, O_PID,
	O_IPC, O_UTS, O_USERNS, O_CGROUPNS, O_SECURITY_OPT, O_SYSCTL, O_TTY, O_INTERACTIVE,
	O_DETACH, O_QUIET, O_RM, O_PULL, O_MEMORY, O_MEMORY_SWAP, O_MEMORY_RES, O_SWAPPINESS,
	O_CPUS, O_CPU_SHARES, O_CPU_PERIOD, O_CPU_QUOTA, O_CPUSET_CPUS, O_CPUSET_MEMS,
	O_BLKIO_WEIGHT, O_PIDS, O_SHM, O_OOM_SCORE, O_OOM_KILL, O_CGROUP_PARENT, O_RUNTIME,
	O_LOG_DRIVER, O_LOG_OPT, O_ADD_HOST, O_DNS, O_DNS_OPT, O_DNS_SEARCH, O_ULIMIT,
	O_STOP_SIGNAL, O_STOP_TIMEOUT, O_READ_ONLY, O_INIT, O_LINK, O_VOLUMES_FROM,
};

#define REFUSE(n, s, why) { n, s, K_REFUSED, -1, why }

static const struct optdef run_options[] = {
	{ "name", 0, K_VALUE, O_NAME, NULL },
	{ "env", 'e', K_VALUE, O_ENV, NULL },
	{ "label", 'l', K_VALUE, O_LABEL, NULL },
	{ "restart", 0, K_VALUE, O_RESTART, NULL },
	{ "publish", 'p', K_VALUE, O_PUBLISH, NULL },
	{ "publish-all", 'P', K_BOOL, O_PUBLISH_ALL, NULL },
	{ "expose", 0, K_VALUE, O_EXPOSE, NULL },
	{ "workdir", 'w', K_VALUE, O_WORKDIR, NULL },
	{ "user", 'u', K_VALUE, O_USER, NULL },
	{ "entrypoint", 0, K_VALUE, O_ENTRYPOINT, NULL },
	{ "hostname", 'h', K_VALUE, O_HOSTNAME, NULL },
	{ "domainname", 0, K_VALUE, O_DOMAINNAME, NULL },
	{ "network", 0, K_VALUE, O_NETWORK, NULL },
	{ "net", 0, K_VALUE, O_NETWORK, NULL },
	{ "network-alias", 0, K_VALUE, O_ALIAS, NULL },
	{ "net-alias", 0, K_VALUE, O_ALIAS, NULL },
	{ "ip", 0, K_VALUE, O_IP, NULL },
	{ "ip6", 0, K_VALUE, O_IP6, NULL },
	{ "volume", 'v', K_VALUE, O_VOLUME, NULL },
	{ "mount", 0, K_VALUE, O_MOUNT, NULL },
	{ "tmpfs", 0, K_VALUE, O_TMPFS, NULL },
	{ "privileged", 0, K_BOOL, O_PRIVILEGED, NULL },
	{ "cap-add", 0, K_VALUE, O_CAP_ADD, NULL },
	{ "cap-drop", 0, K_VALUE, O_CAP_DROP, NULL },
	{ "group-add", 0, K_VALUE, O_GROUP_ADD, NULL },
	{ "device", 0, K_VALUE, O_DEVICE, NULL },
	{ "pid", 0, K_VALUE, O_PID, NULL },
	{ "ipc", 0, K_VALUE, O_IPC, NULL },
	{ "uts", 0, K_VALUE, O_UTS, NULL },
	{ "userns", 0, K_VALUE, O_USERNS, NULL },
	{ "cgroupns", 0, K_VALUE, O_CGROUPNS, NULL },
	{ "security-opt", 0, K_VALUE, O_SECURITY_OPT, NULL },
	{ "sysctl", 0, K_VALUE, O_SYSCTL, NULL },
	{ "tty", 't', K_BOOL, O_TTY, NULL },
	{ "interactive", 'i', K_BOOL, O_INTERACTIVE, NULL },
	{ "detach", 'd', K_BOOL, O_DETACH, NULL },
	{ "quiet", 'q', K_BOOL, O_QUIET, NULL },
	{ "rm", 0, K_BOOL, O_RM, NULL },
	{ "pull", 0, K_VALUE, O_PULL, NULL },
	{ "memory", 'm', K_VALUE, O_MEMORY, NULL },
	{ "memory-swap", 0, K_VALUE, O_MEMORY_SWAP, NULL },
	{ "memory-reservation", 0, K_VALUE, O_MEMORY_RES, NULL },
	{ "memory-swappiness", 0, K_VALUE, O_SWAPPINESS, NULL },
	{ "cpus", 0, K_VALUE, O_CPUS, NULL },
	{ "cpu-shares", 'c', K_VALUE, O_CPU_SHARES, NULL },
	{ "cpu-period", 0, K_VALUE, O_CPU_PERIOD, NULL },
	{ "cpu-quota", 0, K_VALUE, O_CPU_QUOTA, NULL },
	{ "cpuset-cpus", 0, K_VALUE, O_CPUSET_CPUS, NULL },
	{ "cpuset-mems", 0, K_VALUE, O_CPUSET_MEMS, NULL },
	{ "blkio-weight", 0, K_VALUE, O_BLKIO_WEIGHT, NULL },
	{ "pids-limit", 0, K_VALUE, O_PIDS, NULL },
	{ "shm-size", 0, K_VALUE, O_SHM, NULL },
	{ "oom-score-adj", 0, K_VALUE, O_OOM_SCORE, NULL },
	{ "oom-kill-disable", 0, K_BOOL, O_OOM_KILL, NULL },
	{ "cgroup-parent", 0, K_VALUE, O_CGROUP_PARENT, NULL },
	{ "runtime", 0, K_VALUE, O_RUNTIME, NULL },
	{ "log-driver", 0, K_VALUE, O_LOG_DRIVER, NULL },
	{ "log-opt", 0, K_VALUE, O_LOG_OPT, NULL },
	{ "add-host", 0, K_VALUE, O_ADD_HOST, NULL },
	{ "dns", 0, K_VALUE, O_DNS, NULL },
	{ "dns-option", 0, K_VALUE, O_DNS_OPT, NULL },
	{ "dns-opt", 0, K_VALUE, O_DNS_OPT, NULL },
	{ "dns-search", 0, K_VALUE, O_DNS_SEARCH, NULL },
	{ "ulimit", 0, K_VALUE, O_ULIMIT, NULL },
	{ "stop-signal", 0, K_VALUE, O_STOP_SIGNAL, NULL },
	{ "stop-timeout", 0, K_VALUE, O_STOP_TIMEOUT, NULL },
	{ "read-only", 0, K_BOOL, O_READ_ONLY, NULL },
	{ "init", 0, K_BOOL, O_INIT, NULL },
	{ "link", 0, K_VALUE, O_LINK, NULL },
	{ "volumes-from", 0, K_VALUE, O_VOLUMES_FROM, NULL },
	HEALTH_OPTS,
	REFUSE("env-file", 0, "dockfs never reads the writer's files: give each variable "
	       "as -e KEY=VALUE"),
	REFUSE("label-file", 0, "dockfs never reads the writer's files: give each label "
	       "as -l KEY=VALUE"),
	REFUSE("cidfile", 0, "dockfs writes no file of the writer's: the new id is read back "
	       "from the same open ctl"),
	REFUSE("attach", 'a', "nothing attaches to a run through dockfs: runs are detached "
	       "(read the container's logs)"),
	REFUSE("detach-keys", 0, "nothing attaches to a run through dockfs: runs are detached"),
	REFUSE("sig-proxy", 0, "nothing attaches to a run through dockfs: runs are detached"),
	{ NULL, 0, K_BOOL, 0, NULL },
};

struct run_state {
	json_t *body, *hc;
	char *name;
	const char *network;
	json_t *aliases;
	const char *ip, *ip6;
	struct health health;
	const char *log_driver;
	json_t *log_opts;
	json_t *ulimits, *cap_add, *cap_drop;
	bool rm;
	int64_t swappiness;
};

static bool user_defined(const char *net)
{
	return net && strcmp(net, "default") && strcmp(net, "bridge") && strcmp(net, "host") &&
	       strcmp(net, "none") && strncmp(net, "container:", 10);
}

static int set_size(json_t *hc, const char *key, const char *v, char *err, size_t errlen)
{
	int64_t n;

	if (cmdline_ram_bytes(v, &n))
		return fail(err, errlen, "invalid size: '%s' (512m, 1g, 1.5g)", v);
	json_object_set_new(hc, key, json_integer(n));
	return 0;
}

static int set_int(json_t *o, const char *key, const char *v, int64_t min, int64_t max,
		   char *err, size_t errlen)
{
	int64_t n;

	if (!parse_int(v, min, max, &n))
		return fail(err, errlen, "%s: %s is not an integer in %lld..%lld", key, v,
			    (long long)min, (long long)max);
	json_object_set_new(o, key, json_integer(n));
	return 0;
}

static int run_opt(void *arg, int id, const char *v, bool on, char *err, size_t errlen)
{
	struct run_state *s = arg;
	json_t *body = s->body, *hc = s->hc;
	char buf[300];
	int64_t n;

	if (id >= H_CMD)
		return health_opt(&s->health, id, v, on, err, errlen);
	switch ((enum run_opt)id) {
	case O_NAME:
		free(s->name);
		if (!(s->name = strdup(v)))
			abort();
		return 0;
	case O_ENV:
		if (env_word(v, err, errlen))
			return -EINVAL;
		append_str(body, "Env", v);
		return 0;
	case O_LABEL:
		return key_value(obj(body, "Labels"), v, err, errlen);
	case O_RESTART:
		return restart_policy(hc, v, err, errlen);
	case O_PUBLISH:
		return publish(body, hc, v, err, errlen);
	case O_PUBLISH_ALL:
		json_object_set_new(hc, "PublishAllPorts", json_boolean(on));
		return 0;
	case O_EXPOSE:
		return expose(body, v, err, errlen);
	case O_WORKDIR:
		json_object_set_new(body, "WorkingDir", json_string(v));
		return 0;
	case O_USER:
		json_object_set_new(body, "User", json_string(v));
		return 0;
	case O_ENTRYPOINT:
		/* --entrypoint= resets the image's */
		json_object_set_new(body, "Entrypoint", json_pack("[s]", v));
		return 0;
	case O_HOSTNAME:
		json_object_set_new(body, "Hostname", json_string(v));
		return 0;
	case O_DOMAINNAME:
		json_object_set_new(body, "Domainname", json_string(v));
		return 0;
	case O_NETWORK:
		if (strchr(v, '='))
			return fail(err, errlen, "--network %s: the name=...,alias=... form is not "
				    "taken; write --network NAME --network-alias ALIAS", v);
		if (s->network)
			return fail(err, errlen, "%s", "one --network only (connect more afterwards)");
		s->network = v;
		json_object_set_new(hc, "NetworkMode", json_string(v));
		return 0;
	case O_ALIAS:
		json_array_append_new(s->aliases, json_string(v));
		return 0;
	case O_IP:
	case O_IP6: {
		unsigned char a[16];
		if (inet_pton(id == O_IP ? AF_INET : AF_INET6, v, a) != 1)
			return fail(err, errlen, "%s is not an IPv%c address", v, id == O_IP ? '4' : '6');
		if (id == O_IP)
			s->ip = v;
		else
			s->ip6 = v;
		return 0;
	}
	case O_VOLUME: {
		const char *colon = strchr(v, ':');
		if (!colon) {
			if (v[0] != '/')
				return fail(err, errlen, "-v %s: an anonymous volume needs an absolute "
					    "path", v);
			json_object_set_new(obj(body, "Volumes"), v, json_object());
			return 0;
		}
		if (v[0] == '.' || v[0] == '~')
			return fail(err, errlen, "-v %s: a relative path is the writer's; give an "
				    "absolute one", v);
		append_str(hc, "Binds", v);
		return 0;
	}
	case O_MOUNT:
		return mount_spec(arr(hc, "Mounts"), v, err, errlen);
	case O_TMPFS: {
		const char *colon = strchr(v, ':');
		char *path = strndup(v, colon ? (size_t)(colon - v) : strlen(v));
		if (!path)
			abort();
		json_object_set_new(obj(hc, "Tmpfs"), path, json_string(colon ? colon + 1 : ""));
		free(path);
		return 0;
	}
	case O_PRIVILEGED:
		json_object_set_new(hc, "Privileged", json_boolean(on));
		return 0;
	case O_CAP_ADD:
		capability(s->cap_add, v, false);
		return 0;
	case O_CAP_DROP:
		capability(s->cap_drop, v, false);
		return 0;
	case O_GROUP_ADD:
		append_str(hc, "GroupAdd", v);
		return 0;
	case O_DEVICE: {
		/* HOST[:CONTAINER][:PERMISSIONS] */
		char host[256], cont[256] = "", perm[8] = "rwm";
		const char *c1 = strchr(v, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		snprintf(host, sizeof(host), "%.*s", c1 ? (int)(c1 - v) : 255, v);
		if (c1) {
			const char *second = c1 + 1;
			size_t l = c2 ? (size_t)(c2 - second) : strlen(second);
			if (!c2 && l && l <= 3 && strspn(second, "rwm") == l)
				snprintf(perm, sizeof(perm), "%s", second);
			else
				snprintf(cont, sizeof(cont), "%.*s", (int)l, second);
			if (c2)
				snprintf(perm, sizeof(perm), "%s", c2 + 1);
		}
		json_array_append_new(arr(hc, "Devices"),
				      json_pack("{s:s, s:s, s:s}", "PathOnHost", host,
						"PathInContainer", cont[0] ? cont : host,
						"CgroupPermissions", perm));
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
	case O_USERNS:
		json_object_set_new(hc, "UsernsMode", json_string(v));
		return 0;
	case O_CGROUPNS:
		json_object_set_new(hc, "CgroupnsMode", json_string(v));
		return 0;
	case O_SECURITY_OPT:
		append_str(hc, "SecurityOpt", v);
		return 0;
	case O_SYSCTL:
		if (!strchr(v, '='))
			return fail(err, errlen, "--sysctl %s: KEY=VALUE", v);
		return key_value(obj(hc, "Sysctls"), v, err, errlen);
	case O_TTY:
		json_object_set_new(body, "Tty", json_boolean(on));
		return 0;
	case O_INTERACTIVE:
		json_object_set_new(body, "OpenStdin", json_boolean(on));
		return 0;
	case O_DETACH:
	case O_QUIET:
		return 0;  /* runs are always detached; nothing is pulled to report */
	case O_RM:
		s->rm = on;
		json_object_set_new(hc, "AutoRemove", json_boolean(on));
		return 0;
	case O_PULL:
		if (!strcmp(v, "missing") || !strcmp(v, "never"))
			return 0;
		if (!strcmp(v, "always"))
			return fail(err, errlen, "%s", "--pull always: a create through dockfs pulls "
				    "nothing; pull the image first, then create with --pull never");
		return fail(err, errlen, "--pull %s: missing or never", v);
	case O_MEMORY:
		return set_size(hc, "Memory", v, err, errlen);
	case O_MEMORY_SWAP:
		if (!strcmp(v, "-1")) {
			json_object_set_new(hc, "MemorySwap", json_integer(-1));
			return 0;
		}
		return set_size(hc, "MemorySwap", v, err, errlen);
	case O_MEMORY_RES:
		return set_size(hc, "MemoryReservation", v, err, errlen);
	case O_SWAPPINESS:
		if (!parse_int(v, -1, 100, &s->swappiness))
			return fail(err, errlen, "invalid value: %s. Valid memory swappiness range is "
				    "0-100", v);
		return 0;
	case O_CPUS:
		if (cmdline_nano_cpus(v, &n))
			return fail(err, errlen, "--cpus %s: a number of CPUs (1.5), to 9 decimals", v);
		json_object_set_new(hc, "NanoCpus", json_integer(n));
		return 0;
	case O_CPU_SHARES:
		return set_int(hc, "CpuShares", v, 0, INT64_MAX, err, errlen);
	case O_CPU_PERIOD:
		return set_int(hc, "CpuPeriod", v, 0, INT64_MAX, err, errlen);
	case O_CPU_QUOTA:
		return set_int(hc, "CpuQuota", v, -1, INT64_MAX, err, errlen);
	case O_CPUSET_CPUS:
		json_object_set_new(hc, "CpusetCpus", json_string(v));
		return 0;
	case O_CPUSET_MEMS:
		json_object_set_new(hc, "CpusetMems", json_string(v));
		return 0;
	case O_BLKIO_WEIGHT:
		return set_int(hc, "BlkioWeight", v, 0, 65535, err, errlen);
	case O_PIDS:
		return set_int(hc, "PidsLimit", v, INT64_MIN, INT64_MAX, err, errlen);
	case O_SHM:
		return set_size(hc, "ShmSize", v, err, errlen);
	case O_OOM_SCORE:
		return set_int(hc, "OomScoreAdj", v, INT32_MIN, INT32_MAX, err, errlen);
	case O_OOM_KILL:
		json_object_set_new(hc, "OomKillDisable", json_boolean(on));
		return 0;
	case O_CGROUP_PARENT:
		json_object_set_new(hc, "CgroupParent", json_string(v));
		return 0;
	case O_RUNTIME:
		json_object_set_new(hc, "Runtime", json_string(v));
		return 0;
	case O_LOG_DRIVER:
		s->log_driver = v;
		return 0;
	case O_LOG_OPT:
		return key_value(s->log_opts, v, err, errlen);
	case O_ADD_HOST:
		if (extra_host(v, buf, sizeof(buf), err, errlen))
			return -EINVAL;
		append_str(hc, "ExtraHosts", buf);
		return 0;
	case O_DNS:
		if (!canonical_ip(v, buf, sizeof(buf)))
			return fail(err, errlen, "%s is not an IP address", v);
		append_str(hc, "Dns", buf);
		return 0;
	case O_DNS_OPT:
		append_str(hc, "DnsOptions", v);
		return 0;
	case O_DNS_SEARCH:
		append_str(hc, "DnsSearch", v);
		return 0;
	case O_ULIMIT:
		return ulimit(s->ulimits, v, err, errlen);
	case O_STOP_SIGNAL:
		json_object_set_new(body, "StopSignal", json_string(v));
		return 0;
	case O_STOP_TIMEOUT:
		return set_int(body, "StopTimeout", v, INT32_MIN, INT32_MAX, err, errlen);
	case O_READ_ONLY:
		json_object_set_new(hc, "ReadonlyRootfs", json_boolean(on));
		return 0;
	case O_INIT:
		json_object_set_new(hc, "Init", json_boolean(on));
		return 0;
	case O_LINK:
		append_str(hc, "Links", v);
		return 0;
	case O_VOLUMES_FROM:
		append_str(hc, "VolumesFrom", v);
		return 0;
	}
	return -EINVAL;
}

/* What needs all options seen: health, logging, ulimits, the endpoint. */
static int run_finish(struct run_state *s, char *err, size_t errlen)
{
	const char *rp = json_string_value(json_object_get(json_object_get(s->hc, "RestartPolicy"),
							   "Name"));

	if (s->rm && rp && strcmp(rp, "no"))
		return fail(err, errlen, "%s", "conflicting options: cannot specify both --restart "
			    "and --rm");
	if (health_build(&s->health, s->body, err, errlen))
		return -EINVAL;
	if (s->log_driver && !strcmp(s->log_driver, "none") && json_object_size(s->log_opts))
		return fail(err, errlen, "%s", "invalid logging opts for driver none");
	if (s->log_driver || json_object_size(s->log_opts)) {
		json_t *lc = obj(s->hc, "LogConfig");
		json_object_set_new(lc, "Type", json_string(s->log_driver ? s->log_driver : ""));
		if (json_object_size(s->log_opts))
			json_object_set(lc, "Config", s->log_opts);
	}
	if (json_object_size(s->ulimits))
		json_object_set_new(s->hc, "Ulimits", ulimit_list(s->ulimits));
	if (s->swappiness != -1)
		json_object_set_new(s->hc, "MemorySwappiness", json_integer(s->swappiness));
	/* normalized, deduplicated and sorted, as the CLI's API client sends
	 * them (each list on its own, unlike a service's) */
	if (json_object_size(s->cap_add))
		json_object_set_new(s->hc, "CapAdd", sorted_keys(s->cap_add));
	if (json_object_size(s->cap_drop))
		json_object_set_new(s->hc, "CapDrop", sorted_keys(s->cap_drop));
	if (json_array_size(s->aliases) || s->ip || s->ip6) {
		if (!user_defined(s->network))
			return fail(err, errlen, "%s", "network-scoped aliases and addresses are only "
				    "supported for user-defined networks (--network NAME)");
		json_t *ep = json_object();
		if (json_array_size(s->aliases))
			json_object_set(ep, "Aliases", s->aliases);
		if (s->ip || s->ip6) {
			json_t *ipam = obj(ep, "IPAMConfig");
			if (s->ip)
				json_object_set_new(ipam, "IPv4Address", json_string(s->ip));
			if (s->ip6)
				json_object_set_new(ipam, "IPv6Address", json_string(s->ip6));
		}
		json_object_set_new(obj(obj(s->body, "NetworkingConfig"), "EndpointsConfig"),
				    s->network, ep);
	}
	return 0;
}

/* The first word of argv[0..argc) that is not text (text.h), as an
 * error.  jansson answers NULL to a string that is not UTF-8 and its
 * *_set_new ignore a NULL, so a word that is not text would be dropped
 * silently; the caller's tree_write() checks the whole write, but these
 * are also called on their own (tests, fuzzing). */
static int words_are_text(int argc, char *const argv[], char *err, size_t errlen)
{
	char why[128];

	for (int i = 0; i < argc; i++) {
		if (text_check(argv[i], strlen(argv[i]), NULL, NULL) == TEXT_OK)
			continue;
		text_explain(argv[i], strlen(argv[i]), why, sizeof(why));
		return fail(err, errlen, "word %d is not UTF-8 text: %s", i + 1, why);
	}
	return 0;
}

int cmdline_container_spec(int argc, char *const argv[], json_t **out, char **name,
			   char *err, size_t errlen)
{
	struct run_state s = { .body = json_object(), .hc = json_object(), .aliases = json_array(),
			       .log_opts = json_object(), .ulimits = json_object(),
			       .cap_add = json_object(), .cap_drop = json_object(),
			       .swappiness = -1 };
	int i, rc = 0;

	*name = NULL;
	*out = NULL;
	json_object_set_new(s.body, "HostConfig", s.hc);
	rc = words_are_text(argc, argv, err, errlen);
	if (rc)
		goto out;
	i = parse_flags(run_options, argc, argv, run_opt, &s, err, errlen);
	if (i < 0) {
		rc = i;
		goto out;
	}
	rc = run_finish(&s, err, errlen);
	if (rc)
		goto out;
	if (i >= argc) {
		rc = fail(err, errlen, "%s", "no image given");
		goto out;
	}
	json_object_set_new(s.body, "Image", json_string(argv[i++]));
	if (i < argc) {
		json_t *cmd = json_array();
		for (; i < argc; i++)
			json_array_append_new(cmd, json_string(argv[i]));
		json_object_set_new(s.body, "Cmd", cmd);
	}
out:
	json_decref(s.aliases);
	json_decref(s.log_opts);
	json_decref(s.ulimits);
	json_decref(s.cap_add);
	json_decref(s.cap_drop);
	if (rc) {
		json_decref(s.body);
		free(s.name);
	} else {
		*out = s.body;
		*name = s.name;
	}
	return rc;
}

/* ---- docker service create ---------------------------------------------------- */

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
		for (char *q = s; *q; q++)
			*q = (char)tolower((unsigned char)*q);
		for (char *q = s, *tok; (tok = strsep(&q, ","));) {
			char *eq = strchr(tok, '=');
			if (!eq)
				goto bad;
			*eq++ = '\0';
			if (!strcmp(tok, "published") && parse_count(eq, 65535, &pub))
				continue;
			if (!strcmp(tok, "target") && parse_count(eq, 65535, &target))
				continue;
			if (!strcmp(tok, "protocol"))
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

/* NAME[,target=FILE,uid=U,gid=G,mode=M] or source=NAME,...: a secret or
 * config reference by name (the caller fills in the id).  mode as Go's
 * ParseUint(s, 0, 32) reads it: 0444 is octal. */
static int file_ref(json_t *list, const char *kind, const char *spec, char *err, size_t errlen)
{
	char s[256], *name = NULL, *target = NULL;
	const char *uid = "0", *gid = "0";
	unsigned long mode = 0444;

	if (strlen(spec) >= sizeof(s))
		return fail(err, errlen, "bad %s %s", kind, spec);
	strcpy(s, spec);
	for (char *q = s, *tok; (tok = strsep(&q, ","));) {
		char *eq = strchr(tok, '='), *end;
		if (!eq && tok == s)  /* NAME first, as docker's short form */
			name = tok;
		else if (eq && (!strncmp(tok, "source=", 7) || !strncmp(tok, "src=", 4)))
			name = eq + 1;
		else if (eq && !strncmp(tok, "target=", 7))
			target = eq + 1;
		else if (eq && !strncmp(tok, "uid=", 4))
			uid = eq + 1;
		else if (eq && !strncmp(tok, "gid=", 4))
			gid = eq + 1;
		else if (eq && !strncmp(tok, "mode=", 5) && eq[1] &&
			 (mode = strtoul(eq + 1, &end, 0)) <= 07777 && !*end)
			continue;
		else
			return fail(err, errlen, "bad %s %s: NAME[,target=FILE,uid=U,gid=G,mode=M]",
				    kind, spec);
	}
	if (!name || !*name)
		return fail(err, errlen, "bad %s %s: NAME[,target=FILE]", kind, spec);
	bool secret = !strcmp(kind, "secret");
	json_array_append_new(list, json_pack("{s:s, s:{s:s, s:s, s:s, s:i}}",
					      secret ? "SecretName" : "ConfigName", name,
					      "File", "Name", target && *target ? target : name,
					      "UID", uid, "GID", gid, "Mode", (int)mode));
	return 0;
}

enum svc_opt {
	S_NAME, S_REPLICAS, S_MODE, S_MAX_CONCURRENT, S_MAX_PER_NODE, S_ENV, S_LABEL, S_CLABEL,
	S_CONSTRAINT, S_PLACEMENT_PREF, S_PUBLISH, S_NETWORK, S_ENDPOINT_MODE, S_MOUNT,
	S_SECRET, S_CONFIG,
	S_UPD_PAR, S_UPD_DELAY, S_UPD_MONITOR, S_UPD_FAIL, S_UPD_RATIO, S_UPD_ORDER,
	S_RB_PAR, S_RB_DELAY, S_RB_MONITOR, S_RB_FAIL, S_RB_RATIO, S_RB_ORDER,
	S_RESTART, S_RESTART_DELAY, S_RESTART_MAX, S_RESTART_WINDOW,
	S_LIMIT_CPU, S_LIMIT_MEMORY, S_LIMIT_PIDS, S_RESERVE_CPU, S_RESERVE_MEMORY,
	S_STOP_GRACE, S_STOP_SIGNAL, S_DNS, S_DNS_OPT, S_DNS_SEARCH, S_HOST, S_HOSTNAME,
	S_INIT, S_READ_ONLY, S_WORKDIR, S_USER, S_GROUP, S_ENTRYPOINT, S_TTY, S_LOG_DRIVER,
	S_LOG_OPT, S_CAP_ADD, S_CAP_DROP, S_ULIMIT, S_SYSCTL, S_ISOLATION, S_DETACH, S_QUIET,
	S_NO_RESOLVE,
};

static const struct optdef svc_options[] = {
	{ "name", 0, K_VALUE, S_NAME, NULL },
	{ "replicas", 0, K_VALUE, S_REPLICAS, NULL },
	{ "mode", 0, K_VALUE, S_MODE, NULL },
	{ "max-concurrent", 0, K_VALUE, S_MAX_CONCURRENT, NULL },
	{ "replicas-max-per-node", 0, K_VALUE, S_MAX_PER_NODE, NULL },
	{ "env", 'e', K_VALUE, S_ENV, NULL },
	{ "label", 'l', K_VALUE, S_LABEL, NULL },
	{ "container-label", 0, K_VALUE, S_CLABEL, NULL },
	{ "constraint", 0, K_VALUE, S_CONSTRAINT, NULL },
	{ "placement-pref", 0, K_VALUE, S_PLACEMENT_PREF, NULL },
	{ "publish", 'p', K_VALUE, S_PUBLISH, NULL },
	{ "network", 0, K_VALUE, S_NETWORK, NULL },
	{ "endpoint-mode", 0, K_VALUE, S_ENDPOINT_MODE, NULL },
	{ "mount", 0, K_VALUE, S_MOUNT, NULL },
	{ "secret", 0, K_VALUE, S_SECRET, NULL },
	{ "config", 0, K_VALUE, S_CONFIG, NULL },
	{ "update-parallelism", 0, K_VALUE, S_UPD_PAR, NULL },
	{ "update-delay", 0, K_VALUE, S_UPD_DELAY, NULL },
	{ "update-monitor", 0, K_VALUE, S_UPD_MONITOR, NULL },
	{ "update-failure-action", 0, K_VALUE, S_UPD_FAIL, NULL },
	{ "update-max-failure-ratio", 0, K_VALUE, S_UPD_RATIO, NULL },
	{ "update-order", 0, K_VALUE, S_UPD_ORDER, NULL },
	{ "rollback-parallelism", 0, K_VALUE, S_RB_PAR, NULL },
	{ "rollback-delay", 0, K_VALUE, S_RB_DELAY, NULL },
	{ "rollback-monitor", 0, K_VALUE, S_RB_MONITOR, NULL },
	{ "rollback-failure-action", 0, K_VALUE, S_RB_FAIL, NULL },
	{ "rollback-max-failure-ratio", 0, K_VALUE, S_RB_RATIO, NULL },
	{ "rollback-order", 0, K_VALUE, S_RB_ORDER, NULL },
	{ "restart-condition", 0, K_VALUE, S_RESTART, NULL },
	{ "restart-delay", 0, K_VALUE, S_RESTART_DELAY, NULL },
	{ "restart-max-attempts", 0, K_VALUE, S_RESTART_MAX, NULL },
	{ "restart-window", 0, K_VALUE, S_RESTART_WINDOW, NULL },
	{ "limit-cpu", 0, K_VALUE, S_LIMIT_CPU, NULL },
	{ "limit-memory", 0, K_VALUE, S_LIMIT_MEMORY, NULL },
	{ "limit-pids", 0, K_VALUE, S_LIMIT_PIDS, NULL },
	{ "reserve-cpu", 0, K_VALUE, S_RESERVE_CPU, NULL },
	{ "reserve-memory", 0, K_VALUE, S_RESERVE_MEMORY, NULL },
	{ "stop-grace-period", 0, K_VALUE, S_STOP_GRACE, NULL },
	{ "stop-signal", 0, K_VALUE, S_STOP_SIGNAL, NULL },
	{ "dns", 0, K_VALUE, S_DNS, NULL },
	{ "dns-option", 0, K_VALUE, S_DNS_OPT, NULL },
	{ "dns-search", 0, K_VALUE, S_DNS_SEARCH, NULL },
	{ "host", 0, K_VALUE, S_HOST, NULL },
	{ "hostname", 0, K_VALUE, S_HOSTNAME, NULL },
	{ "init", 0, K_BOOL, S_INIT, NULL },
	{ "read-only", 0, K_BOOL, S_READ_ONLY, NULL },
	{ "workdir", 'w', K_VALUE, S_WORKDIR, NULL },
	{ "user", 'u', K_VALUE, S_USER, NULL },
	{ "group", 0, K_VALUE, S_GROUP, NULL },
	{ "entrypoint", 0, K_VALUE, S_ENTRYPOINT, NULL },
	{ "tty", 't', K_BOOL, S_TTY, NULL },
	{ "log-driver", 0, K_VALUE, S_LOG_DRIVER, NULL },
	{ "log-opt", 0, K_VALUE, S_LOG_OPT, NULL },
	{ "cap-add", 0, K_VALUE, S_CAP_ADD, NULL },
	{ "cap-drop", 0, K_VALUE, S_CAP_DROP, NULL },
	{ "ulimit", 0, K_VALUE, S_ULIMIT, NULL },
	{ "sysctl", 0, K_VALUE, S_SYSCTL, NULL },
	{ "isolation", 0, K_VALUE, S_ISOLATION, NULL },
	{ "detach", 'd', K_BOOL, S_DETACH, NULL },
	{ "quiet", 'q', K_BOOL, S_QUIET, NULL },
	{ "no-resolve-image", 0, K_BOOL, S_NO_RESOLVE, NULL },
	HEALTH_OPTS,
	REFUSE("env-file", 0, "dockfs never reads the writer's files: give each variable "
	       "as -e KEY=VALUE"),
	REFUSE("with-registry-auth", 0, "dockfs holds no registry credentials to send"),
	REFUSE("credential-spec", 0, "Windows only"),
	{ NULL, 0, K_BOOL, 0, NULL },
};

struct svc_state {
	json_t *spec, *tt, *cs;
	struct health health;
	const char *mode, *log_driver;
	json_t *log_opts, *ulimits, *cap_add, *cap_drop;
	json_int_t replicas, max_concurrent;
	bool replicas_set, max_concurrent_set, max_per_node_set;
};

/* UpdateConfig or RollbackConfig, as the CLI makes it on the first flag of
 * its group: swarmkit's defaults, then the flags (a field left out would
 * mean 0, and parallelism 0 updates every task at once). */
static json_t *upd(json_t *spec, const char *key)
{
	json_t *u = json_object_get(spec, key);

	if (!u) {
		u = json_pack("{s:i, s:s, s:I, s:s}", "Parallelism", 1, "FailureAction", "pause",
			      "Monitor", (json_int_t)5000000000LL, "Order", "stop-first");
		json_object_set_new(spec, key, u);
	}
	return u;
}

/* TaskTemplate.RestartPolicy likewise: condition any, delay 5s, max 0. */
static json_t *restart(json_t *tt)
{
	json_t *r = json_object_get(tt, "RestartPolicy");

	if (!r) {
		r = json_pack("{s:s, s:I, s:i}", "Condition", "any", "Delay",
			      (json_int_t)5000000000LL, "MaxAttempts", 0);
		json_object_set_new(tt, "RestartPolicy", r);
	}
	return r;
}

static int set_duration(json_t *o, const char *key, const char *v, char *err, size_t errlen)
{
	int64_t n;

	if (cmdline_duration_ns(v, &n) || n < 0)
		return fail(err, errlen, "bad duration %s (10s, 1m30s, 500ms)", v);
	json_object_set_new(o, key, json_integer(n));
	return 0;
}

static int set_ratio(json_t *o, const char *v, char *err, size_t errlen)
{
	char *end;
	double r = strtod(v, &end);

	if (!*v || *end || r < 0 || r > 1)
		return fail(err, errlen, "bad failure ratio %s (0 to 1)", v);
	json_object_set_new(o, "MaxFailureRatio", r == (double)(json_int_t)r
						  ? json_integer((json_int_t)r) : json_real(r));
	return 0;
}

static int set_oneof(json_t *o, const char *key, const char *v, const char *what,
		     const char *const *allowed, char *err, size_t errlen)
{
	for (const char *const *a = allowed; *a; a++)
		if (!strcmp(*a, v)) {
			json_object_set_new(o, key, json_string(v));
			return 0;
		}
	return fail(err, errlen, "%s %s is not one of the engine's", what, v);
}

static int svc_opt(void *arg, int id, const char *v, bool on, char *err, size_t errlen)
{
	static const char *const failure[] = { "pause", "continue", "rollback", NULL };
	static const char *const rb_failure[] = { "pause", "continue", NULL };
	static const char *const orders[] = { "stop-first", "start-first", NULL };
	static const char *const conditions[] = { "none", "on-failure", "any", NULL };
	struct svc_state *s = arg;
	json_t *spec = s->spec, *tt = s->tt, *cs = s->cs;
	json_int_t n;
	int64_t i64;
	char buf[300];

	if (id >= H_CMD)
		return health_opt(&s->health, id, v, on, err, errlen);
	switch ((enum svc_opt)id) {
	case S_NAME:
		json_object_set_new(spec, "Name", json_string(v));
		return 0;
	case S_REPLICAS:
		if (!parse_count(v, 100000, &s->replicas))
			return fail(err, errlen, "bad replica count %s", v);
		s->replicas_set = true;
		return 0;
	case S_MAX_CONCURRENT:
		if (!parse_count(v, 100000, &s->max_concurrent))
			return fail(err, errlen, "bad count %s", v);
		s->max_concurrent_set = true;
		return 0;
	case S_MODE:
		if (strcmp(v, "replicated") && strcmp(v, "global") && strcmp(v, "replicated-job") &&
		    strcmp(v, "global-job"))
			return fail(err, errlen, "mode %s: replicated, global, replicated-job or "
				    "global-job", v);
		s->mode = v;
		return 0;
	case S_MAX_PER_NODE:
		if (!parse_count(v, 100000, &n))
			return fail(err, errlen, "bad count %s", v);
		s->max_per_node_set = n > 0;
		json_object_set_new(obj(tt, "Placement"), "MaxReplicas", json_integer(n));
		return 0;
	case S_ENV: {
		/* a later KEY=... replaces an earlier one (the CLI's makeEnv) */
		size_t kl = strcspn(v, "="), k;
		json_t *env = arr(cs, "Env"), *e;
		if (env_word(v, err, errlen))
			return -EINVAL;
		json_array_foreach(env, k, e) {
			const char *cur = json_string_value(e);
			if (strcmp(cur, v) && !strncmp(cur, v, kl + 1)) {
				json_array_remove(env, k);
				k--;
			}
		}
		append_str(cs, "Env", v);
		return 0;
	}
	case S_LABEL:
		return key_value(obj(spec, "Labels"), v, err, errlen);
	case S_CLABEL:
		return key_value(obj(cs, "Labels"), v, err, errlen);
	case S_CONSTRAINT:
		append_str(obj(tt, "Placement"), "Constraints", v);
		return 0;
	case S_PLACEMENT_PREF:
		if (strncmp(v, "spread=", 7))
			return fail(err, errlen, "placement preference %s: spread=DESCRIPTOR", v);
		json_array_append_new(arr(obj(tt, "Placement"), "Preferences"),
				      json_pack("{s:{s:s}}", "Spread", "SpreadDescriptor", v + 7));
		return 0;
	case S_PUBLISH:
		return service_port(arr(obj(spec, "EndpointSpec"), "Ports"), v, err, errlen);
	case S_NETWORK: {
		/* NAME, or name=NAME,alias=A,driver-opt=K=V */
		json_t *att = json_object();
		if (!strchr(v, '=')) {
			json_object_set_new(att, "Target", json_string(v));
		} else {
			char *copy = strdup(v), *p = copy, *tok;
			int rc = 0;
			if (!copy)
				abort();
			while (!rc && (tok = strsep(&p, ","))) {
				char *eq = strchr(tok, '=');
				if (!eq) {
					rc = fail(err, errlen, "invalid field %s in --network %s", tok, v);
					break;
				}
				*eq++ = '\0';
				if (!strcmp(tok, "name"))
					json_object_set_new(att, "Target", json_string(eq));
				else if (!strcmp(tok, "alias"))
					append_str(att, "Aliases", eq);
				else if (!strcmp(tok, "driver-opt"))
					rc = key_value(obj(att, "DriverOpts"), eq, err, errlen);
				else
					rc = fail(err, errlen, "invalid field key %s in --network %s",
						  tok, v);
			}
			free(copy);
			if (!rc && !json_object_get(att, "Target"))
				rc = fail(err, errlen, "--network %s: no name=", v);
			if (rc) {
				json_decref(att);
				return rc;
			}
		}
		json_array_append_new(arr(tt, "Networks"), att);
		return 0;
	}
	case S_ENDPOINT_MODE: {
		char m[16];
		size_t k;
		for (k = 0; v[k] && k + 1 < sizeof(m); k++)
			m[k] = (char)tolower((unsigned char)v[k]);
		m[k] = '\0';
		if (strcmp(m, "vip") && strcmp(m, "dnsrr"))
			return fail(err, errlen, "endpoint mode %s: vip or dnsrr", v);
		json_object_set_new(obj(spec, "EndpointSpec"), "Mode", json_string(m));
		return 0;
	}
	case S_MOUNT:
		return mount_spec(arr(cs, "Mounts"), v, err, errlen);
	case S_SECRET:
		return file_ref(arr(cs, "Secrets"), "secret", v, err, errlen);
	case S_CONFIG:
		return file_ref(arr(cs, "Configs"), "config", v, err, errlen);
	case S_UPD_PAR:
	case S_RB_PAR:
		if (!parse_count(v, 100000, &n))
			return fail(err, errlen, "bad parallelism %s", v);
		json_object_set_new(upd(spec, id == S_UPD_PAR ? "UpdateConfig" : "RollbackConfig"),
				    "Parallelism", json_integer(n));
		return 0;
	case S_UPD_DELAY:
	case S_RB_DELAY:
		return set_duration(upd(spec, id == S_UPD_DELAY ? "UpdateConfig" : "RollbackConfig"),
				    "Delay", v, err, errlen);
	case S_UPD_MONITOR:
	case S_RB_MONITOR:
		return set_duration(upd(spec, id == S_UPD_MONITOR ? "UpdateConfig"
								   : "RollbackConfig"),
				    "Monitor", v, err, errlen);
	case S_UPD_FAIL:
	case S_RB_FAIL:
		return set_oneof(upd(spec, id == S_UPD_FAIL ? "UpdateConfig" : "RollbackConfig"),
				 "FailureAction", v, "failure action", id == S_RB_FAIL ? rb_failure : failure,
				 err, errlen);
	case S_UPD_RATIO:
	case S_RB_RATIO:
		return set_ratio(upd(spec, id == S_UPD_RATIO ? "UpdateConfig" : "RollbackConfig"), v,
				 err, errlen);
	case S_UPD_ORDER:
	case S_RB_ORDER:
		return set_oneof(upd(spec, id == S_UPD_ORDER ? "UpdateConfig" : "RollbackConfig"),
				 "Order", v, "order", orders, err, errlen);
	case S_RESTART:
		return set_oneof(restart(tt), "Condition", v, "restart condition", conditions, err,
				 errlen);
	case S_RESTART_DELAY:
		return set_duration(restart(tt), "Delay", v, err, errlen);
	case S_RESTART_WINDOW:
		return set_duration(restart(tt), "Window", v, err, errlen);
	case S_RESTART_MAX:
		if (!parse_count(v, INT32_MAX, &n))
			return fail(err, errlen, "bad count %s", v);
		json_object_set_new(restart(tt), "MaxAttempts", json_integer(n));
		return 0;
	case S_LIMIT_CPU:
	case S_RESERVE_CPU:
		if (cmdline_nano_cpus(v, &i64))
			return fail(err, errlen, "%s: a number of CPUs (1.5), to 9 decimals", v);
		json_object_set_new(obj(obj(tt, "Resources"), id == S_LIMIT_CPU ? "Limits"
										   : "Reservations"),
				    "NanoCPUs", json_integer(i64));
		return 0;
	case S_LIMIT_MEMORY:
	case S_RESERVE_MEMORY:
		return set_size(obj(obj(tt, "Resources"), id == S_LIMIT_MEMORY ? "Limits"
									       : "Reservations"),
				"MemoryBytes", v, err, errlen);
	case S_LIMIT_PIDS:
		return set_int(obj(obj(tt, "Resources"), "Limits"), "Pids", v, 0, INT64_MAX, err,
			       errlen);
	case S_STOP_GRACE:
		return set_duration(cs, "StopGracePeriod", v, err, errlen);
	case S_STOP_SIGNAL:
		json_object_set_new(cs, "StopSignal", json_string(v));
		return 0;
	case S_DNS:
		if (!canonical_ip(v, buf, sizeof(buf)))
			return fail(err, errlen, "%s is not an IP address", v);
		append_str(obj(cs, "DNSConfig"), "Nameservers", buf);
		return 0;
	case S_DNS_OPT:
		append_str(obj(cs, "DNSConfig"), "Options", v);
		return 0;
	case S_DNS_SEARCH:
		append_str(obj(cs, "DNSConfig"), "Search", v);
		return 0;
	case S_HOST: {
		/* HOST:IP, kept as swarmkit takes it: "IP HOST" */
		if (extra_host(v, buf, sizeof(buf), err, errlen))
			return -EINVAL;
		char line[320], *colon = strchr(buf, ':');
		*colon = '\0';
		snprintf(line, sizeof(line), "%s %s", colon + 1, buf);
		append_str(cs, "Hosts", line);
		return 0;
	}
	case S_HOSTNAME:
		json_object_set_new(cs, "Hostname", json_string(v));
		return 0;
	case S_INIT:
		json_object_set_new(cs, "Init", json_boolean(on));
		return 0;
	case S_READ_ONLY:
		json_object_set_new(cs, "ReadOnly", json_boolean(on));
		return 0;
	case S_WORKDIR:
		json_object_set_new(cs, "Dir", json_string(v));
		return 0;
	case S_USER:
		json_object_set_new(cs, "User", json_string(v));
		return 0;
	case S_GROUP:
		append_str(cs, "Groups", v);
		return 0;
	case S_ENTRYPOINT: {
		/* shell words, as the CLI's ShlexOpt splits them */
		struct argv words;
		if (cmdline_split(v, strlen(v), &words))
			return fail(err, errlen, "--entrypoint %s: unbalanced quotes", v);
		json_t *cmd = json_array();
		for (int k = 0; k < words.n; k++)
			json_array_append_new(cmd, json_string(words.v[k]));
		argv_free(&words);
		json_object_set_new(cs, "Command", cmd);
		return 0;
	}
	case S_TTY:
		json_object_set_new(cs, "TTY", json_boolean(on));
		return 0;
	case S_LOG_DRIVER:
		s->log_driver = v;
		return 0;
	case S_LOG_OPT:
		if (env_word(v, err, errlen))
			return fail(err, errlen, "--log-opt %s: write KEY=VALUE", v);
		return key_value(s->log_opts, v, err, errlen);
	case S_CAP_ADD:
		capability(s->cap_add, v, true);
		return 0;
	case S_CAP_DROP:
		capability(s->cap_drop, v, true);
		return 0;
	case S_ULIMIT:
		return ulimit(s->ulimits, v, err, errlen);
	case S_SYSCTL:
		if (!strchr(v, '='))
			return fail(err, errlen, "--sysctl %s: KEY=VALUE", v);
		return key_value(obj(cs, "Sysctls"), v, err, errlen);
	case S_ISOLATION:
		json_object_set_new(cs, "Isolation", json_string(v));
		return 0;
	case S_DETACH:
	case S_QUIET:
	case S_NO_RESOLVE:
		return 0;  /* the write returns when the swarm took the spec; no registry */
	}
	return -EINVAL;
}

static int svc_finish(struct svc_state *s, char *err, size_t errlen)
{
	const char *mode = s->mode ? s->mode : "replicated";
	json_t *m;

	if (!strcmp(mode, "global") || !strcmp(mode, "global-job")) {
		if (s->replicas_set)
			return fail(err, errlen, "%s", "replicas can only be used with replicated or "
				    "replicated-job mode");
		if (s->max_per_node_set)
			return fail(err, errlen, "%s", "replicas-max-per-node can only be used with "
				    "replicated or replicated-job mode");
	}
	if (s->max_concurrent_set && strcmp(mode, "replicated-job"))
		return fail(err, errlen, "%s", "max-concurrent can only be used with replicated-job "
			    "mode");
	if (strstr(mode, "-job") && (json_object_get(s->spec, "UpdateConfig") ||
				     json_object_get(s->spec, "RollbackConfig")))
		return fail(err, errlen, "%s", "update and rollback configuration is not supported "
			    "for jobs");
	if (!strcmp(mode, "global"))
		m = json_pack("{s:{}}", "Global");
	else if (!strcmp(mode, "global-job"))
		m = json_pack("{s:{}}", "GlobalJob");
	else if (!strcmp(mode, "replicated"))
		m = json_pack("{s:{s:I}}", "Replicated", "Replicas",
			      s->replicas_set ? s->replicas : 1);
	else {
		m = json_pack("{s:{}}", "ReplicatedJob");
		json_t *job = json_object_get(m, "ReplicatedJob");
		if (s->replicas_set)
			json_object_set_new(job, "TotalCompletions", json_integer(s->replicas));
		if (s->max_concurrent_set || s->replicas_set)
			json_object_set_new(job, "MaxConcurrent",
					    json_integer(s->max_concurrent_set ? s->max_concurrent
										: s->replicas));
	}
	json_object_set_new(s->spec, "Mode", m);
	/* the CLI always sends the endpoint mode */
	json_t *ep = obj(s->spec, "EndpointSpec");
	if (!json_object_get(ep, "Mode"))
		json_object_set_new(ep, "Mode", json_string("vip"));
	if (health_build(&s->health, s->cs, err, errlen))
		return -EINVAL;
	if (s->log_driver)  /* options without a driver are dropped, as the CLI does */
		json_object_set_new(s->tt, "LogDriver", json_pack("{s:s, s:O}", "Name", s->log_driver,
								  "Options", s->log_opts));
	if (json_object_size(s->ulimits))
		json_object_set_new(s->cs, "Ulimits", ulimit_list(s->ulimits));
	/* ALL trumps the rest; an added capability is not dropped */
	if (json_object_get(s->cap_add, "ALL"))
		json_object_clear(s->cap_add), json_object_set_new(s->cap_add, "ALL", json_true());
	if (json_object_get(s->cap_drop, "ALL"))
		json_object_clear(s->cap_drop), json_object_set_new(s->cap_drop, "ALL", json_true());
	const char *k;
	json_t *v, *tmp;
	json_object_foreach_safe(s->cap_drop, tmp, k, v)
		if (json_object_get(s->cap_add, k))
			json_object_del(s->cap_drop, k);
	if (json_object_size(s->cap_add))
		json_object_set_new(s->cs, "CapabilityAdd", sorted_keys(s->cap_add));
	if (json_object_size(s->cap_drop))
		json_object_set_new(s->cs, "CapabilityDrop", sorted_keys(s->cap_drop));
	return 0;
}

int cmdline_service_spec(int argc, char *const argv[], json_t **out, char *err, size_t errlen)
{
	struct svc_state s = { .spec = json_object(), .log_opts = json_object(),
			       .ulimits = json_object(), .cap_add = json_object(),
			       .cap_drop = json_object() };
	int i, rc = 0;

	*out = NULL;
	s.tt = obj(s.spec, "TaskTemplate");
	s.cs = obj(s.tt, "ContainerSpec");
	rc = words_are_text(argc, argv, err, errlen);
	if (rc)
		goto out;
	i = parse_flags(svc_options, argc, argv, svc_opt, &s, err, errlen);
	if (i < 0) {
		rc = i;
		goto out;
	}
	rc = svc_finish(&s, err, errlen);
	if (rc)
		goto out;
	if (i >= argc) {
		rc = fail(err, errlen, "%s", "no image given");
		goto out;
	}
	json_object_set_new(s.cs, "Image", json_string(argv[i++]));
	if (i < argc) {
		json_t *args = json_array();
		for (; i < argc; i++)
			json_array_append_new(args, json_string(argv[i]));
		json_object_set_new(s.cs, "Args", args);
	}
out:
	json_decref(s.log_opts);
	json_decref(s.ulimits);
	json_decref(s.cap_add);
	json_decref(s.cap_drop);
	if (rc)
		json_decref(s.spec);
	else
		*out = s.spec;
	return rc;
}
