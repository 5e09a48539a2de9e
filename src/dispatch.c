/*
 * dispatch.c - the dispatcher's main loop: it polls the listeners, the
 * signals, the transfer children's reports and the workers' control
 * sockets, and ties together the modules under it:
 *
 *   listener.c   listening sockets, reading requests in batches
 *   admission.c  which requests start a transfer, and when (the queue)
 *   pool.c       pre-forked workers (--workers) and the hand-off to them
 *   child.c      the transfer socket, the sandbox entry, a forked child
 *                per transfer (--workers 0)
 *
 * Each includes only the headers of those below it; this file holds what
 * belongs to none of them: signals (SIGTERM drains, SIGHUP reopens the
 * roots), reaping, STATUS= and the process title, the reports of forked
 * children and --metrics, and the idle exit of the systemd/inetd modes.
 *
 * The dispatcher stays root (when started as root) because every child
 * needs chroot and setuid/setgid to enter its sandbox; it touches no
 * untrusted data beyond the two-byte opcode and the packet addresses.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "admission.h"
#include "child.h"
#include "counters.h"
#include "listener.h"
#include "log.h"
#include "metrics.h"
#include "peers.h"
#include "pool.h"
#include "replypath.h"
#include "report.h"
#include "server.h"
#include "xfer.h"

#define STATUS_INTERVAL_US 1000000ull
/* How long workers get to exit once told to (at the end, or when the
 * drain timeout cuts their transfers) before they are killed. */
#define DRAIN_GRACE_US 500000ull
#define REPORTS_PER_ROUND 256	/* then the listeners get their turn */

struct dispatcher {
	const struct server_conf *conf;
	/* Listeners, the signalfd at [nfd], the report socket at [nfd + 1],
	 * the workers' control sockets from [nfd + 2]; nfd is lis.nfd. */
	struct pollfd pfd[SERVER_LISTEN_MAX + 2 + POOL_SLOTS];
	bool stopping;
	int sigfd;
	unsigned shown_active;		/* the count in the process title */
	struct peers *live;		/* transfers, by peer and pid (or id in a worker) */
	uint64_t status_us;
	uint64_t metrics_us;		/* next --metrics write */
	bool metrics_failing;		/* the last write failed (logged once) */
	char metrics_text[METRICS_TEXT_MAX];
	struct counters count;
	struct children ch;
	struct pool pool;
	struct admission adm;
	struct listener lis;
};

/* ---- Signals and status ------------------------------------------------ */

static void reap(struct dispatcher *d, uint64_t now)
{
	struct replypath rp;
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		int w = d->conf->workers ? pool_worker_of(&d->pool, pid) : -1;

		if (w >= 0) {
			pool_lost(&d->pool, w, status, now);
			continue;
		}
		if (d->conf->workers || !peers_remove_pid(d->live, pid))
			continue;
		/* A child that was killed told its client nothing. */
		if (replypaths_take(&d->ch.paths, pid, &rp) && WIFSIGNALED(status))
			child_abort_orphan(&d->ch, &rp.local, &rp.peer);
		/* Status 0: the child's report counts it (read_reports). */
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			d->count.failed++;
			d->count.metrics.lost++;
		}
		if (WIFSIGNALED(status))
			log_warn("transfer %ld killed by signal %d", (long)pid, WTERMSIG(status));
		d->count.last_activity_us = now;
		d->count.status_dirty = true;
	}
}

static void reopen_dir(const char *dir, int *fdp)
{
	int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0) {
		log_err("reload: cannot open %s: %m; keeping the old root", dir);
		return;
	}
	close(*fdp);
	*fdp = fd;
}

static void reload(struct dispatcher *d, uint64_t now)
{
	reopen_dir(d->conf->root, &d->ch.rootfd);
	for (unsigned i = 0; i < d->conf->nroots; i++)
		reopen_dir(d->conf->roots[i].dir, &d->ch.client_rootfd[i]);
	log_notice("reloaded: root %s reopened", d->conf->root);
	if (d->conf->workers)
		pool_retire(&d->pool, now);
}

/* -P: the pid of the dispatcher, once it has detached. */
static int write_pid_file(const char *path)
{
	FILE *f = fopen(path, "we");

	if (!f || fprintf(f, "%ld\n", (long)getpid()) < 0 || fclose(f) != 0) {
		log_err("cannot write the pid file %s: %m", path);
		return -1;
	}
	return 0;
}

