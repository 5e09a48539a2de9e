/*
 * dispatch.c - the listener: receives requests in batches, admits them,
 * and forks one sandboxed child per transfer.
 *
 * It reads only the opcode and the addresses of a request; file names and
 * options are parsed by the child, after it has dropped its privileges.
 * Each child gets its own socket, made here before the fork: bound to the
 * local address the request was sent to (so the reply leaves from the
 * address the client used) and connected to the client.
 *
 * Admission, in order: a request that is not an RRQ/WRQ is dropped; one
 * sent to a broadcast or multicast address is ignored (RFC 1123 4.2.3.4);
 * one the --allow/--deny rules refuse is dropped (or answered with ERROR
 * 2 under --deny-error) before any file is looked at; one from a peer (address and port) that already has a live or queued
 * transfer is a retransmission and is dropped; when the global cap
 * (--max-transfers) or the client's cap (--max-per-client) is reached the
 * request waits in a short FIFO queue (--queue) and starts as soon as a
 * slot frees.  A full queue drops the request silently: the client
 * retransmits it, and an ERROR would abort a PXE boot for good.
 *
 * In single-port mode (--single-port, reuseport.h) each transfer socket is
 * bound to the listening port itself, beside the listener.  A request
 * that reaches the listener from a client whose transfer is live either
 * came before that transfer's socket existed (a retransmission: dropped,
 * as above) or after the socket was closed (the client reuses its port
 * for its next file: it waits in the queue until the old transfer has
 * been reaped).  The kernel's receive time of each request tells which.
 * Another client's request that a new transfer socket caught before it
 * was connected is read back and admitted (rescue_strays()).
 *
 * The dispatcher stays root (when started as root) because every child
 * needs chroot and setuid/setgid to enter its sandbox; it touches no
 * untrusted data beyond the two-byte opcode and the packet addresses.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"
#include "packet.h"
#include "peers.h"
#include "replypath.h"
#include "report.h"
#include "netbudget.h"
#include "reuseport.h"
#include "server.h"
#include "worker.h"

#define BATCH_MAX 256
/* Requests larger than this are not TFTP requests we could serve. */
#define REQUEST_MAX 4096
#define QUEUE_AGE_US (10 * 1000000ull)	/* the client gave up long ago */
#define STATUS_INTERVAL_US 1000000ull
#define WORKER_SLOTS 64		/* workers, with those retiring after SIGHUP */
#define RESPAWN_DELAY_US 1000000ull	/* after a worker died young */
/* How long workers get to exit once told to (at the end, or when the
 * drain timeout cuts their transfers) before they are killed. */
#define DRAIN_GRACE_US 500000ull
/* RLIMIT_DATA of a process that runs transfers, beyond its ring budget:
 * per transfer its state, a netascii buffer and one block past the
 * budget; and the rest (receive buffers, the C library, the data it
 * inherited from the dispatcher, measured at fork). */
#define XFER_DATA_MAX (72u * 1024 + 4 + 512)
#define DATA_SLACK (32ull << 20)

#define REPORTS_PER_ROUND 256	/* then the listeners get their turn */
#define DENY_LOG_PER_S 5	/* denial lines a second; the rest are counted */
#define NETBUDGET_NETWORKS 16384	/* source networks whose budget is kept */

/* The data size (RLIMIT_DATA's measure) of this process, in bytes. */
static uint64_t data_size(void)
{
	char line[128];
	unsigned long long kib = 0;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmData: %llu kB", &kib) == 1)
			break;
	fclose(f);
	return kib * 1024;
}

/* Under RLIMIT_DATA, an allocation fails and a transfer is refused
 * where running out of memory would bring the kernel's OOM killer: the
 * process's ring budget, transfers of XFER_DATA_MAX each, DATA_SLACK and
 * what it holds at fork.  A limit already lower stays. */
static void limit_data(struct sandbox_conf *sb, uint64_t budget, unsigned transfers)
{
	sb->data_max = data_size() + budget + (uint64_t)transfers * XFER_DATA_MAX + DATA_SLACK;
}

/* A pre-forked worker (--workers). */
struct wproc {
	pid_t pid;			/* 0: slot free */
	int ctl;			/* our end of its control socket */
	unsigned load;			/* transfers it runs */
	bool retiring;			/* takes no more (SIGHUP) */
	uint64_t started_us;
};

/* A transfer running in a worker, by id - 1.  The addresses let the
 * dispatcher tell the client when its worker died. */
struct wxfer {
	int worker;			/* -1: free */
	union sockaddr_any peer, local;
};

/* A request waiting for a free slot. */
struct pending {
	struct peer_key key;
	union sockaddr_any peer, local;
	uint64_t since_us;
	uint16_t len;
	bool used;
	uint8_t *buf;
};

struct dispatcher {
	const struct server_conf *conf;
	int rootfd;			/* reopened on SIGHUP */
	int client_rootfd[SERVER_ROOTS_MAX];	/* --client-root, likewise */
	/* Listeners, the signalfd at [nfd], the report socket at [nfd + 1],
	 * the workers' control sockets from [nfd + 2]. */
	struct pollfd pfd[SERVER_LISTEN_MAX + 2 + WORKER_SLOTS];
	int family[SERVER_LISTEN_MAX];
	union sockaddr_any bound[SERVER_LISTEN_MAX];	/* each listener's address */
	int nfd;			/* listeners; pfd[nfd] is the signalfd, */
	int report_rd, report_wr;	/* pfd[nfd + 1] the reports (report.h) */
	bool stopping;
	bool cut;			/* the drain timeout has passed */
	int sigfd;
	sigset_t oldmask;
	struct replypaths paths;	/* --workers 0: each child's addresses */
	unsigned shown_active;		/* the count in the process title */
	struct peers *live;		/* children, by peer and pid */
	struct peers *queued;		/* pending requests, "pid" = slot + 1 */
	struct pending *queue;		/* ring of queue_max slots */
	unsigned q_head, q_len;		/* q_len counts holes up to the tail */
	uint64_t served, failed, dropped_busy;
	uint64_t overflowed;		/* requests lost to a full listening buffer */
	struct wproc wk[WORKER_SLOTS];
	struct wxfer *wx;		/* max_transfers entries */
	uint32_t *wx_free;		/* free ids */
	unsigned wx_nfree;
	struct sandbox_conf wsandbox;	/* the workers' sandbox */
	uint64_t respawn_us;		/* when to replace workers that died */
	uint64_t last_activity_us, status_us;
	bool status_dirty;
	struct metrics metrics;
	uint64_t deny_log_us;		/* start of the second denials are logged in */
	unsigned deny_logged;		/* lines in that second */
	uint64_t deny_unlogged;		/* denials not logged since the last line */
	struct netbudget *unverified;	/* --unverified-rate; NULL: no limit */
	uint64_t limit_log_us;		/* as deny_*, for requests over that budget */
	unsigned limit_logged;
	uint64_t limit_unlogged;
	uint64_t metrics_us;		/* next --metrics write */
	bool metrics_failing;		/* the last write failed (logged once) */
	char metrics_text[METRICS_TEXT_MAX];
	struct mmsghdr msg[BATCH_MAX];
	struct iovec iov[BATCH_MAX];
	union sockaddr_any peer[BATCH_MAX];
	/* Packet info (both kinds for an IPv4 datagram on a dual-stack
	 * socket: a buffer for one is truncated, MSG_CTRUNC), the count of
	 * datagrams the buffer dropped, and in single-port mode the receive
	 * time. */
	uint8_t ctl[BATCH_MAX][CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(struct in_pktinfo)) +
			       CMSG_SPACE(sizeof(uint32_t)) + CMSG_SPACE(sizeof(struct timespec))];
	uint32_t ovfl_seen[SERVER_LISTEN_MAX];	/* SO_RXQ_OVFL count last read, per listener */
	struct stray *strays;		/* single-port: requests to admit (rescue_strays) */
	unsigned nstrays, strays_cap;
	uint64_t rescued;		/* requests taken from a transfer socket */
	uint8_t buf[BATCH_MAX][REQUEST_MAX];
};

