/*
 * The datapath: the packet loop and the pipeline that ties the ports, the
 * flow table, conntrack, the FDB, neighbours, routes and the VIFs' policies
 * together.
 */
#include <config.h>
#include "datapath.h"

#include <string.h>
#include "ct-engine.h"
#include "dp-packet.h"
#include "fdb.h"
#include "flow-exec.h"
#include "flow-table.h"
#include "flow.h"
#include "hash.h"
#include "host-zones.h"
#include "neigh.h"
#include "openvswitch/ofp-port.h"
#include "openvswitch/vlog.h"
#include "packets.h"
#include "port-security.h"
#include "port-set.h"
#include "port.h"
#include "route.h"
#include "state-region.h"
#include "timeval.h"
#include "util.h"
#include "vif-store.h"
#include "vif.h"

VLOG_DEFINE_THIS_MODULE(datapath);

/* Batches a port may deliver per datapath_run(), so that one busy port does
 * not starve the others or the control plane. */
#define MAX_BATCHES_PER_PORT 8

/* A VIF as the datapath sees it: the port its netdev is, if any. */
struct vif_binding {
    struct vif *vif;
    ofp_port_t port_no;         /* OFPP_NONE if its netdev is no port. */
};

struct datapath {
    struct datapath_tables t;
    struct vif_store *vifs;
    struct flow_table *flows;
    bool default_pipeline;

    /* Derived from the ports and the VIFs by datapath_reconfigure(). */
    uint64_t vif_seqno;
    struct vif **port_vif;      /* Indexed by port number. */
    size_t n_port_vif;
    struct hmap bindings;       /* Contains struct binding_node. */
    struct ofputil_port_map port_map;

    /* Frames waiting to be sent, per port number. */
    struct dp_packet_batch *tx;
    size_t n_tx;

    /* The frame in progress, for the flow callbacks. */
    struct port *in_port;
    long long now;

    /* Migration: frames held for standby VIFs. */
    struct datapath_migration_ops mig;
    struct hmap holds;          /* Contains struct hold, by VIF pointer. */
    size_t hold_max_frames;
    long long hold_max_ms;

    /* The last next hop asked for, so a burst of frames to it asks once. */
    struct in6_addr last_request;
    long long last_request_time;
};

/* A next hop is asked for at most this often. */
#define NEIGH_REQUEST_INTERVAL_MS 1000

/* Frames held for a standby VIF. */
struct hold {
    struct hmap_node node;      /* By VIF pointer. */
    const struct vif *vif;
    struct ovs_list frames;     /* Contains struct held_frame, oldest first. */
    size_t n;
    struct datapath_hold_stats stats;
};

struct held_frame {
    struct ovs_list node;
    struct dp_packet *pkt;
    long long time;
    bool from_vm;               /* Else towards it, already switched. */
    ofp_port_t port;            /* In port if 'from_vm', else out port. */
    struct flow flow;           /* If towards the VM. */
};

/* Default hold limits: a switch-over normally takes well under a second. */
#define HOLD_MAX_FRAMES 4096
#define HOLD_MAX_MS 5000

struct binding_node {
    struct hmap_node node;      /* By VIF pointer. */
    struct vif_binding b;
};

static const struct flow_exec_ops exec_ops;
struct hold;

/* Drops. */

static void
drop(struct port *in_port, enum port_drop_reason reason,
     struct dp_packet *pkt)
{
    port_count_drop(in_port, reason, 1);
    dp_packet_delete(pkt);
}

/* The VIFs' bindings to ports. */

static struct binding_node *
find_binding(const struct datapath *dp, const struct vif *vif)
{
    struct binding_node *bn;

    HMAP_FOR_EACH_WITH_HASH (bn, node, hash_pointer(vif, 0), &dp->bindings) {
        if (bn->b.vif == vif) {
            return bn;
        }
    }
    return NULL;
}

struct vif *
datapath_port_vif(const struct datapath *dp, ofp_port_t port_no)
{
    size_t i = ofp_to_u16(port_no);

    return i < dp->n_port_vif ? dp->port_vif[i] : NULL;
}

struct port *
datapath_vif_port(const struct datapath *dp, const struct vif *vif)
{
    const struct binding_node *bn = find_binding(dp, vif);

    return (bn && bn->b.port_no != OFPP_NONE
            ? port_set_find_by_number(dp->t.ports, bn->b.port_no) : NULL);
}

/* Flow ownership: a flow belongs to the VIF whose port it matches with
 * in_port, or whose cookie it carries. */
