/*
 * The rdma: client (rdma-client.h): rdma_cm to connect, then one-sided RDMA
 * READs of the advertised region.
 *
 * One non-blocking core.  The client has its own rdma_cm event channel and
 * completion channel, both non-blocking; rdma_client_run() takes what they
 * have (CM events drive address and route resolution and the connect;
 * completions retire READs and let more be posted) and rdma_client_wait()
 * waits on their fds.  The blocking helpers (rdma_client_open(),
 * rdma_client_read_all()) are small loops of run, wait and poll_block()
 * over that same core.
 *
 * Every READ is signaled; its wr_id is a sequence number, and a completion
 * is matched to its slot, and so to its read, by that wr_id, never by the
 * order in which completions come.
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
#include "openvswitch/list.h"
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

/* A destination area the caller registered with rdma_client_register(). */
struct client_area {
    struct ovs_list node;       /* In rdma_client's 'areas'. */
    uint8_t *base;
    size_t len;
    struct ibv_mr *mr;          /* NULL once the client failed. */
};

/* A read the caller queued. */
struct client_read {
    struct ovs_list node;       /* In 'pending' or 'completed'. */
    uint64_t cookie;
    uint64_t offset;            /* In the region. */
    uint8_t *buf;
    size_t len;
    size_t posted;              /* Bytes asked for so far. */
    size_t done;                /* Bytes that arrived. */
    unsigned int n_out;         /* Its READs in flight. */
    uint32_t lkey;
    struct ibv_mr *own_mr;      /* Registered for this read alone, or NULL. */
    int error;
};

/* A READ in flight. */
struct read_slot {
    struct client_read *read;   /* NULL if the slot is free. */
    uint64_t wr_id;
    size_t pos;                 /* Where in the read's buffer. */
    uint32_t len;
};

struct rdma_client {
    char *name;                 /* "rdma:IP:PORT". */
    struct rdma_event_channel *channel;
    struct rdma_cm_id *id;
    struct ibv_pd *pd;
    struct ibv_comp_channel *comp;
    struct ibv_cq *cq;
    bool has_qp;
    bool connected;             /* ESTABLISHED and not yet disconnected. */

    /* What goes into the connect request. */
    struct rdma_request request;
    long long int connect_deadline; /* LLONG_MAX once established. */

    struct rdma_client_advert advert;
    unsigned int depth;         /* What the device lets us initiate. */
    unsigned int window;
    uint32_t chunk;
    uint32_t max_chunk;         /* The port's max_msg_sz. */
    uint64_t next_wr_id;

    struct read_slot slots[CLIENT_MAX_WINDOW];
    unsigned int n_out;         /* Busy slots. */
    struct ovs_list pending;    /* client_read, in the order queued. */
    struct ovs_list completed;  /* client_read, for rdma_client_poll(). */
    struct ovs_list areas;      /* client_area. */

    int status;                 /* EAGAIN while connecting, 0 while healthy,
                                 * else the errno of the first failure. */
    char *error;
};

/* An event, copied and acknowledged. */
struct cm_event {
    enum rdma_cm_event_type type;
    int status;
    uint8_t pdata[MAX_EVENT_PRIVATE];
    size_t pdata_len;
};

static void client_fail_reads(struct rdma_client *);

static bool
client_failed(const struct rdma_client *c)
{
    return c->status && c->status != EAGAIN;
}

bool
rdma_client_supported(void)
{
    return true;
}

