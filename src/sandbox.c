/*
 * sandbox.c - confinement of transfer children.
 *
 * Order (as OpenBSD tftpd and OpenSSH do it): the root directory fd is
 * already open, then chroot, then groups, gid and uid, then a check that
 * the old ids cannot be regained, then rlimits, no_new_privs, Landlock
 * (the root tree only, read-only unless uploads are allowed) and last the
 * seccomp allow-list, which kills the process on any other system call.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <sys/syscall.h>
#include <string.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/landlock.h>

#include "sandbox.h"

bool sandbox_have_cap(int cap)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d) < 0)
		return false;
	return d[cap / 32].effective & (1u << (cap % 32));
}

static int drop_capabilities(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2] = { { 0 } };

	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return -1;
	return (int)syscall(SYS_capset, &h, d);
}

int sandbox_resolve_user(struct sandbox_conf *c, const char *user)
{
	struct passwd *pw;

	/* Root, or an unprivileged service user given CAP_SETUID and
	 * CAP_SETGID by systemd (AmbientCapabilities=). */
	c->drop = geteuid() == 0 || (sandbox_have_cap(CAP_SETUID) && sandbox_have_cap(CAP_SETGID));
	if (!c->drop)
		return 0;
	errno = 0;
	pw = getpwnam(user);
	if (!pw)
		return errno ? -errno : -ENOENT;
	c->uid = pw->pw_uid;
	c->gid = pw->pw_gid;
	return 0;
}

/* ---- seccomp --------------------------------------------------------- */

/*
 * The allow-list of a transfer child, as data.  Everything else kills the
 * process.  A syscall that needs its arguments checked is in args_rules.
 */
static const int sc_base[] = {
	/* Network: the connected transfer socket; send() (sendto) also
	 * carries the report to the dispatcher and log lines to the
	 * journal, on sockets connected before the sandbox */
	SCMP_SYS(recvmmsg), SCMP_SYS(recvfrom), SCMP_SYS(sendmmsg), SCMP_SYS(sendto),
	SCMP_SYS(sendmsg),
	SCMP_SYS(setsockopt),	/* SO_RCVTIMEO follows the retransmission timer */
	/* Files: reading the one file, beneath the root fd */
	SCMP_SYS(openat2), SCMP_SYS(newfstatat), SCMP_SYS(fstat), SCMP_SYS(preadv),
	SCMP_SYS(read), SCMP_SYS(lseek), SCMP_SYS(close),
	SCMP_SYS(write),	/* log lines on stderr; upload data */
	/* Memory: malloc */
	SCMP_SYS(brk), SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(madvise),
	/* Time and identity */
	SCMP_SYS(clock_gettime), SCMP_SYS(gettimeofday), SCMP_SYS(getpid),
	SCMP_SYS(geteuid),	/* uploads: who owns the file (sticky directories) */
	SCMP_SYS(getrandom),	/* arc4random: temporary names */
	/* Leaving */
	SCMP_SYS(exit_group), SCMP_SYS(exit), SCMP_SYS(rt_sigreturn),
#ifdef SNOW_OWL_SANITIZERS
	/* Test builds only: the sanitizer runtime reports through these. */
	SCMP_SYS(gettid), SCMP_SYS(sched_yield), SCMP_SYS(sigaltstack), SCMP_SYS(rt_sigaction),
	SCMP_SYS(rt_sigprocmask), SCMP_SYS(prctl), SCMP_SYS(readlink), SCMP_SYS(openat),
	SCMP_SYS(tgkill), SCMP_SYS(kill), SCMP_SYS(getppid), SCMP_SYS(mprotect),
	SCMP_SYS(mmap), SCMP_SYS(pread64), SCMP_SYS(futex), SCMP_SYS(uname),
#endif
};

/* Uploads: a temporary file in the target directory, published by link
 * or rename, or copied into the old file in a sticky directory. */
static const int sc_upload[] = {
	SCMP_SYS(openat),	/* O_TMPFILE and the named fallback, beneath dirfd */
	SCMP_SYS(fchmod), SCMP_SYS(faccessat), SCMP_SYS(faccessat2), SCMP_SYS(linkat),
	SCMP_SYS(renameat), SCMP_SYS(renameat2), SCMP_SYS(unlinkat), SCMP_SYS(copy_file_range),
	SCMP_SYS(ftruncate),
};

