/*
 * server.c - the daemon's settings: their defaults, what "auto" comes to
 * on this machine, and which root serves a client.  Read by start-up and
 * by every module of the dispatcher; it depends on none of them.
 */
#include "config.h"

#include <sched.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "server.h"

unsigned server_default_workers(void)
{
	cpu_set_t set;
	int n = 1;

	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		n = CPU_COUNT(&set);
	return n < 1 ? 1 : n > SERVER_WORKERS_MAX ? SERVER_WORKERS_MAX : (unsigned)n;
}

/* RLIMIT_NOFILE raised as far as we may; returns the hard limit (at most
 * 2^20), or 0 when it cannot be read. */
static uint64_t raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 0;
	/* Started as root (CAP_SYS_RESOURCE) the limit is ours to raise, as
	 * the unit's LimitNOFILE= does: room for the most transfers auto
	 * allows in one worker. */
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < SERVER_NOFILE_WANT) {
		struct rlimit want = { SERVER_NOFILE_WANT, SERVER_NOFILE_WANT };

		if (setrlimit(RLIMIT_NOFILE, &want) == 0)
			rl = want;
	}
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	return rl.rlim_max == RLIM_INFINITY || rl.rlim_max > (1u << 20) ? 1u << 20 : rl.rlim_max;
}

unsigned server_extra_workers(unsigned workers)
{
	uint64_t hard = raise_nofile();
	unsigned cap, want;

	if (!hard || !workers)
		return 0;
	cap = server_worker_capacity((unsigned)hard);
	want = (SERVER_TRANSFERS_MAX_AUTO + cap - 1) / cap;
	if (want > 4 * workers)
		want = 4 * workers;
	if (want > SERVER_WORKERS_MAX)
		want = SERVER_WORKERS_MAX;
	return want > workers ? want - workers : 0;
}

unsigned server_default_transfers(unsigned workers)
{
	uint64_t hard = raise_nofile(), n;

	if (!hard)
		return 1024;
	if (!workers)
		n = hard > 128 ? (hard - 64) / 2 : 32;
	else
		n = (uint64_t)server_worker_capacity((unsigned)hard) * workers;
	if (n > (workers ? SERVER_TRANSFERS_MAX_AUTO : 1024))
		n = workers ? SERVER_TRANSFERS_MAX_AUTO : 1024;
	return n < 32 ? 32 : (unsigned)n;
}

void server_conf_init(struct server_conf *c)
{
	memset(c, 0, sizeof(*c));
	xfer_conf_init(&c->xfer);
	c->mode = SERVER_STANDALONE;
	c->rootfd = -1;
	c->user = "nobody";
	c->family = AF_UNSPEC;
	c->batch = 32;
	c->rcvbuf = 32 << 20;	/* a boot storm's requests, some 800 bytes each in the kernel */
	c->max_transfers = SERVER_TRANSFERS_AUTO;
	c->max_per_client = 0;	/* as tftpd-hpa: clients behind NAT share an address */
	/* A waiting request costs little; a boot storm's must all fit. */
	c->queue_max = 65536;
	/* A boot storm is served in the order it asked: a worker's sockets
	 * and transfers stay in the processor's caches, and half the clients
	 * are done in half the time.  No request waits longer than half a
	 * second, well within any client's first retry. */
	c->pace = 256;
	c->pace_wait_ms = 500;
	/* 1024 transfers at 256 KiB (blksize 4096 x windowsize 64). */
	c->transfer_memory = 256ull << 20;
	/* An eighth: a host that opens many transfers at the largest window
	 * leaves the rest for the others, and 254 boot ROMs behind one NAT
	 * address (a few KiB of window each) still fit with room to spare. */
	c->client_memory = 32ull << 20;
	/* A request costs a network at most 3 x 544 bytes (IPv4): the burst
	 * is some 10,000 requests at once, twice the first ones of a full /24
	 * booting (254 clients, each probing a score of names), and a flood
	 * from a forged source is held to 1 MiB/s per victim network. */
	c->unverified_rate = 1ull << 20;
	c->unverified_burst = 16ull << 20;
	c->idle_timeout_s = 900;
	c->drain_timeout_s = 30;
	c->workers = SERVER_WORKERS_AUTO;
	c->metrics_interval_s = 5;
}

void server_share_memory(struct server_conf *c)
{
	if (c->workers) {
		/* A client's transfers are spread over the workers, those
		 * started while the others are full too. */
		unsigned n = c->workers + c->workers_extra;

		c->xfer.mem_budget = c->transfer_memory / n;
		c->xfer.mem_client_cap = c->client_memory / n;
		c->xfer.mem_clients = c->max_transfers;
	} else {
		/* A child per transfer cannot share: each gets an equal part. */
		c->xfer.mem_budget = c->transfer_memory / (c->max_transfers ? c->max_transfers : 1);
		c->xfer.mem_client_cap = 0;
	}
}

int server_root_pick(const struct server_conf *c, const struct sockaddr *peer)
{
	int best = -1;

	for (unsigned i = 0; i < c->nroots; i++)
		if (addr_net_contains(&c->roots[i].net, peer) &&
		    (best < 0 || c->roots[i].net.prefix > c->roots[best].net.prefix))
			best = (int)i;
	return best;
}
