/*
 * xfer.h - the transfer engine: one struct per transfer, driven by events.
 *
 * The engine owns the transfer socket (connected to the peer) and the
 * file; the caller owns the clock and the wait.  It is called with
 * xfer_on_packet() for every datagram and xfer_on_timeout() when
 * xfer_deadline() has passed, so one process can run one transfer (a
 * forked child) or many.
 */
#ifndef SNOW_OWL_XFER_H
#define SNOW_OWL_XFER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "addr.h"
#include "filecache.h"
#include "filestamp.h"
#include "netascii.h"
#include "options.h"
#include "packet.h"
#include "remap.h"
#include "report.h"
#include "session.h"
#include "transport.h"
#include "upload.h"
#include "window.h"
#include "xmem.h"

struct xfer_conf {
	struct opt_limits lim;
	struct upload_policy upload;
	bool allow_write;		/* WRQ accepted at all */
	uint64_t upload_max;		/* largest upload in bytes; 0: no limit */
	uint64_t rto_us;		/* timeout before the first round trip is measured (-T) */
	uint64_t rto_min_us;		/* floor of the adaptive timeout */
	uint64_t rto_max_us;		/* ceiling of the adaptive timeout and its backoff */
	unsigned max_retries;		/* timeouts in a row before giving up */
	uint64_t giveup_us;		/* ... or this long without progress */
	const struct remap *remap;	/* -m: file name rules, or NULL */
	/* Single-port mode: requests from the client reach its transfer's
	 * socket; a repeat is ignored, a different one restarts the transfer. */
	bool single_port;
	bool mtu_clamp;			/* blksize fits the route's MTU */
	bool pmtu_wanted;		/* new sockets discover the path MTU already */
	unsigned mtu_max;		/* --mtu: a lower MTU still; 0: none */
	uint64_t file_cache;		/* --file-cache: a worker's copies of files, bytes */
	/* The budget of the senders' rings in this process (xmem.h), or
	 * NULL: none.  The caller that runs transfers sets it up from
	 * mem_budget and mem_client_cap (0: no budget). */
	struct xmem *mem;
	uint64_t mem_budget;		/* this process's share of --transfer-memory */
	uint64_t mem_client_cap;	/* of which one client address may hold */
	unsigned mem_clients;		/* client addresses at once, at most */
};

#define XFER_FILE_CACHE_DEFAULT (32u << 20)

/* Workers: keep copies of the files served in at most conf->file_cache
 * bytes, each file at most a quarter of that (filecache.h). */
void xfer_file_cache_init(const struct xfer_conf *conf);

void xfer_conf_init(struct xfer_conf *c);

/*
 * Resends to a peer that has never answered.  Its address may be spoofed
 * (a reflection attack): until a datagram arrives from it on the
 * transfer's own port, which only a peer that got our reply knows, it
 * gets the first reply and this many resends; the transfer then waits
 * silently (it ends when it would have, without an ERROR).
 */
#define XFER_UNVERIFIED_RESENDS 2

/*
 * The blksize limit of a transfer on sock (connected to peer): -B, and
 * the path MTU (the route's, or --mtu) less the IP, UDP and TFTP headers.
 */
unsigned xfer_path_blksize(const struct xfer_conf *conf, int sock, const struct sockaddr *peer);

/* Whether new UDP sockets of this network namespace discover the path
 * MTU without being told (net.ipv4.ip_no_pmtu_disc is 0, the default),
 * for xfer_conf.pmtu_wanted: read at start, before any sandbox. */
bool xfer_pmtu_default(void);

enum xfer_state {
	XS_OACK,	/* OACK sent, waiting for ACK 0 (RRQ) or DATA 1 (WRQ) */
	XS_SEND,	/* RRQ: sending windows */
	XS_RECV,	/* WRQ: receiving */
	XS_DALLY,	/* WRQ: final ACK sent, re-sent if the last DATA repeats */
	XS_DONE,
};

struct transfer {
	/* What every packet touches comes first, so that a worker running
	 * thousands of transfers reads few cache lines per packet. */
	const struct xfer_conf *conf;
	int sock;
	int fd;				/* file being read (RRQ) */
	enum packet_opcode op;
	enum packet_mode mode;
	enum xfer_state state;
	enum xfer_outcome outcome;
	bool oack;			/* options were acknowledged */
	bool gso;			/* UDP GSO still believed to work (tp_send_run) */
	bool refused;			/* the peer's port was reported unreachable */
	bool size_known;		/* size holds the expected bytes (for titles) */
	bool tx_blocked;		/* blocks tx_from..tx_to wait for send room */

	/* Windows, the receiver and the timers (session.h); its ring has
	 * the window's slots and, for octet reads, read-ahead.  Times are
	 * in microseconds of the caller's monotonic clock. */
	struct session s;
	struct filecache_entry *cached;	/* the file's shared copy, or NULL: read it */
	uint64_t poll_filled;		/* filled at the last look at the file */
	uint64_t bytes;			/* file bytes moved */
	uint64_t size;			/* RRQ: the file's size at open */
	uint64_t tx_from, tx_to;	/* see tx_blocked */
	struct xmem_client client;	/* for conf->mem */
	uint64_t mem_bytes;		/* reserved in conf->mem: window and read-ahead */
	uint64_t mem_readahead;		/* of which read-ahead */
	uint64_t start_us, end_us;	/* end_us: data complete */

