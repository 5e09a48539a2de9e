/*
 * filestamp.h - has a file changed since it was opened?
 *
 * A file being served is read in pieces over seconds or minutes.  If it
 * is truncated, appended to or rewritten in place meanwhile, the client
 * would get a mix of old and new bytes (or a prefix) and could not tell.
 * The stamp taken at open (inode, device, size, mtime, ctime) is compared
 * with fstat() now and then: at most every FILESTAMP_INTERVAL_US and
 * FILESTAMP_POLL_BYTES while data is read, and always once all of it has
 * been read.  A new file
 * renamed over the name is not a change: the open descriptor still reads
 * the old inode, whole (and the unlink that moves the old inode's ctime
 * also lowers its link count, which tells it from a write).
 */
#ifndef SNOW_OWL_FILESTAMP_H
#define SNOW_OWL_FILESTAMP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#define FILESTAMP_INTERVAL_US 100000	/* fstat at most this often */
#define FILESTAMP_POLL_BYTES (64u << 10)	/* ... and once this much more was read */

struct filestamp {
	dev_t dev;
	ino_t ino;
	off_t size;
	nlink_t nlink;
	struct timespec mtim, ctim;
	uint64_t next_us;		/* next periodic check */
};

/* Take the stamp from the file's fstat() at open; now_us starts the
 * interval. */
void filestamp_take(struct filestamp *s, const struct stat *st, uint64_t now_us);

/* True when st describes the file as it was stamped. */
bool filestamp_same(const struct filestamp *s, const struct stat *st);

/* Compare with fd's fstat() now: 0 unchanged, -ESTALE changed, or the
 * -errno of fstat(). */
int filestamp_check(const struct filestamp *s, int fd);

/* filestamp_check(), but only when the interval has passed (else 0): a
 * clock comparison on the hot path, a system call ten times a second. */
int filestamp_poll(struct filestamp *s, int fd, uint64_t now_us);

#endif
