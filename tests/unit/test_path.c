/* Unit tests for src/path.c: lexical name checks, confined opens and errno -> TFTP codes. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tap.h"
#include "packet.h"
#include "path.h"

/* path_check accepts len bytes of name; *rel is want_rel, inside name. */
static void check_ok(const char *name, size_t len, const char *want_rel, const char *what)
{
	const char *rel = NULL;
	int r = path_check(name, len, &rel);

	is_int(r, 0, "path_check accepts %s", what);
	ok(r == 0 && rel >= name && rel <= name + len &&
	   strncmp(rel, want_rel, strlen(want_rel)) == 0 &&
	   (size_t)(name + len - rel) == strlen(want_rel),
	   "%s: rel is \"%s\" inside the name", what, want_rel);
}

#define CHECK_OK(name, rel) check_ok(name, strlen(name), rel, "\"" name "\"")

static void check_bad(const char *name, size_t len, int want, const char *what)
{
	const char *rel = NULL;

	is_int(path_check(name, len, &rel), want, "path_check rejects %s", what);
}

static void test_check(void)
{
	static char longname[PATH_NAME_MAX + 2];
	const char *rel;

	CHECK_OK("a", "a");
	CHECK_OK("a/b", "a/b");
	CHECK_OK("/boot/x", "boot/x");
	CHECK_OK("//a", "a");
	CHECK_OK("a/./b", "a/./b");
	CHECK_OK("./a", "./a");
	CHECK_OK("...", "...");
	CHECK_OK("..a", "..a");
	CHECK_OK("a..", "a..");
	CHECK_OK("a/.../b", "a/.../b");
	CHECK_OK("a b~", "a b~");
	CHECK_OK("caf\xc3\xa9", "caf\xc3\xa9");

	path_check("/boot/x", 7, &rel);
	is_str(rel, "boot/x", "\"/boot/x\": rel string is \"boot/x\"");

	check_bad("", 0, -EINVAL, "\"\"");
	check_bad("/", 1, -EINVAL, "\"/\"");
	check_bad("//", 2, -EINVAL, "\"//\"");
	check_bad("..", 2, -EINVAL, "\"..\"");
	check_bad("/..", 3, -EINVAL, "\"/..\"");
	check_bad("../x", 4, -EINVAL, "\"../x\"");
	check_bad("a/../b", 6, -EINVAL, "\"a/../b\"");
	check_bad("a/..", 4, -EINVAL, "\"a/..\"");
	check_bad("a/../", 5, -EINVAL, "\"a/../\"");
	check_bad("a\nb", 3, -EINVAL, "a name with \\n");
	check_bad("a\x01", 2, -EINVAL, "a name with \\x01");
	check_bad("a\x7f", 2, -EINVAL, "a name with \\x7f");
	check_bad("\x1f", 1, -EINVAL, "a name with \\x1f");
	check_bad("a\0b", 3, -EINVAL, "a name with an embedded NUL");

	/* Only len bytes are looked at. */
	check_ok("abc/..", 3, "abc", "the first 3 bytes of \"abc/..\"");
	check_ok("a\n", 1, "a", "the first byte of \"a\\n\"");

	memset(longname, 'n', PATH_NAME_MAX + 1);
	is_int(path_check(longname, PATH_NAME_MAX, &rel), 0, "a name of PATH_NAME_MAX bytes");
	ok(rel == longname, "long name: rel is the name");
	check_bad(longname, PATH_NAME_MAX + 1, -ENAMETOOLONG, "PATH_NAME_MAX + 1 bytes");
	longname[0] = '/';
	check_bad(longname, PATH_NAME_MAX + 1, -ENAMETOOLONG,
		  "PATH_NAME_MAX + 1 bytes with a leading slash");
}

/* The sandbox: tmp/root is the TFTP root, tmp/outside.txt lies outside it. */
static char tmp[64];
static int tmpfd = -1;

static const char *const dirs[] = { "root", "root/dir" };
static const char *const files[] = {
	"outside.txt", "root/file.txt", "root/dir/nested.txt", "root/fifo",
	"root/link-in", "root/dir/link-up-in", "root/link-etc", "root/link-out",
	"root/link-abs-in", "root/new.txt", "escape.txt",
};

static void put_file(const char *name, const char *content)
{
	int fd = openat(tmpfd, name, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0 || write(fd, content, strlen(content)) != (ssize_t)strlen(content))
		printf("# cannot write %s: %s\n", name, strerror(errno));
	if (fd >= 0)
		close(fd);
}

