/*
 * The rdma: client (rdma-client.h): rdma_cm to connect, then one-sided RDMA
 * READs of the advertised region.
 *
 * The client has its own rdma_cm event channel and completion channel, both
 * non-blocking; its blocking helpers wait on their fds in a small OVS poll
 * loop of their own.  Every READ is signaled; its wr_id is a sequence
 * number, and a completion is matched to its chunk by that wr_id, never by
 * the order in which completions come.
 *
 * The client logs only at DBG level: its caller knows what the pull was for
 * and reports failures with that context.
 */
#include <config.h>

#include "rdma-client.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>
#include "byte-order.h"
#include "openvswitch/poll-loop.h"
#include "openvswitch/vlog.h"
#include "rdma-wire.h"
#include "socket-util.h"
#include "timeval.h"
#include "transport-wire.h"
#include "util.h"

VLOG_DEFINE_THIS_MODULE(transport_rdma_client);

/* READs in flight at most, whatever the device and the server allow. */
#define CLIENT_MAX_WINDOW 16

/* The default and smallest chunk: the bytes one READ asks for. */
#define DEFAULT_CHUNK (1024 * 1024)
#define MIN_CHUNK 4096

/* Each step of address and route resolution may take this long, at most. */
#define RESOLVE_TIMEOUT_MS 2000

/* The most private data any CM event carries (an IB REP: 196 bytes). */
#define MAX_EVENT_PRIVATE 256

struct rdma_client {
    char *name;                 /* "rdma:IP:PORT". */
    struct rdma_event_channel *channel;
    struct rdma_cm_id *id;
    struct ibv_pd *pd;
    struct ibv_comp_channel *comp;
    struct ibv_cq *cq;
    bool has_qp;
    bool connected;             /* ESTABLISHED and not yet disconnected. */

    struct rdma_client_advert advert;
    unsigned int depth;         /* What the device lets us initiate. */
    unsigned int window;
    uint32_t chunk;
    uint32_t max_chunk;         /* The port's max_msg_sz. */
    uint64_t next_wr_id;

    int status;                 /* 0, or the errno of the first failure. */
    char *error;
};

/* An event, copied and acknowledged. */
struct cm_event {
    enum rdma_cm_event_type type;
    int status;
    uint8_t pdata[MAX_EVENT_PRIVATE];
    size_t pdata_len;
};

bool
rdma_client_supported(void)
{
    return true;
}

void
rdma_fork_init(void)
{
    static bool done;

    if (!done) {
        done = true;
        int error = ibv_fork_init();
        if (error) {
            VLOG_WARN("ibv_fork_init failed (%s): a fork() while memory is "
                      "registered for RDMA could corrupt it",
                      ovs_strerror(error));
        } else {
            VLOG_DBG("ibv_fork_init: %s",
                     ibv_is_fork_initialized() == IBV_FORK_UNNEEDED
                     ? "not needed with this kernel" : "enabled");
        }
    }
}

static int OVS_PRINTF_FORMAT(3, 4)
client_fail(struct rdma_client *c, int status, const char *format, ...)
{
    va_list args;

    if (!c->status) {
        va_start(args, format);
        char *msg = xvasprintf(format, args);
        va_end(args);

        c->error = xasprintf("%s: %s", c->name, msg);
        c->status = status;
        free(msg);
        VLOG_DBG("%s", c->error);

        /* Whatever is in flight is flushed and lands nowhere. */
        if (c->has_qp) {
            struct ibv_qp_attr attr = { .qp_state = IBV_QPS_ERR };
            ibv_modify_qp(c->id->qp, &attr, IBV_QP_STATE);
        }
    }
    return c->status;
}

/* CM events. */

/* Gets one event without waiting: 0 and '*e', or EAGAIN, or an errno. */
static int
cm_event_get(struct rdma_client *c, struct cm_event *e)
{
    struct rdma_cm_event *event;

    if (rdma_get_cm_event(c->channel, &event)) {
        return errno;
    }
    e->type = event->event;
    e->status = event->status;
    e->pdata_len = 0;
    if (event->param.conn.private_data
        && (e->type == RDMA_CM_EVENT_ESTABLISHED
            || e->type == RDMA_CM_EVENT_REJECTED)) {
        e->pdata_len = MIN(event->param.conn.private_data_len,
                           sizeof e->pdata);
        memcpy(e->pdata, event->param.conn.private_data, e->pdata_len);
    }
    rdma_ack_cm_event(event);
    VLOG_DBG("%s: %s (status %d)", c->name, rdma_event_str(e->type),
             e->status);
    return 0;
}