static const char *
flow_owner(const struct match *match, ovs_be64 cookie, void *dp_)
{
    struct datapath *dp = dp_;
    struct vif *vif = NULL;

    if (!dp->vifs) {
        return NULL;
    }
    if (match->wc.masks.in_port.ofp_port) {
        vif = datapath_port_vif(dp, match->flow.in_port.ofp_port);
    }
    if (!vif && cookie) {
        vif = vif_store_find_by_cookie(dp->vifs, ntohll(cookie));
    }
    return vif ? vif->def.iface_id : NULL;
}

static struct state_region *
flow_region(const char *iface_id, ofp_port_t *port, uint16_t *zone,
            void *dp_)
{
    struct datapath *dp = dp_;
    struct vif *vif = dp->vifs ? vif_store_find(dp->vifs, iface_id) : NULL;

    if (!vif) {
        return NULL;
    }

    const struct binding_node *bn = find_binding(dp, vif);
    *port = bn ? bn->b.port_no : OFPP_NONE;
    *zone = vif->zone;
    return vif->region;
}

struct datapath *
datapath_create(const struct datapath_tables *t, const char *host_flows)
{
    struct datapath *dp = xzalloc(sizeof *dp);
    struct flow_table_ops ops = {
        .owner = flow_owner,
        .region = flow_region,
        .aux = dp,
    };

    dp->t = *t;
    dp->default_pipeline = true;
    hmap_init(&dp->holds);
    dp->hold_max_frames = HOLD_MAX_FRAMES;
    dp->hold_max_ms = HOLD_MAX_MS;
    dp->flows = flow_table_create(&ops, host_flows);
    hmap_init(&dp->bindings);
    ofputil_port_map_init(&dp->port_map);
    return dp;
}

void
datapath_destroy(struct datapath *dp)
{
    if (dp) {
        struct binding_node *bn;

        HMAP_FOR_EACH_POP (bn, node, &dp->bindings) {
            free(bn);
        }
        hmap_destroy(&dp->bindings);

        struct hold *h;
        HMAP_FOR_EACH_SAFE (h, node, &dp->holds) {
            datapath_discard(dp, CONST_CAST(struct vif *, h->vif));
        }
        hmap_destroy(&dp->holds);
        for (size_t i = 0; i < dp->n_tx; i++) {
            dp_packet_delete_batch(&dp->tx[i], true);
        }
        free(dp->tx);
        free(dp->port_vif);
        ofputil_port_map_destroy(&dp->port_map);
        flow_table_destroy(dp->flows);
        free(dp);
    }
}

struct flow_table *
datapath_flows(const struct datapath *dp)
{
    return dp->flows;
}

void
datapath_set_vifs(struct datapath *dp, struct vif_store *vifs)
{
    dp->vifs = vifs;
    datapath_reconfigure(dp);
}

void
datapath_set_host_zones(struct datapath *dp, struct host_zones *hz)
{
    dp->t.host_zones = hz;
}

void
datapath_set_default_pipeline(struct datapath *dp, bool on)
{
    dp->default_pipeline = on;
}

bool
datapath_get_default_pipeline(const struct datapath *dp)
{
    return dp->default_pipeline;
}

/* Reconfiguration. */

static void
map_ports(struct datapath *dp)
{
    struct port *port;
    size_t max = 0;

    PORT_SET_FOR_EACH (port, dp->t.ports) {
        max = MAX(max, ofp_to_u16(port->port_no));
    }
    free(dp->port_vif);
    dp->n_port_vif = max + 1;
    dp->port_vif = xcalloc(dp->n_port_vif, sizeof *dp->port_vif);

    ofputil_port_map_destroy(&dp->port_map);
    ofputil_port_map_init(&dp->port_map);
    PORT_SET_FOR_EACH (port, dp->t.ports) {
        struct vif *vif = (dp->vifs
                           ? vif_store_find_by_netdev(dp->vifs, port->name)
                           : NULL);

        dp->port_vif[ofp_to_u16(port->port_no)] = vif;
        ofputil_port_map_put(&dp->port_map, port->port_no, port->name);
        route_bind_port(dp->t.routes, port->name, ofp_to_u16(port->port_no));
    }
    flow_table_set_port_map(dp->flows, &dp->port_map);

    if (dp->n_tx < dp->n_port_vif) {
        dp->tx = xrealloc(dp->tx, dp->n_port_vif * sizeof *dp->tx);
        for (size_t i = dp->n_tx; i < dp->n_port_vif; i++) {
            dp_packet_batch_init(&dp->tx[i]);
        }
        dp->n_tx = dp->n_port_vif;
    }
}

/* Rebinds the VIFs to their ports; a VIF whose port changed gets its flows
 * loaded again, since they name ports. */
