/*
 * snow-owld.c - command line of the TFTP server.
 *
 * The flags are tftpd-hpa's where they exist, so an existing
 * in.tftpd command line keeps working.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <systemd/sd-daemon.h>
#include <linux/capability.h>

#include "log.h"
#include "path.h"
#include "remap.h"
#include "reuseport.h"
#include "settings.h"

static const char usage_text[] =
	"usage: snow-owld [-L|-l] [-a ADDR[:PORT]]... [-46cpsv] [-u USER] [-U UMASK]\n"
	"                 [-B MAX_BLKSIZE] [-T USEC] [-t SECONDS] [-R LOW:HIGH]\n"
	"                 [-r OPTION]... [-m FILE] [-P FILE] [--config FILE] [options] [ROOT]\n"
	"Without -L or -l the sockets come from systemd (socket activation) or\n"
	"from inetd/xinetd (fd 0, wait mode), whichever started the server.\n"
	"Every option is also a key of the configuration file; a yes/no option\n"
	"takes --NAME or --NAME=no; --print-config shows the defaults.\n";

static void usage(int status)
{
	FILE *f = status ? stderr : stdout;

	fputs(usage_text, f);
	settings_usage(f);
	exit(status);
}

/*
 * Descriptors inherited from whoever started the daemon (a shell's log
 * file, a pipe) would reach every sandboxed child and worker, outside
 * their chroot: keep only 0-2 and the sockets systemd passed.
 */
static void close_inherited(void)
{
	int n = sd_listen_fds(0);
	unsigned first = SD_LISTEN_FDS_START + (n > 0 ? (unsigned)n : 0);

	if (close_range(first, ~0u, 0) < 0) {
		/* Before Linux 5.9. */
		long max = sysconf(_SC_OPEN_MAX);

		for (long fd = first; fd < (max > 0 ? max : 1024); fd++)
			close((int)fd);
	}
}

/*
 * No -L/-l: take the sockets systemd passed, or the one inetd put on fd 0.
 * Returns 0, or -1 when there are none.
 */
static int inherit_sockets(struct server_conf *c)
{
	int n = sd_listen_fds(1);

	if (n > 0) {
		if (n > SERVER_LISTEN_MAX) {
			fprintf(stderr, "snow-owld: at most %d sockets from systemd\n", SERVER_LISTEN_MAX);
			exit(1);
		}
		for (int i = 0; i < n; i++) {
			int fd = SD_LISTEN_FDS_START + i;

			if (sd_is_socket(fd, AF_UNSPEC, SOCK_DGRAM, -1) <= 0) {
				fprintf(stderr, "snow-owld: systemd fd %d is not a datagram socket\n", fd);
				exit(1);
			}
			c->inherited[c->ninherited++] = fd;
		}
		c->mode = SERVER_SYSTEMD;
		return 0;
	}
	if (sd_is_socket(STDIN_FILENO, AF_UNSPEC, SOCK_DGRAM, -1) > 0) {
		/* inetd puts the socket on 0, 1 and 2: move it away so that
		 * nothing is ever written to a client by accident. */
		int fd = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3);
		int null = open("/dev/null", O_RDWR);
		char why[400];

		/* --single-port cannot work on this socket (reuseport.h): say
		 * so on the standard error the launcher gave, unless that is
		 * the socket itself, before it goes (the log has it too). */
		if (c->single_port && sd_is_socket(STDERR_FILENO, AF_UNSPEC, 0, -1) <= 0 &&
		    reuseport_check_inherited(STDIN_FILENO, true, why, sizeof(why)) < 0)
			fprintf(stderr, "snow-owld: %s\n", why);

		if (fd < 0 || null < 0)
			return -1;
		for (int i = 0; i < 3; i++)
			dup2(null, i);
		if (null > 2)
			close(null);
		c->inherited[c->ninherited++] = fd;
		c->mode = SERVER_INETD;
		return 0;
	}
	return -1;
}

static void add_address(struct server_conf *c, const char *arg)
{
	if (c->nlisten == SERVER_LISTEN_MAX) {
		fprintf(stderr, "snow-owld: at most %d addresses\n", SERVER_LISTEN_MAX);
		exit(2);
	}
	if (addr_parse(arg, 69, c->family, &c->listen[c->nlisten], &c->listen_len[c->nlisten]) < 0) {
		fprintf(stderr, "snow-owld: -a: cannot parse address '%s'\n", arg);
		exit(2);
	}
	c->nlisten++;
}

/* --map-test: what the rules make of a name, as a transfer would see it. */
static int map_test(const struct settings *s, const struct settings_cli *cli)
{
	union sockaddr_any peer;
	socklen_t len;
	unsigned op;
	char *out;
	const char *rel;
	enum remap_result res;
	int status = 1;

	if (!s->remap) {
		fprintf(stderr, "snow-owld: --map-test needs remap rules (-m FILE)\n");
		return 2;
	}
	if (addr_parse(cli->map_client ? cli->map_client : "127.0.0.1", 0, AF_UNSPEC, &peer, &len) < 0) {
		fprintf(stderr, "snow-owld: --map-test-client: cannot parse address '%s'\n", cli->map_client);
		return 2;
	}
	if (!cli->map_op || strcasecmp(cli->map_op, "RRQ") == 0) {
		op = OP_RRQ;
	} else if (strcasecmp(cli->map_op, "WRQ") == 0) {
		op = OP_WRQ;
	} else {
		fprintf(stderr, "snow-owld: --map-test-op: expected RRQ or WRQ, got '%s'\n", cli->map_op);
		return 2;
	}
	res = remap_apply(s->srv.xfer.remap, cli->map_test, op, &peer.sa, &out);
	if (res == REMAP_OK && path_check(out, strlen(out), &rel) == 0) {
		printf("%s\n", out);
		status = 0;
	} else if (res == REMAP_OK) {
		printf("refused: illegal file name \"%s\"\n", out);
	} else if (res == REMAP_REFUSED) {
		printf("refused%s%s\n", out ? ": " : "", out ? out : "");
	} else {
		printf("refused: %s\n", res == REMAP_LOOP ? "the rules loop" :
		       res == REMAP_TOO_LONG ? "the name grew too long" : "out of memory");
	}
	free(out);
	return status;
}