bool
rdma_client_may_fall_back(int status)
{
    switch (status) {
    case EAFNOSUPPORT:
    case ECONNREFUSED:
    case EHOSTUNREACH:
    case ENETUNREACH:
    case EADDRNOTAVAIL:
    case ENODEV:
    case EOPNOTSUPP:
    case ETIMEDOUT:
        return true;
    default:
        return false;
    }
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

    if (!client_failed(c)) {
        va_start(args, format);
        char *msg = xvasprintf(format, args);
        va_end(args);

        c->error = xasprintf("%s: %s", c->name, msg);
        c->status = status;
        free(msg);
        VLOG_DBG("%s", c->error);

        /* Whatever is in flight is flushed and lands nowhere: the QP stops
         * taking responses, and the MRs of the caller's buffers go. */
        if (c->has_qp) {
            struct ibv_qp_attr attr = { .qp_state = IBV_QPS_ERR };
            ibv_modify_qp(c->id->qp, &attr, IBV_QP_STATE);
        }
        client_fail_reads(c);
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

/* Connecting. */

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
    c->status = 0;
    c->connect_deadline = LLONG_MAX;
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

/* Handles one CM event. */
static void
client_handle_event(struct rdma_client *c, const struct cm_event *e)
{
    switch (e->type) {
    case RDMA_CM_EVENT_ADDR_RESOLVED:
        if (c->status == EAGAIN
            && rdma_resolve_route(c->id, RESOLVE_TIMEOUT_MS)) {
            client_fail(c, errno, "cannot resolve the route (%s)",
                        ovs_strerror(errno));
        }
        break;

    case RDMA_CM_EVENT_ADDR_ERROR:
        client_fail(c, EHOSTUNREACH, "no RDMA device reaches the address "
                    "(%s, status %d)", rdma_event_str(e->type), e->status);
        break;

    case RDMA_CM_EVENT_ROUTE_ERROR:
        client_fail(c, EHOSTUNREACH, "no route (%s, status %d)",
                    rdma_event_str(e->type), e->status);
        break;

    case RDMA_CM_EVENT_ROUTE_RESOLVED:
        if (c->status == EAGAIN && !client_setup_verbs(c)) {
            struct rdma_conn_param param = {
                .private_data = &c->request,
                .private_data_len = sizeof c->request,
                .initiator_depth = c->depth,
                .responder_resources = 1,
                .retry_count = 7,
                .rnr_retry_count = 7,
            };
            if (rdma_connect(c->id, &param)) {
                client_fail(c, errno, "rdma_connect failed (%s)",
                            ovs_strerror(errno));
            }
        }
        break;

    case RDMA_CM_EVENT_ESTABLISHED:
        if (c->status == EAGAIN) {
            handle_advert(c, e);
            if (!c->status) {
                VLOG_DBG("%s: region %"PRIu32": %"PRIu64" bytes at "
                         "%#"PRIx64", generation %"PRIu64", window %u",
                         c->name, c->advert.region, c->advert.len,
                         c->advert.addr, c->advert.generation, c->window);
            }
        }
        break;

    case RDMA_CM_EVENT_REJECTED:
        handle_reject(c, e);
        break;

    case RDMA_CM_EVENT_UNREACHABLE:
        client_fail(c, EHOSTUNREACH, "the server is unreachable");
        break;

    case RDMA_CM_EVENT_CONNECT_ERROR:
        client_fail(c, ECONNREFUSED, "connection failed (%s, status %d)",
                    rdma_event_str(e->type), e->status);
        break;

    case RDMA_CM_EVENT_DISCONNECTED:
        c->connected = false;
        client_fail(c, ECONNABORTED, "the server closed the connection "
                    "(the export was withdrawn or its lease expired)");
        break;

    case RDMA_CM_EVENT_DEVICE_REMOVAL:
        client_fail(c, ENODEV, "the RDMA device went away");
        break;

    case RDMA_CM_EVENT_CONNECT_REQUEST:
    case RDMA_CM_EVENT_CONNECT_RESPONSE:
    case RDMA_CM_EVENT_MULTICAST_JOIN:
    case RDMA_CM_EVENT_MULTICAST_ERROR:
    case RDMA_CM_EVENT_ADDR_CHANGE:
    case RDMA_CM_EVENT_TIMEWAIT_EXIT:
    default:
        if (c->status == EAGAIN) {
            client_fail(c, ECONNREFUSED, "connection failed (%s, status "
                        "%d)", rdma_event_str(e->type), e->status);
        }
        break;
    }
}

static void
client_run_cm(struct rdma_client *c)
{
    struct cm_event e;
    int error;

    while (!(error = cm_event_get(c, &e))) {
        client_handle_event(c, &e);
    }
    if (error != EAGAIN) {
        client_fail(c, error, "cannot get an RDMA CM event (%s)",
                    ovs_strerror(error));
    }
    if (c->status == EAGAIN && time_msec() >= c->connect_deadline) {
        client_fail(c, ETIMEDOUT, "no answer from the server in time");
    }
}

char *
rdma_client_connect(const char *endpoint,
                    const struct transport_token *token, uint32_t region,
                    long long int timeout_ms, struct rdma_client **clientp)
{
    struct sockaddr_storage ss;

    *clientp = NULL;
    if (strncmp(endpoint, "rdma:", 5)
        || !inet_parse_active(endpoint + 5, -1, &ss, false, NULL)) {
        return xasprintf("%s: not an rdma: endpoint (use rdma:IP:PORT)",
                         endpoint);
    }

    rdma_fork_init();

    struct rdma_client *c = xzalloc(sizeof *c);
    c->name = xstrdup(endpoint);
    c->status = EAGAIN;
    c->connect_deadline = (timeout_ms >= 0 && timeout_ms < LLONG_MAX / 2
                           ? time_msec() + timeout_ms : LLONG_MAX);
    ovs_list_init(&c->pending);
    ovs_list_init(&c->completed);
    ovs_list_init(&c->areas);
    c->request = (struct rdma_request) {
        .magic = htonl(RDMA_REQUEST_MAGIC),
        .version = RDMA_WIRE_VERSION,
        .region = htonl(region),
    };
    memcpy(c->request.token, token->bytes, sizeof c->request.token);
    *clientp = c;

    c->channel = rdma_create_event_channel();
    if (!c->channel) {
        client_fail(c, errno, "cannot open the RDMA CM (%s); is rdma_ucm "
                    "loaded and an RDMA device present?",
                    ovs_strerror(errno));
        return NULL;
    }
    if (set_nonblocking(c->channel->fd)) {
        client_fail(c, EIO, "cannot make the CM channel non-blocking");
        return NULL;
    }
    if (rdma_create_id(c->channel, &c->id, c, RDMA_PS_TCP)) {
        c->id = NULL;
        client_fail(c, errno, "cannot create a CM id (%s)",
                    ovs_strerror(errno));
        return NULL;
    }
    if (rdma_resolve_addr(c->id, NULL, (struct sockaddr *) &ss,
                          RESOLVE_TIMEOUT_MS)) {
        client_fail(c, errno, "cannot resolve the address (%s)",
                    ovs_strerror(errno));
    }
    return NULL;
}

char *
rdma_client_open(const char *endpoint, const struct transport_token *token,
                 uint32_t region, long long int timeout_ms,
                 struct rdma_client **clientp, int *statusp)
{
    struct rdma_client *c;
    int dummy;

    statusp = statusp ? statusp : &dummy;
    *clientp = NULL;
    char *error = rdma_client_connect(endpoint, token, region, timeout_ms,
                                      &c);
    if (error) {
        *statusp = EINVAL;
        return error;
    }
    for (;;) {
        rdma_client_run(c);
        if (c->status != EAGAIN) {
            break;
        }
        rdma_client_wait(c);
        poll_block();
    }
    if (c->status) {
        error = xstrdup(c->error);
        *statusp = c->status;
        rdma_client_close(c);
        return error;
    }
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
        /* Nothing lands in the caller's buffers from here on. */
        struct ibv_qp_attr attr = { .qp_state = IBV_QPS_ERR };
        ibv_modify_qp(c->id->qp, &attr, IBV_QP_STATE);
        rdma_destroy_qp(c->id);
    }

    struct client_read *r;
    LIST_FOR_EACH_POP (r, node, &c->pending) {
        if (r->own_mr) {
            ibv_dereg_mr(r->own_mr);
        }
        free(r);
    }
    LIST_FOR_EACH_POP (r, node, &c->completed) {
        free(r);
    }
    struct client_area *a;
    LIST_FOR_EACH_POP (a, node, &c->areas) {
        if (a->mr) {
            ibv_dereg_mr(a->mr);
        }
        free(a);
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
    return c->status == EAGAIN ? NULL : c->error;
}

/* Reads. */

/* Registering the caller's buffers.
 *
 * A read into an area the caller registered with rdma_client_register()
 * uses that area's MR.  Any other read registers exactly its own buffer
 * when it is queued and deregisters it when it completes: no cache of such
 * registrations is kept, because an MR pins the pages it had when it was
 * made, and a buffer that the caller freed and got back from malloc() at
 * the same address may be other pages: a cached MR would land the bytes in
 * the old ones, silently. */

static struct client_area *
area_find(const struct rdma_client *c, const uint8_t *buf, size_t len)
{
    struct client_area *a;

    LIST_FOR_EACH (a, node, &c->areas) {
        if (buf >= a->base && len <= a->len
            && (size_t) (buf - a->base) <= a->len - len) {
            return a;
        }
    }
    return NULL;
}

char *
rdma_client_register(struct rdma_client *c, void *base, size_t len)
{
    if (c->status) {
        return xasprintf("%s: cannot register a buffer: %s", c->name,
                         c->status == EAGAIN ? "not connected yet"
                         : c->error);
    }
    if (!len) {
        return xasprintf("%s: cannot register an empty buffer", c->name);
    }

    struct ibv_mr *mr = ibv_reg_mr(c->pd, base, len, IBV_ACCESS_LOCAL_WRITE);
    if (!mr) {
        return xasprintf("%s: cannot register the %"PRIuSIZE"-byte buffer "
                         "(%s)", c->name, len, ovs_strerror(errno));
    }
    struct client_area *a = xmalloc(sizeof *a);
    a->base = base;
    a->len = len;
    a->mr = mr;
    ovs_list_push_back(&c->areas, &a->node);
    return NULL;
}

void
rdma_client_unregister(struct rdma_client *c, void *base)
{
    struct client_area *a;

    LIST_FOR_EACH (a, node, &c->areas) {
        if (a->base == base) {
            struct client_read *r;

            LIST_FOR_EACH (r, node, &c->pending) {
                ovs_assert(!a->mr || r->lkey != a->mr->lkey);
            }
            if (a->mr) {
                ibv_dereg_mr(a->mr);
            }
            ovs_list_remove(&a->node);
            free(a);
            return;
        }
    }
    OVS_NOT_REACHED();
}

static void
read_complete(struct rdma_client *c, struct client_read *r, int error)
{
    if (r->own_mr) {
        ibv_dereg_mr(r->own_mr);
        r->own_mr = NULL;
    }
    r->error = error;
    ovs_list_remove(&r->node);
    ovs_list_push_back(&c->completed, &r->node);
}

/* Fails every pending read with the client's error, as a flushed work
 * request does, and drops the MRs of the caller's buffers.  The QP is in the
 * error state already (client_fail()). */
static void
client_fail_reads(struct rdma_client *c)
{
    struct client_read *r, *next;

    memset(c->slots, 0, sizeof c->slots);
    c->n_out = 0;
    LIST_FOR_EACH_SAFE (r, next, node, &c->pending) {
        read_complete(c, r, c->status);
    }

    struct client_area *a;
    LIST_FOR_EACH (a, node, &c->areas) {
        if (a->mr) {
            ibv_dereg_mr(a->mr);
            a->mr = NULL;
        }
    }
}

char *
rdma_client_read(struct rdma_client *c, uint64_t offset, void *buf,
                 size_t len, uint64_t cookie)
{
    if (c->status) {
        return (c->status == EAGAIN
                ? xasprintf("%s: not connected yet", c->name)
                : xstrdup(c->error));
    }
    if (offset > c->advert.len || len > c->advert.len - offset) {
        return xasprintf("%s: read beyond the advertised region %"PRIu32": "
                         "offset %"PRIu64" length %"PRIuSIZE" size %"PRIu64
                         " (a region that grew needs a new connection)",
                         c->name, c->advert.region, offset, len,
                         c->advert.len);
    }

    struct client_read *r = xzalloc(sizeof *r);
    r->cookie = cookie;
    r->offset = offset;
    r->buf = buf;
    r->len = len;
    if (len) {
        struct client_area *a = area_find(c, buf, len);
        if (a) {
            r->lkey = a->mr->lkey;
        } else {
            r->own_mr = ibv_reg_mr(c->pd, buf, len, IBV_ACCESS_LOCAL_WRITE);
            if (!r->own_mr) {
                free(r);
                return xasprintf("%s: cannot register the %"PRIuSIZE"-byte "
                                 "buffer (%s)", c->name, len,
                                 ovs_strerror(errno));
            }
            r->lkey = r->own_mr->lkey;
        }
    }
    ovs_list_push_back(&c->pending, &r->node);
    if (!len) {
        read_complete(c, r, 0);
    }
    return NULL;
}

bool
rdma_client_poll(struct rdma_client *c, struct rdma_completion *completion)
{
    if (ovs_list_is_empty(&c->completed)) {
        return false;
    }

    struct client_read *r = CONTAINER_OF(ovs_list_pop_front(&c->completed),
                                         struct client_read, node);
    completion->cookie = r->cookie;
    completion->error = r->error;
    free(r);
    return true;
}

size_t
rdma_client_n_pending(const struct rdma_client *c)
{
    return ovs_list_size(&c->pending) + ovs_list_size(&c->completed);
}

/* Posts READs of the pending reads, in order, while the window has room. */
static void
client_post(struct rdma_client *c)
{
    struct client_read *r;

    if (c->status) {
        return;
    }
    LIST_FOR_EACH (r, node, &c->pending) {
        while (r->posted < r->len && c->n_out < c->window) {
            struct read_slot *slot = NULL;
            for (size_t i = 0; i < c->window; i++) {
                if (!c->slots[i].read) {
                    slot = &c->slots[i];
                    break;
                }
            }
            ovs_assert(slot);

            uint32_t n = MIN(c->chunk, r->len - r->posted);
            struct ibv_sge sge = {
                .addr = (uintptr_t) (r->buf + r->posted),
                .length = n,
                .lkey = r->lkey,
            };
            struct ibv_send_wr wr = {
                .wr_id = ++c->next_wr_id,
                .sg_list = &sge,
                .num_sge = 1,
                .opcode = IBV_WR_RDMA_READ,
                .send_flags = IBV_SEND_SIGNALED,
                .wr.rdma = {
                    .remote_addr = c->advert.addr + r->offset + r->posted,
                    .rkey = c->advert.rkey,
                },
            };
            struct ibv_send_wr *bad;
            int error = ibv_post_send(c->id->qp, &wr, &bad);
            if (error) {
                client_fail(c, error, "cannot post an RDMA READ (%s)",
                            ovs_strerror(error));
                return;
            }
            *slot = (struct read_slot) {
                .read = r, .wr_id = wr.wr_id, .pos = r->posted, .len = n,
            };
            r->posted += n;
            r->n_out++;
            c->n_out++;
        }
        if (c->n_out >= c->window) {
            break;
        }
    }
}

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

/* Takes what the completion channel signalled. */
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

/* Polls the CQ until it is empty, matching each completion to its slot by
 * wr_id.  Returns the number of completions taken. */
static int
client_reap(struct rdma_client *c)
{
    struct ibv_wc wcs[CLIENT_MAX_WINDOW];
    int total = 0;

    for (;;) {
        int n = ibv_poll_cq(c->cq, ARRAY_SIZE(wcs), wcs);
        if (n < 0) {
            client_fail(c, EIO, "cannot poll the CQ");
            return total;
        } else if (!n) {
            return total;
        }
        total += n;

        for (int i = 0; i < n; i++) {
            const struct ibv_wc *wc = &wcs[i];
            struct read_slot *slot = NULL;

            if (client_failed(c)) {
                /* Flushed READs of reads that failed already. */
                continue;
            }
            for (size_t j = 0; j < CLIENT_MAX_WINDOW; j++) {
                if (c->slots[j].read && c->slots[j].wr_id == wc->wr_id) {
                    slot = &c->slots[j];
                    break;
                }
            }
            if (!slot) {
                client_fail(c, EPROTO, "completion for unknown work request "
                            "%"PRIu64, wc->wr_id);
            } else if (wc->status != IBV_WC_SUCCESS) {
                client_fail(c, wc_status_errno(wc->status),
                            "RDMA READ of offset %"PRIu64" length %"PRIu32
                            " failed: %s (%s)",
                            slot->read->offset + slot->pos, slot->len,
                            wc_status_hint(wc->status),
                            ibv_wc_status_str(wc->status));
            } else if (wc->opcode != IBV_WC_RDMA_READ) {
                client_fail(c, EPROTO, "completion of work request %"PRIu64
                            " is not an RDMA READ (opcode %d)", wc->wr_id,
                            wc->opcode);
            } else {
                struct client_read *r = slot->read;

                r->done += slot->len;
                r->n_out--;
                c->n_out--;
                slot->read = NULL;
                if (r->done == r->len) {
                    read_complete(c, r, 0);
                }
            }
        }
    }
}

void
rdma_client_run(struct rdma_client *c)
{
    if (c->channel) {
        client_run_cm(c);
    }
    if (c->cq) {
        /* Take the events, re-arm, then empty the CQ: a completion that
         * comes after the arming signals the channel again. */
        comp_channel_drain(c);
        if (!client_failed(c) && ibv_req_notify_cq(c->cq, 0)) {
            client_fail(c, EIO, "cannot arm the CQ");
        }
        client_reap(c);
    }
    client_post(c);
}

void
rdma_client_wait(struct rdma_client *c)
{
    if (!ovs_list_is_empty(&c->completed)) {
        poll_immediate_wake();
    }
    if (client_failed(c)) {
        return;
    }
    if (c->channel) {
        poll_fd_wait(c->channel->fd, POLLIN);
    }
    if (c->comp) {
        poll_fd_wait(c->comp->fd, POLLIN);
    }
    if (c->status == EAGAIN) {
        poll_timer_wait_until(c->connect_deadline);
    } else if (!c->status && c->n_out < c->window) {
        struct client_read *r;

        LIST_FOR_EACH (r, node, &c->pending) {
            if (r->posted < r->len) {
                /* Queued since the last run, with room to post it. */
                poll_immediate_wake();
                break;
            }
        }
    }
}

char *
rdma_client_read_all(struct rdma_client *c, uint64_t offset, void *buf,
                     size_t len, long long int timeout_ms)
{
    long long int deadline = time_msec() + timeout_ms;

    ovs_assert(!rdma_client_n_pending(c));

    /* A disconnect that came meanwhile fails the client first. */
    rdma_client_run(c);

    char *error = rdma_client_read(c, offset, buf, len, 0);
    if (error) {
        return error;
    }
    struct client_read *r = CONTAINER_OF(ovs_list_back(
                                             ovs_list_is_empty(&c->pending)
                                             ? &c->completed : &c->pending),
                                         struct client_read, node);
    struct rdma_completion completion;
    while (!rdma_client_poll(c, &completion)) {
        rdma_client_run(c);
        if (!ovs_list_is_empty(&c->completed)) {
            continue;
        }
        if (time_msec() >= deadline) {
            client_fail(c, ETIMEDOUT, "%"PRIuSIZE" of %"PRIuSIZE" bytes "
                        "read within %lld ms", r->done, len, timeout_ms);
            continue;
        }
        rdma_client_wait(c);
        poll_timer_wait_until(deadline);
        poll_block();
    }
    return completion.error ? xstrdup(c->error) : NULL;
}
