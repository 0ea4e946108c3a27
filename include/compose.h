/* compose.h - compose files to the specs `docker stack deploy` sends, and
 * live specs back to a compose file (compose.c).
 *
 * Pure: no engine, no tree.  The YAML is parsed by libfyaml (anchors,
 * aliases and `<<` merge keys resolved by the library), interpolated as the
 * docker CLI does ($VAR, ${VAR}, ${VAR:-d}, ${VAR-d}, ${VAR:?e}, ${VAR?e},
 * $$) with the variables of the stack's .env only, checked against the
 * compose schema's fields (what the CLI refuses is refused, with its
 * words), and converted field by field as the CLI's convert package does
 * (cli/compose/convert, v28): the names `<stack>_<name>`, the labels
 * com.docker.stack.namespace and com.docker.stack.image, the network
 * `<stack>_default`, the defaults.  Unit tested (tests/unit/test_compose.c).
 */
#ifndef DOCKFS_COMPOSE_H
#define DOCKFS_COMPOSE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#define COMPOSE_LABEL_NAMESPACE "com.docker.stack.namespace"
#define COMPOSE_LABEL_IMAGE "com.docker.stack.image"

/* The files a compose file names by a relative path (env_file, the file:
 * of secrets and configs), as the stack directory holds them: 0 and the
 * bytes (borrowed), or -ENOENT. */
struct compose_files {
	int (*get)(void *arg, const char *name, const char **data, size_t *len);
	void *arg;
};

/* What a deploy sends.  Every member is owned (compose_plan_free). */
struct compose_plan {
	/* compose service name -> ServiceSpec, secrets and configs named by
	 * SecretName/ConfigName (the IDs are the deployer's to add); sorted */
	json_t *services;
	/* network name -> POST /networks/create body (Name included) */
	json_t *networks;
	json_t *external_networks;  /* [name]: must exist, swarm-scoped */
	/* [SecretSpec] / [ConfigSpec]: Data (base64) when the file was held;
	 * without Data when it was not (see missing) */
	json_t *secrets, *configs;
	/* [{"kind": "env_file"|"secret"|"config", "file": F, "name": OBJ}]:
	 * files named but not held.  An env_file missing makes the plan
	 * unusable; a secret or config missing is usable only if that object
	 * exists already (it is then kept as it is). */
	json_t *missing;
	json_t *unset;     /* [name]: variables used with no value and no default */
	json_t *warnings;  /* [text]: what the CLI would warn about */
	/* [key]: fields docker stack deploy ignores but that ask for what only
	 * an admin may have (privileged, devices, pid/ipc/network_mode host,
	 * security_opt...): "services.web.privileged" */
	json_t *admin_fields;
};

/* Parses, interpolates, checks and converts.  0, or -EINVAL with the
 * reason in why (plan then empty). env: the stack's .env (may be NULL). */
int compose_plan_make(const char *stack, const char *yaml, size_t len, const char *env,
		      size_t envlen, const struct compose_files *files, struct compose_plan *plan,
		      char *why, size_t whylen);
void compose_plan_free(struct compose_plan *plan);

/* One string interpolated with vars (an object of strings).  Names used
 * with no value and no default are added to unset (may be NULL).  0 and
 * *out (malloc'd), or -EINVAL with why (a required variable, a bad $). */
int compose_interpolate(const char *in, json_t *vars, json_t *unset, char **out, char *why,
			size_t whylen);

/* KEY=VALUE lines as docker's --env-file reads them (# comments, leading
 * blanks dropped, the rest of the line the value; a KEY alone takes its
 * value from lookup if that has it).  dotenv: a value in matching single
 * or double quotes loses them (.env, as compose reads it).  Adds to out
 * (an object: name -> string). */
int compose_env_parse(const char *data, size_t len, bool dotenv, json_t *lookup, json_t *out,
		      char *why, size_t whylen);

/* Go's time.ParseDuration ("1m30s", "250ms") into nanoseconds. */
int compose_duration(const char *s, long long *ns);

/* Whether name is a stack name the CLI accepts (and a file name). */
bool compose_stack_name_valid(const char *name);

/* The compose file of stack from the engine's objects of that stack
 * (services as GET /services, networks as GET /networks (all the swarm's,
 * to name the services' network ids), secrets, configs), such that
 * compose_plan_make() of it gives the same specs.  *out malloc'd. */
int compose_render(const char *stack, json_t *services, json_t *networks, json_t *secrets,
		   json_t *configs, char **out);

#endif
