/*
 * The rdma: backend's server: "prdma:PORT[:IP]" listeners and their
 * connections, one-sided and read-only.
 *
 * A client's rdma_connect() carries the token of an export and the id of a
 * region (struct rdma_request).  For each connection request the listener
 * admits and attaches a session through the core, as the stream backend
 * does for a HELLO, then gives the connection its own protection domain,
 * a CQ and a QP, registers the region as the owner sees it now with
 * IBV_ACCESS_REMOTE_READ only, and accepts with the advert (struct
 * rdma_advert).  Anything wrong is rejected with a reason (struct
 * rdma_reject); a bad token touches no export, so it never uses up the
 * right one.
 *
 * The protection domain is per connection so that an rkey is good only on
 * the QP it was advertised on: a client of one export cannot read another
 * export's memory with an rkey it guessed.
 *
 * The server posts no work requests.  Its connections end when the client
 * disconnects, or when the export ends (withdrawn, lease expired, server
 * shutting down): the listener's next run deregisters the MR first, which
 * revokes the rkey, so that any READ still in flight fails with a remote
 * access error, then disconnects and destroys the QP, the CQ, the PD and the
 * CM id.  transport_listener_class 'wait' asks for an immediate wake-up when
 * a session has ended, so that run comes at once.  Until it does, the pages
 * stay pinned by the MR: a read in that window returns stale bytes of memory
 * the owner may have freed, never another process's.
 *
 * All connections of a listener share its rdma_cm event channel, whose fd is
 * non-blocking and waited on with poll_fd_wait(); events are copied and
 * acknowledged at once, so that rdma_destroy_id() never waits.  Nothing here
 * blocks.
 */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>
#include "byte-order.h"
#include "openvswitch/dynamic-string.h"
#include "openvswitch/list.h"
#include "openvswitch/poll-loop.h"
#include "openvswitch/vlog.h"
#include "packets.h"
#include "rdma-client.h"
#include "rdma-wire.h"
#include "socket-util.h"
#include "timeval.h"
#include "transport-provider.h"
#include "util.h"

VLOG_DEFINE_THIS_MODULE(transport_rdma_server);

static struct vlog_rate_limit bad_rl = VLOG_RATE_LIMIT_INIT(60, 60);

/* CM events handled per run. */
#define EVENT_BUDGET 64

/* The most READs a connection takes at once, whatever the device allows. */
#define MAX_RESPONDER_RESOURCES 16

/* How long a connection may take from accept to ESTABLISHED. */
#define ACCEPT_TIMEOUT_MS 10000

struct rdma_listener {
    struct transport_listener up;
    struct rdma_event_channel *channel;
    struct rdma_cm_id *listen_id;
    struct ovs_list conns;      /* struct rdma_conn. */
};

enum conn_state {
    CONN_ACCEPTING,             /* Accepted; awaiting ESTABLISHED. */
    CONN_ESTABLISHED,
};

struct rdma_conn {
    struct ovs_list node;       /* In struct rdma_listener's 'conns'. */
    struct rdma_listener *listener;
    struct rdma_cm_id *id;
    struct ibv_pd *pd;
    struct ibv_cq *cq;
    struct ibv_mr *mr;
    bool has_qp;
    enum conn_state state;
    long long int deadline;     /* ACCEPTING: for ESTABLISHED. */
    struct transport_session session;
    char name[64];              /* The peer's address, for logs. */
    uint32_t region;
    uint64_t len;
};

static struct rdma_listener *
rdma_listener_cast(const struct transport_listener *l)
{
    return CONTAINER_OF(l, struct rdma_listener, up);
}

