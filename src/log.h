/*
 * log.h - one logging macro family for daemon and children: standard
 * error, syslog, or the systemd journal with structured fields.
 *
 * Strings that come from clients must pass through log_sanitize() first.
 */
#ifndef SNOW_OWL_LOG_H
#define SNOW_OWL_LOG_H

#include <stdbool.h>
#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>
#include <syslog.h>

/* Set once at start-up: minimum priority logged and the program name. */
void log_init(const char *ident, int level);
/* Send log lines to syslog instead of standard error (inetd mode, where
 * standard error is the client socket or /dev/null). */
void log_use_syslog(void);
/*
 * When standard error is the journal's stream ($JOURNAL_STREAM holds its
 * device and inode, as systemd.exec(5) describes), log to the journal's
 * native socket from now on, with structured fields.  The socket is
 * connected here, once, before any chroot or seccomp filter: transfer
 * children inherit it and only send() on it.  Returns true when logging
 * to the journal.
 */
bool log_use_journal(void);
int log_level(void);

/* getpid(), made once per process (a forked child makes its own). */
pid_t log_pid(void);

/*
 * Lines to standard error wait in a buffer until log_flush(), which a
 * worker calls before it waits: one write for all the lines of a pass
 * instead of one each.  Whole lines only, at most PIPE_BUF bytes a
 * write, so lines from concurrent processes still never mix.
 */
void log_hold(void);
void log_flush(void);

/* A journal field: NAME (upper case letters, digits, '_') and value. */
struct log_field {
	const char *name;
	const char *value;
};

void log_msg(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same, plus fields that only the journal keeps. */
void log_fields(int prio, const struct log_field *f, size_t n, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/*
 * One journal entry in the native protocol: NAME=value lines, or for a
 * value holding a newline NAME, newline, its length (64 bits, little
 * endian), the value and a newline.  MESSAGE, PRIORITY and
 * SYSLOG_IDENTIFIER come first, then the n fields.  Returns the length
 * written to buf, or 0 when it does not fit in size.
 */
size_t log_journal_format(char *buf, size_t size, int prio, const char *ident, const char *msg,
			  const struct log_field *f, size_t n);

#define log_err(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/*
 * Copy at most len bytes of s into out (size outsize, NUL-terminated),
 * replacing non-printable bytes, backslashes and quotes by \xNN escapes
 * and truncating with "..." when out is too small.  Returns out.
 */
char *log_sanitize(const char *s, size_t len, char *out, size_t outsize);

/* "512 B", "1.5 MiB": a byte count for people.  Returns buf. */
char *log_human_bytes(uint64_t n, char *buf, size_t size);

#endif
