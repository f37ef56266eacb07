/*
 * transport: moves the bytes of exported memory regions from one provider to
 * another.  It knows nothing of conntrack, VIFs or the region layout: a region
 * is an opaque run of bytes with an id, a name, a page size and a generation
 * that its owner supplies.  transport/README.md documents the wire protocol.
 *
 * The model, which every backend (tcp: and ssl: now, rdma: later) follows:
 *
 *   - A SERVER has listeners ("ptcp:PORT[:IP]", "pssl:...", "punix:PATH")
 *     and EXPORTS.  An export is one migration session: a set of read-only
 *     regions reachable by whoever presents its 16-byte TOKEN.  A wrong token
 *     is refused and does not use up the right one; the token dies with the
 *     export.  An export lives for a LEASE that the client's keepalives renew;
 *     reads do not renew it, because one-sided (RDMA) reads are invisible to
 *     the server.
 *
 *   - A CLIENT opens a session on the source's control endpoint ("tcp:IP:PORT"
 *     or "ssl:IP:PORT") with the token, gets the region directory, issues
 *     pipelined reads of (region, offset, length) into its own buffers, and
 *     sends CONTROL messages (fence, confirm, abort, keepalive, or types the
 *     owner defines), each answered by a reply with a 64-bit value.
 *     Completions are matched by the caller's cookie, never by order, and
 *     carry only a status, so that a one-sided backend can complete them the
 *     same way.
 *
 * Everything is non-blocking and runs in an OVS poll loop: call *_run() and
 * *_wait() from the loop, as with jsonrpc.  The *_block() helpers (and
 * transport_client_read_all()) run their own small loop over one client, for
 * tests and for stop-copy; they stall the rest of the caller's loop while
 * they wait, and a timeout in one fails the session (ETIMEDOUT), so that
 * nothing still in flight can land in the caller's buffers afterward.
 *
 * Errors are OVS-style: a malloc'd one-line message naming the fault, which
 * the caller frees, or a positive errno value.  Bad wire input in either
 * direction ends that connection with such a message (logged on the server,
 * kept by the client); it never crashes and never allocates beyond fixed
 * bounds.
 *
 * The process must ignore SIGPIPE (fatal_ignore_sigpipe()), as every OVS
 * daemon does: a peer that hangs up while we send must cost an error, not
 * the process.
 *
 * Not thread-safe: one thread owns a server or a client.
 */
#ifndef TRANSPORT_H
#define TRANSPORT_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "openvswitch/compiler.h"

struct ds;

/* Tokens. */

#define TRANSPORT_TOKEN_LEN 16
#define TRANSPORT_TOKEN_HEX_LEN (2 * TRANSPORT_TOKEN_LEN)

struct transport_token {
    uint8_t bytes[TRANSPORT_TOKEN_LEN];
};

/* transport_token_random() draws a fresh token from OVS's random_bytes().
 * transport_token_format() writes 32 lowercase hex digits and a NUL.
 * transport_token_parse() accepts exactly 32 hex digits (either case).
 * transport_token_equals() takes the same time wherever the tokens differ. */
void transport_token_random(struct transport_token *);
void transport_token_format(const struct transport_token *,
                            char hex[TRANSPORT_TOKEN_HEX_LEN + 1]);
char *transport_token_parse(const char *hex, struct transport_token *)
    OVS_WARN_UNUSED_RESULT;
bool transport_token_equals(const struct transport_token *,
                            const struct transport_token *);

/* Control messages.
 *
 * A control message is a 16-bit type and a 64-bit argument; its reply is an
 * error (0 or a positive errno value), a 64-bit value and an optional
 * one-line detail.  The transport gives the named types no meaning except
 * KEEPALIVE, which renews the export's lease before the owner sees it; the
 * owner may define more types (say, from 256 up) without touching the
 * transport. */
