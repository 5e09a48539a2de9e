/*
 * server.h - the daemon's settings, read-only once start-up is over.
 */
#ifndef SNOW_OWL_SERVER_H
#define SNOW_OWL_SERVER_H

#include <stdbool.h>

#include "acl.h"
#include "addr.h"
#include "sandbox.h"
#include "xfer.h"

#define SERVER_LISTEN_MAX 16
#define SERVER_WORKERS_MAX 32
#define SERVER_WORKERS_AUTO (~0u)	/* one per CPU (server_default_workers) */
#define SERVER_TRANSFERS_AUTO 0		/* from the descriptor limit (server_default_transfers) */
#define SERVER_TRANSFERS_MAX_AUTO 16384	/* the most that auto allows */
#define SERVER_ROOTS_MAX 64
/* Requests larger than this are not TFTP requests we could serve. */
#define SERVER_REQUEST_MAX 4096

/* --client-root: clients in net are served from dir instead of ROOT. */
struct server_root {
	struct addr_net net;
	const char *dir;		/* absolute */
	int fd;				/* opened before any fork */
};

/* Where the listening sockets come from. */
enum server_mode {
	SERVER_STANDALONE,	/* -L / -l: bound here from -a */
	SERVER_SYSTEMD,		/* socket activation (sd_listen_fds) */
	SERVER_INETD,		/* inetd/xinetd "wait": fd 0 */
};

struct server_conf {
	enum server_mode mode;
	int inherited[SERVER_LISTEN_MAX];	/* systemd/inetd sockets */
	int ninherited;
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
	int rcvbuf;			/* SO_RCVBUF of listeners, bytes; 0: leave */
	unsigned max_transfers;		/* live children at once */
	unsigned max_per_client;	/* live children per client address */
	unsigned queue_max;		/* requests waiting for a free slot */
	unsigned pace;			/* transfers a worker runs before requests wait; 0: none */
	unsigned pace_wait_ms;		/* the longest a request waits for that */
	uint64_t transfer_memory;	/* --transfer-memory: all senders' rings, bytes */
	uint64_t client_memory;		/* --client-memory: of which one client address */
	uint64_t unverified_rate;	/* bytes/s a source network may get unanswered; 0: any */
	uint64_t unverified_burst;	/* ... and at once */
	unsigned idle_timeout_s;	/* -t: systemd/inetd modes exit when idle */
	unsigned drain_timeout_s;	/* SIGTERM: how long transfers may finish */
	unsigned port_low, port_high;	/* -R: transfer ports; 0: any */
	bool single_port;		/* transfers answer from the listening port */
	unsigned workers;		/* pre-forked workers; 0: a child per transfer */
	unsigned workers_extra;		/* more, started only while those are full */
	struct acl acl;			/* --allow, --deny */
	bool deny_error;		/* answer a denied request with ERROR 2 */
	struct server_root roots[SERVER_ROOTS_MAX];
	unsigned nroots;
	const char *pid_file;		/* -P */
	const char *metrics_path;	/* --metrics: Prometheus textfile; NULL: none */
	unsigned metrics_interval_s;	/* --metrics-interval */
};

void server_conf_init(struct server_conf *c);
/* Share --transfer-memory and --client-memory out between the processes
 * that run transfers (c->xfer.mem_budget, mem_client_cap), once workers
 * and max_transfers are known. */
void server_share_memory(struct server_conf *c);
/* One worker per CPU in the affinity mask, at most SERVER_WORKERS_MAX:
 * more would only take turns on the same CPUs, and each switch between
 * them costs more than the transfers it lets run. */
unsigned server_default_workers(void);

/*
 * What --max-transfers auto allows: raises RLIMIT_NOFILE to
 * SERVER_NOFILE_WANT when privileged, else the soft limit to the hard
 * one, then counts SERVER_FDS_READ descriptors per transfer in each of
 * the workers (server_worker_capacity), two in a forked child's
 * dispatcher, up to SERVER_TRANSFERS_MAX_AUTO (1024 for forked children:
 * each is a process).
 */
unsigned server_default_transfers(unsigned workers);

/*
 * Workers beyond one per CPU, when both --workers and --max-transfers are
 * auto: as many as it takes to hold SERVER_TRANSFERS_MAX_AUTO downloads
 * within the descriptor limit, up to four workers per CPU and
 * SERVER_WORKERS_MAX.  The pool starts one only when a request finds the
 * others full: in a storm that fits, one worker per CPU serves it alone.
 */
unsigned server_extra_workers(unsigned workers);

/* The descriptor limit a privileged dispatcher raises its own to (both
 * soft and hard), as the unit's LimitNOFILE= does. */
#define SERVER_NOFILE_WANT 65536

/*
 * Descriptors a transfer in a worker holds at most: a download its
 * socket and its file, an upload also the file's directory (the new file
 * is published there).  A worker is handed a transfer only while what
 * its transfers may hold, with this one, stays within its limit less
 * SERVER_FDS_SPARE (the control socket, epoll, the timer, the root, the
 * log, and a file opened for a moment to fill the file cache).
 */
#define SERVER_FDS_READ 2
#define SERVER_FDS_WRITE 3
#define SERVER_FDS_SPARE 16

/* Downloads one worker can hold within the descriptor limit nofile. */
static inline unsigned server_worker_capacity(unsigned nofile)
{
	return nofile > SERVER_FDS_SPARE + SERVER_FDS_READ ? (nofile - SERVER_FDS_SPARE) / SERVER_FDS_READ : 1;
}

/*
 * The --client-root entry for peer: the longest prefix that contains it,
 * the first of equal ones.  Returns its index, or -1 for ROOT.
 */
int server_root_pick(const struct server_conf *c, const struct sockaddr *peer);

/*
 * Bind (or adopt) the listening sockets, then serve until SIGTERM/SIGINT,
 * or until idle in the systemd and inetd modes.
 * Returns the process exit status.
 */
int dispatch_run(const struct server_conf *c);

#endif
