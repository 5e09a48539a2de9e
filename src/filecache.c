/*
 * filecache.c - a worker's copies of the small files it serves
 * (filecache.h).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "filecache.h"

struct filecache_entry {
	struct filecache_entry *next, *prev;
	struct filestamp key;
	uint8_t *buf;
	size_t size;
	unsigned refs;
	bool stale;			/* freed when its last user is done */
};

void filecache_init(struct filecache *c, size_t max, size_t file_max)
{
	memset(c, 0, sizeof(*c));
	c->max = max;
	c->file_max = file_max < max ? file_max : max;
}

static bool same_key(const struct filestamp *a, const struct filestamp *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtim.tv_sec == b->mtim.tv_sec && a->mtim.tv_nsec == b->mtim.tv_nsec &&
	       a->ctim.tv_sec == b->ctim.tv_sec && a->ctim.tv_nsec == b->ctim.tv_nsec;
}

static void unlink_entry(struct filecache *c, struct filecache_entry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		c->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	e->next = e->prev = NULL;
}

static void push_front(struct filecache *c, struct filecache_entry *e)
{
	e->prev = NULL;
	e->next = c->head;
	if (c->head)
		c->head->prev = e;
	c->head = e;
}

static void free_entry(struct filecache *c, struct filecache_entry *e)
{
	unlink_entry(c, e);
	c->bytes -= e->size;
	free(e->buf);
	free(e);
}

void filecache_clear(struct filecache *c)
{
	while (c->head)
		free_entry(c, c->head);
}

/* Free unused entries, least recently used first, until need more bytes
 * fit.  Returns whether they do. */
static bool make_room(struct filecache *c, size_t need)
{
	struct filecache_entry *e = c->head;

	while (e && e->next)
		e = e->next;	/* the tail: least recently used */
	while (c->bytes + need > c->max && e) {
		struct filecache_entry *prev = e->prev;

		if (e->refs == 0)
			free_entry(c, e);
		e = prev;
	}
	return c->bytes + need <= c->max;
}

/* Read all of fd's size bytes into buf: 0, or -1 when it reads otherwise
 * (the file changed, or an error).  preadv(), the call the transfers'
 * sandbox allows. */
static int read_whole(int fd, uint8_t *buf, size_t size)
{
	size_t got = 0;
	uint8_t extra;
	struct iovec one = { .iov_base = &extra, .iov_len = 1 };

	while (got < size) {
		struct iovec iov = { .iov_base = buf + got, .iov_len = size - got };
		ssize_t n = preadv(fd, &iov, 1, (off_t)got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	/* Grown since the stamp was taken: not the file as opened. */
	return preadv(fd, &one, 1, (off_t)size) == 0 ? 0 : -1;
}

struct filecache_entry *filecache_get(struct filecache *c, int fd, const struct filestamp *s)
{
	struct filecache_entry *e;
	struct stat st;

	if (!c->max || s->size <= 0 || (uint64_t)s->size > c->file_max)
		return NULL;
	for (e = c->head; e; e = e->next) {
		if (!e->stale && same_key(&e->key, s)) {
			unlink_entry(c, e);
			push_front(c, e);
			e->refs++;
			c->hits++;
			return e;
		}
	}
	if (!make_room(c, (size_t)s->size))
		return NULL;
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->size = (size_t)s->size;
	e->buf = malloc(e->size);
	/* The stamp after the read must still be the stamp at open: the
	 * bytes are then the file the transfer opened. */
	if (!e->buf || read_whole(fd, e->buf, e->size) < 0 || fstat(fd, &st) < 0 || !filestamp_same(s, &st)) {
		free(e->buf);
		free(e);
		return NULL;
	}
	e->key = *s;
	e->refs = 1;
	c->bytes += e->size;
	c->fills++;
	push_front(c, e);
	return e;
}

void filecache_put(struct filecache *c, struct filecache_entry *e, bool stale)
{
	if (!e)
		return;
	if (stale)
		e->stale = true;
	if (--e->refs == 0 && e->stale)
		free_entry(c, e);
}

size_t filecache_readv(const struct filecache_entry *e, const struct iovec *iov, size_t n, uint64_t off)
{
	size_t got = 0;

	for (size_t i = 0; i < n && off < e->size; i++) {
		size_t len = iov[i].iov_len < e->size - off ? iov[i].iov_len : (size_t)(e->size - off);

		memcpy(iov[i].iov_base, e->buf + off, len);
		off += len;
		got += len;
		if (len < iov[i].iov_len)
			break;
	}
	return got;
}
