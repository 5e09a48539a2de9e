/* Unit tests for src/log.c: log_sanitize escaping, truncation and termination;
 * journal entries in the native protocol; byte counts for people. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "tap.h"
#include "log.h"

#define GUARD 0x5a

/*
 * Sanitize len bytes of s into a buffer of outsize bytes followed by guard
 * bytes; returns 1 when the function returned out, wrote a NUL inside
 * outsize and left the guard alone.  The result is copied to res.
 */
static int sanitize(const char *s, size_t len, size_t outsize, char *res, size_t ressize)
{
	char buf[256];
	char *r;
	int good;

	memset(buf, GUARD, sizeof(buf));
	r = log_sanitize(s, len, buf, outsize);
	good = r == buf && memchr(buf, '\0', outsize) != NULL;
	for (size_t i = outsize; i < sizeof(buf); i++)
		good &= buf[i] == GUARD;
	snprintf(res, ressize, "%s", good ? buf : "(bad)");
	return good;
}

static void check(const char *s, size_t len, size_t outsize, const char *want, const char *what)
{
	char res[256];

	ok(sanitize(s, len, outsize, res, sizeof(res)), "%s: returns out, NUL within %zu bytes",
	   what, outsize);
	is_str(res, want, "%s: output", what);
}

#define CHECK(s, want, what) check(s, sizeof(s) - 1, 64, want, what)

static void test_escapes(void)
{
	CHECK("hello.txt", "hello.txt", "plain name");
	CHECK("a b~!#$%&'()*+,-./09:;<=>?@AZ[]^_`az{|}", "a b~!#$%&'()*+,-./09:;<=>?@AZ[]^_`az{|}",
	      "printable ASCII kept");
	CHECK("a\nb", "a\\x0ab", "newline escaped");
	CHECK("\r\t\x1b[0m", "\\x0d\\x09\\x1b[0m", "CR, TAB and ESC escaped");
	CHECK("back\\slash", "back\\x5cslash", "backslash escaped");
	CHECK("say \"hi\"", "say \\x22hi\\x22", "double quote escaped");
	CHECK("\x7f\x80\xff", "\\x7f\\x80\\xff", "DEL and high bytes escaped");
	CHECK("caf\xc3\xa9", "caf\\xc3\\xa9", "UTF-8 escaped byte by byte");
	CHECK("ab\0cd", "ab", "stops at an embedded NUL");
	CHECK("", "", "empty input");
	check("abcdef", 3, 64, "abc", "len 3 of \"abcdef\"");
	check("abc", 0, 64, "", "len 0");
}

/* Every byte value 1..255 alone: kept when printable and not \ or ". */
static void test_every_byte(void)
{
	int bad = 0;

	for (int c = 1; c < 256; c++) {
		char in[2] = { (char)c, 0 }, want[8], res[64];
		int plain = c >= 0x20 && c < 0x7f && c != '\\' && c != '"';

		if (plain)
			snprintf(want, sizeof(want), "%c", c);
		else
			snprintf(want, sizeof(want), "\\x%02x", c);
		if (!sanitize(in, 1, 64, res, sizeof(res)) || strcmp(res, want) != 0) {
			printf("#   byte %#x gave \"%s\", want \"%s\"\n", c, res, want);
			bad++;
		}
	}
	is_int(bad, 0, "each byte 1..255 kept or escaped as \\xNN");
}

/* outsize 0: nothing written at all. */
static void test_size_zero(void)
{
	char buf[4] = { GUARD, GUARD, GUARD, GUARD };

	ok(log_sanitize("abc", 3, buf, 0) == buf, "outsize 0: returns out");
	ok(buf[0] == GUARD, "outsize 0: nothing written");
}

/*
 * Model of the truncated output for an input too long for out: the longest
 * prefix of whole escaped characters that leaves room for "..." and the NUL,
 * then "..."; nothing when even "..." does not fit.
 */
static void truncated(const char *s, size_t outsize, char *want)
{
	char tok[8];
	size_t o = 0;

	want[0] = '\0';
	if (outsize < 4)
		return;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c >= 0x20 && c < 0x7f && c != '\\' && c != '"')
			snprintf(tok, sizeof(tok), "%c", c);
		else
			snprintf(tok, sizeof(tok), "\\x%02x", c);
		if (o + strlen(tok) + 4 > outsize)
			break;
		memcpy(want + o, tok, strlen(tok));
		o += strlen(tok);
	}
	memcpy(want + o, "...", 4);
}

