/*
 * The transport client: a session on a server's control endpoint over an
 * OVS stream (tcp:, ssl:, unix:), carrying the token, the directory, the
 * control messages and, on the stream backend, the reads.
 *
 * A caller's read is split into wire reads ("fragments") of at most the
 * server's max_read, with at most the server's max_outstanding in flight;
 * each DATA reply is received straight into the caller's buffer, where its
 * fragment says, once its length has been checked against what was asked.
 * Replies are matched by xid.
 *
 * The client logs only at DBG level: its caller knows what the session was
 * for and reports failures with that context.
 */
#include <config.h>

#include "transport.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "byte-order.h"
#include "hash.h"
#include "openvswitch/hmap.h"
#include "openvswitch/list.h"
#include "openvswitch/ofpbuf.h"
#include "openvswitch/poll-loop.h"
#include "openvswitch/vlog.h"
#include "socket-util.h"
#include "stream.h"
#include "tcp-io.h"
#include "timeval.h"
#include "transport-wire.h"
#include "crc32c-hw.h"
#include "util.h"

VLOG_DEFINE_THIS_MODULE(transport_client);

/* The most reads the client keeps in flight, whatever the server allows. */
#define CLIENT_MAX_WINDOW 256

/* Messages handled per run, so that a fast server does not starve the rest
 * of the caller's loop. */
#define CLIENT_BUDGET 256

enum client_state {
    CLIENT_CONNECTING,          /* The stream is coming up. */
    CLIENT_HELLO,               /* HELLO sent, awaiting WELCOME. */
    CLIENT_DIRECTORY,           /* Awaiting the first DIRECTORY. */
    CLIENT_READY,
    CLIENT_FAILED,
};

struct read_op {
    struct ovs_list node;       /* In 'waiting' or 'completions'. */
    bool waiting;               /* In 'waiting': bytes not yet asked for. */
    uint64_t cookie;
    uint32_t region;
    uint64_t offset;
    uint8_t *buf;
    size_t len;
    size_t issued;              /* Bytes asked for. */
    size_t done;                /* Bytes arrived. */
    unsigned int n_inflight;    /* Its fragments in flight. */
    int error;
};

struct read_frag {
    struct hmap_node node;      /* In 'inflight', by xid. */
    uint32_t xid;
    struct read_op *op;
    size_t pos;                 /* Where in op->buf. */
    uint32_t len;
    bool have_data;             /* Its DATA is in; its DATA_SUM is next. */
};

struct client_ctl {
    struct hmap_node node;      /* In 'ctls', by xid. */
    uint32_t xid;
    uint16_t type;
    bool internal;              /* Our own keepalive: the reply is dropped. */
    bool answered;
    struct transport_ctl_reply reply;
};

struct transport_client {
    char *name;
    struct stream *stream;
    enum client_state state;
    int status;                 /* 0, EAGAIN or the failure's errno. */
    char *error;                /* The failure, one line. */
    struct transport_token token;
    uint32_t next_xid;
    bool more;                  /* Stopped for its budget. */

    /* The server's terms, from WELCOME. */
    uint32_t lease_ms;
    uint32_t max_read;
    unsigned int window;

    /* The directory. */
    struct transport_region_info *regions;
    size_t n_regions;
    uint64_t dir_seq;
    uint32_t dir_xid;           /* Request in flight, or 0. */

    struct txq txq;
    struct rx rx;
    uint64_t small[TW_MAX_REPLY_LEN / 8];  /* Payloads other than DATA. */
    struct read_frag *rx_frag;  /* The DATA being received. */

    /* Reads. */
    struct ovs_list waiting;    /* struct read_op. */
    struct hmap inflight;       /* struct read_frag. */
    struct ovs_list completions;  /* struct read_op. */
    size_t n_pending;           /* Submitted, not yet polled. */

    /* Control. */
    struct hmap ctls;           /* struct client_ctl. */
    long long int keepalive_ms; /* -1: a third of the lease. */
    long long int next_keepalive;
    uint32_t keepalive_xid;     /* In flight, or 0. */
};

static void client_complete(struct transport_client *, struct read_op *);

/* Failure. */

/* Fails the session with 'status' (a positive errno value) and a message,
 * closes the stream and completes every pending read with 'status', as a
 * flushed work request completes. */
