/*
 * log.c - logging to stderr with a priority filter.
 */
#include "config.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

/* Written once by log_init() before any child exists; read-only after. */
static struct {
	const char *ident;
	int level;
	bool syslog;
} log_conf = { "snow-owl", LOG_NOTICE, false };

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

void log_msg(int prio, const char *fmt, ...)
{
	char line[1024];
	int n;
	va_list ap;

	if (prio > log_conf.level)
		return;
	if (log_conf.syslog) {
		va_start(ap, fmt);
		vsyslog(prio, fmt, ap);
		va_end(ap);
		return;
	}
	n = snprintf(line, sizeof(line), "%s[%ld]: ", log_conf.ident, (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	/* One write per line so lines from concurrent children never mix. */
	n = (int)strnlen(line, sizeof(line) - 2);
	line[n++] = '\n';
	(void)!write(STDERR_FILENO, line, (size_t)n);
}

char *log_sanitize(const char *s, size_t len, char *out, size_t outsize)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	if (outsize == 0)
		return out;
	for (size_t i = 0; i < len && s[i]; i++) {
		unsigned char c = (unsigned char)s[i];
		int plain = c >= 0x20 && c < 0x7f && c != '\\' && c != '"';
		size_t need = plain ? 1 : 4;

		if (o + need + 4 > outsize) {	/* room for "..." and NUL */
			if (o + 4 <= outsize)
				memcpy(out + o, "...", 3), o += 3;
			break;
		}
		if (plain) {
			out[o++] = (char)c;
		} else {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
	return out;
}