int main(int argc, char **argv)
{
	struct settings s;
	struct settings_cli cli;
	struct server_conf *c = &s.srv;
	char err[512];
	int r;

	setproctitle_init(argc, argv, environ);	/* before anything reads argv */
	close_inherited();
	settings_init(&s);
	if (settings_parse_args(&s, &cli, argc, argv, err, sizeof(err)) < 0) {
		if (!err[0])
			usage(2);
		fprintf(stderr, "snow-owld: %s\n", err);
		return 2;
	}
	if (cli.help)
		usage(0);
	if (cli.version) {
		printf("snow-owld %s\n", PACKAGE_VERSION);
		return 0;
	}
	/* The settings as given, before anything is derived from them. */
	if (cli.print) {
		settings_print(&s, stdout);
		return 0;
	}
	if (settings_finish(&s, err, sizeof(err)) < 0) {
		fprintf(stderr, "snow-owld: %s\n", err);
		return 2;
	}
	if (s.remap) {
		struct remap *rules;

		if (remap_load(s.remap, &rules, err, sizeof(err)) < 0) {
			fprintf(stderr, "snow-owld: %s\n", err);
			return 2;
		}
		c->xfer.remap = rules;
	}
	if (cli.map_test)
		return map_test(&s, &cli);
	if (!s.root) {
		fprintf(stderr, "snow-owld: a ROOT directory is needed (the argument or the root key)\n");
		usage(2);
	}
	log_init("snow-owld", s.verbose >= 2 ? LOG_DEBUG : s.verbose ? LOG_INFO : LOG_NOTICE);
	if (!cli.check && !s.foreground && !s.listen && inherit_sockets(c) < 0) {
		fprintf(stderr, "snow-owld: no sockets: give -L (foreground) or -l (daemon), or start\n"
				"from systemd (snow-owl.socket) or inetd (wait mode)\n");
		return 2;
	}
	/* inetd leaves no usable stderr; daemon() closes it. */
	if (!cli.check && (c->mode == SERVER_INETD || c->daemonize))
		log_use_syslog();
	else if (!cli.check)
		log_use_journal();	/* when standard error is the journal's */
	if (c->mode != SERVER_STANDALONE && s.naddress)
		log_warn("-a is ignored: the sockets come from %s", c->mode == SERVER_SYSTEMD ? "systemd" : "inetd");
	/* Absolute, so SIGHUP can reopen it after daemon() left the cwd. */
	c->root = realpath(s.root, NULL);
	if (!c->root) {
		log_err("cannot open %s: %m", s.root);
		return 1;
	}

	/* Addresses are parsed after -4/-6, which change their meaning. */
	for (unsigned i = 0; i < s.naddress && c->mode == SERVER_STANDALONE; i++)
		add_address(c, s.address[i]);
	if (!c->nlisten && c->mode == SERVER_STANDALONE) {
		if (c->family != AF_INET6)
			add_address(c, "0.0.0.0");
		if (c->family != AF_INET)
			add_address(c, "[::]");
	}

	/* Every root is opened now, before any fork: with -s a child can
	 * only chroot into a directory it already holds. */
	c->rootfd = open(c->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (c->rootfd < 0) {
		log_err("cannot open %s: %m", c->root);
		return 1;
	}
	for (unsigned i = 0; i < c->nroots; i++) {
		struct server_root *cr = &c->roots[i];
		char *dir = realpath(cr->dir, NULL);

		cr->fd = dir ? open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
		if (cr->fd < 0) {
			log_err("cannot open %s: %m", cr->dir);
			return 1;
		}
		cr->dir = dir;	/* absolute, for SIGHUP */
	}
	r = sandbox_resolve_user(&c->sandbox, c->user);
	if (r < 0) {
		log_err("user %s: %s", c->user, r == -ENOENT ? "no such user" : strerror(-r));
		return 1;
	}
	if (c->sandbox.chroot && geteuid() != 0 && !sandbox_have_cap(CAP_SYS_CHROOT)) {
		log_err("-s needs root or CAP_SYS_CHROOT to chroot");
		return 1;
	}
	if (c->workers == SERVER_WORKERS_AUTO) {
		c->workers = c->nroots ? 0 : server_default_workers();
		if (c->max_transfers == SERVER_TRANSFERS_AUTO)
			c->workers_extra = server_extra_workers(c->workers);
	}
	if (c->workers && c->nroots) {
		/* A worker enters one root directory for all its transfers. */
		log_notice("--client-root: a child per transfer, not workers");
		c->workers = 0;
		c->workers_extra = 0;
	}
	if (cli.check)
		return 0;
	if (c->max_transfers == SERVER_TRANSFERS_AUTO) {
		c->max_transfers = server_default_transfers(c->workers + c->workers_extra);
		log_info("max-transfers auto: %u", c->max_transfers);
	}
	server_share_memory(c);
	c->xfer.pmtu_wanted = xfer_pmtu_default();
	return dispatch_run(c);
}
