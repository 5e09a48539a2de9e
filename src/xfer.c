/*
 * xfer.c - the transfer engine (RRQ sender, WRQ receiver).
 *
 * Sender: a window of up to windowsize blocks goes out with one sendmmsg.
 * The data of every unacknowledged block stays in a ring until it is
 * acknowledged, so a resend never re-reads or re-encodes anything (this
 * is what keeps netascii correct across rewinds).  An ACK for block k in
 * the window slides the window to k + 1 at once, which is also how a gap
 * reported by the receiver is repaired (RFC 7440 section 4).  A duplicate
 * ACK never causes a resend (Sorcerer's Apprentice, RFC 1123 4.2.3.1);
 * only the timer does.
 *
 * Receiver: blocks are taken strictly in order; an out-of-order block is
 * dropped (not kept) and answered once per gap with an ACK of the last
 * in-order block, which makes the sender resume right after it.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "path.h"
#include "window.h"
#include "session.h"
#include "xfer.h"

#define RD_SIZE 65536		/* netascii read-ahead */
#define IOV_BATCH 1024		/* blocks per preadv */
/* Octet reads fill the free part of a ring larger than the window: at
 * least READAHEAD_MIN (a small window does not cost one read per block),
 * up to four windows within READAHEAD_MAX (a big transfer reads once per
 * few windows). */
#define READAHEAD_MIN (32 * 1024)
#define READAHEAD_MAX (128 * 1024)
/* Read-ahead is a luxury: it comes out of the process's ring budget
 * (xmem.h), and only from the capped part of it that read-ahead may
 * hold, so that a boot storm of 10,000 clients does not hold 64 KiB
 * each, nor leave new transfers with small windows. */
/* Files shared by the transfers of a worker (filecache.h); empty (off)
 * in a child per transfer. */
static struct filecache file_cache;

void xfer_conf_init(struct xfer_conf *c)
{
	memset(c, 0, sizeof(*c));
	opt_limits_init(&c->lim);
	c->upload.umask = 022;
	c->mtu_clamp = true;
	c->rto_us = 250000;
	c->rto_min_us = 2000;
	c->rto_max_us = 5000000;
	c->max_retries = 10;
	c->giveup_us = 30000000;
	c->file_cache = XFER_FILE_CACHE_DEFAULT;
}

void xfer_file_cache_init(const struct xfer_conf *conf)
{
	filecache_init(&file_cache, (size_t)conf->file_cache, (size_t)conf->file_cache / 4);
}

#define DALLY_MAX_US 1000000	/* longest wait of a finished upload for a lost final ACK */

static void end(struct transfer *t, enum xfer_outcome o)
{
	t->state = XS_DONE;
	t->outcome = o;
	t->s.deadline_us = UINT64_MAX;
}

/*
 * The peer's port answered "unreachable": the client has gone.  But a
 * client that has the whole file exits right after its final ACK, and the
 * kernel reports the error before the datagrams queued ahead of it, so
 * read what is queued first: that final ACK completes the transfer.
 */
static void peer_refused(struct transfer *t, uint64_t now)
{
	uint8_t buf[PACKET_HDR + 512];
	ssize_t n;

	if (t->refused)
		return;		/* already draining, further up the stack */
	if (t->state == XS_DALLY) {
		end(t, XO_COMPLETE);	/* the upload is stored; the client left */
		return;
	}
	t->refused = true;
	for (int i = 0; i < 64 && !xfer_done(t); i++) {
		/* A DATA larger than buf shows its real length and is
		 * dropped here, never taken for a short, final block. */
		n = tp_recv(t->sock, buf, sizeof(buf), MSG_DONTWAIT, NULL, NULL);
		if (n == -EINTR)
			continue;
		if (n < 0)
			break;
		if ((size_t)n > sizeof(buf))
			continue;
		xfer_on_packet(t, buf, (size_t)n, now);
	}
	if (!xfer_done(t)) {
		snprintf(t->detail, sizeof(t->detail), "peer port unreachable");
		end(t, XO_ABORTED);
	}
}

/* Send one control packet.  A failure ends nothing: the timer retries. */
static void send_pkt(struct transfer *t, const void *buf, size_t len)
{
	if (tp_send(t->sock, buf, len) == -ECONNREFUSED)
		peer_refused(t, xfer_now_us());
}

static void send_error(struct transfer *t, unsigned code, const char *msg)
{
	uint8_t buf[128];
	int n = packet_build_error(buf, sizeof(buf), (uint16_t)code, msg);

	if (n > 0)
		(void)tp_send(t->sock, buf, (size_t)n);
}

/* Answer the request with an ERROR and end the transfer. */
static int refuse(struct transfer *t, unsigned code, const char *msg)
{
	send_error(t, code, msg);
	snprintf(t->detail, sizeof(t->detail), "%u %s", code, msg ? msg : packet_error_string((uint16_t)code));
	t->error = (uint16_t)code;
	end(t, XO_REFUSED);
	return -1;
}

/* Give up on a running transfer, telling the peer why. */
static void fail(struct transfer *t, enum xfer_outcome o, unsigned code, const char *msg)
{
	send_error(t, code, msg);
	snprintf(t->detail, sizeof(t->detail), "%s", msg);
	t->error = (uint16_t)code;
	end(t, o);
}

static void arm(struct transfer *t, uint64_t now)
{
	sess_arm(&t->s, now);
}

static void send_oack(struct transfer *t)
{
	uint8_t buf[512];
	int n = opt_build_oack(&t->opt, buf, sizeof(buf));

	if (n > 0)
		send_pkt(t, buf, (size_t)n);
}

static void send_ack(struct transfer *t, uint64_t block)
{
	uint8_t buf[PACKET_HDR];

	sess_ack_sent(&t->s, block);

	packet_build_ack(buf, sizeof(buf), win_wire(block, t->opt.rollover));
	send_pkt(t, buf, sizeof(buf));
}

/* ---- Sender ---------------------------------------------------------- */

