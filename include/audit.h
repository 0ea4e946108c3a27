/* audit.h - the audit log: every acting call, allowed or refused, as a row
 * of the store's audit_logs, and M/audit, its JSON-lines view. */
#ifndef DOCKFS_AUDIT_H
#define DOCKFS_AUDIT_H

#include "tree.h"

enum audit_outcome { AUDIT_OK, AUDIT_DENIED, AUDIT_FAILED };

/* Writes one row for caller c.  message (may be NULL) is why it failed. */
void audit_record(const struct caller *c, const char *host, const char *action,
		  const char *resource_type, const char *resource_id, const char *details,
		  enum audit_outcome outcome, int err, const char *message);

#endif