static void
format_peer(struct rdma_cm_id *id, char *buf, size_t size)
{
    struct sockaddr *sa = rdma_get_peer_addr(id);
    struct sockaddr_storage ss;
    struct ds s = DS_EMPTY_INITIALIZER;

    memset(&ss, 0, sizeof ss);
    if (sa && (sa->sa_family == AF_INET || sa->sa_family == AF_INET6)) {
        memcpy(&ss, sa, (sa->sa_family == AF_INET
                         ? sizeof(struct sockaddr_in)
                         : sizeof(struct sockaddr_in6)));
        ds_put_cstr(&s, "rdma:");
        ss_format_address(&ss, &s);
        ds_put_format(&s, ":%"PRIu16, ss_get_port(&ss));
    } else {
        ds_put_cstr(&s, "rdma:?");
    }
    ovs_strlcpy(buf, ds_cstr(&s), size);
    ds_destroy(&s);
}

/* Frees 'c's verbs resources and CM id, and uncounts its session.  The MR
 * goes first: that revokes the rkey before anything else happens. */
static void
conn_destroy(struct rdma_conn *c, bool disconnect)
{
    if (c->mr) {
        ibv_dereg_mr(c->mr);
        c->mr = NULL;
    }
    if (disconnect) {
        rdma_disconnect(c->id);
    }
    if (c->has_qp) {
        rdma_destroy_qp(c->id);
    }
    if (c->cq) {
        ibv_destroy_cq(c->cq);
    }
    if (c->pd) {
        ibv_dealloc_pd(c->pd);
    }
    rdma_destroy_id(c->id);
    transport_session_detach(&c->session);
    ovs_list_remove(&c->node);
    free(c);
}

/* Rejects the connection request on 'id' with 'code' and 'text'. */
static void
reject(struct rdma_cm_id *id, const char *peer, enum tw_error_code code,
       const char *text)
{
    struct rdma_reject rej;

    VLOG_WARN_RL(&bad_rl, "%s: rejected: %s", peer, text);
    memset(&rej, 0, sizeof rej);
    rej.magic = htonl(RDMA_REJECT_MAGIC);
    rej.version = RDMA_WIRE_VERSION;
    rej.code = code;
    memcpy(rej.text, text, MIN(strlen(text), sizeof rej.text));
    if (rdma_reject(id, &rej, sizeof rej)) {
        VLOG_WARN_RL(&bad_rl, "%s: rdma_reject failed (%s)", peer,
                     ovs_strerror(errno));
    }
}

/* Sets up and accepts the connection of 'c', whose session is attached.
 * Returns NULL, or the reason to reject it. */
static char *
conn_accept(struct rdma_conn *c, const struct rdma_conn_param *req)
{
    struct rdma_cm_id *id = c->id;
    struct transport_region_view view;
    struct ibv_device_attr attr;

    if (!transport_session_region(&c->session, c->region, &view)) {
        return xasprintf("unknown region %"PRIu32, c->region);
    }
    if (!view.size || !view.base) {
        return xasprintf("region %"PRIu32" is empty", c->region);
    }
    if (ibv_query_device(id->verbs, &attr)) {
        return xasprintf("cannot query the device (%s)", ovs_strerror(errno));
    }

    c->pd = ibv_alloc_pd(id->verbs);
    if (!c->pd) {
        return xasprintf("cannot allocate a PD (%s)", ovs_strerror(errno));
    }
    c->cq = ibv_create_cq(id->verbs, 2, NULL, NULL, 0);
    if (!c->cq) {
        return xasprintf("cannot create a CQ (%s)", ovs_strerror(errno));
    }

    /* The server posts nothing: the QP exists for the client's READs. */
    struct ibv_qp_init_attr qp_attr = {
        .send_cq = c->cq,
        .recv_cq = c->cq,
        .cap = {
            .max_send_wr = 1,
            .max_recv_wr = 1,
            .max_send_sge = 1,
            .max_recv_sge = 1,
        },
        .qp_type = IBV_QPT_RC,
    };
    if (rdma_create_qp(id, c->pd, &qp_attr)) {
        return xasprintf("cannot create a QP (%s)", ovs_strerror(errno));
    }
    c->has_qp = true;

    c->mr = ibv_reg_mr(c->pd, CONST_CAST(void *, view.base), view.size,
                       IBV_ACCESS_REMOTE_READ);
    if (!c->mr) {
        return xasprintf("cannot register region %"PRIu32" (%"PRIu64" bytes)"
                         " (%s)", c->region, view.size, ovs_strerror(errno));
    }
    c->len = view.size;

    /* The CM reports the request's depths from our side: its
     * 'responder_resources' is what the client means to have in flight
     * (its initiator_depth), and its 'initiator_depth' is what the client
     * would answer (its responder_resources). */
    unsigned int resources = MIN(MIN(req->responder_resources,
                                     attr.max_qp_rd_atom),
                                 MAX_RESPONDER_RESOURCES);
    struct rdma_advert adv = {
        .magic = htonl(RDMA_ADVERT_MAGIC),
        .version = RDMA_WIRE_VERSION,
        .responder_resources = resources,
        .region = htonl(c->region),
        .rkey = htonl(c->mr->rkey),
        .addr = htonll((uintptr_t) view.base),
        .len = htonll(view.size),
        .generation = htonll(view.generation),
    };
    struct rdma_conn_param param = {
        .private_data = &adv,
        .private_data_len = sizeof adv,
        .responder_resources = resources,
        .initiator_depth = MIN(req->initiator_depth,
                               attr.max_qp_init_rd_atom),
        .rnr_retry_count = 7,
    };
    if (rdma_accept(id, &param)) {
        return xasprintf("rdma_accept failed (%s)", ovs_strerror(errno));
    }
    return NULL;
}