static uint8_t *slot(struct transfer *t, uint64_t block)
{
	return sess_slot(&t->s, block);
}

static uint32_t *slot_len(struct transfer *t, uint64_t block)
{
	return sess_slot_len(&t->s, block);
}

static void mark_last(struct transfer *t, uint64_t block)
{
	sess_mark_last(&t->s, block);
}

/*
 * Octet: read blocks filled+1 .. upto straight into their slots, and on
 * into every free slot of the ring while reading anyway.  The file is
 * served as it was at open: its size then says which block is the last
 * and how long each is, and a read that returns anything else (shorter:
 * truncated; longer: grown) means the file changed.  Returns 0, -ESTALE
 * for a change, or another -errno.
 */
static int fill_octet(struct transfer *t, uint64_t upto)
{
	struct iovec iov[IOV_BATCH];
	size_t bs = t->s.blksize;
	uint64_t final = t->size / bs + 1;

	if (t->s.filled < upto)
		upto = t->s.acked + t->s.nslots;
	if (upto > final)
		upto = final;
	while (t->s.filled < upto) {
		uint64_t first = t->s.filled + 1, off = (first - 1) * bs, want;
		size_t n = 0;
		ssize_t got;

		while (n < IOV_BATCH && first + n <= upto) {
			iov[n].iov_base = slot(t, first + n) + PACKET_HDR;
			iov[n].iov_len = bs;
			n++;
		}
		want = t->size - off < n * bs ? t->size - off : n * bs;
		got = t->cached ? (ssize_t)filecache_readv(t->cached, iov, n, off)
				: preadv(t->fd, iov, (int)n, (off_t)off);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if ((uint64_t)got != want)
			return -ESTALE;
		for (size_t i = 0; i < n; i++) {
			size_t len = want > bs ? bs : (size_t)want;

			*slot_len(t, first + i) = (uint32_t)len;
			want -= len;
			t->s.filled = first + i;
		}
	}
	if (t->s.filled == final && !t->s.eof) {
		/* All read: the bytes in the ring are the file as opened only
		 * if it has not changed since (growth past a block boundary,
		 * or an in-place rewrite, shows only here). */
		mark_last(t, final);
		return filestamp_check(&t->stamp, t->fd);
	}
	return 0;
}

/* Netascii: encode blocks filled+1 .. upto; the encoder state carries
 * CR LF pairs across block boundaries. */
static int fill_netascii(struct transfer *t, uint64_t upto)
{
	size_t bs = t->opt.blksize;

	while (t->s.filled < upto && !t->s.eof) {
		uint64_t b = t->s.filled + 1;
		uint8_t *out = slot(t, b) + PACKET_HDR;
		size_t o = 0;

		while (o < bs) {
			size_t used;

			if (t->rd_off == t->rd_len && !t->rd_eof) {
				/* As octet: the size at open, no more, no less. */
				uint64_t left = t->size - t->rd_total;
				ssize_t got = 0;

				if (left) {
					got = read(t->fd, t->rd, left < RD_SIZE ? (size_t)left : RD_SIZE);
					if (got < 0 && errno == EINTR)
						continue;
					if (got < 0)
						return -errno;
					if (got == 0)
						return -ESTALE;	/* truncated */
				} else {
					int r = filestamp_check(&t->stamp, t->fd);

					if (r < 0)
						return r;
				}
				t->rd_total += (uint64_t)got;
				t->rd_len = (size_t)got;
				t->rd_off = 0;
				t->rd_eof = got == 0;
			}
			if (t->rd_off == t->rd_len && !netascii_enc_pending(&t->enc))
				break;	/* end of file, nothing held back */
			o += netascii_encode(&t->enc, t->rd + t->rd_off, t->rd_len - t->rd_off, &used,
					     out + o, bs - o);
			t->rd_off += used;
		}
		*slot_len(t, b) = (uint32_t)o;
		t->s.filled = b;
		if (o < bs)
			mark_last(t, b);
	}
	return 0;
}

/*
 * Send blocks from..to (inclusive), as few sendmmsg calls as the
 * transport can make of them (transport.h: with UDP GSO, runs of blocks
 * that the kernel cuts into datagrams of 4 + blksize bytes).  The ring
 * keeps a block's header and data together, so a run of neighbouring
 * slots is one piece of memory, and a window is at most two (the ring
 * wraps once).  Only the final block of a file can be short, and it is
 * always last.
 *
 * Sends never wait (transport.h).  When the send buffer is full (a big
 * window on a slow link) the rest of the window waits for room: the
 * blocks left are noted, xfer_wants_write() says so, and the caller
 * (the worker's epoll, the fork driver's poll) calls xfer_on_writable()
 * when there is room.  Nothing waits in a call, so one slow peer never
 * holds up the others in its worker, nor its own ACKs.
 */
static int send_blocks(struct transfer *t, uint64_t from, uint64_t to)
{
	while (from <= to) {
		struct iovec piece[2];
		unsigned n = 0, count = 0;
		uint64_t b;
		int r;

		for (b = from; b <= to; b++) {
			uint8_t *sl = slot(t, b);
			size_t len = PACKET_HDR + *slot_len(t, b);

			packet_build_data_header(sl, PACKET_HDR, win_wire(b, t->opt.rollover));
			if (n && (uint8_t *)piece[n - 1].iov_base + piece[n - 1].iov_len == sl)
				piece[n - 1].iov_len += len;
			else if (n < 2)
				piece[n++] = (struct iovec){ sl, len };
			else
				break;	/* a third piece: the run is longer than the ring */
			count++;
		}
		r = tp_send_run(t->sock, &t->gso, piece, n, t->s.slot_size);
		if (r < 0)
			return r;
		from += (unsigned)r;
		if ((unsigned)r < count) {
			t->tx_from = from;
			t->tx_to = to;
			t->tx_blocked = true;
			return 0;
		}
	}
	return 0;
}

