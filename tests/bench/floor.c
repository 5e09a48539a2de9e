/*
 * floor: the least a TFTP read server can do, as a yardstick for benchmarks.
 *
 *   floor ADDR:PORT DIR
 *
 * One thread, one epoll loop.  Each read request gets its own socket bound
 * to ADDR and connected to the client; files are read into memory once and
 * kept; blksize, tsize and windowsize are honoured; a window of more than
 * one block leaves in one UDP GSO send.  There are no timers, no
 * retransmissions except on a repeated ACK, no logging, no sandbox and no
 * checks beyond what keeps it from crashing: it is not a server for use,
 * only the lower bound of what the kernel's UDP path costs per block here.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

#define MAX_FILES 16
#define GSO_BYTES 65000 /* one GSO send stays below 64 KiB of payload */

struct file {
	char name[256];
	char *data;
	size_t size;
};

struct xfer {
	int fd;
	const struct file *f;
	unsigned blksize, window;
	uint64_t last;    /* number of the file's last block */
	uint64_t acked;   /* highest block acknowledged */
	uint64_t sent;    /* highest block sent */
	char *buf;        /* room for one window of DATA packets */
};

static struct file files[MAX_FILES];
static int nfiles;
static int root;

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static const struct file *load(const char *name)
{
	for (int i = 0; i < nfiles; i++)
		if (!strcmp(files[i].name, name))
			return &files[i];
	if (nfiles == MAX_FILES || strchr(name, '/') || strlen(name) >= sizeof files[0].name)
		return NULL;
	int fd = openat(root, name, O_RDONLY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	struct file *f = &files[nfiles];
	f->data = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!f->data)
		die("malloc");
	size_t got = 0;
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, f->data + got, (size_t)st.st_size - got);
		if (r <= 0)
			die("read");
		got += (size_t)r;
	}
	close(fd);
	f->size = got;
	snprintf(f->name, sizeof f->name, "%s", name);
	nfiles++;
	return f;
}

/* Send blocks sent+1 .. min(acked+window, last) in GSO batches. */
static void send_window(struct xfer *x)
{
	uint64_t end = x->acked + x->window;
	if (end > x->last)
		end = x->last;
	unsigned seg = x->blksize + 4;
	unsigned per_send = GSO_BYTES / seg;
	if (per_send > 64)
		per_send = 64;
	while (x->sent < end) {
		uint64_t n = end - x->sent;
		if (n > per_send)
			n = per_send;
		size_t len = 0;
		for (uint64_t b = x->sent + 1; b <= x->sent + n; b++) {
			size_t off = (size_t)(b - 1) * x->blksize;
			size_t dlen = off >= x->f->size ? 0 : x->f->size - off;
			if (dlen > x->blksize)
				dlen = x->blksize;
			char *p = x->buf + len;
			p[0] = 0;
			p[1] = 3;
			p[2] = (char)(b >> 8);
			p[3] = (char)b;
			memcpy(p + 4, x->f->data + off, dlen);
			len += 4 + dlen;
		}
		if (n == 1) {
			if (send(x->fd, x->buf, len, 0) < 0 && errno != ECONNREFUSED)
				return;
		} else {
			char cbuf[CMSG_SPACE(sizeof(uint16_t))] = { 0 };
			struct iovec iov = { x->buf, len };
			struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
					     .msg_control = cbuf, .msg_controllen = sizeof cbuf };
			struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
			c->cmsg_level = SOL_UDP;
			c->cmsg_type = UDP_SEGMENT;
			c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
			uint16_t gso = (uint16_t)seg;
			memcpy(CMSG_DATA(c), &gso, sizeof gso);
			if (sendmsg(x->fd, &mh, 0) < 0 && errno != ECONNREFUSED)
				return;
		}
		x->sent += n;
	}
}

static void finish(int ep, struct xfer *x)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, x->fd, NULL);
	close(x->fd);
	free(x->buf);
	free(x);
}

