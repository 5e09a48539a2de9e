/* test_xfer.c - what a transfer shows and reports about itself: the
 * process title and the dispatcher's record (src/xfer.c). */
#include "config.h"

#include <unistd.h>

#include "tap.h"
#include "xfer.h"

static void title(struct transfer *t, const char *want, const char *what)
{
	char buf[256];

	xfer_title(t, buf, sizeof(buf));
	is_str(buf, want, "title: %s", what);
}

static void test_title(void)
{
	struct transfer t;

	memset(&t, 0, sizeof(t));
	strcpy(t.peer, "10.0.0.7:2001");
	strcpy(t.name, "boot.img");
	t.op = OP_RRQ;
	t.size_known = true;
	t.size = 1000;
	title(&t, "10.0.0.7 RRQ boot.img 0%", "start, port left out");
	t.bytes = 455;
	title(&t, "10.0.0.7 RRQ boot.img 45%", "45% rounds down");
	t.bytes = 1000;
	title(&t, "10.0.0.7 RRQ boot.img 100%", "done");
	t.size = 0;
	t.bytes = 0;
	title(&t, "10.0.0.7 RRQ boot.img 0 B", "an empty file: bytes");
	t.size_known = false;
	t.bytes = 3 << 20;
	title(&t, "10.0.0.7 RRQ boot.img 3.0 MiB", "size unknown (netascii): bytes");
	strcpy(t.peer, "[2001:db8::1]:69");
	t.op = OP_WRQ;
	strcpy(t.name, "up/a\\x0ab");
	title(&t, "2001:db8::1 WRQ up/a\\x0ab 3.0 MiB", "IPv6 without brackets, WRQ, the sanitised name");
}

static void test_report(void)
{
	struct transfer t;
	struct xfer_report r;

	memset(&t, 0, sizeof(t));
	t.op = OP_WRQ;
	t.outcome = XO_REFUSED;
	t.error = ERR_NOT_FOUND;
	t.start_us = 1000;
	t.bytes = 12;
	t.retransmits = 3;
	xfer_report(&t, 501000, &r);
	ok(r.op == OP_WRQ && r.outcome == XO_REFUSED && r.error == ERR_NOT_FOUND, "refused: op, outcome, code");
	is_int(r.duration_us, 500000, "duration: until now when the data never completed");
	is_int(r.pid, getpid(), "pid of the process");
	ok(r.bytes == 12 && r.retransmits == 3, "bytes and retransmits");
	t.outcome = XO_ABORTED;
	t.end_us = 2000;
	xfer_report(&t, 501000, &r);
	is_int(r.error, 0, "aborted by the client: no error code of ours");
	is_int(r.duration_us, 1000, "duration: until the data was complete");
	t.outcome = XO_NONE;
	xfer_report(&t, 501000, &r);
	is_int(r.outcome, XO_FAILED, "no outcome is reported as failed");
}

int main(void)
{
	test_title();
	test_report();
	return tap_done();
}