/* Slots in the sender's ring: the window, or for octet reads room to read
 * ahead, but no more than the file has blocks.  The window was reserved
 * in the budget when it was negotiated; read-ahead beyond it is reserved
 * here, as far as the budget's read-ahead part has room. */
static unsigned ring_slots(struct transfer *t)
{
	uint64_t window = (uint64_t)t->s.slot_size * t->opt.windowsize;
	uint64_t want = 4 * window < READAHEAD_MAX ? 4 * window : READAHEAD_MAX;
	uint64_t n, blocks = t->size / t->opt.blksize + 1;

	/* A shared copy of the file (filecache.h) is read ahead already:
	 * each window is copied from it just before it goes out, while
	 * read-ahead would only spread the bytes over more memory. */
	if (t->mode != MODE_OCTET || t->cached)
		return t->opt.windowsize;
	if (want < READAHEAD_MIN)
		want = READAHEAD_MIN;
	n = want / t->s.slot_size;
	if (n > blocks)
		n = blocks;
	if (n <= t->opt.windowsize)
		return t->opt.windowsize;
	if (t->conf->mem) {
		uint64_t extra = (n - t->opt.windowsize) * t->s.slot_size;

		extra = xmem_readahead(t->conf->mem, &t->client, extra);
		t->mem_readahead = extra;
		t->mem_bytes += extra;
		n = t->opt.windowsize + extra / t->s.slot_size;
	}
	return (unsigned)n;
}

/*
 * The sender's ring, when the first window goes out: a transfer that
 * waits for the ACK of its OACK (all of them, in a boot storm) holds no
 * buffer yet.  xfer_finish() frees it.
 */
static int ring_alloc(struct transfer *t)
{
	if (sess_ring_alloc(&t->s, ring_slots(t), t->s.slot_size) < 0)
		return -ENOMEM;
	if (t->mode == MODE_NETASCII && !(t->rd = malloc(RD_SIZE)))
		return -ENOMEM;
	return 0;
}

/* Send the window that starts after the last ACK. */
static void send_window(struct transfer *t, uint64_t now)
{
	uint64_t first, upto = sess_window_end(&t->s), filled;
	int r;

	if (!t->s.ring && ring_alloc(t) < 0) {
		fail(t, XO_FAILED, ERR_UNDEFINED, "Out of memory");
		return;
	}

	t->tx_blocked = false;	/* this window replaces what waited */
	r = t->mode == MODE_NETASCII ? fill_netascii(t, upto) : fill_octet(t, upto);
	/* Once all is read the final check has been made; before, look
	 * now and then once FILESTAMP_POLL_BYTES more were read (a
	 * transfer of a boot storm lasts many intervals, but its small
	 * file needs no look before the final one). */
	filled = t->s.filled - t->poll_filled;
	if (r == 0 && !t->s.eof && filled * t->s.blksize >= FILESTAMP_POLL_BYTES) {
		t->poll_filled = t->s.filled;
		r = filestamp_poll(&t->stamp, t->fd, now);
	}
	if (r == -ESTALE) {
		fail(t, XO_CHANGED, ERR_UNDEFINED, "File changed during transfer");
		return;
	}
	if (r < 0) {
		fail(t, XO_FAILED, ERR_UNDEFINED, "Read error");
		return;
	}
	sess_window(&t->s, now, &first, &upto);
	/* Send errors other than a refused port (ENOBUFS...) are left to
	 * the retransmit timer. */
	if (send_blocks(t, first, upto) == -ECONNREFUSED)
		peer_refused(t, now);
}

void xfer_on_writable(struct transfer *t, uint64_t now)
{
	if (!t->tx_blocked || xfer_done(t))
		return;
	t->tx_blocked = false;
	if (send_blocks(t, t->tx_from, t->tx_to) == -ECONNREFUSED)
		peer_refused(t, now);
}

static void sender_ack(struct transfer *t, uint16_t w, uint64_t now)
{
	uint64_t prev;

	switch (sess_on_ack(&t->s, w, now, &prev)) {
	case SESS_ACK_IGNORE:
		return;
	case SESS_ACK_DONE:
		t->bytes = t->s.wire_acked;
		t->end_us = now;
		end(t, XO_COMPLETE);
		return;
	case SESS_ACK_SLIDE:
		break;
	}
	/* Bytes are counted on acknowledgement, not on sending. */
	t->bytes = t->s.wire_acked;
	t->state = XS_SEND;
	send_window(t, now);
}

static int start_read(struct transfer *t, int rootfd, const char *rel, const struct packet_request *req,
		      const struct opt_limits *lim)
{
	struct stat st;
	uint64_t size;
	int fd = path_open_read(rootfd, rel, &st);

	if (fd < 0)
		return refuse(t, path_errno_to_tftp(fd), NULL);
	t->fd = fd;
	/* tftpd-hpa semantics: a file is served only if anyone may read it. */
	if (!t->conf->upload.plain_perms && !(st.st_mode & S_IROTH))
		return refuse(t, ERR_ACCESS, NULL);
	size = (uint64_t)st.st_size;
	filestamp_take(&t->stamp, &st, t->start_us);
	if (t->mode == MODE_OCTET)
		t->cached = filecache_get(&file_cache, fd, &t->stamp);
	/* The title shows a percentage only where the size on the wire is
	 * known: netascii grows the file by an unknown amount. */
	t->size = size;
	t->size_known = t->mode == MODE_OCTET;
	/* tsize is announced for octet only: the netascii size is not known
	 * without converting the whole file first. */
	if (opt_negotiate(req, lim, t->mode == MODE_OCTET ? &size : NULL, &t->opt) < 0)
		return refuse(t, ERR_OPTION, "Unsupported rollover value");
	return 0;
}

/* ---- Receiver -------------------------------------------------------- */

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int store(struct transfer *t, const uint8_t *data, size_t len, bool final)
{
	uint8_t out[PACKET_BLKSIZE_MAX + 1];
	int r;

	if (t->mode == MODE_NETASCII) {
		size_t n = netascii_decode(&t->dec, data, len, out);

		if (final)
			n += netascii_decode_finish(&t->dec, out + n);
		r = write_all(t->up.fd, out, n);
	} else {
		r = write_all(t->up.fd, data, len);
	}
	return r;
}