static void on_ack(int ep, struct xfer *x)
{
	unsigned char p[516];
	ssize_t r;
	/* One datagram per wake-up: epoll is level-triggered, and a second
	   recv() would nearly always find nothing. */
	if ((r = recv(x->fd, p, sizeof p, MSG_DONTWAIT)) >= 0) {
		if (r < 4 || p[1] != 4) {
			finish(ep, x);
			return;
		}
		uint16_t b16 = (uint16_t)(p[2] << 8 | p[3]);
		/* The acknowledged block nearest to what was sent. */
		uint64_t b = (x->sent & ~(uint64_t)0xffff) | b16;
		if (b > x->sent)
			b -= 0x10000;
		if (b >= x->last && x->sent == x->last) {
			finish(ep, x);
			return;
		}
		if (b < x->acked)
			return;
		if (b == x->acked && x->sent > x->acked) {
			x->sent = x->acked; /* a repeated ACK: send the window again */
		} else {
			x->acked = b;
			if (x->sent < b)
				x->sent = b;
		}
		send_window(x);
	}
}

static void on_request(int ep, int lfd)
{
	char p[1024];
	struct sockaddr_in peer, local;
	socklen_t plen = sizeof peer, llen = sizeof local;
	ssize_t r = recvfrom(lfd, p, sizeof p - 1, MSG_DONTWAIT, (struct sockaddr *)&peer, &plen);
	if (r < 4 || p[0] != 0 || p[1] != 1)
		return;
	p[r] = 0;
	const char *name = p + 2, *end = p + r;
	const char *mode = name + strlen(name) + 1;
	if (mode >= end)
		return;
	const struct file *f = load(name);
	struct xfer *x = calloc(1, sizeof *x);
	if (!x)
		die("calloc");
	x->blksize = 512;
	x->window = 1;
	x->f = f;
	getsockname(lfd, (struct sockaddr *)&local, &llen);
	local.sin_port = 0;
	x->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (x->fd < 0 || bind(x->fd, (struct sockaddr *)&local, sizeof local) < 0 ||
	    connect(x->fd, (struct sockaddr *)&peer, plen) < 0)
		die("transfer socket");
	if (!f) {
		static const char nf[] = "\0\5\0\1File not found";
		send(x->fd, nf, sizeof nf, 0);
		close(x->fd);
		free(x);
		return;
	}
	char oack[512] = "\0\6";
	size_t olen = 2;
	for (const char *o = mode + strlen(mode) + 1; o < end;) {
		const char *v = o + strlen(o) + 1;
		if (v >= end)
			break;
		char val[32] = "";
		if (!strcasecmp(o, "blksize")) {
			x->blksize = (unsigned)atoi(v);
			if (x->blksize < 8 || x->blksize > 65464)
				x->blksize = 512;
			snprintf(val, sizeof val, "%u", x->blksize);
		} else if (!strcasecmp(o, "windowsize")) {
			x->window = (unsigned)atoi(v);
			if (x->window < 1 || x->window > 65535)
				x->window = 1;
			snprintf(val, sizeof val, "%u", x->window);
		} else if (!strcasecmp(o, "tsize")) {
			snprintf(val, sizeof val, "%zu", f->size);
		}
		if (*val && olen + strlen(o) + strlen(val) + 2 < sizeof oack) {
			olen += (size_t)sprintf(oack + olen, "%s", o) + 1;
			olen += (size_t)sprintf(oack + olen, "%s", val) + 1;
		}
		o = v + strlen(v) + 1;
	}
	x->last = f->size / x->blksize + 1;
	unsigned per_window = x->window < 64 ? x->window : 64;
	x->buf = malloc((size_t)per_window * (x->blksize + 4));
	if (!x->buf)
		die("malloc");
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = x };
	if (epoll_ctl(ep, EPOLL_CTL_ADD, x->fd, &ev) < 0)
		die("epoll_ctl");
	if (olen > 2)
		send(x->fd, oack, olen, 0); /* block 0 is acknowledged next */
	else
		send_window(x);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s ADDR:PORT DIR\n", argv[0]);
		return 1;
	}
	char *colon = strrchr(argv[1], ':');
	if (!colon)
		return 1;
	*colon = 0;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(colon + 1)) };
	if (inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1)
		return 1;
	root = open(argv[2], O_RDONLY | O_DIRECTORY);
	if (root < 0)
		die(argv[2]);
	int lfd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int big = 8 << 20;
	setsockopt(lfd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0)
		die("bind");
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	struct epoll_event evs[256];
	for (;;) {
		int n = epoll_wait(ep, evs, 256, -1);
		for (int i = 0; i < n; i++) {
			if (evs[i].data.ptr)
				on_ack(ep, evs[i].data.ptr);
			else
				on_request(ep, lfd);
		}
	}
}