static void
bind_vifs(struct datapath *dp, long long now)
{
    struct hmap old = HMAP_INITIALIZER(&old);
    size_t n;

    hmap_swap(&old, &dp->bindings);
    struct vif **vifs = dp->vifs ? vif_store_list(dp->vifs, &n) : NULL;
    for (size_t i = 0; vifs && i < n; i++) {
        struct binding_node *bn = xzalloc(sizeof *bn);
        struct port *port = (vifs[i]->netdev
                             ? port_set_find(dp->t.ports, vifs[i]->netdev)
                             : NULL);

        bn->b.vif = vifs[i];
        bn->b.port_no = port ? port->port_no : OFPP_NONE;
        hmap_insert(&dp->bindings, &bn->node, hash_pointer(vifs[i], 0));

        struct binding_node *was;
        bool found = false;
        HMAP_FOR_EACH_WITH_HASH (was, node, hash_pointer(vifs[i], 0), &old) {
            if (was->b.vif == vifs[i]) {
                found = was->b.port_no == bn->b.port_no;
                break;
            }
        }
        if (!found) {
            size_t n_loaded;
            char *error;

            flow_table_del_owner(dp->flows, vifs[i]->def.iface_id, false);
            error = flow_table_load_owner(dp->flows, vifs[i]->def.iface_id,
                                          now, now, &n_loaded);
            if (error) {
                VLOG_WARN("%s", error);
                free(error);
            }
        }
    }
    free(vifs);

    struct binding_node *bn;
    HMAP_FOR_EACH_POP (bn, node, &old) {
        free(bn);
    }
    hmap_destroy(&old);

    /* Frames held for a VIF that is gone go with it. */
    struct hold *h;
    HMAP_FOR_EACH_SAFE (h, node, &dp->holds) {
        if (!find_binding(dp, h->vif)) {
            datapath_discard(dp, CONST_CAST(struct vif *, h->vif));
        }
    }
}

void
datapath_reconfigure(struct datapath *dp)
{
    long long now = time_msec();
    size_t n_loaded;
    char *error;

    map_ports(dp);
    bind_vifs(dp, now);
    error = flow_table_load_host(dp->flows, now, &n_loaded);
    if (error) {
        VLOG_WARN("host flows: %s", error);
        free(error);
    }
    dp->vif_seqno = dp->vifs ? vif_store_seqno(dp->vifs) : 0;
}

/* Sending. */

static void
flush_port(struct datapath *dp, size_t i)
{
    struct dp_packet_batch *batch = &dp->tx[i];
    struct port *port;

    if (dp_packet_batch_is_empty(batch)) {
        return;
    }
    port = port_set_find_by_number(dp->t.ports, u16_to_ofp(i));
    if (port && port_is_open(port)) {
        port_send(port, batch);
    } else {
        if (port) {
            port_count_drop(port, PORT_DROP_NO_NETDEV,
                            dp_packet_batch_size(batch));
        }
        dp_packet_delete_batch(batch, true);
    }
    dp_packet_batch_init(batch);
}

static void
flush_all(struct datapath *dp)
{
    for (size_t i = 0; i < dp->n_tx; i++) {
        flush_port(dp, i);
    }
}

/* Queues 'pkt' to go out of 'out'. */
static void
enqueue(struct datapath *dp, struct port *out, struct dp_packet *pkt)
{
    size_t i = ofp_to_u16(out->port_no);

    if (i >= dp->n_tx || !port_is_open(out)) {
        drop(dp->in_port, PORT_DROP_NO_NETDEV, pkt);
        return;
    }
    if (dp_packet_batch_is_full(&dp->tx[i])) {
        flush_port(dp, i);
    }
    dp_packet_batch_add(&dp->tx[i], pkt);
}

/* Holding frames for standby VIFs. */

static struct hold *
find_hold(const struct datapath *dp, const struct vif *vif)
{
    struct hold *h;

    HMAP_FOR_EACH_WITH_HASH (h, node, hash_pointer(vif, 0), &dp->holds) {
        if (h->vif == vif) {
            return h;
        }
    }
    return NULL;
}

static struct hold *
get_hold(struct datapath *dp, const struct vif *vif)
{
    struct hold *h = find_hold(dp, vif);

    if (!h) {
        h = xzalloc(sizeof *h);
        h->vif = vif;
        ovs_list_init(&h->frames);
        hmap_insert(&dp->holds, &h->node, hash_pointer(vif, 0));
    }
    return h;
}

/* Queues 'pkt' for standby 'vif'.  'flow' is the frame's, if it is on its
 * way to the VM through 'port'; NULL if it comes from the VM on 'port'. */