static void receiver_data(struct transfer *t, const struct packet_data *d, uint64_t now)
{
	uint64_t k;
	bool final;
	int r;

	switch (sess_on_data(&t->s, d->block, now, &k)) {
	case SESS_DATA_DROP:
		return;
	case SESS_DATA_ACK:
		send_ack(t, t->s.received);
		return;
	case SESS_DATA_NEW:
		break;
	}
	if (d->len > t->opt.blksize) {
		fail(t, XO_FAILED, ERR_ILLEGAL_OP, "Block larger than negotiated blksize");
		return;
	}
	/* The running count, for clients that announce no size (the
	 * child's RLIMIT_FSIZE backs this up). */
	if (t->conf->upload_max && t->bytes + d->len > t->conf->upload_max) {
		fail(t, XO_FAILED, ERR_DISK_FULL, "File too large");
		return;
	}
	t->state = XS_RECV;
	final = d->len < t->opt.blksize;
	r = store(t, d->data, d->len, final);
	if (r < 0) {
		fail(t, XO_FAILED, path_errno_to_tftp(r), r == -ENOSPC ? "Disk full" : "Write error");
		return;
	}
	t->bytes += d->len;
	if (final) {
		r = upload_commit(&t->up);
		t->up_open = false;
		if (r < 0) {
			fail(t, XO_FAILED, path_errno_to_tftp(r), r == -EEXIST ? "File already exists" : "Cannot store file");
			return;
		}
	}
	if (!sess_data_taken(&t->s, k, final, now))
		return;
	send_ack(t, k);
	if (final) {
		t->outcome = XO_COMPLETE;
		t->state = XS_DALLY;
		t->end_us = now;
		/* Long enough for the client's own timer to repeat its last
		 * block if our ACK was lost: its timeout, or a second. */
		t->s.deadline_us = now + (t->opt.timeout_us && t->opt.timeout_us < DALLY_MAX_US
						  ? t->opt.timeout_us : DALLY_MAX_US);
	}
}

static int start_write(struct transfer *t, int rootfd, const char *rel, const struct packet_request *req,
		       const struct opt_limits *lim)
{
	int r;

	if (!t->conf->allow_write)
		return refuse(t, ERR_ACCESS, "Uploads are disabled");
	/* Before any lookup: a refused name learns nothing of the tree. */
	if (!path_upload_allowed(t->conf->upload.paths, t->conf->upload.npaths, rel))
		return refuse(t, ERR_ACCESS, "Uploads are not allowed there");
	if (opt_negotiate(req, lim, NULL, &t->opt) < 0)
		return refuse(t, ERR_OPTION, "Unsupported rollover value");
	/* An announced size over the limit is refused before any data. */
	if (t->conf->upload_max && t->opt.tsize_known && t->opt.tsize > t->conf->upload_max)
		return refuse(t, ERR_DISK_FULL, "File too large");
	t->size = t->opt.tsize;
	t->size_known = t->opt.tsize_known;
	r = upload_begin(&t->up, rootfd, rel, &t->conf->upload);
	if (r < 0)
		return refuse(t, path_errno_to_tftp(r), NULL);
	t->up_open = true;
	return 0;
}

/*
 * -m: map the requested name with the rules, before any path rule (the
 * result is checked like a name from the wire, so a rule never widens
 * access).  Returns 0 with *mapped set (NULL without rules; free it), or
 * refuses the request.
 */
static int remap_name(struct transfer *t, const struct packet_request *req, const struct sockaddr *peer,
		      char **mapped)
{
	char shown[100];	/* fits an ERROR packet of send_error() */
	enum remap_result res;

	*mapped = NULL;
	if (!t->conf->remap)
		return 0;
	res = remap_apply(t->conf->remap, req->filename, req->op, peer, mapped);
	if (res == REMAP_OK) {
		log_debug("peer=%s file=\"%s\" mapped to \"%s\"", t->peer, t->name,
			  log_sanitize(*mapped, strlen(*mapped), shown, sizeof(shown)));
		return 0;
	}
	if (res == REMAP_REFUSED && *mapped) {
		/* The rule's message may quote the client's name. */
		log_sanitize(*mapped, strlen(*mapped), shown, sizeof(shown));
		free(*mapped);
		*mapped = NULL;
		return refuse(t, ERR_ACCESS, shown);
	}
	free(*mapped);
	*mapped = NULL;
	if (res == REMAP_NOMEM)
		return refuse(t, ERR_UNDEFINED, "Out of memory");
	return refuse(t, ERR_ACCESS, res == REMAP_REFUSED ? NULL : "Remap table failure");
}

/*
 * The largest blksize whose DATA fits in one unfragmented datagram: the
 * MTU of the route to the peer (IP_MTU of the connected socket, which
 * includes what path MTU discovery has learnt) or --mtu, whichever is
 * lower, minus the IP, UDP and TFTP headers (20 + 8 + 4, or 40 + 8 + 4
 * for IPv6; dnsmasq's 32 and 52).
 * Transfer sockets keep the kernel's usual discovery (PMTUDISC_WANT):
 * DF is set, a smaller path found by an ICMP lowers the route's MTU for
 * the next transfers, and a running one is fragmented by the kernel
 * rather than stalled (its blksize cannot change).
 */
