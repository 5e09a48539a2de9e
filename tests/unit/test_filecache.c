/* test_filecache.c - a worker's shared copies of the files it serves
 * (src/filecache.c): shared while unchanged, never of a changed file,
 * evicted only when unused, bytes as preadv() would read them. */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"
#include "filecache.h"

static char dir[] = "/tmp/test_filecache.XXXXXX";

/* Write n bytes of pattern seed to name; open it, stamp taken. */
static int make(const char *name, size_t n, unsigned seed, struct filestamp *s)
{
	char path[128];
	uint8_t *buf = malloc(n ? n : 1);
	struct stat st;
	int w, fd;

	for (size_t i = 0; i < n; i++)
		buf[i] = (uint8_t)(i * 7 + seed);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	w = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (w < 0 || write(w, buf, n) != (ssize_t)n)
		abort();
	close(w);
	free(buf);
	fd = open(path, O_RDONLY);
	if (fd < 0 || fstat(fd, &st) < 0)
		abort();
	filestamp_take(s, &st, 0);
	return fd;
}

/* The file's bytes through filecache_readv, in blocks of bs from off,
 * compared with the pattern. */
static bool bytes_ok(const struct filecache_entry *e, size_t n, unsigned seed, size_t bs)
{
	uint8_t a[3][600];
	struct iovec iov[3];

	for (size_t off = 0; off < n + bs; off += 3 * bs) {
		size_t want = off >= n ? 0 : (n - off < 3 * bs ? n - off : 3 * bs), got;

		for (int i = 0; i < 3; i++)
			iov[i] = (struct iovec){ a[i], bs };
		got = filecache_readv(e, iov, 3, off);
		if (got != want)
			return false;
		for (size_t i = 0; i < got; i++)
			if (a[i / bs][i % bs] != (uint8_t)((off + i) * 7 + seed))
				return false;
	}
	return true;
}

int main(void)
{
	struct filecache c;
	struct filestamp s1, s2, s3, sbig;
	struct filecache_entry *e1, *e1b, *e2, *e3;
	int f1, f2, f3, fbig;
	char path[128];

	if (!mkdtemp(dir))
		abort();
	filecache_init(&c, 4000, 1000);
	f1 = make("one", 1000, 1, &s1);
	e1 = filecache_get(&c, f1, &s1);
	ok(e1 != NULL, "a file of file_max bytes is copied");
	ok(e1 && bytes_ok(e1, 1000, 1, 512), "its bytes, as preadv would read them (blocks of 512)");
	ok(e1 && bytes_ok(e1, 1000, 1, 7), "and in blocks of 7");
	e1b = filecache_get(&c, f1, &s1);
	ok(e1b == e1, "a second transfer of the unchanged file shares the copy");
	is_int(c.fills, 1, "read once");
	is_int(c.hits, 1, "found once");

	fbig = make("big", 1001, 2, &sbig);
	ok(filecache_get(&c, fbig, &sbig) == NULL, "a file over file_max is not copied");
	is_int(c.bytes, 1000, "and takes nothing");

	/* The same name rewritten (new inode or times): another entry. */
	nanosleep(&(struct timespec){ 0, 20 * 1000 * 1000 }, NULL);
	f2 = make("one", 1000, 3, &s2);
	e2 = filecache_get(&c, f2, &s2);
	ok(e2 != NULL && e2 != e1, "the file rewritten is a new copy");
	ok(e2 && bytes_ok(e2, 1000, 3, 512), "with the new bytes");
	ok(bytes_ok(e1, 1000, 1, 512), "the old copy keeps the old bytes for its transfers");

	/* A file that changes between the open and the copy. */
	f3 = make("three", 500, 4, &s3);
	nanosleep(&(struct timespec){ 0, 20 * 1000 * 1000 }, NULL);
	snprintf(path, sizeof(path), "%s/three", dir);
	{
		int w = open(path, O_WRONLY | O_APPEND);

		if (w < 0 || write(w, "x", 1) != 1)
			abort();
		close(w);
	}
	ok(filecache_get(&c, f3, &s3) == NULL, "a file grown since its open is not copied");
	is_int(c.bytes, 2000, "two copies held");

	/* Room: 4000 bytes; two in use (1000 each).  Unused ones go first. */
	filecache_put(&c, e1, false);
	filecache_put(&c, e1b, false);
	is_int(c.bytes, 2000, "an unused copy stays for the next transfer");
	close(f3);
	{
		struct filestamp s4, s5;
		int f4 = make("four", 1000, 5, &s4), f5 = make("five", 1000, 6, &s5);
		struct filecache_entry *e4 = filecache_get(&c, f4, &s4), *e5;

		ok(e4 != NULL, "a third copy fits");
		e5 = filecache_get(&c, f5, &s5);
		ok(e5 != NULL, "a fourth fits too (4000)");
		f3 = make("six", 1000, 7, &s3);
		e3 = filecache_get(&c, f3, &s3);
		ok(e3 != NULL, "a fifth evicts the unused one");
		is_int(c.bytes, 4000, "still within max");
		ok(bytes_ok(e2, 1000, 3, 512) && bytes_ok(e4, 1000, 5, 512) && bytes_ok(e5, 1000, 6, 512),
		   "copies in use were not touched");
		/* All in use now: no room, nothing evicted. */
		{
			struct filestamp s7;
			int f7 = make("seven", 1000, 8, &s7);

			ok(filecache_get(&c, f7, &s7) == NULL, "no room while every copy is in use");
			is_int(c.bytes, 4000, "nothing freed under a transfer");
			close(f7);
		}
		/* A transfer that saw its file change drops the copy. */
		filecache_put(&c, e5, true);
		is_int(c.bytes, 3000, "a stale copy is freed with its last user");
		{
			uint64_t fills = c.fills;
			struct filecache_entry *again = filecache_get(&c, f5, &s5);

			ok(again != NULL && c.fills == fills + 1, "and not found again: copied anew");
			filecache_put(&c, again, false);
		}
		filecache_put(&c, e4, false);
		close(f4);
		close(f5);
	}
	filecache_put(&c, e2, false);
	filecache_put(&c, e3, false);
	filecache_clear(&c);
	is_int(c.bytes, 0, "cleared");
	{
		struct filecache off;

		filecache_init(&off, 0, 0);
		ok(filecache_get(&off, f2, &s2) == NULL, "max 0: no copies");
	}
	close(f1);
	close(f2);
	close(f3);
	close(fbig);
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	if (system(path) != 0)
		return 1;
	return tap_done();
}