/* A request that reached a shared-port transfer socket instead of the
 * listener (rescue_strays), waiting to be admitted. */
struct stray {
	uint8_t *buf;
	uint16_t len;
	union sockaddr_any peer, local;
};

/* ---- Listening sockets ------------------------------------------------ */

static void set_rcvbuf(int fd, int size)
{
	int cur = 0;
	socklen_t len = sizeof(cur);

	/* Never shrink what systemd (ReceiveBuffer=) or the admin set.  The
	 * kernel reports twice the requested size. */
	if (size <= 0 || (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &cur, &len) == 0 && cur / 2 >= size))
		return;
	/* FORCE passes net.core.rmem_max when we are root; else best effort. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
}

/* Ask for the destination address of every datagram. */
static int want_pktinfo(int fd, int family)
{
	int one = 1;

	if (family == AF_INET6) {
		/* IP_PKTINFO too, for IPv4 datagrams on a dual-stack socket
		 * (it fails harmlessly on an IPv6-only one). */
		setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
		return setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
	}
	return setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
}

static int bind_listener(const union sockaddr_any *a, socklen_t len, bool shared)
{
	int one = 1;
	char buf[ADDR_STR_MAX];
	int fd = socket(a->sa.sa_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	/* No SO_REUSEADDR: on a UDP socket it would let a second server, or
	 * any local user's socket with the option set, bind the same port
	 * and take requests meant for this one. */
	if (fd < 0)
		goto fail;
	if (a->sa.sa_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
		goto fail;
	/* Single-port mode: transfer sockets join the port (reuseport.h). */
	if (shared && reuseport_enable(fd) < 0)
		goto fail;
	if (want_pktinfo(fd, a->sa.sa_family) < 0 || bind(fd, &a->sa, len) < 0)
		goto fail;
	return fd;
fail:
	log_err("cannot listen on %s: %m", addr_format(&a->sa, buf, sizeof(buf)));
	if (fd >= 0)
		close(fd);
	return -1;
}

/* Take over a socket from systemd or inetd. */
static int adopt_listener(int fd, int *family)
{
	union sockaddr_any a;
	socklen_t len = sizeof(a);

	if (getsockname(fd, &a.sa, &len) < 0) {
		log_err("inherited fd %d: %m", fd);
		return -1;
	}
	*family = a.sa.sa_family;
	if (want_pktinfo(fd, *family) < 0) {
		log_err("inherited fd %d: cannot enable packet info: %m", fd);
		return -1;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	return fd;
}

static int open_listeners(struct dispatcher *d)
{
	const struct server_conf *c = d->conf;
	int n = c->mode == SERVER_STANDALONE ? c->nlisten : c->ninherited;

	for (int i = 0; i < n; i++) {
		int fd;

		if (c->mode == SERVER_STANDALONE) {
			fd = bind_listener(&c->listen[i], c->listen_len[i], c->single_port);
			d->family[i] = c->listen[i].sa.sa_family;
		} else {
			fd = adopt_listener(c->inherited[i], &d->family[i]);
		}
		if (fd < 0)
			return -1;
		socklen_t len = sizeof(d->bound[i]);
		if (getsockname(fd, &d->bound[i].sa, &len) < 0)
			return -1;
		set_rcvbuf(fd, c->rcvbuf);
		/* Each datagram then tells how many the full buffer dropped. */
		setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &(int){ 1 }, sizeof(int));
		if (c->single_port) {
			char why[400];
			int one = 1;

			if (c->mode != SERVER_STANDALONE &&
			    reuseport_check_inherited(fd, c->mode == SERVER_INETD, why, sizeof(why)) < 0) {
				log_err("%s", why);
				return -1;
			}
			/* The receive time of each request (admit()). */
			if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one)) < 0) {
				log_err("cannot enable receive times: %m");
				return -1;
			}
		}
		d->pfd[i].fd = fd;
		d->pfd[i].events = POLLIN;
		d->nfd++;
	}
	return 0;
}

/* ---- Addresses ---------------------------------------------------------- */

/* Where a datagram was sent, from its packet info. */
struct dest {
	union sockaddr_any local;	/* address to reply from */
	uint64_t rx_ns;			/* receive time (CLOCK_REALTIME), or 0 */
	struct in_addr header, spec;	/* IPv4: header destination, local address */
};

/*
 * On an IPv6 listener an IPv4 datagram (dual-stack socket) carries
 * IP_PKTINFO; the reply socket then uses the IPv4-mapped address.
 */
static int dest_of(struct msghdr *mh, int family, struct dest *dst)
{
	union sockaddr_any *local = &dst->local;

	memset(dst, 0, sizeof(*dst));
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
			struct timespec ts;

			memcpy(&ts, CMSG_DATA(c), sizeof(ts));
			dst->rx_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
		}
	}
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			dst->header = pi.ipi_addr;
			dst->spec = pi.ipi_spec_dst;
			if (family == AF_INET6) {
				local->sin6.sin6_family = AF_INET6;
				local->sin6.sin6_addr.s6_addr[10] = 0xff;
				local->sin6.sin6_addr.s6_addr[11] = 0xff;
				memcpy(&local->sin6.sin6_addr.s6_addr[12], &pi.ipi_addr, 4);
			} else {
				local->sin.sin_family = AF_INET;
				local->sin.sin_addr = pi.ipi_addr;
			}
			return 0;
		}
	}
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			local->sin6.sin6_family = AF_INET6;
			local->sin6.sin6_addr = pi.ipi6_addr;
			if (IN6_IS_ADDR_LINKLOCAL(&pi.ipi6_addr))
				local->sin6.sin6_scope_id = pi.ipi6_ifindex;
			return 0;
		}
	}
	return -ENOENT;
}

/*
 * True for a request that was not sent to one of our unicast addresses.
 * For IPv4 the kernel tells: the destination in the header (ipi_addr)
 * equals the address it would reply from (ipi_spec_dst) only for a local
 * unicast route; a broadcast or multicast destination differs.
 */
static bool is_broadcast(const struct dest *dst)
{
	/* An IPv4 datagram on a dual-stack socket has a v4-mapped local
	 * address, and its IPv4 header and spec addresses say the rest. */
	if (dst->local.sa.sa_family == AF_INET6 && !IN6_IS_ADDR_V4MAPPED(&dst->local.sin6.sin6_addr))
		return IN6_IS_ADDR_MULTICAST(&dst->local.sin6.sin6_addr);
	/* A datagram queued before IP_PKTINFO was enabled (an inherited
	 * socket) reports no reply address (spec): only its header can be
	 * judged, and a subnet broadcast cannot be told from it. */
	if (dst->spec.s_addr == htonl(INADDR_ANY))
		return dst->header.s_addr == htonl(INADDR_BROADCAST) || IN_MULTICAST(ntohl(dst->header.s_addr));
	return dst->header.s_addr != dst->spec.s_addr;
}

/* ---- Transfers ---------------------------------------------------------- */

/* When a transfer socket was made, on the clock of SO_TIMESTAMPNS. */
static uint64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int bind_port(int fd, union sockaddr_any *local, unsigned low, unsigned high)
{
	unsigned span = high - low + 1, start = arc4random_uniform(span);

	for (unsigned i = 0; i < span; i++) {
		uint16_t port = htons((uint16_t)(low + (start + i) % span));

		if (local->sa.sa_family == AF_INET6)
			local->sin6.sin6_port = port;
		else
			local->sin.sin_port = port;
		if (bind(fd, &local->sa, addr_len(&local->sa)) == 0)
			return 0;
		if (errno != EADDRINUSE)
			return -errno;
	}
	return -EADDRINUSE;
}