/* Waits for the next event until 'deadline'. */
static int
cm_event_wait(struct rdma_client *c, long long int deadline,
              struct cm_event *e)
{
    for (;;) {
        int error = cm_event_get(c, e);
        if (error != EAGAIN) {
            return error;
        }
        if (time_msec() >= deadline) {
            return ETIMEDOUT;
        }
        poll_fd_wait(c->channel->fd, POLLIN);
        poll_timer_wait_until(deadline);
        poll_block();
    }
}

/* Handles the events that came unasked (a disconnect).  Returns the
 * client's status. */
static int
cm_events_drain(struct rdma_client *c)
{
    struct cm_event e;

    while (!cm_event_get(c, &e)) {
        if (e.type == RDMA_CM_EVENT_DISCONNECTED) {
            c->connected = false;
            client_fail(c, ECONNABORTED, "the server closed the connection "
                        "(the export was withdrawn or its lease expired)");
        } else if (e.type == RDMA_CM_EVENT_DEVICE_REMOVAL) {
            client_fail(c, ENODEV, "the RDMA device went away");
        }
    }
    return c->status;
}

/* Opening. */

static int
reject_errno(enum tw_error_code code)
{
    switch (code) {
    case TW_ERR_NO_TOKEN:
    case TW_ERR_BAD_TOKEN:
        return EACCES;
    case TW_ERR_BUSY:
        return EBUSY;
    case TW_ERR_WITHDRAWN:
    case TW_ERR_SHUTDOWN:
        return ECONNABORTED;
    case TW_ERR_PROTOCOL:
    case TW_ERR_UNKNOWN_REGION:
    case TW_ERR_BEYOND_REGION:
    case TW_ERR_LIMIT:
    case TW_ERR_TIMEOUT:
    default:
        return EPROTO;
    }
}

static void
handle_reject(struct rdma_client *c, const struct cm_event *e)
{
    struct rdma_reject rej;

    if (e->pdata_len >= sizeof rej) {
        memcpy(&rej, e->pdata, sizeof rej);
        if (ntohl(rej.magic) == RDMA_REJECT_MAGIC) {
            char text[RDMA_REJECT_TEXT_LEN + 1];

            for (size_t i = 0; i < RDMA_REJECT_TEXT_LEN; i++) {
                char ch = rej.text[i];
                text[i] = !ch ? '\0' : ch >= 32 && ch < 127 ? ch : '?';
            }
            text[RDMA_REJECT_TEXT_LEN] = '\0';
            client_fail(c, reject_errno(rej.code), "rejected: %s", text);
            return;
        }
    }
    client_fail(c, ECONNREFUSED, "connection refused (no prdma: listener "
                "there? reject status %d)", e->status);
}

static void
handle_advert(struct rdma_client *c, const struct cm_event *e)
{
    struct rdma_advert adv;

    if (e->pdata_len < sizeof adv) {
        client_fail(c, EPROTO, "the server's accept carries %"PRIuSIZE
                    " bytes of private data, not an advert", e->pdata_len);
        return;
    }
    memcpy(&adv, e->pdata, sizeof adv);
    if (ntohl(adv.magic) != RDMA_ADVERT_MAGIC
        || adv.version != RDMA_WIRE_VERSION) {
        client_fail(c, EPROTO, "the server's accept carries no advert "
                    "(magic %#"PRIx32", version %d)", ntohl(adv.magic),
                    adv.version);
        return;
    }

    struct rdma_client_advert *a = &c->advert;
    a->region = ntohl(adv.region);
    a->rkey = ntohl(adv.rkey);
    a->addr = ntohll(adv.addr);
    a->len = ntohll(adv.len);
    a->generation = ntohll(adv.generation);
    a->responder_resources = adv.responder_resources;
    if (!a->responder_resources) {
        client_fail(c, EPROTO, "the server takes no READs "
                    "(responder_resources 0)");
        return;
    }
    if (a->addr + a->len < a->addr) {
        client_fail(c, EPROTO, "bad advert: addr %#"PRIx64" len %"PRIu64,
                    a->addr, a->len);
        return;
    }
    c->window = MIN(MIN(c->depth, a->responder_resources),
                    CLIENT_MAX_WINDOW);
    c->connected = true;
}

