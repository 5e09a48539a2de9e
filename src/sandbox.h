/*
 * sandbox.h - confinement of transfer children.
 */
#ifndef SNOW_OWL_SANDBOX_H
#define SNOW_OWL_SANDBOX_H

#include <stdbool.h>
#include <sys/types.h>

struct sandbox_conf {
	bool chroot;		/* -s */
	bool drop;		/* change to uid/gid (we are root) */
	uid_t uid;
	gid_t gid;
	bool writable;		/* uploads allowed: the tree may be written */
	bool seccomp_log;	/* debug: log filter violations, do not kill */
	unsigned long long fsize_max;	/* RLIMIT_FSIZE; 0: unlimited */
	bool worker;		/* a worker: many transfers, epoll, handoffs */
	unsigned nofile;	/* RLIMIT_NOFILE; 0: a one-transfer child's few */
	unsigned long long data_max;	/* RLIMIT_DATA; 0: unlimited */
};

/* True when the process has capability cap in its effective set. */
bool sandbox_have_cap(int cap);

/*
 * Resolve the user for -u (when running as root).  Returns 0 or -errno,
 * -ENOENT for an unknown user.
 */
int sandbox_resolve_user(struct sandbox_conf *c, const char *user);

/*
 * Enter the sandbox: chroot into rootfd (with -s), drop groups/gid/uid and
 * check they cannot be regained, rlimits, no_new_privs, Landlock (the root
 * tree only) where the kernel has it, then the seccomp allow-list.
 * Returns 0 or -errno; a child must not serve anything if this fails.
 */
int sandbox_enter(const struct sandbox_conf *c, int rootfd);

/* Whether this kernel enforces Landlock (ABI version, 0 if not). */
int sandbox_landlock_abi(void);

#endif
