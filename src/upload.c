/*
 * upload.c - atomic uploads: temporary file, then link or rename.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "path.h"
#include "upload.h"

static void random_name(char *buf, size_t size, const char *base)
{
	/* arc4random comes from libbsd (or glibc >= 2.36). */
	snprintf(buf, size, ".%.200s.%08x%08x", base, arc4random(), arc4random());
}

static int open_named_temp(struct upload *u)
{
	for (int i = 0; i < 8; i++) {
		int fd;

		random_name(u->tmpname, sizeof(u->tmpname), u->base);
		fd = openat(u->dirfd, u->tmpname, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
			    u->mode);
		if (fd >= 0) {
			u->named = true;
			return fd;
		}
		if (errno != EEXIST)
			return -errno;
	}
	return -EEXIST;
}

int upload_begin(struct upload *u, int rootfd, const char *rel, const struct upload_policy *pol)
{
	const char *slash = strrchr(rel, '/');
	char dir[PATH_MAX];
	struct stat st, dst;
	int err;

	memset(u, 0, sizeof(*u));
	u->dirfd = u->fd = -1;
	if (slash) {
		if ((size_t)(slash - rel) >= sizeof(dir))
			return -ENAMETOOLONG;
		memcpy(dir, rel, (size_t)(slash - rel));
		dir[slash - rel] = '\0';
		rel = slash + 1;
	} else {
		strcpy(dir, ".");
	}
	if (!*rel || strcmp(rel, ".") == 0)
		return -EISDIR;
	if (strlen(rel) >= sizeof(u->base) - 32)
		return -ENAMETOOLONG;
	strcpy(u->base, rel);

	u->dirfd = path_openat(rootfd, dir[0] ? dir : ".", O_PATH | O_DIRECTORY, 0);
	if (u->dirfd < 0)
		return u->dirfd;

	if (fstatat(u->dirfd, u->base, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		/* Only regular files are replaced; never a link, never a
		 * directory or device. */
		if (!S_ISREG(st.st_mode)) {
			err = S_ISDIR(st.st_mode) ? -EISDIR : -EACCES;
			goto out_close_dir;
		}
		if (!pol->plain_perms && !(st.st_mode & S_IWOTH)) {
			err = -EACCES;
			goto out_close_dir;
		}
		if (pol->plain_perms && faccessat(u->dirfd, u->base, W_OK, AT_EACCESS) < 0) {
			err = -errno;
			goto out_close_dir;
		}
		u->replace = true;
		u->mode = st.st_mode & 0777;	/* keep the old permissions */
		if (fstat(u->dirfd, &dst) == 0 && (dst.st_mode & S_ISVTX) &&
		    st.st_uid != geteuid() && dst.st_uid != geteuid())
			u->copy_in = true;
	} else if (errno == ENOENT) {
		if (!pol->allow_create) {
			err = -ENOENT;
			goto out_close_dir;
		}
		u->mode = 0666 & ~pol->umask;
	} else {
		err = -errno;
		goto out_close_dir;
	}

	u->fd = openat(u->dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, u->mode);
	if (u->fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL))
		u->fd = open_named_temp(u);
	else if (u->fd < 0)
		u->fd = -errno;
	if (u->fd < 0) {
		err = u->fd;
		goto out_close_dir;
	}
	/* Read-write: the copying fallbacks read it back.  The mode must not
	 * depend on the process umask. */
	if (fchmod(u->fd, u->mode) < 0) {
		err = -errno;
		upload_abort(u);
		return err;
	}
	return 0;

out_close_dir:
	close(u->dirfd);
	u->dirfd = -1;
	return err;
}

/* Give the O_TMPFILE inode the name 'name' in the target directory. */
static int link_tmpfile(struct upload *u, const char *name)
{
	char proc[64];

	if (linkat(u->fd, "", u->dirfd, name, AT_EMPTY_PATH) == 0)
		return 0;
	if (errno != ENOENT && errno != EPERM)
		return -errno;
	/* Older kernels allow AT_EMPTY_PATH only with CAP_DAC_READ_SEARCH;
	 * /proc works where it is mounted (not inside a chroot). */
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", u->fd);
	if (linkat(AT_FDCWD, proc, u->dirfd, name, AT_SYMLINK_FOLLOW) == 0)
		return 0;
	return -errno;
}

/* Last resort for an O_TMPFILE that cannot be linked: copy it into a
 * hidden named file, which is then renamed like one made that way. */
static int copy_to_named(struct upload *u)
{
	int src = u->fd, dst;
	off_t off = 0, size = lseek(src, 0, SEEK_END);

	dst = open_named_temp(u);
	if (dst < 0)
		return dst;
	u->fd = dst;
	while (off < size) {
		ssize_t n = copy_file_range(src, &off, dst, NULL, (size_t)(size - off), 0);

		if (n <= 0) {
			int err = n < 0 ? -errno : -EIO;

			close(src);
			return err;
		}
	}
	close(src);
	return 0;
}

/* Sticky directory: write the finished upload into the old file. */
static int copy_into_target(struct upload *u)
{
	off_t off = 0, size = lseek(u->fd, 0, SEEK_END);
	int dst = openat(u->dirfd, u->base, O_WRONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	struct stat st;
	int err = 0;

	if (dst < 0)
		return -errno;
	if (fstat(dst, &st) < 0 || !S_ISREG(st.st_mode)) {
		err = -EACCES;	/* replaced by something else meanwhile */
		goto out;
	}
	while (off < size) {
		ssize_t n = copy_file_range(u->fd, &off, dst, NULL, (size_t)(size - off), 0);

		if (n <= 0) {
			err = n < 0 ? -errno : -EIO;
			goto out;
		}
	}
	if (ftruncate(dst, size) < 0)
		err = -errno;
out:
	close(dst);
	return err;
}

int upload_commit(struct upload *u)
{
	int err = 0;

	if (u->copy_in) {
		err = copy_into_target(u);
		if (u->named)
			unlinkat(u->dirfd, u->tmpname, 0);
		goto out;
	}
	if (!u->named) {
		if (!u->replace) {
			err = link_tmpfile(u, u->base);
			if (err != -EPERM && err != -ENOENT)
				goto out;
		} else {
			random_name(u->tmpname, sizeof(u->tmpname), u->base);
			err = link_tmpfile(u, u->tmpname);
			if (err == 0) {
				u->named = true;
				goto rename;
			}
			if (err != -EPERM && err != -ENOENT)
				goto out;
		}
		err = copy_to_named(u);
		if (err)
			goto out;
	}
rename:
	if (u->replace) {
		if (renameat(u->dirfd, u->tmpname, u->dirfd, u->base) < 0)
			err = -errno;
	} else {
		if (renameat2(u->dirfd, u->tmpname, u->dirfd, u->base, RENAME_NOREPLACE) < 0)
			err = -errno;
	}
	if (err)
		unlinkat(u->dirfd, u->tmpname, 0);
out:
	close(u->fd);
	close(u->dirfd);
	u->fd = u->dirfd = -1;
	u->named = false;
	return err;
}

void upload_abort(struct upload *u)
{
	if (u->named && u->dirfd >= 0)
		unlinkat(u->dirfd, u->tmpname, 0);
	if (u->fd >= 0)
		close(u->fd);
	if (u->dirfd >= 0)
		close(u->dirfd);
	u->fd = u->dirfd = -1;
	u->named = false;
}
