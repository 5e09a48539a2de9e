/*
 * listener.c - the listening sockets and the reading of requests.
 *
 * Listeners come from systemd (several, IPv4 and IPv6), from inetd's fd 0,
 * or are bound here; each asks for the destination address of every
 * datagram (IP_PKTINFO, IPV6_RECVPKTINFO), so that the reply leaves from
 * the address the client used, and for the count of datagrams a full
 * buffer dropped (SO_RXQ_OVFL).  Requests are read in recvmmsg() batches.
 *
 * It reads only the opcode and the addresses of a request; file names and
 * options are parsed by the process that runs the transfer, after it has
 * dropped its privileges.  A request that is not an RRQ/WRQ is dropped;
 * one sent to a broadcast or multicast address is ignored (RFC 1123
 * 4.2.3.4); the rest go to admission (admission.h).
 *
 * It depends on admission.h below it, never on dispatch.c.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "admission.h"
#include "listener.h"
#include "log.h"
#include "packet.h"
#include "reuseport.h"

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

int listener_open(struct listener *l)
{
	const struct server_conf *c = l->conf;
	int n = c->mode == SERVER_STANDALONE ? c->nlisten : c->ninherited;

	for (int i = 0; i < n; i++) {
		int fd;

		if (c->mode == SERVER_STANDALONE) {
			fd = bind_listener(&c->listen[i], c->listen_len[i], c->single_port);
			l->family[i] = c->listen[i].sa.sa_family;
		} else {
			fd = adopt_listener(c->inherited[i], &l->family[i]);
		}
		if (fd < 0)
			return -1;
		socklen_t len = sizeof(l->bound[i]);
		if (getsockname(fd, &l->bound[i].sa, &len) < 0)
			return -1;
		set_rcvbuf(fd, c->rcvbuf);
		/* Each datagram then tells how many the full buffer dropped. */
		setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &(int){ 1 }, sizeof(int));
		/* The receive time of each request (admission.c): a request's
		 * wait under --pace counts from it, and in single-port mode it
		 * tells a client's next request from a retransmission. */
		if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &(int){ 1 }, sizeof(int)) < 0) {
			log_err("cannot enable receive times: %m");
			return -1;
		}
		if (c->single_port) {
			char why[400];

			if (c->mode != SERVER_STANDALONE &&
			    reuseport_check_inherited(fd, c->mode == SERVER_INETD, why, sizeof(why)) < 0) {
				log_err("%s", why);
				return -1;
			}
		}
		l->pfd[i].fd = fd;
		l->pfd[i].events = POLLIN;
		l->nfd++;
	}
	return 0;
}

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

static void admit(struct listener *l, int idx, struct msghdr *mh, size_t len, uint64_t now)
{
	union sockaddr_any *peer = mh->msg_name;
	struct dest dst;
	unsigned op = packet_opcode(mh->msg_iov->iov_base, len);
	char pbuf[ADDR_STR_MAX];

	if (op != OP_RRQ && op != OP_WRQ) {
		log_debug("dropped opcode %u from %s", op, addr_format(&peer->sa, pbuf, sizeof(pbuf)));
		return;
	}
	if (dest_of(mh, l->family[idx], &dst) < 0) {
		/* Queued before packet info was enabled on an inherited
		 * socket: reply from the listener's own address (the kernel
		 * picks one by route when it is a wildcard). */
		dst.local = l->bound[idx];
		if (dst.local.sa.sa_family == AF_INET6)
			dst.local.sin6.sin6_port = 0;
		else
			dst.local.sin.sin_port = 0;
	} else if (is_broadcast(&dst)) {
		return;
	}
	if (l->conf->single_port)
		set_port(&dst.local, &l->bound[idx]);
	admission_request(l->adm, mh->msg_iov->iov_base, len, peer, &dst.local, dst.rx_ns, op, now);
}

/* SO_RXQ_OVFL: the socket's running count of datagrams dropped for want
 * of buffer, carried by each datagram queued after a drop. */
static void count_overflow(struct listener *l, int idx, struct msghdr *mh)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
			uint32_t n;

			memcpy(&n, CMSG_DATA(c), sizeof(n));
			if (n != l->ovfl_seen[idx]) {
				l->count->overflowed += (uint32_t)(n - l->ovfl_seen[idx]);
				l->ovfl_seen[idx] = n;
				l->count->status_dirty = true;
			}
		}
	}
}

void listener_receive(struct listener *l, int idx, uint64_t now)
{
	unsigned batch = l->conf->batch;
	int n;

	for (unsigned i = 0; i < batch; i++) {
		l->msg[i].msg_hdr.msg_namelen = sizeof(l->peer[i]);
		l->msg[i].msg_hdr.msg_controllen = sizeof(l->ctl[i]);
		l->msg[i].msg_hdr.msg_flags = 0;
	}
	n = recvmmsg(l->pfd[idx].fd, l->msg, batch, MSG_DONTWAIT, NULL);
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			log_warn("recvmmsg: %m");
		return;
	}
	for (int i = 0; i < n; i++) {
		count_overflow(l, idx, &l->msg[i].msg_hdr);
		if (l->msg[i].msg_hdr.msg_flags & (MSG_TRUNC | MSG_CTRUNC))
			continue;
		admit(l, idx, &l->msg[i].msg_hdr, l->msg[i].msg_len, now);
	}
}

/* Wire the recvmmsg arrays once; listener_receive() only resets lengths. */
void listener_init(struct listener *l, const struct server_conf *conf, struct counters *count,
		   struct admission *adm, struct pollfd *pfd)
{
	l->conf = conf;
	l->count = count;
	l->adm = adm;
	l->pfd = pfd;
	for (unsigned i = 0; i < BATCH_MAX; i++) {
		l->iov[i].iov_base = l->buf[i];
		l->iov[i].iov_len = SERVER_REQUEST_MAX;
		l->msg[i].msg_hdr.msg_name = &l->peer[i];
		l->msg[i].msg_hdr.msg_iov = &l->iov[i];
		l->msg[i].msg_hdr.msg_iovlen = 1;
		l->msg[i].msg_hdr.msg_control = l->ctl[i];
	}
}

void listener_close(struct listener *l)
{
	for (int i = 0; i < l->nfd; i++) {
		close(l->pfd[i].fd);
		l->pfd[i].fd = -1;	/* poll ignores it */
	}
}