static void
handle_connect_request(struct rdma_listener *l, struct rdma_cm_id *id,
                       const struct rdma_conn_param *param)
{
    struct rdma_conn *c = xzalloc(sizeof *c);
    struct rdma_request req;
    enum tw_error_code code;
    char *error;

    format_peer(id, c->name, sizeof c->name);
    error = transport_session_admit(&c->session, l->up.server);
    if (error) {
        reject(id, c->name, TW_ERR_BUSY, error);
        free(error);
        rdma_destroy_id(id);
        free(c);
        return;
    }
    c->listener = l;
    c->id = id;
    id->context = c;
    ovs_list_push_back(&l->conns, &c->node);

    memset(&req, 0, sizeof req);
    if (param->private_data) {
        memcpy(&req, param->private_data,
               MIN(param->private_data_len, sizeof req));
    }
    if (param->private_data_len < sizeof req
        || ntohl(req.magic) != RDMA_REQUEST_MAGIC) {
        reject(id, c->name, TW_ERR_NO_TOKEN,
               "no token: not an ovs-offload rdma: request");
        conn_destroy(c, false);
        return;
    }
    if (req.version != RDMA_WIRE_VERSION) {
        char *text = xasprintf("unsupported version %d", req.version);
        reject(id, c->name, TW_ERR_PROTOCOL, text);
        free(text);
        conn_destroy(c, false);
        return;
    }

    struct transport_token token;
    memcpy(token.bytes, req.token, sizeof token.bytes);
    code = transport_session_attach(&c->session, &token, &error);
    if (code) {
        reject(id, c->name, code, error);
        free(error);
        conn_destroy(c, false);
        return;
    }

    c->region = ntohl(req.region) ? ntohl(req.region) : 1;
    error = conn_accept(c, param);
    if (error) {
        char *text = xasprintf("export %s: %s",
                               transport_session_export_name(&c->session),
                               error);
        reject(id, c->name, TW_ERR_UNKNOWN_REGION, text);
        free(text);
        free(error);
        conn_destroy(c, false);
        return;
    }
    c->state = CONN_ACCEPTING;
    c->deadline = time_msec() + ACCEPT_TIMEOUT_MS;
    VLOG_INFO("%s: export %s: region %"PRIu32" (%"PRIu64" bytes) registered "
              "for remote reads", c->name,
              transport_session_export_name(&c->session), c->region, c->len);
}