enum transport_ctl_type {
    TRANSPORT_CTL_KEEPALIVE = 1,    /* Renews the lease. */
    TRANSPORT_CTL_FENCE = 2,        /* Reply value: the final generation. */
    TRANSPORT_CTL_CONFIRM = 3,      /* Arg: the generation imported. */
    TRANSPORT_CTL_ABORT = 4,
};

/* The longest reply detail that travels; longer ones are cut. */
#define TRANSPORT_MAX_DETAIL 256

struct transport_ctl {
    uint16_t type;              /* enum transport_ctl_type or the owner's. */
    uint64_t arg;
};

struct transport_ctl_reply {
    int error;                  /* 0 or a positive errno value. */
    uint64_t value;
    char *detail;               /* malloc'd one line, or NULL. */
};

/* "fence", "confirm", "abort", "keepalive", or "type N" in a static buffer
 * that the next call overwrites. */
const char *transport_ctl_type_name(uint16_t type);
void transport_ctl_reply_destroy(struct transport_ctl_reply *);

/* Regions. */

/* The longest region name; the directory carries it NUL-padded. */
#define TRANSPORT_REGION_NAME_LEN 63
/* Regions one export may hold. */
#define TRANSPORT_MAX_REGIONS 32

/* What an export's owner says about a region when asked.  Regions may grow
 * and move (remap), so the server asks again before every read and never
 * keeps 'base' across its own return to the poll loop: the owner may remap
 * between two calls of transport_server_run(), never during one.  The bytes
 * at [base, base + size) must stay mapped and readable until then; a region
 * must not shrink while exported. */
struct transport_region_view {
    const void *base;
    uint64_t size;
    uint64_t generation;
};
typedef void transport_region_get_func(void *aux,
                                       struct transport_region_view *);

/* One entry of the region directory, as a client sees it. */
struct transport_region_info {
    uint32_t id;
    uint32_t page_size;
    uint64_t size;
    uint64_t generation;
    char name[TRANSPORT_REGION_NAME_LEN + 1];
};

/* Server. */

/* What one server lets its peers cost.  transport_server_create() with NULL
 * takes the defaults below; a field left zero also takes its default.
 *
 * A peer's memory is bounded by about max_buffered + max_read bytes: the
 * server stops reading a peer's requests while max_buffered reply bytes, or
 * max_outstanding replies, wait to be sent to it, so a peer that stops
 * reading costs nothing more.  Incoming messages are at most a few hundred
 * bytes, whatever their length field says.  A peer that has not shown a
 * token within hello_timeout_ms is closed.  Peers over a limit are turned
 * away with an ERROR that names the limit. */
struct transport_server_limits {
    unsigned int max_peers;            /* All peers of the server: 64. */
    unsigned int max_unauth_peers;     /* Peers yet to show a token: 16. */
    unsigned int max_peers_per_export; /* Sessions of one export: 4. */
    unsigned int hello_timeout_ms;     /* To show a token: 10000. */
    uint32_t max_read;                 /* Bytes per read: 256 KiB. */
    unsigned int max_outstanding;      /* Replies queued, per peer: 64. */
    size_t max_buffered;               /* Bytes queued, per peer: 1 MiB. */
};

/* The largest max_read a server may set and a client will accept. */
#define TRANSPORT_MAX_READ_LIMIT (4u * 1024 * 1024)

/* The default lease of an export. */
#define TRANSPORT_DEFAULT_LEASE_MS 60000

struct transport_server;
struct transport_export;

struct transport_server *transport_server_create(
    const struct transport_server_limits *);
void transport_server_destroy(struct transport_server *);

/* Opens a listener, e.g. "ptcp:6655", "ptcp:0:127.0.0.1" (any free port),
 * "pssl:6655" (once the OVS SSL options are set) or "punix:PATH".  Stores
 * the bound TCP port in '*port' if 'port' is nonnull (0 where there is
 * none).  May be called any number of times; every export is reachable
 * through every listener. */
char *transport_server_listen(struct transport_server *, const char *name,
                              uint16_t *port) OVS_WARN_UNUSED_RESULT;