/* systemctl status and ps show the same line. */
static void notify_status(struct dispatcher *d, uint64_t now, bool force)
{
	char status[256], sent[24], received[24];
	bool force_title = false;

	if (!d->count.status_dirty)
		return;
	/* The title follows the number of transfers at once; the status
	 * line for systemd at most once a second. */
	if (!force && now - d->status_us < STATUS_INTERVAL_US) {
		if (peers_count(d->live) != d->shown_active)
			force_title = true;
		else
			return;
	}
	snprintf(status, sizeof(status),
		 "%u active, %u queued, %llu served, %llu failed (%llu not found), %llu dropped (busy),"
		 " %llu lost (buffer full), %s sent, %s received",
		 peers_count(d->live), peers_count(d->adm.queued), (unsigned long long)d->count.served,
		 (unsigned long long)d->count.failed, (unsigned long long)metrics_not_found(&d->count.metrics),
		 (unsigned long long)d->count.dropped_busy, (unsigned long long)d->count.overflowed,
		 log_human_bytes(d->count.metrics.bytes[0], sent, sizeof(sent)),
		 log_human_bytes(d->count.metrics.bytes[1], received, sizeof(received)));
	setproctitle("%s", status);
	d->shown_active = peers_count(d->live);
	if (force_title)
		return;	/* still dirty: STATUS= follows within the second */
	sd_notifyf(0, "STATUS=%s", status);
	d->status_us = now;
	d->count.status_dirty = false;
}

/* ---- Reports and metrics ------------------------------------------------ */

/*
 * The socket transfer children report on (report.h).  A full socket
 * makes a child wait at most a second: it has nothing else left to do,
 * and the dispatcher drains the socket every round.
 */
