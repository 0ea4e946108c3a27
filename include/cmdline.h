/* cmdline.h - what is written to ctl and exec files, as words.
 *
 * A command line is split like a shell splits words, and never run
 * through one: blanks separate words; '...' quotes literally; "..." quotes
 * with \" \\ \$ \` escapes; a backslash outside quotes escapes the next
 * byte.  No expansion of any kind.  Pure functions, unit tested.
 */
#ifndef DOCKFS_CMDLINE_H
#define DOCKFS_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct argv {
	char **v;     /* NULL-terminated */
	int n;
};

/* Splits the len bytes at line (one trailing newline is ignored) into
 * words.  -EINVAL for an unterminated quote, a NUL byte or a newline
 * inside the line.  argv is the caller's: argv_free(). */
int cmdline_split(const char *line, size_t len, struct argv *argv);
void argv_free(struct argv *argv);

/* `docker run` / `docker create` arguments (after the create/run verb) to
 * the body of POST /containers/create, with the docker CLI's flag syntax
 * (--opt VALUE, --opt=VALUE, -x VALUE, -xVALUE, clustered -dit, --bool=false)
 * and its meaning for every option it takes (sizes, durations, CPUs, ports,
 * health checks, ulimits...).  *name gets --name (NULL if none; free()).
 * -EINVAL with a message in err naming the option for an unknown option,
 * one dockfs refuses (--env-file: the writer's files are never read) or a
 * bad value.  Options only an admin may use are parsed like the others: the
 * allowlist (allowlist.h) decides who may send them. */
int cmdline_container_spec(int argc, char *const argv[], json_t **body, char **name,
			   char *err, size_t errlen);

/* `docker service create` arguments (after the create verb) to a
 * ServiceSpec (POST /services/create), with the CLI's defaults where it
 * fills them (the first --update-* flag brings swarmkit's UpdateConfig
 * defaults, --restart-* its RestartPolicy's, the endpoint mode vip).
 * Secrets and configs are named (SecretName/ConfigName) without ids, for the
 * caller to resolve; networks by name (the engine resolves them).
 * -EINVAL with a message in err for an unknown option or a bad value. */
int cmdline_service_spec(int argc, char *const argv[], json_t **spec, char *err, size_t errlen);

/* Values as the docker CLI reads them; 0 or -EINVAL.
 * go-units RAMInBytes: 512m, 1g, 1.5GiB, 100 (bytes); 1024-based. */
int cmdline_ram_bytes(const char *s, int64_t *out);
/* Go's time.ParseDuration: 1m30s, 500ms, 1.5h, 0; nanoseconds. */
int cmdline_duration_ns(const char *s, int64_t *out);
/* opts.NanoCPUs: 1.5 -> 1500000000; finer than 1e-9 is refused. */
int cmdline_nano_cpus(const char *s, int64_t *out);

#endif