/* Sets up the verbs resources on the resolved id. */
static int
client_setup_verbs(struct rdma_client *c)
{
    struct ibv_context *verbs = c->id->verbs;
    struct ibv_device_attr attr;
    struct ibv_port_attr port;

    if (ibv_query_device(verbs, &attr)) {
        return client_fail(c, errno, "cannot query the device (%s)",
                           ovs_strerror(errno));
    }
    c->depth = MIN(MIN(attr.max_qp_init_rd_atom, attr.max_qp_rd_atom),
                   CLIENT_MAX_WINDOW);
    if (!c->depth) {
        return client_fail(c, EOPNOTSUPP, "the device cannot issue RDMA "
                           "READs (max_qp_init_rd_atom 0)");
    }
    c->max_chunk = UINT32_MAX;
    if (!ibv_query_port(verbs, c->id->port_num, &port) && port.max_msg_sz) {
        c->max_chunk = port.max_msg_sz;
    }
    c->chunk = MIN(DEFAULT_CHUNK, c->max_chunk);

    c->pd = ibv_alloc_pd(verbs);
    if (!c->pd) {
        return client_fail(c, errno, "cannot allocate a PD (%s)",
                           ovs_strerror(errno));
    }
    c->comp = ibv_create_comp_channel(verbs);
    if (!c->comp) {
        return client_fail(c, errno, "cannot create a completion channel "
                           "(%s)", ovs_strerror(errno));
    }
    if (set_nonblocking(c->comp->fd)) {
        return client_fail(c, EIO, "cannot make the completion channel "
                           "non-blocking");
    }
    c->cq = ibv_create_cq(verbs, 2 * CLIENT_MAX_WINDOW, c, c->comp, 0);
    if (!c->cq) {
        return client_fail(c, errno, "cannot create a CQ (%s)",
                           ovs_strerror(errno));
    }

    struct ibv_qp_init_attr qp_attr = {
        .send_cq = c->cq,
        .recv_cq = c->cq,
        .cap = {
            .max_send_wr = CLIENT_MAX_WINDOW,
            .max_recv_wr = 1,
            .max_send_sge = 1,
            .max_recv_sge = 1,
        },
        .qp_type = IBV_QPT_RC,
    };
    if (rdma_create_qp(c->id, c->pd, &qp_attr)) {
        return client_fail(c, errno, "cannot create a QP (%s)",
                           ovs_strerror(errno));
    }
    c->has_qp = true;
    return 0;
}

