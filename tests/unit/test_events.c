/* test_events.c - the transfer engine (src/xfer.c, over src/session.c)
 * in every state of a download and an upload, fed what a network does:
 * the peer's ERROR (code 0 and 8), an ICMP port unreachable (the peer's
 * socket closed, with and without its last datagram queued ahead of the
 * error), a datagram larger than the receive buffer, and a timer that
 * falls due while the datagram that makes it needless is queued.
 *
 * Each case runs on a pair of connected loopback sockets, through the
 * same receive path as the workers (xfer_receive), and checks the
 * outcome, what reached the peer (an ERROR or nothing), the counters,
 * and for uploads the file: an upload that did not complete leaves the
 * old file as it was and no temporary file. */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tap.h"
#include "xfer.h"

#define FILE_SIZE 3000		/* the download: 6 blocks of 512, the last 440 */
#define OLD_SIZE 2000		/* the upload's target before */
#define NEW_SIZE 1124		/* the upload: blocks of 512, 512 and 100 */

enum state {
	RRQ_OACK,		/* OACK sent, waiting for ACK 0 */
	RRQ_SEND,		/* window 1-2 out */
	RRQ_LAST,		/* window 5-6 out, 6 the final block */
	WRQ_OACK,		/* OACK sent, waiting for DATA 1 */
	WRQ_RECV,		/* DATA 1 taken, the window not complete */
	WRQ_DALLY,		/* final DATA taken and acknowledged */
	NSTATES
};

static const char *const state_name[NSTATES] = {
	"RRQ waiting for ACK 0", "RRQ sending", "RRQ final window out",
	"WRQ waiting for DATA 1", "WRQ receiving", "WRQ dallying",
};

static uint8_t file_data[FILE_SIZE], old_data[OLD_SIZE], new_data[NEW_SIZE];

struct fx {
	char dir[32];
	int rootfd, srv, cli;
	struct sockaddr_in peer;
	struct xfer_conf conf;
	struct tp_rx rx;
	struct transfer t;
	enum state st;
};

static int udp_pair(int *srv, int *cli, struct sockaddr_in *cli_addr)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sockaddr_in b = a;
	socklen_t len = sizeof(a);

	*srv = socket(AF_INET, SOCK_DGRAM, 0);
	*cli = socket(AF_INET, SOCK_DGRAM, 0);
	if (*srv < 0 || *cli < 0 || bind(*srv, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    bind(*cli, (struct sockaddr *)&b, sizeof(b)) < 0)
		return -1;
	getsockname(*srv, (struct sockaddr *)&a, &len);
	getsockname(*cli, (struct sockaddr *)&b, &len);
	*cli_addr = b;
	return connect(*srv, (struct sockaddr *)&b, sizeof(b)) | connect(*cli, (struct sockaddr *)&a, sizeof(a));
}

static int put_file(int rootfd, const char *name, const uint8_t *data, size_t len, mode_t mode)
{
	int fd = openat(rootfd, name, O_WRONLY | O_CREAT | O_TRUNC, mode);
	int r;

	if (fd < 0)
		return -1;
	r = write(fd, data, len) == (ssize_t)len ? 0 : -1;
	fchmod(fd, mode);
	close(fd);
	return r;
}

/* The file's bytes equal want (len bytes). */
static bool file_is(int rootfd, const char *name, const uint8_t *want, size_t len)
{
	uint8_t buf[4096];
	int fd = openat(rootfd, name, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	return n == (ssize_t)len && memcmp(buf, want, len) == 0;
}

/* Entries of the root besides the two files: temporary files left. */
static int strays(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && strcmp(e->d_name, "r") &&
		    strcmp(e->d_name, "w"))
			n++;
	closedir(d);
	return n;
}

/* The next datagram to the client: its length, or -1 if none is queued. */
static ssize_t reply(struct fx *f, uint8_t *buf, size_t size)
{
	return recv(f->cli, buf, size, MSG_DONTWAIT);
}

/* Datagrams queued for the client, thrown away; how many. */
static int flush(struct fx *f)
{
	uint8_t buf[2048];
	int n = 0;

	while (reply(f, buf, sizeof(buf)) >= 0)
		n++;
	return n;
}

