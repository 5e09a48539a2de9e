/*
 * reuseport.c - SO_REUSEPORT on listeners and transfer sockets, for
 * single-port mode (reuseport.h).
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "reuseport.h"

int reuseport_enable(int fd)
{
	int one = 1;

	return setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0 ? -errno : 0;
}

int reuseport_enabled(int fd)
{
	int on = 0;
	socklen_t len = sizeof(on);

	if (getsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, &len) < 0)
		return -errno;
	return on != 0;
}

/*
 * The filter runs when a datagram is queued, with the packet's data at
 * its UDP header (offset 0: the source port) and the IP header at
 * SKF_NET_OFF.  Loads are in network byte order, compared as numbers.
 */
int reuseport_peer_filter(int fd, const struct sockaddr *peer)
{
	struct sock_filter f[16];
	struct sock_fprog prog = { .filter = f };
	unsigned n = 0, words, i;
	uint32_t addr[4];
	uint16_t port;
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)peer;

	if (peer->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)peer;

		memcpy(addr, &s4->sin_addr, 4);
		port = s4->sin_port;
		words = 1;
	} else if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
		memcpy(addr, &s6->sin6_addr.s6_addr[12], 4);
		port = s6->sin6_port;
		words = 1;
	} else {
		memcpy(addr, &s6->sin6_addr, 16);
		port = s6->sin6_port;
		words = 4;
	}
	/* IP version: 4 or 6, from the header's first nibble. */
	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_B | BPF_ABS, (uint32_t)SKF_NET_OFF);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, 4);
	/* Each jump to "drop" counts the instructions left before it. */
	f[n] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, words == 1 ? 4 : 6, 0, 0);
	n++;
	for (i = 0; i < words; i++) {
		/* Source address: IPv4 header offset 12, IPv6 offset 8. */
		f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
						      (uint32_t)SKF_NET_OFF + (words == 1 ? 12 : 8) + 4 * i);
		f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ntohl(addr[i]), 0, 0);
	}
	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 0);
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ntohs(port), 0, 0);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, 0xffffffffu);	/* accept */
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, 0);		/* drop */
	/* Point every failed comparison at the last instruction. */
	for (i = 0; i < n - 2; i++)
		if (BPF_CLASS(f[i].code) == BPF_JMP)
			f[i].jf = (uint8_t)(n - 1 - (i + 1));
	prog.len = (unsigned short)n;
	return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) < 0 ? -errno : 0;
}

/*
 * An inherited socket is not ours to change: it was bound by its owner
 * (systemd, inetd), and the kernel lets transfer sockets share its port
 * only when it had SO_REUSEPORT at bind time and the same user made it.
 * The fix belongs where the socket is made.
 */
int reuseport_check_inherited(int fd, bool from_inetd, char *why, size_t size)
{
	int r = reuseport_enabled(fd);
	struct stat st;

	if (r == 1 && fstat(fd, &st) == 0 && st.st_uid != geteuid()) {
		snprintf(why, size,
			 "--single-port: the listening socket (fd %d) belongs to uid %u and snow-owld "
			 "runs as uid %u; the kernel shares a port only among one user's sockets: run "
			 "snow-owld as uid %u (with systemd: snow-owl.service.d/single-port.conf)",
			 fd, (unsigned)st.st_uid, (unsigned)geteuid(), (unsigned)st.st_uid);
		return -EPERM;
	}
	if (r == 1)
		return 0;
	if (r < 0)
		snprintf(why, size, "--single-port: cannot read SO_REUSEPORT of fd %d: %s", fd,
			 strerror(-r));
	else if (from_inetd)
		snprintf(why, size,
			 "--single-port needs SO_REUSEPORT on the listening socket, and inetd's "
			 "socket (fd 0) does not have it: run snow-owld standalone (-l) or from "
			 "snow-owl.socket with ReusePort=yes");
	else
		snprintf(why, size,
			 "--single-port needs SO_REUSEPORT on the listening socket, and systemd's "
			 "fd %d does not have it: add ReusePort=yes to its socket unit (install "
			 "the drop-in snow-owl.socket.d/single-port.conf), then restart the socket",
			 fd);
	return -EINVAL;
}
