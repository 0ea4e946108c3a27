/* format.c - Docker's values as the docker CLI prints them. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"

bool format_parse_time(const char *s, struct timespec *out)
{
	struct tm tm = { 0 };
	int n = 0;
	long nsec = 0;

	*out = (struct timespec){ 0, 0 };
	if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon,
			 &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6)
		return false;
	const char *p = s + n;
	if (*p == '.') {
		long scale = 100000000;
		for (p++; isdigit((unsigned char)*p); p++) {
			nsec += (*p - '0') * scale;
			scale /= 10;
		}
	}
	long off = 0;
	if (*p == '+' || *p == '-') {
		int hh, mm;
		if (sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2)
			return false;
		off = (hh * 3600L + mm * 60L) * (*p == '-' ? -1 : 1);
	} else if (*p != 'Z') {
		return false;
	}
	if (tm.tm_year <= 1)	/* Docker's zero time: never */
		return true;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	out->tv_sec = timegm(&tm) - off;
	out->tv_nsec = nsec;
	return true;
}

void format_human_duration(int64_t seconds, char *out, size_t outlen)
{
	int64_t minutes = seconds / 60;
	int64_t hours = (seconds + 1800) / 3600; /* go-units rounds hours */

	if (seconds < 1)
		snprintf(out, outlen, "Less than a second");
	else if (seconds == 1)
		snprintf(out, outlen, "1 second");
	else if (seconds < 60)
		snprintf(out, outlen, "%lld seconds", (long long)seconds);
	else if (minutes == 1)
		snprintf(out, outlen, "About a minute");
	else if (minutes < 60)
		snprintf(out, outlen, "%lld minutes", (long long)minutes);
	else if (hours == 1)
		snprintf(out, outlen, "About an hour");
	else if (hours < 48)
		snprintf(out, outlen, "%lld hours", (long long)hours);
	else if (hours < 24 * 7 * 2)
		snprintf(out, outlen, "%lld days", (long long)(hours / 24));
	else if (hours < 24 * 30 * 2)
		snprintf(out, outlen, "%lld weeks", (long long)(hours / 24 / 7));
	else if (hours < 24 * 365 * 2)
		snprintf(out, outlen, "%lld months", (long long)(hours / 24 / 30));
	else
		snprintf(out, outlen, "%lld years", (long long)(seconds / 3600 / 24 / 365));
}

/* Mirrors State.String() of the Docker daemon (container/state.go). */
void format_container_status(const struct container_state *s, time_t now,
			     struct buf *out)
{
	char d[64];

	if (s->running) {
		if (s->paused) {
			format_human_duration(now - s->started, d, sizeof(d));
			buf_printf(out, "Up %s (Paused)", d);
		} else if (s->restarting) {
			format_human_duration(now - s->finished, d, sizeof(d));
			buf_printf(out, "Restarting (%d) %s ago", s->exit_code, d);
		} else if (s->started == 0) {
			/* Known running from the list, not yet inspected (or
			 * its inspect hangs): no start time to count from. */
			buf_puts(out, "Up");
		} else {
			format_human_duration(now - s->started, d, sizeof(d));
			buf_printf(out, "Up %s", d);
			if (s->health && strcmp(s->health, "starting") == 0)
				buf_puts(out, " (health: starting)");
			else if (s->health && *s->health && strcmp(s->health, "none") != 0)
				buf_printf(out, " (%s)", s->health);
		}
	} else if (s->removing) {
		buf_puts(out, "Removal In Progress");
	} else if (s->dead) {
		buf_puts(out, "Dead");
	} else if (s->started == 0) {
		buf_puts(out, "Created");
	} else if (s->finished != 0) {
		format_human_duration(now - s->finished, d, sizeof(d));
		buf_printf(out, "Exited (%d) %s ago", s->exit_code, d);
	}
}

struct port_line {
	long port;
	char text[160];
};

static int port_cmp(const void *a, const void *b)
{
	const struct port_line *x = a, *y = b;

	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	return strcmp(x->text, y->text);
}

void format_ports(json_t *ports, struct buf *out)
{
	struct port_line *lines = NULL;
	size_t n = 0, cap = 0;
	const char *key;
	json_t *bindings;

	json_object_foreach(ports, key, bindings) {
		size_t nb = json_array_size(bindings);
		for (size_t i = 0; i < (nb ? nb : 1); i++) {
			if (n == cap) {
				cap = cap ? cap * 2 : 8;
				lines = realloc(lines, cap * sizeof(*lines));
				if (!lines)
					abort();
			}
			struct port_line *l = &lines[n++];
			l->port = strtol(key, NULL, 10);
			if (!nb) {
				snprintf(l->text, sizeof(l->text), "%s", key);
				continue;
			}
			json_t *b = json_array_get(bindings, i);
			const char *ip = json_string_value(json_object_get(b, "HostIp"));
			const char *hp = json_string_value(json_object_get(b, "HostPort"));
			/* IPv6 in brackets, as the docker CLI prints it. */
			bool v6 = ip && strchr(ip, ':');
			snprintf(l->text, sizeof(l->text), "%s%s%s:%s->%s", v6 ? "[" : "",
				 ip ? ip : "", v6 ? "]" : "", hp ? hp : "", key);
		}
	}
	if (n)
		qsort(lines, n, sizeof(*lines), port_cmp);
	for (size_t i = 0; i < n; i++)
		buf_printf(out, "%s\n", lines[i].text);
	free(lines);
}

bool format_json(const json_t *j, struct buf *out)
{
	char *s = j ? json_dumps(j, JSON_INDENT(2)) : NULL;

	if (!s)
		return false;
	buf_puts(out, s);
	buf_puts(out, "\n");
	free(s);
	return true;
}

const char *format_json_kind(const json_t *j)
{
	switch (j ? json_typeof(j) : JSON_NULL) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
		return "true";
	case JSON_FALSE:
		return "false";
	case JSON_NULL:
		break;
	}
	return j ? "null" : "nothing";
}
