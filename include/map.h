/* map.h - string-keyed hash map of pointers (separate chaining).
 *
 * The map does not own keys or values: a key must stay valid and unchanged
 * while its entry is in the map (usually it points into the value itself,
 * e.g. a container's id).  Not thread safe: the owner locks.
 */
#ifndef DOCKFS_MAP_H
#define DOCKFS_MAP_H

#include <stddef.h>

struct map_entry;

struct map {
	struct map_entry **buckets;
	size_t nbuckets;
	size_t count;
};

#define MAP_INIT { NULL, 0, 0 }

void *map_get(const struct map *m, const char *key);
/* Inserts or replaces; returns the value replaced, or NULL. */
void *map_put(struct map *m, const char *key, void *value);
/* Removes; returns the value removed, or NULL. */
void *map_del(struct map *m, const char *key);
/* Removes some entry and returns its value; NULL when empty. */
void *map_pop(struct map *m);
/* Calls fn for every entry; fn must not change the map. */
void map_foreach(const struct map *m, void (*fn)(const char *key, void *value, void *arg),
		 void *arg);
/* Frees the map's own memory (not keys or values). */
void map_clear(struct map *m);

#endif