unsigned xfer_path_blksize(const struct xfer_conf *conf, int sock, const struct sockaddr *peer)
{
	uint8_t host[16];
	int family = addr_host(peer, host), v = 0;
	socklen_t len = sizeof(v);
	unsigned mtu = 0, overhead = family == AF_INET ? 32 : 52, cap;

	if (conf->mtu_clamp) {
		/* Whatever net.ipv4.ip_no_pmtu_disc says (see above); new
		 * sockets have it when it says so, and a system call a
		 * transfer is saved. */
		if (!conf->pmtu_wanted) {
			int want = IPV6_PMTUDISC_WANT;

			if (peer->sa_family == AF_INET6)
				setsockopt(sock, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &want, sizeof(want));
			want = IP_PMTUDISC_WANT;
			setsockopt(sock, IPPROTO_IP, IP_MTU_DISCOVER, &want, sizeof(want));
		}
		if (peer->sa_family == AF_INET6 ? getsockopt(sock, IPPROTO_IPV6, IPV6_MTU, &v, &len) == 0
						 : getsockopt(sock, IPPROTO_IP, IP_MTU, &v, &len) == 0)
			mtu = v > 0 ? (unsigned)v : 0;
	}
	if (conf->mtu_max && (!mtu || conf->mtu_max < mtu))
		mtu = conf->mtu_max;
	if (!mtu)
		return conf->lim.blksize_max;
	cap = mtu >= overhead + OPT_BLKSIZE_MIN ? mtu - overhead : OPT_BLKSIZE_MIN;
	return cap < conf->lim.blksize_max ? cap : conf->lim.blksize_max;
}

bool xfer_pmtu_default(void)
{
	FILE *f = fopen("/proc/sys/net/ipv4/ip_no_pmtu_disc", "re");
	int v = -1;

	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v == 0;
}

/* ---- Events ---------------------------------------------------------- */

/*
 * A tight budget: the window must fit in what is left of the process's
 * budget and of the client's part of it; below one block of the blksize
 * asked for, a smaller blksize (RFC 2348 lets the server answer with
 * one), down to 512 bytes, which every transfer gets.
 */
static void fit_budget(struct transfer *t, struct xmem *m, const struct sockaddr *peer,
		       struct opt_limits *lim)
{
	uint64_t room;

	xmem_client_of(peer, &t->client);
	room = xmem_room(m, &t->client);
	/* opt_negotiate() counts blksize bytes a block; the ring holds 4
	 * more, less than 1/64 of a block of 512 or more. */
	room -= room / 64;
	if (room < lim->window_bytes_max)
		lim->window_bytes_max = room;
	if (lim->window_bytes_max < lim->blksize_max) {
		uint64_t b = lim->window_bytes_max > OPT_BLKSIZE_DEFAULT ? lim->window_bytes_max : OPT_BLKSIZE_DEFAULT;

		if (b < lim->blksize_max)	/* never above -B or the path MTU */
			lim->blksize_max = (unsigned)b;
	}
}

int xfer_start(struct transfer *t, const struct xfer_conf *conf, int sock, int rootfd,
	       const void *req_buf, size_t len, const struct sockaddr *peer, uint64_t now)
{
	struct packet_request req;
	struct opt_limits lim;
	const char *rel;
	char *mapped;
	int r;

	memset(t, 0, sizeof(*t));
	t->conf = conf;
	t->sock = sock;
	t->fd = -1;
	t->start_us = now;
	t->gso = true;
	sess_init(&t->s, conf->rto_us, conf->rto_min_us, conf->rto_max_us, now);
	t->s.max_retries = conf->max_retries;
	t->s.giveup_us = conf->giveup_us;
	t->s.quiet_after = XFER_UNVERIFIED_RESENDS;
	t->s.shares_queue = true;	/* a worker's transfers wait in one queue */
	t->opt.blksize = OPT_BLKSIZE_DEFAULT;
	t->opt.windowsize = 1;
	netascii_enc_init(&t->enc);
	netascii_dec_init(&t->dec);
	addr_format(peer, t->peer, sizeof(t->peer));
	strcpy(t->name, "-");
	strcpy(t->mode_name, "-");
	memcpy(&t->peer_sa, peer, addr_len(peer));
	/* Known even for a malformed request: the dispatcher admits only
	 * these two opcodes. */
	t->op = packet_opcode(req_buf, len) == OP_WRQ ? OP_WRQ : OP_RRQ;
	if (conf->single_port) {
		t->req = malloc(len);
		if (!t->req)
			return refuse(t, ERR_UNDEFINED, "Out of memory");
		memcpy(t->req, req_buf, len);
		t->req_len = len;
	}

	r = packet_parse_request(req_buf, len, &req);
	if (r == -EINVAL)
		return refuse(t, ERR_ILLEGAL_OP, "Malformed request");
	t->op = req.op;
	log_sanitize(req.filename, req.filename_len, t->name, sizeof(t->name));
	if (r == 0)
		strcpy(t->mode_name, req.mode == MODE_OCTET ? "octet" : req.mode == MODE_NETASCII ? "netascii" : "mail");
	else
		log_sanitize(req.mode_str, strlen(req.mode_str), t->mode_name, sizeof(t->mode_name));
	if (r == -EPROTONOSUPPORT || req.mode == MODE_MAIL)
		return refuse(t, ERR_ILLEGAL_OP, "Unsupported transfer mode");
	t->mode = req.mode;
	r = remap_name(t, &req, peer, &mapped);
	if (r < 0)
		return r;
	r = mapped ? path_check(mapped, strlen(mapped), &rel) : path_check(req.filename, req.filename_len, &rel);
	if (r < 0) {
		free(mapped);
		return refuse(t, ERR_ACCESS, "Illegal file name");
	}
	lim = conf->lim;
	lim.blksize_max = xfer_path_blksize(conf, sock, peer);
	if (t->op == OP_RRQ && conf->mem)
		fit_budget(t, conf->mem, peer, &lim);
	r = t->op == OP_RRQ ? start_read(t, rootfd, rel, &req, &lim) : start_write(t, rootfd, rel, &req, &lim);
	free(mapped);
	if (r < 0)
		return r;

	t->s.slot_size = PACKET_HDR + t->opt.blksize;
	t->s.blksize = t->opt.blksize;
	t->s.windowsize = t->opt.windowsize;
	t->s.rollover = t->opt.rollover;
	t->s.fixed_us = t->opt.timeout_us;
	/* The window is promised in the OACK: reserved now, allocated with
	 * the first window (ring_alloc). */
	if (t->op == OP_RRQ && conf->mem) {
		t->mem_bytes = (uint64_t)t->s.slot_size * t->opt.windowsize;
		xmem_take(conf->mem, &t->client, t->mem_bytes);
	}

	t->oack = t->opt.acked != 0;
	if (t->oack) {
		/* Not timed: a client that lost our OACK or its first ACK
		 * answers after its own timer, and one such sample would
		 * inflate the timeout for the whole transfer. */
		t->state = XS_OACK;
		t->s.opening = t->op == OP_RRQ;
		send_oack(t);
		sess_sent(&t->s, now);
		arm(t, now);
	} else if (t->op == OP_RRQ) {
		t->state = XS_SEND;
		send_window(t, now);
	} else {
		t->state = XS_RECV;
		send_ack(t, 0);
		sess_sent(&t->s, now);
		arm(t, now);
	}
	return xfer_done(t) ? -1 : 0;
}

