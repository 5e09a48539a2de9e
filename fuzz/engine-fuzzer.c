/*
 * engine-fuzzer.c - libFuzzer target for the transfer engine (xfer.c).
 *
 * An input is a request and then a sequence of events: a datagram from
 * the peer, a timer firing, time passing, send room.  The engine runs on
 * one end of a socket pair under a scratch root with files to
 * read and a directory to upload into; everything it sends is read back
 * from the other end and checked.  The pair is two UDP sockets on
 * loopback, connected to each other, so that GSO works as in a transfer.  After every event the engine's state
 * must hold its invariants, and at the end no upload may leave a file
 * behind that it did not complete.
 *
 * Input layout:
 *   byte 0        request length n (0..255); bytes 1..n the request
 *   then events:  'P' len datagram  (len: one byte, times 4 if bit 7)
 *                 'T'               the timer fires at its deadline
 *                 'W' k             k * 1 ms pass
 *                 'O'               the socket has send room
 * Unknown event bytes are skipped.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "packet.h"
#include "xfer.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char base[] = "/tmp/snow-owl-engine-fuzzer.XXXXXX";
static int root_fd = -1, up_fd = -1;
static int sv[2];			/* the engine's socket, the peer's */
static struct xfer_conf conf;
static off_t file_size[3];
static const char *const file_names[3] = { "f", "big", "text" };

