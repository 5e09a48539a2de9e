/*
 * dispatch.c - the listener: receives requests in batches and forks one
 * sandboxed child per transfer.
 *
 * It reads only the opcode and the addresses of a request; file names and
 * options are parsed by the child, after it has dropped its privileges.
 * Each child gets its own socket, bound to the local address the request
 * was sent to (so the reply leaves from the address the client used) and
 * connected to the client.
 */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "packet.h"
#include "server.h"

#define BATCH_MAX 256
/* Requests larger than this are not TFTP requests we could serve. */
#define REQUEST_MAX 4096

void server_conf_init(struct server_conf *c)
{
	memset(c, 0, sizeof(*c));
	xfer_conf_init(&c->xfer);
	c->rootfd = -1;
	c->user = "nobody";
	c->family = AF_UNSPEC;
	c->batch = 32;
}

static int listen_socket(const union sockaddr_any *a, socklen_t len)
{
	int one = 1;
	char buf[ADDR_STR_MAX];
	int fd = socket(a->sa.sa_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0)
		goto fail;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (a->sa.sa_family == AF_INET6) {
		if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0 ||
		    setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one)) < 0)
			goto fail;
	} else if (setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) < 0) {
		goto fail;
	}
	if (bind(fd, &a->sa, len) < 0)
		goto fail;
	return fd;
fail:
	log_err("cannot listen on %s: %m", addr_format(&a->sa, buf, sizeof(buf)));
	if (fd >= 0)
		close(fd);
	return -1;
}

