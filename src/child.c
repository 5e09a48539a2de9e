/*
 * child.c - the per-transfer child (--workers 0), and the parts of a
 * transfer's start that the workers share with it: the transfer socket
 * (made here before the fork, bound to the local address the request was
 * sent to so the reply leaves from the address the client used, and
 * connected to the client), the sandbox entry, and the ERROR to a client
 * whose transfer's process died.
 *
 * In single-port mode (--single-port, reuseport.h) each transfer socket is
 * bound to the listening port itself, beside the listener.  Another
 * client's request that a new transfer socket caught before it was
 * connected is read back and kept for admission (rescue_strays()).
 *
 * It depends on the engine and the shared tables only, never on the pool,
 * admission, the listener or dispatch.c.
 */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "child.h"
#include "log.h"
#include "packet.h"
#include "report.h"
#include "reuseport.h"
#include "xfer.h"

#define DRAIN_GRACE_US 500000ull
/* RLIMIT_DATA of a process that runs transfers, beyond its ring budget:
 * per transfer its state, a netascii buffer and one block past the
 * budget; and the rest (receive buffers, the C library, the data it
 * inherited from the dispatcher, measured at fork). */
#define XFER_DATA_MAX (72u * 1024 + 4 + 512)
#define DATA_SLACK (32ull << 20)

int child_init(struct children *ch, const struct server_conf *conf, struct counters *count,
	       struct peers *live)
{
	ch->conf = conf;
	ch->count = count;
	ch->live = live;
	ch->rootfd = conf->rootfd;
	for (unsigned i = 0; i < conf->nroots; i++)
		ch->client_rootfd[i] = conf->roots[i].fd;
	ch->report_rd = ch->report_wr = -1;
	if (!conf->workers && replypaths_init(&ch->paths, conf->max_transfers) < 0)
		return -ENOMEM;
	return 0;
}

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
void child_limit_data(struct sandbox_conf *sb, uint64_t budget, unsigned transfers)
{
	sb->data_max = data_size() + budget + (uint64_t)transfers * XFER_DATA_MAX + DATA_SLACK;
}

uint64_t child_realtime_ns(void)
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
static void rescue_strays(struct children *ch, int fd, const union sockaddr_any *local,
			  const union sockaddr_any *peer)
{
	uint8_t buf[SERVER_REQUEST_MAX];

	for (;;) {
		union sockaddr_any from;
		socklen_t flen = sizeof(from);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC, &from.sa, &flen);
		struct stray *s;

		if (n < 0)
			return;
		if ((size_t)n > sizeof(buf) || n < 2 || same_peer(&from, peer))
			continue;
		if (ch->nstrays == ch->strays_cap) {
			unsigned cap = ch->strays_cap ? 2 * ch->strays_cap : 16;
			struct stray *grown = reallocarray(ch->strays, cap, sizeof(*grown));

			if (!grown)
				continue;	/* the client sends it again */
			ch->strays = grown;
			ch->strays_cap = cap;
		}
		s = &ch->strays[ch->nstrays];
		s->buf = malloc((size_t)n);
		if (!s->buf)
			continue;
		memcpy(s->buf, buf, (size_t)n);
		s->len = (uint16_t)n;
		s->peer = from;
		s->local = *local;
		ch->nstrays++;
		ch->count->rescued++;
	}
}

/* flags: SOCK_NONBLOCK for a worker, which waits in epoll (polling a
 * blocking UDP socket costs a look at its queue's first datagram each
 * time). */
int child_socket(struct children *ch, union sockaddr_any *local, const union sockaddr_any *peer,
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
		rescue_strays(ch, fd, local, peer);
		r = reuseport_peer_filter(fd, &peer->sa);
		if (r < 0) {
			close(fd);
			return r;
		}
		rescue_strays(ch, fd, local, peer);
	}
	return fd;
}

void child_close_polled(const struct children *ch, int keep)
{
	for (int i = 0; i < ch->npolled; i++)
		if (ch->polled[i].fd >= 0 && ch->polled[i].fd != keep)
			close(ch->polled[i].fd);
}