static void OVS_PRINTF_FORMAT(3, 4)
client_fail(struct transport_client *c, int status, const char *format, ...)
{
    struct read_frag *frag;
    struct read_op *op;
    va_list args;

    if (c->state == CLIENT_FAILED) {
        return;
    }

    va_start(args, format);
    char *msg = xvasprintf(format, args);
    va_end(args);
    c->error = xasprintf("%s: %s", c->name, msg);
    free(msg);
    c->status = status;
    c->state = CLIENT_FAILED;
    VLOG_DBG("%s", c->error);

    stream_close(c->stream);
    c->stream = NULL;
    txq_destroy(&c->txq);
    c->rx_frag = NULL;

    LIST_FOR_EACH_POP (op, node, &c->waiting) {
        op->waiting = false;
        op->n_inflight = 0;
        op->error = status;
        client_complete(c, op);
    }
    HMAP_FOR_EACH_POP (frag, node, &c->inflight) {
        op = frag->op;
        if (op->n_inflight && !--op->n_inflight && !op->waiting) {
            op->error = status;
            client_complete(c, op);
        }
        free(frag);
    }
}

static void
client_lost(struct transport_client *c, int error)
{
    if (error == EOF) {
        client_fail(c, ECONNRESET, "peer closed the connection%s",
                    rx_mid_message(&c->rx) ? " in mid-message" : "");
    } else {
        client_fail(c, error, "connection lost (%s)", ovs_strerror(error));
    }
}

/* Requests. */

static uint32_t
client_new_xid(struct transport_client *c)
{
    for (;;) {
        uint32_t xid = c->next_xid++;
        uint32_t hash = hash_int(xid, 0);
        struct read_frag *frag;
        struct client_ctl *ctl;
        bool used = !xid || xid == c->dir_xid;

        /* After a wrap, skip the xids still in use. */
        HMAP_FOR_EACH_WITH_HASH (frag, node, hash, &c->inflight) {
            used |= frag->xid == xid;
        }
        HMAP_FOR_EACH_WITH_HASH (ctl, node, hash, &c->ctls) {
            used |= ctl->xid == xid;
        }
        if (!used) {
            return xid;
        }
    }
}

static struct ofpbuf *
client_buf(struct transport_client *c, size_t *old_size)
{
    struct ofpbuf *b = txq_buf(&c->txq, TW_HEADER_LEN + 32);

    *old_size = b->size;
    return b;
}

static void
client_send_dir_request(struct transport_client *c)
{
    size_t old_size;
    struct ofpbuf *b = client_buf(c, &old_size);

    c->dir_xid = client_new_xid(c);
    tw_put_header(b, TW_DIR_REQUEST, c->dir_xid, 0);
    txq_commit(&c->txq, b, old_size);
}

static struct client_ctl *
client_send_control(struct transport_client *c,
                    const struct transport_ctl *ctl, bool internal)
{
    struct client_ctl *cc = xzalloc(sizeof *cc);
    size_t old_size;
    struct ofpbuf *b = client_buf(c, &old_size);

    cc->xid = client_new_xid(c);
    cc->type = ctl->type;
    cc->internal = internal;
    hmap_insert(&c->ctls, &cc->node, hash_int(cc->xid, 0));
    tw_put_control(b, cc->xid, ctl);
    txq_commit(&c->txq, b, old_size);
    return cc;
}

static void
client_issue_reads(struct transport_client *c)
{
    while (hmap_count(&c->inflight) < c->window
           && !ovs_list_is_empty(&c->waiting)) {
        struct read_op *op = CONTAINER_OF(ovs_list_front(&c->waiting),
                                          struct read_op, node);
        struct read_frag *frag = xzalloc(sizeof *frag);
        size_t old_size;
        struct ofpbuf *b = client_buf(c, &old_size);

        frag->xid = client_new_xid(c);
        frag->op = op;
        frag->pos = op->issued;
        frag->len = MIN(op->len - op->issued, c->max_read);
        hmap_insert(&c->inflight, &frag->node, hash_int(frag->xid, 0));
        tw_put_read(b, frag->xid, op->region, op->offset + frag->pos,
                    frag->len);
        txq_commit(&c->txq, b, old_size);

        op->issued += frag->len;
        op->n_inflight++;
        if (op->issued == op->len) {
            ovs_list_remove(&op->node);
            op->waiting = false;
        }
    }
}