static int open_reports(struct dispatcher *d)
{
	int sv[2], size = 1 << 20;
	struct timeval tv = { 1, 0 };

	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) < 0) {
		log_err("socketpair: %m");
		return -1;
	}
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	setsockopt(sv[1], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (setsockopt(sv[1], SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	d->ch.report_rd = sv[0];
	d->ch.report_wr = sv[1];
	return 0;
}

/* Returns how many datagrams were read: REPORTS_PER_ROUND when more may wait. */
static int read_reports(struct dispatcher *d)
{
	uint8_t buf[REPORT_SIZE + 1];	/* one more, to see an oversized one */
	struct xfer_report r;
	int i;

	for (i = 0; i < REPORTS_PER_ROUND; i++) {
		ssize_t n = recv(d->ch.report_rd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n < 0)
			break;	/* EAGAIN: drained */
		if (report_decode(buf, (size_t)n, &r) < 0) {
			log_warn("ignored a malformed transfer report (%zd bytes)", n);
			continue;
		}
		metrics_account(&d->count.metrics, &r);
		if (r.outcome == XO_COMPLETE || r.outcome == XO_PROBE)
			d->count.served++;
		else
			d->count.failed++;
		d->count.status_dirty = true;
	}
	return i;
}

/* Every --metrics-interval seconds and at exit; a failure is logged when
 * it starts and when it ends, not every time. */
static void write_metrics(struct dispatcher *d, uint64_t now)
{
	const struct server_conf *c = d->conf;
	struct metrics_gauges g = {
		.active = peers_count(d->live), .queued = peers_count(d->adm.queued),
		.stalled = d->count.stalled,
		.dropped_busy = d->count.dropped_busy, .overflowed = d->count.overflowed,
		.rescued = d->count.rescued, .version = PACKAGE_VERSION, .root = c->root,
	};
	int len, r;

	if (!c->metrics_path)
		return;
	d->metrics_us = now + c->metrics_interval_s * 1000000ull;
	len = metrics_render(&d->count.metrics, &g, d->metrics_text, sizeof(d->metrics_text));
	r = len < 0 ? len : metrics_write(c->metrics_path, d->metrics_text, (size_t)len);
	if (r < 0 && !d->metrics_failing)
		log_warn("cannot write %s: %s", c->metrics_path, strerror(-r));
	else if (r == 0 && d->metrics_failing)
		log_notice("%s written again", c->metrics_path);
	d->metrics_failing = r < 0;
}

static void stop_listening(struct dispatcher *d)
{
	listener_close(&d->lis);
	d->stopping = true;
	d->pool.stopping = true;
	sd_notify(0, "STOPPING=1");
}

static void kill_child(pid_t pid, void *arg)
{
	kill(pid, *(int *)arg);
}

/* Signal every worker and transfer child. */
static void signal_all(struct dispatcher *d, int sig)
{
	if (!d->conf->workers) {
		peers_each_pid(d->live, kill_child, &sig);
		return;
	}
	pool_signal(&d->pool, sig);
}

/* Workers and transfer children not yet reaped. */
static unsigned processes_left(const struct dispatcher *d)
{
	if (!d->conf->workers)
		return peers_count(d->live);
	return pool_processes(&d->pool);
}

/*
 * Reap every worker and transfer child, waiting for them until until_us;
 * then kill those left and reap them too, so that the server leaves no
 * process behind.  The clients of those killed are told (reap()).
 */
static void reap_all(struct dispatcher *d, uint64_t until_us)
{
	bool killed = false;

	for (;;) {
		struct signalfd_siginfo si;
		struct pollfd p = { .fd = d->sigfd, .events = POLLIN };
		uint64_t now = xfer_now_us();

		reap(d, now);
		if (!processes_left(d))
			return;
		if (now >= until_us) {
			if (killed) {
				log_err("%u processes still running after SIGKILL", processes_left(d));
				return;
			}
			log_warn("ending %u processes that are still running", processes_left(d));
			d->ch.cut = true;
			signal_all(d, SIGKILL);
			killed = true;
			until_us = now + 5000000;
			continue;
		}
		poll(&p, 1, (int)((until_us - now + 999) / 1000));
		while (read(d->sigfd, &si, sizeof(si)) == sizeof(si))
			;	/* SIGCHLD; a repeated SIGTERM changes nothing now */
	}
}

/* Milliseconds poll() may sleep: forever unless a timer is due. */
static int poll_timeout(const struct dispatcher *d, uint64_t now, uint64_t stop_deadline)
{
	uint64_t next = UINT64_MAX;

	if (d->count.status_dirty)
		next = d->status_us + STATUS_INTERVAL_US;
	if (d->adm.q_len) {
		uint64_t turn = admission_deadline(&d->adm, now);	/* under --pace */

		next = now + 100000;	/* age out queued requests */
		if (turn < next)
			next = turn;
	}
	if (d->pool.respawn_us && !d->stopping && d->pool.respawn_us < next)
		next = d->pool.respawn_us;
	if (d->conf->metrics_path && d->metrics_us < next)
		next = d->metrics_us;
	if (d->stopping && stop_deadline < next)
		next = stop_deadline;
	if (!d->stopping && d->conf->mode != SERVER_STANDALONE && d->conf->idle_timeout_s) {
		uint64_t idle = d->count.last_activity_us + d->conf->idle_timeout_s * 1000000ull;

		if (idle < next)
			next = idle;
	}
	if (next == UINT64_MAX)
		return -1;
	return next <= now ? 0 : (int)((next - now + 999) / 1000);
}

int dispatch_run(const struct server_conf *c)
{
	struct dispatcher *d = calloc(1, sizeof(*d));
	uint64_t now, stop_deadline = UINT64_MAX;
	int sigfd;
	sigset_t mask;

	if (!d)
		return 1;
	d->conf = c;
	d->live = peers_new(c->max_transfers);
	if (!d->live || admission_init(&d->adm, c, &d->count, &d->pool, &d->ch, d->live) < 0 ||
	    child_init(&d->ch, c, &d->count, d->live) < 0)
		return 1;
	listener_init(&d->lis, c, &d->count, &d->adm, d->pfd);
	if (pool_init(&d->pool, c, &d->count, &d->ch, d->live) < 0 || listener_open(&d->lis) < 0 ||
	    open_reports(d) < 0)
		return 1;
	if (c->daemonize && daemon(0, 0) < 0) {
		log_err("daemon: %m");
		return 1;
	}
	if (c->pid_file && write_pid_file(c->pid_file) < 0)
		return 1;

	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, &d->ch.oldmask);
	sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sigfd < 0) {
		log_err("signalfd: %m");
		return 1;
	}
	d->sigfd = sigfd;
	d->pfd[d->lis.nfd].fd = sigfd;
	d->pfd[d->lis.nfd].events = POLLIN;
	d->pfd[d->lis.nfd + 1].fd = d->ch.report_rd;
	d->pfd[d->lis.nfd + 1].events = POLLIN;
	pool_watch(&d->pool, &d->pfd[d->lis.nfd + 2]);
	d->ch.polled = d->pfd;
	d->ch.npolled = d->lis.nfd + 2 + POOL_SLOTS;

	now = xfer_now_us();
	pool_fill(&d->pool, now);
	d->count.last_activity_us = now;
	for (int i = 0; i < d->lis.nfd; i++) {
		union sockaddr_any a;
		socklen_t len = sizeof(a);
		char buf[ADDR_STR_MAX];

		getsockname(d->pfd[i].fd, &a.sa, &len);
		log_notice("listening on %s, serving %s", addr_format(&a.sa, buf, sizeof(buf)), c->root);
	}
	d->count.status_dirty = true;
	write_metrics(d, now);
	sd_notify(0, "READY=1");

	for (;;) {
		int timeout;

		/* The handoffs of the last pass, in one message a worker. */
		if (c->workers)
			pool_flush(&d->pool);
		timeout = poll_timeout(d, xfer_now_us(), stop_deadline);

		if (poll(d->pfd, (nfds_t)(d->lis.nfd + 2 + (c->workers ? pool_polled(&d->pool) : 0)), timeout) < 0 &&
		    errno != EINTR) {
			log_err("poll: %m");
			break;
		}
		now = xfer_now_us();
		if (d->pfd[d->lis.nfd + 1].revents & POLLIN)
			read_reports(d);
		if (d->pfd[d->lis.nfd].revents & POLLIN) {
			struct signalfd_siginfo si;

			while (read(sigfd, &si, sizeof(si)) == sizeof(si)) {
				if ((si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) && !d->stopping) {
					log_notice("stopping: %u transfers may finish within %u s",
						   peers_count(d->live), c->drain_timeout_s);
					stop_listening(d);
					stop_deadline = now + c->drain_timeout_s * 1000000ull;
				} else if (si.ssi_signo == SIGHUP) {
					reload(d, now);
				}
			}
			reap(d, now);
			if (d->adm.q_len && !d->stopping)
				admission_run_queue(&d->adm, now);
		}
		if (c->workers)
			pool_read(&d->pool, now);
		if (c->workers && !d->stopping && d->pool.respawn_us && now >= d->pool.respawn_us) {
			d->pool.respawn_us = 0;
			pool_fill(&d->pool, now);
		}
		for (int i = 0; i < d->lis.nfd; i++)
			if (d->pfd[i].fd >= 0 && (d->pfd[i].revents & POLLIN))
				listener_receive(&d->lis, i, now);
		if (d->adm.q_len && !d->stopping)
			admission_run_queue(&d->adm, now);
		if (d->ch.nstrays && !d->stopping)
			admission_strays(&d->adm, now);
		notify_status(d, now, false);
		if (c->metrics_path && now >= d->metrics_us)
			write_metrics(d, now);

		if (d->stopping) {
			if (peers_count(d->live) == 0)
				break;
			if (now >= stop_deadline) {
				log_warn("drain timeout: ending %u transfers", peers_count(d->live));
				/* Workers tell their clients themselves; killed
				 * children's clients hear it from reap(). */
				d->ch.cut = true;
				if (c->workers)
					pool_close(&d->pool);
				else
					signal_all(d, SIGKILL);
				reap_all(d, now + DRAIN_GRACE_US);
				break;
			}
		} else if (c->mode != SERVER_STANDALONE && c->idle_timeout_s && peers_count(d->live) == 0 &&
			   d->adm.q_len == 0 && now - d->count.last_activity_us >= c->idle_timeout_s * 1000000ull) {
			log_info("idle for %u s, exiting", c->idle_timeout_s);
			sd_notify(0, "STOPPING=1");
			break;
		}
	}
	/* The last children's reports may still be queued. */
	while (read_reports(d) == REPORTS_PER_ROUND)
		;
	/* Idle workers exit when their control socket closes. */
	d->stopping = true;
	d->pool.stopping = true;
	pool_close(&d->pool);
	reap_all(d, xfer_now_us() + DRAIN_GRACE_US);
	while (read_reports(d) == REPORTS_PER_ROUND)
		;
	d->count.status_dirty = true;
	notify_status(d, now, true);
	write_metrics(d, now);
	if (c->pid_file)
		unlink(c->pid_file);
	return 0;
}
