/*
 * path-fuzzer.c - libFuzzer target for the file name rules.
 *
 * path_check runs on arbitrary bytes; an accepted name must satisfy the
 * rules, and opening it under a scratch root must never reach the file
 * that sits beside that root.  The root holds a few files, a directory
 * and symlinks that point out of it, so the kernel side is exercised too.
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "path.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int root_fd = -1;
static struct stat outside_st, outside_dir_st;
static char base[] = "/tmp/snow-owl-path-fuzzer.XXXXXX";

static void cleanup(void)
{
	static const char *const names[] = {
		"root/sub/file", "root/sub", "root/file", "root/up", "root/abs",
		"root/dir-up", "root", "outside", NULL,
	};
	char p[sizeof(base) + 32];

	for (int i = 0; names[i]; i++) {
		snprintf(p, sizeof(p), "%s/%s", base, names[i]);
		if (unlink(p) < 0)
			rmdir(p);
	}
	rmdir(base);
}

static void put_file(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0 || write(fd, "x\n", 2) != 2)
		abort();
	close(fd);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char p[sizeof(base) + 32];
	int base_fd;

	if (!mkdtemp(base))
		abort();
	atexit(cleanup);
	base_fd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (base_fd < 0)
		abort();
	put_file(base_fd, "outside");
	if (mkdirat(base_fd, "root", 0755) < 0)
		abort();
	root_fd = openat(base_fd, "root", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0 || mkdirat(root_fd, "sub", 0755) < 0)
		abort();
	put_file(root_fd, "file");
	put_file(root_fd, "sub/file");
	snprintf(p, sizeof(p), "%s/outside", base);
	if (symlinkat("../outside", root_fd, "up") < 0 || symlinkat(p, root_fd, "abs") < 0 ||
	    symlinkat("..", root_fd, "dir-up") < 0)
		abort();
	if (fstatat(base_fd, "outside", &outside_st, 0) < 0 || fstat(base_fd, &outside_dir_st) < 0)
		abort();
	close(base_fd);
	return 0;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *name = (const char *)data, *rel = NULL;
	char *copy;
	size_t len;
	struct stat st;
	int r, fd;

	r = path_check(name, size, &rel);
	if (r != 0) {
		if (r != -EINVAL && r != -ENAMETOOLONG)
			abort();
		return 0;
	}
	if (size == 0 || size > PATH_NAME_MAX || rel < name || rel >= name + size)
		abort();
	for (size_t i = 0; i < size; i++)
		if (data[i] < 0x20 || data[i] == 0x7f)
			abort();
	len = size - (size_t)(rel - name);
	if (rel != name && name[0] != '/')
		abort();
	if (rel[0] == '/')
		abort();	/* leading slashes are skipped */
	for (size_t i = 0; i < len; i++) {
		size_t j = i;

		while (j < len && rel[j] != '/')
			j++;
		if (j - i == 2 && rel[i] == '.' && rel[i + 1] == '.')
			abort();
		i = j;
	}

	/* The wire name is NUL-terminated by the packet parser; do the same. */
	copy = malloc(len + 1);
	if (!copy)
		abort();
	memcpy(copy, rel, len);
	copy[len] = '\0';

	fd = path_openat(root_fd, copy, O_RDONLY, 0);
	if (fd >= 0) {
		if (fstat(fd, &st) < 0 || same_file(&st, &outside_st) ||
		    same_file(&st, &outside_dir_st))
			abort();
		close(fd);
	}
	fd = path_open_read(root_fd, copy, &st);
	if (fd >= 0) {
		if (!S_ISREG(st.st_mode) || same_file(&st, &outside_st))
			abort();
		close(fd);
	}
	free(copy);
	return 0;
}