/*
 * Single-port mode: the client's requests come to its transfer's socket.
 * The same bytes again are a retransmission of the request that started
 * the transfer: ignored.  Anything else is a new request that replaces
 * the transfer, as in dnsmasq (a client that restarts has given up on
 * the old one), and so is any request once an upload is complete and
 * only dallying.
 */
static void on_request(struct transfer *t, const uint8_t *buf, size_t len)
{
	if (t->state != XS_DALLY && len == t->req_len && memcmp(buf, t->req, len) == 0)
		return;
	/* The driver passes a datagram too large for its buffer with the
	 * buffer's length: not a request it can judge. */
	if (len >= xfer_rx_size(t))
		return;
	t->next_req = malloc(len);
	if (!t->next_req)
		return;
	memcpy(t->next_req, buf, len);
	t->next_len = len;
	if (t->state == XS_DALLY) {
		end(t, XO_COMPLETE);
	} else {
		snprintf(t->detail, sizeof(t->detail), "replaced by a new request");
		end(t, XO_ABORTED);
	}
}

int xfer_restart(struct transfer *t, int rootfd, uint64_t now)
{
	const struct xfer_conf *conf = t->conf;
	union sockaddr_any peer = t->peer_sa;
	uint8_t *req = t->next_req;
	size_t len = t->next_len;
	int sock = t->sock, r;

	t->next_req = NULL;
	xfer_finish(t, now);
	r = xfer_start(t, conf, sock, rootfd, req, len, &peer.sa, now);
	free(req);
	return r;
}

void xfer_on_packet(struct transfer *t, const uint8_t *buf, size_t len, uint64_t now)
{
	unsigned op = packet_opcode(buf, len);

	if (xfer_done(t)) {
		/* Single-port mode: the client's next request, come before
		 * the socket was closed (xfer_drain()). */
		if ((op == OP_RRQ || op == OP_WRQ) && t->conf->single_port && !t->next_req &&
		    len < xfer_rx_size(t) && (t->next_req = malloc(len)) != NULL) {
			memcpy(t->next_req, buf, len);
			t->next_len = len;
		}
		return;
	}
	if ((op == OP_RRQ || op == OP_WRQ) && t->conf->single_port) {
		on_request(t, buf, len);
		return;
	}
	/* It came to the transfer's port, which only our reply told (in
	 * single-port mode that is the listening port, so a request there
	 * proves nothing and is handled above). */
	t->s.verified = true;
	if (op == OP_ERROR) {
		struct packet_errmsg e;
		char msg[64];

		if (packet_parse_error(buf, len, &e) < 0)
			return;
		log_sanitize(e.msg, e.msg_len, msg, sizeof(msg));
		snprintf(t->detail, sizeof(t->detail), "client error %u: %s", e.code, msg);
		/* UEFI and PXE ROMs ask for tsize, then abort with 0 or 8. */
		if (t->state == XS_OACK && t->op == OP_RRQ && (e.code == ERR_UNDEFINED || e.code == ERR_OPTION))
			end(t, XO_PROBE);
		else if (t->state == XS_DALLY)
			end(t, XO_COMPLETE);
		else
			end(t, XO_ABORTED);
		return;
	}
	if (t->op == OP_RRQ) {
		uint16_t w;

		if (packet_parse_ack(buf, len, &w) == 0)
			sender_ack(t, w, now);
		return;
	}
	if (op == OP_DATA) {
		struct packet_data d;

		if (packet_parse_data(buf, len, &d) == 0)
			receiver_data(t, &d, now);
	}
}

void xfer_on_timeout(struct transfer *t, uint64_t now)
{
	if (xfer_done(t))
		return;
	switch (sess_on_timeout(&t->s, now)) {
	case SESS_T_NONE:
		return;
	case SESS_T_DALLY_END:
		end(t, XO_COMPLETE);
		return;
	case SESS_T_GIVEUP:
		/* A peer that never answered may not exist (a forged
		 * request): no ERROR to it. */
		if (t->s.verified) {
			fail(t, XO_TIMEOUT, ERR_UNDEFINED, "Timeout");
		} else {
			snprintf(t->detail, sizeof(t->detail), "Timeout");
			end(t, XO_TIMEOUT);
		}
		return;
	case SESS_T_RESEND:
		break;
	}
	switch (t->state) {
	case XS_OACK:
		sess_resent(&t->s, now);
		send_oack(t);
		break;
	case XS_SEND:
		send_window(t, now);	/* from the last ACK + 1 */
		break;
	case XS_RECV:
		send_ack(t, sess_resend_ack(&t->s, now));
		break;
	default:
		break;
	}
}

void xfer_cancel(struct transfer *t, const char *msg)
{
	if (xfer_done(t))
		return;
	if (t->state == XS_DALLY)
		end(t, XO_COMPLETE);	/* stored and acknowledged already */
	else
		fail(t, XO_FAILED, ERR_UNDEFINED, msg);
}

