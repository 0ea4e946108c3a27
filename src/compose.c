/* compose.c - compose files to stack specs and back (compose.h).
 *
 * The conversion follows the docker CLI's (cli/compose/loader and
 * cli/compose/convert of v28.2): where this file makes a choice, it is the
 * one the CLI makes, so that a file deployed through dockfs gives the swarm
 * the specs `docker stack deploy` gives it.  The YAML is libfyaml's; its
 * scalars become JSON strings (null for a plain empty, ~ or null), and each
 * field reads the type it needs from the text, as the CLI's interpolation
 * casts do.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libfyaml.h>
#include <sodium.h>

#include "buf.h"
#include "cmdline.h"
#include "compose.h"

#define NS_PER_SEC 1000000000LL

struct cx {
	const char *stack;
	json_t *vars;            /* the .env: name -> string */
	const struct compose_files *files;
	struct compose_plan *plan;
	char *why;
	size_t whylen;
};

static int fail(struct cx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct cx *x, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(x->why, x->whylen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static void addf(json_t *list, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void addf(json_t *list, const char *fmt, ...)
{
	char text[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	json_array_append_new(list, json_string(text));
}

static void scoped(struct cx *x, const char *name, char *out, size_t len)
{
	snprintf(out, len, "%s_%s", x->stack, name);
}

/* ---- YAML -> JSON -------------------------------------------------------------- */

static bool plain_null(const char *s, size_t l)
{
	return l == 0 || (l == 1 && s[0] == '~') ||
	       (l == 4 && (!memcmp(s, "null", 4) || !memcmp(s, "Null", 4) || !memcmp(s, "NULL", 4)));
}

static json_t *node_json(struct fy_node *n, char *why, size_t whylen)
{
	void *it = NULL;

	if (!n)
		return json_null();
	switch (fy_node_get_type(n)) {
	case FYNT_SCALAR: {
		size_t l = 0;
		const char *s = fy_node_get_scalar(n, &l);
		json_t *j;

		if (!s)
			s = "";
		if (fy_node_get_style(n) == FYNS_PLAIN && plain_null(s, l))
			return json_null();
		j = json_stringn(s, l);
		if (!j)
			snprintf(why, whylen, "a value is not UTF-8 text without NUL bytes");
		return j;
	}
	case FYNT_SEQUENCE: {
		json_t *a = json_array();
		struct fy_node *item;

		while ((item = fy_node_sequence_iterate(n, &it))) {
			json_t *v = node_json(item, why, whylen);
			if (!v) {
				json_decref(a);
				return NULL;
			}
			json_array_append_new(a, v);
		}
		return a;
	}
	case FYNT_MAPPING: {
		json_t *o = json_object();
		struct fy_node_pair *p;

		while ((p = fy_node_mapping_iterate(n, &it))) {
			struct fy_node *k = fy_node_pair_key(p);
			size_t kl = 0;
			const char *ks = k && fy_node_get_type(k) == FYNT_SCALAR
					 ? fy_node_get_scalar(k, &kl) : NULL;
			if (!ks || memchr(ks, '\0', kl)) {
				snprintf(why, whylen, "mapping keys must be text");
				json_decref(o);
				return NULL;
			}
			char *key = strndup(ks, kl);
			json_t *v = node_json(fy_node_pair_value(p), why, whylen);
			if (!key || !v) {
				free(key);
				json_decref(v);
				json_decref(o);
				return NULL;
			}
			json_object_set_new(o, key, v);
			free(key);
		}
		return o;
	}
	}
	return json_null();
}

static json_t *yaml_parse(const char *text, size_t len, char *why, size_t whylen)
{
	struct fy_diag_cfg dc;
	struct fy_diag *diag;
	json_t *root = NULL;

	fy_diag_cfg_default(&dc);
	dc.fp = NULL;
	diag = fy_diag_create(&dc);
	if (!diag) {
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	fy_diag_set_collect_errors(diag, true);
	struct fy_parse_cfg cfg = { .flags = FYPCF_QUIET | FYPCF_RESOLVE_DOCUMENT, .diag = diag };
	struct fy_document *d = fy_document_build_from_string(&cfg, text, len);
	if (!d) {
		void *it = NULL;
		struct fy_diag_error *e = fy_diag_errors_iterate(diag, &it);
		snprintf(why, whylen, "yaml: line %d: %s", e ? e->line + 1 : 0,
			 e && e->msg ? e->msg : "cannot be parsed");
	} else {
		root = node_json(fy_document_root(d), why, whylen);
		if (root && !json_is_object(root)) {
			json_decref(root);
			root = NULL;
			snprintf(why, whylen, "top-level object must be a mapping");
		}
		fy_document_destroy(d);
	}
	fy_diag_destroy(diag);
	return root;
}

/* ---- interpolation (cli/compose/template) ---------------------------------------- */

static void unset_add(json_t *unset, const char *name)
{
	size_t i;
	json_t *v;

	if (!unset)
		return;
	json_array_foreach(unset, i, v)
		if (!strcmp(json_string_value(v), name))
			return;
	json_array_append_new(unset, json_string(name));
}

static bool name_start(char c)
{
	return c == '_' || isalpha((unsigned char)c);
}

static bool name_char(char c)
{
	return c == '_' || isalnum((unsigned char)c);
}

/* One substitution (the text between ${ and }, or after $): appends its
 * value to out. */
static int substitute(const char *sub, size_t len, json_t *vars, json_t *unset, struct buf *out,
		      char *why, size_t whylen)
{
	char name[256];
	size_t n = 0;

	while (n < len && name_char(sub[n]))
		n++;
	if (n >= sizeof(name)) {
		snprintf(why, whylen, "Invalid template: a variable name is too long");
		return -EINVAL;
	}
	memcpy(name, sub, n);
	name[n] = '\0';
	const char *rest = sub + n;
	size_t rl = len - n;
	json_t *v = json_object_get(vars, name);
	const char *value = json_string_value(v);
	bool colon = rl > 0 && rest[0] == ':';
	char op = rl > (size_t)colon ? rest[colon] : 0;
	const char *arg = rest + colon + 1;
	size_t al = rl > (size_t)colon ? rl - colon - 1 : 0;

	if (op == '-') {
		if (!value || (colon && !*value))
			buf_append(out, arg, al);
		else
			buf_puts(out, value);
		return 0;
	}
	if (op == '?') {
		if (!value || (colon && !*value)) {
			snprintf(why, whylen,
				 "Invalid template: \"required variable %s is missing a value: %.*s\"",
				 name, (int)al, arg);
			return -EINVAL;
		}
		buf_puts(out, value);
		return 0;
	}
	if (!value)
		unset_add(unset, name);
	buf_puts(out, value ? value : "");
	return 0;
}

int compose_interpolate(const char *in, json_t *vars, json_t *unset, char **out, char *why,
			size_t whylen)
{
	struct buf b = BUF_INIT;
	const char *p = in;

	*out = NULL;
	while (*p) {
		const char *dollar = strchr(p, '$');
		if (!dollar) {
			buf_puts(&b, p);
			break;
		}
		buf_append(&b, p, (size_t)(dollar - p));
		const char *s = dollar + 1;
		int err = 0;
		if (*s == '$') {
			buf_puts(&b, "$");
			p = s + 1;
			continue;
		}
		/* The CLI's pattern: a name, then an optional [:][-?] and any
		 * text up to a '}' (the end of the string when unbraced). */
		bool braced = *s == '{';
		const char *start = braced ? s + 1 : s;
		const char *e = start;
		if (!name_start(*e)) {
			snprintf(why, whylen, "Invalid template: \"%s\"", in);
			buf_free(&b);
			return -EINVAL;
		}
		while (name_char(*e))
			e++;
		const char *q = e;
		if (*q == ':' && (q[1] == '-' || q[1] == '?'))
			q++;
		if (*q == '-' || *q == '?') {
			q++;
			while (*q && *q != '}')
				q++;
			e = q;
		}
		if (braced) {
			if (*e != '}') {
				snprintf(why, whylen, "Invalid template: \"%s\"", in);
				buf_free(&b);
				return -EINVAL;
			}
			err = substitute(start, (size_t)(e - start), vars, unset, &b, why, whylen);
			p = e + 1;
		} else {
			err = substitute(start, (size_t)(e - start), vars, unset, &b, why, whylen);
			p = e;
		}
		if (err) {
			buf_free(&b);
			return err;
		}
	}
	*out = b.data ? b.data : strdup("");
	if (!*out)
		abort();
	return 0;
}

static int interpolate_tree(json_t *v, json_t *vars, json_t *unset, const char *path, char *why,
			    size_t whylen)
{
	if (json_is_string(v)) {
		char *s;
		if (!strchr(json_string_value(v), '$'))
			return 0;
		if (compose_interpolate(json_string_value(v), vars, unset, &s, why, whylen)) {
			char inner[384];
			snprintf(inner, sizeof(inner), "%s", why);
			snprintf(why, whylen, "%s: %s", path, inner);
			return -EINVAL;
		}
		json_string_set(v, s);
		free(s);
		return 0;
	}
	if (json_is_object(v)) {
		const char *k;
		json_t *c;
		json_object_foreach(v, k, c) {
			char sub[512];
			snprintf(sub, sizeof(sub), "%s%s%s", path, *path ? "." : "", k);
			if (interpolate_tree(c, vars, unset, sub, why, whylen))
				return -EINVAL;
		}
	} else if (json_is_array(v)) {
		size_t i;
		json_t *c;
		json_array_foreach(v, i, c)
			if (interpolate_tree(c, vars, unset, path, why, whylen))
				return -EINVAL;
	}
	return 0;
}

/* ---- env files ---------------------------------------------------------------------- */

int compose_env_parse(const char *data, size_t len, bool dotenv, json_t *lookup, json_t *out,
		      char *why, size_t whylen)
{
	size_t pos = 0;
	int lineno = 0;

	if (len >= 3 && !memcmp(data, "\xEF\xBB\xBF", 3))
		pos = 3;
	while (pos < len) {
		const char *line = data + pos, *nl = memchr(line, '\n', len - pos);
		size_t ll = nl ? (size_t)(nl - line) : len - pos;
		pos += ll + (nl ? 1 : 0);
		lineno++;
		if (ll && line[ll - 1] == '\r')
			ll--;
		while (ll && isspace((unsigned char)*line)) {
			line++;
			ll--;
		}
		if (!ll || *line == '#')
			continue;
		if (memchr(line, '\0', ll)) {
			snprintf(why, whylen, "a NUL byte on line %d", lineno);
			return -EINVAL;
		}
		const char *eq = memchr(line, '=', ll);
		size_t kl = eq ? (size_t)(eq - line) : ll;
		if (!kl) {
			snprintf(why, whylen, "no variable name on line '%.*s'", (int)ll, line);
			return -EINVAL;
		}
		char *key = strndup(line, kl);
		if (!key)
			abort();
		if (strpbrk(key, " \t")) {
			snprintf(why, whylen, "variable '%s' contains whitespaces", key);
			free(key);
			return -EINVAL;
		}
		if (eq) {
			const char *v = eq + 1;
			size_t vl = ll - kl - 1;
			if (dotenv && vl >= 2 && (v[0] == '"' || v[0] == '\'') && v[vl - 1] == v[0]) {
				v++;
				vl -= 2;
			}
			json_t *s = json_stringn(v, vl);
			if (!s) {
				snprintf(why, whylen, "invalid utf8 bytes at line %d", lineno);
				free(key);
				return -EINVAL;
			}
			json_object_set_new(out, key, s);
		} else if (json_is_string(json_object_get(lookup, key))) {
			json_object_set(out, key, json_object_get(lookup, key));
		}
		free(key);
	}
	return 0;
}

/* ---- scalar readers ----------------------------------------------------------------- */

/* Go's strconv.ParseInt(s, 0, 64), as yaml.v3 reads a plain integer. */
static bool parse_int(const char *s, long long *out)
{
	char buf[64], *end;
	size_t k = 0;
	int base = 10;

	if (!s || !*s)
		return false;
	for (const char *p = s; *p && k + 1 < sizeof(buf); p++)
		if (*p != '_')
			buf[k++] = *p;
	buf[k] = '\0';
	const char *d = buf;
	bool neg = false;
	if (*d == '+' || *d == '-')
		neg = *d++ == '-';
	if (d[0] == '0' && (d[1] == 'x' || d[1] == 'X'))
		base = 16, d += 2;
	else if (d[0] == '0' && (d[1] == 'o' || d[1] == 'O'))
		base = 8, d += 2;
	else if (d[0] == '0' && (d[1] == 'b' || d[1] == 'B'))
		base = 2, d += 2;
	else if (d[0] == '0' && d[1])
		base = 8, d += 1;
	if (!*d)
		return false;
	errno = 0;
	long long v = strtoll(d, &end, base);
	if (*end || errno)
		return false;
	*out = neg ? -v : v;
	return true;
}

static bool parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "true", "True", "TRUE", "yes", "Yes", "YES", "y", "Y",
					   "on", "On", "ON", NULL };
	static const char *const no[] = { "false", "False", "FALSE", "no", "No", "NO", "n", "N",
					  "off", "Off", "OFF", NULL };

	for (int i = 0; yes[i]; i++)
		if (!strcmp(s, yes[i]))
			return *out = true, true;
	for (int i = 0; no[i]; i++)
		if (!strcmp(s, no[i]))
			return *out = false, true;
	return false;
}

int compose_duration(const char *s, long long *ns)
{
	static const struct {
		const char *unit;
		long double mult;
	} units[] = {
		{ "ns", 1 }, { "us", 1e3 }, { "\xc2\xb5s", 1e3 }, { "\xce\xbcs", 1e3 }, { "ms", 1e6 },
		{ "s", 1e9 }, { "m", 60e9 }, { "h", 3600e9 },
	};
	long double total = 0;
	bool neg = false;
	const char *p = s;

	if (!s || !*s)
		return -EINVAL;
	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	if (!strcmp(p, "0")) {
		*ns = 0;
		return 0;
	}
	if (!*p)
		return -EINVAL;
	while (*p) {
		char *end;
		if (!isdigit((unsigned char)*p) && *p != '.')
			return -EINVAL;
		long double v = strtold(p, &end);
		if (end == p)
			return -EINVAL;
		p = end;
		size_t best = 0, bl = 0;
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			size_t ul = strlen(units[i].unit);
			if (!strncmp(p, units[i].unit, ul) && ul > bl) {
				best = i;
				bl = ul;
			}
		}
		if (!bl)
			return -EINVAL;
		p += bl;
		total += v * units[best].mult;
	}
	if (total > 9.2e18L)
		return -EINVAL;
	*ns = (long long)(total + 0.5L);
	if (neg)
		*ns = -*ns;
	return 0;
}

/* go-units RAMInBytes: "512m", "1.5G", "1024" (binary multiples). */
static bool parse_ram(const char *s, long long *out)
{
	char *end;
	double v = strtod(s, &end);
	double mult = 1;

	if (end == s || v < 0)
		return false;
	if (*end == ' ')
		end++;
	switch (tolower((unsigned char)*end)) {
	case 'k': mult = 1024.0; end++; break;
	case 'm': mult = 1024.0 * 1024; end++; break;
	case 'g': mult = 1024.0 * 1024 * 1024; end++; break;
	case 't': mult = 1024.0 * 1024 * 1024 * 1024; end++; break;
	case 'p': mult = 1024.0 * 1024 * 1024 * 1024 * 1024; end++; break;
	}
	if (mult > 1 && tolower((unsigned char)*end) == 'i')
		end++;
	if (tolower((unsigned char)*end) == 'b')
		end++;
	if (*end)
		return false;
	*out = (long long)(v * mult);
	return true;
}

/* opts.ParseCPUs: a decimal count of CPUs into nano CPUs, exactly. */
static bool parse_cpus(const char *s, long long *out)
{
	long long whole = 0, frac = 0, scale = NS_PER_SEC;
	const char *p = s;

	if (!*p)
		return false;
	while (isdigit((unsigned char)*p))
		whole = whole * 10 + (*p++ - '0');
	if (*p == '.') {
		p++;
		while (isdigit((unsigned char)*p)) {
			scale /= 10;
			if (!scale)
				return false; /* "value is too precise" */
			frac += (*p++ - '0') * scale;
		}
	}
	if (*p || p == s)
		return false;
	*out = whole * NS_PER_SEC + frac;
	return true;
}

/* ---- field readers ------------------------------------------------------------------- */

static const char *kind_name(json_t *v)
{
	return json_is_object(v) ? "a mapping" : json_is_array(v) ? "a list" : "null";
}

/* A scalar's text: 0 and *out (NULL when absent or null), or an error. */
static int get_str(struct cx *x, json_t *o, const char *key, const char *path, const char **out)
{
	json_t *v = json_object_get(o, key);

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return fail(x, "%s.%s must be a string, not %s", path, key, kind_name(v));
	*out = json_string_value(v);
	return 0;
}

static int get_int(struct cx *x, json_t *o, const char *key, const char *path, long long *out,
		   bool *set)
{
	const char *s;
	int err = get_str(x, o, key, path, &s);

	*set = false;
	if (err || !s)
		return err;
	if (!parse_int(s, out))
		return fail(x, "%s.%s must be an integer, not \"%s\"", path, key, s);
	*set = true;
	return 0;
}

static int get_bool(struct cx *x, json_t *o, const char *key, const char *path, bool *out,
		    bool *set)
{
	const char *s;
	int err = get_str(x, o, key, path, &s);

	if (set)
		*set = false;
	*out = false;
	if (err || !s)
		return err;
	if (!parse_bool(s, out))
		return fail(x, "%s.%s must be a boolean, not \"%s\"", path, key, s);
	if (set)
		*set = true;
	return 0;
}

static int get_dur(struct cx *x, json_t *o, const char *key, const char *path, long long *ns,
		   bool *set)
{
	const char *s;
	int err = get_str(x, o, key, path, &s);

	*set = false;
	if (err || !s)
		return err;
	if (compose_duration(s, ns))
		return fail(x, "%s.%s: time: invalid duration \"%s\"", path, key, s);
	*set = true;
	return 0;
}

/* A string or a list of strings, as a new array (NULL when absent). */
static int get_strs(struct cx *x, json_t *o, const char *key, const char *path, json_t **out)
{
	json_t *v = json_object_get(o, key), *e;
	size_t i;

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (json_is_string(v)) {
		*out = json_pack("[O]", v);
		return 0;
	}
	if (!json_is_array(v))
		return fail(x, "%s.%s must be a string or a list", path, key);
	json_array_foreach(v, i, e)
		if (!json_is_string(e))
			return fail(x, "%s.%s[%zu] must be a string", path, key, i);
	*out = json_copy(v);
	return 0;
}

/* A list or a mapping of KEY=VALUE: a new object (values strings, or null
 * when allow_nil and no value was given). */
static int get_mapping(struct cx *x, json_t *o, const char *key, const char *path, char sep,
		       bool allow_nil, json_t **out)
{
	json_t *v = json_object_get(o, key), *e;
	const char *k;
	size_t i;

	*out = json_object();
	if (!v || json_is_null(v))
		return 0;
	if (json_is_object(v)) {
		json_object_foreach(v, k, e) {
			if (json_is_null(e))
				json_object_set_new(*out, k, allow_nil ? json_null() : json_string(""));
			else if (json_is_string(e))
				json_object_set(*out, k, e);
			else
				return fail(x, "%s.%s.%s must be a string, number, boolean or null", path,
					    key, k);
		}
		return 0;
	}
	if (!json_is_array(v))
		return fail(x, "%s.%s must be a mapping or a list", path, key);
	json_array_foreach(v, i, e) {
		if (!json_is_string(e))
			return fail(x, "%s.%s[%zu] must be a string", path, key, i);
		const char *s = json_string_value(e), *c = strchr(s, sep);
		char *name = strndup(s, c ? (size_t)(c - s) : strlen(s));
		if (!name)
			abort();
		if (c)
			json_object_set_new(*out, name, json_string(c + 1));
		else
			json_object_set_new(*out, name, allow_nil ? json_null() : json_string(""));
		free(name);
	}
	return 0;
}

/* Labels: the mapping with the stack's label added. */
static int get_labels(struct cx *x, json_t *o, const char *key, const char *path, json_t **out)
{
	int err = get_mapping(x, o, key, path, '=', false, out);

	if (!err)
		json_object_set_new(*out, COMPOSE_LABEL_NAMESPACE, json_string(x->stack));
	return err;
}

/* The keys a mapping may have (x- extensions aside), as the schema says. */
static int check_keys(struct cx *x, json_t *o, const char *path, const char *const *allowed,
		      bool extensions)
{
	const char *k;
	json_t *v;

	if (!json_is_object(o))
		return fail(x, "%s must be a mapping", path);
	json_object_foreach(o, k, v) {
		bool ok = extensions && !strncmp(k, "x-", 2);
		for (size_t i = 0; allowed[i] && !ok; i++)
			ok = !strcmp(k, allowed[i]);
		if (!ok)
			return fail(x, "%s Additional property %s is not allowed", path, k);
	}
	return 0;
}

static json_t *obj_or_null(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_object(v) ? v : NULL;
}

/* ---- the schema ---------------------------------------------------------------------- */

static const char *const top_keys[] = { "version", "services", "networks", "volumes", "secrets",
					"configs", NULL };

static const char *const service_keys[] = {
	"build", "cap_add", "cap_drop", "cgroup_parent", "cgroupns_mode", "command", "configs",
	"container_name", "credential_spec", "depends_on", "deploy", "devices", "dns",
	"dns_search", "domainname", "entrypoint", "env_file", "environment", "expose",
	"external_links", "extra_hosts", "healthcheck", "hostname", "image", "init", "ipc",
	"isolation", "labels", "links", "logging", "mac_address", "network_mode", "networks",
	"oom_score_adj", "pid", "ports", "privileged", "read_only", "restart", "secrets",
	"security_opt", "shm_size", "stdin_open", "stop_grace_period", "stop_signal", "sysctls",
	"tmpfs", "tty", "ulimits", "user", "userns_mode", "volumes", "working_dir",
	/* forbidden: refused by name below, with the CLI's reason */
	"extends", "volume_driver", "volumes_from", "cpu_quota", "cpu_shares", "cpuset",
	"mem_limit", "memswap_limit", NULL,
};

static const char *const unsupported_keys[] = {
	"build", "cgroupns_mode", "cgroup_parent", "devices", "domainname", "external_links",
	"ipc", "links", "mac_address", "network_mode", "pid", "privileged", "restart",
	"security_opt", "shm_size", "userns_mode", NULL,
};

/* Of those, what asks for root on the nodes: an operator's file is refused
 * for them even though the CLI would drop them. */
static const char *const admin_keys[] = {
	"cgroupns_mode", "cgroup_parent", "devices", "ipc", "network_mode", "pid", "privileged",
	"security_opt", "userns_mode", NULL,
};

static const struct {
	const char *key, *why;
} forbidden[] = {
	{ "extends", "Support for `extends` is not implemented yet." },
	{ "volume_driver", "Instead of setting the volume driver on the service, define a volume "
			   "using the top-level `volumes` option and specify the driver there." },
	{ "volumes_from", "To share a volume between services, define it using the top-level "
			  "`volumes` option and reference it from each service that shares it "
			  "using the service-level `volumes` option." },
	{ "cpu_quota", "Set resource limits using deploy.resources" },
	{ "cpu_shares", "Set resource limits using deploy.resources" },
	{ "cpuset", "Set resource limits using deploy.resources" },
	{ "mem_limit", "Set resource limits using deploy.resources" },
	{ "memswap_limit", "Set resource limits using deploy.resources" },
};

static const char *const deploy_keys[] = { "endpoint_mode", "labels", "mode", "placement",
					   "replicas", "resources", "restart_policy",
					   "rollback_config", "update_config", NULL };
static const char *const placement_keys[] = { "constraints", "preferences",
					      "max_replicas_per_node", NULL };
static const char *const resources_keys[] = { "limits", "reservations", NULL };
static const char *const limits_keys[] = { "cpus", "memory", "pids", NULL };
static const char *const reservations_keys[] = { "cpus", "memory", "generic_resources", NULL };
static const char *const restart_keys[] = { "condition", "delay", "max_attempts", "window",
					    NULL };
static const char *const update_keys[] = { "parallelism", "delay", "failure_action", "monitor",
					   "max_failure_ratio", "order", NULL };
static const char *const healthcheck_keys[] = { "disable", "interval", "retries",
						"start_interval", "start_period", "test",
						"timeout", NULL };
static const char *const port_keys[] = { "mode", "host_ip", "target", "published", "protocol",
					 NULL };
static const char *const mount_keys[] = { "type", "source", "target", "read_only",
					  "consistency", "bind", "volume", "tmpfs", NULL };
static const char *const network_keys[] = { "attachable", "driver", "driver_opts", "external",
					    "internal", "ipam", "labels", "name", NULL };
static const char *const volume_keys[] = { "driver", "driver_opts", "external", "labels",
					   "name", "x-cluster-spec", NULL };
static const char *const secret_keys[] = { "driver", "driver_opts", "external", "file",
					   "labels", "name", "template_driver", NULL };
static const char *const config_keys[] = { "external", "file", "labels", "name",
					   "template_driver", NULL };
static const char *const ref_keys[] = { "source", "target", "uid", "gid", "mode", NULL };
static const char *const credential_spec_keys[] = { "config", "file", "registry", NULL };
static const char *const logging_keys[] = { "driver", "options", NULL };
static const char *const svc_net_keys[] = { "aliases", "ipv4_address", "ipv6_address",
					    "driver_opts", NULL };

static bool in_list(const char *const *list, const char *s)
{
	for (size_t i = 0; list[i]; i++)
		if (!strcmp(list[i], s))
			return true;
	return false;
}

/* external: true | false | {name: N} (old form). */
static int get_external(struct cx *x, json_t *o, const char *path, bool *ext, const char **name)
{
	json_t *v = json_object_get(o, "external");

	*ext = false;
	*name = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (json_is_object(v)) {
		*ext = true;
		return get_str(x, v, "name", path, name);
	}
	return get_bool(x, o, "external", path, ext, NULL);
}

/* ---- top-level objects ----------------------------------------------------------------- */

/* The name an object of the file gets: name:, or <stack>_<key>; for an
 * external one name: (or external.name), else the key itself. */
static int object_name(struct cx *x, json_t *def, const char *key, const char *path,
		       const char *kind, char *out, size_t len, bool *external)
{
	const char *name, *ext_name;
	int err = get_str(x, def, "name", path, &name);

	if (!err)
		err = get_external(x, def, path, external, &ext_name);
	if (err)
		return err;
	if (*external && ext_name) {
		if (name)
			return fail(x, "%s %s: %s.external.name and %s.name conflict; only use %s.name",
				    kind, key, kind, kind, kind);
		name = ext_name;
	}
	if (name)
		snprintf(out, len, "%s", name);
	else if (*external)
		snprintf(out, len, "%s", key);
	else
		scoped(x, key, out, len);
	return 0;
}

static int load_networks(struct cx *x, json_t *root, json_t *used)
{
	json_t *nets = obj_or_null(root, "networks"), *def;
	const char *key;

	json_object_foreach(used, key, def) {
		json_t *n = json_object_get(nets, key);
		char path[320], name[512];
		bool external;
		int err;

		snprintf(path, sizeof(path), "networks.%s", key);
		if (!n && strcmp(key, "default"))
			continue; /* refused where a service names it */
		if (n && !json_is_null(n) && (err = check_keys(x, n, path, network_keys, true)))
			return err;
		if (n && json_is_null(n))
			n = NULL;
		if ((err = object_name(x, n, key, path, "network", name, sizeof(name), &external)))
			return err;
		if (external) {
			json_array_append_new(x->plan->external_networks, json_string(name));
			continue;
		}
		const char *driver;
		json_t *labels, *opts;
		bool attachable, internal;
		if ((err = get_str(x, n, "driver", path, &driver)) ||
		    (err = get_labels(x, n, "labels", path, &labels)))
			return err;
		json_t *body = json_pack("{s:s, s:s, s:o}", "Name", name, "Driver",
					 driver && *driver ? driver : "overlay", "Labels", labels);
		if ((err = get_mapping(x, n, "driver_opts", path, '=', false, &opts))) {
			json_decref(body);
			return err;
		}
		if (json_object_size(opts))
			json_object_set_new(body, "Options", opts);
		else
			json_decref(opts);
		if ((err = get_bool(x, n, "attachable", path, &attachable, NULL)) ||
		    (err = get_bool(x, n, "internal", path, &internal, NULL))) {
			json_decref(body);
			return err;
		}
		if (attachable)
			json_object_set_new(body, "Attachable", json_true());
		if (internal)
			json_object_set_new(body, "Internal", json_true());
		json_t *ipam = obj_or_null(n, "ipam");
		if (ipam) {
			const char *idrv;
			json_t *ib = json_object(), *pool;
			size_t i;
			if (get_str(x, ipam, "driver", path, &idrv)) {
				json_decref(ib);
				json_decref(body);
				return -EINVAL;
			}
			if (idrv)
				json_object_set_new(ib, "Driver", json_string(idrv));
			json_t *cfg = json_object_get(ipam, "config");
			if (json_array_size(cfg)) {
				json_t *list = json_array();
				json_array_foreach(cfg, i, pool) {
					const char *subnet = json_string_value(json_object_get(pool, "subnet"));
					json_array_append_new(list, subnet ? json_pack("{s:s}", "Subnet", subnet)
									   : json_object());
				}
				json_object_set_new(ib, "Config", list);
			}
			json_object_set_new(body, "IPAM", ib);
		}
		json_object_set_new(x->plan->networks, name, body);
	}
	return 0;
}

static int load_objects(struct cx *x, json_t *root, const char *section, bool secret)
{
	json_t *defs = obj_or_null(root, section), *def;
	const char *key;
	const char *kind = secret ? "secret" : "config";

	if (json_object_get(root, section) && !defs && !json_is_null(json_object_get(root, section)))
		return fail(x, "%s must be a mapping", section);
	json_object_foreach(defs, key, def) {
		char path[320], name[512];
		bool external;
		int err;

		snprintf(path, sizeof(path), "%s.%s", section, key);
		if ((err = check_keys(x, def, path, secret ? secret_keys : config_keys, true)) ||
		    (err = object_name(x, def, key, path, kind, name, sizeof(name), &external)))
			return err;
		if (external)
			continue;
		const char *file, *driver, *tdriver;
		json_t *labels;
		if ((err = get_str(x, def, "file", path, &file)) ||
		    (err = get_str(x, def, "driver", path, &driver)) ||
		    (err = get_str(x, def, "template_driver", path, &tdriver)))
			return err;
		if (driver && file)
			return fail(x, "%s %s: %s.driver and %s.file conflict; only use %s.driver", kind,
				    key, kind, kind, kind);
		if ((err = get_labels(x, def, "labels", path, &labels)))
			return err;
		json_t *spec = json_pack("{s:s, s:o}", "Name", name, "Labels", labels);
		if (tdriver)
			json_object_set_new(spec, "Templating", json_pack("{s:s}", "Name", tdriver));
		if (driver) {
			json_t *opts;
			if ((err = get_mapping(x, def, "driver_opts", path, '=', false, &opts))) {
				json_decref(spec);
				return err;
			}
			json_object_set_new(spec, "Driver", json_pack("{s:s, s:o}", "Name", driver,
								      "Options", opts));
			json_object_set_new(spec, "Data", json_string(""));
		} else {
			const char *data;
			size_t len;
			const char *f = file ? file : "";
			if (f[0] == '.' && f[1] == '/')
				f += 2;
			if (!*f || strchr(f, '/'))
				return fail(x, "%s: file: %s: dockfs reads only the files copied into the "
					    "stack directory (a name there, or ./NAME)", path,
					    file ? file : "(none)");
			if (x->files && x->files->get(x->files->arg, f, &data, &len) == 0) {
				char *b64 = malloc(sodium_base64_ENCODED_LEN(len,
							sodium_base64_VARIANT_ORIGINAL));
				if (!b64)
					abort();
				sodium_bin2base64(b64, sodium_base64_ENCODED_LEN(len,
						  sodium_base64_VARIANT_ORIGINAL),
						  (const unsigned char *)data, len,
						  sodium_base64_VARIANT_ORIGINAL);
				json_object_set_new(spec, "Data", json_string(b64));
				sodium_memzero(b64, strlen(b64));
				free(b64);
			} else {
				json_array_append_new(x->plan->missing,
						      json_pack("{s:s, s:s, s:s}", "kind", kind, "file", f,
								"name", name));
			}
		}
		json_array_append_new(secret ? x->plan->secrets : x->plan->configs, spec);
	}
	return 0;
}

/* ---- services ---------------------------------------------------------------------------- */

/* A list of strings from a string (split as a shell does) or a list. */
static int get_command(struct cx *x, json_t *o, const char *key, const char *path, json_t **out)
{
	json_t *v = json_object_get(o, key);

	*out = NULL;
	if (json_is_string(v)) {
		struct argv a;
		const char *s = json_string_value(v);
		if (cmdline_split(s, strlen(s), &a))
			return fail(x, "%s.%s: unbalanced quotes", path, key);
		*out = json_array();
		for (int i = 0; i < a.n; i++)
			json_array_append_new(*out, json_string(a.v[i]));
		argv_free(&a);
		return 0;
	}
	return get_strs(x, o, key, path, out);
}

static void set_nonempty(json_t *o, const char *key, json_t *v)
{
	if (v && ((json_is_array(v) && json_array_size(v)) ||
		  (json_is_object(v) && json_object_size(v)) ||
		  (json_is_string(v) && *json_string_value(v))))
		json_object_set_new(o, key, v);
	else
		json_decref(v);
}

static int convert_environment(struct cx *x, json_t *svc, const char *path, json_t *cs)
{
	json_t *env = json_object(), *files, *f, *v;
	const char *k;
	size_t i;
	int err;

	if ((err = get_strs(x, svc, "env_file", path, &files)))
		goto out;
	json_array_foreach(files, i, f) {
		const char *name = json_string_value(f), *data;
		size_t len;
		json_t *vars = json_object();
		char why[256];

		if (name[0] == '.' && name[1] == '/')
			name += 2;
		if (!*name || strchr(name, '/')) {
			json_decref(vars);
			err = fail(x, "%s.env_file: %s: dockfs reads only the files copied into the "
				   "stack directory (a name there, or ./NAME)", path,
				   json_string_value(f));
			break;
		}
		if (!x->files || x->files->get(x->files->arg, name, &data, &len)) {
			json_array_append_new(x->plan->missing,
					      json_pack("{s:s, s:s, s:s}", "kind", "env_file", "file",
							name, "name", path));
			json_decref(vars);
			continue;
		}
		if (compose_env_parse(data, len, false, x->vars, vars, why, sizeof(why))) {
			json_decref(vars);
			err = fail(x, "invalid env file (%s): %s", name, why);
			break;
		}
		/* updateEnvironment: the .env's value for an empty one */
		json_object_foreach(vars, k, v) {
			json_t *lv = json_object_get(x->vars, k);
			if (!*json_string_value(v) && json_is_string(lv))
				json_object_set(env, k, lv);
			else
				json_object_set(env, k, v);
		}
		json_decref(vars);
	}
	json_decref(files);
	if (err)
		goto out;
	json_t *given;
	if ((err = get_mapping(x, svc, "environment", path, '=', true, &given)))
		goto out;
	json_object_foreach(given, k, v) {
		json_t *lv = json_object_get(x->vars, k);
		if ((json_is_null(v) || !*json_string_value(v)) && json_is_string(lv))
			json_object_set(env, k, lv);
		else
			json_object_set(env, k, v);
	}
	json_decref(given);
	/* "K=V" (or "K" for no value), sorted */
	const char **keys = calloc(json_object_size(env) + 1, sizeof(*keys));
	size_t n = 0;
	if (!keys)
		abort();
	json_t *list = json_array();
	char **lines = calloc(json_object_size(env) + 1, sizeof(*lines));
	if (!lines)
		abort();
	json_object_foreach(env, k, v) {
		if (json_is_null(v)) {
			lines[n] = strdup(k);
		} else if (asprintf(&lines[n], "%s=%s", k, json_string_value(v)) < 0) {
			lines[n] = NULL;
		}
		if (!lines[n])
			abort();
		n++;
	}
	for (size_t a = 1; a < n; a++)
		for (size_t b = a; b > 0 && strcmp(lines[b - 1], lines[b]) > 0; b--) {
			char *t = lines[b];
			lines[b] = lines[b - 1];
			lines[b - 1] = t;
		}
	for (size_t a = 0; a < n; a++) {
		json_array_append_new(list, json_string(lines[a]));
		free(lines[a]);
	}
	free(lines);
	free(keys);
	set_nonempty(cs, "Env", list);
out:
	json_decref(env);
	return err;
}

static int port_range(const char *s, long long *lo, long long *hi)
{
	const char *dash = strchr(s, '-');
	char a[32];

	if (!dash) {
		if (!parse_int(s, lo) || *lo < 0 || *lo > 65535)
			return -EINVAL;
		*hi = *lo;
		return 0;
	}
	snprintf(a, sizeof(a), "%.*s", (int)(dash - s), s);
	if (!parse_int(a, lo) || !parse_int(dash + 1, hi) || *lo < 0 || *hi > 65535 || *hi < *lo)
		return -EINVAL;
	return 0;
}

static void add_port(json_t *ports, const char *proto, long long target, long long published,
		     const char *mode)
{
	json_t *p = json_pack("{s:s, s:I}", "Protocol", proto, "TargetPort", (json_int_t)target);

	if (published)
		json_object_set_new(p, "PublishedPort", json_integer(published));
	json_object_set_new(p, "PublishMode", json_string(mode));
	json_array_append_new(ports, p);
}

/* [ip:][published[-end]:]target[-end][/proto] */
static int short_port(struct cx *x, const char *spec, const char *path, json_t *ports)
{
	char buf[128], proto[16] = "tcp";
	char *parts[3];
	int n = 0;
	long long tlo, thi, plo = 0, phi = 0;

	snprintf(buf, sizeof(buf), "%s", spec);
	char *slash = strrchr(buf, '/');
	if (slash) {
		*slash = '\0';
		snprintf(proto, sizeof(proto), "%s", slash + 1);
		if (strcmp(proto, "tcp") && strcmp(proto, "udp") && strcmp(proto, "sctp"))
			return fail(x, "%s: invalid proto: %s", path, proto);
	}
	/* an [ipv6] host part */
	char *rest = buf;
	if (*rest == '[') {
		char *close = strchr(rest, ']');
		if (!close || close[1] != ':')
			return fail(x, "%s: invalid port spec %s", path, spec);
		rest = close + 2;
		parts[n++] = NULL;
	}
	for (char *tok = rest; tok && n < 3;) {
		char *c = strchr(tok, ':');
		if (c)
			*c = '\0';
		parts[n++] = tok;
		tok = c ? c + 1 : NULL;
		if (tok && n == 3)
			return fail(x, "%s: invalid port spec %s", path, spec);
	}
	const char *target = parts[n - 1];
	const char *published = n >= 2 ? parts[n - 2] : NULL;
	if (port_range(target, &tlo, &thi))
		return fail(x, "%s: invalid containerPort: %s", path, target);
	if (published && *published && port_range(published, &plo, &phi))
		return fail(x, "%s: invalid hostPort: %s", path, published);
	if (published && *published && phi - plo != thi - tlo && plo != phi)
		return fail(x, "%s: invalid ranges specified for container and host Ports: %s and %s",
			    path, target, published);
	for (long long t = tlo; t <= thi; t++) {
		long long pub = 0;
		if (published && *published)
			pub = plo == phi ? plo : plo + (t - tlo);
		add_port(ports, proto, t, pub, "ingress");
	}
	return 0;
}

static int convert_ports(struct cx *x, json_t *svc, const char *path, json_t *deploy,
			 json_t **endpoint)
{
	json_t *list = json_object_get(svc, "ports"), *e, *ports = json_array();
	const char *mode;
	size_t i;
	int err = 0;

	if (list && !json_is_array(list) && !json_is_null(list)) {
		json_decref(ports);
		return fail(x, "%s.ports must be a list", path);
	}
	json_array_foreach(list, i, e) {
		char p[320];
		snprintf(p, sizeof(p), "%s.ports[%zu]", path, i);
		if (json_is_string(e)) {
			err = short_port(x, json_string_value(e), p, ports);
		} else if (json_is_object(e)) {
			long long target, published = 0;
			bool tset, pset;
			const char *proto, *pmode;
			if ((err = check_keys(x, e, p, port_keys, true)) ||
			    (err = get_int(x, e, "target", p, &target, &tset)) ||
			    (err = get_int(x, e, "published", p, &published, &pset)) ||
			    (err = get_str(x, e, "protocol", p, &proto)) ||
			    (err = get_str(x, e, "mode", p, &pmode)))
				break;
			json_t *port = json_object();
			if (proto && *proto)
				json_object_set_new(port, "Protocol", json_string(proto));
			json_object_set_new(port, "TargetPort", json_integer(tset ? target : 0));
			if (published)
				json_object_set_new(port, "PublishedPort", json_integer(published));
			if (pmode && *pmode)
				json_object_set_new(port, "PublishMode", json_string(pmode));
			json_array_append_new(ports, port);
		} else {
			err = fail(x, "%s: invalid type for port", p);
		}
		if (err)
			break;
	}
	if (!err)
		err = get_str(x, deploy, "endpoint_mode", path, &mode);
	if (err) {
		json_decref(ports);
		return err;
	}
	/* v28.2 sorts by published port (a stable sort here) */
	size_t n = json_array_size(ports);
	for (size_t a = 1; a < n; a++)
		for (size_t b = a; b > 0; b--) {
			json_t *l = json_array_get(ports, b - 1), *r = json_array_get(ports, b);
			if (json_integer_value(json_object_get(l, "PublishedPort")) <=
			    json_integer_value(json_object_get(r, "PublishedPort")))
				break;
			json_incref(l);
			json_array_set(ports, b - 1, r);
			json_array_set_new(ports, b, l);
		}
	*endpoint = json_object();
	if (mode && *mode) {
		char lower[32];
		size_t k;
		for (k = 0; mode[k] && k + 1 < sizeof(lower); k++)
			lower[k] = (char)tolower((unsigned char)mode[k]);
		lower[k] = '\0';
		json_object_set_new(*endpoint, "Mode", json_string(lower));
	}
	set_nonempty(*endpoint, "Ports", ports);
	return 0;
}

static bool user_defined_network(const char *name)
{
	return strcmp(name, "default") && strcmp(name, "bridge") && strcmp(name, "host") &&
	       strcmp(name, "none") && strncmp(name, "container:", 10);
}

static int convert_service_networks(struct cx *x, json_t *root, json_t *svc, const char *svc_name,
				    const char *path, json_t **out)
{
	json_t *v = json_object_get(svc, "networks"), *nets = json_object(), *e;
	json_t *defs = obj_or_null(root, "networks");
	const char *k;
	size_t i;
	int err = 0;

	if (json_is_array(v)) {
		json_array_foreach(v, i, e) {
			if (!json_is_string(e)) {
				json_decref(nets);
				return fail(x, "%s.networks[%zu] must be a string", path, i);
			}
			json_object_set_new(nets, json_string_value(e), json_null());
		}
	} else if (json_is_object(v)) {
		json_object_update(nets, v);
	} else if (v && !json_is_null(v)) {
		json_decref(nets);
		return fail(x, "%s.networks must be a list or a mapping", path);
	}
	if (!json_object_size(nets))
		json_object_set_new(nets, "default", json_null());
	json_t *list = json_array();
	json_object_foreach(nets, k, e) {
		json_t *def = json_object_get(defs, k);
		char np[320], target[512];
		bool external;
		if (!json_object_get(defs, k) && strcmp(k, "default")) {
			err = fail(x, "service %s: undefined network \"%s\"", svc_name, k);
			break;
		}
		snprintf(np, sizeof(np), "%s.networks.%s", path, k);
		if (!json_is_null(e) && (err = check_keys(x, e, np, svc_net_keys, true)))
			break;
		if ((err = object_name(x, json_is_object(def) ? def : NULL, k, "networks", "network",
				       target, sizeof(target), &external)))
			break;
		json_t *att = json_pack("{s:s}", "Target", target), *aliases = NULL, *opts;
		if (json_is_object(e) && (err = get_strs(x, e, "aliases", np, &aliases))) {
			json_decref(att);
			break;
		}
		if (!aliases)
			aliases = json_array();
		if (user_defined_network(target))
			json_array_append_new(aliases, json_string(svc_name));
		set_nonempty(att, "Aliases", aliases);
		if (json_is_object(e)) {
			if ((err = get_mapping(x, e, "driver_opts", np, '=', false, &opts))) {
				json_decref(att);
				break;
			}
			set_nonempty(att, "DriverOpts", opts);
		}
		/* sorted by target */
		size_t at = json_array_size(list);
		while (at > 0 && strcmp(json_string_value(json_object_get(json_array_get(list, at - 1),
									 "Target")), target) > 0)
			at--;
		json_array_insert_new(list, at, att);
	}
	json_decref(nets);
	if (err) {
		json_decref(list);
		return err;
	}
	*out = list;
	return 0;
}

/* volumespec.Parse: [source:]target[:options] */
static int short_volume(struct cx *x, const char *spec, const char *path, json_t *m)
{
	char *parts[3] = { 0 };
	int n = 0;
	char *copy = strdup(spec), *tok = copy;

	if (!copy)
		abort();
	if (!*spec) {
		free(copy);
		return fail(x, "%s: invalid empty volume spec", path);
	}
	if (strlen(spec) <= 2) {
		json_object_set_new(m, "type", json_string("volume"));
		json_object_set_new(m, "target", json_string(spec));
		free(copy);
		return 0;
	}
	while (tok) {
		char *c = strchr(tok, ':');
		if (c)
			*c = '\0';
		if (!*tok || n == 3) {
			free(copy);
			return fail(x, "%s: invalid spec: %s: %s", path, spec,
				    *tok ? "too many colons" : "empty section between colons");
		}
		parts[n++] = tok;
		tok = c ? c + 1 : NULL;
	}
	const char *source = n >= 2 ? parts[0] : NULL, *target = n >= 2 ? parts[1] : parts[0];
	if (source)
		json_object_set_new(m, "source", json_string(source));
	json_object_set_new(m, "target", json_string(target));
	if (n == 3) {
		char *save, *opt;
		for (opt = strtok_r(parts[2], ",", &save); opt; opt = strtok_r(NULL, ",", &save)) {
			if (!strcmp(opt, "ro"))
				json_object_set_new(m, "read_only", json_string("true"));
			else if (!strcmp(opt, "rw"))
				json_object_set_new(m, "read_only", json_string("false"));
			else if (!strcmp(opt, "nocopy"))
				json_object_set_new(m, "volume", json_pack("{s:s}", "nocopy", "true"));
			else if (!strcmp(opt, "private") || !strcmp(opt, "rprivate") ||
				 !strcmp(opt, "shared") || !strcmp(opt, "rshared") ||
				 !strcmp(opt, "slave") || !strcmp(opt, "rslave"))
				json_object_set_new(m, "bind", json_pack("{s:s}", "propagation", opt));
		}
	}
	json_object_set_new(m, "type",
			    json_string(source && strchr("./~", source[0]) ? "bind" : "volume"));
	free(copy);
	return 0;
}

static int convert_mounts(struct cx *x, json_t *root, json_t *svc, const char *path, json_t **out)
{
	json_t *list = json_object_get(svc, "volumes"), *e;
	json_t *vols = obj_or_null(root, "volumes");
	json_t *mounts = json_array();
	size_t i;
	int err = 0;

	if (list && !json_is_array(list) && !json_is_null(list)) {
		json_decref(mounts);
		return fail(x, "%s.volumes must be a list", path);
	}
	json_array_foreach(list, i, e) {
		char p[320];
		json_t *m;
		snprintf(p, sizeof(p), "%s.volumes[%zu]", path, i);
		if (json_is_string(e)) {
			m = json_object();
			if ((err = short_volume(x, json_string_value(e), p, m))) {
				json_decref(m);
				break;
			}
		} else if (json_is_object(e)) {
			if ((err = check_keys(x, e, p, mount_keys, true)))
				break;
			m = json_copy(e);
		} else {
			err = fail(x, "%s: invalid type for service volume", p);
			break;
		}
		const char *type, *source, *target, *consistency;
		bool ro;
		json_t *mount = json_object();
		if ((err = get_str(x, m, "type", p, &type)) || (err = get_str(x, m, "source", p, &source)) ||
		    (err = get_str(x, m, "target", p, &target)) ||
		    (err = get_str(x, m, "consistency", p, &consistency)) ||
		    (err = get_bool(x, m, "read_only", p, &ro, NULL))) {
			json_decref(m);
			json_decref(mount);
			break;
		}
		if (!type)
			type = "volume";
		json_object_set_new(mount, "Type", json_string(type));
		if (target)
			json_object_set_new(mount, "Target", json_string(target));
		if (ro)
			json_object_set_new(mount, "ReadOnly", json_true());
		if (consistency && *consistency)
			json_object_set_new(mount, "Consistency", json_string(consistency));
		json_t *bind = obj_or_null(m, "bind"), *vol = obj_or_null(m, "volume"),
		       *tmpfs = obj_or_null(m, "tmpfs");
		if (!strcmp(type, "volume")) {
			if (bind || tmpfs)
				err = fail(x, "%s: %s options are incompatible with type volume", p,
					   bind ? "bind" : "tmpfs");
			else if (source && *source) {
				json_t *def = json_object_get(vols, source);
				char name[512];
				bool external;
				if (!def) {
					err = fail(x, "undefined volume \"%s\"", source);
				} else if (!json_is_null(def) &&
					   (err = check_keys(x, def, "volumes", volume_keys, true))) {
				} else if (!(err = object_name(x, json_is_object(def) ? def : NULL, source,
							       "volumes", "volume", name, sizeof(name),
							       &external))) {
					json_t *vo = json_object();
					bool nocopy = false;
					const char *subpath = NULL;
					json_object_set_new(mount, "Source", json_string(name));
					if (vol && !(err = get_bool(x, vol, "nocopy", p, &nocopy, NULL)))
						err = get_str(x, vol, "subpath", p, &subpath);
					if (nocopy)
						json_object_set_new(vo, "NoCopy", json_true());
					if (subpath && *subpath)
						json_object_set_new(vo, "Subpath", json_string(subpath));
					if (!external && !err) {
						json_t *labels, *dopts;
						const char *driver;
						if (!(err = get_labels(x, def, "labels", "volumes", &labels)))
							json_object_set_new(vo, "Labels", labels);
						if (!err)
							err = get_str(x, def, "driver", "volumes", &driver);
						if (!err && json_is_object(def) &&
						    (driver || json_object_get(def, "driver_opts"))) {
							if (!(err = get_mapping(x, def, "driver_opts", "volumes",
										'=', false, &dopts))) {
								json_t *dc = json_object();
								if (driver)
									json_object_set_new(dc, "Name",
											    json_string(driver));
								set_nonempty(dc, "Options", dopts);
								json_object_set_new(vo, "DriverConfig", dc);
							}
						}
					} else if (!err && json_is_object(def)) {
						const char *k2;
						json_t *v2;
						json_object_foreach(def, k2, v2)
							if (!strcmp(k2, "driver") || !strcmp(k2, "driver_opts") ||
							    !strcmp(k2, "labels"))
								err = fail(x, "conflicting parameters \"external\" "
									   "and \"%s\" specified for volume \"%s\"",
									   k2, source);
					}
					json_object_set_new(mount, "VolumeOptions", vo);
				}
			} else if (vol) {
				/* anonymous: no options but the copy flag, as the CLI */
			}
		} else if (!strcmp(type, "bind")) {
			if (!source || !*source)
				err = fail(x, "invalid mount config for type \"bind\": field Source must not "
					   "be empty");
			else if (source[0] != '/')
				err = fail(x, "%s: bind source %s: dockfs does not know the writer's "
					   "directory; give an absolute path", p, source);
			else if (vol || tmpfs)
				err = fail(x, "%s: %s options are incompatible with type bind", p,
					   vol ? "volume" : "tmpfs");
			else {
				json_object_set_new(mount, "Source", json_string(source));
				if (bind) {
					const char *prop;
					if (!(err = get_str(x, bind, "propagation", p, &prop)))
						json_object_set_new(mount, "BindOptions",
								    prop ? json_pack("{s:s}", "Propagation",
										     prop)
									 : json_object());
				}
			}
		} else if (!strcmp(type, "tmpfs")) {
			if (source && *source)
				err = fail(x, "%s: invalid tmpfs source, source must be empty", p);
			else if (bind || vol)
				err = fail(x, "%s: %s options are incompatible with type tmpfs", p,
					   bind ? "bind" : "volume");
			else if (tmpfs) {
				const char *size;
				long long bytes = 0;
				json_t *to = json_object();
				if (!(err = get_str(x, tmpfs, "size", p, &size)) && size) {
					if (!parse_ram(size, &bytes))
						err = fail(x, "%s.tmpfs.size: invalid size: '%s'", p, size);
					else
						json_object_set_new(to, "SizeBytes", json_integer(bytes));
				}
				json_object_set_new(mount, "TmpfsOptions", to);
			}
		} else {
			/* npipe is Windows'; cluster needs a CSI plugin in the
			 * swarm; image mounts this engine refuses (API < 1.48) */
			err = fail(x, "%s: volume type %s is not carried by dockfs (volume, bind and "
				   "tmpfs are)", p, type);
		}
		json_decref(m);
		if (err) {
			json_decref(mount);
			break;
		}
		json_array_append_new(mounts, mount);
	}
	if (err) {
		json_decref(mounts);
		return err;
	}
	*out = mounts;
	return 0;
}

/* secrets: / configs: of a service: [{File, SecretName}] sorted by name. */
static int convert_refs(struct cx *x, json_t *root, json_t *svc, const char *path, bool secret,
			json_t **out)
{
	const char *section = secret ? "secrets" : "configs";
	json_t *list = json_object_get(svc, section), *e, *refs = json_array();
	json_t *defs = obj_or_null(root, section);
	size_t i;
	int err = 0;

	if (list && !json_is_array(list) && !json_is_null(list)) {
		json_decref(refs);
		return fail(x, "%s.%s must be a list", path, section);
	}
	json_array_foreach(list, i, e) {
		char p[320], name[512];
		const char *source, *target = NULL, *uid = NULL, *gid = NULL;
		long long mode = 0444;
		bool mset, external;
		snprintf(p, sizeof(p), "%s.%s[%zu]", path, section, i);
		if (json_is_string(e)) {
			source = json_string_value(e);
		} else if (json_is_object(e)) {
			if ((err = check_keys(x, e, p, ref_keys, true)) ||
			    (err = get_str(x, e, "source", p, &source)) ||
			    (err = get_str(x, e, "target", p, &target)) ||
			    (err = get_str(x, e, "uid", p, &uid)) || (err = get_str(x, e, "gid", p, &gid)) ||
			    (err = get_int(x, e, "mode", p, &mode, &mset)))
				break;
			if (!mset)
				mode = 0444;
		} else {
			err = fail(x, "%s: invalid type", p);
			break;
		}
		if (!source || !json_object_get(defs, source)) {
			err = fail(x, "undefined %s \"%s\"", secret ? "secret" : "config",
				   source ? source : "");
			break;
		}
		json_t *def = json_object_get(defs, source);
		if ((err = object_name(x, json_is_object(def) ? def : NULL, source, section,
				       secret ? "secret" : "config", name, sizeof(name), &external)))
			break;
		json_t *file = json_pack("{s:s, s:s, s:s, s:I}", "Name", target && *target ? target : source,
					 "UID", uid && *uid ? uid : "0", "GID", gid && *gid ? gid : "0",
					 "Mode", (json_int_t)mode);
		json_t *ref = json_pack("{s:o, s:s}", "File", file,
					secret ? "SecretName" : "ConfigName", name);
		const char *key = secret ? "SecretName" : "ConfigName";
		size_t at = json_array_size(refs);
		while (at > 0 && strcmp(json_string_value(json_object_get(json_array_get(refs, at - 1),
									 key)), name) > 0)
			at--;
		json_array_insert_new(refs, at, ref);
	}
	if (err) {
		json_decref(refs);
		return err;
	}
	*out = refs;
	return 0;
}

/* credential_spec (for Windows nodes): one of config, file and registry,
 * as the CLI takes it.  A config is one of the file's configs: the
 * service gets a runtime reference to it beside its file ones (sorted in
 * by name, after a file reference to the same config), and the spec names
 * it, by name here and by id once deployed (stacks.c resolve_ids).  Runs
 * after the service's configs are converted. */
static int convert_credential_spec(struct cx *x, json_t *root, json_t *svc, const char *path,
				   json_t *cs)
{
	static const char *const field[] = { "Config", "File", "Registry" };
	json_t *c = json_object_get(svc, "credential_spec");
	const char *v[3], *set[3];
	size_t n = 0;
	char p[360];
	int err;

	if (!c || json_is_null(c))
		return 0;
	snprintf(p, sizeof(p), "%s.credential_spec", path);
	if (!json_is_object(c))
		return fail(x, "%s must be a mapping", p);
	if ((err = check_keys(x, c, p, credential_spec_keys, true)))
		return err;
	for (int i = 0; i < 3; i++) {
		if ((err = get_str(x, c, credential_spec_keys[i], p, &v[i])))
			return err;
		if (v[i] && *v[i])
			set[n++] = field[i];
	}
	if (n == 2)
		return fail(x, "invalid credential spec: cannot specify both \"%s\" and \"%s\"",
			    set[0], set[1]);
	if (n == 3)
		return fail(x, "invalid credential spec: cannot specify both \"%s\", \"%s\", and "
			    "\"%s\"", set[0], set[1], set[2]);
	if (!n)
		return 0;
	json_t *priv = json_object_get(cs, "Privileges");
	if (!(v[0] && *v[0])) {
		json_object_set_new(priv, "CredentialSpec",
				    json_pack("{s:s}", v[1] && *v[1] ? "File" : "Registry",
					      v[1] && *v[1] ? v[1] : v[2]));
		return 0;
	}
	json_t *def = json_object_get(obj_or_null(root, "configs"), v[0]);
	char name[512];
	bool external;
	if (!def)
		return fail(x, "undefined config \"%s\"", v[0]);
	if ((err = object_name(x, json_is_object(def) ? def : NULL, v[0], "configs", "config",
			       name, sizeof(name), &external)))
		return err;
	json_t *refs = json_object_get(cs, "Configs");
	if (!refs) {
		refs = json_array();
		json_object_set_new(cs, "Configs", refs);
	}
	size_t at = json_array_size(refs);
	while (at > 0 && strcmp(json_string_value(json_object_get(json_array_get(refs, at - 1),
								 "ConfigName")), name) > 0)
		at--;
	json_array_insert_new(refs, at, json_pack("{s:s, s:{}}", "ConfigName", name, "Runtime"));
	json_object_set_new(priv, "CredentialSpec", json_pack("{s:s}", "Config", name));
	return 0;
}

static int convert_healthcheck(struct cx *x, json_t *svc, const char *path, json_t *cs)
{
	json_t *hc = json_object_get(svc, "healthcheck");
	char p[320];
	bool disable;
	int err;

	if (!hc || json_is_null(hc))
		return 0;
	snprintf(p, sizeof(p), "%s.healthcheck", path);
	if ((err = check_keys(x, hc, p, healthcheck_keys, true)) ||
	    (err = get_bool(x, hc, "disable", p, &disable, NULL)))
		return err;
	json_t *test = json_object_get(hc, "test"), *out = json_object();
	if (disable) {
		if (json_is_string(test) || json_array_size(test)) {
			json_decref(out);
			return fail(x, "test and disable can't be set at the same time");
		}
		json_object_set_new(out, "Test", json_pack("[s]", "NONE"));
		json_object_set_new(cs, "Healthcheck", out);
		return 0;
	}
	if (json_is_string(test))
		json_object_set_new(out, "Test", json_pack("[s, O]", "CMD-SHELL", test));
	else if (json_is_array(test))
		json_object_set(out, "Test", test);
	static const struct {
		const char *key, *field;
	} durs[] = { { "interval", "Interval" }, { "timeout", "Timeout" },
		     { "start_period", "StartPeriod" }, { "start_interval", "StartInterval" } };
	for (size_t i = 0; i < sizeof(durs) / sizeof(durs[0]); i++) {
		long long ns;
		bool set;
		if ((err = get_dur(x, hc, durs[i].key, p, &ns, &set))) {
			json_decref(out);
			return err;
		}
		if (set && ns)
			json_object_set_new(out, durs[i].field, json_integer(ns));
	}
	long long retries;
	bool rset;
	if ((err = get_int(x, hc, "retries", p, &retries, &rset))) {
		json_decref(out);
		return err;
	}
	if (rset && retries)
		json_object_set_new(out, "Retries", json_integer(retries));
	json_object_set_new(cs, "Healthcheck", out);
	return 0;
}

static int convert_update(struct cx *x, json_t *deploy, const char *key, const char *path,
			  json_t **out)
{
	json_t *u = json_object_get(deploy, key);
	char p[320];
	long long par, ns;
	bool set;
	const char *s;
	int err;

	*out = NULL;
	if (!u || json_is_null(u))
		return 0;
	snprintf(p, sizeof(p), "%s.deploy.%s", path, key);
	if ((err = check_keys(x, u, p, update_keys, true)))
		return err;
	json_t *o = json_object();
	if ((err = get_int(x, u, "parallelism", p, &par, &set)))
		goto bad;
	json_object_set_new(o, "Parallelism", json_integer(set ? par : 1));
	if ((err = get_dur(x, u, "delay", p, &ns, &set)))
		goto bad;
	if (set && ns)
		json_object_set_new(o, "Delay", json_integer(ns));
	if ((err = get_str(x, u, "failure_action", p, &s)))
		goto bad;
	if (s && *s)
		json_object_set_new(o, "FailureAction", json_string(s));
	if ((err = get_dur(x, u, "monitor", p, &ns, &set)))
		goto bad;
	if (set && ns)
		json_object_set_new(o, "Monitor", json_integer(ns));
	if ((err = get_str(x, u, "max_failure_ratio", p, &s)))
		goto bad;
	double ratio = 0;
	if (s) {
		char *end;
		ratio = strtod(s, &end);
		if (end == s || *end) {
			err = fail(x, "%s.max_failure_ratio must be a number", p);
			goto bad;
		}
	}
	json_object_set_new(o, "MaxFailureRatio", json_real(ratio));
	if ((err = get_str(x, u, "order", p, &s)))
		goto bad;
	if (s && *s)
		json_object_set_new(o, "Order", json_string(s));
	*out = o;
	return 0;
bad:
	json_decref(o);
	return err;
}

static int convert_resources(struct cx *x, json_t *deploy, const char *path, json_t **out)
{
	json_t *r = json_object_get(deploy, "resources"), *res = json_object();
	char p[320];
	int err = 0;

	*out = res;
	if (!r || json_is_null(r))
		return 0;
	snprintf(p, sizeof(p), "%s.deploy.resources", path);
	if ((err = check_keys(x, r, p, resources_keys, true)))
		return err;
	for (int k = 0; k < 2; k++) {
		const char *key = k ? "reservations" : "limits";
		json_t *l = json_object_get(r, key);
		char lp[360];
		const char *cpus, *mem;
		long long nano = 0, bytes = 0, pids;
		bool pset;

		if (!l || json_is_null(l))
			continue;
		snprintf(lp, sizeof(lp), "%s.%s", p, key);
		if ((err = check_keys(x, l, lp, k ? reservations_keys : limits_keys, true)) ||
		    (err = get_str(x, l, "cpus", lp, &cpus)) || (err = get_str(x, l, "memory", lp, &mem)))
			return err;
		if (cpus && !parse_cpus(cpus, &nano))
			return fail(x, "%s.cpus: failed to parse %s as a rational number", lp, cpus);
		if (mem && !parse_ram(mem, &bytes))
			return fail(x, "%s.memory: invalid size: '%s'", lp, mem);
		json_t *o = json_object();
		if (nano)
			json_object_set_new(o, "NanoCPUs", json_integer(nano));
		if (bytes)
			json_object_set_new(o, "MemoryBytes", json_integer(bytes));
		if (!k) {
			if ((err = get_int(x, l, "pids", lp, &pids, &pset))) {
				json_decref(o);
				return err;
			}
			if (pset && pids)
				json_object_set_new(o, "Pids", json_integer(pids));
		} else {
			json_t *gr = json_object_get(l, "generic_resources"), *g;
			size_t i;
			json_t *list = json_array();
			json_array_foreach(gr, i, g) {
				json_t *d = json_object_get(g, "discrete_resource_spec");
				const char *kind = json_string_value(json_object_get(d, "kind"));
				long long value = 0;
				parse_int(json_string_value(json_object_get(d, "value")), &value);
				json_array_append_new(list, d ? json_pack("{s:{s:s, s:I}}",
									  "DiscreteResourceSpec", "Kind",
									  kind ? kind : "", "Value",
									  (json_int_t)value)
							      : json_object());
			}
			set_nonempty(o, "GenericResources", list);
		}
		json_object_set_new(res, k ? "Reservations" : "Limits", o);
	}
	return 0;
}

static int convert_restart(struct cx *x, json_t *svc, json_t *deploy, const char *path,
			   json_t **out)
{
	json_t *r = json_object_get(deploy, "restart_policy");
	char p[320];
	long long ns, n;
	bool set;
	const char *s;
	int err;

	*out = NULL;
	snprintf(p, sizeof(p), "%s.deploy.restart_policy", path);
	if (r && !json_is_null(r)) {
		if ((err = check_keys(x, r, p, restart_keys, true)))
			return err;
		json_t *o = json_object();
		if ((err = get_str(x, r, "condition", p, &s)))
			goto bad;
		if (s && *s)
			json_object_set_new(o, "Condition", json_string(s));
		if ((err = get_dur(x, r, "delay", p, &ns, &set)))
			goto bad;
		if (set)
			json_object_set_new(o, "Delay", json_integer(ns));
		if ((err = get_int(x, r, "max_attempts", p, &n, &set)))
			goto bad;
		if (set)
			json_object_set_new(o, "MaxAttempts", json_integer(n));
		if ((err = get_dur(x, r, "window", p, &ns, &set)))
			goto bad;
		if (set)
			json_object_set_new(o, "Window", json_integer(ns));
		*out = o;
		return 0;
bad:
		json_decref(o);
		return err;
	}
	/* the legacy service.restart */
	if ((err = get_str(x, svc, "restart", path, &s)) || !s || !*s || !strcmp(s, "no"))
		return err;
	if (!strcmp(s, "always") || !strcmp(s, "unless-stopped")) {
		*out = json_pack("{s:s}", "Condition", "any");
		return 0;
	}
	if (!strncmp(s, "on-failure", 10)) {
		long long count = 0;
		if (s[10] == ':' && !parse_int(s + 11, &count))
			return fail(x, "invalid restart policy format: maximum retry count must be an "
				    "integer");
		*out = json_pack("{s:s, s:I}", "Condition", "on-failure", "MaxAttempts",
				 (json_int_t)count);
		return 0;
	}
	return fail(x, "unknown restart policy: %s", s);
}

static int convert_placement(struct cx *x, json_t *deploy, const char *path, json_t **out)
{
	json_t *pl = json_object_get(deploy, "placement"), *o = json_object(), *c, *prefs, *e;
	char p[320];
	long long max;
	bool set;
	size_t i;
	int err;

	*out = o;
	if (!pl || json_is_null(pl))
		return 0;
	snprintf(p, sizeof(p), "%s.deploy.placement", path);
	if ((err = check_keys(x, pl, p, placement_keys, true)) ||
	    (err = get_strs(x, pl, "constraints", p, &c)))
		return err;
	set_nonempty(o, "Constraints", c);
	prefs = json_object_get(pl, "preferences");
	json_t *list = json_array();
	json_array_foreach(prefs, i, e) {
		const char *spread = json_string_value(json_object_get(e, "spread"));
		json_array_append_new(list, json_pack("{s:{s:s}}", "Spread", "SpreadDescriptor",
						      spread ? spread : ""));
	}
	set_nonempty(o, "Preferences", list);
	if ((err = get_int(x, pl, "max_replicas_per_node", p, &max, &set)))
		return err;
	if (set && max)
		json_object_set_new(o, "MaxReplicas", json_integer(max));
	return 0;
}

static int convert_mode(struct cx *x, json_t *deploy, const char *path, json_t **out)
{
	const char *mode;
	long long replicas;
	bool set;
	int err;

	if ((err = get_str(x, deploy, "mode", path, &mode)) ||
	    (err = get_int(x, deploy, "replicas", path, &replicas, &set)))
		return err;
	if (!mode || !*mode || !strcmp(mode, "replicated")) {
		*out = set ? json_pack("{s:{s:I}}", "Replicated", "Replicas", (json_int_t)replicas)
			   : json_pack("{s:{}}", "Replicated");
	} else if (!strcmp(mode, "global") || !strcmp(mode, "global-job")) {
		if (set)
			return fail(x, "replicas can only be used with replicated or replicated-job mode");
		*out = json_pack("{s:{}}", !strcmp(mode, "global") ? "Global" : "GlobalJob");
	} else if (!strcmp(mode, "replicated-job")) {
		*out = set ? json_pack("{s:{s:I, s:I}}", "ReplicatedJob", "MaxConcurrent",
				       (json_int_t)replicas, "TotalCompletions", (json_int_t)replicas)
			   : json_pack("{s:{}}", "ReplicatedJob");
	} else {
		return fail(x, "unknown mode: %s", mode);
	}
	return 0;
}

static void normalize_cap(const char *in, char *out, size_t len)
{
	size_t k = 0;
	char up[128];

	while (isspace((unsigned char)*in))
		in++;
	for (; *in && k + 1 < sizeof(up); in++)
		up[k++] = (char)toupper((unsigned char)*in);
	while (k && isspace((unsigned char)up[k - 1]))
		k--;
	up[k] = '\0';
	if (!strcmp(up, "ALL") || !strcmp(up, "RESET") || !strncmp(up, "CAP_", 4))
		snprintf(out, len, "%s", up);
	else
		snprintf(out, len, "CAP_%s", up);
}

static void sorted_insert(json_t *list, const char *s)
{
	size_t at = json_array_size(list);

	for (size_t i = 0; i < json_array_size(list); i++)
		if (!strcmp(json_string_value(json_array_get(list, i)), s))
			return;
	while (at > 0 && strcmp(json_string_value(json_array_get(list, at - 1)), s) > 0)
		at--;
	json_array_insert_new(list, at, json_string(s));
}

/* opts.EffectiveCapAddCapDrop */
static int convert_caps(struct cx *x, json_t *svc, const char *path, json_t *cs)
{
	json_t *add, *drop, *e;
	json_t *a = json_array(), *d = json_array();
	char cap[160];
	size_t i;
	int err;

	if ((err = get_strs(x, svc, "cap_add", path, &add)) ||
	    (err = get_strs(x, svc, "cap_drop", path, &drop))) {
		json_decref(a);
		json_decref(d);
		return err;
	}
	json_array_foreach(add, i, e) {
		normalize_cap(json_string_value(e), cap, sizeof(cap));
		sorted_insert(a, cap);
	}
	json_array_foreach(drop, i, e) {
		normalize_cap(json_string_value(e), cap, sizeof(cap));
		sorted_insert(d, cap);
	}
	json_decref(add);
	json_decref(drop);
	for (size_t k = 0; k < json_array_size(a); k++)
		if (!strcmp(json_string_value(json_array_get(a, k)), "ALL")) {
			json_array_clear(a);
			json_array_append_new(a, json_string("ALL"));
		}
	for (size_t k = 0; k < json_array_size(d); k++)
		if (!strcmp(json_string_value(json_array_get(d, k)), "ALL")) {
			json_array_clear(d);
			json_array_append_new(d, json_string("ALL"));
		}
	json_t *final_drop = json_array();
	json_array_foreach(d, i, e) {
		bool added = false;
		for (size_t k = 0; k < json_array_size(a); k++)
			added |= !strcmp(json_string_value(json_array_get(a, k)), json_string_value(e));
		if (!added && strcmp(json_string_value(e), "RESET"))
			json_array_append(final_drop, e);
	}
	json_decref(d);
	for (size_t k = json_array_size(a); k > 0; k--)
		if (!strcmp(json_string_value(json_array_get(a, k - 1)), "RESET"))
			json_array_remove(a, k - 1);
	set_nonempty(cs, "CapabilityAdd", a);
	set_nonempty(cs, "CapabilityDrop", final_drop);
	return 0;
}

static int convert_ulimits(struct cx *x, json_t *svc, const char *path, json_t *cs)
{
	json_t *u = json_object_get(svc, "ulimits"), *v, *list = json_array();
	const char *k;

	if (!json_is_object(u)) {
		json_decref(list);
		return u && !json_is_null(u) ? fail(x, "%s.ulimits must be a mapping", path) : 0;
	}
	json_object_foreach(u, k, v) {
		long long soft = 0, hard = 0;
		bool s1, s2;
		char p[400];
		snprintf(p, sizeof(p), "%s.ulimits", path);
		if (json_is_string(v)) {
			if (!parse_int(json_string_value(v), &soft)) {
				json_decref(list);
				return fail(x, "%s.%s must be an integer", p, k);
			}
			hard = soft;
		} else if (json_is_object(v)) {
			if (get_int(x, v, "soft", p, &soft, &s1) || get_int(x, v, "hard", p, &hard, &s2)) {
				json_decref(list);
				return -EINVAL;
			}
		} else {
			json_decref(list);
			return fail(x, "%s: invalid type for ulimits", p);
		}
		json_t *o = json_pack("{s:s, s:I, s:I}", "Name", k, "Soft", (json_int_t)soft, "Hard",
				      (json_int_t)hard);
		size_t at = json_array_size(list);
		while (at > 0 && strcmp(json_string_value(json_object_get(json_array_get(list, at - 1),
									 "Name")), k) > 0)
			at--;
		json_array_insert_new(list, at, o);
	}
	set_nonempty(cs, "Ulimits", list);
	return 0;
}

static int convert_service(struct cx *x, json_t *root, const char *name, json_t *svc)
{
	char path[256], full[512]; /* a path in messages: cut, not overflowed */
	json_t *deploy, *cs = json_object(), *tt = json_object(), *spec = json_object(), *v;
	const char *s;
	bool b, bset;
	long long n, ns;
	int err;

	snprintf(path, sizeof(path), "services.%s", name);
	if ((err = check_keys(x, svc, path, service_keys, true)))
		goto out;
	for (size_t i = 0; i < sizeof(forbidden) / sizeof(forbidden[0]); i++)
		if (json_object_get(svc, forbidden[i].key)) {
			err = fail(x, "compose file contains unsupported options: %s: %s",
				   forbidden[i].key, forbidden[i].why);
			goto out;
		}
	/* What the CLI ignores; of it, what an operator may not ask for. */
	const char *k;
	json_object_foreach(svc, k, v) {
		if (in_list(unsupported_keys, k))
			addf(x->plan->warnings, "Ignoring unsupported options: %s", k);
		if (!strcmp(k, "container_name") || !strcmp(k, "expose"))
			addf(x->plan->warnings, "Ignoring deprecated options: %s", k);
		if (in_list(admin_keys, k) && !json_is_null(v) &&
		    !(json_is_string(v) && (!strcmp(json_string_value(v), "false") ||
					    !*json_string_value(v))) &&
		    !(json_is_array(v) && !json_array_size(v)))
			addf(x->plan->admin_fields, "services.%s.%s", name, k);
	}
	deploy = json_object_get(svc, "deploy");
	if (deploy && !json_is_null(deploy) &&
	    (err = check_keys(x, deploy, "deploy", deploy_keys, true)))
		goto out;
	if (json_is_null(deploy))
		deploy = NULL;

	if ((err = get_str(x, svc, "image", path, &s)))
		goto out;
	if (!s || !*s) {
		err = fail(x, "invalid image reference for service %s: no image specified", name);
		goto out;
	}
	for (const char *c = s; *c; c++)
		if (isspace((unsigned char)*c) || (unsigned char)*c < 0x20) {
			err = fail(x, "invalid image reference for service %s: invalid reference format",
				   name);
			goto out;
		}
	const char *image = s;
	scoped(x, name, full, sizeof(full));

	/* ContainerSpec, in the CLI's order */
	json_object_set_new(cs, "Image", json_string(image));
	json_t *labels;
	if ((err = get_labels(x, svc, "labels", path, &labels)))
		goto out;
	json_object_set_new(cs, "Labels", labels);
	json_t *cmd;
	if ((err = get_command(x, svc, "entrypoint", path, &cmd)))
		goto out;
	if (cmd)
		json_object_set_new(cs, "Command", cmd);
	if ((err = get_command(x, svc, "command", path, &cmd)))
		goto out;
	if (cmd)
		json_object_set_new(cs, "Args", cmd);
	if ((err = get_str(x, svc, "hostname", path, &s)))
		goto out;
	if (s && *s)
		json_object_set_new(cs, "Hostname", json_string(s));
	if ((err = convert_environment(x, svc, path, cs)))
		goto out;
	if ((err = get_str(x, svc, "working_dir", path, &s)))
		goto out;
	if (s && *s)
		json_object_set_new(cs, "Dir", json_string(s));
	if ((err = get_str(x, svc, "user", path, &s)))
		goto out;
	if (s && *s)
		json_object_set_new(cs, "User", json_string(s));
	json_object_set_new(cs, "Privileges", json_object());
	if ((err = get_bool(x, svc, "init", path, &b, &bset)))
		goto out;
	if (bset)
		json_object_set_new(cs, "Init", json_boolean(b));
	if ((err = get_str(x, svc, "stop_signal", path, &s)))
		goto out;
	if (s && *s)
		json_object_set_new(cs, "StopSignal", json_string(s));
	if ((err = get_bool(x, svc, "tty", path, &b, NULL)))
		goto out;
	if (b)
		json_object_set_new(cs, "TTY", json_true());
	if ((err = get_bool(x, svc, "stdin_open", path, &b, NULL)))
		goto out;
	if (b)
		json_object_set_new(cs, "OpenStdin", json_true());
	if ((err = get_bool(x, svc, "read_only", path, &b, NULL)))
		goto out;
	if (b)
		json_object_set_new(cs, "ReadOnly", json_true());
	json_t *mounts;
	if ((err = convert_mounts(x, root, svc, path, &mounts)))
		goto out;
	set_nonempty(cs, "Mounts", mounts);
	if ((err = get_dur(x, svc, "stop_grace_period", path, &ns, &bset)))
		goto out;
	if (bset)
		json_object_set_new(cs, "StopGracePeriod", json_integer(ns));
	if ((err = convert_healthcheck(x, svc, path, cs)))
		goto out;
	{
		/* "host:ip" (or host=ip, or a mapping) as swarm's "ip host", the
		 * list's order kept */
		json_t *raw = json_object_get(svc, "extra_hosts"), *list = json_array(), *e;
		size_t i;
		if (json_is_array(raw)) {
			json_array_foreach(raw, i, e) {
				const char *h = json_string_value(e);
				const char *sep = h ? strpbrk(h, "=:") : NULL;
				if (!sep)
					continue;
				const char *ip = sep + 1;
				size_t il = strlen(ip);
				char line[512];
				if (il > 2 && ip[0] == '[' && ip[il - 1] == ']')
					snprintf(line, sizeof(line), "%.*s %.*s", (int)il - 2, ip + 1,
						 (int)(sep - h), h);
				else
					snprintf(line, sizeof(line), "%s %.*s", ip, (int)(sep - h), h);
				json_array_append_new(list, json_string(line));
			}
		} else if (json_is_object(raw)) {
			const char *hk;
			json_t *hv;
			json_t *sorted = json_array();
			json_object_foreach(raw, hk, hv) {
				char line[512];
				snprintf(line, sizeof(line), "%s:%s", hk, json_string_value(hv) ?: "");
				sorted_insert(sorted, line);
			}
			json_array_foreach(sorted, i, e) {
				const char *h = json_string_value(e), *sep = strchr(h, ':');
				char line[512];
				snprintf(line, sizeof(line), "%s %.*s", sep + 1, (int)(sep - h), h);
				json_array_append_new(list, json_string(line));
			}
			json_decref(sorted);
		}
		set_nonempty(cs, "Hosts", list);
	}
	json_t *dns, *search;
	if ((err = get_strs(x, svc, "dns", path, &dns)) ||
	    (err = get_strs(x, svc, "dns_search", path, &search)))
		goto out;
	if (json_array_size(dns) || json_array_size(search)) {
		json_t *dc = json_object();
		set_nonempty(dc, "Nameservers", dns);
		set_nonempty(dc, "Search", search);
		json_object_set_new(cs, "DNSConfig", dc);
	} else {
		json_decref(dns);
		json_decref(search);
	}
	json_t *refs;
	if ((err = convert_refs(x, root, svc, path, true, &refs)))
		goto out;
	set_nonempty(cs, "Secrets", refs);
	if ((err = convert_refs(x, root, svc, path, false, &refs)))
		goto out;
	set_nonempty(cs, "Configs", refs);
	if ((err = convert_credential_spec(x, root, svc, path, cs)))
		goto out;
	if ((err = get_str(x, svc, "isolation", path, &s)))
		goto out;
	if (s && *s)
		json_object_set_new(cs, "Isolation", json_string(s));
	json_t *sysctls;
	if ((err = get_mapping(x, svc, "sysctls", path, '=', false, &sysctls)))
		goto out;
	set_nonempty(cs, "Sysctls", sysctls);
	if ((err = convert_caps(x, svc, path, cs)) || (err = convert_ulimits(x, svc, path, cs)))
		goto out;
	if ((err = get_int(x, svc, "oom_score_adj", path, &n, &bset)))
		goto out;
	if (bset && n)
		json_object_set_new(cs, "OomScoreAdj", json_integer(n));

	/* TaskTemplate */
	json_object_set_new(tt, "ContainerSpec", cs);
	cs = NULL;
	json_t *logging = json_object_get(svc, "logging");
	if (logging && !json_is_null(logging)) {
		json_t *opts;
		char p[360];
		snprintf(p, sizeof(p), "%s.logging", path);
		if ((err = check_keys(x, logging, p, logging_keys, true)) ||
		    (err = get_str(x, logging, "driver", p, &s)) ||
		    (err = get_mapping(x, logging, "options", p, '=', false, &opts)))
			goto out;
		json_t *ld = json_pack("{s:s}", "Name", s ? s : "");
		set_nonempty(ld, "Options", opts);
		json_object_set_new(tt, "LogDriver", ld);
	}
	json_t *res, *rp, *pl, *nets;
	if ((err = convert_resources(x, deploy, path, &res)))
		goto out;
	json_object_set_new(tt, "Resources", res);
	if ((err = convert_restart(x, svc, deploy, path, &rp)))
		goto out;
	if (rp)
		json_object_set_new(tt, "RestartPolicy", rp);
	if ((err = convert_placement(x, deploy, path, &pl)))
		goto out;
	json_object_set_new(tt, "Placement", pl);
	if ((err = convert_service_networks(x, root, svc, name, path, &nets)))
		goto out;
	json_object_set_new(tt, "Networks", nets);

	/* the spec */
	json_t *slabels;
	if ((err = get_labels(x, deploy, "labels", path, &slabels)))
		goto out;
	json_object_set_new(slabels, COMPOSE_LABEL_IMAGE, json_string(image));
	json_object_set_new(spec, "Name", json_string(full));
	json_object_set_new(spec, "Labels", slabels);
	json_object_set_new(spec, "TaskTemplate", tt);
	tt = NULL;
	json_t *mode = NULL, *endpoint = NULL, *uc = NULL, *rc = NULL;
	if ((err = convert_mode(x, deploy, path, &mode)))
		goto out;
	json_object_set_new(spec, "Mode", mode);
	if ((err = convert_update(x, deploy, "update_config", path, &uc)))
		goto out;
	if (uc)
		json_object_set_new(spec, "UpdateConfig", uc);
	if ((err = convert_update(x, deploy, "rollback_config", path, &rc)))
		goto out;
	if (rc)
		json_object_set_new(spec, "RollbackConfig", rc);
	if ((err = convert_ports(x, svc, path, deploy, &endpoint)))
		goto out;
	json_object_set_new(spec, "EndpointSpec", endpoint);
	json_object_set(x->plan->services, name, spec);
out:
	json_decref(cs);
	json_decref(tt);
	json_decref(spec);
	return err;
}

/* ---- the whole file ------------------------------------------------------------------------ */

void compose_plan_free(struct compose_plan *p)
{
	json_decref(p->services);
	json_decref(p->networks);
	json_decref(p->external_networks);
	if (p->secrets) {
		/* the secrets' data leaves memory wiped */
		size_t i;
		json_t *s;
		json_array_foreach(p->secrets, i, s) {
			const char *d = json_string_value(json_object_get(s, "Data"));
			if (d)
				sodium_memzero((void *)d, strlen(d));
		}
	}
	json_decref(p->secrets);
	json_decref(p->configs);
	json_decref(p->missing);
	json_decref(p->unset);
	json_decref(p->warnings);
	json_decref(p->admin_fields);
	memset(p, 0, sizeof(*p));
}

bool compose_stack_name_valid(const char *name)
{
	size_t n = strlen(name);

	/* the CLI: no "_" nor "." nor "/" would break the names it scopes;
	 * it refuses empty and names that are not [a-zA-Z0-9][a-zA-Z0-9_.-]*
	 * on create; dockfs keeps to what every object name allows. */
	if (!n || n > 63 || !isalnum((unsigned char)name[0]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && name[i] != '-' && name[i] != '_')
			return false;
	return true;
}

static int cmp_keys(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int compose_plan_make(const char *stack, const char *yaml, size_t len, const char *env,
		      size_t envlen, const struct compose_files *files, struct compose_plan *plan,
		      char *why, size_t whylen)
{
	struct cx x = { .stack = stack, .files = files, .plan = plan, .why = why, .whylen = whylen };
	json_t *root, *services, *svc, *used;
	const char *name;
	int err = 0;

	memset(plan, 0, sizeof(*plan));
	plan->services = json_object();
	plan->networks = json_object();
	plan->external_networks = json_array();
	plan->secrets = json_array();
	plan->configs = json_array();
	plan->missing = json_array();
	plan->unset = json_array();
	plan->warnings = json_array();
	plan->admin_fields = json_array();
	x.vars = json_object();
	if (env && compose_env_parse(env, envlen, true, NULL, x.vars, why, whylen)) {
		char inner[300];
		snprintf(inner, sizeof(inner), "%s", why);
		snprintf(why, whylen, ".env: %s", inner);
		err = -EINVAL;
		goto out_vars;
	}
	root = yaml_parse(yaml, len, why, whylen);
	if (!root) {
		err = -EINVAL;
		goto out_vars;
	}
	if ((err = check_keys(&x, root, "(root)", top_keys, true)))
		goto out;
	/* The version decides nothing here (the newest schema is used, as
	 * by the CLI without one); 2.x files are the CLI's refusal. */
	const char *version = json_string_value(json_object_get(root, "version"));
	if (version && version[0] != '3') {
		err = fail(&x, "unsupported Compose file version: %s", version);
		goto out;
	}
	if (interpolate_tree(root, x.vars, plan->unset, "", why, whylen)) {
		err = -EINVAL;
		goto out;
	}
	services = json_object_get(root, "services");
	if (!json_is_object(services)) {
		err = fail(&x, "services must be a mapping");
		goto out;
	}
	const char *sections[] = { "networks", "volumes", "secrets", "configs" };
	for (size_t i = 0; i < 4; i++) {
		json_t *sec = json_object_get(root, sections[i]);
		if (sec && !json_is_null(sec) && !json_is_object(sec)) {
			err = fail(&x, "%s must be a mapping", sections[i]);
			goto out;
		}
	}
	/* services in name order: the specs, then what they use */
	size_t ns = json_object_size(services), k = 0;
	const char **names = calloc(ns + 1, sizeof(*names));
	if (!names)
		abort();
	json_object_foreach(services, name, svc)
		names[k++] = name;
	qsort(names, k, sizeof(*names), cmp_keys);
	used = json_object();
	for (size_t i = 0; i < k && !err; i++) {
		svc = json_object_get(services, names[i]);
		if (!json_is_object(svc)) {
			err = fail(&x, "services.%s must be a mapping", names[i]);
			break;
		}
		err = convert_service(&x, root, names[i], svc);
		json_t *nets = json_object_get(svc, "networks"), *e;
		size_t j;
		const char *nk;
		if (!json_array_size(nets) && !json_object_size(nets))
			json_object_set_new(used, "default", json_true());
		json_array_foreach(json_is_array(nets) ? nets : NULL, j, e)
			json_object_set_new(used, json_string_value(e), json_true());
		json_object_foreach(json_is_object(nets) ? nets : NULL, nk, e)
			json_object_set_new(used, nk, json_true());
	}
	free(names);
	if (!err)
		err = load_networks(&x, root, used);
	json_decref(used);
	if (!err)
		err = load_objects(&x, root, "secrets", true);
	if (!err)
		err = load_objects(&x, root, "configs", false);
	/* volumes: checked where services use them; the others too */
	json_t *vols = obj_or_null(root, "volumes"), *vd;
	json_object_foreach(vols, name, vd)
		if (!err && !json_is_null(vd))
			err = check_keys(&x, vd, "volumes", volume_keys, true);
out:
	json_decref(root);
out_vars:
	json_decref(x.vars);
	if (err) {
		compose_plan_free(plan);
		memset(plan, 0, sizeof(*plan));
	}
	return err;
}

/* ---- live specs -> compose file ------------------------------------------------------------ */

static const char *jstr(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static long long jint(json_t *o, const char *key)
{
	return (long long)json_integer_value(json_object_get(o, key));
}

/* name without "<stack>_", or NULL if it has no such prefix. */
static const char *descope(const char *stack, const char *name)
{
	size_t l = strlen(stack);

	if (!name || strncmp(name, stack, l) || name[l] != '_' || !name[l + 1])
		return NULL;
	return name + l + 1;
}

static bool stack_owned(json_t *labels, const char *stack)
{
	const char *ns = jstr(labels, COMPOSE_LABEL_NAMESPACE);

	return ns && !strcmp(ns, stack);
}

/* labels without the stack's own; NULL when nothing is left. */
static json_t *user_labels(json_t *labels)
{
	json_t *out = json_object(), *v;
	const char *k;

	json_object_foreach(labels, k, v)
		if (strcmp(k, COMPOSE_LABEL_NAMESPACE) && strcmp(k, COMPOSE_LABEL_IMAGE))
			json_object_set(out, k, v);
	if (!json_object_size(out)) {
		json_decref(out);
		return NULL;
	}
	return out;
}

static void put(json_t *o, const char *key, json_t *v)
{
	if (v)
		json_object_set_new(o, key, v);
}

static json_t *dur(long long ns)
{
	char b[48];

	if (ns % NS_PER_SEC == 0)
		snprintf(b, sizeof(b), "%llds", ns / NS_PER_SEC);
	else if (ns % 1000000 == 0)
		snprintf(b, sizeof(b), "%lldms", ns / 1000000);
	else if (ns % 1000 == 0)
		snprintf(b, sizeof(b), "%lldus", ns / 1000);
	else
		snprintf(b, sizeof(b), "%lldns", ns);
	return json_string(b);
}

static json_t *cpus(long long nano)
{
	char b[48];
	int n = snprintf(b, sizeof(b), "%lld.%09lld", nano / NS_PER_SEC, nano % NS_PER_SEC);

	while (n > 0 && b[n - 1] == '0')
		b[--n] = '\0';
	if (n > 0 && b[n - 1] == '.')
		b[--n] = '\0';
	return json_string(b);
}

static json_t *copy_nonempty(json_t *v)
{
	if ((json_is_array(v) && json_array_size(v)) || (json_is_object(v) && json_object_size(v)) ||
	    (json_is_string(v) && *json_string_value(v)))
		return json_deep_copy(v);
	return NULL;
}

struct render {
	const char *stack;
	json_t *networks, *secrets, *configs;   /* the engine's lists */
	json_t *top_networks, *top_volumes, *top_secrets, *top_configs;
};

/* The compose key of a network, secret or config the stack uses, its
 * top-level definition added once. */
static const char *object_key(struct render *r, const char *name, json_t *labels, json_t *top,
			      json_t *def_extra, char *key, size_t keylen)
{
	const char *short_name = descope(r->stack, name);

	if (stack_owned(labels, r->stack)) {
		snprintf(key, keylen, "%s", short_name ? short_name : name);
		if (!json_object_get(top, key)) {
			json_t *def = def_extra ? json_deep_copy(def_extra) : json_object();
			if (!short_name)
				json_object_set_new(def, "name", json_string(name));
			put(def, "labels", user_labels(labels));
			json_object_set_new(top, key, def);
		}
	} else {
		snprintf(key, keylen, "%s", name);
		if (!json_object_get(top, key))
			json_object_set_new(top, key, json_pack("{s:b}", "external", 1));
	}
	return key;
}

static json_t *find_by(json_t *list, const char *field, const char *value)
{
	json_t *o;
	size_t i;

	json_array_foreach(list, i, o) {
		const char *v = json_string_value(json_object_get(o, field));
		if (!v) {
			json_t *spec = json_object_get(o, "Spec");
			v = json_string_value(json_object_get(spec, field));
		}
		if (v && value && !strcmp(v, value))
			return o;
	}
	return NULL;
}

static json_t *network_def(json_t *net)
{
	json_t *def = json_object(), *opts = json_object(), *v;
	const char *k, *driver = jstr(net, "Driver");

	/* A swarm network just made may list with no driver yet (the
	 * manager's allocator fills it in a moment later): the default. */
	if (driver && *driver && strcmp(driver, "overlay"))
		json_object_set_new(def, "driver", json_string(driver));
	json_object_foreach(json_object_get(net, "Options"), k, v)
		if (strcmp(k, "com.docker.network.driver.overlay.vxlanid_list"))
			json_object_set(opts, k, v);
	if (json_object_size(opts))
		json_object_set_new(def, "driver_opts", opts);
	else
		json_decref(opts);
	if (json_is_true(json_object_get(net, "Attachable")))
		json_object_set_new(def, "attachable", json_true());
	if (json_is_true(json_object_get(net, "Internal")))
		json_object_set_new(def, "internal", json_true());
	return def;
}

/* A service's secrets: or configs: entries; a runtime reference (a config
 * as the credential spec) is no entry: its key goes to runtime. */
static json_t *render_refs(struct render *r, json_t *refs, bool secret, char *runtime,
			   size_t rlen)
{
	json_t *out = json_array(), *ref;
	size_t i;

	json_array_foreach(refs, i, ref) {
		const char *name = jstr(ref, secret ? "SecretName" : "ConfigName");
		json_t *list = secret ? r->secrets : r->configs;
		json_t *obj = find_by(list, "Name", name);
		json_t *labels = json_object_get(json_object_get(obj, "Spec"), "Labels");
		char key[512];

		if (!name)
			continue;
		/* an object found under no label: the stack's by its name */
		if (!obj && descope(r->stack, name))
			labels = NULL;
		json_t *extra = json_object();
		json_t *spec = json_object_get(obj, "Spec");
		if (stack_owned(labels, r->stack)) {
			const char *tmpl = jstr(json_object_get(spec, "Templating"), "Name");
			const char *drv = jstr(json_object_get(spec, "Driver"), "Name");
			if (drv)
				json_object_set_new(extra, "driver", json_string(drv));
			else
				json_object_set_new(extra, "file", json_string(""));
			if (tmpl)
				json_object_set_new(extra, "template_driver", json_string(tmpl));
		}
		object_key(r, name, labels, secret ? r->top_secrets : r->top_configs, extra, key,
			   sizeof(key));
		json_decref(extra);
		json_t *def = json_object_get(secret ? r->top_secrets : r->top_configs, key);
		if (json_is_string(json_object_get(def, "file")) && !*jstr(def, "file")) {
			char f[520];
			snprintf(f, sizeof(f), "./%s", key);
			json_object_set_new(def, "file", json_string(f));
		}
		if (json_object_get(ref, "Runtime")) {
			snprintf(runtime, rlen, "%s", key);
			continue;
		}
		json_t *file = json_object_get(ref, "File");
		json_t *e = json_pack("{s:s}", "source", key);
		const char *target = jstr(file, "Name");
		if (target && strcmp(target, key))
			json_object_set_new(e, "target", json_string(target));
		if (jstr(file, "UID") && strcmp(jstr(file, "UID"), "0"))
			json_object_set_new(e, "uid", json_string(jstr(file, "UID")));
		if (jstr(file, "GID") && strcmp(jstr(file, "GID"), "0"))
			json_object_set_new(e, "gid", json_string(jstr(file, "GID")));
		if (json_object_get(file, "Mode") && jint(file, "Mode") != 0444)
			json_object_set_new(e, "mode", json_integer(jint(file, "Mode")));
		json_array_append_new(out, json_object_size(e) == 1 ? json_string(key) : e);
		if (json_object_size(e) == 1)
			json_decref(e);
	}
	return out;
}

static json_t *render_update(json_t *u)
{
	json_t *o;

	if (!u)
		return NULL;
	o = json_object();
	json_object_set_new(o, "parallelism", json_integer(jint(u, "Parallelism")));
	if (jint(u, "Delay"))
		json_object_set_new(o, "delay", dur(jint(u, "Delay")));
	if (jstr(u, "FailureAction"))
		json_object_set_new(o, "failure_action", json_string(jstr(u, "FailureAction")));
	if (jint(u, "Monitor"))
		json_object_set_new(o, "monitor", dur(jint(u, "Monitor")));
	double ratio = json_number_value(json_object_get(u, "MaxFailureRatio"));
	if (ratio != 0)
		json_object_set_new(o, "max_failure_ratio", json_real(ratio));
	if (jstr(u, "Order"))
		json_object_set_new(o, "order", json_string(jstr(u, "Order")));
	return o;
}

static json_t *render_service(struct render *r, json_t *svc, const char *key)
{
	json_t *spec = json_object_get(svc, "Spec"), *out = json_object(), *deploy = json_object();
	json_t *tt = json_object_get(spec, "TaskTemplate");
	json_t *cs = json_object_get(tt, "ContainerSpec"), *v, *e;
	const char *s;
	size_t i;

	s = jstr(json_object_get(spec, "Labels"), COMPOSE_LABEL_IMAGE);
	json_object_set_new(out, "image", json_string(s ? s : jstr(cs, "Image") ?: ""));
	put(out, "entrypoint", copy_nonempty(json_object_get(cs, "Command")));
	put(out, "command", copy_nonempty(json_object_get(cs, "Args")));
	put(out, "environment", copy_nonempty(json_object_get(cs, "Env")));
	put(out, "labels", user_labels(json_object_get(cs, "Labels")));
	put(out, "hostname", copy_nonempty(json_object_get(cs, "Hostname")));
	put(out, "working_dir", copy_nonempty(json_object_get(cs, "Dir")));
	put(out, "user", copy_nonempty(json_object_get(cs, "User")));
	put(out, "stop_signal", copy_nonempty(json_object_get(cs, "StopSignal")));
	if (json_object_get(cs, "StopGracePeriod"))
		json_object_set_new(out, "stop_grace_period", dur(jint(cs, "StopGracePeriod")));
	if (json_is_true(json_object_get(cs, "TTY")))
		json_object_set_new(out, "tty", json_true());
	if (json_is_true(json_object_get(cs, "OpenStdin")))
		json_object_set_new(out, "stdin_open", json_true());
	if (json_is_true(json_object_get(cs, "ReadOnly")))
		json_object_set_new(out, "read_only", json_true());
	if (json_is_boolean(json_object_get(cs, "Init")))
		json_object_set(out, "init", json_object_get(cs, "Init"));
	put(out, "sysctls", copy_nonempty(json_object_get(cs, "Sysctls")));
	put(out, "cap_add", copy_nonempty(json_object_get(cs, "CapabilityAdd")));
	put(out, "cap_drop", copy_nonempty(json_object_get(cs, "CapabilityDrop")));
	if (jint(cs, "OomScoreAdj"))
		json_object_set_new(out, "oom_score_adj", json_integer(jint(cs, "OomScoreAdj")));
	s = jstr(cs, "Isolation");
	if (s && *s && strcmp(s, "default"))
		json_object_set_new(out, "isolation", json_string(s));
	if (json_array_size(json_object_get(cs, "Ulimits"))) {
		json_t *u = json_object();
		json_array_foreach(json_object_get(cs, "Ulimits"), i, e)
			json_object_set_new(u, jstr(e, "Name") ?: "", json_pack("{s:I, s:I}", "soft",
							(json_int_t)jint(e, "Soft"), "hard", (json_int_t)jint(e, "Hard")));
		json_object_set_new(out, "ulimits", u);
	}
	json_t *hc = json_object_get(cs, "Healthcheck");
	if (hc) {
		json_t *h = json_object(), *test = json_object_get(hc, "Test");
		if (json_array_size(test) == 1 && !strcmp(json_string_value(json_array_get(test, 0)) ?: "",
							  "NONE")) {
			json_object_set_new(h, "disable", json_true());
		} else {
			put(h, "test", copy_nonempty(test));
			static const struct {
				const char *field, *key;
			} durs[] = { { "Interval", "interval" }, { "Timeout", "timeout" },
				     { "StartPeriod", "start_period" }, { "StartInterval", "start_interval" } };
			for (size_t k = 0; k < sizeof(durs) / sizeof(durs[0]); k++)
				if (jint(hc, durs[k].field))
					json_object_set_new(h, durs[k].key, dur(jint(hc, durs[k].field)));
			if (jint(hc, "Retries"))
				json_object_set_new(h, "retries", json_integer(jint(hc, "Retries")));
		}
		json_object_set_new(out, "healthcheck", h);
	}
	if (json_array_size(json_object_get(cs, "Hosts"))) {
		json_t *list = json_array();
		json_array_foreach(json_object_get(cs, "Hosts"), i, e) {
			const char *line = json_string_value(e), *sp = line ? strchr(line, ' ') : NULL;
			char h[512];
			if (!sp)
				continue;
			snprintf(h, sizeof(h), "%s:%.*s", sp + 1, (int)(sp - line), line);
			json_array_append_new(list, json_string(h));
		}
		json_object_set_new(out, "extra_hosts", list);
	}
	json_t *dns = json_object_get(cs, "DNSConfig");
	put(out, "dns", copy_nonempty(json_object_get(dns, "Nameservers")));
	put(out, "dns_search", copy_nonempty(json_object_get(dns, "Search")));
	json_t *ld = json_object_get(tt, "LogDriver");
	if (ld) {
		json_t *l = json_pack("{s:s}", "driver", jstr(ld, "Name") ?: "");
		put(l, "options", copy_nonempty(json_object_get(ld, "Options")));
		json_object_set_new(out, "logging", l);
	}
	/* mounts, long syntax */
	if (json_array_size(json_object_get(cs, "Mounts"))) {
		json_t *list = json_array();
		json_array_foreach(json_object_get(cs, "Mounts"), i, e) {
			const char *type = jstr(e, "Type") ?: "volume", *src = jstr(e, "Source");
			json_t *m = json_pack("{s:s}", "type", type), *vo = json_object_get(e, "VolumeOptions");
			if (!strcmp(type, "volume") && src && *src) {
				char vkey[512];
				json_t *labels = json_object_get(vo, "Labels");
				json_t *extra = json_object();
				json_t *dc = json_object_get(vo, "DriverConfig");
				if (dc) {
					put(extra, "driver", copy_nonempty(json_object_get(dc, "Name")));
					put(extra, "driver_opts", copy_nonempty(json_object_get(dc, "Options")));
				}
				object_key(r, src, labels, r->top_volumes, extra, vkey, sizeof(vkey));
				json_decref(extra);
				json_object_set_new(m, "source", json_string(vkey));
			} else if (src && *src) {
				json_object_set_new(m, "source", json_string(src));
			}
			put(m, "target", copy_nonempty(json_object_get(e, "Target")));
			if (json_is_true(json_object_get(e, "ReadOnly")))
				json_object_set_new(m, "read_only", json_true());
			put(m, "consistency", copy_nonempty(json_object_get(e, "Consistency")));
			if (json_is_true(json_object_get(vo, "NoCopy")) || jstr(vo, "Subpath")) {
				json_t *vv = json_object();
				if (json_is_true(json_object_get(vo, "NoCopy")))
					json_object_set_new(vv, "nocopy", json_true());
				put(vv, "subpath", copy_nonempty(json_object_get(vo, "Subpath")));
				json_object_set_new(m, "volume", vv);
			}
			json_t *bo = json_object_get(e, "BindOptions");
			if (bo) {
				json_t *bb = json_object();
				put(bb, "propagation", copy_nonempty(json_object_get(bo, "Propagation")));
				json_object_set_new(m, "bind", bb);
			}
			json_t *to = json_object_get(e, "TmpfsOptions");
			if (to) {
				json_t *tb = json_object();
				if (jint(to, "SizeBytes"))
					json_object_set_new(tb, "size", json_integer(jint(to, "SizeBytes")));
				json_object_set_new(m, "tmpfs", tb);
			}
			json_array_append_new(list, m);
		}
		json_object_set_new(out, "volumes", list);
	}
	char runtime[512] = "";
	if (json_array_size(json_object_get(cs, "Secrets")))
		json_object_set_new(out, "secrets", render_refs(r, json_object_get(cs, "Secrets"), true,
								runtime, sizeof(runtime)));
	if (json_array_size(json_object_get(cs, "Configs"))) {
		json_t *confs = render_refs(r, json_object_get(cs, "Configs"), false, runtime,
					    sizeof(runtime));
		if (json_array_size(confs))
			json_object_set_new(out, "configs", confs);
		else
			json_decref(confs);
	}
	json_t *cred = json_object_get(json_object_get(cs, "Privileges"), "CredentialSpec");
	if (jstr(cred, "Config") && *jstr(cred, "Config") && *runtime)
		json_object_set_new(out, "credential_spec", json_pack("{s:s}", "config", runtime));
	else if (jstr(cred, "File") && *jstr(cred, "File"))
		json_object_set_new(out, "credential_spec", json_pack("{s:s}", "file",
								      jstr(cred, "File")));
	else if (jstr(cred, "Registry") && *jstr(cred, "Registry"))
		json_object_set_new(out, "credential_spec", json_pack("{s:s}", "registry",
								      jstr(cred, "Registry")));
	/* networks: by name; the stack's own default network alone is left out */
	json_t *nets = json_object_get(tt, "Networks");
	if (!nets)
		nets = json_object_get(spec, "Networks");
	json_t *snets = json_object();
	json_array_foreach(nets, i, e) {
		const char *target = jstr(e, "Target");
		json_t *net = find_by(r->networks, "Id", target);
		if (!net)
			net = find_by(r->networks, "Name", target);
		const char *name = net ? jstr(net, "Name") : target;
		char nkey[512];
		json_t *def = net && stack_owned(json_object_get(net, "Labels"), r->stack)
				      ? network_def(net) : NULL;
		object_key(r, name ?: "", net ? json_object_get(net, "Labels") : NULL, r->top_networks,
			   def, nkey, sizeof(nkey));
		json_decref(def);
		json_t *aliases = json_array(), *a;
		size_t j;
		json_array_foreach(json_object_get(e, "Aliases"), j, a)
			if (strcmp(json_string_value(a) ?: "", key))
				json_array_append(aliases, a);
		json_t *att = json_object();
		set_nonempty(att, "aliases", aliases);
		put(att, "driver_opts", copy_nonempty(json_object_get(e, "DriverOpts")));
		json_object_set_new(snets, nkey, json_object_size(att) ? att : json_null());
		if (!json_object_size(att))
			json_decref(att);
	}
	if (json_object_size(snets) == 1 && json_is_null(json_object_get(snets, "default")))
		json_decref(snets);
	else
		json_object_set_new(out, "networks", snets);
	/* ports */
	json_t *ep = json_object_get(spec, "EndpointSpec");
	if (json_array_size(json_object_get(ep, "Ports"))) {
		json_t *list = json_array();
		json_array_foreach(json_object_get(ep, "Ports"), i, e) {
			json_t *p = json_pack("{s:I}", "target", (json_int_t)jint(e, "TargetPort"));
			if (jint(e, "PublishedPort"))
				json_object_set_new(p, "published", json_integer(jint(e, "PublishedPort")));
			put(p, "protocol", copy_nonempty(json_object_get(e, "Protocol")));
			put(p, "mode", copy_nonempty(json_object_get(e, "PublishMode")));
			json_array_append_new(list, p);
		}
		json_object_set_new(out, "ports", list);
	}
	/* deploy */
	s = jstr(ep, "Mode");
	if (s && *s && strcmp(s, "vip"))
		json_object_set_new(deploy, "endpoint_mode", json_string(s));
	json_t *mode = json_object_get(spec, "Mode");
	if ((v = json_object_get(mode, "Replicated"))) {
		if (json_object_get(v, "Replicas"))
			json_object_set_new(deploy, "replicas", json_integer(jint(v, "Replicas")));
	} else if (json_object_get(mode, "Global")) {
		json_object_set_new(deploy, "mode", json_string("global"));
	} else if ((v = json_object_get(mode, "ReplicatedJob"))) {
		json_object_set_new(deploy, "mode", json_string("replicated-job"));
		if (json_object_get(v, "TotalCompletions"))
			json_object_set_new(deploy, "replicas", json_integer(jint(v, "TotalCompletions")));
	} else if (json_object_get(mode, "GlobalJob")) {
		json_object_set_new(deploy, "mode", json_string("global-job"));
	}
	put(deploy, "labels", user_labels(json_object_get(spec, "Labels")));
	json_t *pl = json_object_get(tt, "Placement");
	if (pl) {
		json_t *p = json_object();
		put(p, "constraints", copy_nonempty(json_object_get(pl, "Constraints")));
		if (json_array_size(json_object_get(pl, "Preferences"))) {
			json_t *list = json_array();
			json_array_foreach(json_object_get(pl, "Preferences"), i, e)
				json_array_append_new(list, json_pack("{s:s}", "spread",
					jstr(json_object_get(e, "Spread"), "SpreadDescriptor") ?: ""));
			json_object_set_new(p, "preferences", list);
		}
		if (jint(pl, "MaxReplicas"))
			json_object_set_new(p, "max_replicas_per_node", json_integer(jint(pl, "MaxReplicas")));
		if (json_object_size(p))
			json_object_set_new(deploy, "placement", p);
		else
			json_decref(p);
	}
	json_t *res = json_object_get(tt, "Resources"), *ro = json_object();
	for (int k = 0; k < 2; k++) {
		json_t *l = json_object_get(res, k ? "Reservations" : "Limits");
		json_t *o = json_object();
		if (!l) {
			json_decref(o);
			continue;
		}
		if (jint(l, "NanoCPUs"))
			json_object_set_new(o, "cpus", cpus(jint(l, "NanoCPUs")));
		if (jint(l, "MemoryBytes"))
			json_object_set_new(o, "memory", json_integer(jint(l, "MemoryBytes")));
		if (!k && jint(l, "Pids"))
			json_object_set_new(o, "pids", json_integer(jint(l, "Pids")));
		if (k && json_array_size(json_object_get(l, "GenericResources"))) {
			json_t *list = json_array();
			json_array_foreach(json_object_get(l, "GenericResources"), i, e) {
				json_t *d = json_object_get(e, "DiscreteResourceSpec");
				json_array_append_new(list, json_pack("{s:{s:s, s:I}}", "discrete_resource_spec",
					"kind", jstr(d, "Kind") ?: "", "value", (json_int_t)jint(d, "Value")));
			}
			json_object_set_new(o, "generic_resources", list);
		}
		json_object_set_new(ro, k ? "reservations" : "limits", o);
	}
	if (json_object_size(ro))
		json_object_set_new(deploy, "resources", ro);
	else
		json_decref(ro);
	json_t *rp = json_object_get(tt, "RestartPolicy");
	if (rp) {
		json_t *p = json_object();
		put(p, "condition", copy_nonempty(json_object_get(rp, "Condition")));
		if (json_object_get(rp, "Delay"))
			json_object_set_new(p, "delay", dur(jint(rp, "Delay")));
		if (json_object_get(rp, "MaxAttempts"))
			json_object_set_new(p, "max_attempts", json_integer(jint(rp, "MaxAttempts")));
		if (json_object_get(rp, "Window"))
			json_object_set_new(p, "window", dur(jint(rp, "Window")));
		json_object_set_new(deploy, "restart_policy", p);
	}
	put(deploy, "update_config", render_update(json_object_get(spec, "UpdateConfig")));
	put(deploy, "rollback_config", render_update(json_object_get(spec, "RollbackConfig")));
	if (json_object_size(deploy))
		json_object_set_new(out, "deploy", deploy);
	else
		json_decref(deploy);
	return out;
}

/* A scalar the emitter may write plain and every YAML reader reads back
 * as this same string. */
static bool plain_safe(const char *s)
{
	size_t n = strlen(s);
	bool numberish = true;
	bool b;

	if (!n || n > 200 || isspace((unsigned char)s[0]) || isspace((unsigned char)s[n - 1]))
		return false;
	if (!isalnum((unsigned char)s[0]) && s[0] != '/' && s[0] != '_' && s[0] != '.')
		return false;
	if (plain_null(s, n) || parse_bool(s, &b))
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!isalnum(c) && !strchr("_./:@+=,-$ ", c))
			return false;
		if (c == ':' && (i + 1 == n || s[i + 1] == ' '))
			return false;
		if (c == ' ' && i + 1 < n && s[i + 1] == '#')
			return false;
		if (!isdigit(c) && !strchr("._:+-eExXoObBaAcCdDfF", c))
			numberish = false;
	}
	return !(numberish && (isdigit((unsigned char)s[0]) || s[0] == '.'));
}

static struct fy_node *fy_scalar(struct fy_document *d, const char *s)
{
	if (plain_safe(s))
		return fy_node_create_scalar_copy(d, s, strlen(s));
	json_t *j = json_string(s);
	char *quoted = json_dumps(j, JSON_ENCODE_ANY);
	/* the node keeps pointing into its source: the document owns it */
	struct fy_node *n = fy_node_build_from_malloc_string(d, quoted, strlen(quoted));
	json_decref(j);
	return n;
}

static struct fy_node *to_fy(struct fy_document *d, json_t *v)
{
	char b[64];

	if (json_is_object(v)) {
		struct fy_node *m = fy_node_create_mapping(d);
		const char *k;
		json_t *c;
		json_object_foreach(v, k, c)
			fy_node_mapping_append(m, fy_scalar(d, k), to_fy(d, c));
		return m;
	}
	if (json_is_array(v)) {
		struct fy_node *seq = fy_node_create_sequence(d);
		size_t i;
		json_t *c;
		json_array_foreach(v, i, c)
			fy_node_sequence_append(seq, to_fy(d, c));
		return seq;
	}
	if (json_is_string(v)) {
		/* the file is interpolated when it is deployed: a $ stays a $ */
		const char *in = json_string_value(v);
		if (!strchr(in, '$'))
			return fy_scalar(d, in);
		struct buf esc = BUF_INIT;
		for (const char *p = in; *p; p++) {
			if (*p == '$')
				buf_puts(&esc, "$$");
			else
				buf_append(&esc, p, 1);
		}
		struct fy_node *n = fy_scalar(d, esc.data ? esc.data : "");
		buf_free(&esc);
		return n;
	}
	if (json_is_integer(v))
		snprintf(b, sizeof(b), "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		snprintf(b, sizeof(b), "%.6g", json_real_value(v));
	else if (json_is_boolean(v))
		snprintf(b, sizeof(b), "%s", json_is_true(v) ? "true" : "false");
	else
		snprintf(b, sizeof(b), "null");
	return fy_node_create_scalar_copy(d, b, strlen(b));
}

static int by_spec_name(const void *a, const void *b)
{
	json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;

	return strcmp(json_string_value(json_object_get(json_object_get(x, "Spec"), "Name")) ?: "",
		      json_string_value(json_object_get(json_object_get(y, "Spec"), "Name")) ?: "");
}

int compose_render(const char *stack, json_t *services, json_t *networks, json_t *secrets,
		   json_t *configs, char **out)
{
	struct render r = {
		.stack = stack, .networks = networks, .secrets = secrets, .configs = configs,
		.top_networks = json_object(), .top_volumes = json_object(),
		.top_secrets = json_object(), .top_configs = json_object(),
	};
	json_t *doc = json_object(), *svcs = json_object(), *o;
	size_t i, n = 0;
	json_t **sorted = calloc(json_array_size(services) + 1, sizeof(*sorted));

	if (!sorted)
		abort();
	json_array_foreach(services, i, o)
		if (stack_owned(json_object_get(json_object_get(o, "Spec"), "Labels"), stack))
			sorted[n++] = o;
	qsort(sorted, n, sizeof(*sorted), by_spec_name);
	for (i = 0; i < n; i++) {
		const char *name = json_string_value(json_object_get(json_object_get(sorted[i], "Spec"),
								     "Name"));
		const char *key = descope(stack, name);
		if (key)
			json_object_set_new(svcs, key, render_service(&r, sorted[i], key));
	}
	free(sorted);
	/* the stack's objects no service uses are part of it all the same */
	json_array_foreach(networks, i, o)
		if (stack_owned(json_object_get(o, "Labels"), stack)) {
			char key[512];
			json_t *def = network_def(o);
			object_key(&r, jstr(o, "Name") ?: "", json_object_get(o, "Labels"),
				   r.top_networks, def, key, sizeof(key));
			json_decref(def);
		}
	for (int k = 0; k < 2; k++) {
		json_array_foreach(k ? configs : secrets, i, o) {
			json_t *spec = json_object_get(o, "Spec");
			char key[512], f[520];
			if (!stack_owned(json_object_get(spec, "Labels"), stack))
				continue;
			json_t *extra = json_object();
			const char *drv = jstr(json_object_get(spec, "Driver"), "Name");
			const char *tmpl = jstr(json_object_get(spec, "Templating"), "Name");
			if (drv)
				json_object_set_new(extra, "driver", json_string(drv));
			if (tmpl)
				json_object_set_new(extra, "template_driver", json_string(tmpl));
			object_key(&r, jstr(spec, "Name") ?: "", json_object_get(spec, "Labels"),
				   k ? r.top_configs : r.top_secrets, extra, key, sizeof(key));
			json_decref(extra);
			json_t *def = json_object_get(k ? r.top_configs : r.top_secrets, key);
			if (!drv && !json_object_get(def, "file")) {
				snprintf(f, sizeof(f), "./%s", key);
				json_object_set_new(def, "file", json_string(f));
			}
		}
	}
	json_object_set_new(doc, "services", svcs);
	if (json_object_size(r.top_networks))
		json_object_set(doc, "networks", r.top_networks);
	if (json_object_size(r.top_volumes))
		json_object_set(doc, "volumes", r.top_volumes);
	if (json_object_size(r.top_secrets))
		json_object_set(doc, "secrets", r.top_secrets);
	if (json_object_size(r.top_configs))
		json_object_set(doc, "configs", r.top_configs);
	json_decref(r.top_networks);
	json_decref(r.top_volumes);
	json_decref(r.top_secrets);
	json_decref(r.top_configs);

	struct fy_document *d = fy_document_create(NULL);
	if (!d) {
		json_decref(doc);
		return -ENOMEM;
	}
	fy_document_set_root(d, to_fy(d, doc));
	json_decref(doc);
	*out = fy_emit_document_to_string(d, FYECF_MODE_BLOCK | FYECF_INDENT_2 | FYECF_WIDTH_INF);
	fy_document_destroy(d);
	return *out ? 0 : -ENOMEM;
}