static void
client_keepalive(struct transport_client *c, long long int now)
{
    if (c->keepalive_ms > 0 && now >= c->next_keepalive
        && !c->keepalive_xid) {
        struct transport_ctl ctl = { .type = TRANSPORT_CTL_KEEPALIVE };

        c->keepalive_xid = client_send_control(c, &ctl, true)->xid;
        c->next_keepalive = now + c->keepalive_ms;
    }
}

/* Replies. */

static void
client_complete(struct transport_client *c, struct read_op *op)
{
    ovs_list_push_back(&c->completions, &op->node);
}

static struct read_frag *
client_find_frag(const struct transport_client *c, uint32_t xid)
{
    struct read_frag *frag;

    HMAP_FOR_EACH_WITH_HASH (frag, node, hash_int(xid, 0), &c->inflight) {
        if (frag->xid == xid) {
            return frag;
        }
    }
    return NULL;
}

static struct client_ctl *
client_find_ctl(const struct transport_client *c, uint32_t xid)
{
    struct client_ctl *cc;

    HMAP_FOR_EACH_WITH_HASH (cc, node, hash_int(xid, 0), &c->ctls) {
        if (cc->xid == xid) {
            return cc;
        }
    }
    return NULL;
}

/* Decides where a reply's payload goes, before any of it is read.  Returns
 * false if the session failed. */
static bool
client_accept_header(struct transport_client *c)
{
    const struct tw_header *h = &c->rx.hdr.h;
    uint32_t xid = ntohl(h->xid);
    uint32_t len = ntohl(h->length);
    char *msg = tw_check_header(h, false);

    if (msg) {
        client_fail(c, EPROTO, "%s", msg);
        free(msg);
        return false;
    }
    if (h->type == TW_DATA) {
        struct read_frag *frag = client_find_frag(c, xid);

        if (!frag) {
            client_fail(c, EPROTO, "DATA for unknown request %"PRIu32, xid);
            return false;
        }
        if (len != frag->len || frag->have_data) {
            client_fail(c, EPROTO, "DATA length %"PRIu32" for a read of "
                        "%"PRIu32" bytes%s", len, frag->len,
                        frag->have_data ? ", a second time" : "");
            return false;
        }
        c->rx_frag = frag;
        c->rx.dst = frag->op->buf + frag->pos;
    } else if (h->type == TW_DATA_SUM) {
        struct read_frag *frag = client_find_frag(c, xid);

        if (!frag || !frag->have_data || len != sizeof(struct tw_data_sum)) {
            client_fail(c, EPROTO, "DATA_SUM for %s %"PRIu32,
                        frag ? "a read without DATA" : "unknown request",
                        xid);
            return false;
        }
        c->rx_frag = frag;
        c->rx.dst = (uint8_t *) c->small;
    } else {
        if (len > TW_MAX_REPLY_LEN) {
            client_fail(c, EPROTO, "message length %"PRIu32" exceeds the "
                        "limit %d", len, TW_MAX_REPLY_LEN);
            return false;
        }
        c->rx.dst = (uint8_t *) c->small;
    }
    c->rx.in_payload = true;
    c->rx.len = len;
    c->rx.have = 0;
    return true;
}

static void
client_handle_data(struct transport_client *c)
{
    c->rx_frag->have_data = true;
    c->rx_frag = NULL;
}

/* The read's bytes are in the caller's buffer: they count once their
 * checksum agrees. */
static void
client_handle_data_sum(struct transport_client *c)
{
    struct read_frag *frag = c->rx_frag;
    struct read_op *op = frag->op;
    const struct tw_data_sum *sum = (const void *) c->small;

    c->rx_frag = NULL;
    if (crc32c_hw(op->buf + frag->pos, frag->len) != ntohl(sum->crc)) {
        client_fail(c, EIO, "DATA of read %"PRIu32" (%"PRIu32" bytes) fails "
                    "its checksum: corrupted on the way", frag->xid,
                    frag->len);
        return;
    }
    hmap_remove(&c->inflight, &frag->node);
    op->done += frag->len;
    op->n_inflight--;
    free(frag);
    if (!op->waiting && !op->n_inflight) {
        client_complete(c, op);
    }
}