/* A new transfer child or worker, once it has closed what it must not
 * keep: default signal handling, then its sandbox, or it exits. */
void child_enter_sandbox(const struct children *ch, const struct sandbox_conf *sb, int rootfd)
{
	int r;

	sigprocmask(SIG_SETMASK, &ch->oldmask, NULL);
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

static void child(struct children *ch, int sock, const void *req, size_t len,
		  const union sockaddr_any *peer)
{
	int pick = server_root_pick(ch->conf, &peer->sa);
	int rootfd = pick < 0 ? ch->rootfd : ch->client_rootfd[pick];
	struct sandbox_conf sb;
	struct xfer_report rep;

	/* The listeners, the signalfd and the reports' read end. */
	child_close_polled(ch, -1);
	/* Only its own root: where Landlock is missing, another root's
	 * descriptor would reach that tree (openat2 beneath it). */
	if (ch->rootfd != rootfd)
		close(ch->rootfd);
	for (unsigned i = 0; i < ch->conf->nroots; i++)
		if (ch->client_rootfd[i] != rootfd)
			close(ch->client_rootfd[i]);
	sb = ch->conf->sandbox;
	child_limit_data(&sb, ch->conf->xfer.mem_budget, 1);
	child_enter_sandbox(ch, &sb, rootfd);
	xfer_run(&ch->conf->xfer, sock, rootfd, req, len, &peer->sa, &rep, report_replaced, &ch->report_wr);
	/* Status 0 tells the dispatcher's reap() that the report went out
	 * (report.h). */
	_exit(rep.outcome != XO_NONE && report_send(ch->report_wr, &rep) == 0 ? 0 : 1);
}

/* What a client whose transfer's process died is told. */
static const char *orphan_message(const struct children *ch)
{
	return ch->cut ? "Server stopped" : "Transfer interrupted";
}

/* The transfer's address and port are free again: the socket died with
 * the process. */
void child_abort_orphan(struct children *ch, const union sockaddr_any *local,
			const union sockaddr_any *peer)
{
	union sockaddr_any from = *local;
	uint8_t buf[64];
	int n = packet_build_error(buf, sizeof(buf), ERR_UNDEFINED, orphan_message(ch));
	int fd = child_socket(ch, &from, peer, 0, 0, 0, ch->conf->single_port);

	if (fd < 0)
		return;
	if (n > 0)
		(void)!send(fd, buf, (size_t)n, 0);
	close(fd);
}

int child_transfer_socket(struct children *ch, union sockaddr_any *local, const union sockaddr_any *peer,
			  int flags, uint64_t *made_ns)
{
	char pbuf[ADDR_STR_MAX];
	socklen_t slen = sizeof(*local);
	int sock = child_socket(ch, local, peer, ch->conf->port_low, ch->conf->port_high, flags,
				ch->conf->single_port);

	if (sock < 0) {
		log_warn("no socket for %s: %s", addr_format(&peer->sa, pbuf, sizeof(pbuf)), strerror(-sock));
		return sock;
	}
	*made_ns = child_realtime_ns();
	getsockname(sock, &local->sa, &slen);
	return sock;
}

int child_spawn(struct children *ch, const struct peer_key *key, const void *req, size_t len,
		const union sockaddr_any *peer, union sockaddr_any *local)
{
	uint64_t made_ns;
	int sock = child_transfer_socket(ch, local, peer, 0, &made_ns);
	pid_t pid;

	if (sock < 0)
		return sock;
	pid = fork();
	if (pid == 0)
		child(ch, sock, req, len, peer);
	close(sock);
	if (pid < 0) {
		log_err("fork: %m");
		return -errno;
	}
	peers_add(ch->live, key, pid);
	peers_set_stamp(ch->live, key, made_ns);
	replypaths_add(&ch->paths, pid, peer, local);	/* room for max_transfers */
	ch->count->status_dirty = true;
	return 0;
}