static int
client_connect(struct rdma_client *c, const struct sockaddr_storage *ss,
               const struct transport_token *token, uint32_t region,
               long long int deadline)
{
    struct cm_event e;
    int error;

    c->channel = rdma_create_event_channel();
    if (!c->channel) {
        return client_fail(c, errno, "cannot open the RDMA CM (%s); is "
                           "rdma_ucm loaded and an RDMA device present?",
                           ovs_strerror(errno));
    }
    if (set_nonblocking(c->channel->fd)) {
        return client_fail(c, EIO, "cannot make the CM channel "
                           "non-blocking");
    }
    if (rdma_create_id(c->channel, &c->id, c, RDMA_PS_TCP)) {
        c->id = NULL;
        return client_fail(c, errno, "cannot create a CM id (%s)",
                           ovs_strerror(errno));
    }

    /* Address, then route. */
    if (rdma_resolve_addr(c->id, NULL, CONST_CAST(struct sockaddr *,
                                                  (const void *) ss),
                          RESOLVE_TIMEOUT_MS)) {
        return client_fail(c, errno, "cannot resolve the address (%s)",
                           ovs_strerror(errno));
    }
    error = cm_event_wait(c, deadline, &e);
    if (error || e.type != RDMA_CM_EVENT_ADDR_RESOLVED) {
        return client_fail(c, error ? error : EHOSTUNREACH,
                           "no RDMA device reaches the address (%s)",
                           error ? ovs_strerror(error)
                           : rdma_event_str(e.type));
    }
    if (rdma_resolve_route(c->id, RESOLVE_TIMEOUT_MS)) {
        return client_fail(c, errno, "cannot resolve the route (%s)",
                           ovs_strerror(errno));
    }
    error = cm_event_wait(c, deadline, &e);
    if (error || e.type != RDMA_CM_EVENT_ROUTE_RESOLVED) {
        return client_fail(c, error ? error : EHOSTUNREACH,
                           "no route (%s)", error ? ovs_strerror(error)
                           : rdma_event_str(e.type));
    }

    error = client_setup_verbs(c);
    if (error) {
        return error;
    }

    struct rdma_request req = {
        .magic = htonl(RDMA_REQUEST_MAGIC),
        .version = RDMA_WIRE_VERSION,
        .region = htonl(region),
    };
    memcpy(req.token, token->bytes, sizeof req.token);
    struct rdma_conn_param param = {
        .private_data = &req,
        .private_data_len = sizeof req,
        .initiator_depth = c->depth,
        .responder_resources = 1,
        .retry_count = 7,
        .rnr_retry_count = 7,
    };
    if (rdma_connect(c->id, &param)) {
        return client_fail(c, errno, "rdma_connect failed (%s)",
                           ovs_strerror(errno));
    }
    error = cm_event_wait(c, deadline, &e);
    if (error) {
        return client_fail(c, error, "no answer from the server (%s)",
                           ovs_strerror(error));
    }
    if (e.type == RDMA_CM_EVENT_ESTABLISHED) {
        handle_advert(c, &e);
    } else if (e.type == RDMA_CM_EVENT_REJECTED) {
        handle_reject(c, &e);
    } else if (e.type == RDMA_CM_EVENT_UNREACHABLE) {
        client_fail(c, EHOSTUNREACH, "the server is unreachable");
    } else {
        client_fail(c, ECONNREFUSED, "connection failed (%s, status %d)",
                    rdma_event_str(e.type), e.status);
    }
    return c->status;
}

char *
rdma_client_open(const char *endpoint, const struct transport_token *token,
                 uint32_t region, long long int timeout_ms,
                 struct rdma_client **clientp, int *statusp)
{
    long long int deadline = time_msec() + timeout_ms;
    struct sockaddr_storage ss;
    int dummy;

    statusp = statusp ? statusp : &dummy;
    *clientp = NULL;
    if (strncmp(endpoint, "rdma:", 5)
        || !inet_parse_active(endpoint + 5, -1, &ss, false, NULL)) {
        *statusp = EINVAL;
        return xasprintf("%s: not an rdma: endpoint (use rdma:IP:PORT)",
                         endpoint);
    }

    rdma_fork_init();

    struct rdma_client *c = xzalloc(sizeof *c);
    c->name = xstrdup(endpoint);
    if (client_connect(c, &ss, token, region, deadline)) {
        char *error = xstrdup(c->error);
        *statusp = c->status;
        rdma_client_close(c);
        return error;
    }
    VLOG_DBG("%s: region %"PRIu32": %"PRIu64" bytes at %#"PRIx64", "
             "generation %"PRIu64", window %u", c->name, c->advert.region,
             c->advert.len, c->advert.addr, c->advert.generation, c->window);
    *statusp = 0;
    *clientp = c;
    return NULL;
}

void
rdma_client_close(struct rdma_client *c)
{
    if (!c) {
        return;
    }
    if (c->connected) {
        rdma_disconnect(c->id);
    }
    if (c->has_qp) {
        rdma_destroy_qp(c->id);
    }
    if (c->cq) {
        ibv_destroy_cq(c->cq);
    }
    if (c->comp) {
        ibv_destroy_comp_channel(c->comp);
    }
    if (c->pd) {
        ibv_dealloc_pd(c->pd);
    }
    if (c->id) {
        rdma_destroy_id(c->id);
    }
    if (c->channel) {
        rdma_destroy_event_channel(c->channel);
    }
    free(c->name);
    free(c->error);
    free(c);
}