static void
handle_event(struct rdma_listener *l, struct rdma_cm_event *event)
{
    struct rdma_conn *c = event->id->context;

    switch (event->event) {
    case RDMA_CM_EVENT_CONNECT_REQUEST:
        handle_connect_request(l, event->id, &event->param.conn);
        break;

    case RDMA_CM_EVENT_ESTABLISHED:
        if (c) {
            c->state = CONN_ESTABLISHED;
            VLOG_DBG("%s: established", c->name);
        }
        break;

    case RDMA_CM_EVENT_DISCONNECTED:
        if (c) {
            VLOG_INFO("%s: export %s: client disconnected", c->name,
                      transport_session_export_name(&c->session));
            conn_destroy(c, false);
        }
        break;

    case RDMA_CM_EVENT_CONNECT_ERROR:
    case RDMA_CM_EVENT_UNREACHABLE:
    case RDMA_CM_EVENT_REJECTED:
        if (c) {
            VLOG_WARN_RL(&bad_rl, "%s: connection failed (%s, status %d)",
                         c->name, rdma_event_str(event->event),
                         event->status);
            conn_destroy(c, false);
        }
        break;

    case RDMA_CM_EVENT_DEVICE_REMOVAL:
        if (c) {
            VLOG_WARN("%s: device removed", c->name);
            conn_destroy(c, true);
        } else {
            VLOG_ERR("%s: device removed; the listener stops",
                     l->up.name);
        }
        break;

    case RDMA_CM_EVENT_ADDR_RESOLVED:
    case RDMA_CM_EVENT_ADDR_ERROR:
    case RDMA_CM_EVENT_ROUTE_RESOLVED:
    case RDMA_CM_EVENT_ROUTE_ERROR:
    case RDMA_CM_EVENT_CONNECT_RESPONSE:
    case RDMA_CM_EVENT_MULTICAST_JOIN:
    case RDMA_CM_EVENT_MULTICAST_ERROR:
    case RDMA_CM_EVENT_ADDR_CHANGE:
    case RDMA_CM_EVENT_TIMEWAIT_EXIT:
    default:
        VLOG_DBG("%s: %s", l->up.name, rdma_event_str(event->event));
        break;
    }
}

/* The listener class. */

static bool
rdma_handles(const char *name)
{
    return !strncmp(name, "prdma:", 6);
}

static char *
rdma_open(struct transport_server *server, const char *name,
          struct transport_listener **lp, uint16_t *port)
{
    struct sockaddr_storage ss;
    struct rdma_event_channel *channel;
    struct rdma_cm_id *id = NULL;
    char *error = NULL;

    if (!inet_parse_passive(name + 6, -1, &ss, false, NULL)) {
        return xasprintf("%s: bad listener name (use prdma:PORT[:IP])",
                         name);
    }

    rdma_fork_init();
    channel = rdma_create_event_channel();
    if (!channel) {
        return xasprintf("%s: cannot open the RDMA CM (%s); is rdma_ucm "
                         "loaded and an RDMA device present?", name,
                         ovs_strerror(errno));
    }
    if (set_nonblocking(channel->fd)) {
        error = xasprintf("%s: cannot make the CM channel non-blocking",
                          name);
        goto error;
    }
    if (rdma_create_id(channel, &id, NULL, RDMA_PS_TCP)) {
        error = xasprintf("%s: cannot create a CM id (%s)", name,
                          ovs_strerror(errno));
        goto error;
    }
    if (rdma_bind_addr(id, (struct sockaddr *) &ss)) {
        error = xasprintf("%s: cannot bind (%s); is there an RDMA device on "
                          "that address?", name, ovs_strerror(errno));
        goto error;
    }
    if (rdma_listen(id, 16)) {
        error = xasprintf("%s: cannot listen (%s)", name,
                          ovs_strerror(errno));
        goto error;
    }

    struct rdma_listener *l = xzalloc(sizeof *l);
    struct ds bound = DS_EMPTY_INITIALIZER;
    *port = ntohs(rdma_get_src_port(id));
    ds_put_format(&bound, "prdma:%"PRIu16":", *port);
    ss_format_address(&ss, &bound);
    transport_listener_init(&l->up, &transport_rdma_listener_class, server,
                            ds_cstr(&bound));
    ds_destroy(&bound);
    l->channel = channel;
    l->listen_id = id;
    id->context = NULL;
    ovs_list_init(&l->conns);
    *lp = &l->up;
    return NULL;

error:
    if (id) {
        rdma_destroy_id(id);
    }
    rdma_destroy_event_channel(channel);
    return error;
}