static void
client_handle_welcome(struct transport_client *c, size_t len)
{
    uint32_t lease_ms, max_read, max_outstanding;
    char *msg;

    if (c->state != CLIENT_HELLO) {
        client_fail(c, EPROTO, "unexpected WELCOME");
        return;
    }
    msg = tw_parse_welcome(c->small, len, &lease_ms, &max_read,
                           &max_outstanding);
    if (msg) {
        client_fail(c, EPROTO, "%s", msg);
        free(msg);
        return;
    }
    c->lease_ms = lease_ms;
    c->max_read = max_read;
    c->window = MIN(max_outstanding, CLIENT_MAX_WINDOW);
    if (c->keepalive_ms < 0) {
        c->keepalive_ms = MAX(lease_ms / 3, 1);
    }
    c->next_keepalive = time_msec() + c->keepalive_ms;
    c->state = CLIENT_DIRECTORY;
}

static void
client_handle_directory(struct transport_client *c, uint32_t xid, size_t len)
{
    struct transport_region_info *regions;
    size_t n;
    char *msg;

    if (!c->dir_xid || xid != c->dir_xid) {
        client_fail(c, EPROTO, "DIRECTORY for unknown request %"PRIu32, xid);
        return;
    }
    msg = tw_parse_directory(c->small, len, &regions, &n);
    if (msg) {
        client_fail(c, EPROTO, "%s", msg);
        free(msg);
        return;
    }
    free(c->regions);
    c->regions = regions;
    c->n_regions = n;
    c->dir_seq++;
    c->dir_xid = 0;
    if (c->state == CLIENT_DIRECTORY) {
        c->state = CLIENT_READY;
        c->status = 0;
    }
}

static void
client_handle_control_reply(struct transport_client *c, uint32_t xid,
                            size_t len)
{
    struct client_ctl *cc = client_find_ctl(c, xid);
    struct transport_ctl_reply reply;
    uint16_t type;
    char *msg;

    if (!cc || cc->answered) {
        client_fail(c, EPROTO, "CONTROL_REPLY for unknown request %"PRIu32,
                    xid);
        return;
    }
    msg = tw_parse_control_reply(c->small, len, &type, &reply);
    if (!msg && type != cc->type) {
        msg = xasprintf("CONTROL_REPLY of type %"PRIu16" to a %s", type,
                        transport_ctl_type_name(cc->type));
        transport_ctl_reply_destroy(&reply);
    }
    if (msg) {
        client_fail(c, EPROTO, "%s", msg);
        free(msg);
        return;
    }

    if (cc->internal) {
        if (xid == c->keepalive_xid) {
            c->keepalive_xid = 0;
        }
        hmap_remove(&c->ctls, &cc->node);
        transport_ctl_reply_destroy(&reply);
        free(cc);
    } else {
        cc->answered = true;
        cc->reply = reply;
    }
}

static void
client_handle_error(struct transport_client *c, size_t len)
{
    uint32_t code;
    char *text;
    char *msg = tw_parse_error(c->small, len, &code, &text);

    if (msg) {
        client_fail(c, EPROTO, "%s", msg);
        free(msg);
    } else {
        client_fail(c, tw_error_to_errno(code), "%s", text);
        free(text);
    }
}

static void
client_dispatch(struct transport_client *c, const struct tw_header *h)
{
    uint32_t xid = ntohl(h->xid);
    size_t len = ntohl(h->length);

    switch (h->type) {
    case TW_DATA:
        client_handle_data(c);
        break;
    case TW_DATA_SUM:
        client_handle_data_sum(c);
        break;
    case TW_WELCOME:
        client_handle_welcome(c, len);
        break;
    case TW_DIRECTORY:
        client_handle_directory(c, xid, len);
        break;
    case TW_CONTROL_REPLY:
        client_handle_control_reply(c, xid, len);
        break;
    case TW_ERROR:
        client_handle_error(c, len);
        break;
    default:
        OVS_NOT_REACHED();      /* tw_check_header() let only these by. */
    }
}

