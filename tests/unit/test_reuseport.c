/* test_reuseport.c - the peer filter of single-port transfer sockets
 * (src/reuseport.c), on loopback: IPv4, IPv6 and an IPv4 peer of a
 * dual-stack socket.  The filtered socket is left unconnected, so that
 * only the filter can keep other senders' datagrams out. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tap.h"
#include "reuseport.h"

union any {
	struct sockaddr sa;
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	struct sockaddr_storage ss;
};

/* A socket of family bound to addr (port 0: any), its address in *out. */
static int bound(int family, const char *addr, union any *out)
{
	int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0), zero = 0;
	socklen_t len = sizeof(*out);

	memset(out, 0, sizeof(*out));
	out->sa.sa_family = (sa_family_t)family;
	if (family == AF_INET) {
		inet_pton(AF_INET, addr, &out->sin.sin_addr);
		len = sizeof(out->sin);
	} else {
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
		inet_pton(AF_INET6, addr, &out->sin6.sin6_addr);
		len = sizeof(out->sin6);
	}
	if (fd < 0 || bind(fd, &out->sa, len) < 0)
		return -1;
	len = sizeof(*out);
	getsockname(fd, &out->sa, &len);
	return fd;
}

/* What rx holds, in order, as "a,b,..." of the one-byte payloads. */
static void received(int rx, char *buf, size_t size)
{
	char c;
	size_t n = 0;

	buf[0] = '\0';
	while (n + 2 < size && recv(rx, &c, 1, MSG_DONTWAIT) == 1) {
		buf[n++] = c;
		buf[n] = '\0';
	}
}

/*
 * rx (family rfam, on raddr) filtered to the peer at paddr; the peer and
 * two others send: another port on the same address, and (when oaddr is
 * set) another address.  Only the peer's datagrams may be queued.
 * peer_as is the peer's address as rx's family writes it (v4-mapped on a
 * dual-stack socket).
 */
static void check(const char *what, int rfam, const char *raddr, int sfam, const char *paddr,
		  const char *oaddr, const char *peer_as)
{
	union any r, p, o1, o2, filt, dst;
	int rx = bound(rfam, raddr, &r);
	int peer = bound(sfam, paddr, &p);
	int other_port = bound(sfam, paddr, &o1);
	int other_addr = oaddr ? bound(sfam, oaddr, &o2) : -1;
	socklen_t rlen = rfam == AF_INET ? sizeof(r.sin) : sizeof(r.sin6);
	char got[16];

	/* Senders of IPv4 to a dual-stack socket send to its port on
	 * 127.0.0.1. */
	dst = r;
	if (rfam == AF_INET6 && sfam == AF_INET) {
		memset(&dst, 0, sizeof(dst));
		dst.sin.sin_family = AF_INET;
		dst.sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		dst.sin.sin_port = r.sin6.sin6_port;
		rlen = sizeof(dst.sin);
	}

	if (rx < 0 || peer < 0 || other_port < 0 || (oaddr && other_addr < 0)) {
		ok(0, "%s: sockets (%s)", what, strerror(errno));
		return;
	}
	/* The peer as the receiving socket sees it. */
	memset(&filt, 0, sizeof(filt));
	filt.sa.sa_family = (sa_family_t)rfam;
	if (rfam == AF_INET) {
		filt.sin.sin_addr = p.sin.sin_addr;
		filt.sin.sin_port = p.sin.sin_port;
	} else {
		inet_pton(AF_INET6, peer_as, &filt.sin6.sin6_addr);
		filt.sin6.sin6_port = sfam == AF_INET ? p.sin.sin_port : p.sin6.sin6_port;
	}
	/* A datagram before the filter is queued as ever. */
	sendto(other_port, "x", 1, 0, &dst.sa, rlen);
	received(rx, got, sizeof(got));
	is_str(got, "x", "%s: without the filter another port's datagram is queued", what);
	is_int(reuseport_peer_filter(rx, &filt.sa), 0, "%s: filter attached", what);
	sendto(other_port, "a", 1, 0, &dst.sa, rlen);
	sendto(peer, "1", 1, 0, &dst.sa, rlen);
	if (other_addr >= 0)
		sendto(other_addr, "b", 1, 0, &dst.sa, rlen);
	sendto(peer, "2", 1, 0, &dst.sa, rlen);
	sendto(other_port, "c", 1, 0, &dst.sa, rlen);
	sendto(peer, "3", 1, 0, &dst.sa, rlen);
	received(rx, got, sizeof(got));
	is_str(got, "123", "%s: only the peer's datagrams, in order", what);
	close(rx);
	close(peer);
	close(other_port);
	if (other_addr >= 0)
		close(other_addr);
}

int main(void)
{
	check("IPv4", AF_INET, "127.0.0.1", AF_INET, "127.0.0.1", "127.0.0.2", NULL);
	/* A peer on another loopback address, the others on 127.0.0.1. */
	check("IPv4, peer on 127.0.0.3", AF_INET, "127.0.0.1", AF_INET, "127.0.0.3", "127.0.0.1", NULL);
	check("IPv6", AF_INET6, "::1", AF_INET6, "::1", NULL, "::1");
	check("IPv4 peer of a dual-stack socket", AF_INET6, "::", AF_INET, "127.0.0.1", "127.0.0.2",
	      "::ffff:127.0.0.1");
	return tap_done();
}
