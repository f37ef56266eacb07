/*
 * The stream backend's server: listeners on OVS pstreams (ptcp:, pssl:,
 * punix:) and their peers.
 *
 * A peer goes HELLO (no token yet, under a deadline) -> READY (attached to
 * an export) -> CLOSING (an ERROR is on its way; the peer's input is read and
 * dropped for a short while, so that closing with unread input does not
 * reset the connection and destroy the ERROR in flight) -> DEAD (freed at
 * the end of its run, never in the middle).
 *
 * What a peer costs is bounded: requests are at most TW_MAX_REQUEST_LEN
 * bytes and read into a fixed buffer; a peer's requests are read only while
 * its queued replies stay under max_buffered bytes and max_outstanding
 * replies.  A large DATA reply goes straight from region memory to the
 * stream: a request for one waits (deferred, still in the receive buffer)
 * until nothing is queued before it, and only what the stream does not take
 * at once is copied.  So a peer costs at most about max_buffered + max_read
 * bytes, and a bulk pull costs no copy beyond the kernel's.
 */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "byte-order.h"
#include "openvswitch/dynamic-string.h"
#include "openvswitch/ofpbuf.h"
#include "openvswitch/poll-loop.h"
#include "openvswitch/vlog.h"
#include "socket-util.h"
#include "stream.h"
#include "tcp-io.h"
#include "timeval.h"
#include "transport-provider.h"
#include "util.h"
#include "crc32c-hw.h"

VLOG_DEFINE_THIS_MODULE(transport_tcp_server);

/* Bad peers are logged one line each, but a flood of them is not. */
static struct vlog_rate_limit bad_rl = VLOG_RATE_LIMIT_INIT(60, 60);

/* DATA replies up to this size are copied into the send queue, so that many
 * small ones go out in one system call; larger ones go straight out. */
#define COPY_MAX (32 * 1024)

/* Requests served per peer per run, so that one busy peer does not starve
 * the others or the rest of the daemon's loop. */
#define PEER_BUDGET 64

/* Peers accepted per listener per run. */
#define ACCEPT_BUDGET 16

/* What a CLOSING peer may still send us before we stop listening. */
#define DRAIN_MAX (1024 * 1024)

struct tcp_listener {
    struct transport_listener up;
    struct pstream *pstream;
    struct ovs_list peers;      /* struct tcp_peer. */
};

enum peer_state {
    PEER_HELLO,
    PEER_READY,
    PEER_CLOSING,
    PEER_DEAD,
};

struct tcp_peer {
    struct ovs_list node;       /* In struct tcp_listener's 'peers'. */
    struct tcp_listener *listener;
    struct stream *stream;
    enum peer_state state;
    long long int deadline;     /* HELLO: for the token; CLOSING: linger. */
    bool more;                  /* Stopped for its budget: run again soon. */
    bool deferred;              /* A whole request waits in 'rx' for the
                                 * send queue to empty. */
    struct transport_session session;

    struct rx rx;
    uint64_t payload[TW_MAX_REQUEST_LEN / 8];
    size_t drained;             /* CLOSING: input bytes dropped. */
    struct txq txq;

    uint64_t n_reads;           /* Statistics. */
    uint64_t n_bytes;
};

static struct tcp_listener *
tcp_listener_cast(const struct transport_listener *l)
{
    return CONTAINER_OF(l, struct tcp_listener, up);
}

static const char *
peer_name(const struct tcp_peer *p)
{
    return stream_get_name(p->stream);
}

static const struct transport_server_limits *
peer_limits(const struct tcp_peer *p)
{
    return transport_server_limits(p->listener->up.server);
}

/* Ending a peer. */

static void
peer_destroy(struct tcp_peer *p)
{
    transport_session_detach(&p->session);
    ovs_list_remove(&p->node);
    stream_close(p->stream);
    txq_destroy(&p->txq);
    free(p);
}

/* Queues an ERROR naming the fault and closes the peer once it has gone out.
 * 'level' is WARN for a peer's fault, INFO where the server ended things. */
