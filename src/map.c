/* map.c - string-keyed hash map (FNV-1a, chaining, doubling at load 1). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "map.h"

struct map_entry {
	struct map_entry *next;
	const char *key;
	void *value;
	uint64_t hash;
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	while (*s) {
		h ^= (unsigned char)*s++;
		h *= 1099511628211ULL;
	}
	return h;
}

static struct map_entry **find(const struct map *m, const char *key, uint64_t h)
{
	struct map_entry **pp = &m->buckets[h & (m->nbuckets - 1)];

	while (*pp && ((*pp)->hash != h || strcmp((*pp)->key, key) != 0))
		pp = &(*pp)->next;
	return pp;
}

void *map_get(const struct map *m, const char *key)
{
	if (!m->count)
		return NULL;
	struct map_entry *e = *find(m, key, hash_str(key));
	return e ? e->value : NULL;
}

static void grow(struct map *m)
{
	size_t n = m->nbuckets ? m->nbuckets * 2 : 16;
	struct map_entry **b = calloc(n, sizeof(*b));

	if (!b)
		abort();
	for (size_t i = 0; i < m->nbuckets; i++) {
		struct map_entry *e = m->buckets[i], *next;
		for (; e; e = next) {
			next = e->next;
			e->next = b[e->hash & (n - 1)];
			b[e->hash & (n - 1)] = e;
		}
	}
	free(m->buckets);
	m->buckets = b;
	m->nbuckets = n;
}

void *map_put(struct map *m, const char *key, void *value)
{
	uint64_t h = hash_str(key);

	if (m->count >= m->nbuckets)
		grow(m);
	struct map_entry **pp = find(m, key, h);
	if (*pp) {
		void *old = (*pp)->value;
		(*pp)->key = key;
		(*pp)->value = value;
		return old;
	}
	struct map_entry *e = malloc(sizeof(*e));
	if (!e)
		abort();
	*e = (struct map_entry){ .next = NULL, .key = key, .value = value, .hash = h };
	*pp = e;
	m->count++;
	return NULL;
}

void *map_del(struct map *m, const char *key)
{
	if (!m->count)
		return NULL;
	struct map_entry **pp = find(m, key, hash_str(key));
	struct map_entry *e = *pp;
	if (!e)
		return NULL;
	void *v = e->value;
	*pp = e->next;
	free(e);
	m->count--;
	return v;
}

void *map_pop(struct map *m)
{
	for (size_t i = 0; m->count && i < m->nbuckets; i++) {
		struct map_entry *e = m->buckets[i];
		if (e) {
			void *v = e->value;
			m->buckets[i] = e->next;
			free(e);
			m->count--;
			return v;
		}
	}
	return NULL;
}

void map_foreach(const struct map *m, void (*fn)(const char *, void *, void *), void *arg)
{
	for (size_t i = 0; i < m->nbuckets; i++)
		for (struct map_entry *e = m->buckets[i]; e; e = e->next)
			fn(e->key, e->value, arg);
}

void map_clear(struct map *m)
{
	for (size_t i = 0; i < m->nbuckets; i++) {
		struct map_entry *e = m->buckets[i], *next;
		for (; e; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(m->buckets);
	*m = (struct map)MAP_INIT;
}