static bool same_peer(const union sockaddr_any *a, const union sockaddr_any *b)
{
	struct peer_key ka, kb;

	peers_key(&a->sa, &ka);
	peers_key(&b->sa, &kb);
	return ka.family == kb.family && ka.port == kb.port && memcmp(ka.addr, kb.addr, sizeof(ka.addr)) == 0;
}

/*
 * Single-port mode: between bind() and connect() a transfer socket is an
 * unconnected member of the listening port, and the kernel may deliver
 * another client's request to it (by the reuseport hash, or because its
 * specific address outranks a wildcard listener).  Once it is connected
 * nothing but its peer's datagrams can arrive, so whatever is queued
 * then is taken out here: another client's datagram is kept to be
 * admitted as if the listener had read it; the peer's own (its request,
 * sent again) is dropped as a retransmission.
 */
static void rescue_strays(struct dispatcher *d, int fd, const union sockaddr_any *local,
			  const union sockaddr_any *peer)
{
	uint8_t buf[REQUEST_MAX];

	for (;;) {
		union sockaddr_any from;
		socklen_t flen = sizeof(from);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC, &from.sa, &flen);
		struct stray *s;

		if (n < 0)
			return;
		if ((size_t)n > sizeof(buf) || n < 2 || same_peer(&from, peer))
			continue;
		if (d->nstrays == d->strays_cap) {
			unsigned cap = d->strays_cap ? 2 * d->strays_cap : 16;
			struct stray *grown = reallocarray(d->strays, cap, sizeof(*grown));

			if (!grown)
				continue;	/* the client sends it again */
			d->strays = grown;
			d->strays_cap = cap;
		}
		s = &d->strays[d->nstrays];
		s->buf = malloc((size_t)n);
		if (!s->buf)
			continue;
		memcpy(s->buf, buf, (size_t)n);
		s->len = (uint16_t)n;
		s->peer = from;
		s->local = *local;
		d->nstrays++;
		d->rescued++;
	}
}

/* Socket for one transfer: from the request's local address, to the
 * peer; on a port in low..high when low is set, else on local's port
 * (0: any; in single-port mode, shared, the listener's).  flags:
 * SOCK_NONBLOCK for a worker, which waits in epoll (polling a blocking
 * UDP socket costs a look at its queue's first datagram each time). */
static int transfer_socket(struct dispatcher *d, union sockaddr_any *local, const union sockaddr_any *peer,
			   unsigned low, unsigned high, int flags, bool shared)
{
	int fd = socket(peer->sa.sa_family, SOCK_DGRAM | SOCK_CLOEXEC | flags, 0);
	int zero = 0, r;

	if (fd < 0)
		return -errno;
	if (local->sa.sa_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&local->sin6.sin6_addr))
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (shared && reuseport_enable(fd) < 0)
		r = -errno;
	else if (low)
		r = bind_port(fd, local, low, high);
	else
		r = bind(fd, &local->sa, addr_len(&local->sa)) < 0 ? -errno : 0;
	if (r == 0 && connect(fd, &peer->sa, addr_len(&peer->sa)) < 0)
		r = -errno;
	if (r < 0) {
		close(fd);
		return r;
	}
	if (shared) {
		/* Drained, filtered, drained again: what came before the
		 * filter is rescued, nothing after it is another client's. */
		rescue_strays(d, fd, local, peer);
		r = reuseport_peer_filter(fd, &peer->sa);
		if (r < 0) {
			close(fd);
			return r;
		}
		rescue_strays(d, fd, local, peer);
	}
	return fd;
}

/* A new transfer child or worker, once it has closed what it must not
 * keep: default signal handling, then its sandbox, or it exits. */
static void enter_sandbox(const struct dispatcher *d, const struct sandbox_conf *sb, int rootfd)
{
	int r;

	sigprocmask(SIG_SETMASK, &d->oldmask, NULL);
	/* Past --max-upload a write fails with EFBIG instead of killing. */
	signal(SIGXFSZ, SIG_IGN);
	r = sandbox_enter(sb, rootfd);
	if (r < 0) {
		log_err("cannot enter the sandbox: %s", strerror(-r));
		_exit(2);
	}
}

/* Single-port mode: a transfer a new request replaced counts as one. */
static void report_replaced(const struct xfer_report *r, void *arg)
{
	report_send(*(int *)arg, r);
}

static void child(struct dispatcher *d, int sock, const void *req, size_t len,
		  const union sockaddr_any *peer)
{
	int pick = server_root_pick(d->conf, &peer->sa);
	int rootfd = pick < 0 ? d->rootfd : d->client_rootfd[pick];
	struct sandbox_conf sb;
	struct xfer_report rep;

	for (int i = 0; i <= d->nfd; i++)
		close(d->pfd[i].fd);
	close(d->report_rd);
	/* Only its own root: where Landlock is missing, another root's
	 * descriptor would reach that tree (openat2 beneath it). */
	if (d->rootfd != rootfd)
		close(d->rootfd);
	for (unsigned i = 0; i < d->conf->nroots; i++)
		if (d->client_rootfd[i] != rootfd)
			close(d->client_rootfd[i]);
	sb = d->conf->sandbox;
	limit_data(&sb, d->conf->xfer.mem_budget, 1);
	enter_sandbox(d, &sb, rootfd);
	xfer_run(&d->conf->xfer, sock, rootfd, req, len, &peer->sa, &rep, report_replaced, &d->report_wr);
	/* Status 0 tells reap() that the report went out (report.h). */
	_exit(rep.outcome != XO_NONE && report_send(d->report_wr, &rep) == 0 ? 0 : 1);
}

/* ---- Workers ------------------------------------------------------------ */

static struct pollfd *wk_pfd(struct dispatcher *d, int i)
{
	return &d->pfd[d->nfd + 2 + i];
}

/* Close every descriptor a new process must not keep, but keep. */
static void close_inherited(struct dispatcher *d, int keep)
{
	for (int i = 0; i <= d->nfd + 1 + WORKER_SLOTS; i++)
		if (d->pfd[i].fd >= 0 && d->pfd[i].fd != keep)
			close(d->pfd[i].fd);
	/* Also those no longer polled (exiting workers): a worker sees its
	 * dispatcher gone only when no one else holds its end. */
	for (int i = 0; i < WORKER_SLOTS; i++)
		if (d->wk[i].ctl >= 0 && d->wk[i].ctl != keep && d->wk[i].ctl != wk_pfd(d, i)->fd)
			close(d->wk[i].ctl);
	close(d->report_wr);	/* workers report on their control socket */
}

static int start_worker(struct dispatcher *d, int i, uint64_t now)
{
	int sv[2], big = 4 << 20;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		log_err("workers: socketpair: %m");
		return -errno;
	}
	/* Room for a storm's handoffs in flight (root may exceed wmem_max). */
	if (setsockopt(sv[0], SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big)) < 0)
		setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	pid = fork();
	if (pid < 0) {
		log_err("workers: fork: %m");
		close(sv[0]);
		close(sv[1]);
		return -errno;
	}
	if (pid == 0) {
		struct sandbox_conf sb = d->wsandbox;

		close(sv[0]);
		close_inherited(d, sv[1]);
		limit_data(&sb, d->conf->xfer.mem_budget, server_worker_capacity(sb.nofile));
		enter_sandbox(d, &sb, d->rootfd);
		_exit(worker_run(&d->conf->xfer, sv[1], d->rootfd));
	}
	close(sv[1]);
	d->wk[i] = (struct wproc){ .pid = pid, .ctl = sv[0], .started_us = now };
	*wk_pfd(d, i) = (struct pollfd){ .fd = sv[0], .events = POLLIN };
	return 0;
}

