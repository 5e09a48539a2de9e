/*
 * sandbox.c - privilege drop for transfer children.
 *
 * Order (as OpenBSD tftpd and OpenSSH do it): the root directory fd is
 * already open, then chroot, then groups, gid and uid, then a check that
 * the old ids cannot be regained, then no_new_privs.
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>

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

int sandbox_enter(const struct sandbox_conf *c, int rootfd)
{
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
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	return 0;
}