static void
hold(struct datapath *dp, const struct vif *vif, struct dp_packet *pkt,
     const struct flow *flow, ofp_port_t port)
{
    struct hold *h = get_hold(dp, vif);

    if (h->n >= dp->hold_max_frames) {
        h->stats.dropped++;
        drop(dp->in_port, PORT_DROP_LIMIT, pkt);
        return;
    }

    struct held_frame *f = xmalloc(sizeof *f);
    f->pkt = pkt;
    f->time = dp->now;
    f->from_vm = !flow;
    f->port = port;
    if (flow) {
        f->flow = *flow;
    }
    ovs_list_push_back(&h->frames, &f->node);
    h->n++;
    h->stats.held++;
}

/* The reason a VIF's policy refused a frame. */
static enum port_drop_reason
policy_drop_reason(const struct vif_verdict *v)
{
    return (v->refused ? PORT_DROP_LIMIT
            : v->ct_state & CS_INVALID ? PORT_DROP_INVALID
            : PORT_DROP_FIREWALL);
}

/* Sends 'pkt' out of 'out'; with 'policy', a VIF behind 'out' must first let
 * it in. */
static void
deliver(struct datapath *dp, struct port *out, struct dp_packet *pkt,
        const struct flow *flow, bool policy)
{
    struct vif *vif = datapath_port_vif(dp, out->port_no);

    if (vif && vif->mode == VIF_STANDBY) {
        hold(dp, vif, pkt, flow, out->port_no);
        return;
    } else if (vif && vif->mode == VIF_FENCED) {
        drop(dp->in_port, PORT_DROP_NO_NETDEV, pkt);
        return;
    }
    if (vif && policy) {
        struct flow f = *flow;
        struct vif_verdict v = vif_process(vif, pkt, &f, false, false,
                                           dp->now);

        if (!v.allow) {
            drop(dp->in_port, policy_drop_reason(&v), pkt);
            return;
        }
    }
    enqueue(dp, out, pkt);
}

/* Sends 'pkt' out of every open port but the one it came in on. */
static void
flood(struct datapath *dp, struct dp_packet *pkt, const struct flow *flow,
      ofp_port_t in_port, bool policy)
{
    struct port *port;

    PORT_SET_FOR_EACH (port, dp->t.ports) {
        if (port->port_no != in_port && port_is_open(port)) {
            deliver(dp, port, dp_packet_clone(pkt), flow, policy);
        }
    }
    dp_packet_delete(pkt);
}

/* The L2 learning switch: the port the FDB knows for the destination, or
 * every port. */
static void
switch_l2(struct datapath *dp, struct dp_packet *pkt, const struct flow *flow,
          bool policy)
{
    uint16_t vlan = vlan_tci_to_vid(flow->vlans[0].tci);
    ofp_port_t in_port = flow->in_port.ofp_port;
    struct fdb_where where;

    if (eth_addr_is_multicast(flow->dl_dst)
        || !fdb_lookup(dp->t.fdb, flow->dl_dst, vlan, dp->now, &where)) {
        flood(dp, pkt, flow, in_port, policy);
        return;
    }

    struct port *out = (where.vif ? datapath_vif_port(dp, where.vif)
                        : port_set_find_by_number(dp->t.ports,
                                                  u16_to_ofp(where.port)));
    if (!out) {
        drop(dp->in_port, PORT_DROP_NO_NETDEV, pkt);
    } else if (out->port_no == in_port) {
        dp_packet_delete(pkt);      /* Already where it is going. */
    } else {
        deliver(dp, out, pkt, flow, policy);
    }
}

/* Asks for the MAC of the next hop in 'd', where the route goes: an ARP
 * request or neighbour solicitation from the router MAC.  The answer is
 * learned like any ARP or ND frame; until then, routed frames are dropped,
 * as a router without a neighbour entry does. */
static void
request_neighbour(struct datapath *dp, const struct route_decision *d)
{
    if (!memcmp(&dp->last_request, &d->nexthop, sizeof d->nexthop)
        && dp->now < dp->last_request_time + NEIGH_REQUEST_INTERVAL_MS) {
        return;
    }
    dp->last_request = d->nexthop;
    dp->last_request_time = dp->now;

    struct in6_addr src = in6addr_any;
    if (IN6_IS_ADDR_V4MAPPED(&d->nexthop)) {
        in6_addr_set_mapped_ipv4(&src, 0);
    }

    struct dp_packet *req = dp_packet_new(128);
    struct flow f;
    neigh_compose_request(req, &d->nexthop, &src, d->src_mac);
    flow_extract(req, &f);

    struct port *out = (d->output == ROUTE_OUT_PORT
                        ? port_set_find_by_number(dp->t.ports,
                                                  u16_to_ofp(d->port))
                        : NULL);
    if (out) {
        enqueue(dp, out, req);
    } else {
        flood(dp, req, &f, OFPP_NONE, false);
    }
}