static void OVS_PRINTF_FORMAT(5, 6)
peer_fail(struct tcp_peer *p, enum vlog_level level, uint32_t xid,
          enum tw_error_code code, const char *format, ...)
{
    va_list args;
    char *msg;

    va_start(args, format);
    msg = xvasprintf(format, args);
    va_end(args);

    if (!vlog_should_drop(&this_module, level, &bad_rl)) {
        vlog(&this_module, level, "%s: %s", peer_name(p), msg);
    }

    struct ofpbuf *b = txq_buf(&p->txq, TW_HEADER_LEN + 64 + strlen(msg));
    size_t old_size = b->size;
    tw_put_error(b, xid, code, msg);
    txq_commit(&p->txq, b, old_size);
    free(msg);

    transport_session_leave(&p->session);
    p->deferred = false;
    p->state = PEER_CLOSING;
    p->deadline = time_msec() + TW_CLOSE_LINGER_MS;
}

/* The stream ended or broke under us: nothing more can be said. */
static void
peer_lost(struct tcp_peer *p, int error)
{
    if (error == EOF && rx_mid_message(&p->rx)) {
        VLOG_WARN_RL(&bad_rl, "%s: peer closed the connection in "
                     "mid-message", peer_name(p));
    } else if (error == EOF) {
        VLOG_DBG("%s: peer closed the connection", peer_name(p));
    } else {
        VLOG_INFO_RL(&bad_rl, "%s: connection dropped (%s)", peer_name(p),
                     ovs_strerror(error));
    }
    p->state = PEER_DEAD;
}

/* Sending. */

static void
peer_send_sum(struct tcp_peer *p, uint32_t xid, uint32_t crc)
{
    struct ofpbuf *b = txq_buf(&p->txq, TW_HEADER_LEN
                                        + sizeof(struct tw_data_sum));
    size_t old_size = b->size;

    tw_put_data_sum(b, xid, crc);
    txq_commit(&p->txq, b, old_size);
}

/* Sends a DATA reply of 'len' bytes at 'data', in region memory, and its
 * DATA_SUM.  Whatever the stream does not take at once is copied into the
 * queue, because the region may move once we return to the poll loop. */
static void
peer_send_data(struct tcp_peer *p, uint32_t xid, const uint8_t *data,
               uint32_t len)
{
    uint32_t crc = crc32c_hw(data, len);
    struct ofpbuf *b;
    size_t old_size;

    if (len > COPY_MAX && txq_is_empty(&p->txq)) {
        uint64_t hbuf[TW_HEADER_LEN / 8];
        struct ofpbuf hdr;
        int error;

        ofpbuf_use_stub(&hdr, hbuf, sizeof hbuf);
        tw_put_header(&hdr, TW_DATA, xid, len);

        size_t n = tcp_send_some(p->stream, hdr.data, hdr.size, &error);
        size_t m = 0;
        if (!error && n == hdr.size) {
            m = tcp_send_some(p->stream, data, len, &error);
        }
        if (error) {
            ofpbuf_uninit(&hdr);
            peer_lost(p, error);
            return;
        }
        if (n < hdr.size || m < len) {
            txq_append(&p->txq, (const uint8_t *) hdr.data + n,
                       hdr.size - n, data + m, len - m);
        }
        ofpbuf_uninit(&hdr);
        peer_send_sum(p, xid, crc);
        return;
    }

    b = txq_buf(&p->txq, TW_HEADER_LEN + len);
    old_size = b->size;
    tw_put_header(b, TW_DATA, xid, len);
    ofpbuf_put(b, data, len);
    txq_commit(&p->txq, b, old_size);
    peer_send_sum(p, xid, crc);
}

/* Requests. */