static int setup_tree(void)
{
	char target[128];

	strcpy(tmp, "/tmp/snow-owl-test-path.XXXXXX");
	if (!mkdtemp(tmp) || (tmpfd = open(tmp, O_RDONLY | O_DIRECTORY)) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (mkdirat(tmpfd, dirs[i], 0755) < 0)
			return -1;
	put_file("outside.txt", "secret\n");
	put_file("root/file.txt", "hello, world\n");
	put_file("root/dir/nested.txt", "nested\n");
	snprintf(target, sizeof(target), "%s/root/file.txt", tmp);
	if (mkfifoat(tmpfd, "root/fifo", 0644) < 0 ||
	    symlinkat("file.txt", tmpfd, "root/link-in") < 0 ||
	    symlinkat("../file.txt", tmpfd, "root/dir/link-up-in") < 0 ||
	    symlinkat("/etc/passwd", tmpfd, "root/link-etc") < 0 ||
	    symlinkat("../outside.txt", tmpfd, "root/link-out") < 0 ||
	    symlinkat(target, tmpfd, "root/link-abs-in") < 0)
		return -1;
	return openat(tmpfd, "root", O_RDONLY | O_DIRECTORY);
}

static void cleanup_tree(void)
{
	int left = 0;

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (unlinkat(tmpfd, files[i], 0) < 0 && errno != ENOENT)
			left++;
	for (size_t i = sizeof(dirs) / sizeof(dirs[0]); i-- > 0;)
		left += unlinkat(tmpfd, dirs[i], AT_REMOVEDIR) < 0;
	close(tmpfd);
	left += rmdir(tmp) < 0;
	is_int(left, 0, "temporary directory removed");
}

/* path_open_read succeeds with a regular file of want_size bytes. */
static void check_open(int root, const char *rel, off_t want_size)
{
	struct stat st;
	int fd = path_open_read(root, rel, &st);

	ok(fd >= 0, "open \"%s\"", rel);
	if (fd < 0) {
		printf("#   error %d\n", fd);
		return;
	}
	ok(S_ISREG(st.st_mode) && st.st_size == want_size, "\"%s\": regular, %lld bytes",
	   rel, (long long)want_size);
	is_int(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDONLY, "\"%s\": opened read-only", rel);
	is_int(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC, "\"%s\": close-on-exec", rel);
	close(fd);
}

static void check_open_fails(int root, const char *rel, int want, const char *what)
{
	struct stat st;
	int fd = path_open_read(root, rel, &st);

	if (want)
		is_int(fd, want, "open %s", what);
	else
		ok(fd < 0, "open %s fails (%d)", what, fd);
	if (fd >= 0)
		close(fd);
}

static void test_open(void)
{
	int root = setup_tree();
	int fd;

	ok(root >= 0, "temporary tree set up in %s", tmp);
	if (root < 0) {
		printf("#   %s\n", strerror(errno));
		return;
	}

	check_open(root, "file.txt", 13);
	check_open(root, "dir/nested.txt", 7);
	check_open(root, "link-in", 13);
	check_open(root, "dir/link-up-in", 13);

	alarm(10);	/* a FIFO open that blocks kills the test */
	check_open_fails(root, "fifo", -EACCES, "a FIFO -> -EACCES without blocking");
	alarm(0);
	check_open_fails(root, "dir", -EISDIR, "a directory -> -EISDIR");
	check_open_fails(root, ".", -EISDIR, "the root itself -> -EISDIR");
	check_open_fails(root, "missing", -ENOENT, "a missing file -> -ENOENT");
	check_open_fails(root, "missing/x", -ENOENT, "a missing directory -> -ENOENT");
	check_open_fails(root, "file.txt/x", -ENOTDIR, "a file used as a directory -> -ENOTDIR");
	check_open_fails(root, "link-etc", 0, "a symlink to /etc/passwd");
	check_open_fails(root, "link-out", 0, "a symlink to ../outside.txt");
	check_open_fails(root, "link-abs-in", 0, "an absolute symlink, even into the root");
	check_open_fails(root, "../outside.txt", 0, "\"../outside.txt\" (no path_check)");
	check_open_fails(root, "/etc/passwd", 0, "an absolute name (no path_check)");

	struct stat st;
	int r = path_open_read(root, "link-out", &st);
	is_int(path_errno_to_tftp(r), ERR_ACCESS, "escape via symlink maps to Access violation");

	fd = path_openat(root, "new.txt", O_WRONLY | O_CREAT | O_EXCL, 0600);
	ok(fd >= 0, "path_openat creates new.txt");
	if (fd >= 0) {
		ok(fstat(fd, &st) == 0 && (st.st_mode & 0777) == 0600, "new.txt has mode 0600");
		close(fd);
	}
	is_int(path_openat(root, "new.txt", O_WRONLY | O_CREAT | O_EXCL, 0600), -EEXIST,
	       "path_openat O_EXCL on an existing file -> -EEXIST");
	ok(path_openat(root, "../escape.txt", O_WRONLY | O_CREAT, 0600) < 0,
	   "path_openat cannot create outside the root");
	ok(faccessat(tmpfd, "escape.txt", F_OK, 0) < 0, "nothing created outside the root");

	close(root);
	cleanup_tree();
}

static void test_errno_to_tftp(void)
{
	static const struct {
		int err;
		unsigned code;
		const char *name;
	} map[] = {
		{ ENOENT, ERR_NOT_FOUND, "ENOENT" },
		{ ENOTDIR, ERR_NOT_FOUND, "ENOTDIR" },
		{ EACCES, ERR_ACCESS, "EACCES" },
		{ EPERM, ERR_ACCESS, "EPERM" },
		{ EXDEV, ERR_ACCESS, "EXDEV" },
		{ ELOOP, ERR_ACCESS, "ELOOP" },
		{ EISDIR, ERR_ACCESS, "EISDIR" },
		{ EROFS, ERR_ACCESS, "EROFS" },
		{ ENAMETOOLONG, ERR_ACCESS, "ENAMETOOLONG" },
		{ EEXIST, ERR_EXISTS, "EEXIST" },
		{ ENOSPC, ERR_DISK_FULL, "ENOSPC" },
		{ EDQUOT, ERR_DISK_FULL, "EDQUOT" },
		{ EFBIG, ERR_DISK_FULL, "EFBIG" },
		{ EIO, ERR_UNDEFINED, "EIO" },
		{ 0, ERR_UNDEFINED, "0" },
	};

	is_int(ERR_NOT_FOUND, 1, "ERR_NOT_FOUND is 1");
	is_int(ERR_ACCESS, 2, "ERR_ACCESS is 2");
	is_int(ERR_DISK_FULL, 3, "ERR_DISK_FULL is 3");
	is_int(ERR_EXISTS, 6, "ERR_EXISTS is 6");
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		is_int(path_errno_to_tftp(map[i].err), map[i].code, "%s -> %u", map[i].name,
		       map[i].code);
		is_int(path_errno_to_tftp(-map[i].err), map[i].code, "-%s -> %u", map[i].name,
		       map[i].code);
	}
}