/* Start workers until --workers of them take transfers. */
static void fill_workers(struct dispatcher *d, uint64_t now)
{
	unsigned active = 0;

	for (int i = 0; i < WORKER_SLOTS; i++)
		if (d->wk[i].pid && !d->wk[i].retiring)
			active++;
	for (int i = 0; i < WORKER_SLOTS && active < d->conf->workers; i++) {
		if (d->wk[i].pid)
			continue;
		if (start_worker(d, i, now) < 0)
			break;
		active++;
	}
}

/* The least loaded worker that takes transfers, or -1. */
static int pick_worker(const struct dispatcher *d)
{
	int best = -1;

	for (int i = 0; i < WORKER_SLOTS; i++) {
		const struct wproc *w = &d->wk[i];

		if (w->pid && w->ctl >= 0 && !w->retiring && (best < 0 || w->load < d->wk[best].load))
			best = i;
	}
	/* A worker holds no more than its descriptor limit allows. */
	if (best >= 0 && d->wk[best].load >= server_worker_capacity(d->wsandbox.nofile))
		return -1;
	return best;
}

/* A worker's transfer ended, with its report, or without one (NULL): the
 * worker died with it. */
static void forget_transfer(struct dispatcher *d, uint32_t id, const struct xfer_report *r, bool more)
{
	struct wxfer *x = &d->wx[id - 1];

	/* more: a new request replaced the transfer, which goes on. */
	if (!more) {
		d->wk[x->worker].load--;
		x->worker = -1;
		d->wx_free[d->wx_nfree++] = id;
		peers_remove_pid(d->live, (pid_t)id);
	}
	if (r)
		metrics_account(&d->metrics, r);
	else
		d->metrics.lost++;
	if (r && (r->outcome == XO_COMPLETE || r->outcome == XO_PROBE))
		d->served++;
	else
		d->failed++;
	d->status_dirty = true;
}

/* Read the worker's reports of ended transfers. */
static void read_done(struct dispatcher *d, int i, uint64_t now)
{
	struct worker_done done[128];
	ssize_t n;

	if (d->wk[i].ctl < 0)
		return;
	while ((n = recv(d->wk[i].ctl, done, sizeof(done), MSG_DONTWAIT)) > 0) {
		for (size_t k = 0; k < (size_t)n / sizeof(done[0]); k++) {
			uint32_t id = done[k].id;
			struct xfer_report r;

			if (id == 0 || id > d->conf->max_transfers || d->wx[id - 1].worker != i) {
				log_err("worker %ld reported an unknown transfer", (long)d->wk[i].pid);
				continue;
			}
			if (report_decode(done[k].report, REPORT_SIZE, &r) < 0) {
				log_warn("worker %ld sent a malformed transfer report", (long)d->wk[i].pid);
				forget_transfer(d, id, NULL, false);
				continue;
			}
			forget_transfer(d, id, &r, done[k].more != 0);
		}
		d->last_activity_us = now;
	}
}

/* What a client whose transfer's process died is told. */
static const char *orphan_message(const struct dispatcher *d)
{
	return d->cut ? "Server stopped" : "Transfer interrupted";
}

/* Tell the client of a transfer whose process died, from the transfer's
 * own address and port (free again: the socket died with the process). */
static void abort_orphan(struct dispatcher *d, const union sockaddr_any *local,
			 const union sockaddr_any *peer)
{
	union sockaddr_any from = *local;
	uint8_t buf[64];
	int n = packet_build_error(buf, sizeof(buf), ERR_UNDEFINED, orphan_message(d));
	int fd = transfer_socket(d, &from, peer, 0, 0, 0, d->conf->single_port);

	if (fd < 0)
		return;
	if (n > 0)
		(void)!send(fd, buf, (size_t)n, 0);
	close(fd);
}

/* A worker exited: its transfers ended with it.  Replace it unless it was
 * retiring or the server is stopping. */
static void worker_lost(struct dispatcher *d, int i, int status, uint64_t now)
{
	struct wproc *w = &d->wk[i];
	unsigned lost = 0;

	/* Cut by the drain timeout, a worker tells its clients itself and
	 * exits with 0; else the client hears it from the transfer's own
	 * port (free again: the socket died with the worker). */
	bool told = d->cut && WIFEXITED(status) && WEXITSTATUS(status) == 0;

	read_done(d, i, now);
	for (unsigned k = 0; k < d->conf->max_transfers; k++) {
		if (d->wx[k].worker != i)
			continue;
		if (!told)
			abort_orphan(d, &d->wx[k].local, &d->wx[k].peer);
		forget_transfer(d, k + 1, NULL, false);
		lost++;
	}
	/* A worker that leaves while the server stops (a terminal's ^C
	 * reaches the whole process group) with nothing running is routine;
	 * so is one the drain timeout ended. */
	if (d->stopping && !lost)
		log_info("worker %ld ended while stopping", (long)w->pid);
	else if (d->cut)
		log_notice("worker %ld ended at the drain timeout; %u transfers cut", (long)w->pid, lost);
	else if (!w->retiring || lost || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		if (WIFSIGNALED(status))
			log_err("worker %ld killed by signal %d; %u transfers lost", (long)w->pid,
				WTERMSIG(status), lost);
		else
			log_err("worker %ld exited with status %d; %u transfers lost", (long)w->pid,
				WEXITSTATUS(status), lost);
	}
	if (w->ctl >= 0)
		close(w->ctl);
	*wk_pfd(d, i) = (struct pollfd){ .fd = -1 };
	/* One that died young would likely die again at once: wait. */
	if (!w->retiring && now - w->started_us < RESPAWN_DELAY_US)
		d->respawn_us = now + RESPAWN_DELAY_US;
	else if (!w->retiring && !d->respawn_us)
		d->respawn_us = now;
	*w = (struct wproc){ .ctl = -1 };
	d->status_dirty = true;
}

static int worker_of(const struct dispatcher *d, pid_t pid)
{
	for (int i = 0; i < WORKER_SLOTS; i++)
		if (d->wk[i].pid == pid)
			return i;
	return -1;
}

/* SIGHUP: the workers hold the old root; new ones take new transfers and
 * the old ones finish theirs and exit. */
static void retire_workers(struct dispatcher *d, uint64_t now)
{
	unsigned free_slots = 0;

	for (int i = 0; i < WORKER_SLOTS; i++)
		if (!d->wk[i].pid)
			free_slots++;
	if (free_slots < d->conf->workers) {
		log_warn("reload: workers still retiring; the running ones keep the old root");
		return;
	}
	for (int i = 0; i < WORKER_SLOTS; i++) {
		if (!d->wk[i].pid || d->wk[i].retiring)
			continue;
		d->wk[i].retiring = true;
		shutdown(d->wk[i].ctl, SHUT_WR);	/* end of file: take no more */
	}
	fill_workers(d, now);
}

/* Hand an admitted request to a worker.  Returns 0 or -errno (-EAGAIN:
 * every worker is busy taking handoffs; try again later). */