/* Workers: one epoll loop over many transfer sockets, which arrive from
 * the dispatcher as SCM_RIGHTS on the control socket (recvmsg).  The
 * sockets are non-blocking; a send that finds the buffer full waits for
 * room in poll. */
static const int sc_worker[] = {
	SCMP_SYS(epoll_create1), SCMP_SYS(epoll_wait), SCMP_SYS(epoll_ctl),
	SCMP_SYS(recvmsg), SCMP_SYS(poll), SCMP_SYS(ppoll),
	SCMP_SYS(timerfd_create), SCMP_SYS(timerfd_settime),	/* the retransmission timer */
};

#ifdef SNOW_OWL_FILTER_WITHOUT
/* Test build only: prove the filter is enforced by leaving out one call
 * that every download needs. */
#define SYSCALL_NR(x) SCMP_SYS(x)
#define LEFT_OUT SYSCALL_NR(SNOW_OWL_FILTER_WITHOUT)
#else
#define LEFT_OUT (-1)
#endif

static int allow_all(scmp_filter_ctx ctx, const int *nr, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int r = nr[i] == LEFT_OUT ? 0 : seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr[i], 0);

		if (r < 0)
			return r;
	}
	return 0;
}

static int load_seccomp(const struct sandbox_conf *c)
{
	scmp_filter_ctx ctx = seccomp_init(c->seccomp_log ? SCMP_ACT_LOG : SCMP_ACT_KILL_PROCESS);
	int r;

	if (!ctx)
		return -ENOMEM;
	/* A binary tree of the allowed calls, not a list tried in order:
	 * every system call of every packet passes the filter. */
	(void)seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	r = allow_all(ctx, sc_base, sizeof(sc_base) / sizeof(sc_base[0]));
	if (r == 0 && c->writable)
		r = allow_all(ctx, sc_upload, sizeof(sc_upload) / sizeof(sc_upload[0]));
	if (r == 0 && c->worker)
		r = allow_all(ctx, sc_worker, sizeof(sc_worker) / sizeof(sc_worker[0]));
	/* mmap and mprotect for malloc, never executable memory. */
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
				     SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
				     SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	/* The path MTU of the transfer socket, to size blocks (xfer.c);
	 * no other socket option can be read. */
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(getsockopt), 2,
				     SCMP_A1(SCMP_CMP_EQ, IPPROTO_IP), SCMP_A2(SCMP_CMP_EQ, IP_MTU));
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(getsockopt), 2,
				     SCMP_A1(SCMP_CMP_EQ, IPPROTO_IPV6), SCMP_A2(SCMP_CMP_EQ, IPV6_MTU));
	/* No new sockets and no connect: every socket a transfer uses was
	 * made and connected before the sandbox (the transfer's, the report's,
	 * the journal's, syslog's with LOG_NDELAY).  glibc's syslog() makes a
	 * new socket by itself when a send fails (syslogd restarted): it
	 * gets EACCES and the line is lost, rather than the process killed.
	 * Allowing them would let a compromised transfer reach any AF_UNIX
	 * service, abstract sockets included, even from inside a chroot. */
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(socket), 0);
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(connect), 0);
	if (r == 0)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	return r;
}

/* ---- Landlock ---------------------------------------------------------- */

#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER (1ULL << 13)
#endif
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif

int sandbox_landlock_abi(void)
{
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);

	return abi < 0 ? 0 : (int)abi;
}

/* Everything outside the root tree is denied; inside it, reading, and
 * writing only when uploads are allowed. */
static int load_landlock(const struct sandbox_conf *c, int rootfd)
{
	int abi = sandbox_landlock_abi();
	uint64_t handled, allowed;
	struct landlock_ruleset_attr attr;
	struct landlock_path_beneath_attr beneath;
	int fd, r = 0;

	if (abi < 1)
		return 0;	/* not in this kernel: chroot and openat2 remain */
	handled = LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |
		  LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR |
		  LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE |
		  LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR |
		  LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SOCK |
		  LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK |
		  LANDLOCK_ACCESS_FS_MAKE_SYM;
	if (abi >= 2)
		handled |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		handled |= LANDLOCK_ACCESS_FS_TRUNCATE;
	allowed = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR;
	if (c->writable)
		allowed |= LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_MAKE_REG |
			   LANDLOCK_ACCESS_FS_REMOVE_FILE | (handled & LANDLOCK_ACCESS_FS_TRUNCATE);
	memset(&attr, 0, sizeof(attr));
	attr.handled_access_fs = handled;
	fd = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0);
	if (fd < 0)
		return -errno;
	beneath.allowed_access = allowed;
	beneath.parent_fd = rootfd;
	if (syscall(SYS_landlock_add_rule, fd, LANDLOCK_RULE_PATH_BENEATH, &beneath, 0) < 0 ||
	    syscall(SYS_landlock_restrict_self, fd, 0) < 0)
		r = -errno;
	close(fd);
	return r;
}