/* From the client, then through the engine's own receive path. */
static void from_client(struct fx *f, const void *buf, size_t len)
{
	(void)!send(f->cli, buf, len, 0);
	xfer_receive(&f->t, &f->rx, f->rx.n, MSG_DONTWAIT, 0);
}

static size_t build_ack(uint8_t *buf, uint16_t block)
{
	buf[0] = 0;
	buf[1] = OP_ACK;
	buf[2] = (uint8_t)(block >> 8);
	buf[3] = (uint8_t)block;
	return 4;
}

static size_t build_data(uint8_t *buf, uint16_t block, const uint8_t *data, size_t len)
{
	buf[0] = 0;
	buf[1] = OP_DATA;
	buf[2] = (uint8_t)(block >> 8);
	buf[3] = (uint8_t)block;
	memcpy(buf + 4, data, len);
	return 4 + len;
}

static void send_ack(struct fx *f, uint16_t block)
{
	uint8_t buf[4];

	from_client(f, buf, build_ack(buf, block));
}

/* DATA block (1-based) of the upload. */
static void send_block(struct fx *f, uint16_t block)
{
	uint8_t buf[4 + 512];
	size_t off = (size_t)(block - 1) * 512, len = NEW_SIZE - off < 512 ? NEW_SIZE - off : 512;

	from_client(f, buf, build_data(buf, block, new_data + off, len));
}

static size_t request(uint8_t *buf, unsigned op, const char *name)
{
	static const char opts[] = "octet\0blksize\0" "512\0windowsize\0" "2\0tsize\0" "0";
	size_t n = strlen(name) + 1;

	buf[0] = 0;
	buf[1] = (uint8_t)op;
	memcpy(buf + 2, name, n);
	memcpy(buf + 2 + n, opts, sizeof(opts));
	return 2 + n + sizeof(opts);
}

/* A fresh root and socket pair, and a transfer driven into state st. */
static int setup(struct fx *f, enum state st)
{
	uint8_t req[128];
	size_t n;

	memset(f, 0, sizeof(*f));
	f->st = st;
	strcpy(f->dir, "/tmp/test_events.XXXXXX");
	if (!mkdtemp(f->dir) || (f->rootfd = open(f->dir, O_PATH | O_DIRECTORY)) < 0 ||
	    put_file(f->rootfd, "r", file_data, sizeof(file_data), 0644) < 0 ||
	    put_file(f->rootfd, "w", old_data, sizeof(old_data), 0666) < 0 ||
	    udp_pair(&f->srv, &f->cli, &f->peer) < 0)
		return -1;
	xfer_conf_init(&f->conf);
	f->conf.allow_write = true;
	n = request(req, st >= WRQ_OACK ? OP_WRQ : OP_RRQ, st >= WRQ_OACK ? "w" : "r");
	if (xfer_start(&f->t, &f->conf, f->srv, f->rootfd, req, n, (struct sockaddr *)&f->peer, xfer_now_us()) < 0 ||
	    tp_rx_init(&f->rx, xfer_rx_want(&f->t), xfer_rx_size(&f->t)) < 0)
		return -1;
	if (flush(f) != 1)	/* the OACK */
		return -1;
	switch (st) {
	case RRQ_LAST:
		send_ack(f, 0);
		send_ack(f, 2);
		send_ack(f, 4);
		break;
	case RRQ_SEND:
		send_ack(f, 0);
		break;
	case WRQ_DALLY:
		send_block(f, 1);
		send_block(f, 2);
		send_block(f, 3);
		break;
	case WRQ_RECV:
		send_block(f, 1);
		break;
	default:
		break;
	}
	flush(f);
	return 0;
}

static enum xfer_state want_state(enum state st)
{
	static const enum xfer_state s[NSTATES] = { XS_OACK, XS_SEND, XS_SEND, XS_OACK, XS_RECV, XS_DALLY };

	return s[st];
}