const struct rdma_client_advert *
rdma_client_advert(const struct rdma_client *c)
{
    return &c->advert;
}

const char *
rdma_client_name(const struct rdma_client *c)
{
    return c->name;
}

unsigned int
rdma_client_window(const struct rdma_client *c)
{
    return c->window;
}

uint32_t
rdma_client_chunk(const struct rdma_client *c)
{
    return c->chunk;
}

void
rdma_client_set_chunk(struct rdma_client *c, uint32_t chunk)
{
    c->chunk = MIN(MAX(chunk, MIN_CHUNK), c->max_chunk);
}

int
rdma_client_status(const struct rdma_client *c)
{
    return c->status;
}

const char *
rdma_client_error(const struct rdma_client *c)
{
    return c->error;
}

/* Reads. */

struct read_slot {
    bool busy;
    uint64_t wr_id;
    size_t pos;                 /* Where in the caller's buffer. */
    uint32_t len;
};

static const char *
wc_status_hint(enum ibv_wc_status status)
{
    return (status == IBV_WC_REM_ACCESS_ERR
            ? "the server refused access: its rkey was revoked (export "
              "withdrawn or lease expired) or the range is not registered"
            : status == IBV_WC_WR_FLUSH_ERR
            ? "flushed: the connection was already down"
            : status == IBV_WC_RETRY_EXC_ERR
            ? "the server stopped answering"
            : status == IBV_WC_REM_INV_REQ_ERR
            ? "the server found the request invalid"
            : "failed");
}

static int
wc_status_errno(enum ibv_wc_status status)
{
    return (status == IBV_WC_REM_ACCESS_ERR
            || status == IBV_WC_REM_INV_REQ_ERR
            || status == IBV_WC_REM_OP_ERR ? EREMOTEIO
            : status == IBV_WC_WR_FLUSH_ERR ? ECONNABORTED
            : status == IBV_WC_RETRY_EXC_ERR
            || status == IBV_WC_RNR_RETRY_EXC_ERR
            || status == IBV_WC_RESP_TIMEOUT_ERR ? ETIMEDOUT
            : EIO);
}

/* Takes what the completion channel signalled and re-arms the CQ. */
static void
comp_channel_drain(struct rdma_client *c)
{
    struct ibv_cq *cq;
    void *ctx;
    unsigned int n = 0;

    while (!ibv_get_cq_event(c->comp, &cq, &ctx)) {
        n++;
    }
    if (n) {
        ibv_ack_cq_events(c->cq, n);
    }
}

/* Polls the CQ and matches each completion to its slot by wr_id.  Returns
 * the number of completions taken. */
static int
reap(struct rdma_client *c, struct read_slot *slots, uint64_t offset,
     size_t *done, unsigned int *n_out)
{
    struct ibv_wc wcs[CLIENT_MAX_WINDOW];
    int n = ibv_poll_cq(c->cq, ARRAY_SIZE(wcs), wcs);

    if (n < 0) {
        client_fail(c, EIO, "cannot poll the CQ");
        return 0;
    }
    for (int i = 0; i < n && !c->status; i++) {
        const struct ibv_wc *wc = &wcs[i];
        struct read_slot *slot = NULL;

        for (size_t j = 0; j < CLIENT_MAX_WINDOW; j++) {
            if (slots[j].busy && slots[j].wr_id == wc->wr_id) {
                slot = &slots[j];
                break;
            }
        }
        if (!slot) {
            client_fail(c, EPROTO, "completion for unknown work request "
                        "%"PRIu64, wc->wr_id);
        } else if (wc->status != IBV_WC_SUCCESS) {
            client_fail(c, wc_status_errno(wc->status),
                        "RDMA READ of offset %"PRIu64" length %"PRIu32
                        " failed: %s (%s)", offset + slot->pos, slot->len,
                        wc_status_hint(wc->status),
                        ibv_wc_status_str(wc->status));
        } else if (wc->opcode != IBV_WC_RDMA_READ) {
            client_fail(c, EPROTO, "completion of work request %"PRIu64
                        " is not an RDMA READ (opcode %d)", wc->wr_id,
                        wc->opcode);
        } else {
            slot->busy = false;
            *done += slot->len;
            (*n_out)--;
        }
    }
    return n;
}

