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
	/* Files of M/hosts itself. */
	if (strcmp(name, "error") == 0 || strcmp(name, "ctl") == 0)
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
