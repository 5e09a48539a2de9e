/*
 * getput.c - one get or put on a real socket.
 *
 * get never writes LOCAL in place: the data goes to an unnamed temporary
 * file in LOCAL's directory that replaces LOCAL only once the transfer is
 * complete and verified (the server's atomic-upload code does the work),
 * so a failure, a signal or even a crash leaves an old LOCAL as it was.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "getput.h"
#include "progress.h"
#include "transport.h"
#include "upload.h"

#define RCVBUF_MAX (32 << 20)

struct run {
	int sock;
	int fd;			/* local file: written by get, read by put */
	bool temp;		/* fd is the temporary file in up */
	struct upload up;
	char path[PATH_MAX];	/* LOCAL as shown to the user */
};

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	got_signal = sig;
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int io_send(void *arg, const void *buf, size_t len, const struct sockaddr *to, socklen_t tolen)
{
	struct run *r = arg;

	return sendto(r->sock, buf, len, 0, to, tolen) < 0 ? -errno : 0;
}

static int io_write(void *arg, const uint8_t *buf, size_t len)
{
	struct run *r = arg;

	while (len) {
		ssize_t n = write(r->fd, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static ssize_t io_read(void *arg, uint8_t *buf, size_t len)
{
	struct run *r = arg;
	ssize_t n;

	do
		n = read(r->fd, buf, len);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

__attribute__((format(printf, 1, 2)))
static void say(const char *fmt, ...)
{
	va_list ap;

	fputs("snow-owl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* get: LOCAL, or the last component of the remote name. */
static int local_name(const struct getput_opts *o, char *out, size_t size)
{
	const char *base = strrchr(o->uri.file, '/');
	struct stat st;

	base = base ? base + 1 : o->uri.file;
	if (o->local && !(stat(o->local, &st) == 0 && S_ISDIR(st.st_mode))) {
		snprintf(out, size, "%s", o->local);
		return 0;
	}
	if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
		return -EINVAL;
	/* LOCAL names a directory: the file goes into it. */
	if ((size_t)snprintf(out, size, "%s%s%s", o->local ? o->local : "",
			     o->local ? "/" : "", base) >= size)
		return -ENAMETOOLONG;
	return 0;
}

/* put: the file to send.  Returns 0 or -errno. */
static int open_source(struct getput_opts *o, struct run *r)
{
	struct stat st;

	snprintf(r->path, sizeof(r->path), "%s", o->local);
	if (strcmp(o->local, "-") == 0) {
		r->fd = STDIN_FILENO;
		return 0;
	}
	r->fd = open(o->local, O_RDONLY | O_CLOEXEC);
	if (r->fd < 0 || fstat(r->fd, &st) < 0)
		return -errno;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	o->conf.put_size_known = S_ISREG(st.st_mode);
	o->conf.put_size = (uint64_t)st.st_size;
	return 0;
}

/* get: the temporary file that becomes r->path.  Returns 0 or -errno. */
static int open_target(struct run *r)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(r->path, '/');
	struct upload_policy pol = { .allow_create = true, .plain_perms = true };
	int dirfd, err;

	if (strcmp(r->path, "-") == 0) {
		r->fd = STDOUT_FILENO;
		return 0;
	}
	if (slash)
		snprintf(dir, sizeof(dir), "%.*s", slash == r->path ? 1 : (int)(slash - r->path), r->path);
	else
		strcpy(dir, ".");
	pol.umask = umask(022);
	umask(pol.umask);
	dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return -errno;
	err = upload_begin(&r->up, dirfd, slash ? slash + 1 : r->path, &pol);
	close(dirfd);
	if (err < 0)
		return err;
	r->temp = true;
	r->fd = r->up.fd;
	return 0;
}

/* Open LOCAL; returns an exit status, having said what went wrong. */
static int open_local(struct getput_opts *o, struct run *r)
{
	struct stat st;
	int err;

	if (o->conf.op == CLIENT_GET && local_name(o, r->path, sizeof(r->path)) < 0) {
		say("%s: cannot make a local name from it; give LOCAL", o->uri.file);
		return CLIENT_EUSAGE;
	}
	err = o->conf.op == CLIENT_PUT ? open_source(o, r) : open_target(r);
	if (!err)
		return CLIENT_OK;
	/* Only a regular file is replaced: a new one would take the place of
	 * a link or device, not write through it. */
	if (err == -EACCES && o->conf.op == CLIENT_GET && lstat(r->path, &st) == 0 && !S_ISREG(st.st_mode))
		say("%s: not a regular file, it is not replaced", r->path);
	else
		say("%s: %s", r->path, strerror(-err));
	return CLIENT_ELOCAL;
}

/* Receive every datagram that is waiting. */
static int drain(struct run *r, struct client_session *s, uint8_t *buf, size_t size)
{
	while (!client_done(s)) {
		union sockaddr_any from;
		socklen_t fromlen = sizeof(from);
		ssize_t n = tp_recv(r->sock, buf, size, MSG_DONTWAIT, &from.sa, &fromlen);

		if (n < 0) {
			if (n == -EAGAIN || n == -EINTR)
				return 0;
			/* ICMP errors of earlier sends: the timer copes. */
			if (n == -ECONNREFUSED || n == -EHOSTUNREACH || n == -ENETUNREACH)
				continue;
			return (int)n;
		}
		/* A truncated datagram is longer than any valid one. */
		client_on_packet(s, buf, (size_t)n > size ? size : (size_t)n, &from.sa, fromlen, now_us());
	}
	return 0;
}

static void loop(struct run *r, struct client_session *s, struct progress *prog)
{
	size_t rx_size = client_rx_size(s->conf);
	uint8_t *buf = malloc(rx_size);

	if (!buf) {
		client_abort(s, CLIENT_ELOCAL, "out of memory");
		return;
	}
	while (!client_done(s)) {
		struct pollfd pfd = { .fd = r->sock, .events = POLLIN };
		uint64_t now = now_us(), wait;
		int n;

		if (got_signal) {
			client_abort(s, CLIENT_ELOCAL, "interrupted");
			break;
		}
		if (now >= client_deadline(s)) {
			client_on_timeout(s, now);
			continue;
		}
		wait = client_deadline(s) - now;
		if (prog->enabled && wait > 100000)
			wait = 100000;
		n = poll(&pfd, 1, (int)((wait + 999) / 1000));
		if (n < 0 && errno != EINTR) {
			client_abort(s, CLIENT_ELOCAL, "poll failed");
			break;
		}
		if (n > 0 && drain(r, s, buf, rx_size) < 0)
			client_abort(s, CLIENT_ELOCAL, "cannot receive");
		progress_update(prog, s->bytes, s->conf->op == CLIENT_GET ? s->tsize_known : s->conf->put_size_known,
				s->conf->op == CLIENT_GET ? s->tsize : s->conf->put_size, now_us(), false);
	}
	free(buf);
}

static void summary(const struct getput_opts *o, const struct client_session *s)
{
	char size[16];
	double secs = (double)(s->end_us - s->start_us) / 1e6;

	progress_size(size, sizeof(size), secs > 0 ? (double)s->bytes / secs : 0);
	fprintf(stderr, "snow-owl: %s %s: %llu bytes in %.3f s (%s/s), blksize %u, windowsize %u%s,"
		" %llu retransmits\n", o->conf.op == CLIENT_GET ? "got" : "put", o->uri.file,
		(unsigned long long)s->bytes, secs, size, s->core.blksize, s->core.windowsize,
		s->oack ? "" : " (no options acknowledged)", (unsigned long long)client_retransmits(s));
}

/* Room for two windows: the next one may arrive before this one is read. */
static int window_rcvbuf(const struct client_conf *c)
{
	uint64_t want = 2 * client_window_bytes(c);

	return want > RCVBUF_MAX ? RCVBUF_MAX : (int)want;
}

int getput_run(struct getput_opts *o)
{
	struct run r = { .sock = -1, .fd = -1 };
	struct client_io io = { io_send, io_write, io_read, &r };
	struct client_session s;
	struct sigaction sa = { .sa_handler = on_signal };
	struct progress prog;
	union sockaddr_any server;
	socklen_t server_len;
	int err, status;

	o->conf.file = o->uri.file;
	if (client_resolve(&o->uri, &server, &server_len) < 0) {
		say("cannot resolve host '%s'", o->uri.host);
		return CLIENT_EUSAGE;
	}
	status = open_local(o, &r);
	if (status)
		goto out_close_local;
	r.sock = client_socket(server.sa.sa_family, window_rcvbuf(&o->conf));
	if (r.sock < 0) {
		say("cannot open a socket: %s", strerror(-r.sock));
		status = CLIENT_ELOCAL;
		goto out_close_local;
	}

	/* No SA_RESTART: a signal must end the wait at once. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	progress_init(&prog, !o->quiet && isatty(STDERR_FILENO), now_us());
	if (client_start(&s, &o->conf, &io, &server.sa, server_len, now_us()) == 0)
		loop(&r, &s, &prog);
	if (s.status == CLIENT_OK && r.temp) {
		err = upload_commit(&r.up);
		r.temp = false;
		if (err < 0) {
			snprintf(s.error, sizeof(s.error), "cannot store %.100s: %s", r.path, strerror(-err));
			s.status = CLIENT_ELOCAL;
		}
	}
	if (s.status == CLIENT_OK)
		progress_update(&prog, s.bytes, true, s.bytes, s.end_us, true);
	progress_end(&prog);
	if (s.status != CLIENT_OK)
		say("%s: %s", o->uri.file, s.error);
	else if (o->verbose)
		summary(o, &s);
	status = s.status;
	client_free(&s);
	close(r.sock);
out_close_local:
	if (r.temp)
		upload_abort(&r.up);	/* LOCAL stays as it was */
	else if (r.fd > STDERR_FILENO)
		close(r.fd);
	if (got_signal) {
		signal(got_signal, SIG_DFL);
		raise(got_signal);
	}
	return status;
}
