/* container_list.h - an engine's container list (GET /containers/json),
 * parsed as it arrives.
 *
 * The list is the one answer that grows with the fleet (600 bytes a
 * container: 6 MB for 10k) and the one a fresh mount waits for.  yajl's
 * event parser reads it from curl's buffers as they come and keeps only the
 * members the model uses (Id, Names, Image, State, Created, Labels), where
 * copying the body and building a jansson tree of every member took three
 * times as long and held the whole tree at once.  Everything else of the
 * Docker API is small and read with jansson.
 */
#ifndef DOCKFS_CONTAINER_LIST_H
#define DOCKFS_CONTAINER_LIST_H

#include <stdbool.h>
#include <stddef.h>

struct container;
struct container_list_parser;

struct container_list {
	/* The summaries, in the engine's order: each filled as
	 * container_summary_done() leaves it (not detailed).  The list owns
	 * them; a caller that keeps one sets its slot to NULL. */
	struct container **v;
	size_t n, cap;
	char error[200];        /* why the answer is no container list, or "" */
	struct container_list_parser *p;
};

void container_list_init(struct container_list *l);
/* Parses the next piece of the answer (a docker_call sink, arg the list):
 * false, with l->error, once it is no container list. */
bool container_list_feed(const char *p, size_t n, void *arg);
/* The answer ended: 0, or -EIO with l->error if it was incomplete or no
 * container list. */
int container_list_end(struct container_list *l);
/* Frees the summaries left in v and the parser. */
void container_list_free(struct container_list *l);

#endif
