/*
 * transport.c - the socket I/O of a transfer socket (transport.h).
 *
 * Sending is the hot path of a download: a window of 64 blocks, or a
 * boot storm's thousands of small windows, goes out in one sendmmsg
 * whose messages are wired on the stack, with no allocation and no
 * system call beyond that one.  With UDP GSO a message is a run of
 * neighbouring datagrams that the kernel cuts at seg bytes, so a window
 * costs the kernel a few large sends instead of one per block.
 * Sends never wait, on a blocking socket (a forked child's) either
 * (MSG_DONTWAIT): a full buffer is the caller's to wait out, with its
 * timers still running.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/time.h>
#include <time.h>

#include "transport.h"

#define GSO_SEGS_MAX 64		/* UDP_MAX_SEGMENTS of older kernels */
#define GSO_BYTES_MAX 65000	/* below the 65507-byte UDP payload limit */
#define TX_MSGS 64		/* messages per sendmmsg */
#define TX_IOVS 2		/* pieces per message: a ring wraps once */

/* Where a message starts in the run: piece and offset. */
struct tx_pos {
	unsigned piece;
	size_t off;
};

struct tx_batch {
	struct mmsghdr msg[TX_MSGS];
	struct iovec iov[TX_MSGS][TX_IOVS];
	union {
		char buf[CMSG_SPACE(sizeof(uint16_t))];
		struct cmsghdr align;
	} ctl[TX_MSGS];
	unsigned dgrams[TX_MSGS];	/* datagrams in each message */
	struct tx_pos start[TX_MSGS];
};

/* Datagrams a message may carry: one without GSO, or when two of seg
 * bytes would not fit in one. */
static unsigned per_message(bool gso, size_t seg)
{
	size_t n = gso ? GSO_BYTES_MAX / seg : 1;

	if (n > GSO_SEGS_MAX)
		n = GSO_SEGS_MAX;
	return n < 2 ? 1 : (unsigned)n;
}

/*
 * Wire up to TX_MSGS messages from *pos on.  A message takes neighbouring
 * datagrams as one iovec and follows a wrap into a second; a datagram
 * shorter than seg (only the last of a piece may be) ends its message,
 * since GSO allows a short segment only at the end.
 */
static unsigned tx_build(struct tx_batch *b, const struct iovec *piece, unsigned npieces, size_t seg,
			 unsigned per_msg, struct tx_pos *pos)
{
	unsigned n = 0;

	while (n < TX_MSGS && pos->piece < npieces) {
		struct msghdr *mh = &b->msg[n].msg_hdr;
		struct iovec *iov = b->iov[n];
		unsigned k = 0, niov = 0;

		memset(mh, 0, sizeof(*mh));
		b->start[n] = *pos;
		while (k < per_msg && pos->piece < npieces) {
			const struct iovec *p = &piece[pos->piece];
			uint8_t *d = (uint8_t *)p->iov_base + pos->off;
			size_t len = p->iov_len - pos->off < seg ? p->iov_len - pos->off : seg;

			if (niov && (uint8_t *)iov[niov - 1].iov_base + iov[niov - 1].iov_len == d)
				iov[niov - 1].iov_len += len;
			else if (niov < TX_IOVS)
				iov[niov++] = (struct iovec){ d, len };
			else
				break;
			k++;
			pos->off += len;
			if (pos->off == p->iov_len) {
				pos->piece++;
				pos->off = 0;
			}
			if (len < seg)
				break;
		}
		mh->msg_iov = iov;
		mh->msg_iovlen = niov;
		if (k > 1) {
			struct cmsghdr *cm;

			mh->msg_control = b->ctl[n].buf;
			mh->msg_controllen = sizeof(b->ctl[n].buf);
			cm = CMSG_FIRSTHDR(mh);
			cm->cmsg_level = SOL_UDP;
			cm->cmsg_type = UDP_SEGMENT;
			cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
			*(uint16_t *)(void *)CMSG_DATA(cm) = (uint16_t)seg;
		}
		b->dgrams[n++] = k;
	}
	return n;
}