static void teardown(struct fx *f)
{
	if (f->t.conf)
		xfer_finish(&f->t, xfer_now_us());
	tp_rx_free(&f->rx);
	if (f->srv >= 0)
		close(f->srv);
	if (f->cli >= 0)
		close(f->cli);
	if (f->rootfd >= 0) {
		unlinkat(f->rootfd, "r", 0);
		unlinkat(f->rootfd, "w", 0);
		close(f->rootfd);
	}
	rmdir(f->dir);
}

/*
 * After an ended upload: its target holds the new bytes if it completed
 * and the old bytes otherwise, and no temporary file is left (checked
 * after xfer_finish(), which discards an unpublished one).
 */
static void check_files(struct fx *f, bool complete, const char *what)
{
	xfer_finish(&f->t, xfer_now_us());
	f->t.conf = NULL;
	if (f->st < WRQ_OACK)
		return;
	if (complete)
		ok(file_is(f->rootfd, "w", new_data, sizeof(new_data)), "%s: the new file is published", what);
	else
		ok(file_is(f->rootfd, "w", old_data, sizeof(old_data)), "%s: the old file is intact", what);
	is_int(strays(f->dir), 0, "%s: no temporary file left", what);
}

/* The peer's ERROR: the transfer ends, nothing is sent back. */
static void test_peer_error(enum state st, uint16_t code)
{
	char what[96];
	uint8_t buf[64] = { 0, OP_ERROR, 0, (uint8_t)code };
	enum xfer_outcome want;
	struct fx f;

	snprintf(what, sizeof(what), "%s, ERROR %u from the peer", state_name[st], code);
	if (setup(&f, st) < 0) {
		ok(0, "%s: set-up", what);
		teardown(&f);
		return;
	}
	is_int(f.t.state, want_state(st), "%s: in state", what);
	memcpy(buf + 4, "cancelled", 10);
	from_client(&f, buf, 14);
	/* UEFI asks for tsize and aborts after the OACK: a probe, not a
	 * failure; a finished upload is stored and stays so. */
	want = st == WRQ_DALLY ? XO_COMPLETE : st == RRQ_OACK ? XO_PROBE : XO_ABORTED;
	ok(xfer_done(&f.t), "%s: ends", what);
	is_int(f.t.outcome, want, "%s: outcome %s", what, xfer_outcome_name(want));
	is_int(f.t.error, 0, "%s: no error code of ours", what);
	is_int(flush(&f), 0, "%s: no ERROR answers an ERROR", what);
	check_files(&f, st == WRQ_DALLY, what);
	teardown(&f);
}

/*
 * ICMP port unreachable: the client's socket is gone when the engine
 * next sends (its timer's resend, or its answer to the client's last
 * datagram).  With queued set, that last datagram (the final ACK of a
 * download, the final DATA of an upload) is still queued ahead of the
 * error, which the kernel reports first.
 */
static void test_icmp(enum state st, bool queued)
{
	char what[96];
	uint8_t buf[4 + 512];
	enum xfer_outcome want = XO_ABORTED;
	struct fx f;

	snprintf(what, sizeof(what), "%s, port unreachable%s", state_name[st],
		 queued ? " behind the last datagram" : "");
	if (setup(&f, st) < 0) {
		ok(0, "%s: set-up", what);
		teardown(&f);
		return;
	}
	if (queued && st == RRQ_LAST) {
		(void)!send(f.cli, buf, build_ack(buf, 6), 0);
		want = XO_COMPLETE;
	}
	close(f.cli);
	f.cli = -1;
	if (st == WRQ_DALLY) {
		want = XO_COMPLETE;
	} else {
		/* The timer's resend meets the closed port. */
		xfer_on_timeout(&f.t, f.t.s.deadline_us);
		ok(!xfer_done(&f.t), "%s: the resend goes out", what);
	}
	/* The error, at the next receive (as a worker's epoll or the
	 * fork driver's wait would find it). */
	xfer_receive(&f.t, &f.rx, f.rx.n, MSG_DONTWAIT, 0);
	if (st == WRQ_DALLY)	/* nothing to send in dally: the socket stays quiet */
		xfer_on_timeout(&f.t, f.t.s.deadline_us);
	ok(xfer_done(&f.t), "%s: ends", what);
	is_int(f.t.outcome, want, "%s: outcome %s", what, xfer_outcome_name(want));
	if (want == XO_ABORTED)
		is_str(f.t.detail, "peer port unreachable", "%s: says why", what);
	check_files(&f, st == WRQ_DALLY, what);
	teardown(&f);
}

