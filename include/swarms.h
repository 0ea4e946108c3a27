/* swarms.h - M/swarms/: the swarms' directories (swarms.c, nodes.c,
 * services.c, secrets.c; stacks in stacks.h) and the writes they all make
 * to a manager, over the swarm model (swarm.h).
 */
#ifndef DOCKFS_SWARMS_H
#define DOCKFS_SWARMS_H

#include <stdbool.h>

#include <jansson.h>

#include "buf.h"
#include "swarm.h"
#include "tree.h"

/* ---- the directories (swarms.c, nodes.c, services.c, secrets.c) --------- */

extern const struct node_ops swarms_dir_ops;
extern const struct node_ops swarm_nodes_dir_ops, swarm_services_dir_ops,
	swarm_secrets_dir_ops, swarm_configs_dir_ops;
/* M/hosts/<h>/ctl's `swarm ...` verbs (init, join, leave), argv after "swarm". */
int swarm_host_ctl(const struct caller *c, struct host *h, int argc, char *const argv[],
		   struct buf *out);

/* ---- the writes every swarm file makes (swarms.c) ----------------------- */

/* One engine call for a write; the engine's message becomes the caller's
 * `error`; answer (may be NULL) gets the body. */
int swarm_act(struct host *h, const char *method, const char *path, const char *body,
	      bool create, struct buf *answer);
/* Reads kind ("services", "nodes", "swarm") object id's Version and Spec,
 * lets edit change the spec, and posts it to .../update?version=N&extra
 * (extra: NULL or one constant "key=value"; the paths come from docker_path).
 * Reads again and retries (SWARM_UPDATE_TRIES in all) when the version
 * moved under it: another client, or the swarm's updater recording its
 * progress.  edit may be called once a try.  Refreshes the model. */
int swarm_update(struct host *h, const char *kind, const char *id, const char *extra,
		 int (*edit)(json_t *spec, void *arg), void *arg);
/* swarm_update without the refresh, for a caller that makes several
 * updates and refreshes once (a stack deploy). */
int swarm_update_unsettled(struct host *h, const char *kind, const char *id, const char *extra,
			   int (*edit)(json_t *spec, void *arg), void *arg);

#endif
