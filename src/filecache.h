/*
 * filecache.h - a worker's copies of the small files it serves.
 *
 * In a boot storm thousands of transfers in one worker read the same few
 * files, one block per round trip: a preadv() per block (or per small
 * ring refill) per transfer.  The cache holds one copy of each such file,
 * shared by its transfers, so that a block costs a memcpy() instead.
 *
 * An entry is keyed by the file's stamp at open (filestamp.h: device,
 * inode, size, modification and change times), so a file that changed
 * since is a different entry, and it is filled only when the stamp after
 * reading the whole file is still the stamp of the open.  Transfers go on
 * checking their file as before: a change while one runs ends it as ever,
 * and the entry is dropped.  Unused entries are evicted oldest first when
 * room is needed; entries in use are never freed under a transfer.
 */
#ifndef SNOW_OWL_FILECACHE_H
#define SNOW_OWL_FILECACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "filestamp.h"

struct filecache_entry;

struct filecache {
	struct filecache_entry *head;	/* most recently used first */
	size_t bytes;			/* held by entries */
	size_t max;			/* 0: no cache */
	size_t file_max;		/* larger files are not cached */
	uint64_t hits, fills;
};

/* An empty cache of at most max bytes, files of at most file_max. */
void filecache_init(struct filecache *c, size_t max, size_t file_max);

/* Every entry freed (none may be in use). */
void filecache_clear(struct filecache *c);

/*
 * The entry for the file open on fd, whose stamp at open is s: found, or
 * read now when the file is small enough and room can be made.  NULL when
 * not cached (the caller reads the file itself).  Each entry returned is
 * given back with filecache_put().
 */
struct filecache_entry *filecache_get(struct filecache *c, int fd, const struct filestamp *s);

/* Give back e; stale: the file was seen to change, drop the entry. */
void filecache_put(struct filecache *c, struct filecache_entry *e, bool stale);

/* Copy the file's bytes from off into iov[0..n), as preadv() would. */
size_t filecache_readv(const struct filecache_entry *e, const struct iovec *iov, size_t n, uint64_t off);

#endif