static void
client_receive(struct transport_client *c)
{
    struct rx *rx = &c->rx;

    for (int budget = CLIENT_BUDGET; budget > 0; budget--) {
        int error;

        if (!rx->in_payload) {
            error = tcp_recv_into(c->stream, rx->hdr.bytes, TW_HEADER_LEN,
                                  &rx->hdr_have);
            if (error) {
                goto recv_error;
            }
            if (!client_accept_header(c)) {
                return;
            }
        }

        error = tcp_recv_into(c->stream, rx->dst, rx->len, &rx->have);
        if (error) {
            goto recv_error;
        }
        struct tw_header h = rx->hdr.h;
        rx_reset(rx);
        client_dispatch(c, &h);
        if (c->state == CLIENT_FAILED) {
            return;
        }
        continue;

    recv_error:
        if (error != EAGAIN) {
            client_lost(c, error);
        }
        return;
    }
    c->more = true;
}

/* Opening and closing. */

char *
transport_client_open(const char *endpoint,
                      const struct transport_token *token,
                      struct transport_client **cp)
{
    struct stream *stream;
    int error;

    *cp = NULL;
    error = stream_verify_name(endpoint);
    if (error) {
        return xasprintf("%s: not an endpoint to connect to (try "
                         "tcp:IP:PORT, ssl:IP:PORT or unix:PATH)", endpoint);
    }

    struct transport_client *c = xzalloc(sizeof *c);
    c->name = xstrdup(endpoint);
    c->state = CLIENT_CONNECTING;
    c->status = EAGAIN;
    c->token = *token;
    c->next_xid = 1;
    c->keepalive_ms = -1;
    txq_init(&c->txq);
    rx_reset(&c->rx);
    ovs_list_init(&c->waiting);
    hmap_init(&c->inflight);
    ovs_list_init(&c->completions);
    hmap_init(&c->ctls);
    *cp = c;

    error = stream_open(endpoint, &stream, DSCP_DEFAULT);
    if (error) {
        client_fail(c, error, "connection failed (%s)", ovs_strerror(error));
    } else {
        c->stream = stream;
    }
    return NULL;
}

void
transport_client_close(struct transport_client *c)
{
    struct client_ctl *cc;
    struct read_frag *frag;
    struct read_op *op;

    if (!c) {
        return;
    }
    stream_close(c->stream);
    txq_destroy(&c->txq);

    /* An op is in at most one list; ops wholly in flight are in none, so
     * their last fragment frees them. */
    HMAP_FOR_EACH_POP (frag, node, &c->inflight) {
        op = frag->op;
        if (!--op->n_inflight && !op->waiting) {
            free(op);
        }
        free(frag);
    }
    hmap_destroy(&c->inflight);
    LIST_FOR_EACH_POP (op, node, &c->waiting) {
        free(op);
    }
    LIST_FOR_EACH_POP (op, node, &c->completions) {
        free(op);
    }
    HMAP_FOR_EACH_POP (cc, node, &c->ctls) {
        transport_ctl_reply_destroy(&cc->reply);
        free(cc);
    }
    hmap_destroy(&c->ctls);
    free(c->regions);
    free(c->error);
    free(c->name);
    free(c);
}

/* The poll loop. */

void
transport_client_run(struct transport_client *c)
{
    int error;

    c->more = false;
    if (c->state == CLIENT_FAILED) {
        return;
    }
    stream_run(c->stream);
    if (c->state == CLIENT_CONNECTING) {
        error = stream_connect(c->stream);
        if (error == EAGAIN) {
            return;
        } else if (error) {
            client_fail(c, error, "connection failed (%s)",
                        ovs_strerror(error));
            return;
        }
        size_t old_size;
        struct ofpbuf *b = client_buf(c, &old_size);
        tw_put_hello(b, client_new_xid(c), &c->token);
        txq_commit(&c->txq, b, old_size);
        client_send_dir_request(c);
        c->state = CLIENT_HELLO;
    }

    client_receive(c);
    if (c->state == CLIENT_READY) {
        client_issue_reads(c);
        client_keepalive(c, time_msec());
    }
    if (c->state != CLIENT_FAILED) {
        error = txq_flush(&c->txq, c->stream);
        if (error) {
            client_lost(c, error);
        }
    }
}

void
transport_client_wait(struct transport_client *c)
{
    if (c->state == CLIENT_FAILED) {
        return;
    }
    stream_run_wait(c->stream);
    if (c->state == CLIENT_CONNECTING) {
        stream_connect_wait(c->stream);
        return;
    }
    stream_recv_wait(c->stream);
    if (!txq_is_empty(&c->txq)) {
        stream_send_wait(c->stream);
    }
    if (c->more) {
        poll_immediate_wake();
    }
    if (c->state == CLIENT_READY) {
        if (c->keepalive_ms > 0 && !c->keepalive_xid) {
            poll_timer_wait_until(c->next_keepalive);
        }
        if (hmap_count(&c->inflight) < c->window
            && !ovs_list_is_empty(&c->waiting)) {
            poll_immediate_wake();
        }
    }
}