static void test_truncation(void)
{
	static const char *const inputs[] = {
		"abcdefghijklmnopqrstuvwxyz0123456789",
		"a\nbc\"d\\e\x01" "fghijklmnopqrstuvwxyz",
		"\n\n\n\n\n\n\n\n\n\n",
	};

	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		int bad = 0;

		for (size_t size = 1; size <= 20; size++) {
			char want[32], res[64];

			truncated(inputs[i], size, want);
			if (!sanitize(inputs[i], strlen(inputs[i]), size, res, sizeof(res)) ||
			    strcmp(res, want) != 0 || strlen(res) >= size) {
				printf("#   size %zu: got \"%s\", want \"%s\"\n", size, res, want);
				bad++;
			}
		}
		is_int(bad, 0, "long input %zu truncated with \"...\" at every size 1..20", i);
	}
	check("abcdefgh", 8, 8, "abcd...", "\"abcdefgh\" in 8 bytes");
	check("ab\ncdefgh", 9, 9, "ab...", "an escape that does not fit is not split");
}

/* An output that fits exactly is not truncated. */
static void test_exact_fit(void)
{
	check("abc", 3, 4, "abc", "\"abc\" in 4 bytes");
	check("ab\n", 3, 7, "ab\\x0a", "\"ab\\n\" in 7 bytes");
	check("abcde", 5, 7, "abcde", "\"abcde\" in 7 bytes");
}

/* The journal entry of a transfer line, field by field. */
static void test_journal_plain(void)
{
	static const struct log_field f[] = {
		{ "TFTP_PEER", "127.0.0.1:5000" }, { "TFTP_FILE", "boot.img" }, { "TFTP_OUTCOME", "complete" },
	};
	static const char want[] =
		"MESSAGE=peer=127.0.0.1:5000 done\n"
		"PRIORITY=5\n"
		"SYSLOG_IDENTIFIER=snow-owld\n"
		"TFTP_PEER=127.0.0.1:5000\n"
		"TFTP_FILE=boot.img\n"
		"TFTP_OUTCOME=complete\n";
	static const char info[] = "MESSAGE=m\nPRIORITY=6\nSYSLOG_IDENTIFIER=x\n";
	char buf[512];
	size_t n = log_journal_format(buf, sizeof(buf), LOG_NOTICE, "snow-owld", "peer=127.0.0.1:5000 done", f, 3);

	is_mem(buf, n, want, sizeof(want) - 1, "journal: NAME=value lines, MESSAGE, PRIORITY, identifier first");
	n = log_journal_format(buf, sizeof(buf), LOG_INFO, "x", "m", NULL, 0);
	is_mem(buf, n, info, sizeof(info) - 1, "journal: no fields, info is 6");
}

/* A value with a newline takes the binary form: NAME\n, le64 length, value, \n. */
static void test_journal_binary(void)
{
	static const struct log_field f[] = { { "TFTP_DETAIL", "a\nb" } };
	static const char want[] =
		"MESSAGE=two\nlines\n"
		"PRIORITY=3\n"
		"SYSLOG_IDENTIFIER=d\n"
		"TFTP_DETAIL\n\x03\0\0\0\0\0\0\0a\nb\n";
	char buf[256];
	size_t n = log_journal_format(buf, sizeof(buf), LOG_ERR, "d", "two\nlines", f, 1);
	char head[] = "MESSAGE\n\x09\0\0\0\0\0\0\0two\nlines\n";

	is_mem(buf, 26, head, 26, "journal: a message with a newline is binary, length 9");
	is_mem(buf + 26, n - 26, want + 18, sizeof(want) - 1 - 18, "journal: binary field after plain ones");
}

static void test_journal_too_small(void)
{
	static const struct log_field f[] = { { "TFTP_FILE", "0123456789" } };
	char buf[64];
	size_t full = log_journal_format(buf, sizeof(buf), LOG_NOTICE, "d", "m", f, 1);

	is_int(full, 62, "journal: 62 bytes in all");
	is_int(log_journal_format(buf, 61, LOG_NOTICE, "d", "m", f, 1), 0, "journal: one byte short is 0");
	is_int(log_journal_format(buf, 62, LOG_NOTICE, "d", "m", f, 1), 62, "journal: an exact fit");
	is_int(log_journal_format(buf, 0, LOG_NOTICE, "d", "m", f, 1), 0, "journal: size 0 is 0");
}

static void test_human_bytes(void)
{
	char b[24];

	is_str(log_human_bytes(0, b, sizeof(b)), "0 B", "0 bytes");
	is_str(log_human_bytes(1023, b, sizeof(b)), "1023 B", "1023 bytes");
	is_str(log_human_bytes(1024, b, sizeof(b)), "1.0 KiB", "1 KiB");
	is_str(log_human_bytes(1536 * 1024, b, sizeof(b)), "1.5 MiB", "1.5 MiB");
	is_str(log_human_bytes(5ull << 40, b, sizeof(b)), "5.0 TiB", "5 TiB");
	is_str(log_human_bytes(5ull << 50, b, sizeof(b)), "5120.0 TiB", "past TiB stays in TiB");
}

int main(void)
{
	test_journal_plain();
	test_journal_binary();
	test_journal_too_small();
	test_human_bytes();
	test_escapes();
	test_every_byte();
	test_size_zero();
	test_truncation();
	test_exact_fit();
	return tap_done();
}