/* L3: a frame sent to the router MAC is routed: TTL, MACs, and on to the
 * next hop. */
static void
route(struct datapath *dp, struct dp_packet *pkt, const struct flow *flow)
{
    struct route_decision d;
    enum route_result r = route_packet(dp->t.routes, dp->t.neigh, pkt, flow,
                                       dp->now, &d);

    if (r != ROUTE_OK) {
        if (r == ROUTE_NO_NEIGH) {
            request_neighbour(dp, &d);
        }
        drop(dp->in_port, PORT_DROP_NO_ROUTE, pkt);
        return;
    }

    struct flow f;
    flow_extract(pkt, &f);
    f.in_port = flow->in_port;
    switch (d.output) {
    case ROUTE_OUT_VIF: {
        struct port *out = datapath_vif_port(dp, d.vif);
        if (out) {
            deliver(dp, out, pkt, &f, true);
        } else {
            drop(dp->in_port, PORT_DROP_NO_NETDEV, pkt);
        }
        break;
    }
    case ROUTE_OUT_PORT: {
        struct port *out = port_set_find_by_number(dp->t.ports,
                                                   u16_to_ofp(d.port));
        if (out) {
            deliver(dp, out, pkt, &f, true);
        } else {
            drop(dp->in_port, PORT_DROP_NO_NETDEV, pkt);
        }
        break;
    }
    case ROUTE_OUT_L2:
    default:
        switch_l2(dp, pkt, &f, true);
        break;
    }
}

static bool
is_uplink(const struct datapath *dp, uint32_t port_no)
{
    const struct port *port = (port_no <= UINT16_MAX
                               ? port_set_find_by_number(dp->t.ports,
                                                         u16_to_ofp(port_no))
                               : NULL);
    return port && port->uplink;
}

/* Does a frame from a VM leave the host through an uplink, as the default
 * pipeline will forward it ('routed' if it goes to the router)?  A unicast
 * frame whose way out is not known yet (the FDB does not know its
 * destination, or its next hop is not resolved) is not known to stay on
 * the host and counts as leaving; a multicast one stays on its segment. */
static bool
leaves_by_uplink(const struct datapath *dp, const struct flow *flow,
                 bool routed)
{
    struct eth_addr dst = flow->dl_dst;

    if (routed) {
        struct route_decision d;
        struct in6_addr ip;

        if (flow->dl_type == htons(ETH_TYPE_IP)) {
            in6_addr_set_mapped_ipv4(&ip, flow->nw_dst);
        } else {
            ip = flow->ipv6_dst;
        }
        enum route_result r = route_decide(dp->t.routes, dp->t.neigh, &ip,
                                           dp->now, &d);
        if (r != ROUTE_OK && r != ROUTE_NO_NEIGH) {
            return true;
        } else if (d.output == ROUTE_OUT_VIF) {
            return false;
        } else if (d.output == ROUTE_OUT_PORT) {
            return is_uplink(dp, d.port);
        } else if (r == ROUTE_NO_NEIGH) {
            return true;
        }
        dst = d.dst_mac;
    }

    struct fdb_where where;
    if (eth_addr_is_multicast(dst)) {
        return false;
    } else if (!fdb_lookup(dp->t.fdb, dst, vlan_tci_to_vid(flow->vlans[0].tci),
                           dp->now, &where)) {
        return true;
    }
    return !where.vif && is_uplink(dp, where.port);
}

/* The VIF that has 'ip' as a floating address and forwards for it here, if
 * any: one that is active and bound to a port of this host.  A standby or
 * fenced VIF's addresses are another host's to answer for, and one with no
 * port here has no VM here. */
static const struct vif *
floating_owner(const struct datapath *dp, const struct in6_addr *ip)
{
    const struct binding_node *bn;

    HMAP_FOR_EACH (bn, node, &dp->bindings) {
        const struct vif *vif = bn->b.vif;

        if (vif->mode == VIF_ACTIVE && bn->b.port_no != OFPP_NONE
            && vif->def.floating && vif_def_has_ip(&vif->def, ip, true)) {
            return vif;
        }
    }
    return NULL;
}

/* Answers an ARP request or a neighbour solicitation that came in on an
 * uplink for a floating address of a VIF active here, with the VIF's MAC,
 * so that the fabric brings the address's traffic to this host, where the
 * FDB knows the MAC's port.  Returns true if it answered; the request then
 * goes no further.  A gratuitous ARP request (sender = target) announces
 * the address and asks nothing. */
