/*
 * transport.h - the socket I/O of a transfer socket.
 *
 * A transfer socket is a UDP socket connected to the peer; in a worker
 * it is non-blocking, in a forked child its receives wait up to a
 * timeout (tp_set_wait).  This module is all that calls send, sendmmsg,
 * recv and recvmmsg on it, and it knows nothing of TFTP: it moves runs
 * of datagrams out and batches of datagrams in.  Every function returns
 * what it did or -errno: -EAGAIN when the socket has no room (sends
 * never wait, whatever the socket) or, non-blocking, nothing queued
 * (only a receive without MSG_DONTWAIT waits), -ECONNREFUSED when
 * the peer's port was reported unreachable.
 */
#ifndef SNOW_OWL_TRANSPORT_H
#define SNOW_OWL_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

/*
 * Send a run of datagrams of seg bytes each, laid out in npieces pieces
 * of memory (a ring that wraps gives two): each piece is cut into
 * datagrams of seg bytes, its last one possibly shorter.  With UDP GSO
 * (*gso) a message carries up to 64 datagrams, at most 65000 bytes, and
 * a datagram shorter than seg ends its message, as the kernel wants;
 * without, a message is one datagram, and a run of one is a plain send().
 * A kernel or device that refuses GSO clears *gso for good and the run
 * goes again without.
 *
 * Returns the number of datagrams sent: all of them, or fewer when the
 * send buffer filled up (the rest waits for EPOLLOUT/POLLOUT: nothing
 * waits here).  Any other error is -errno (-ECONNREFUSED: the peer's
 * port is closed), whatever went out before it.
 */
int tp_send_run(int sock, bool *gso, const struct iovec *piece, unsigned npieces, size_t seg);

/* Send one datagram (an ACK, OACK or ERROR).  0 or -errno. */
int tp_send(int sock, const void *buf, size_t len);

/*
 * Receive one datagram into buf (size bytes), with its sender in from
 * when from is not NULL (an unconnected socket).  Returns its real
 * length, which is larger than size when it did not fit (it was cut:
 * a caller must never take it for a short one), or -errno.
 */
ssize_t tp_recv(int sock, void *buf, size_t size, int flags, struct sockaddr *from, socklen_t *fromlen);

/* Receive buffers: up to TP_RX_BATCH datagrams per call. */
#define TP_RX_BATCH 64
struct tp_rx {
	struct mmsghdr msg[TP_RX_BATCH];
	struct iovec iov[TP_RX_BATCH];
	uint8_t *buf;
	size_t size;			/* bytes per datagram */
	unsigned n;			/* datagrams */
};

/* n datagrams (at most TP_RX_BATCH) of size bytes.  0 or -ENOMEM. */
int tp_rx_init(struct tp_rx *rx, unsigned n, size_t size);
void tp_rx_free(struct tp_rx *rx);

/*
 * Receive up to max datagrams of at most size bytes each (both bounded
 * by rx) with one call: flags MSG_DONTWAIT not to wait, MSG_WAITFORONE
 * to wait for the first (up to the socket's receive timeout) and take
 * whatever else is queued.  Returns the number received, or -errno
 * (-EAGAIN: nothing queued).
 */
int tp_receive(int sock, struct tp_rx *rx, unsigned max, size_t size, int flags);

static inline const uint8_t *tp_rx_data(const struct tp_rx *rx, unsigned i)
{
	return rx->iov[i].iov_base;
}

/* Datagram i's real length: larger than the size asked for when it was
 * cut to fit. */
static inline size_t tp_rx_len(const struct tp_rx *rx, unsigned i)
{
	return rx->msg[i].msg_len;
}

/*
 * Make a blocking receive on sock end after wait_us (SO_RCVTIMEO).  The
 * timeout is set only when it changes noticeably from *cur_us (0: not
 * set yet), so a steady transfer pays no extra system call per window.
 */
void tp_set_wait(int sock, uint64_t wait_us, uint64_t *cur_us);

#endif