static int spawn_in_worker(struct dispatcher *d, const struct peer_key *key, const void *req,
			   size_t len, const union sockaddr_any *peer, union sockaddr_any *local)
{
	char pbuf[ADDR_STR_MAX];
	int w = pick_worker(d), sock, r;
	socklen_t slen = sizeof(*local);
	uint64_t made_ns;
	uint32_t id;

	if (w < 0 || d->wx_nfree == 0)
		return -EAGAIN;
	sock = transfer_socket(d, local, peer, d->conf->port_low, d->conf->port_high, SOCK_NONBLOCK,
			       d->conf->single_port);
	if (sock < 0) {
		log_warn("no socket for %s: %s", addr_format(&peer->sa, pbuf, sizeof(pbuf)), strerror(-sock));
		return sock;
	}
	made_ns = realtime_ns();
	getsockname(sock, &local->sa, &slen);
	id = d->wx_free[d->wx_nfree - 1];
	r = worker_handoff(d->wk[w].ctl, id, sock, req, len, peer);
	close(sock);
	if (r < 0) {
		if (r != -EAGAIN)
			log_warn("handoff to worker %ld: %s", (long)d->wk[w].pid, strerror(-r));
		return -EAGAIN;
	}
	d->wx_nfree--;
	d->wx[id - 1] = (struct wxfer){ .worker = w, .peer = *peer, .local = *local };
	d->wk[w].load++;
	peers_add(d->live, key, (pid_t)id);
	peers_set_stamp(d->live, key, made_ns);
	d->status_dirty = true;
	return 0;
}

/* Fork the child for an admitted request.  Returns 0 or -errno. */
static int spawn(struct dispatcher *d, const struct peer_key *key, const void *req, size_t len,
		 const union sockaddr_any *peer, union sockaddr_any *local)
{
	char pbuf[ADDR_STR_MAX];
	uint64_t made_ns;
	socklen_t slen = sizeof(*local);
	int sock;
	pid_t pid;

	if (d->conf->workers)
		return spawn_in_worker(d, key, req, len, peer, local);
	sock = transfer_socket(d, local, peer, d->conf->port_low, d->conf->port_high, 0,
			       d->conf->single_port);
	if (sock < 0) {
		log_warn("no socket for %s: %s", addr_format(&peer->sa, pbuf, sizeof(pbuf)), strerror(-sock));
		return sock;
	}
	made_ns = realtime_ns();
	getsockname(sock, &local->sa, &slen);
	pid = fork();
	if (pid == 0)
		child(d, sock, req, len, peer);
	close(sock);
	if (pid < 0) {
		log_err("fork: %m");
		return -errno;
	}
	peers_add(d->live, key, pid);
	peers_set_stamp(d->live, key, made_ns);
	replypaths_add(&d->paths, pid, peer, local);	/* room for max_transfers */
	d->status_dirty = true;
	return 0;
}

static bool has_room(const struct dispatcher *d, const struct peer_key *key)
{
	const struct server_conf *c = d->conf;

	return peers_count(d->live) < c->max_transfers &&
	       (!c->max_per_client || peers_client_count(d->live, key) < c->max_per_client);
}

static void enqueue(struct dispatcher *d, const struct peer_key *key, const void *req, size_t len,
		    const union sockaddr_any *peer, const union sockaddr_any *local, uint64_t now)
{
	unsigned qmax = d->conf->queue_max, slot;
	struct pending *p;

	if (d->q_len >= qmax) {
		d->dropped_busy++;
		return;
	}
	slot = (d->q_head + d->q_len) % qmax;
	p = &d->queue[slot];
	p->buf = malloc(len);
	if (!p->buf) {
		d->dropped_busy++;
		return;
	}
	memcpy(p->buf, req, len);
	p->len = (uint16_t)len;
	p->key = *key;
	p->peer = *peer;
	p->local = *local;
	p->since_us = now;
	p->used = true;
	peers_add(d->queued, key, (pid_t)slot + 1);
	d->q_len++;
	d->status_dirty = true;
}

/* Start queued requests that have room, oldest first; forget those that
 * waited so long that their client has given up. */
static void run_queue(struct dispatcher *d, uint64_t now)
{
	unsigned qmax = d->conf->queue_max;

	for (unsigned i = 0; i < d->q_len; i++) {
		unsigned slot = (d->q_head + i) % qmax;
		struct pending *p = &d->queue[slot];
		/* since_us may be a little after now (taken later in the batch). */
		bool stale = now > p->since_us && now - p->since_us > QUEUE_AGE_US;

		/* A client's next request waits for its last transfer to end
		 * (single-port mode: admit()). */
		if (!p->used || (!stale && (!has_room(d, &p->key) || peers_has(d->live, &p->key))))
			continue;
		if (!stale && spawn(d, &p->key, p->buf, p->len, &p->peer, &p->local) == -EAGAIN)
			break;	/* the workers are saturated: later, in order */
		peers_remove_pid(d->queued, (pid_t)slot + 1);
		free(p->buf);
		p->buf = NULL;
		p->used = false;
		d->status_dirty = true;
	}
	/* Skip the holes at the head. */
	while (d->q_len && !d->queue[d->q_head].used) {
		d->q_head = (d->q_head + 1) % qmax;
		d->q_len--;
	}
}

/* Single-port mode: transfers reply from the listener's port. */
static void set_port(union sockaddr_any *local, const union sockaddr_any *listener)
{
	in_port_t port = listener->sa.sa_family == AF_INET6 ? listener->sin6.sin6_port
							     : listener->sin.sin_port;

	if (local->sa.sa_family == AF_INET6)
		local->sin6.sin6_port = port;
	else
		local->sin.sin_port = port;
}

/*
 * A request the --allow/--deny rules refuse: counted, logged (at most
 * DENY_LOG_PER_S lines a second, so that a flood cannot fill the log),
 * and dropped, or answered with ERROR 2 from a socket of its own, as a
 * transfer's first reply would be.
 */
static void deny(struct dispatcher *d, unsigned op, const union sockaddr_any *peer,
		 union sockaddr_any *local, uint64_t now)
{
	char pbuf[ADDR_STR_MAX];

	d->metrics.denied[op == OP_WRQ ? 1 : 0]++;
	if (now - d->deny_log_us >= 1000000) {
		d->deny_log_us = now;
		d->deny_logged = 0;
	}
	if (d->deny_logged < DENY_LOG_PER_S) {
		d->deny_logged++;
		if (d->deny_unlogged)
			log_notice("denied %s from %s (and %llu more not logged)", op == OP_WRQ ? "WRQ" : "RRQ",
				   addr_format(&peer->sa, pbuf, sizeof(pbuf)),
				   (unsigned long long)d->deny_unlogged);
		else
			log_notice("denied %s from %s", op == OP_WRQ ? "WRQ" : "RRQ",
				   addr_format(&peer->sa, pbuf, sizeof(pbuf)));
		d->deny_unlogged = 0;
	} else {
		d->deny_unlogged++;
	}
	if (d->conf->deny_error) {
		uint8_t buf[64];
		int n = packet_build_error(buf, sizeof(buf), ERR_ACCESS, "Access violation");
		int fd = transfer_socket(d, local, peer, d->conf->port_low, d->conf->port_high, 0, d->conf->single_port);

		if (fd < 0)
			return;
		if (n > 0)
			(void)!send(fd, buf, (size_t)n, 0);
		close(fd);
	}
}

/*
 * A request whose source network has spent its budget of unverified
 * bytes (netbudget.h): dropped, counted, and logged as denials are, at
 * most DENY_LOG_PER_S lines a second.
 */
static void over_budget(struct dispatcher *d, unsigned op, const union sockaddr_any *peer, uint64_t now)
{
	char pbuf[ADDR_STR_MAX];

	d->metrics.limited[op == OP_WRQ ? 1 : 0]++;
	if (now - d->limit_log_us >= 1000000) {
		d->limit_log_us = now;
		d->limit_logged = 0;
	}
	if (d->limit_logged >= DENY_LOG_PER_S) {
		d->limit_unlogged++;
		return;
	}
	d->limit_logged++;
	if (d->limit_unlogged)
		log_notice("dropped %s from %s: its network's unverified bytes are spent (and %llu more not logged)",
			   op == OP_WRQ ? "WRQ" : "RRQ", addr_format(&peer->sa, pbuf, sizeof(pbuf)),
			   (unsigned long long)d->limit_unlogged);
	else
		log_notice("dropped %s from %s: its network's unverified bytes are spent",
			   op == OP_WRQ ? "WRQ" : "RRQ", addr_format(&peer->sa, pbuf, sizeof(pbuf)));
	d->limit_unlogged = 0;
}