static bool
answer_floating(struct datapath *dp, const struct flow *flow)
{
    bool arp = flow->dl_type == htons(ETH_TYPE_ARP);
    struct in6_addr target;

    if (arp && flow->nw_proto == ARP_OP_REQUEST
        && flow->nw_src != flow->nw_dst) {
        in6_addr_set_mapped_ipv4(&target, flow->nw_dst);
    } else if (!arp && is_nd(flow, NULL)
               && flow->tp_src == htons(ND_NEIGHBOR_SOLICIT)) {
        target = flow->nd_target;
    } else {
        return false;
    }

    const struct vif *vif = floating_owner(dp, &target);
    if (!vif) {
        return false;
    }

    struct dp_packet *reply = dp_packet_new(128);
    struct eth_addr mac;
    memcpy(mac.ea, vif->def.mac, sizeof mac.ea);
    if (arp) {
        compose_arp(reply, ARP_OP_REPLY, mac, flow->arp_sha, false,
                    flow->nw_dst, flow->nw_src);
    } else if (ipv6_is_zero(&flow->ipv6_src)) {
        /* Duplicate address detection: the answer goes to all nodes. */
        struct eth_addr all;
        ipv6_multicast_to_ethernet(&all, &in6addr_all_hosts);
        compose_nd_na(reply, mac, all, &target, &in6addr_all_hosts,
                      htonl(ND_RSO_OVERRIDE));
    } else {
        compose_nd_na(reply, mac, flow->dl_src, &target, &flow->ipv6_src,
                      htonl(ND_RSO_SOLICITED | ND_RSO_OVERRIDE));
    }
    if (flow->vlans[0].tci & htons(VLAN_CFI)) {
        eth_push_vlan(reply, htons(ETH_TYPE_VLAN_8021Q), flow->vlans[0].tci);
    }
    enqueue(dp, dp->in_port, reply);
    return true;
}

/* The default pipeline, after no flow matched. */
static void
default_pipeline(struct datapath *dp, struct vif *vif, struct dp_packet *pkt,
                 struct flow *flow)
{
    struct eth_addr router = route_get_router_mac(dp->t.routes);
    bool routed = (!eth_addr_is_zero(router)
                   && eth_addr_equals(flow->dl_dst, router)
                   && is_ip_any(flow));

    if (vif) {
        bool out = (vif->def.floating && is_ip_any(flow)
                    && leaves_by_uplink(dp, flow, routed));
        struct vif_verdict v = vif_process(vif, pkt, flow, true, out,
                                           dp->now);

        if (!v.allow) {
            drop(dp->in_port, policy_drop_reason(&v), pkt);
            return;
        }
    } else if (dp->in_port->uplink && answer_floating(dp, flow)) {
        dp_packet_delete(pkt);
        return;
    }

    if (routed) {
        route(dp, pkt, flow);
    } else {
        switch_l2(dp, pkt, flow, true);
    }
}

static void
learn(struct datapath *dp, struct vif *vif, const struct flow *flow)
{
    uint16_t vlan = vlan_tci_to_vid(flow->vlans[0].tci);
    uint32_t port = ofp_to_u16(flow->in_port.ofp_port);

    if (vif) {
        fdb_learn_vif(vif->fdb, flow->dl_src, vlan, dp->now);
    } else {
        fdb_learn_port(dp->t.fdb, port, flow->dl_src, vlan, dp->now);
    }
    if (flow->dl_type == htons(ETH_TYPE_ARP) || is_nd(flow, NULL)) {
        neigh_learn_flow(dp->t.neigh, vif ? vif->neigh : NULL, port, flow,
                         dp->now);
    }
}