static void format_options(const struct transfer *t, char *buf, size_t size)
{
	size_t o = 0;

	buf[0] = '\0';
	for (int id = 0; id < OPT_MAX; id++) {
		if (!(t->opt.acked & (1u << id)))
			continue;
		int n = snprintf(buf + o, size - o, "%s%s=%s", o ? "," : "", opt_name(id), t->opt.value[id]);
		if (n < 0 || (size_t)n >= size - o)
			break;
		o += (size_t)n;
	}
	if (!o)
		snprintf(buf, size, "-");
}

/* An ERROR went to the client: refuse() and fail() end these outcomes. */
static bool error_sent(const struct transfer *t)
{
	return t->outcome == XO_REFUSED || t->outcome == XO_TIMEOUT || t->outcome == XO_FAILED ||
	       t->outcome == XO_CHANGED;
}

static uint64_t duration_us(const struct transfer *t, uint64_t now)
{
	return (t->end_us ? t->end_us : now) - t->start_us;
}

static void log_line(const struct transfer *t, int prio, uint64_t now)
{
	char opts[160], bytes[24], secs_s[24], rate[24], retr[24], err[8];
	double secs = (double)duration_us(t, now) / 1e6;
	const char *op = t->op == OP_WRQ ? "WRQ" : "RRQ";
	/* The line's fields again, for the journal; the detail and the
	 * error code only where there is one. */
	struct log_field f[12] = {
		{ "TFTP_PEER", t->peer }, { "TFTP_OP", op }, { "TFTP_FILE", t->name },
		{ "TFTP_MODE", t->mode_name }, { "TFTP_OPTIONS", opts }, { "TFTP_BYTES", bytes },
		{ "TFTP_SECONDS", secs_s }, { "TFTP_RATE_KIB", rate }, { "TFTP_RETRANSMITS", retr },
		{ "TFTP_OUTCOME", xfer_outcome_name(t->outcome) },
	};
	size_t nf = 10;

	format_options(t, opts, sizeof(opts));
	snprintf(bytes, sizeof(bytes), "%" PRIu64, t->bytes);
	snprintf(secs_s, sizeof(secs_s), "%.3f", secs);
	snprintf(rate, sizeof(rate), "%.0f", secs > 0 ? (double)t->bytes / 1024.0 / secs : 0.0);
	snprintf(retr, sizeof(retr), "%" PRIu64, t->s.retransmits);
	if (t->detail[0])
		f[nf++] = (struct log_field){ "TFTP_DETAIL", t->detail };
	if (error_sent(t)) {
		snprintf(err, sizeof(err), "%u", t->error);
		f[nf++] = (struct log_field){ "TFTP_ERROR", err };
	}
	log_fields(prio, f, nf,
		   "peer=%s op=%s file=\"%s\" mode=%s options=%s bytes=%s seconds=%s"
		   " rate_kib=%s retransmits=%s outcome=%s%s%s%s",
		   t->peer, op, t->name, t->mode_name, opts, bytes, secs_s, rate, retr,
		   xfer_outcome_name(t->outcome), t->detail[0] ? " detail=\"" : "", t->detail,
		   t->detail[0] ? "\"" : "");
}

void xfer_finish(struct transfer *t, uint64_t now)
{
	int prio = LOG_NOTICE;

	if (t->up_open)
		upload_abort(&t->up);	/* the old file stays as it was */
	if (t->fd >= 0)
		close(t->fd);
	sess_ring_free(&t->s);
	free(t->rd);
	if (t->conf && t->conf->mem)
		xmem_give(t->conf->mem, &t->client, t->mem_bytes, t->mem_readahead);
	t->mem_bytes = t->mem_readahead = 0;
	filecache_put(&file_cache, t->cached, t->outcome == XO_CHANGED);
	t->cached = NULL;
	free(t->req);
	free(t->next_req);
	t->req = t->next_req = NULL;
	t->rd = NULL;
	t->fd = -1;

	/* A missing file is routine (PXE ROMs probe several names). */
	if (t->outcome == XO_PROBE || (t->outcome == XO_REFUSED && t->error == ERR_NOT_FOUND))
		prio = LOG_INFO;
	if (prio <= log_level())
		log_line(t, prio, now);
}

void xfer_report(const struct transfer *t, uint64_t now, struct xfer_report *r)
{
	memset(r, 0, sizeof(*r));
	r->pid = (uint32_t)log_pid();
	r->op = (uint8_t)t->op;
	/* Every ended transfer has an outcome; XO_NONE would be a bug. */
	r->outcome = (uint8_t)(t->outcome == XO_NONE ? XO_FAILED : t->outcome);
	r->error = error_sent(t) ? t->error : 0;
	r->bytes = t->bytes;
	r->duration_us = duration_us(t, now);
	r->retransmits = t->s.retransmits;
	r->held = t->s.held > UINT32_MAX ? UINT32_MAX : (uint32_t)t->s.held;
}

void xfer_title(const struct transfer *t, char *buf, size_t size)
{
	char host[ADDR_STR_MAX], done[24];
	const char *p = t->peer, *colon = strrchr(p, ':');
	size_t n;

	/* The address without its port: "1.2.3.4:69" or "[::1]:69". */
	if (p[0] == '[') {
		p++;
		colon = strchr(p, ']');
	}
	n = colon ? (size_t)(colon - p) : strlen(p);
	if (n >= sizeof(host))
		n = sizeof(host) - 1;
	memcpy(host, p, n);
	host[n] = '\0';
	if (t->size_known && t->size > 0)
		snprintf(done, sizeof(done), "%u%%",
			 (unsigned)(t->bytes >= t->size ? 100 : t->bytes * 100 / t->size));
	else
		log_human_bytes(t->bytes, done, sizeof(done));
	snprintf(buf, size, "%s %s %s %s", host, t->op == OP_WRQ ? "WRQ" : "RRQ", t->name, done);
}

uint64_t xfer_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

size_t xfer_rx_size(const struct transfer *t)
{
	/* One byte more than the largest valid datagram, to see oversize. */
	return t->op == OP_WRQ ? PACKET_HDR + t->opt.blksize + 1 : 1024;
}

