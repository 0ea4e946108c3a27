/* container_list.c - GET /containers/json parsed as it streams (yajl's
 * event parser), into container summaries. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>

#include "buf.h"
#include "container_list.h"
#include "model.h"

/* Deeper than any answer of the engine's; bounds what bad input costs. */
#define MAX_DEPTH 32

/* The summary's members the model keeps; the rest are read past. */
enum member { M_OTHER, M_ID, M_NAMES, M_IMAGE, M_STATE, M_CREATED, M_LABELS };

struct container_list_parser {
	struct container_list *l;
	yajl_handle yh;
	int depth;              /* 1 in the list, 2 in a summary, 3 in a member */
	enum member member;     /* the summary's member being read */
	struct container *c;    /* the summary being read, at depth >= 2 */
	bool have_name;         /* Names' first entry taken */
	bool label_open;        /* a label's key read, its value not yet */
	struct buf labels;      /* "key\0value\0"... of the summary being read */
};

static int refuse(struct container_list_parser *p, const char *why)
{
	snprintf(p->l->error, sizeof(p->l->error), "no container list: %s", why);
	return 0; /* yajl: cancel the parse */
}

static enum member member_of(const unsigned char *k, size_t len)
{
	static const struct {
		const char *key;
		enum member m;
	} known[] = {
		{ "Id", M_ID }, { "Names", M_NAMES }, { "Image", M_IMAGE },
		{ "State", M_STATE }, { "Created", M_CREATED }, { "Labels", M_LABELS },
	};

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strlen(known[i].key) == len && memcmp(known[i].key, k, len) == 0)
			return known[i].m;
	return M_OTHER;
}

/* Every value: a list entry must be an object; a label's value closes the
 * label (values that are not strings count as ""). */
static int value(struct container_list_parser *p, const unsigned char *s, size_t len)
{
	if (p->depth < 2)
		return refuse(p, p->depth ? "an entry is not an object" : "not an array");
	if (p->depth == 3 && p->member == M_LABELS && p->label_open) {
		/* A NUL (\u0000) would end the packed pair early. */
		if (len)
			buf_append(&p->labels, s, strnlen((const char *)s, len));
		buf_append(&p->labels, "", 1);
		p->label_open = false;
	}
	return 1;
}

static int on_null(void *ctx)
{
	return value(ctx, NULL, 0);
}

static int on_boolean(void *ctx, int b)
{
	return value(ctx, NULL, 0);
}

static int on_integer(void *ctx, long long v)
{
	struct container_list_parser *p = ctx;

	if (p->depth == 2 && p->member == M_CREATED)
		p->c->created_ts.tv_sec = (time_t)v;
	return value(p, NULL, 0);
}

static int on_double(void *ctx, double d)
{
	return value(ctx, NULL, 0);
}

static void copy_text(char *dst, size_t size, const unsigned char *s, size_t len)
{
	snprintf(dst, size, "%.*s", (int)(len < size ? len : size - 1), (const char *)s);
}

static int on_string(void *ctx, const unsigned char *s, size_t len)
{
	struct container_list_parser *p = ctx;
	struct container *c = p->c;

	if (p->depth == 2) {
		switch (p->member) {
		case M_ID:
			copy_text(c->id, sizeof(c->id), s, len);
			break;
		case M_STATE:
			copy_text(c->state, sizeof(c->state), s, len);
			break;
		case M_IMAGE:
			free(c->image);
			c->image = strndup((const char *)s, len);
			if (!c->image)
				abort();
			break;
		default:
			break;
		}
	} else if (p->depth == 3 && p->member == M_NAMES && !p->have_name) {
		/* Docker's leading '/' is not part of the name. */
		if (len && s[0] == '/') {
			s++;
			len--;
		}
		copy_text(c->name, sizeof(c->name), s, len);
		p->have_name = true;
	}
	return value(p, s, len);
}

static int open_nested(struct container_list_parser *p)
{
	int ok = value(p, NULL, 0);

	if (ok && ++p->depth > MAX_DEPTH)
		return refuse(p, "nested too deeply");
	return ok;
}