static void
process(struct datapath *dp, struct port *in_port, struct dp_packet *pkt)
{
    struct vif *vif = datapath_port_vif(dp, in_port->port_no);
    struct flow flow;

    pkt_metadata_init(&pkt->md, in_port->port_no);
    flow_extract(pkt, &flow);

    if (vif && vif->mode != VIF_ACTIVE) {
        struct eth_addr mac;

        memcpy(mac.ea, vif->def.mac, sizeof mac.ea);
        if (vif->mode == VIF_STANDBY) {
            hold(dp, vif, pkt, NULL, in_port->port_no);
            if (eth_addr_equals(flow.dl_src, mac) && dp->mig.trigger) {
                dp->mig.trigger(vif, dp->mig.aux);
            }
            return;
        }
        if (!eth_addr_equals(flow.dl_src, mac) || !dp->mig.resumed) {
            drop(in_port, PORT_DROP_NO_NETDEV, pkt);
            return;
        }
        /* The VM runs here again: the migration failed. */
        dp->mig.resumed(vif, dp->mig.aux);
        if (vif->mode != VIF_ACTIVE) {
            drop(in_port, PORT_DROP_NO_NETDEV, pkt);
            return;
        }
    }

    if (vif && dp->default_pipeline) {
        enum port_sec_verdict v = port_security_check(&vif->def, &flow, pkt);
        if (v != PORT_SEC_OK) {
            static struct vlog_rate_limit rl = VLOG_RATE_LIMIT_INIT(5, 5);
            VLOG_INFO_RL(&rl, "%s: %s from VIF %s", in_port->name,
                         port_sec_verdict_to_string(v), vif->def.iface_id);
            drop(in_port, PORT_DROP_PORT_SECURITY, pkt);
            return;
        }
    }
    learn(dp, vif, &flow);

    struct flow_exec_ops ops = exec_ops;
    ops.aux = dp;
    struct flow_exec_result r = flow_exec(dp->flows, 0, pkt, &flow, &ops,
                                          dp->now);
    switch (r.status) {
    case FLOW_EXEC_MISS:
        if (dp->default_pipeline) {
            default_pipeline(dp, vif, pkt, &flow);
        } else {
            drop(in_port, PORT_DROP_FIREWALL, pkt);
        }
        break;
    case FLOW_EXEC_DROP:
        port_count_drop(in_port, PORT_DROP_FIREWALL, 1);
        break;
    case FLOW_EXEC_TTL:
        port_count_drop(in_port, PORT_DROP_NO_ROUTE, 1);
        break;
    case FLOW_EXEC_DEPTH:
        port_count_drop(in_port, PORT_DROP_INVALID, 1);
        break;
    case FLOW_EXEC_FORWARDED:
    default:
        break;
    }
}

void
datapath_set_migration_ops(struct datapath *dp,
                           const struct datapath_migration_ops *ops)
{
    dp->mig = *ops;
}

void
datapath_set_hold_limits(struct datapath *dp, size_t max_frames,
                         long long max_ms)
{
    dp->hold_max_frames = max_frames;
    dp->hold_max_ms = max_ms;
}

void
datapath_get_hold_limits(const struct datapath *dp, size_t *max_frames,
                         long long *max_ms)
{
    *max_frames = dp->hold_max_frames;
    *max_ms = dp->hold_max_ms;
}

void
datapath_hold_stats(const struct datapath *dp, const struct vif *vif,
                    struct datapath_hold_stats *stats)
{
    const struct hold *h = find_hold(dp, vif);

    if (h) {
        *stats = h->stats;
    } else {
        memset(stats, 0, sizeof *stats);
    }
}

static struct hold *
take_hold(struct datapath *dp, const struct vif *vif)
{
    struct hold *h = find_hold(dp, vif);

    if (h) {
        hmap_remove(&dp->holds, &h->node);
    }
    return h;
}

/* Announces the floating addresses of 'vif', which just became active
 * here, on every open uplink, from the VIF's MAC: a gratuitous ARP request
 * for each IPv4 one, an unsolicited neighbour advertisement for each IPv6
 * one.  The fabric's switches learn that the MAC is behind this host now,
 * and hosts that know the addresses update their neighbour entries. */
static void
announce_floating(struct datapath *dp, const struct vif *vif)
{
    struct eth_addr mac, all;
    struct port *port;
    int n_ports = 0;

    if (!vif->def.floating || vif->mode != VIF_ACTIVE) {
        return;
    }
    memcpy(mac.ea, vif->def.mac, sizeof mac.ea);
    ipv6_multicast_to_ethernet(&all, &in6addr_all_hosts);
    PORT_SET_FOR_EACH (port, dp->t.ports) {
        struct dp_packet_batch batch;

        if (!port->uplink || !port_is_open(port)) {
            continue;
        }
        dp_packet_batch_init(&batch);
        for (int i = 0; i < vif->def.n_ips && i < OOR_MAX_IPS; i++) {
            const struct in6_addr *ip = &vif->def.ips[i];
            struct dp_packet *pkt;

            if (!vif_def_is_floating(&vif->def, i)) {
                continue;
            }
            pkt = dp_packet_new(128);
            if (IN6_IS_ADDR_V4MAPPED(ip)) {
                ovs_be32 ip4 = in6_addr_get_mapped_ipv4(ip);
                compose_arp(pkt, ARP_OP_REQUEST, mac, eth_addr_zero, true,
                            ip4, ip4);
            } else {
                compose_nd_na(pkt, mac, all, ip, &in6addr_all_hosts,
                              htonl(ND_RSO_OVERRIDE));
            }
            dp_packet_batch_add(&batch, pkt);
        }
        port_send(port, &batch);
        n_ports++;
    }
    VLOG_INFO("VIF %s: floating addresses announced on %d uplink%s",
              vif->def.iface_id, n_ports, n_ports == 1 ? "" : "s");
}