/* The local address a datagram was sent to, from its IP_PKTINFO. */
static int local_address(struct msghdr *mh, int family, union sockaddr_any *local)
{
	memset(local, 0, sizeof(*local));
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (family == AF_INET && c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			local->sin.sin_family = AF_INET;
			local->sin.sin_addr = pi.ipi_addr;
			return 0;
		}
		if (family == AF_INET6 && c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
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

/* Socket for one transfer: from the request's local address, to the peer. */
static int transfer_socket(const union sockaddr_any *local, const union sockaddr_any *peer)
{
	int fd = socket(peer->sa.sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (bind(fd, &local->sa, addr_len(&local->sa)) < 0 ||
	    connect(fd, &peer->sa, addr_len(&peer->sa)) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

static void child(const struct server_conf *c, int sock, const void *req, size_t len,
		  const union sockaddr_any *peer)
{
	int r = sandbox_enter(&c->sandbox);

	if (r < 0) {
		log_err("cannot enter the sandbox: %s", strerror(-r));
		_exit(2);
	}
	r = xfer_run(&c->xfer, sock, c->rootfd, req, len, &peer->sa);
	_exit(r < 0 ? 1 : 0);
}

struct dispatcher {
	const struct server_conf *conf;
	struct pollfd pfd[SERVER_LISTEN_MAX + 1];
	int nfd;
	int sigfd;
	unsigned children;
	sigset_t oldmask;
	struct mmsghdr msg[BATCH_MAX];
	struct iovec iov[BATCH_MAX];
	union sockaddr_any peer[BATCH_MAX];
	uint8_t ctl[BATCH_MAX][CMSG_SPACE(sizeof(struct in6_pktinfo))];
	uint8_t buf[BATCH_MAX][REQUEST_MAX];
};

static void start_transfer(struct dispatcher *d, int family, struct msghdr *mh, size_t len)
{
	union sockaddr_any local, *peer = mh->msg_name;
	char pbuf[ADDR_STR_MAX];
	unsigned op = packet_opcode(mh->msg_iov->iov_base, len);
	int sock;
	pid_t pid;

	if (op != OP_RRQ && op != OP_WRQ) {
		log_debug("dropped opcode %u from %s", op, addr_format(&peer->sa, pbuf, sizeof(pbuf)));
		return;
	}
	if (local_address(mh, family, &local) < 0)
		return;
	sock = transfer_socket(&local, peer);
	if (sock < 0) {
		log_warn("no socket for %s: %s", addr_format(&peer->sa, pbuf, sizeof(pbuf)), strerror(-sock));
		return;
	}
	pid = fork();
	if (pid == 0) {
		for (int i = 0; i < d->nfd; i++)
			close(d->pfd[i].fd);
		sigprocmask(SIG_SETMASK, &d->oldmask, NULL);
		child(d->conf, sock, mh->msg_iov->iov_base, len, peer);
	}
	if (pid < 0)
		log_err("fork: %m");
	else
		d->children++;
	close(sock);
}

static void receive_batch(struct dispatcher *d, int fd, int family)
{
	unsigned batch = d->conf->batch;
	int n;

	for (unsigned i = 0; i < batch; i++) {
		d->iov[i].iov_base = d->buf[i];
		d->iov[i].iov_len = REQUEST_MAX;
		memset(&d->msg[i].msg_hdr, 0, sizeof(d->msg[i].msg_hdr));
		d->msg[i].msg_hdr.msg_name = &d->peer[i];
		d->msg[i].msg_hdr.msg_namelen = sizeof(d->peer[i]);
		d->msg[i].msg_hdr.msg_iov = &d->iov[i];
		d->msg[i].msg_hdr.msg_iovlen = 1;
		d->msg[i].msg_hdr.msg_control = d->ctl[i];
		d->msg[i].msg_hdr.msg_controllen = sizeof(d->ctl[i]);
	}
	n = recvmmsg(fd, d->msg, batch, MSG_DONTWAIT, NULL);
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			log_warn("recvmmsg: %m");
		return;
	}
	for (int i = 0; i < n; i++) {
		if (d->msg[i].msg_hdr.msg_flags & (MSG_TRUNC | MSG_CTRUNC))
			continue;
		start_transfer(d, family, &d->msg[i].msg_hdr, d->msg[i].msg_len);
	}
}

static void reap(struct dispatcher *d)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (d->children)
			d->children--;
		if (WIFSIGNALED(status))
			log_warn("transfer %ld killed by signal %d", (long)pid, WTERMSIG(status));
	}
}

int dispatch_run(const struct server_conf *c)
{
	struct dispatcher *d = calloc(1, sizeof(*d));
	int families[SERVER_LISTEN_MAX];
	bool stop = false;
	sigset_t mask;

	if (!d)
		return 1;
	d->conf = c;
	for (int i = 0; i < c->nlisten; i++) {
		int fd = listen_socket(&c->listen[i], c->listen_len[i]);

		if (fd < 0)
			return 1;
		d->pfd[d->nfd].fd = fd;
		d->pfd[d->nfd].events = POLLIN;
		families[d->nfd++] = c->listen[i].sa.sa_family;
	}
	if (c->daemonize && daemon(0, 0) < 0) {
		log_err("daemon: %m");
		return 1;
	}

	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, &d->oldmask);
	d->sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (d->sigfd < 0) {
		log_err("signalfd: %m");
		return 1;
	}
	d->pfd[d->nfd].fd = d->sigfd;
	d->pfd[d->nfd].events = POLLIN;

	for (int i = 0; i < c->nlisten; i++) {
		char buf[ADDR_STR_MAX];

		log_notice("listening on %s, serving %s", addr_format(&c->listen[i].sa, buf, sizeof(buf)), c->root);
	}

	while (!stop) {
		if (poll(d->pfd, (nfds_t)d->nfd + 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_err("poll: %m");
			break;
		}
		if (d->pfd[d->nfd].revents & POLLIN) {
			struct signalfd_siginfo si;

			while (read(d->sigfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
					stop = true;
			}
			reap(d);
		}
		for (int i = 0; i < d->nfd && !stop; i++)
			if (d->pfd[i].revents & POLLIN)
				receive_batch(d, d->pfd[i].fd, families[i]);
	}
	log_notice("stopping; %u transfers still running finish on their own", d->children);
	return 0;
}