char *
rdma_client_read(struct rdma_client *c, uint64_t offset, void *buf_,
                 size_t len, long long int timeout_ms)
{
    long long int deadline = time_msec() + timeout_ms;
    struct read_slot slots[CLIENT_MAX_WINDOW];
    uint8_t *buf = buf_;
    size_t posted = 0, done = 0;
    unsigned int n_out = 0;
    struct ibv_mr *mr;

    if (cm_events_drain(c)) {
        return xstrdup(c->error);
    }
    if (offset > c->advert.len || len > c->advert.len - offset) {
        return xasprintf("%s: read beyond the advertised region %"PRIu32": "
                         "offset %"PRIu64" length %"PRIuSIZE" size %"PRIu64
                         " (a region that grew needs a new connection)",
                         c->name, c->advert.region, offset, len,
                         c->advert.len);
    }
    if (!len) {
        return NULL;
    }

    mr = ibv_reg_mr(c->pd, buf, len, IBV_ACCESS_LOCAL_WRITE);
    if (!mr) {
        return xasprintf("%s: cannot register the %"PRIuSIZE"-byte buffer "
                         "(%s)", c->name, len, ovs_strerror(errno));
    }

    memset(slots, 0, sizeof slots);
    while (done < len && !c->status) {
        /* Keep the window full. */
        while (n_out < c->window && posted < len) {
            struct read_slot *slot = NULL;
            for (size_t i = 0; i < c->window; i++) {
                if (!slots[i].busy) {
                    slot = &slots[i];
                    break;
                }
            }
            ovs_assert(slot);

            uint32_t n = MIN(c->chunk, len - posted);
            struct ibv_sge sge = {
                .addr = (uintptr_t) (buf + posted),
                .length = n,
                .lkey = mr->lkey,
            };
            struct ibv_send_wr wr = {
                .wr_id = ++c->next_wr_id,
                .sg_list = &sge,
                .num_sge = 1,
                .opcode = IBV_WR_RDMA_READ,
                .send_flags = IBV_SEND_SIGNALED,
                .wr.rdma = {
                    .remote_addr = c->advert.addr + offset + posted,
                    .rkey = c->advert.rkey,
                },
            };
            struct ibv_send_wr *bad;
            int error = ibv_post_send(c->id->qp, &wr, &bad);
            if (error) {
                client_fail(c, error, "cannot post an RDMA READ (%s)",
                            ovs_strerror(error));
                break;
            }
            *slot = (struct read_slot) {
                .busy = true, .wr_id = wr.wr_id, .pos = posted, .len = n,
            };
            posted += n;
            n_out++;
        }
        if (c->status) {
            break;
        }

        int n = reap(c, slots, offset, &done, &n_out);
        if (n || c->status || done >= len) {
            continue;
        }

        /* Nothing yet: arm the CQ, look once more (a completion may have
         * come before the arming), then wait. */
        if (cm_events_drain(c)) {
            break;
        }
        if (time_msec() >= deadline) {
            client_fail(c, ETIMEDOUT, "%"PRIuSIZE" of %"PRIuSIZE" bytes "
                        "read within %lld ms", done, len, timeout_ms);
            break;
        }
        if (ibv_req_notify_cq(c->cq, 0)) {
            client_fail(c, EIO, "cannot arm the CQ");
            break;
        }
        if (reap(c, slots, offset, &done, &n_out)) {
            continue;
        }
        poll_fd_wait(c->comp->fd, POLLIN);
        poll_fd_wait(c->channel->fd, POLLIN);
        poll_timer_wait_until(deadline);
        poll_block();
        comp_channel_drain(c);
    }

    /* On failure the QP is in the error state (client_fail()), so nothing
     * more lands in 'buf' once its MR is gone. */
    ibv_dereg_mr(mr);
    return c->status ? xstrdup(c->error) : NULL;
}