static int on_start_map(void *ctx)
{
	struct container_list_parser *p = ctx;

	if (p->depth != 1)
		return open_nested(p);
	p->c = calloc(1, sizeof(*p->c));
	if (!p->c)
		abort();
	p->have_name = false;
	p->label_open = false;
	p->member = M_OTHER;
	buf_reset(&p->labels);
	p->depth = 2;
	return 1;
}

static int on_map_key(void *ctx, const unsigned char *k, size_t len)
{
	struct container_list_parser *p = ctx;

	if (p->depth == 2) {
		p->member = member_of(k, len);
		if (p->member == M_LABELS) /* the last of duplicate keys wins */
			buf_reset(&p->labels);
	} else if (p->depth == 3 && p->member == M_LABELS) {
		buf_append(&p->labels, k, strnlen((const char *)k, len));
		buf_append(&p->labels, "", 1);
		p->label_open = true;
	}
	return 1;
}

/* A summary read: one without an Id is no container to show. */
static void end_summary(struct container_list_parser *p)
{
	struct container_list *l = p->l;
	struct container *c = p->c;

	p->c = NULL;
	if (!c->id[0]) {
		container_free(c);
		return;
	}
	if (!c->name[0])
		snprintf(c->name, sizeof(c->name), "%s", c->id);
	c->labels_len = p->labels.len;
	c->labels = buf_steal(&p->labels);
	container_summary_done(c);
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 64;
		l->v = realloc(l->v, l->cap * sizeof(*l->v));
		if (!l->v)
			abort();
	}
	l->v[l->n++] = c;
}

static int on_end_map(void *ctx)
{
	struct container_list_parser *p = ctx;

	if (--p->depth == 1)
		end_summary(p);
	return 1;
}

static int on_start_array(void *ctx)
{
	struct container_list_parser *p = ctx;

	if (p->depth == 0) {
		p->depth = 1;
		return 1;
	}
	return open_nested(p);
}

static int on_end_array(void *ctx)
{
	struct container_list_parser *p = ctx;

	p->depth--;
	return 1;
}

static const yajl_callbacks callbacks = {
	.yajl_null = on_null,
	.yajl_boolean = on_boolean,
	.yajl_integer = on_integer,
	.yajl_double = on_double,
	.yajl_string = on_string,
	.yajl_start_map = on_start_map,
	.yajl_map_key = on_map_key,
	.yajl_end_map = on_end_map,
	.yajl_start_array = on_start_array,
	.yajl_end_array = on_end_array,
};

void container_list_init(struct container_list *l)
{
	memset(l, 0, sizeof(*l));
	l->p = calloc(1, sizeof(*l->p));
	if (!l->p)
		abort();
	l->p->l = l;
	l->p->yh = yajl_alloc(&callbacks, NULL, l->p);
	if (!l->p->yh)
		abort();
}

/* yajl's reason for a failed parse, unless a callback gave its own. */
static void parse_error(struct container_list *l)
{
	if (l->error[0])
		return;
	unsigned char *why = yajl_get_error(l->p->yh, 0, NULL, 0);
	size_t n = why ? strcspn((const char *)why, "\n") : 0;

	snprintf(l->error, sizeof(l->error), "bad JSON in the container list: %.*s", (int)n,
		 why ? (const char *)why : "");
	if (why)
		yajl_free_error(l->p->yh, why);
}

bool container_list_feed(const char *data, size_t n, void *arg)
{
	struct container_list *l = arg;

	if (yajl_parse(l->p->yh, (const unsigned char *)data, n) == yajl_status_ok)
		return true;
	parse_error(l);
	return false;
}

int container_list_end(struct container_list *l)
{
	if (l->error[0])
		return -EIO;
	if (yajl_complete_parse(l->p->yh) != yajl_status_ok) {
		parse_error(l);
		return -EIO;
	}
	return 0;
}

void container_list_free(struct container_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		container_free(l->v[i]);
	free(l->v);
	if (l->p) {
		container_free(l->p->c);
		buf_free(&l->p->labels);
		yajl_free(l->p->yh);
		free(l->p);
	}
	memset(l, 0, sizeof(*l));
}
