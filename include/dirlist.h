/* dirlist.h - a directory's entries as listed: names with their types.
 *
 * The tree's listings are made of these, and the model reports the names
 * a list gained or lost with them; it sits below both, so neither imports
 * the other for it.  A dirlist owns its names (copies).
 */
#ifndef DOCKFS_DIRLIST_H
#define DOCKFS_DIRLIST_H

#include <stddef.h>
#include <stdint.h>

enum node_type { NODE_DIR, NODE_FILE, NODE_LINK };

struct dirent_entry {
	char *name;
	enum node_type type;
	uint64_t ident;     /* tree_stat.ident of the entry, 0: the directory's */
};

struct dirlist {
	struct dirent_entry *v;
	size_t n, cap;
};

void dirlist_add(struct dirlist *l, const char *name, enum node_type type);
/* The same, for an entry that names an object of its own (tree_stat.ident). */
void dirlist_add_ident(struct dirlist *l, const char *name, enum node_type type,
		       uint64_t ident);
void dirlist_free(struct dirlist *l);

#endif
