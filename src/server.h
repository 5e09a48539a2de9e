/*
 * server.h - the daemon's settings, read-only once start-up is over.
 */
#ifndef SNOW_OWL_SERVER_H
#define SNOW_OWL_SERVER_H

#include <stdbool.h>

#include "addr.h"
#include "sandbox.h"
#include "xfer.h"

#define SERVER_LISTEN_MAX 16

struct server_conf {
	struct xfer_conf xfer;
	struct sandbox_conf sandbox;
	const char *root;		/* directory served */
	int rootfd;			/* opened before any chroot */
	const char *user;		/* -u */
	union sockaddr_any listen[SERVER_LISTEN_MAX];
	socklen_t listen_len[SERVER_LISTEN_MAX];
	int nlisten;
	int family;			/* -4: AF_INET, -6: AF_INET6, else AF_UNSPEC */
	bool daemonize;			/* -l rather than -L */
	unsigned batch;			/* datagrams per recvmmsg */
};

void server_conf_init(struct server_conf *c);

/*
 * Bind the listening sockets, then serve until SIGTERM/SIGINT.
 * Returns the process exit status.
 */
int dispatch_run(const struct server_conf *c);

#endif