static void
rdma_close(struct transport_listener *l_)
{
    struct rdma_listener *l = rdma_listener_cast(l_);
    struct rdma_conn *c;

    LIST_FOR_EACH_SAFE (c, node, &l->conns) {
        conn_destroy(c, c->state == CONN_ESTABLISHED);
    }
    rdma_destroy_id(l->listen_id);
    rdma_destroy_event_channel(l->channel);
    transport_listener_uninit(&l->up);
    free(l);
}

static void
rdma_run(struct transport_listener *l_)
{
    struct rdma_listener *l = rdma_listener_cast(l_);
    long long int now = time_msec();
    struct rdma_conn *c;

    for (int i = 0; i < EVENT_BUDGET; i++) {
        struct rdma_cm_event *event;

        if (rdma_get_cm_event(l->channel, &event)) {
            if (errno != EAGAIN) {
                VLOG_WARN_RL(&bad_rl, "%s: rdma_get_cm_event failed (%s)",
                             l->up.name, ovs_strerror(errno));
            }
            break;
        }

        /* Copy what we need and acknowledge at once: rdma_destroy_id()
         * waits for the acknowledgement of every event it was given. */
        struct rdma_cm_event copy = *event;
        uint8_t pdata[RDMA_WIRE_MAX_PRIVATE];
        if (copy.event == RDMA_CM_EVENT_CONNECT_REQUEST) {
            size_t n = MIN(copy.param.conn.private_data_len, sizeof pdata);
            if (copy.param.conn.private_data) {
                memcpy(pdata, copy.param.conn.private_data, n);
            }
            copy.param.conn.private_data = copy.param.conn.private_data
                                           ? pdata : NULL;
            copy.param.conn.private_data_len = n;
        } else {
            copy.param.conn.private_data = NULL;
            copy.param.conn.private_data_len = 0;
        }
        rdma_ack_cm_event(event);
        handle_event(l, &copy);
    }

    LIST_FOR_EACH_SAFE (c, node, &l->conns) {
        if (transport_session_ended(&c->session)) {
            VLOG_INFO("%s: %s: rkey revoked, disconnecting", c->name,
                      c->session.why);
            conn_destroy(c, c->state == CONN_ESTABLISHED);
        } else if (c->state == CONN_ACCEPTING && now >= c->deadline) {
            VLOG_WARN_RL(&bad_rl, "%s: not established within %d ms",
                         c->name, ACCEPT_TIMEOUT_MS);
            conn_destroy(c, false);
        }
    }
}

static void
rdma_wait(struct transport_listener *l_)
{
    struct rdma_listener *l = rdma_listener_cast(l_);
    const struct rdma_conn *c;

    poll_fd_wait(l->channel->fd, POLLIN);
    LIST_FOR_EACH (c, node, &l->conns) {
        if (transport_session_ended(&c->session)) {
            poll_immediate_wake();
        } else if (c->state == CONN_ACCEPTING) {
            poll_timer_wait_until(c->deadline);
        }
    }
}

static void
rdma_format(const struct transport_listener *l_, struct ds *s)
{
    const struct rdma_listener *l = rdma_listener_cast(l_);
    const struct rdma_conn *c;

    ds_put_format(s, "listener %s: %"PRIuSIZE" connections\n", l->up.name,
                  ovs_list_size(&l->conns));
    LIST_FOR_EACH (c, node, &l->conns) {
        ds_put_format(s, "  connection %s: %s, export %s, region %"PRIu32
                      " (%"PRIu64" bytes)\n", c->name,
                      c->state == CONN_ESTABLISHED ? "established"
                      : "accepting",
                      transport_session_export_name(&c->session), c->region,
                      c->len);
    }
}

const struct transport_listener_class transport_rdma_listener_class = {
    .handles = rdma_handles,
    .open = rdma_open,
    .close = rdma_close,
    .run = rdma_run,
    .wait = rdma_wait,
    .format = rdma_format,
};
