/*
 * replypath.h - where a transfer answers from, kept by the dispatcher so
 * that a transfer whose process died can still tell its client.
 *
 * A transfer child (--workers 0) owns its socket; when the child is
 * killed (a signal, a seccomp violation, the drain timeout) the client
 * would hear nothing and retry for seconds.  The dispatcher keeps the
 * client's address and the transfer socket's local address and port for
 * each child, by pid, and once the child is reaped sends ERROR 0 from
 * that same address and port (free again: the socket died with the
 * child), which the client accepts as coming from its transfer.
 */
#ifndef SNOW_OWL_REPLYPATH_H
#define SNOW_OWL_REPLYPATH_H

#include <stdbool.h>
#include <sys/types.h>

#include "addr.h"

struct replypath {
	pid_t pid;			/* 0: free slot */
	union sockaddr_any peer, local;
};

/* A fixed table, open addressing by pid; no allocation after init. */
struct replypaths {
	struct replypath *slot;
	unsigned mask;			/* slots - 1, a power of two */
};

int replypaths_init(struct replypaths *r, unsigned max);
void replypaths_free(struct replypaths *r);
/* Returns 0, or -ENOSPC when the table is full. */
int replypaths_add(struct replypaths *r, pid_t pid, const union sockaddr_any *peer,
		   const union sockaddr_any *local);
/* Remove pid's entry, copying it to *out.  False when there is none. */
bool replypaths_take(struct replypaths *r, pid_t pid, struct replypath *out);

/* Send ERROR 0 msg to peer from local (address and port).  Best effort:
 * returns 0 or -errno. */
int replypath_send_error(const union sockaddr_any *local, const union sockaddr_any *peer,
			 const char *msg);

#endif
