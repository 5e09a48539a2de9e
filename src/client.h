/*
 * client.h - the client side of one TFTP transfer (get or put), for the
 * snow-owl tool and its load generator.
 *
 * The session is an event-driven state machine like the server's engine:
 * the caller owns the socket, the clock and the wait, and calls
 * client_on_packet() for every datagram and client_on_timeout() once
 * client_deadline() has passed.  Everything the session sends, and every
 * file byte it produces or consumes, goes through the callbacks in
 * struct client_io, so the bench can impair sends and hash data instead
 * of storing it, and the unit tests can play the server.
 */
#ifndef SNOW_OWL_CLIENT_H
#define SNOW_OWL_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "addr.h"
#include "netascii.h"
#include "packet.h"
#include "session.h"

/* How a transfer ended; also the exit status of the tool. */
enum client_status {
	CLIENT_OK = 0,
	CLIENT_EUSAGE = 1,	/* bad command line */
	CLIENT_EREMOTE = 2,	/* ERROR from the server, or a reply that breaks the protocol */
	CLIENT_ETIMEOUT = 3,	/* no answer after all retransmissions */
	CLIENT_ELOCAL = 4,	/* local file, socket or memory error */
	CLIENT_EVERIFY = 5,	/* received size or content differs */
	CLIENT_STATUS_MAX
};

/* Short name of a status for logs and CSV lines ("ok", "timeout"...). */
const char *client_status_name(enum client_status st);

/* ---- URIs (RFC 3617) --------------------------------------------------- */

#define CLIENT_HOST_MAX 255

struct client_uri {
	char host[CLIENT_HOST_MAX + 1];	/* without the brackets of an IPv6 literal */
	unsigned short port;		/* 69 unless given */
	char file[PACKET_FILENAME_MAX + 1];	/* percent-decoded */
	enum packet_mode mode;
	bool mode_set;			/* ";mode=" was given */
};

/*
 * Parse tftp://HOST[:PORT]/FILE[;mode=octet|netascii].  HOST may be an
 * IPv6 literal in brackets.  Returns 0, or -EINVAL with a reason in *why.
 */
int client_parse_uri(const char *s, struct client_uri *u, const char **why);

/* Resolve the host and port of a URI.  Returns 0 or -EINVAL. */
int client_resolve(const struct client_uri *u, union sockaddr_any *addr, socklen_t *len);

/* "1", "0.2", "1.25" seconds as microseconds, in 1 ms..3600 s.  0 or -EINVAL. */
int client_parse_seconds(const char *s, uint64_t *us);

/* ---- Sessions ---------------------------------------------------------- */

enum client_op { CLIENT_GET, CLIENT_PUT };

struct client_conf {
	enum client_op op;
	const char *file;		/* the remote name */
	enum packet_mode mode;		/* MODE_OCTET or MODE_NETASCII */
	unsigned blksize;		/* to ask for; 0: do not ask (512) */
	unsigned windowsize;		/* to ask for; 0: do not ask (1) */
	int rollover;			/* to ask for: 0 or 1; -1: do not ask (0) */
	bool tsize;			/* ask for / announce the size */
	bool put_size_known;		/* put: the local size is known ... */
	uint64_t put_size;		/* ... and is this many bytes */
	uint64_t timeout_us;		/* retransmission timeout */
	unsigned retries;		/* retransmissions in a row before giving up */
};

/* Defaults of the tool: octet, tsize, 1 s, 5 retries, no other options. */
void client_conf_init(struct client_conf *c, enum client_op op, const char *file);

struct client_io {
	/* Send a datagram; returns 0 or -errno.  A failure after the first
	 * reply is left to the retransmission timer. */
	int (*send)(void *arg, const void *buf, size_t len, const struct sockaddr *to, socklen_t tolen);
	/* get: take file bytes (netascii already decoded); 0 or -errno. */
	int (*write)(void *arg, const uint8_t *buf, size_t len);
	/* put: give up to len file bytes; 0 only at the end; or -errno. */
	ssize_t (*read)(void *arg, uint8_t *buf, size_t len);
	void *arg;
};

enum client_state {
	CS_REQUEST,	/* request sent, no reply yet */
	CS_RECV,	/* get: receiving DATA */
	CS_SEND,	/* put: sending windows */
	CS_DONE,
};

struct client_session {
	const struct client_conf *conf;
	struct client_io io;
	enum client_state state;
	enum client_status status;
	char error[192];		/* why it failed, for the user */

	union sockaddr_any server;	/* where the request went */
	socklen_t server_len;
	union sockaddr_any peer;	/* the server's transfer port (TID) */
	socklen_t peer_len;
	bool locked;			/* peer is known */

	/* The windows, the receiver, the timer, and the values the server
	 * acknowledged (blksize, windowsize, rollover: defaults when it
	 * ignored options): the core the server's engine runs too.  The
	 * timeout is the one configured, fixed. */
	struct session core;
	bool oack;
	bool tsize_known;
	uint64_t tsize;

	/* Receiver: netascii decoding. */
	struct netascii_dec dec;
	uint8_t *decoded;		/* netascii: blksize + 1 bytes */

	/* Sender: the window stays in the core's ring of header|data slots
	 * until acknowledged, so a resend never reads or encodes again. */
	uint32_t *slot_src;		/* local bytes each slot came from */
	struct netascii_enc enc;
	uint8_t *rd;			/* local bytes not yet put in a block */
	size_t rd_len, rd_off;
	bool rd_eof;

	uint64_t start_us, end_us;

	uint64_t bytes;			/* local file bytes moved */
	uint64_t wire_bytes;		/* DATA payload bytes moved */
	bool request_resent;
};

/*
 * Start: send the request to server.  Returns 0, or a negative value when
 * the session already ended (status and error say why).
 */
int client_start(struct client_session *s, const struct client_conf *conf, const struct client_io *io,
		 const struct sockaddr *server, socklen_t server_len, uint64_t now_us);

void client_on_packet(struct client_session *s, const uint8_t *buf, size_t len,
		      const struct sockaddr *from, socklen_t fromlen, uint64_t now_us);
void client_on_timeout(struct client_session *s, uint64_t now_us);

/* End the session from outside (a signal, a local failure), telling the
 * server with an ERROR when it is known. */
void client_abort(struct client_session *s, enum client_status st, const char *why);

static inline bool client_done(const struct client_session *s) { return s->state == CS_DONE; }
static inline uint64_t client_deadline(const struct client_session *s) { return s->core.deadline_us; }
/* Packets sent again on a timeout. */
static inline uint64_t client_retransmits(const struct client_session *s) { return s->core.retransmits; }

/* Largest datagram worth receiving: one byte more than the largest valid
 * one, so an oversized block is seen as such. */
size_t client_rx_size(const struct client_conf *c);

/* Release memory; the session may be started again afterwards. */
void client_free(struct client_session *s);

/* Bytes of one window as asked for (DATA headers included). */
uint64_t client_window_bytes(const struct client_conf *c);

/* Open a non-blocking UDP socket for family with a receive buffer of at
 * least rcvbuf bytes (forced beyond rmem_max when allowed).  fd or -errno. */
int client_socket(int family, int rcvbuf);

#endif
