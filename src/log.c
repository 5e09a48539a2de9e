/*
 * log.c - logging to stderr, syslog or the journal, with a priority filter.
 *
 * The journal gets its native protocol over a socket connected at
 * start-up rather than sd_journal_send(), which opens its socket on first
 * use and addresses /run/systemd/journal/socket by path on every call:
 * after a transfer child's chroot that path no longer resolves, and its
 * seccomp filter allows no new sockets to the journal.  A connected
 * socket inherited across fork needs neither.
 */
#include "config.h"

#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"

#define JOURNAL_SOCKET "/run/systemd/journal/socket"
#define LINE_MAX_LEN 1024

/* Written at start-up before any child exists; read-only after. */
static struct {
	const char *ident;
	int level;
	bool syslog;
	int journal;			/* connected socket, or -1 */
} log_conf = { "snow-owl", LOG_NOTICE, false, -1 };

static pid_t pid_made;

static void pid_forget(void)
{
	pid_made = 0;
}

pid_t log_pid(void)
{
	static bool hooked;

	if (!hooked)
		hooked = pthread_atfork(NULL, NULL, pid_forget) == 0;
	if (!pid_made || !hooked)
		pid_made = getpid();
	return pid_made;
}

/* Lines held for one write (log_hold); held is the buffer's use. */
static struct {
	bool on;
	size_t used;
	char buf[PIPE_BUF];
} held;

void log_hold(void)
{
	held.on = true;
}

void log_flush(void)
{
	if (held.used)
		(void)!write(STDERR_FILENO, held.buf, held.used);
	held.used = 0;
}

static void put_line(const char *line, size_t len)
{
	if (!held.on) {
		(void)!write(STDERR_FILENO, line, len);
		return;
	}
	if (held.used + len > sizeof(held.buf))
		log_flush();
	memcpy(held.buf + held.used, line, len);
	held.used += len;
}

void log_init(const char *ident, int level)
{
	log_conf.ident = ident;
	log_conf.level = level;
}

void log_use_syslog(void)
{
	openlog(log_conf.ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	log_conf.syslog = true;
}

int log_level(void)
{
	return log_conf.level;
}

/* Does $JOURNAL_STREAM name the file standard error is? */
static bool stderr_is_journal(void)
{
	const char *env = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char end;

	if (!env || sscanf(env, "%llu:%llu%c", &dev, &ino, &end) != 2)
		return false;
	if (fstat(STDERR_FILENO, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

bool log_use_journal(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX, .sun_path = JOURNAL_SOCKET };
	int fd;

	if (log_conf.syslog || log_conf.journal >= 0 || !stderr_is_journal())
		return log_conf.journal >= 0;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return false;	/* standard error still reaches the journal */
	}
	log_conf.journal = fd;
	return true;
}

/* Append a field to buf at *o; false when it does not fit. */
static bool put_field(char *buf, size_t size, size_t *o, const char *name, const char *value)
{
	size_t nl = strlen(name), vl = strlen(value);
	bool binary = memchr(value, '\n', vl) != NULL;
	size_t need = nl + 1 + (binary ? 8 : 0) + vl + 1;

	if (need > size - *o)
		return false;
	memcpy(buf + *o, name, nl);
	*o += nl;
	if (binary) {
		buf[(*o)++] = '\n';
		for (unsigned i = 0; i < 8; i++)
			buf[(*o)++] = (char)((uint64_t)vl >> (8 * i));
	} else {
		buf[(*o)++] = '=';
	}
	memcpy(buf + *o, value, vl);
	*o += vl;
	buf[(*o)++] = '\n';
	return true;
}

size_t log_journal_format(char *buf, size_t size, int prio, const char *ident, const char *msg,
			  const struct log_field *f, size_t n)
{
	char p[4];
	size_t o = 0;

	snprintf(p, sizeof(p), "%d", prio & 7);
	if (!put_field(buf, size, &o, "MESSAGE", msg) || !put_field(buf, size, &o, "PRIORITY", p) ||
	    !put_field(buf, size, &o, "SYSLOG_IDENTIFIER", ident))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!put_field(buf, size, &o, f[i].name, f[i].value))
			return 0;
	return o;
}

static bool journal_send(int prio, const char *msg, const struct log_field *f, size_t n)
{
	char buf[4096];
	size_t len = log_journal_format(buf, sizeof(buf), prio, log_conf.ident, msg, f, n);

	/* Too long, or the journal went away: standard error remains. */
	if (len == 0)
		return false;
	return send(log_conf.journal, buf, len, MSG_NOSIGNAL) == (ssize_t)len;
}

__attribute__((format(printf, 4, 0)))
static void log_vfields(int prio, const struct log_field *f, size_t n, const char *fmt, va_list ap)
{
	char line[LINE_MAX_LEN];
	int head, len;

	if (log_conf.syslog) {
		vsyslog(prio, fmt, ap);
		return;
	}
	head = snprintf(line, sizeof(line), "%s[%ld]: ", log_conf.ident, (long)log_pid());
	if (head < 0 || (size_t)head >= sizeof(line))
		return;
	vsnprintf(line + head, sizeof(line) - (size_t)head, fmt, ap);
	if (log_conf.journal >= 0 && journal_send(prio, line + head, f, n))
		return;
	/* Whole lines per write so lines from concurrent children never
	 * mix. */
	len = (int)strnlen(line, sizeof(line) - 2);
	line[len++] = '\n';
	put_line(line, (size_t)len);
}

void log_msg(int prio, const char *fmt, ...)
{
	va_list ap;

	if (prio > log_conf.level)
		return;
	va_start(ap, fmt);
	log_vfields(prio, NULL, 0, fmt, ap);
	va_end(ap);
}

void log_fields(int prio, const struct log_field *f, size_t n, const char *fmt, ...)
{
	va_list ap;

	if (prio > log_conf.level)
		return;
	va_start(ap, fmt);
	log_vfields(prio, f, n, fmt, ap);
	va_end(ap);
}

char *log_human_bytes(uint64_t n, char *buf, size_t size)
{
	static const char *const unit[] = { "KiB", "MiB", "GiB", "TiB" };
	double v = (double)n;
	unsigned u = 0;

	if (n < 1024) {
		snprintf(buf, size, "%" PRIu64 " B", n);
		return buf;
	}
	while ((v /= 1024.0) >= 1024.0 && u < 3)
		u++;
	snprintf(buf, size, "%.1f %s", v, unit[u]);
	return buf;
}

/* Escaped length of the first len bytes of s (up to a NUL). */
static size_t escaped_len(const char *s, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len && s[i]; i++) {
		unsigned char c = (unsigned char)s[i];

		n += c >= 0x20 && c < 0x7f && c != '\\' && c != '"' ? 1 : 4;
	}
	return n;
}

char *log_sanitize(const char *s, size_t len, char *out, size_t outsize)
{
	static const char hex[] = "0123456789abcdef";
	/* Keep room for "..." only when the whole text does not fit. */
	size_t limit, o = 0;
	bool cut;

	if (outsize == 0)
		return out;
	cut = escaped_len(s, len) > outsize - 1;
	limit = cut ? (outsize > 4 ? outsize - 4 : 0) : outsize - 1;
	for (size_t i = 0; i < len && s[i]; i++) {
		unsigned char c = (unsigned char)s[i];
		bool plain = c >= 0x20 && c < 0x7f && c != '\\' && c != '"';

		if (o + (plain ? 1 : 4) > limit)
			break;
		if (plain) {
			out[o++] = (char)c;
		} else {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	if (cut && outsize >= 4) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return out;
}