static void
peer_hello(struct tcp_peer *p, uint32_t xid, const void *payload, size_t len)
{
    struct transport_token token;
    enum tw_error_code code;
    char *error;

    if (p->state != PEER_HELLO) {
        peer_fail(p, VLL_WARN, xid, TW_ERR_PROTOCOL, "second HELLO");
        return;
    }
    if (!len) {
        peer_fail(p, VLL_WARN, xid, TW_ERR_NO_TOKEN, "no token");
        return;
    }

    memcpy(token.bytes, payload, sizeof token.bytes);
    code = transport_session_attach(&p->session, &token, &error);
    if (code) {
        peer_fail(p, VLL_WARN, xid, code, "%s", error);
        free(error);
        return;
    }

    const struct transport_server_limits *limits = peer_limits(p);
    struct ofpbuf *b = txq_buf(&p->txq, TW_HEADER_LEN + 16);
    size_t old_size = b->size;
    long long int lease = transport_session_lease_ms(&p->session);

    tw_put_welcome(b, xid, MIN(lease, UINT32_MAX), limits->max_read,
                   limits->max_outstanding);
    txq_commit(&p->txq, b, old_size);
    p->state = PEER_READY;
    p->deadline = LLONG_MAX;
    VLOG_INFO("%s: session for export %s", peer_name(p),
              transport_session_export_name(&p->session));
}

static void
peer_directory(struct tcp_peer *p, uint32_t xid)
{
    struct transport_region_info infos[TRANSPORT_MAX_REGIONS];
    size_t n = transport_session_directory(&p->session, infos);
    struct ofpbuf *b = txq_buf(&p->txq, TW_HEADER_LEN + 8 + n * 88);
    size_t old_size = b->size;

    tw_put_directory(b, xid, infos, n);
    txq_commit(&p->txq, b, old_size);
}

static void
peer_read(struct tcp_peer *p, uint32_t xid, const void *payload)
{
    const struct transport_server_limits *limits = peer_limits(p);
    struct transport_region_view view;
    struct tw_read r;

    memcpy(&r, payload, sizeof r);
    uint32_t region = ntohl(r.region);
    uint32_t length = ntohl(r.length);
    uint64_t offset = ntohll(r.offset);

    if (!transport_session_region(&p->session, region, &view)) {
        peer_fail(p, VLL_WARN, xid, TW_ERR_UNKNOWN_REGION,
                  "unknown region %"PRIu32, region);
    } else if (length > limits->max_read) {
        peer_fail(p, VLL_WARN, xid, TW_ERR_LIMIT,
                  "read length %"PRIu32" exceeds the limit %"PRIu32,
                  length, limits->max_read);
    } else if (!length) {
        peer_fail(p, VLL_WARN, xid, TW_ERR_PROTOCOL, "read length 0");
    } else if (offset > view.size || length > view.size - offset) {
        peer_fail(p, VLL_WARN, xid, TW_ERR_BEYOND_REGION,
                  "read beyond region %"PRIu32": offset %"PRIu64
                  " length %"PRIu32" size %"PRIu64,
                  region, offset, length, view.size);
    } else {
        p->n_reads++;
        p->n_bytes += length;
        peer_send_data(p, xid, (const uint8_t *) view.base + offset, length);
    }
}

static void
peer_control(struct tcp_peer *p, uint32_t xid, const void *payload)
{
    struct transport_ctl_reply reply;
    struct transport_ctl ctl;
    struct tw_control c;

    memcpy(&c, payload, sizeof c);
    ctl.type = ntohs(c.type);
    ctl.arg = ntohll(c.arg);
    if (!ctl.type) {
        peer_fail(p, VLL_WARN, xid, TW_ERR_PROTOCOL, "CONTROL of type 0");
        return;
    }

    VLOG_DBG("%s: export %s: %s %"PRIu64, peer_name(p),
             transport_session_export_name(&p->session),
             transport_ctl_type_name(ctl.type), ctl.arg);
    /* This may end the export; the reply still goes out, and the ERROR that
     * says why follows it at the next turn of peer_serve(). */
    transport_session_control(&p->session, &ctl, &reply);

    struct ofpbuf *b = txq_buf(&p->txq, TW_HEADER_LEN + 16
                                        + TRANSPORT_MAX_DETAIL);
    size_t old_size = b->size;
    tw_put_control_reply(b, xid, ctl.type, &reply);
    txq_commit(&p->txq, b, old_size);
    transport_ctl_reply_destroy(&reply);
}

