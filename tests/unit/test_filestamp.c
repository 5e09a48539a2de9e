/* test_filestamp.c - telling a changed file from the one opened (src/filestamp.c). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"
#include "filestamp.h"

static char dir[] = "/tmp/test_filestamp.XXXXXX";
static char path[64], path2[64];

/* A file of n bytes, open for reading, with its stamp taken at t = 0. */
static int fresh(struct filestamp *s, size_t n)
{
	char buf[4096] = { 'a' };
	struct stat st;
	int fd, w = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	while (n) {
		size_t k = n < sizeof(buf) ? n : sizeof(buf);

		if (write(w, buf, k) != (ssize_t)k)
			abort();
		n -= k;
	}
	close(w);
	fd = open(path, O_RDONLY);
	if (fd < 0 || fstat(fd, &st) < 0)
		abort();
	filestamp_take(s, &st, 0);
	/* Let the clock move past the stamp's timestamps, so that a write
	 * now gets a different mtime even on coarse-grained filesystems. */
	nanosleep(&(struct timespec){ 0, 20 * 1000 * 1000 }, NULL);
	return fd;
}

static void test_unchanged(void)
{
	struct filestamp s;
	int fd = fresh(&s, 10000);
	char c;

	is_int(filestamp_check(&s, fd), 0, "untouched: unchanged");
	if (pread(fd, &c, 1, 0) != 1)
		abort();
	is_int(filestamp_check(&s, fd), 0, "reading it changes nothing");
	close(fd);
}

static void test_changes(void)
{
	struct filestamp s;
	int fd, w;

	fd = fresh(&s, 10000);
	if (truncate(path, 5000) < 0)
		abort();
	is_int(filestamp_check(&s, fd), -ESTALE, "truncated: changed");
	close(fd);

	fd = fresh(&s, 10000);
	w = open(path, O_WRONLY | O_APPEND);
	if (write(w, "more", 4) != 4)
		abort();
	close(w);
	is_int(filestamp_check(&s, fd), -ESTALE, "appended: changed");
	close(fd);

	fd = fresh(&s, 10000);
	w = open(path, O_WRONLY);
	if (pwrite(w, "b", 1, 7000) != 1)
		abort();
	close(w);
	is_int(filestamp_check(&s, fd), -ESTALE, "rewritten in place, same size, same inode: changed");
	close(fd);

	/* An mtime put back by hand still moves ctime. */
	fd = fresh(&s, 10000);
	w = open(path, O_WRONLY);
	if (pwrite(w, "c", 1, 7000) != 1)
		abort();
	futimens(w, (struct timespec[2]){ { 0, UTIME_OMIT }, s.mtim });
	close(w);
	is_int(filestamp_check(&s, fd), -ESTALE, "rewritten with the old mtime restored: changed (ctime)");
	close(fd);
}

static void test_rename_over(void)
{
	struct filestamp s;
	int fd = fresh(&s, 10000);
	int w = open(path2, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	struct stat st;

	if (write(w, "new", 3) != 3)
		abort();
	close(w);
	if (rename(path2, path) < 0)
		abort();
	is_int(filestamp_check(&s, fd), 0, "another file renamed over the name: the open one is unchanged");
	if (stat(path, &st) < 0)
		abort();
	ok(!filestamp_same(&s, &st), "and the new file at the name is not the stamped one");
	close(fd);
}

static void test_poll(void)
{
	struct filestamp s;
	int fd = fresh(&s, 100);

	if (truncate(path, 0) < 0)
		abort();
	is_int(filestamp_poll(&s, fd, FILESTAMP_INTERVAL_US - 1), 0, "poll: no look before the interval");
	is_int(filestamp_poll(&s, fd, FILESTAMP_INTERVAL_US), -ESTALE, "poll: a look once it has passed");
	is_int(filestamp_poll(&s, fd, FILESTAMP_INTERVAL_US + 1), 0, "poll: then none for another interval");
	is_int(filestamp_poll(&s, fd, 2 * FILESTAMP_INTERVAL_US), -ESTALE, "poll: and another after it");
	close(fd);
	is_int(filestamp_check(&s, fd), -EBADF, "fstat's error is returned as it is");
}

int main(void)
{
	if (!mkdtemp(dir))
		abort();
	snprintf(path, sizeof(path), "%s/f", dir);
	snprintf(path2, sizeof(path2), "%s/g", dir);
	test_unchanged();
	test_changes();
	test_rename_over();
	test_poll();
	unlink(path);
	rmdir(dir);
	return tap_done();
}