	/* As negotiated (blksize and windowsize also in s, where the
	 * packets' path reads them); the echoed strings are cold. */
	struct opt_result opt;
	struct filestamp stamp;		/* RRQ: the file as opened */
	uint64_t rd_total;		/* netascii: file bytes read */
	uint16_t error;			/* TFTP error code we sent, if any */
	bool rd_eof;
	bool up_open;
	struct netascii_enc enc;
	struct netascii_dec dec;
	uint8_t *rd;			/* netascii: local bytes not yet encoded */
	size_t rd_len, rd_off;
	struct upload up;
	char peer[ADDR_STR_MAX];
	char name[160];			/* sanitised file name, for logs */
	char mode_name[16];		/* sanitised mode as sent, for logs */
	char detail[96];		/* reason for a failure, for logs */

	/* Single-port mode: the request (to tell a repeat from a new one),
	 * the client, and a new request that ended this transfer and is to
	 * start on the same socket (xfer_restart). */
	uint8_t *req;
	size_t req_len;
	uint8_t *next_req;
	size_t next_len;
	union sockaddr_any peer_sa;
};

/*
 * Start a transfer for the request in req (len bytes) that arrived from
 * peer; sock is connected to the peer.  Always sends something (the first
 * window, an OACK, an ACK or an ERROR).  Returns 0 when the transfer is
 * running, or a negative value when it already ended (xfer_finish() must
 * still be called).
 */
int xfer_start(struct transfer *t, const struct xfer_conf *conf, int sock, int rootfd,
	       const void *req, size_t len, const struct sockaddr *peer, uint64_t now_us);

void xfer_on_packet(struct transfer *t, const uint8_t *buf, size_t len, uint64_t now_us);

/*
 * Single-port mode: a transfer that ended because its client sent a new
 * request on its socket has one waiting (the ended transfer is not
 * finished yet).  xfer_restart() finishes it (its log line) and starts
 * the new request on the same socket, with the same return value as
 * xfer_start().
 */
static inline bool xfer_restart_pending(const struct transfer *t) { return t->next_req != NULL; }
int xfer_restart(struct transfer *t, int rootfd, uint64_t now_us);
void xfer_on_timeout(struct transfer *t, uint64_t now_us);

/*
 * A window did not fit in the socket's send buffer: the caller waits
 * for room (EPOLLOUT, POLLOUT) and then calls xfer_on_writable().
 */
static inline bool xfer_wants_write(const struct transfer *t) { return t->tx_blocked; }
void xfer_on_writable(struct transfer *t, uint64_t now_us);

static inline bool xfer_done(const struct transfer *t) { return t->state == XS_DONE; }
static inline uint64_t xfer_deadline(const struct transfer *t) { return t->s.deadline_us; }

/* End a running transfer from outside (its process is stopping): ERROR 0
 * with msg to the client, outcome failed; an upload already stored and
 * acknowledged (dallying) just ends, complete. */
void xfer_cancel(struct transfer *t, const char *msg);

/* Log the transfer's line, release its resources. */
void xfer_finish(struct transfer *t, uint64_t now_us);

/* The dispatcher's record of an ended transfer (before or after
 * xfer_finish(), which keeps the counters). */
void xfer_report(const struct transfer *t, uint64_t now_us, struct xfer_report *r);

/*
 * The process title of a transfer, without the program name:
 * "ADDRESS RRQ NAME 45%", or with bytes ("... 1.5 MiB") when the size is
 * not known.
 */
void xfer_title(const struct transfer *t, char *buf, size_t size);

/* Largest datagram a transfer can receive (to size receive buffers,
 * tp_rx_init()). */
size_t xfer_rx_size(const struct transfer *t);

/* How many datagrams one call should take for t (a window of DATA, or a
 * few ACKs). */
unsigned xfer_rx_want(const struct transfer *t);

/*
 * Read up to max datagrams queued on t's socket with one call into rx
 * (tp_receive(); flags: MSG_WAITFORONE to wait for the first, MSG_DONTWAIT
 * not to wait) and feed them to the engine, as come at now (0: read the
 * clock after the receive; a worker passes the time its wait ended,
 * when all it reads had come).  A refused port ends the transfer.
 * Returns the number of datagrams read.
 */
int xfer_receive(struct transfer *t, struct tp_rx *rx, unsigned max, int flags, uint64_t now);

/*
 * Single-port mode, before an ended transfer's socket is closed: take a
 * request the client has already sent for its next file (from the same
 * port), so that it restarts the transfer instead of being lost with the
 * socket.
 */
void xfer_drain(struct transfer *t, struct tp_rx *rx);

/* The engine's clock: CLOCK_MONOTONIC in microseconds. */
uint64_t xfer_now_us(void);

/*
 * Drive one transfer to its end on the calling thread (fork mode), with
 * the process title following its progress; its record goes to *rep.
 * In single-port mode, replaced (when not NULL) gets the record of each
 * transfer that a new request from the client replaced on the socket.
 */
typedef void xfer_replaced_fn(const struct xfer_report *r, void *arg);
int xfer_run(const struct xfer_conf *conf, int sock, int rootfd, const void *req, size_t len,
	     const struct sockaddr *peer, struct xfer_report *rep, xfer_replaced_fn *replaced, void *arg);

#endif
