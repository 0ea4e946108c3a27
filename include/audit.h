/* audit.h - the audit log: every acting call, allowed or refused, as a row
 * of the store's audit_logs, and M/audit, its JSON-lines view. */
#ifndef DOCKFS_AUDIT_H
#define DOCKFS_AUDIT_H

#include "tree.h"

enum audit_outcome { AUDIT_OK, AUDIT_DENIED, AUDIT_FAILED };

/* Writes one row for caller c.  message (may be NULL) is why it failed.
 * Every text is kept whole, passed through audit_text() first. */
void audit_record(const struct caller *c, const char *host, const char *action,
		  const char *resource_type, const char *resource_id, const char *details,
		  enum audit_outcome outcome, int err, const char *message);

/* Appends data[0..len) to out as printable UTF-8 text: valid UTF-8 is
 * kept as it is, and every other byte (invalid UTF-8, C0 and C1 controls,
 * DEL) becomes the four characters \xNN.  Idempotent, so text already
 * passed through it is unchanged; nothing is ever cut. */
void audit_text(struct buf *out, const char *data, size_t len);

#endif