#define CHECK(c)                                                              \
	do {                                                                  \
		if (!(c)) {                                                   \
			fprintf(stderr, "engine-fuzzer: %s:%d: %s\n", __FILE__, \
				__LINE__, #c);                                \
			abort();                                              \
		}                                                             \
	} while (0)

static void make_file(const char *name, size_t len, int text)
{
	int fd = openat(root_fd, name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	uint8_t buf[4096];

	CHECK(fd >= 0);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = text ? (uint8_t)(i % 7 == 3 ? '\n' : i % 11 == 5 ? '\r' : 'a' + i % 26) : (uint8_t)(i * 131 + 7);
	for (size_t done = 0; done < len;) {
		size_t n = len - done < sizeof(buf) ? len - done : sizeof(buf);

		CHECK(write(fd, buf, n) == (ssize_t)n);
		done += n;
	}
	close(fd);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char p[sizeof(base) + 16];

	(void)argc;
	(void)argv;
	log_init("engine-fuzzer", -1);	/* quiet: no transfer lines */
	CHECK(mkdtemp(base));
	snprintf(p, sizeof(p), "%s/root", base);
	CHECK(mkdir(p, 0755) == 0);
	root_fd = open(p, O_PATH | O_DIRECTORY);
	CHECK(root_fd >= 0);
	CHECK(mkdirat(root_fd, "up", 0777) == 0);
	up_fd = openat(root_fd, "up", O_RDONLY | O_DIRECTORY);
	CHECK(up_fd >= 0);
	/* 3 blocks and a bit at 512; more than a window of 64 at 8 bytes. */
	make_file("f", 1600, 0);
	make_file("big", 70000, 0);
	make_file("text", 3000, 1);
	for (int i = 0; i < 3; i++) {
		struct stat st;

		CHECK(fstatat(root_fd, file_names[i], &st, 0) == 0);
		file_size[i] = st.st_size;
	}
	/* Two UDP sockets on loopback, connected to each other; small send
	 * buffer: big windows find it full, as on a slow link. */
	for (int k = 0; k < 2; k++) {
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

		sv[k] = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		CHECK(sv[k] >= 0 && bind(sv[k], (struct sockaddr *)&a, sizeof(a)) == 0);
	}
	for (int k = 0; k < 2; k++) {
		struct sockaddr_in a;
		socklen_t len = sizeof(a);
		int small = 32768, big = 4 << 20;

		CHECK(getsockname(sv[1 - k], (struct sockaddr *)&a, &len) == 0);
		CHECK(connect(sv[k], (struct sockaddr *)&a, len) == 0);
		setsockopt(sv[k], SOL_SOCKET, k ? SO_RCVBUF : SO_SNDBUF, k ? &big : &small, sizeof(int));
	}
	xfer_conf_init(&conf);
	conf.allow_write = true;
	conf.upload.allow_create = true;
	conf.upload.plain_perms = true;
	conf.upload_max = 1 << 20;
	/* Uploads only into up/: an upload over a file the checks read
	 * would change what a later input's download must deliver. */
	conf.upload.paths[0] = "up/*";
	conf.upload.npaths = 1;
	conf.lim.windowsize_max = 64;
	conf.max_retries = 4;
	return 0;
}

/* Everything the engine sent must be a packet it may send. */
static void drain(int peer, const struct transfer *t)
{
	static uint8_t buf[70000];
	ssize_t n;

	while ((n = recv(peer, buf, sizeof(buf), MSG_DONTWAIT)) >= 0) {
		int op = packet_opcode(buf, (size_t)n);

		CHECK(n >= 4);
		CHECK(op == OP_DATA || op == OP_ACK || op == OP_OACK || op == OP_ERROR);
		if (op == OP_DATA) {
			CHECK(t->op == OP_RRQ);
			CHECK((size_t)n - PACKET_HDR <= t->opt.blksize);
		}
		if (op == OP_ACK)
			CHECK(t->op == OP_WRQ && n == PACKET_HDR);
	}
}

static void invariants(const struct transfer *t)
{
	if (xfer_done(t))
		return;
	if (t->op == OP_RRQ && t->state == XS_SEND) {
		CHECK(t->s.acked <= t->s.sent);
		CHECK(t->s.sent <= t->s.acked + t->opt.windowsize);
		CHECK(t->s.sent <= t->s.filled);
		CHECK(!t->s.eof || t->s.acked <= t->s.last);
		CHECK(!t->s.eof || t->s.sent <= t->s.last);
	}
	if (t->op == OP_WRQ)
		CHECK(t->s.ack_sent <= t->s.received);
	CHECK(t->opt.windowsize >= 1 && t->opt.windowsize <= OPT_WINDOWSIZE_SAFE);
	CHECK(rto_current(&t->s.rto) <= conf.rto_max_us);
	CHECK(t->s.deadline_us != UINT64_MAX);
}

/* Uploads that did not complete leave nothing; completed ones are
 * removed.  Nothing outside up/ is written: the files to read keep their
 * sizes, and the root holds nothing else. */
static void clean_uploads(void)
{
	int fd;
	DIR *d;
	struct dirent *e;
	struct stat st;

	for (int i = 0; i < 3; i++)
		CHECK(fstatat(root_fd, file_names[i], &st, 0) == 0 && st.st_size == file_size[i]);
	fd = openat(root_fd, ".", O_RDONLY | O_DIRECTORY);
	CHECK(fd >= 0);
	d = fdopendir(fd);
	CHECK(d);
	while ((e = readdir(d)))
		CHECK(!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || !strcmp(e->d_name, "up") ||
		      !strcmp(e->d_name, "f") || !strcmp(e->d_name, "big") || !strcmp(e->d_name, "text"));
	closedir(d);
	fd = dup(up_fd);
	CHECK(fd >= 0);
	d = fdopendir(fd);
	CHECK(d);
	rewinddir(d);
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2])))
			continue;
		CHECK(unlinkat(up_fd, e->d_name, 0) == 0);
	}
	closedir(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct transfer t;
	struct sockaddr_in peer = { .sin_family = AF_INET, .sin_port = htons(1234),
				    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	uint64_t now = 1000000;
	size_t req_len, i;

	if (size < 1)
		return 0;
	req_len = data[0];
	if (req_len < 4 || 1 + req_len > size)
		return 0;
	/* The dispatcher passes on only RRQ and WRQ. */
	if (packet_opcode(data + 1, req_len) != OP_RRQ && packet_opcode(data + 1, req_len) != OP_WRQ)
		return 0;
	while (recv(sv[0], &i, 1, MSG_DONTWAIT) >= 0)
		;	/* nothing of the last input is left over */
	xfer_start(&t, &conf, sv[0], root_fd, data + 1, req_len, (struct sockaddr *)&peer, now);
	drain(sv[1], &t);
	invariants(&t);
	for (i = 1 + req_len; i < size && !xfer_done(&t);) {
		uint8_t ev = data[i++];
		size_t len;

		switch (ev) {
		case 'P':
			if (i >= size)
				break;
			len = data[i] & 0x7f;
			if (data[i] & 0x80)
				len *= 4;
			i++;
			if (len > size - i)
				len = size - i;
			xfer_on_packet(&t, data + i, len, now);
			i += len;
			break;
		case 'T':
			if (xfer_deadline(&t) > now)
				now = xfer_deadline(&t);
			xfer_on_timeout(&t, now);
			break;
		case 'W':
			if (i < size)
				now += 1000u * data[i++];
			break;
		case 'O':
			xfer_on_writable(&t, now);
			break;
		default:
			continue;
		}
		drain(sv[1], &t);
		invariants(&t);
	}
	if (t.op == OP_RRQ && t.outcome == XO_COMPLETE && t.mode == MODE_OCTET) {
		for (int f = 0; f < 3; f++)
			if (strcmp(t.name, file_names[f]) == 0)
				CHECK(t.bytes == (uint64_t)file_size[f]);
	}
	xfer_finish(&t, now);
	drain(sv[1], &t);
	clean_uploads();
	return 0;
}