static void
peer_dispatch(struct tcp_peer *p, const struct tw_header *h,
              const void *payload)
{
    uint32_t xid = ntohl(h->xid);

    if (p->state == PEER_HELLO && h->type != TW_HELLO) {
        peer_fail(p, VLL_WARN, xid, TW_ERR_NO_TOKEN,
                  "%s before HELLO: no token", tw_type_name(h->type));
        return;
    }
    switch (h->type) {
    case TW_HELLO:
        peer_hello(p, xid, payload, ntohl(h->length));
        break;
    case TW_DIR_REQUEST:
        peer_directory(p, xid);
        break;
    case TW_READ:
        peer_read(p, xid, payload);
        break;
    case TW_CONTROL:
        peer_control(p, xid, payload);
        break;
    default:
        OVS_NOT_REACHED();      /* tw_check_header() let only these by. */
    }
}

/* Whether the request complete in 'rx' should wait: a large read is sent
 * straight from region memory, which needs an empty send queue. */
static bool
peer_must_defer(const struct tcp_peer *p)
{
    if (p->rx.hdr.h.type != TW_READ || txq_is_empty(&p->txq)) {
        return false;
    }

    struct tw_read r;
    memcpy(&r, p->payload, sizeof r);
    return ntohl(r.length) > COPY_MAX;
}

/* Receives and handles at most one request.  Returns 0 if it handled one,
 * EAGAIN if the rest has yet to arrive, EBUSY if it is deferred, EOF if the
 * peer is done for. */
static int
peer_recv(struct tcp_peer *p)
{
    struct rx *rx = &p->rx;
    int error;

    if (!rx->in_payload) {
        error = tcp_recv_into(p->stream, rx->hdr.bytes, TW_HEADER_LEN,
                              &rx->hdr_have);
        if (error) {
            goto recv_error;
        }

        char *msg = tw_check_header(&rx->hdr.h, true);
        if (!msg) {
            msg = tw_check_request_length(&rx->hdr.h);
        }
        if (msg) {
            peer_fail(p, VLL_WARN, ntohl(rx->hdr.h.xid), TW_ERR_PROTOCOL,
                      "%s", msg);
            free(msg);
            return EOF;
        }
        rx->in_payload = true;
        rx->dst = (uint8_t *) p->payload;
        rx->len = ntohl(rx->hdr.h.length);
        rx->have = 0;
    }

    error = tcp_recv_into(p->stream, rx->dst, rx->len, &rx->have);
    if (error) {
        goto recv_error;
    }
    p->deferred = peer_must_defer(p);
    if (p->deferred) {
        return EBUSY;
    }
    struct tw_header h = rx->hdr.h;
    rx_reset(rx);
    peer_dispatch(p, &h, p->payload);
    return 0;

recv_error:
    if (error != EAGAIN) {
        peer_lost(p, error);
        return EOF;
    }
    return EAGAIN;
}

static bool
peer_backpressured(const struct tcp_peer *p)
{
    const struct transport_server_limits *limits = peer_limits(p);

    return (p->txq.bytes >= limits->max_buffered
            || p->txq.n_msgs >= limits->max_outstanding);
}

/* Whether the send queue keeps 'p' from going on: over the limits, or
 * holding up a deferred request. */
static bool
peer_blocked(const struct tcp_peer *p)
{
    return peer_backpressured(p) || (p->deferred && !txq_is_empty(&p->txq));
}

