/*
 * listener.h - the listening sockets and the reading of requests: bound
 * here (-l/-L) or adopted from systemd or inetd, read in recvmmsg()
 * batches with the destination address of each datagram; what is an
 * RRQ or WRQ sent to one of our unicast addresses goes to admission.
 *
 * Below the main loop (dispatch.c), whose header it does not include; it
 * hands requests to admission.h and knows nothing of the workers or the
 * transfer children.
 */
#ifndef SNOW_OWL_LISTENER_H
#define SNOW_OWL_LISTENER_H

#include <poll.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <netinet/in.h>
#include <time.h>

#include "addr.h"
#include "counters.h"
#include "server.h"

#define BATCH_MAX 256

struct admission;

struct listener {
	const struct server_conf *conf;
	struct counters *count;
	struct admission *adm;		/* where requests go */
	struct pollfd *pfd;		/* the dispatcher's poll array: listeners at [0, nfd) */
	int nfd;
	int family[SERVER_LISTEN_MAX];
	union sockaddr_any bound[SERVER_LISTEN_MAX];	/* each listener's address */
	uint32_t ovfl_seen[SERVER_LISTEN_MAX];	/* SO_RXQ_OVFL count last read, per listener */
	struct mmsghdr msg[BATCH_MAX];
	struct iovec iov[BATCH_MAX];
	union sockaddr_any peer[BATCH_MAX];
	/* Packet info (both kinds for an IPv4 datagram on a dual-stack
	 * socket: a buffer for one is truncated, MSG_CTRUNC), the count of
	 * datagrams the buffer dropped, and in single-port mode the receive
	 * time. */
	uint8_t ctl[BATCH_MAX][CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(struct in_pktinfo)) +
			       CMSG_SPACE(sizeof(uint32_t)) + CMSG_SPACE(sizeof(struct timespec))];
	uint8_t buf[BATCH_MAX][SERVER_REQUEST_MAX];
};

/* Wire the receive arrays; pfd is where the listeners are to be polled
 * (SERVER_LISTEN_MAX entries). */
void listener_init(struct listener *l, const struct server_conf *conf, struct counters *count,
		   struct admission *adm, struct pollfd *pfd);

/* Bind or adopt the listening sockets (l->nfd of them).  Returns 0, or
 * -1 once the reason is logged. */
int listener_open(struct listener *l);

/* Read a batch from listener idx and hand each request to admission. */
void listener_receive(struct listener *l, int idx, uint64_t now);

/* Close the listening sockets: no new requests (SIGTERM). */
void listener_close(struct listener *l);

#endif
