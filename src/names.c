/* names.c - escaping of Docker names into file names. */
#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "names.h"

int name_escape(const char *name, char *out, size_t outlen)
{
	size_t o = 0;

	for (const char *p = name; *p; p++) {
		const char *rep = *p == '/' ? "%2F" : *p == '%' ? "%25" : NULL;
		size_t n = rep ? 3 : 1;

		if (o + n >= outlen)
			return -ENAMETOOLONG;
		if (rep)
			memcpy(out + o, rep, 3);
		else
			out[o] = *p;
		o += n;
	}
	if (o >= outlen)
		return -ENAMETOOLONG;
	out[o] = '\0';
	return (int)o;
}

int name_unescape(const char *file, char *out, size_t outlen)
{
	size_t o = 0;

	for (const char *p = file; *p; p++) {
		char c = *p;

		if (c == '%') {
			if (strncasecmp(p + 1, "2F", 2) == 0)
				c = '/';
			else if (strncmp(p + 1, "25", 2) == 0)
				c = '%';
			else
				return -EINVAL;
			p += 2;
		}
		if (o + 1 >= outlen)
			return -ENAMETOOLONG;
		out[o++] = c;
	}
	if (!outlen)
		return -ENAMETOOLONG;
	out[o] = '\0';
	return (int)o;
}

bool name_host_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > 64 || name[0] == '.' || name[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (!isalnum(c) && c != '.' && c != '_' && c != '-')
			return false;
	}
	return true;
}

bool name_id_prefix(const char *s, const char *id)
{
	size_t n = strlen(s);

	if (n < 4 || n > strlen(id))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return strncmp(s, id, n) == 0;
}

bool name_object_valid(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > 128 || !isalnum((unsigned char)s[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("_.-", s[i]))
			return false;
	return true;
}

static bool lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* path-component := [a-z0-9]+ (separator [a-z0-9]+)*, separator := [_.] | __ | -+ */
static bool ref_path_component(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		if (!lower_alnum(s[i]))
			return false;
		while (i < n && lower_alnum(s[i]))
			i++;
		if (i == n)
			break;
		if (s[i] == '.')
			i++;
		else if (s[i] == '_')
			i += i + 1 < n && s[i + 1] == '_' ? 2 : 1;
		else if (s[i] == '-')
			while (i < n && s[i] == '-')
				i++;
		else
			return false;
		if (i == n)
			return false;   /* a separator must be followed */
	}
	return n > 0;
}

/* domain := component ('.' component)* [':' port], component :=
 * [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9] */
static bool ref_domain(const char *s, size_t n)
{
	const char *colon = memchr(s, ':', n);
	size_t host = colon ? (size_t)(colon - s) : n;

	if (colon) {
		if (colon + 1 == s + n)
			return false;
		for (const char *p = colon + 1; p < s + n; p++)
			if (!isdigit((unsigned char)*p))
				return false;
	}
	for (size_t i = 0; i < host;) {
		size_t j = i;
		while (j < host && s[j] != '.')
			j++;
		if (j == i || !isalnum((unsigned char)s[i]) || !isalnum((unsigned char)s[j - 1]))
			return false;
		for (size_t k = i; k < j; k++)
			if (!isalnum((unsigned char)s[k]) && s[k] != '-')
				return false;
		if (j < host && j + 1 == host)
			return false;   /* a trailing dot */
		i = j + 1;
	}
	return host > 0;
}

/* digest := algorithm ':' hex{32,}, algorithm := [A-Za-z][A-Za-z0-9]* joined by [+._-] */
static bool ref_digest(const char *s)
{
	const char *colon = strchr(s, ':');
	size_t hex = 0;

	if (!colon || colon == s)
		return false;
	for (const char *p = s; p < colon; p++) {
		bool start = p == s || strchr("+._-", p[-1]);
		if (strchr("+._-", *p)) {
			if (start || p + 1 == colon)
				return false;
		} else if (start ? !isalpha((unsigned char)*p) : !isalnum((unsigned char)*p)) {
			return false;
		}
	}
	for (const char *p = colon + 1; *p; p++, hex++)
		if (!isxdigit((unsigned char)*p))
			return false;
	return hex >= 32;
}

bool name_image_ref_valid(const char *s)
{
	char name[256];
	const char *at = strchr(s, '@'), *tag = NULL;
	size_t n = at ? (size_t)(at - s) : strlen(s);

	if (at && !ref_digest(at + 1))
		return false;
	if (n == 0 || n >= sizeof(name))
		return false;
	memcpy(name, s, n);
	name[n] = '\0';
	/* A tag is after the last ':' that follows the last '/'. */
	char *slash = strrchr(name, '/'), *colon = strrchr(slash ? slash : name, ':');
	if (colon) {
		*colon = '\0';
		tag = colon + 1;
		size_t tn = strlen(tag);
		if (!tn || tn > 128 || !(isalnum((unsigned char)tag[0]) || tag[0] == '_'))
			return false;
		for (size_t i = 1; i < tn; i++)
			if (!isalnum((unsigned char)tag[i]) && !strchr("_.-", tag[i]))
				return false;
	}
	/* The first component is a registry when more follow and it has a
	 * '.' or a ':', is "localhost", or has upper case (Docker's own test). */
	char *p = name, *first_end = strchr(name, '/');
	if (first_end) {
		size_t fn = (size_t)(first_end - name);
		bool domain = memchr(name, '.', fn) || memchr(name, ':', fn) ||
			      (fn == 9 && !strncmp(name, "localhost", 9));
		for (size_t i = 0; i < fn && !domain; i++)
			domain = isupper((unsigned char)name[i]);
		if (domain) {
			if (!ref_domain(name, fn))
				return false;
			p = first_end + 1;
		}
	}
	for (;;) {
		char *end = strchr(p, '/');
		size_t cn = end ? (size_t)(end - p) : strlen(p);
		if (!ref_path_component(p, cn))
			return false;
		if (!end)
			return true;
		p = end + 1;
	}
}