/* ---- Entering ------------------------------------------------------- */

static int set_limits(const struct sandbox_conf *c)
{
	/* A child needs a few fds: the socket, the file, a temporary file,
	 * stderr, syslog.  A worker needs a socket and a file per transfer. */
	rlim_t n = c->nofile ? c->nofile : 16;
	struct rlimit nofile = { n, n }, nproc = { 0, 0 };
	struct rlimit fsize = { RLIM_INFINITY, RLIM_INFINITY };

	if (c->fsize_max)
		fsize.rlim_cur = fsize.rlim_max = c->fsize_max;
	if (setrlimit(RLIMIT_NOFILE, &nofile) < 0 || setrlimit(RLIMIT_FSIZE, &fsize) < 0)
		return -errno;
#ifndef SNOW_OWL_SANITIZERS	/* their shadow memory is mapped as data */
	/* Memory: a failed allocation refuses a transfer, where running out
	 * would bring the kernel's OOM killer.  Never raised. */
	if (c->data_max) {
		struct rlimit data;

		if (getrlimit(RLIMIT_DATA, &data) < 0)
			return -errno;
		if (data.rlim_max == RLIM_INFINITY || c->data_max < data.rlim_max)
			data.rlim_max = c->data_max;
		data.rlim_cur = data.rlim_max;
		if (setrlimit(RLIMIT_DATA, &data) < 0)
			return -errno;
	}
#endif
	/* No new processes; as root before the drop this would not bind. */
	if (c->drop && setrlimit(RLIMIT_NPROC, &nproc) < 0)
		return -errno;
	return 0;
}

#ifdef SNOW_OWL_SANDBOX_PROBE
#include <stdio.h>
#include <sys/un.h>

/* Test build only: what the sandbox answers to calls a transfer must not
 * make, on standard error (the tests read the server's log). */
static void probe(void)
{
	struct sockaddr_un un = { .sun_family = AF_UNIX, .sun_path = "\0snow-owl-probe" };
	int fd;

	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	dprintf(2, "probe: socket(AF_UNIX): %s\n", fd < 0 ? strerror(errno) : "allowed");
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	dprintf(2, "probe: socket(AF_INET): %s\n", fd < 0 ? strerror(errno) : "allowed");
	/* On standard error (not a socket): ENOTSOCK if the call is let through. */
	dprintf(2, "probe: connect: %s\n",
		connect(2, (struct sockaddr *)&un, sizeof(un)) < 0 ? strerror(errno) : "allowed");
}
#endif

int sandbox_enter(const struct sandbox_conf *c, int rootfd)
{
	int r;

	if (c->chroot) {
		/* Through the fd opened at start-up: the path may be relative
		 * and the daemon's working directory may have changed. */
		if (fchdir(rootfd) < 0 || chroot(".") < 0 || chdir("/") < 0)
			return -errno;
	}
	if (c->drop) {
		if (setgroups(0, NULL) < 0)
			return -errno;
		if (setresgid(c->gid, c->gid, c->gid) < 0)
			return -errno;
		if (setresuid(c->uid, c->uid, c->uid) < 0)
			return -errno;
		/* Leaving root clears the capabilities, but a service user
		 * with ambient ones keeps them: drop every set explicitly. */
		if (drop_capabilities() < 0)
			return -errno;
		/* Paranoia: if root can be regained the drop did not work. */
		if (c->uid != 0 && (setuid(0) == 0 || seteuid(0) == 0))
			return -EPERM;
		if (c->gid != 0 && (setgid(0) == 0 || setegid(0) == 0))
			return -EPERM;
	}
	r = set_limits(c);
	if (r < 0)
		return r;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	r = load_landlock(c, rootfd);
	if (r < 0)
		return r;
	r = load_seccomp(c);
#ifdef SNOW_OWL_SANDBOX_PROBE
	if (r == 0)
		probe();
#endif
	return r;
}
