/*
 * upload.h - atomic uploads.
 *
 * Data goes to an unnamed temporary file (O_TMPFILE) in the target's
 * directory, or a hidden named one where the file system has no
 * O_TMPFILE, and is published only when complete: linked in when the
 * name is new, renamed over the old file when overwriting is allowed.
 * A failed or interrupted upload leaves the old file as it was.
 *
 * One case cannot be renamed over: in a sticky directory (mode 1777) only
 * the owner of a file may replace it.  There the complete upload is
 * copied into the old file instead, which keeps it intact through any
 * interrupted transfer, though not through a crash during that copy.
 */
#ifndef SNOW_OWL_UPLOAD_H
#define SNOW_OWL_UPLOAD_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

#define UPLOAD_PATHS_MAX 32

struct upload_policy {
	bool allow_create;	/* -c: new files may be created */
	const char *paths[UPLOAD_PATHS_MAX];	/* --upload-path patterns */
	unsigned npaths;	/* 0: uploads may go anywhere */
	bool plain_perms;	/* -p: only the kernel's permission checks */
	mode_t umask;		/* -U */
};

struct upload {
	int dirfd;		/* the target's directory (O_PATH) */
	int fd;			/* the temporary file, written by the caller */
	bool named;		/* fd is the hidden file tmpname, not O_TMPFILE */
	bool replace;		/* the target exists and may be overwritten */
	bool copy_in;		/* ... but only by writing into it (sticky dir) */
	mode_t mode;
	char base[NAME_MAX + 1];
	char tmpname[NAME_MAX + 1];
};

/*
 * Check the policy for rel (already lexically checked) beneath rootfd and
 * open the temporary file.  Returns 0 or -errno (-ENOENT when the file
 * does not exist and creating is not allowed, -EACCES when refused).
 */
int upload_begin(struct upload *u, int rootfd, const char *rel, const struct upload_policy *pol);

/* Publish the written file under its name.  Returns 0 or -errno. */
int upload_commit(struct upload *u);

/* Discard the temporary file; the old file, if any, is untouched. */
void upload_abort(struct upload *u);

#endif
