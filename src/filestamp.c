/*
 * filestamp.c - has a file changed since it was opened?  (filestamp.h)
 *
 * Every write moves mtime, and size and mtime catch the ordinary cases.
 * ctime is the part no writer can forge (utimensat() puts an mtime back
 * but moves ctime), yet it also moves when a link to the file goes: the
 * rename of a new file over the name (the safe way to update one) drops
 * the old inode's link count and sets its ctime, and must not count.  So
 * a new ctime is a change only while the link count is what it was.
 */
#include "config.h"

#include <errno.h>
#include <sys/stat.h>

#include "filestamp.h"

void filestamp_take(struct filestamp *s, const struct stat *st, uint64_t now_us)
{
	s->dev = st->st_dev;
	s->ino = st->st_ino;
	s->size = st->st_size;
	s->nlink = st->st_nlink;
	s->mtim = st->st_mtim;
	s->ctim = st->st_ctim;
	s->next_us = now_us + FILESTAMP_INTERVAL_US;
}

static bool same_time(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

bool filestamp_same(const struct filestamp *s, const struct stat *st)
{
	return s->dev == st->st_dev && s->ino == st->st_ino && s->size == st->st_size &&
	       same_time(&s->mtim, &st->st_mtim) &&
	       (same_time(&s->ctim, &st->st_ctim) || s->nlink != st->st_nlink);
}

int filestamp_check(const struct filestamp *s, int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	return filestamp_same(s, &st) ? 0 : -ESTALE;
}

int filestamp_poll(struct filestamp *s, int fd, uint64_t now_us)
{
	if (now_us < s->next_us)
		return 0;
	s->next_us = now_us + FILESTAMP_INTERVAL_US;
	return filestamp_check(s, fd);
}