int tp_send_run(int sock, bool *gso, const struct iovec *piece, unsigned npieces, size_t seg)
{
	struct tx_batch b;
	struct tx_pos pos = { 0, 0 };
	unsigned per_msg, sent = 0;

	/* One datagram (windowsize 1): send() is the cheaper call, and the
	 * batch is not even built. */
	if (npieces == 1 && piece[0].iov_len <= seg) {
		while (send(sock, piece[0].iov_base, piece[0].iov_len, MSG_DONTWAIT) < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			if (errno != EINTR)
				return -errno;
		}
		return 1;
	}
	per_msg = per_message(*gso, seg);
	while (pos.piece < npieces) {
		unsigned n = tx_build(&b, piece, npieces, seg, per_msg, &pos);
		int r;

		/* One datagram (windowsize 1): send() is the cheaper call. */
		if (n == 1 && b.dgrams[0] == 1)
			r = send(sock, b.iov[0][0].iov_base, b.iov[0][0].iov_len, MSG_DONTWAIT) < 0 ? -1 : 1;
		else
			r = sendmmsg(sock, b.msg, n, MSG_DONTWAIT);
		if (r < 0) {
			pos = b.start[0];
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return (int)sent;
			/* No GSO here (old kernel, device without it): one
			 * datagram per message for good. */
			if (*gso && (errno == EIO || errno == EINVAL || errno == ENOPROTOOPT ||
				     errno == EOPNOTSUPP)) {
				*gso = false;
				per_msg = 1;
				continue;
			}
			return -errno;
		}
		/* Advance by what was sent: the rest again, or it waits. */
		for (int i = 0; i < r; i++)
			sent += b.dgrams[i];
		if ((unsigned)r < n)
			pos = b.start[r];
	}
	return (int)sent;
}

int tp_send(int sock, const void *buf, size_t len)
{
	return send(sock, buf, len, MSG_DONTWAIT) < 0 ? -errno : 0;
}

ssize_t tp_recv(int sock, void *buf, size_t size, int flags, struct sockaddr *from, socklen_t *fromlen)
{
	/* MSG_TRUNC: the datagram's real length, so that one larger than
	 * buf shows, not a silently cut copy. */
	ssize_t n = recvfrom(sock, buf, size, flags | MSG_TRUNC, from, fromlen);

	return n < 0 ? -errno : n;
}

int tp_rx_init(struct tp_rx *rx, unsigned n, size_t size)
{
	if (n > TP_RX_BATCH)
		n = TP_RX_BATCH;
	rx->buf = malloc(size * n);
	if (!rx->buf)
		return -ENOMEM;
	rx->size = size;
	rx->n = n;
	for (unsigned i = 0; i < n; i++) {
		rx->iov[i] = (struct iovec){ rx->buf + i * size, size };
		memset(&rx->msg[i], 0, sizeof(rx->msg[i]));
		rx->msg[i].msg_hdr.msg_iov = &rx->iov[i];
		rx->msg[i].msg_hdr.msg_iovlen = 1;
	}
	return 0;
}

void tp_rx_free(struct tp_rx *rx)
{
	free(rx->buf);
	rx->buf = NULL;
}

int tp_receive(int sock, struct tp_rx *rx, unsigned max, size_t size, int flags)
{
	ssize_t n;
	int r;

	if (size > rx->size)
		size = rx->size;
	if (max > rx->n)
		max = rx->n;
	if (max == 1) {
		/* One datagram (lockstep): recv() is the cheaper call, and
		 * waits as MSG_WAITFORONE would without it. */
		n = tp_recv(sock, rx->iov[0].iov_base, size, flags & MSG_WAITFORONE ? 0 : flags, NULL, NULL);
		if (n < 0)
			return (int)n;
		rx->msg[0].msg_len = (unsigned)n;
		rx->msg[0].msg_hdr.msg_flags = (size_t)n > size ? MSG_TRUNC : 0;
		return 1;
	}
	for (unsigned i = 0; i < max; i++)
		rx->iov[i].iov_len = size;
	/* MSG_TRUNC here too: each msg_len is the datagram's real length. */
	r = recvmmsg(sock, rx->msg, max, flags | MSG_TRUNC, NULL);
	return r < 0 ? -errno : r;
}

void tp_set_wait(int sock, uint64_t wait_us, uint64_t *cur_us)
{
	struct timeval tv;

	if (wait_us == 0)
		wait_us = 1;
	if (*cur_us && wait_us <= *cur_us && wait_us >= *cur_us - *cur_us / 8)
		return;
	tv.tv_sec = (time_t)(wait_us / 1000000u);
	tv.tv_usec = (suseconds_t)(wait_us % 1000000u);
	if (setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0)
		*cur_us = wait_us;
}