/* Accepts peers, serves them, ends leases.  Owner callbacks run from here. */
void transport_server_run(struct transport_server *);
void transport_server_wait(struct transport_server *);

/* A human-readable status: listeners, exports (never their tokens) and their
 * leases, peers and what each has queued. */
void transport_server_format(const struct transport_server *, struct ds *);

/* The owner of an export: how the server hands it what peers ask.
 *
 * 'control' answers one control message: '*reply' arrives zeroed, and the
 * owner fills it in ('detail' malloc'd or NULL).  A NULL 'control' answers
 * KEEPALIVE with success and everything else with EOPNOTSUPP.  It may
 * withdraw the export (say, to release after a confirm): the peer still gets
 * the reply, then the connection closes.
 *
 * 'expired' is called once the lease has run out, after the export has been
 * withdrawn: the export is already gone.  May be NULL.
 *
 * Neither may destroy the server. */
struct transport_owner {
    void (*control)(void *aux, const struct transport_ctl *,
                    struct transport_ctl_reply *);
    void (*expired)(void *aux);
};

/* Opens an export named 'name' (for logs; need not be unique) with the
 * default lease.  Its token is 'token' if nonnull (it must not be the token
 * of another live export of this server), else a fresh random one; either
 * way transport_export_token() returns it.  Returns NULL and sets '*errorp'
 * only for a token already in use. */
struct transport_export *transport_export_create(
    struct transport_server *, const char *name,
    const struct transport_owner *, void *aux,
    const struct transport_token *token, char **errorp);

/* Adds a region to the directory and returns its id in '*idp'.  Ids are
 * small integers assigned in order from 1.  'name' is at most
 * TRANSPORT_REGION_NAME_LEN bytes; 'page_size' is what the directory reports
 * (the unit readers should use), nonzero.  'get' is called whenever the
 * server needs the region's current view, as long as the export lives:
 * withdraw the export before a region goes away. */
char *transport_export_add_region(struct transport_export *, const char *name,
                                  uint32_t page_size,
                                  transport_region_get_func *get, void *aux,
                                  uint32_t *idp) OVS_WARN_UNUSED_RESULT;

/* Sets the lease (from now, and on each renewal) to 'lease_ms' > 0. */
void transport_export_set_lease(struct transport_export *,
                                long long int lease_ms);

/* Ends the export: its token dies and its peers are told why and closed at
 * the next transport_server_run().  'export' is freed; the owner's 'expired'
 * is not called. */
void transport_export_withdraw(struct transport_export *);

const struct transport_token *transport_export_token(
    const struct transport_export *);
const char *transport_export_name(const struct transport_export *);
unsigned int transport_export_n_peers(const struct transport_export *);

/* Client. */

struct transport_client;

/* Starts a session with the server at 'endpoint' ("tcp:IP:PORT",
 * "ssl:IP:PORT", "unix:PATH") presenting 'token'.  Returns at once; the
 * connection, the token and the directory proceed in transport_client_run().
 * An error here means only that 'endpoint' is not a usable name. */
char *transport_client_open(const char *endpoint,
                            const struct transport_token *,
                            struct transport_client **) OVS_WARN_UNUSED_RESULT;

/* Opens and waits until the directory has arrived, or fails, or
 * 'timeout_ms' passes.  On failure '*clientp' is NULL. */
char *transport_client_open_block(const char *endpoint,
                                  const struct transport_token *,
                                  long long int timeout_ms,
                                  struct transport_client **)
    OVS_WARN_UNUSED_RESULT;

/* Closes the connection and frees the client.  Reads still pending are
 * dropped: their buffers are not touched afterward. */
void transport_client_close(struct transport_client *);

void transport_client_run(struct transport_client *);
void transport_client_wait(struct transport_client *);