/* Admission of a request sent to dst->local (reply address and port). */
static void admit_request(struct dispatcher *d, const void *req, size_t len, const union sockaddr_any *peer,
			  struct dest *dst, unsigned op, uint64_t now)
{
	struct peer_key key;
	char pbuf[ADDR_STR_MAX];

	d->last_activity_us = now;
	if (!acl_permits(&d->conf->acl, &peer->sa, op == OP_WRQ ? ACL_WRITE : ACL_READ)) {
		deny(d, op, peer, &dst->local, now);
		return;
	}
	peers_key(&peer->sa, &key);
	if (peers_has(d->queued, &key))
		return;
	if (peers_has(d->live, &key)) {
		/* Single-port mode: received after the transfer's socket was
		 * made, so that socket is closed and this is the client's next
		 * request from the same port: it starts once the old transfer
		 * is reaped.  Otherwise a retransmitted request of a live
		 * transfer. */
		if (d->conf->single_port && dst->rx_ns && dst->rx_ns > peers_stamp(d->live, &key)) {
			log_debug("%s: next request waits for the last transfer to end",
				  addr_format(&peer->sa, pbuf, sizeof(pbuf)));
			enqueue(d, &key, req, len, peer, &dst->local, now);
		}
		return;
	}
	/* A new request: what its replies may cost a network that never
	 * asked for them (a forged source).  Loopback cannot be forged from
	 * outside this host. */
	if (d->unverified && !netbudget_local(&peer->sa) &&
	    !netbudget_charge(d->unverified, &peer->sa,
			      netbudget_cost(&peer->sa, len, XFER_UNVERIFIED_RESENDS), now)) {
		over_budget(d, op, peer, now);
		return;
	}
	/* Queued requests that could start have started (run_queue runs
	 * after every reap), so a request with room goes first. */
	if (!has_room(d, &key) || spawn(d, &key, req, len, peer, &dst->local) == -EAGAIN)
		enqueue(d, &key, req, len, peer, &dst->local, now);
}

static void admit(struct dispatcher *d, int idx, struct msghdr *mh, size_t len, uint64_t now)
{
	union sockaddr_any *peer = mh->msg_name;
	struct dest dst;
	unsigned op = packet_opcode(mh->msg_iov->iov_base, len);
	char pbuf[ADDR_STR_MAX];

	if (op != OP_RRQ && op != OP_WRQ) {
		log_debug("dropped opcode %u from %s", op, addr_format(&peer->sa, pbuf, sizeof(pbuf)));
		return;
	}
	if (dest_of(mh, d->family[idx], &dst) < 0) {
		/* Queued before packet info was enabled on an inherited
		 * socket: reply from the listener's own address (the kernel
		 * picks one by route when it is a wildcard). */
		dst.local = d->bound[idx];
		if (dst.local.sa.sa_family == AF_INET6)
			dst.local.sin6.sin6_port = 0;
		else
			dst.local.sin.sin_port = 0;
	} else if (is_broadcast(&dst)) {
		return;
	}
	if (d->conf->single_port)
		set_port(&dst.local, &d->bound[idx]);
	admit_request(d, mh->msg_iov->iov_base, len, peer, &dst, op, now);
}

/* Admit what rescue_strays() took from transfer sockets, in the order it
 * came; admitting one may rescue more. */
static void admit_strays(struct dispatcher *d, uint64_t now)
{
	for (unsigned i = 0; i < d->nstrays; i++) {
		struct stray s = d->strays[i];
		struct dest dst = { .local = s.local, .rx_ns = realtime_ns() };
		unsigned op = packet_opcode(s.buf, s.len);

		if (op == OP_RRQ || op == OP_WRQ)
			admit_request(d, s.buf, s.len, &s.peer, &dst, op, now);
		free(s.buf);
	}
	d->nstrays = 0;
}

/* SO_RXQ_OVFL: the socket's running count of datagrams dropped for want
 * of buffer, carried by each datagram queued after a drop. */
static void count_overflow(struct dispatcher *d, int idx, struct msghdr *mh)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
			uint32_t n;

			memcpy(&n, CMSG_DATA(c), sizeof(n));
			if (n != d->ovfl_seen[idx]) {
				d->overflowed += (uint32_t)(n - d->ovfl_seen[idx]);
				d->ovfl_seen[idx] = n;
				d->status_dirty = true;
			}
		}
	}
}

static void receive_batch(struct dispatcher *d, int idx, uint64_t now)
{
	unsigned batch = d->conf->batch;
	int n;

	for (unsigned i = 0; i < batch; i++) {
		d->msg[i].msg_hdr.msg_namelen = sizeof(d->peer[i]);
		d->msg[i].msg_hdr.msg_controllen = sizeof(d->ctl[i]);
		d->msg[i].msg_hdr.msg_flags = 0;
	}
	n = recvmmsg(d->pfd[idx].fd, d->msg, batch, MSG_DONTWAIT, NULL);
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			log_warn("recvmmsg: %m");
		return;
	}
	for (int i = 0; i < n; i++) {
		count_overflow(d, idx, &d->msg[i].msg_hdr);
		if (d->msg[i].msg_hdr.msg_flags & (MSG_TRUNC | MSG_CTRUNC))
			continue;
		admit(d, idx, &d->msg[i].msg_hdr, d->msg[i].msg_len, now);
	}
}

/* Wire the recvmmsg arrays once; receive_batch() only resets lengths. */
static void wire_batch(struct dispatcher *d)
{
	for (unsigned i = 0; i < BATCH_MAX; i++) {
		d->iov[i].iov_base = d->buf[i];
		d->iov[i].iov_len = REQUEST_MAX;
		d->msg[i].msg_hdr.msg_name = &d->peer[i];
		d->msg[i].msg_hdr.msg_iov = &d->iov[i];
		d->msg[i].msg_hdr.msg_iovlen = 1;
		d->msg[i].msg_hdr.msg_control = d->ctl[i];
	}
}

/* ---- Signals and status ------------------------------------------------ */

static void reap(struct dispatcher *d, uint64_t now)
{
	struct replypath rp;
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		int w = d->conf->workers ? worker_of(d, pid) : -1;

		if (w >= 0) {
			worker_lost(d, w, status, now);
			continue;
		}
		if (d->conf->workers || !peers_remove_pid(d->live, pid))
			continue;
		/* A child that was killed told its client nothing. */
		if (replypaths_take(&d->paths, pid, &rp) && WIFSIGNALED(status))
			abort_orphan(d, &rp.local, &rp.peer);
		/* Status 0: the child's report counts it (read_reports). */
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			d->failed++;
			d->metrics.lost++;
		}
		if (WIFSIGNALED(status))
			log_warn("transfer %ld killed by signal %d", (long)pid, WTERMSIG(status));
		d->last_activity_us = now;
		d->status_dirty = true;
	}
}

static void reopen_dir(const char *dir, int *fdp)
{
	int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0) {
		log_err("reload: cannot open %s: %m; keeping the old root", dir);
		return;
	}
	close(*fdp);
	*fdp = fd;
}

