/*
 * log.h - one logging macro family for daemon and children.
 *
 * Strings that come from clients must pass through log_sanitize() first.
 */
#ifndef SNOW_OWL_LOG_H
#define SNOW_OWL_LOG_H

#include <stddef.h>
#include <syslog.h>

/* Set once at start-up: minimum priority logged and the program name. */
void log_init(const char *ident, int level);
/* Send log lines to syslog instead of standard error (inetd mode, where
 * standard error is the client socket or /dev/null). */
void log_use_syslog(void);
int log_level(void);

void log_msg(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

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

#endif
