/* objects.h - M/hosts/<host>/{images,networks,volumes}/ (objects.c), and the
 * judgement of create bodies that the subtrees which create things share. */
#ifndef DOCKFS_OBJECTS_H
#define DOCKFS_OBJECTS_H

#include <jansson.h>

#include "allowlist.h"
#include "tree.h"

extern const struct node_ops images_dir_ops, networks_dir_ops, volumes_dir_ops;

/* The allowlist's lookups of networks and volumes on h's engine (r holds
 * h, borrowed: valid while the caller's reference is). */
void objects_resolver(struct host *h, struct allowlist_resolver *r);

/* Below admin on h, replaces *body (the caller's) with the body the
 * allowlist writes from it, references looked up on h's engine; a refusal
 * is the caller's `error` (EACCES as a denial in the audit).  Admins' bodies
 * are left as written. */
int objects_judge_body(const struct caller *c, struct host *h, enum allowlist_kind kind,
		       json_t **body);

#endif