/* The session's health.  transport_client_status() is 0 while all is well or
 * pending, EAGAIN until the directory has arrived (then 0), else a positive
 * errno value for the first fault, which transport_client_error() names in
 * one line ("bad token", "peer closed the connection in mid-message").  A
 * refused token is EACCES, which a caller must not answer with a fallback;
 * a connection that never came up is ECONNREFUSED, ENETUNREACH and the
 * like.  A failed session stays failed. */
int transport_client_status(const struct transport_client *);
const char *transport_client_error(const struct transport_client *);
const char *transport_client_name(const struct transport_client *);

/* The terms the server announced; 0 until the session is up. */
long long int transport_client_lease_ms(const struct transport_client *);
uint32_t transport_client_max_read(const struct transport_client *);
unsigned int transport_client_max_outstanding(
    const struct transport_client *);

/* Sends a keepalive every 'interval_ms' while the session is up; 0 stops
 * them.  The default is a third of the server's lease. */
void transport_client_set_keepalive(struct transport_client *,
                                    long long int interval_ms);

/* The directory, valid once transport_client_status() is 0.
 * transport_client_refresh() asks for it again (after a region grew, say);
 * the entries change when the answer arrives and transport_client_dir_seq()
 * then increases. */
size_t transport_client_n_regions(const struct transport_client *);
const struct transport_region_info *transport_client_region(
    const struct transport_client *, size_t idx);
const struct transport_region_info *transport_client_find_region(
    const struct transport_client *, uint32_t id);
const struct transport_region_info *transport_client_find_region_by_name(
    const struct transport_client *, const char *name);
void transport_client_refresh(struct transport_client *);
uint64_t transport_client_dir_seq(const struct transport_client *);
char *transport_client_refresh_block(struct transport_client *,
                                     long long int timeout_ms)
    OVS_WARN_UNUSED_RESULT;

/* Reads.
 *
 * transport_client_read() queues a read of 'len' bytes of region 'region'
 * from 'offset' into 'buf', which must stay valid until its completion.  It
 * checks the read against the directory first ("unknown region 7", "read
 * beyond region 1: offset X length Y size Z") and then splits it into wire
 * reads of at most the server's max_read, with as many in flight as the
 * server allows.  The session must be up (transport_client_status() 0).
 *
 * transport_client_poll() hands out one completion, if any: 'error' is 0 when
 * all the bytes arrived, else the session's status (it failed, and every
 * pending read completes with that error, as a flushed work request does).
 *
 * transport_client_read_all() reads synchronously, pipelined; it needs no
 * other reads pending. */
struct transport_completion {
    uint64_t cookie;
    int error;
};

char *transport_client_read(struct transport_client *, uint32_t region,
                            uint64_t offset, void *buf, size_t len,
                            uint64_t cookie) OVS_WARN_UNUSED_RESULT;
bool transport_client_poll(struct transport_client *,
                           struct transport_completion *);
size_t transport_client_n_pending(const struct transport_client *);
char *transport_client_read_all(struct transport_client *, uint32_t region,
                                uint64_t offset, void *buf, size_t len,
                                long long int timeout_ms)
    OVS_WARN_UNUSED_RESULT;

/* Control.
 *
 * transport_client_control() queues 'ctl' and returns its id in '*idp'.
 * transport_client_control_reply() returns true and moves the reply into
 * '*reply' once it has arrived; the caller destroys it.  A session that
 * fails first never answers: check transport_client_status().
 *
 * transport_client_control_block() sends and waits.  An error means no reply
 * came; a reply that carries an error is not an error here. */
char *transport_client_control(struct transport_client *,
                               const struct transport_ctl *, uint32_t *idp)
    OVS_WARN_UNUSED_RESULT;
bool transport_client_control_reply(struct transport_client *, uint32_t id,
                                    struct transport_ctl_reply *);
char *transport_client_control_block(struct transport_client *,
                                     const struct transport_ctl *,
                                     long long int timeout_ms,
                                     struct transport_ctl_reply *)
    OVS_WARN_UNUSED_RESULT;

#endif /* transport.h */
