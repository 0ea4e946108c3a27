/* stacks.h - M/swarms/<swarm>/stacks/ (stacks.c): compose applications.
 *
 * A stack is what `docker stack` calls one: the services, networks,
 * secrets and configs of a swarm that carry the label
 * com.docker.stack.namespace=<name>, whoever made them; plus, until its
 * first deploy, a directory made by mkdir and the files copied into it.
 */
#ifndef DOCKFS_STACKS_H
#define DOCKFS_STACKS_H

#include <stdbool.h>

#include <jansson.h>

#include "buf.h"
#include "tree.h"

struct swarm_cache;

extern const struct node_ops swarm_stacks_dir_ops;

/* With the host's lock held: adds the name of every stack of s to names
 * (an object: name -> true). */
void stacks_names(const struct swarm_cache *s, json_t *names);

/* With the host's lock held: the stack's `status` as far as the swarm
 * decides it (one line per service: NAME RUNNING/DESIRED converged|converging
 * [the newest task's error]). */
void stacks_status(const struct swarm_cache *s, const char *stack, struct buf *out);

/* Whether the directory stacks/<stack> of the swarm of that cluster id was
 * made by mkdir and is kept without objects (the notifier must not
 * announce it gone when a failed deploy's objects go). */
bool stacks_made(const char *swarm_id, const char *stack);

#endif
