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

/* `docker run` style arguments (after the create/run verb) to the body of
 * POST /containers/create.  *name gets --name (NULL if none; free()).
 * -EINVAL with a message in err for an unknown option or a bad value. */
int cmdline_container_spec(int argc, char *const argv[], json_t **body, char **name,
			   char *err, size_t errlen);

/* `docker service create` style arguments (after the create verb) to a
 * ServiceSpec (POST /services/create).  Secrets and configs are named
 * (SecretName/ConfigName) without ids, for the caller to resolve.
 * -EINVAL with a message in err for an unknown option or a bad value. */
int cmdline_service_spec(int argc, char *const argv[], json_t **spec, char *err, size_t errlen);

#endif