/*
 * An upload's client vanishes with its next DATA queued: blksize 1024,
 * so the queued block is larger than the 516 bytes the engine reads
 * while it drains the socket after the error.  Read short, it would
 * look like the final block, and the upload would be published cut.
 */
static void test_icmp_big_block(void)
{
	static const char opts[] = "octet\0blksize\0" "1024";
	const char *what = "WRQ at blksize 1024, port unreachable behind a full block";
	uint8_t req[64], buf[4 + 1024];
	struct fx f;

	memset(&f, 0, sizeof(f));
	f.st = WRQ_RECV;
	strcpy(f.dir, "/tmp/test_events.XXXXXX");
	if (!mkdtemp(f.dir) || (f.rootfd = open(f.dir, O_PATH | O_DIRECTORY)) < 0 ||
	    put_file(f.rootfd, "w", old_data, sizeof(old_data), 0666) < 0 || udp_pair(&f.srv, &f.cli, &f.peer) < 0) {
		ok(0, "%s: set-up", what);
		teardown(&f);
		return;
	}
	xfer_conf_init(&f.conf);
	f.conf.allow_write = true;
	req[0] = 0;
	req[1] = OP_WRQ;
	memcpy(req + 2, "w", 2);
	memcpy(req + 4, opts, sizeof(opts));
	if (xfer_start(&f.t, &f.conf, f.srv, f.rootfd, req, 4 + sizeof(opts), (struct sockaddr *)&f.peer,
		       xfer_now_us()) < 0 ||
	    tp_rx_init(&f.rx, xfer_rx_want(&f.t), xfer_rx_size(&f.t)) < 0) {
		ok(0, "%s: start", what);
		teardown(&f);
		return;
	}
	flush(&f);
	memset(buf + 4, 'x', 1024);
	buf[0] = 0;
	buf[1] = OP_DATA;
	buf[2] = 0;
	buf[3] = 1;
	from_client(&f, buf, sizeof(buf));
	is_int(f.t.bytes, 1024, "%s: block 1 taken", what);
	buf[3] = 2;
	(void)!send(f.cli, buf, sizeof(buf), 0);
	close(f.cli);
	f.cli = -1;
	xfer_on_timeout(&f.t, f.t.s.deadline_us);	/* resends ACK 1: refused */
	xfer_receive(&f.t, &f.rx, f.rx.n, MSG_DONTWAIT, 0);
	ok(xfer_done(&f.t) && f.t.outcome == XO_ABORTED, "%s: aborted (%s)", what, f.t.detail);
	ok(f.t.bytes == 1024, "%s: the queued block is not taken as a short final one (%llu bytes)", what,
	   (unsigned long long)f.t.bytes);
	check_files(&f, false, what);
	teardown(&f);
}

/*
 * A datagram larger than the receive buffer: DATA to a download is not
 * for it and is dropped; an upload's next block that is larger than the
 * blksize is an illegal operation (ERROR 4), never a short final block.
 * A repeat of an upload's final block, oversize, changes nothing.
 */
