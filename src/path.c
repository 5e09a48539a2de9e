/*
 * path.c - lexical name rules and kernel-enforced confinement.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/openat2.h>

#include "packet.h"
#include "path.h"

int path_check(const char *name, size_t len, const char **rel)
{
	const char *p, *end = name + len;

	if (len == 0)
		return -EINVAL;
	if (len > PATH_NAME_MAX)
		return -ENAMETOOLONG;
	for (p = name; p < end; p++) {
		unsigned char c = (unsigned char)*p;

		if (c < 0x20 || c == 0x7f)
			return -EINVAL;
	}
	/* Names are relative to the root: "/boot/x" is "boot/x". */
	while (name < end && *name == '/')
		name++;
	if (name == end)
		return -EINVAL;
	/* No ".." component anywhere (the kernel would stop an escape, but a
	 * name that tries one is refused before any lookup). */
	for (p = name; p < end;) {
		const char *slash = memchr(p, '/', (size_t)(end - p));
		const char *cend = slash ? slash : end;

		if (cend - p == 2 && p[0] == '.' && p[1] == '.')
			return -EINVAL;
		p = slash ? slash + 1 : end;
	}
	*rel = name;
	return 0;
}

int path_openat(int dirfd, const char *rel, int flags, unsigned mode)
{
	/* openat2 is strict: O_PATH takes no other access flags. */
	int extra = (flags & O_PATH) ? O_CLOEXEC : O_CLOEXEC | O_NOCTTY;
	struct open_how how = {
		.flags = (unsigned long long)(flags | extra),
		.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};
	long fd;

	do
		fd = syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));
	while (fd < 0 && errno == EAGAIN);
	return fd < 0 ? -errno : (int)fd;
}

int path_open_read(int rootfd, const char *rel, struct stat *st)
{
	/* O_NONBLOCK: opening a FIFO must not block the transfer. */
	int fd = path_openat(rootfd, rel, O_RDONLY | O_NONBLOCK, 0);
	int err;

	if (fd < 0)
		return fd;
	if (fstat(fd, st) < 0) {
		err = -errno;
		goto out_close;
	}
	if (S_ISDIR(st->st_mode)) {
		err = -EISDIR;
		goto out_close;
	}
	if (!S_ISREG(st->st_mode)) {
		err = -EACCES;
		goto out_close;
	}
	/* O_NONBLOCK stays: it means nothing for a regular file. */
	return fd;
out_close:
	close(fd);
	return err;
}

bool path_upload_allowed(const char *const *patterns, unsigned n, const char *rel)
{
	if (n == 0)
		return true;
	for (unsigned i = 0; i < n; i++)
		if (fnmatch(patterns[i], rel, FNM_PATHNAME | FNM_PERIOD) == 0)
			return true;
	return false;
}

unsigned path_errno_to_tftp(int err)
{
	if (err < 0)
		err = -err;
	switch (err) {
	case ENOENT:
	case ENOTDIR:
		return ERR_NOT_FOUND;
	case EACCES:
	case EPERM:
	case EXDEV:	/* RESOLVE_BENEATH: the name would leave the root */
	case ELOOP:
	case EISDIR:
	case EROFS:
	case EINVAL:
	case ENAMETOOLONG:
		return ERR_ACCESS;
	case EEXIST:
		return ERR_EXISTS;
	case ENOSPC:
	case EDQUOT:
	case EFBIG:
		return ERR_DISK_FULL;
	default:
		return ERR_UNDEFINED;
	}
}