static void
peer_serve(struct tcp_peer *p)
{
    for (int budget = PEER_BUDGET; budget > 0; budget--) {
        if (p->state != PEER_HELLO && p->state != PEER_READY) {
            return;
        }
        if (transport_session_ended(&p->session)) {
            peer_fail(p, VLL_INFO, 0, p->session.code, "%s",
                      p->session.why);
            return;
        }
        if (peer_blocked(p)) {
            int error = txq_flush(&p->txq, p->stream);
            if (error) {
                peer_lost(p, error);
                return;
            }
            if (peer_blocked(p)) {
                return;
            }
        }

        int error = peer_recv(p);
        if (error && error != EBUSY) {
            return;
        }
    }
    p->more = true;
}

/* CLOSING: once the ERROR is out, drops input until the peer closes, the
 * linger time is up, or it has sent too much. */
static void
peer_linger(struct tcp_peer *p, long long int now)
{
    if (now >= p->deadline) {
        p->state = PEER_DEAD;
        return;
    }
    if (!txq_is_empty(&p->txq)) {
        return;
    }
    for (;;) {
        uint8_t sink[4096];
        int retval = stream_recv(p->stream, sink, sizeof sink);

        if (retval > 0) {
            p->drained += retval;
            if (p->drained > DRAIN_MAX) {
                p->state = PEER_DEAD;
                return;
            }
        } else {
            if (retval != -EAGAIN) {
                p->state = PEER_DEAD;
            }
            return;
        }
    }
}

static void
peer_run(struct tcp_peer *p, long long int now)
{
    int error;

    p->more = false;
    stream_run(p->stream);
    error = txq_flush(&p->txq, p->stream);
    if (error) {
        peer_lost(p, error);
    } else if (p->state == PEER_HELLO && now >= p->deadline) {
        peer_fail(p, VLL_WARN, 0, TW_ERR_TIMEOUT, "no HELLO within %u ms",
                  peer_limits(p)->hello_timeout_ms);
    } else {
        peer_serve(p);
        error = txq_flush(&p->txq, p->stream);
        if (error) {
            peer_lost(p, error);
        }
    }
    if (p->state == PEER_CLOSING) {
        peer_linger(p, now);
    }
    if (p->state == PEER_DEAD) {
        peer_destroy(p);
    }
}

static void
peer_wait(struct tcp_peer *p)
{
    stream_run_wait(p->stream);
    if (!txq_is_empty(&p->txq)) {
        stream_send_wait(p->stream);
    }
    bool work = (p->state == PEER_READY
                 && (transport_session_ended(&p->session)
                     || (p->deferred && txq_is_empty(&p->txq))));
    if (p->more || work) {
        poll_immediate_wake();
    } else if (p->state == PEER_CLOSING ? txq_is_empty(&p->txq)
               : !peer_blocked(p)) {
        stream_recv_wait(p->stream);
    }
    if (p->state == PEER_HELLO || p->state == PEER_CLOSING) {
        poll_timer_wait_until(p->deadline);
    }
}

/* Accepting. */

/* Turns away a peer over the limits with one best-effort ERROR, and no
 * lingering: lingering would let a flood of them hold resources. */
static void
refuse(struct stream *stream, const char *why)
{
    uint64_t stub[128 / 8];
    struct ofpbuf b;
    int error;

    VLOG_WARN_RL(&bad_rl, "%s: refused: %s", stream_get_name(stream), why);
    ofpbuf_use_stub(&b, stub, sizeof stub);
    tw_put_error(&b, 0, TW_ERR_BUSY, why);
    tcp_send_some(stream, b.data, b.size, &error);
    ofpbuf_uninit(&b);
    stream_close(stream);
}

static void
peer_accept(struct tcp_listener *l, struct stream *stream)
{
    struct tcp_peer *p = xzalloc(sizeof *p);
    char *why = transport_session_admit(&p->session, l->up.server);

    if (why) {
        refuse(stream, why);
        free(why);
        free(p);
        return;
    }
    p->listener = l;
    p->stream = stream;
    p->state = PEER_HELLO;
    p->deadline = time_msec() + peer_limits(p)->hello_timeout_ms;
    rx_reset(&p->rx);
    txq_init(&p->txq);
    ovs_list_push_back(&l->peers, &p->node);
    VLOG_DBG("%s: connected on %s", peer_name(p), l->up.name);
}

