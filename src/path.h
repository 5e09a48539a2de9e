/*
 * path.h - file name rules and confined opens.
 *
 * A name from the wire is first checked lexically, then opened with
 * openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS) under the root
 * directory fd, so the kernel enforces confinement even for symlinks.
 */
#ifndef SNOW_OWL_PATH_H
#define SNOW_OWL_PATH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#define PATH_NAME_MAX 1024	/* bytes in a requested name */

/*
 * Lexical check of a requested name.  On success returns 0 and sets *rel
 * to the name relative to the root (leading slashes skipped).  Rejects an
 * empty name, control characters, a ".." component and over-long names
 * with -EINVAL / -ENAMETOOLONG.
 */
int path_check(const char *name, size_t len, const char **rel);

/* openat2 beneath dirfd.  Returns an fd or -errno. */
int path_openat(int dirfd, const char *rel, int flags, unsigned mode);

/*
 * Open a file for reading beneath rootfd: open first, then fstat, regular
 * files only (-EISDIR for directories, -EACCES for other types).
 */
int path_open_read(int rootfd, const char *rel, struct stat *st);

/*
 * Whether an upload to rel (as path_check() returned it) may land there:
 * with no patterns, anywhere; else where one of the shell patterns
 * matches the whole name, with fnmatch(FNM_PATHNAME | FNM_PERIOD): '*'
 * and '?' never match a '/', nor a leading '.' of a component.
 */
bool path_upload_allowed(const char *const *patterns, unsigned n, const char *rel);

/* TFTP error code for an errno value from the functions above. */
unsigned path_errno_to_tftp(int err);

#endif