static void reload(struct dispatcher *d, uint64_t now)
{
	reopen_dir(d->conf->root, &d->rootfd);
	for (unsigned i = 0; i < d->conf->nroots; i++)
		reopen_dir(d->conf->roots[i].dir, &d->client_rootfd[i]);
	log_notice("reloaded: root %s reopened", d->conf->root);
	if (d->conf->workers)
		retire_workers(d, now);
}

/* -P: the pid of the dispatcher, once it has detached. */
static int write_pid_file(const char *path)
{
	FILE *f = fopen(path, "we");

	if (!f || fprintf(f, "%ld\n", (long)getpid()) < 0 || fclose(f) != 0) {
		log_err("cannot write the pid file %s: %m", path);
		return -1;
	}
	return 0;
}

/* systemctl status and ps show the same line. */
static void notify_status(struct dispatcher *d, uint64_t now, bool force)
{
	char status[256], sent[24], received[24];
	bool force_title = false;

	if (!d->status_dirty)
		return;
	/* The title follows the number of transfers at once; the status
	 * line for systemd at most once a second. */
	if (!force && now - d->status_us < STATUS_INTERVAL_US) {
		if (peers_count(d->live) != d->shown_active)
			force_title = true;
		else
			return;
	}
	snprintf(status, sizeof(status),
		 "%u active, %u queued, %llu served, %llu failed (%llu not found), %llu dropped (busy),"
		 " %llu lost (buffer full), %s sent, %s received",
		 peers_count(d->live), peers_count(d->queued), (unsigned long long)d->served,
		 (unsigned long long)d->failed, (unsigned long long)metrics_not_found(&d->metrics),
		 (unsigned long long)d->dropped_busy, (unsigned long long)d->overflowed,
		 log_human_bytes(d->metrics.bytes[0], sent, sizeof(sent)),
		 log_human_bytes(d->metrics.bytes[1], received, sizeof(received)));
	setproctitle("%s", status);
	d->shown_active = peers_count(d->live);
	if (force_title)
		return;	/* still dirty: STATUS= follows within the second */
	sd_notifyf(0, "STATUS=%s", status);
	d->status_us = now;
	d->status_dirty = false;
}

/* ---- Reports and metrics ------------------------------------------------ */

/*
 * The socket transfer children report on (report.h).  A full socket
 * makes a child wait at most a second: it has nothing else left to do,
 * and the dispatcher drains the socket every round.
 */