static void test_upload_allowed(void)
{
	static const char *const backups[] = { "backups/*.cfg", "incoming/[a-z]*/fw-??.bin" };
	static const struct {
		const char *rel;
		bool ok;
	} cases[] = {
		{ "backups/sw1.cfg", true },
		{ "backups/.cfg", false },		/* a hidden name: '*' skips no leading dot */
		{ "backups/.hidden.cfg", false },
		{ "backups/sub/sw1.cfg", false },	/* '*' never crosses a '/' */
		{ "backups/sw1.cfg.bak", false },
		{ "backups//sw1.cfg", false },		/* matched as sent */
		{ "backups/./sw1.cfg", false },
		{ "backups.cfg", false },
		{ "sw1.cfg", false },
		{ "other/backups/sw1.cfg", false },
		{ "incoming/lab/fw-01.bin", true },
		{ "incoming/Lab/fw-01.bin", false },
		{ "incoming/lab/fw-1.bin", false },
		{ "incoming/lab/x/fw-01.bin", false },
	};
	const char *rel;

	ok(path_upload_allowed(NULL, 0, "anything/at/all"), "no patterns: anywhere");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		is_int(path_upload_allowed(backups, 2, cases[i].rel), cases[i].ok, "upload to %s: %s", cases[i].rel,
		       cases[i].ok ? "allowed" : "refused");
	/* The name a client sends with a leading slash is matched without it. */
	if (path_check("/backups/a.cfg", 14, &rel) == 0)
		ok(path_upload_allowed(backups, 2, rel), "/backups/a.cfg: as backups/a.cfg");
	else
		ok(0, "/backups/a.cfg passes path_check");
}

int main(void)
{
	test_check();
	test_upload_allowed();
	test_open();
	test_errno_to_tftp();
	return tap_done();
}