void
datapath_release(struct datapath *dp, struct vif *vif)
{
    struct hold *h = take_hold(dp, vif);
    struct held_frame *f;

    announce_floating(dp, vif);
    if (!h) {
        return;
    }
    dp->now = time_msec();
    LIST_FOR_EACH_POP (f, node, &h->frames) {
        struct port *port = port_set_find_by_number(dp->t.ports, f->port);

        if (!port || dp->now - f->time > dp->hold_max_ms) {
            h->stats.dropped++;
            dp_packet_delete(f->pkt);
        } else {
            dp->in_port = port;
            h->stats.released++;
            if (f->from_vm) {
                process(dp, port, f->pkt);
            } else {
                deliver(dp, port, f->pkt, &f->flow, true);
            }
        }
        free(f);
    }
    flush_all(dp);
    dp->in_port = NULL;

    /* The counters outlive the queue, for migrate/status. */
    h->n = 0;
    hmap_insert(&dp->holds, &h->node, hash_pointer(vif, 0));
}

void
datapath_discard(struct datapath *dp, struct vif *vif)
{
    struct hold *h = take_hold(dp, vif);
    struct held_frame *f;

    if (h) {
        LIST_FOR_EACH_POP (f, node, &h->frames) {
            dp_packet_delete(f->pkt);
            free(f);
        }
        free(h);
    }
}

/* The flow table's callbacks. */

static void
exec_output(ofp_port_t port_no, struct dp_packet *pkt, void *dp_)
{
    struct datapath *dp = dp_;
    struct port *out = port_set_find_by_number(dp->t.ports, port_no);

    if (out) {
        enqueue(dp, out, pkt);
    } else {
        drop(dp->in_port, PORT_DROP_NO_NETDEV, pkt);
    }
}

static void
exec_normal(struct dp_packet *pkt, const struct flow *flow, void *dp_)
{
    switch_l2(dp_, pkt, flow, false);
}

static void
exec_flood(struct dp_packet *pkt, const struct flow *flow, ofp_port_t in_port,
           void *dp_)
{
    flood(dp_, pkt, flow, in_port, false);
}

/* Conntrack for ct(): the zone's table is its VIF's, or else the host's.
 * If the host's can't be made, the packet comes back +inv. */
static void
exec_ct(uint16_t zone, const struct ct_exec *x, struct dp_packet *pkt,
        struct flow *flow, void *dp_)
{
    struct datapath *dp = dp_;
    struct ct_table *t = host_zones_table(dp->t.host_zones, zone, dp->now);
    struct ct_exec_result r = { CS_TRACKED | CS_INVALID, CT_REFUSED_NONE,
                                0, OVS_U128_ZERO };

    if (t) {
        struct ct_exec x2 = *x;

        x2.retrack = flow->ct_state & CS_TRACKED && flow->ct_zone == zone;
        r = ct_table_execute(t, pkt, &x2, dp->now);
    }
    flow->ct_state = r.ct_state;
    flow->ct_zone = zone;
    flow->ct_mark = r.mark;
    flow->ct_label = r.label;
}

static const struct flow_exec_ops exec_ops = {
    .output = exec_output,
    .normal = exec_normal,
    .flood = exec_flood,
    .ct = exec_ct,
};

/* The loop. */

void
datapath_run(struct datapath *dp, long long now)
{
    struct port *port;

    port_set_run(dp->t.ports);
    if (dp->vifs && vif_store_seqno(dp->vifs) != dp->vif_seqno) {
        datapath_reconfigure(dp);
    }

    dp->now = now;
    PORT_SET_FOR_EACH (port, dp->t.ports) {
        if (!port_is_open(port)) {
            continue;
        }
        for (int i = 0; i < MAX_BATCHES_PER_PORT; i++) {
            struct dp_packet_batch batch;
            struct dp_packet *pkt;

            if (port_recv(port, &batch)) {
                break;
            }
            dp->in_port = port;
            DP_PACKET_BATCH_FOR_EACH (j, pkt, &batch) {
                process(dp, port, pkt);
            }
            flush_all(dp);
        }
    }
    dp->in_port = NULL;

    fdb_run(dp->t.fdb, now);
    neigh_run(dp->t.neigh, now);
    flow_table_run(dp->flows, now);
}

void
datapath_wait(struct datapath *dp)
{
    struct port *port;

    PORT_SET_FOR_EACH (port, dp->t.ports) {
        if (port_is_open(port)) {
            port_wait(port);
        }
    }
    port_set_wait(dp->t.ports);
}