/* Status. */

int
transport_client_status(const struct transport_client *c)
{
    return c->status;
}

const char *
transport_client_error(const struct transport_client *c)
{
    return c->error;
}

const char *
transport_client_name(const struct transport_client *c)
{
    return c->name;
}

long long int
transport_client_lease_ms(const struct transport_client *c)
{
    return c->lease_ms;
}

uint32_t
transport_client_max_read(const struct transport_client *c)
{
    return c->max_read;
}

unsigned int
transport_client_max_outstanding(const struct transport_client *c)
{
    return c->window;
}

void
transport_client_set_keepalive(struct transport_client *c,
                               long long int interval_ms)
{
    c->keepalive_ms = MAX(interval_ms, 0);
    c->next_keepalive = time_msec() + c->keepalive_ms;
}

/* The directory. */

size_t
transport_client_n_regions(const struct transport_client *c)
{
    return c->n_regions;
}

const struct transport_region_info *
transport_client_region(const struct transport_client *c, size_t idx)
{
    return idx < c->n_regions ? &c->regions[idx] : NULL;
}

const struct transport_region_info *
transport_client_find_region(const struct transport_client *c, uint32_t id)
{
    for (size_t i = 0; i < c->n_regions; i++) {
        if (c->regions[i].id == id) {
            return &c->regions[i];
        }
    }
    return NULL;
}

const struct transport_region_info *
transport_client_find_region_by_name(const struct transport_client *c,
                                     const char *name)
{
    for (size_t i = 0; i < c->n_regions; i++) {
        if (!strcmp(c->regions[i].name, name)) {
            return &c->regions[i];
        }
    }
    return NULL;
}

void
transport_client_refresh(struct transport_client *c)
{
    if (c->state == CLIENT_READY && !c->dir_xid) {
        client_send_dir_request(c);
    }
}

uint64_t
transport_client_dir_seq(const struct transport_client *c)
{
    return c->dir_seq;
}

/* Reads. */

static char *
client_check_up(const struct transport_client *c)
{
    if (c->state == CLIENT_FAILED) {
        return xstrdup(c->error);
    }
    if (c->state != CLIENT_READY) {
        return xasprintf("%s: session is not up yet", c->name);
    }
    return NULL;
}

char *
transport_client_read(struct transport_client *c, uint32_t region,
                      uint64_t offset, void *buf, size_t len, uint64_t cookie)
{
    const struct transport_region_info *info;
    char *error = client_check_up(c);

    if (error) {
        return error;
    }
    info = transport_client_find_region(c, region);
    if (!info) {
        return xasprintf("unknown region %"PRIu32, region);
    }
    if (offset > info->size || len > info->size - offset) {
        return xasprintf("read beyond region %"PRIu32": offset %"PRIu64
                         " length %"PRIuSIZE" size %"PRIu64,
                         region, offset, len, info->size);
    }

    struct read_op *op = xzalloc(sizeof *op);
    op->cookie = cookie;
    op->region = region;
    op->offset = offset;
    op->buf = buf;
    op->len = len;
    c->n_pending++;
    if (len) {
        op->waiting = true;
        ovs_list_push_back(&c->waiting, &op->node);
    } else {
        client_complete(c, op);
    }
    return NULL;
}

bool
transport_client_poll(struct transport_client *c,
                      struct transport_completion *completion)
{
    if (ovs_list_is_empty(&c->completions)) {
        return false;
    }

    struct read_op *op = CONTAINER_OF(ovs_list_pop_front(&c->completions),
                                      struct read_op, node);
    completion->cookie = op->cookie;
    completion->error = op->error;
    c->n_pending--;
    free(op);
    return true;
}

size_t
transport_client_n_pending(const struct transport_client *c)
{
    return c->n_pending;
}

/* Control. */

char *
transport_client_control(struct transport_client *c,
                         const struct transport_ctl *ctl, uint32_t *idp)
{
    char *error = client_check_up(c);

    if (error) {
        return error;
    }
    if (!ctl->type) {
        return xstrdup("control message of type 0");
    }
    *idp = client_send_control(c, ctl, false)->xid;
    return NULL;
}