static int open_reports(struct dispatcher *d)
{
	int sv[2], size = 1 << 20;
	struct timeval tv = { 1, 0 };

	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) < 0) {
		log_err("socketpair: %m");
		return -1;
	}
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	setsockopt(sv[1], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (setsockopt(sv[1], SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	d->report_rd = sv[0];
	d->report_wr = sv[1];
	return 0;
}

/* Returns how many datagrams were read: REPORTS_PER_ROUND when more may wait. */
static int read_reports(struct dispatcher *d)
{
	uint8_t buf[REPORT_SIZE + 1];	/* one more, to see an oversized one */
	struct xfer_report r;
	int i;

	for (i = 0; i < REPORTS_PER_ROUND; i++) {
		ssize_t n = recv(d->report_rd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n < 0)
			break;	/* EAGAIN: drained */
		if (report_decode(buf, (size_t)n, &r) < 0) {
			log_warn("ignored a malformed transfer report (%zd bytes)", n);
			continue;
		}
		metrics_account(&d->metrics, &r);
		if (r.outcome == XO_COMPLETE || r.outcome == XO_PROBE)
			d->served++;
		else
			d->failed++;
		d->status_dirty = true;
	}
	return i;
}

/* Every --metrics-interval seconds and at exit; a failure is logged when
 * it starts and when it ends, not every time. */
static void write_metrics(struct dispatcher *d, uint64_t now)
{
	const struct server_conf *c = d->conf;
	struct metrics_gauges g = {
		.active = peers_count(d->live), .queued = peers_count(d->queued),
		.dropped_busy = d->dropped_busy, .overflowed = d->overflowed,
		.rescued = d->rescued, .version = PACKAGE_VERSION, .root = c->root,
	};
	int len, r;

	if (!c->metrics_path)
		return;
	d->metrics_us = now + c->metrics_interval_s * 1000000ull;
	len = metrics_render(&d->metrics, &g, d->metrics_text, sizeof(d->metrics_text));
	r = len < 0 ? len : metrics_write(c->metrics_path, d->metrics_text, (size_t)len);
	if (r < 0 && !d->metrics_failing)
		log_warn("cannot write %s: %s", c->metrics_path, strerror(-r));
	else if (r == 0 && d->metrics_failing)
		log_notice("%s written again", c->metrics_path);
	d->metrics_failing = r < 0;
}

static void stop_listening(struct dispatcher *d)
{
	for (int i = 0; i < d->nfd; i++) {
		close(d->pfd[i].fd);
		d->pfd[i].fd = -1;	/* poll ignores it */
	}
	d->stopping = true;
	sd_notify(0, "STOPPING=1");
}

static void kill_child(pid_t pid, void *arg)
{
	kill(pid, *(int *)arg);
}

/* Signal every worker and transfer child. */
static void signal_all(struct dispatcher *d, int sig)
{
	if (!d->conf->workers) {
		peers_each_pid(d->live, kill_child, &sig);
		return;
	}
	for (int i = 0; i < WORKER_SLOTS; i++)
		if (d->wk[i].pid)
			kill(d->wk[i].pid, sig);
}

/* Workers and transfer children not yet reaped. */
static unsigned processes_left(const struct dispatcher *d)
{
	unsigned n = 0;

	if (!d->conf->workers)
		return peers_count(d->live);
	for (int i = 0; i < WORKER_SLOTS; i++)
		if (d->wk[i].pid)
			n++;
	return n;
}

/* Closing a worker's control socket is a hangup for it: it ends what it
 * still runs with an ERROR to each client, and exits. */
static void close_workers(struct dispatcher *d)
{
	for (int i = 0; i < WORKER_SLOTS; i++)
		if (d->wk[i].pid && d->wk[i].ctl >= 0) {
			close(d->wk[i].ctl);
			d->wk[i].ctl = -1;
			*wk_pfd(d, i) = (struct pollfd){ .fd = -1 };
		}
}

/*
 * Reap every worker and transfer child, waiting for them until until_us;
 * then kill those left and reap them too, so that the server leaves no
 * process behind.  The clients of those killed are told (reap()).
 */
static void reap_all(struct dispatcher *d, uint64_t until_us)
{
	bool killed = false;

	for (;;) {
		struct signalfd_siginfo si;
		struct pollfd p = { .fd = d->sigfd, .events = POLLIN };
		uint64_t now = xfer_now_us();

		reap(d, now);
		if (!processes_left(d))
			return;
		if (now >= until_us) {
			if (killed) {
				log_err("%u processes still running after SIGKILL", processes_left(d));
				return;
			}
			log_warn("ending %u processes that are still running", processes_left(d));
			d->cut = true;
			signal_all(d, SIGKILL);
			killed = true;
			until_us = now + 5000000;
			continue;
		}
		poll(&p, 1, (int)((until_us - now + 999) / 1000));
		while (read(d->sigfd, &si, sizeof(si)) == sizeof(si))
			;	/* SIGCHLD; a repeated SIGTERM changes nothing now */
	}
}

/* The workers' pool and the table of their transfers. */
static int init_workers(struct dispatcher *d)
{
	const struct server_conf *c = d->conf;
	struct rlimit rl;

	for (int i = 0; i < WORKER_SLOTS; i++)
		d->wk[i].ctl = -1;
	if (!c->workers)
		return 0;
	d->wx = calloc(c->max_transfers, sizeof(*d->wx));
	d->wx_free = calloc(c->max_transfers, sizeof(*d->wx_free));
	if (!d->wx || !d->wx_free)
		return -ENOMEM;
	for (unsigned k = 0; k < c->max_transfers; k++) {
		d->wx[k].worker = -1;
		d->wx_free[k] = c->max_transfers - k;	/* low ids first */
	}
	d->wx_nfree = c->max_transfers;
	/* Sockets in flight to a worker count against our descriptor limit. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	d->wsandbox = c->sandbox;
	d->wsandbox.worker = true;
	/* A socket and a file (or two, uploading) per transfer, within the
	 * hard limit a worker that is no longer root cannot raise. */
	d->wsandbox.nofile = 3 * c->max_transfers + 16;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max != RLIM_INFINITY &&
	    d->wsandbox.nofile > rl.rlim_max)
		d->wsandbox.nofile = (unsigned)rl.rlim_max;
	return 0;
}

/* Milliseconds poll() may sleep: forever unless a timer is due. */
static int poll_timeout(const struct dispatcher *d, uint64_t now, uint64_t stop_deadline)
{
	uint64_t next = UINT64_MAX;

	if (d->status_dirty)
		next = d->status_us + STATUS_INTERVAL_US;
	if (d->q_len)
		next = now + 100000;	/* age out queued requests */
	if (d->respawn_us && !d->stopping && d->respawn_us < next)
		next = d->respawn_us;
	if (d->conf->metrics_path && d->metrics_us < next)
		next = d->metrics_us;
	if (d->stopping && stop_deadline < next)
		next = stop_deadline;
	if (!d->stopping && d->conf->mode != SERVER_STANDALONE && d->conf->idle_timeout_s) {
		uint64_t idle = d->last_activity_us + d->conf->idle_timeout_s * 1000000ull;

		if (idle < next)
			next = idle;
	}
	if (next == UINT64_MAX)
		return -1;
	return next <= now ? 0 : (int)((next - now + 999) / 1000);
}

int dispatch_run(const struct server_conf *c)
{
	struct dispatcher *d = calloc(1, sizeof(*d));
	uint64_t now, stop_deadline = UINT64_MAX;
	int sigfd;
	sigset_t mask;

	if (!d)
		return 1;
	d->conf = c;
	d->rootfd = c->rootfd;
	for (unsigned i = 0; i < c->nroots; i++)
		d->client_rootfd[i] = c->roots[i].fd;
	d->live = peers_new(c->max_transfers);
	d->queued = peers_new(c->queue_max ? c->queue_max : 1);
	d->queue = calloc(c->queue_max ? c->queue_max : 1, sizeof(*d->queue));
	if (!d->live || !d->queued || !d->queue)
		return 1;
	if (c->unverified_rate) {
		d->unverified = netbudget_new(NETBUDGET_NETWORKS, c->unverified_rate, c->unverified_burst);
		if (!d->unverified)
			return 1;
	}
	if (!c->workers && replypaths_init(&d->paths, c->max_transfers) < 0)
		return 1;
	wire_batch(d);
	if (init_workers(d) < 0 || open_listeners(d) < 0 || open_reports(d) < 0)
		return 1;
	if (c->daemonize && daemon(0, 0) < 0) {
		log_err("daemon: %m");
		return 1;
	}
	if (c->pid_file && write_pid_file(c->pid_file) < 0)
		return 1;

	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, &d->oldmask);
	sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sigfd < 0) {
		log_err("signalfd: %m");
		return 1;
	}
	d->sigfd = sigfd;
	d->pfd[d->nfd].fd = sigfd;
	d->pfd[d->nfd].events = POLLIN;
	d->pfd[d->nfd + 1].fd = d->report_rd;
	d->pfd[d->nfd + 1].events = POLLIN;
	for (int i = 0; i < WORKER_SLOTS; i++)
		*wk_pfd(d, i) = (struct pollfd){ .fd = -1 };

	now = xfer_now_us();
	fill_workers(d, now);
	d->last_activity_us = now;
	for (int i = 0; i < d->nfd; i++) {
		union sockaddr_any a;
		socklen_t len = sizeof(a);
		char buf[ADDR_STR_MAX];

		getsockname(d->pfd[i].fd, &a.sa, &len);
		log_notice("listening on %s, serving %s", addr_format(&a.sa, buf, sizeof(buf)), c->root);
	}
	d->status_dirty = true;
	write_metrics(d, now);
	sd_notify(0, "READY=1");

	for (;;) {
		int timeout = poll_timeout(d, xfer_now_us(), stop_deadline);

		if (poll(d->pfd, (nfds_t)(d->nfd + 2 + (c->workers ? WORKER_SLOTS : 0)), timeout) < 0 &&
		    errno != EINTR) {
			log_err("poll: %m");
			break;
		}
		now = xfer_now_us();
		if (d->pfd[d->nfd + 1].revents & POLLIN)
			read_reports(d);
		if (d->pfd[d->nfd].revents & POLLIN) {
			struct signalfd_siginfo si;

			while (read(sigfd, &si, sizeof(si)) == sizeof(si)) {
				if ((si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) && !d->stopping) {
					log_notice("stopping: %u transfers may finish within %u s",
						   peers_count(d->live), c->drain_timeout_s);
					stop_listening(d);
					stop_deadline = now + c->drain_timeout_s * 1000000ull;
				} else if (si.ssi_signo == SIGHUP) {
					reload(d, now);
				}
			}
			reap(d, now);
			if (d->q_len && !d->stopping)
				run_queue(d, now);
		}
		for (int i = 0; c->workers && i < WORKER_SLOTS; i++) {
			struct pollfd *p = wk_pfd(d, i);

			if (p->fd < 0 || !p->revents)
				continue;
			read_done(d, i, now);
			/* The worker is exiting: wait for SIGCHLD, not spin. */
			if (p->revents & (POLLHUP | POLLERR))
				p->fd = -1;
		}
		if (c->workers && !d->stopping && d->respawn_us && now >= d->respawn_us) {
			d->respawn_us = 0;
			fill_workers(d, now);
		}
		for (int i = 0; i < d->nfd; i++)
			if (d->pfd[i].fd >= 0 && (d->pfd[i].revents & POLLIN))
				receive_batch(d, i, now);
		if (d->q_len && !d->stopping)
			run_queue(d, now);
		if (d->nstrays && !d->stopping)
			admit_strays(d, now);
		notify_status(d, now, false);
		if (c->metrics_path && now >= d->metrics_us)
			write_metrics(d, now);

		if (d->stopping) {
			if (peers_count(d->live) == 0)
				break;
			if (now >= stop_deadline) {
				log_warn("drain timeout: ending %u transfers", peers_count(d->live));
				/* Workers tell their clients themselves; killed
				 * children's clients hear it from reap(). */
				d->cut = true;
				if (c->workers)
					close_workers(d);
				else
					signal_all(d, SIGKILL);
				reap_all(d, now + DRAIN_GRACE_US);
				break;
			}
		} else if (c->mode != SERVER_STANDALONE && c->idle_timeout_s && peers_count(d->live) == 0 &&
			   d->q_len == 0 && now - d->last_activity_us >= c->idle_timeout_s * 1000000ull) {
			log_info("idle for %u s, exiting", c->idle_timeout_s);
			sd_notify(0, "STOPPING=1");
			break;
		}
	}
	/* The last children's reports may still be queued. */
	while (read_reports(d) == REPORTS_PER_ROUND)
		;
	/* Idle workers exit when their control socket closes. */
	d->stopping = true;
	close_workers(d);
	reap_all(d, xfer_now_us() + DRAIN_GRACE_US);
	while (read_reports(d) == REPORTS_PER_ROUND)
		;
	d->status_dirty = true;
	notify_status(d, now, true);
	write_metrics(d, now);
	if (c->pid_file)
		unlink(c->pid_file);
	return 0;
}
