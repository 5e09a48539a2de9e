/*
 * reuseport.h - single-port mode (--single-port): transfer sockets that
 * share the listening port.
 *
 * Linux lets several UDP sockets bind one port when every one of them
 * sets SO_REUSEPORT and they belong to the same user.  A socket connected
 * to a client wins the lookup for datagrams from that client's address
 * and port, so each transfer gets its own socket on the listening port:
 * bound to the local address the request was sent to (kernels from 6.13
 * then find it by a hash of the 4-tuple; older ones, or a socket bound to
 * the wildcard address, scan every socket on the port) and connected to
 * the client.  The listener keeps receiving everything else.
 */
#ifndef SNOW_OWL_REUSEPORT_H
#define SNOW_OWL_REUSEPORT_H

#include <stdbool.h>
#include <sys/socket.h>

/* Set SO_REUSEPORT on fd (before it is bound).  Returns 0 or -errno. */
int reuseport_enable(int fd);

/* Whether fd has SO_REUSEPORT set.  Returns 1, 0, or -errno. */
int reuseport_enabled(int fd);

/*
 * Check an inherited listener for single-port mode.  from_inetd: it is
 * inetd's fd 0 (which can never have it).  Returns 0, or -EINVAL with
 * the reason and the fix in why.
 */
int reuseport_check_inherited(int fd, bool from_inetd, char *why, size_t size);

/*
 * Let fd (a connected transfer socket) queue only datagrams from peer's
 * address and port: a classic BPF socket filter.  Another client's
 * request that the kernel looked up before connect() took effect can
 * still be queued a moment after it; past this filter none can.
 * Returns 0 or -errno.
 */
int reuseport_peer_filter(int fd, const struct sockaddr *peer);

#endif