static void test_oversize(enum state st)
{
	char what[96];
	uint8_t buf[4000], got[600];
	uint16_t block = st == WRQ_OACK ? 1 : st == WRQ_RECV ? 2 : 3;
	struct fx f;
	ssize_t n;

	snprintf(what, sizeof(what), "%s, a 4000-byte DATA", state_name[st]);
	if (setup(&f, st) < 0) {
		ok(0, "%s: set-up", what);
		teardown(&f);
		return;
	}
	memset(buf, 'z', sizeof(buf));
	build_data(buf, st < WRQ_OACK ? 1 : block, buf + 4, 0);
	from_client(&f, buf, sizeof(buf));
	n = reply(&f, got, sizeof(got));
	if (st < WRQ_OACK || st == WRQ_DALLY) {
		ok(!xfer_done(&f.t) && f.t.state == want_state(st), "%s: dropped, the transfer goes on", what);
		if (st == WRQ_DALLY)
			ok(n == 4 && got[1] == OP_ACK && got[3] == 3, "%s: the final ACK again", what);
		else
			is_int(n, -1, "%s: no answer", what);
		check_files(&f, st == WRQ_DALLY, what);
	} else {
		ok(xfer_done(&f.t) && f.t.outcome == XO_FAILED, "%s: fails", what);
		ok(n >= 4 && got[1] == OP_ERROR && got[3] == ERR_ILLEGAL_OP, "%s: ERROR 4 to the peer", what);
		is_int(f.t.bytes, st == WRQ_RECV ? 512 : 0, "%s: nothing of it stored", what);
		check_files(&f, false, what);
	}
	teardown(&f);
}

/*
 * The timer falls due while the datagram that makes its resend needless
 * is queued: the driver reads first (both process models do), and then
 * the timer has nothing to do.  Nothing is resent.
 */
static void test_timer_behind_queue(enum state st)
{
	char what[96];
	uint8_t buf[4 + 512];
	uint64_t due = 0;
	struct fx f;
	ssize_t n;
	int sent;

	snprintf(what, sizeof(what), "%s, the timer due behind a queued datagram", state_name[st]);
	if (setup(&f, st) < 0) {
		ok(0, "%s: set-up", what);
		teardown(&f);
		return;
	}
	due = f.t.s.deadline_us;
	switch (st) {
	case RRQ_OACK:
		(void)!send(f.cli, buf, build_ack(buf, 0), 0);
		break;
	case RRQ_SEND:
		(void)!send(f.cli, buf, build_ack(buf, 2), 0);
		break;
	case RRQ_LAST:
		(void)!send(f.cli, buf, build_ack(buf, 6), 0);
		break;
	case WRQ_OACK:
		(void)!send(f.cli, buf, build_data(buf, 1, new_data, 512), 0);
		break;
	case WRQ_RECV:
		(void)!send(f.cli, buf, build_data(buf, 2, new_data + 512, 512), 0);
		break;
	default:
		break;
	}
	/* What the driver does at the deadline: read, then the timer,
	 * both at that time. */
	n = recv(f.srv, buf, sizeof(buf), MSG_DONTWAIT);
	ok(n > 0, "%s: queued", what);
	xfer_on_packet(&f.t, buf, n > 0 ? (size_t)n : 0, due);
	xfer_on_timeout(&f.t, due);
	is_int(f.t.s.retransmits, 0, "%s: nothing resent", what);
	sent = flush(&f);
	/* ACK 0 and ACK 2 bring a window of 2; DATA 2 completes a window
	 * (its ACK); DATA 1 of 2 is answered only with the window's end. */
	is_int(sent, st == RRQ_LAST || st == WRQ_OACK ? 0 : st == WRQ_RECV ? 1 : 2, "%s: what the datagram asked for",
	       what);
	if (st == RRQ_LAST)
		ok(xfer_done(&f.t) && f.t.outcome == XO_COMPLETE, "%s: complete", what);
	teardown(&f);
}

int main(void)
{
	for (size_t i = 0; i < sizeof(file_data); i++)
		file_data[i] = (uint8_t)(i * 7 + 3);
	for (size_t i = 0; i < sizeof(old_data); i++)
		old_data[i] = (uint8_t)(i * 11 + 1);
	for (size_t i = 0; i < sizeof(new_data); i++)
		new_data[i] = (uint8_t)(i * 13 + 5);
	for (enum state st = 0; st < NSTATES; st++) {
		test_peer_error(st, ERR_UNDEFINED);
		test_peer_error(st, ERR_OPTION);
		test_icmp(st, false);
		if (st == RRQ_LAST)
			test_icmp(st, true);
		test_oversize(st);
		if (st != WRQ_DALLY)
			test_timer_behind_queue(st);
	}
	test_icmp_big_block();
	return tap_done();
}
