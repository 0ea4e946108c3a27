/* allowlist.h - the create and update bodies a caller below admin may send.
 *
 * Creating a container or a service is root on the engine when its spec may
 * bind host paths, run privileged, join the host's namespaces, add devices or
 * capabilities: only admins may.  A filter that looks for a few named fields
 * cannot decide that, because the engine's Go JSON decoder matches keys
 * case-insensitively with Unicode folding ("Hoſtconfig" is HostConfig) and
 * still reads HostConfig fields at the top level of a create body.
 *
 * So below admin nothing written is forwarded.  The body is parsed against
 * dockfs's own description of the fields an operator may set (a schema per
 * kind, in allowlist.c), and the body sent to the engine is written afresh
 * from what was understood: canonical keys only, values of the declared
 * types, references to networks and volumes resolved and judged.  A key that
 * is not in the description, under any spelling and at any level, is
 * refused; so is a key that is in it but not byte-exact.  The run/create
 * command syntax goes through the same parser, so one code path decides.
 *
 * Pure apart from the resolver's calls; unit tested (tests/unit).
 */
#ifndef DOCKFS_ALLOWLIST_H
#define DOCKFS_ALLOWLIST_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

enum allowlist_kind {
	ALLOW_CONTAINER,   /* POST /containers/create (without the name) */
	ALLOW_SERVICE,     /* a ServiceSpec: /services/create, spec.json */
	ALLOW_NETWORK,     /* POST /networks/create */
	ALLOW_VOLUME,      /* POST /volumes/create */
};

/* What a reference names, as the engine resolves it. */
struct allowlist_ref {
	char name[256];
	char id[80];
	char driver[64];
	bool options;      /* a volume with driver options (type=none,o=bind...) */
};

/* Looks references up on the engine the body is for.  Each returns 0 and
 * fills out, -ENOENT if there is no such object, another -errno if it
 * cannot be known (the body is then refused with that errno). */
struct allowlist_resolver {
	/* A network by name, full id or id prefix. */
	int (*network)(void *arg, const char *ref, struct allowlist_ref *out);
	/* A volume by name. */
	int (*volume)(void *arg, const char *name, struct allowlist_ref *out);
	void *arg;
};

/* Parses body (borrowed) as a kind body from a caller below admin.
 * 0 and *out a new body (the caller's: json_decref) holding exactly what was
 * understood; else *out NULL and -EACCES (a field or value that needs admin,
 * or no field an operator may set) or -EINVAL (a value of the wrong type or
 * form, a key spelled otherwise than its canonical name, a reference to
 * nothing), with the reason, naming the field, in why. */
int allowlist_rebuild(enum allowlist_kind kind, json_t *body, const struct allowlist_resolver *r,
		      json_t **out, char *why, size_t whylen);

/* Whether a container as the engine reports it (inspect: GET
 * /containers/ID/json, borrowed) holds what only an admin may create:
 * privileged, added capabilities or devices, security options, a namespace
 * of the host's or another container's, a bind of a host path (or a volume
 * with driver options).  Reaching into such a container (exec) is root on
 * the engine's machine, so that needs admin too.  0, or -EACCES with the
 * reason in why (or the resolver's errno). */
int allowlist_judge_container(json_t *inspect, const struct allowlist_resolver *r, char *why,
			      size_t whylen);

#endif
