/* format.h - Docker's values as the docker CLI prints them.
 * Pure functions: no I/O, no locks; unit tested in tests/unit. */
#ifndef DOCKFS_FORMAT_H
#define DOCKFS_FORMAT_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <time.h>

#include <jansson.h>

#include "buf.h"

/* Parses Docker's RFC 3339 time ("2026-11-27T00:12:34.123456789Z", or with a
 * +hh:mm offset).  Docker's zero time "0001-01-01T00:00:00Z" and unparsable
 * text give {0, 0}; returns false for unparsable text. */
bool format_parse_time(const char *s, struct timespec *out);

/* The JSON files' form: j indented by two, then a newline, appended to out.
 * Returns false (out unchanged) when j is NULL or cannot be written. */
bool format_json(const json_t *j, struct buf *out);

/* What kind of JSON value j is, for a message: "an object", "an array",
 * "a string", "a number", "true", "false", "null" ("nothing" for NULL). */
const char *format_json_kind(const json_t *j);

/* go-units HumanDuration, as `docker ps` uses it ("About a minute"). */
void format_human_duration(int64_t seconds, char *out, size_t outlen);

/* What the STATUS column of `docker ps` is computed from (the inspect
 * State object, kept small in the model). */
struct container_state {
	bool running, paused, restarting, dead, removing;
	int exit_code;
	time_t started, finished; /* 0 = never */
	const char *health;       /* starting | healthy | unhealthy | NULL */
};

/* "Up 5 minutes (healthy)", "Exited (0) 2 hours ago", "Created", as of now. */
void format_container_status(const struct container_state *s, time_t now,
			     struct buf *out);

/* NetworkSettings.Ports of an inspect object as `docker ps` prints them,
 * one per line: "0.0.0.0:8080->80/tcp", or "443/tcp" when unpublished.
 * Sorted by container port.  Empty when there are none. */
void format_ports(json_t *ports, struct buf *out);

#endif