bool
transport_client_control_reply(struct transport_client *c, uint32_t id,
                               struct transport_ctl_reply *reply)
{
    struct client_ctl *cc = client_find_ctl(c, id);

    if (!cc || cc->internal || !cc->answered) {
        return false;
    }
    *reply = cc->reply;
    hmap_remove(&c->ctls, &cc->node);
    free(cc);
    return true;
}

/* Blocking helpers. */

typedef bool client_done_func(struct transport_client *, const void *aux);

/* Runs 'c' until 'done' says so, the session fails, or 'timeout_ms'
 * passes; returns NULL in the first case, else the error.  A timeout fails
 * the session: a read still in flight must never land in a buffer that the
 * caller, told of the timeout, has since freed. */
static char *
client_block(struct transport_client *c, long long int timeout_ms,
             const char *what, client_done_func *done, const void *aux)
{
    long long int deadline = time_msec() + timeout_ms;

    for (;;) {
        transport_client_run(c);
        if (done(c, aux)) {
            return NULL;
        }
        if (c->state == CLIENT_FAILED) {
            return xstrdup(c->error);
        }
        if (time_msec() >= deadline) {
            client_fail(c, ETIMEDOUT, "no %s within %lld ms", what,
                        timeout_ms);
            return xstrdup(c->error);
        }
        transport_client_wait(c);
        poll_timer_wait_until(deadline);
        poll_block();
    }
}

static bool
client_is_ready(struct transport_client *c, const void *aux OVS_UNUSED)
{
    return c->state == CLIENT_READY;
}

char *
transport_client_open_block(const char *endpoint,
                            const struct transport_token *token,
                            long long int timeout_ms,
                            struct transport_client **cp)
{
    struct transport_client *c;
    char *error = transport_client_open(endpoint, token, &c);

    if (!error) {
        error = client_block(c, timeout_ms, "directory", client_is_ready,
                             NULL);
        if (error) {
            transport_client_close(c);
            c = NULL;
        }
    }
    *cp = c;
    return error;
}

static bool
client_dir_changed(struct transport_client *c, const void *seq_)
{
    const uint64_t *seq = seq_;

    return c->dir_seq != *seq;
}

char *
transport_client_refresh_block(struct transport_client *c,
                               long long int timeout_ms)
{
    uint64_t seq = c->dir_seq;
    char *error = client_check_up(c);

    if (error) {
        return error;
    }
    transport_client_refresh(c);
    return client_block(c, timeout_ms, "directory", client_dir_changed,
                        &seq);
}

static bool
client_has_completion(struct transport_client *c, const void *aux OVS_UNUSED)
{
    return !ovs_list_is_empty(&c->completions);
}

char *
transport_client_read_all(struct transport_client *c, uint32_t region,
                          uint64_t offset, void *buf, size_t len,
                          long long int timeout_ms)
{
    struct transport_completion completion;
    char *error;

    if (c->n_pending) {
        return xasprintf("%s: %"PRIuSIZE" reads already pending", c->name,
                         c->n_pending);
    }
    error = transport_client_read(c, region, offset, buf, len, 0);
    if (error) {
        return error;
    }

    /* However this ends, the read completes: a failed or timed-out session
     * flushes it. */
    free(client_block(c, timeout_ms, "read completion",
                      client_has_completion, NULL));
    ovs_assert(transport_client_poll(c, &completion));
    return completion.error ? xstrdup(c->error) : NULL;
}

static bool
client_ctl_answered(struct transport_client *c, const void *xid_)
{
    const uint32_t *xid = xid_;
    const struct client_ctl *cc = client_find_ctl(c, *xid);

    return cc && cc->answered;
}

char *
transport_client_control_block(struct transport_client *c,
                               const struct transport_ctl *ctl,
                               long long int timeout_ms,
                               struct transport_ctl_reply *reply)
{
    uint32_t xid;
    char *error;

    memset(reply, 0, sizeof *reply);
    error = transport_client_control(c, ctl, &xid);
    if (!error) {
        error = client_block(c, timeout_ms, "reply", client_ctl_answered,
                             &xid);
    }
    if (!error) {
        ovs_assert(transport_client_control_reply(c, xid, reply));
    }
    return error;
}
