/* dirlist.c - a directory's entries as listed (see dirlist.h). */
#include <stdlib.h>
#include <string.h>

#include "dirlist.h"

void dirlist_add_ident(struct dirlist *l, const char *name, enum node_type type,
		       uint64_t ident)
{
	dirlist_add(l, name, type);
	l->v[l->n - 1].ident = ident;
}

void dirlist_add(struct dirlist *l, const char *name, enum node_type type)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 32;
		l->v = realloc(l->v, l->cap * sizeof(*l->v));
		if (!l->v)
			abort();
	}
	l->v[l->n].name = strdup(name);
	if (!l->v[l->n].name)
		abort();
	l->v[l->n].ident = 0;
	l->v[l->n++].type = type;
}

void dirlist_free(struct dirlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].name);
	free(l->v);
	*l = (struct dirlist){ 0 };
}