/* The listener class. */

static bool
tcp_handles(const char *name)
{
    return !pstream_verify_name(name);
}

static char *
tcp_open(struct transport_server *server, const char *name,
         struct transport_listener **lp, uint16_t *port)
{
    struct pstream *pstream;
    int error = pstream_open(name, &pstream, DSCP_DEFAULT);

    if (error) {
        return xasprintf("%s: cannot listen (%s)", name,
                         ovs_strerror(error));
    }

    struct tcp_listener *l = xzalloc(sizeof *l);
    /* The pstream's name holds the port it bound ("ptcp:41234:127.0.0.1"
     * for "ptcp:0:127.0.0.1"). */
    transport_listener_init(&l->up, &transport_tcp_listener_class, server,
                            pstream_get_name(pstream));
    l->pstream = pstream;
    ovs_list_init(&l->peers);
    *port = ntohs(pstream_get_bound_port(pstream));
    *lp = &l->up;
    return NULL;
}

static void
tcp_close(struct transport_listener *l_)
{
    struct tcp_listener *l = tcp_listener_cast(l_);
    struct tcp_peer *p;

    LIST_FOR_EACH_SAFE (p, node, &l->peers) {
        peer_destroy(p);
    }
    pstream_close(l->pstream);
    transport_listener_uninit(&l->up);
    free(l);
}

static void
tcp_run(struct transport_listener *l_)
{
    struct tcp_listener *l = tcp_listener_cast(l_);
    long long int now = time_msec();
    struct tcp_peer *p;

    for (int i = 0; i < ACCEPT_BUDGET; i++) {
        struct stream *stream;
        int error = pstream_accept(l->pstream, &stream);

        if (error) {
            if (error != EAGAIN) {
                VLOG_WARN_RL(&bad_rl, "%s: accept failed (%s)", l->up.name,
                             ovs_strerror(error));
            }
            break;
        }
        peer_accept(l, stream);
    }

    LIST_FOR_EACH_SAFE (p, node, &l->peers) {
        peer_run(p, now);
    }
}

static void
tcp_wait(struct transport_listener *l_)
{
    struct tcp_listener *l = tcp_listener_cast(l_);
    struct tcp_peer *p;

    pstream_wait(l->pstream);
    LIST_FOR_EACH (p, node, &l->peers) {
        peer_wait(p);
    }
}

static const char *
peer_state_name(enum peer_state state)
{
    switch (state) {
    case PEER_HELLO: return "awaiting token";
    case PEER_READY: return "ready";
    case PEER_CLOSING: return "closing";
    case PEER_DEAD: return "dead";
    }
    return "?";
}

static void
tcp_format(const struct transport_listener *l_, struct ds *s)
{
    const struct tcp_listener *l = tcp_listener_cast(l_);
    const struct tcp_peer *p;

    ds_put_format(s, "listener %s: %"PRIuSIZE" peers\n", l->up.name,
                  ovs_list_size(&l->peers));
    LIST_FOR_EACH (p, node, &l->peers) {
        ds_put_format(s, "  peer %s: %s", peer_name(p),
                      peer_state_name(p->state));
        if (p->session.export) {
            ds_put_format(s, ", export %s",
                          transport_session_export_name(&p->session));
        }
        ds_put_format(s, ", %"PRIu64" reads (%"PRIu64" bytes), %"PRIuSIZE
                      " bytes queued in %u replies\n", p->n_reads,
                      p->n_bytes, p->txq.bytes, p->txq.n_msgs);
    }
}

const struct transport_listener_class transport_tcp_listener_class = {
    .handles = tcp_handles,
    .open = tcp_open,
    .close = tcp_close,
    .run = tcp_run,
    .wait = tcp_wait,
    .format = tcp_format,
};