/* The title follows the progress at most this often: the formatting is
 * a few hundred nanoseconds, so it costs nothing measurable. */
#define TITLE_INTERVAL_US 250000

static void show_title(const struct transfer *t)
{
	char title[256];

	xfer_title(t, title, sizeof(title));
	setproctitle("%s", title);
}

int xfer_receive(struct transfer *t, struct tp_rx *rx, unsigned max, int flags, uint64_t now)
{
	size_t size = xfer_rx_size(t);
	int r;

	if (size > rx->size)
		size = rx->size;
	r = tp_receive(t->sock, rx, max, size, flags);
	if (r < 0) {
		if (r == -ECONNREFUSED)
			peer_refused(t, now ? now : xfer_now_us());
		else if (r != -EAGAIN && r != -EINTR)
			fail(t, XO_FAILED, ERR_UNDEFINED, "Receive error");
		return 0;
	}
	if (!now)
		now = xfer_now_us();	/* after the wait */
	for (int i = 0; i < r && (!xfer_done(t) || t->conf->single_port); i++) {
		size_t n = tp_rx_len(rx, (unsigned)i);

		/* A truncated datagram is passed as the buffer's length,
		 * one byte more than any valid one. */
		if (n > size)
			n = size;
		xfer_on_packet(t, tp_rx_data(rx, (unsigned)i), n, now);
	}
	return r;
}

void xfer_drain(struct transfer *t, struct tp_rx *rx)
{
	if (t->conf->single_port && !t->next_req && t->sock >= 0 && rx->buf)
		xfer_receive(t, rx, rx->n, MSG_DONTWAIT, 0);
}

unsigned xfer_rx_want(const struct transfer *t)
{
	/* A window of DATA, or the few ACKs a window can bring (one in
	 * lockstep: asking for more costs a look at an empty queue). */
	if (t->op == OP_WRQ)
		return t->s.windowsize < TP_RX_BATCH ? t->s.windowsize : TP_RX_BATCH;
	return t->s.windowsize == 1 ? 1 : 8;
}

/*
 * Fork mode: one blocking recvmmsg per round, which waits up to the
 * deadline for the first datagram and then takes whatever else is queued
 * (MSG_WAITFORONE), so a window of ACKs or DATA costs one call.
 */
int xfer_run(const struct xfer_conf *conf, int sock, int rootfd, const void *req, size_t len,
	     const struct sockaddr *peer, struct xfer_report *rep, xfer_replaced_fn *replaced, void *arg)
{
	struct transfer *t = malloc(sizeof(*t));
	struct tp_rx *rx = malloc(sizeof(*rx));
	uint64_t cur_wait = 0, title_us;
	struct xfer_conf own;
	struct xmem mem;
	int r;

	memset(rep, 0, sizeof(*rep));	/* outcome XO_NONE: nothing to report */
	/* One transfer in this process: its window fits in the process's
	 * share of the budget. */
	if (conf->mem_budget && !conf->mem && xmem_init(&mem, conf->mem_budget, 0, 1) == 0) {
		own = *conf;
		own.mem = &mem;
		conf = &own;
	}
	if (!t || !rx) {
		free(t);
		free(rx);
		return -ENOMEM;
	}
	rx->buf = NULL;
	title_us = xfer_now_us();
	xfer_start(t, conf, sock, rootfd, req, len, peer, title_us);
	if (!xfer_done(t) && tp_rx_init(rx, xfer_rx_want(t), xfer_rx_size(t)) < 0)
		fail(t, XO_FAILED, ERR_UNDEFINED, "Out of memory");
	for (;;) {
		uint64_t now = xfer_now_us();

		if (xfer_done(t)) {
			xfer_drain(t, rx);
			if (!xfer_restart_pending(t)) {
				/* In single-port mode the client's next
				 * request reaches the listener from now on. */
				close(sock);
				t->sock = -1;
				break;
			}
			if (replaced) {
				xfer_report(t, now, rep);
				replaced(rep, arg);
			}
			/* The new request may need larger buffers. */
			tp_rx_free(rx);
			if (xfer_restart(t, rootfd, now) == 0 &&
			    tp_rx_init(rx, xfer_rx_want(t), xfer_rx_size(t)) < 0)
				fail(t, XO_FAILED, ERR_UNDEFINED, "Out of memory");
			continue;
		}
		if (now >= title_us) {
			show_title(t);
			title_us = now + TITLE_INTERVAL_US;
		}
		if (now >= t->s.deadline_us) {
			/* What arrived since the last wait first: it may be the
			 * ACK that makes a resend needless, or the last one. */
			xfer_receive(t, rx, rx->n, MSG_DONTWAIT, 0);
			now = xfer_now_us();
			if (!xfer_done(t) && now >= t->s.deadline_us)
				xfer_on_timeout(t, now);
			continue;
		}
		if (xfer_wants_write(t)) {
			/* Room to send the rest of a window, or an ACK. */
			struct pollfd p = { .fd = sock, .events = POLLIN | POLLOUT };
			uint64_t ms = (t->s.deadline_us - now + 999) / 1000;

			if (poll(&p, 1, ms > INT_MAX ? INT_MAX : (int)ms) <= 0)
				continue;
			if (p.revents & (POLLOUT | POLLERR))
				xfer_on_writable(t, xfer_now_us());
			if (p.revents & POLLIN)
				xfer_receive(t, rx, rx->n, MSG_DONTWAIT, 0);
			continue;
		}
		tp_set_wait(sock, t->s.deadline_us - now, &cur_wait);
		xfer_receive(t, rx, rx->n, MSG_WAITFORONE, 0);
	}
	r = t->outcome == XO_COMPLETE || t->outcome == XO_PROBE ? 0 : -1;
	title_us = xfer_now_us();
	xfer_finish(t, title_us);
	xfer_report(t, title_us, rep);
	tp_rx_free(rx);
	free(rx);
	free(t);
	return r;
}
