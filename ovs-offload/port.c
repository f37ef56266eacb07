/*
 * A port of the datapath: one Linux netdev through libopenvswitch's netdev
 * layer.  See port.h.
 */
#include <config.h>
#include "port.h"

#include <errno.h>
#include <net/if.h>
#include "dp-packet.h"
#include "flow.h"
#include "netdev.h"
#include "openvswitch/dynamic-string.h"
#include "openvswitch/vlog.h"
#include "packets.h"
#include "port-offload.h"
#include "smap.h"
#include "userspace-tso.h"
#include "util.h"

VLOG_DEFINE_THIS_MODULE(port);

static struct vlog_rate_limit rl = VLOG_RATE_LIMIT_INIT(5, 20);

const char *
port_drop_reason_name(enum port_drop_reason reason)
{
    static const char *const names[] = {
#define PORT_DROP_REASON(ENUM, NAME) NAME,
        PORT_DROP_REASONS
#undef PORT_DROP_REASON
    };

    return reason < ARRAY_SIZE(names) ? names[reason] : "unknown";
}

void
port_offloads_init(bool enable)
{
    struct smap config = SMAP_INITIALIZER(&config);

    /* netdev-linux's "userspace TSO" is what reads and writes the vnet
     * header; the switch is process-wide and can only be turned on. */
    smap_add(&config, "userspace-tso-enable", enable ? "true" : "false");
    userspace_tso_init(&config);
    smap_destroy(&config);
}

bool
port_offloads_enabled(void)
{
    return userspace_tso_enabled();
}

struct port *
port_create(const char *name, ofp_port_t port_no, bool uplink)
{
    struct port *port = xzalloc(sizeof *port);

    port->name = xstrdup(name);
    port->port_no = port_no;
    port->uplink = uplink;
    return port;
}

void
port_destroy(struct port *port)
{
    if (port) {
        port_close(port);
        free(port->name);
        free(port);
    }
}

static char *
open_error(const char *name, int error)
{
    return (error == ENODEV || error == ENXIO
            ? xasprintf("%s: no such network device", name)
            : xasprintf("%s: cannot open network device (%s)", name,
                        ovs_strerror(error)));
}

char *
port_open(struct port *port)
{
    struct netdev *netdev;
    struct netdev_rxq *rxq;

    if (port->netdev) {
        return NULL;
    }

    int error = netdev_open(port->name, "system", &netdev);
    if (error) {
        return open_error(port->name, error);
    }
    error = netdev_rxq_open(netdev, &rxq, 0);
    if (error) {
        netdev_close(netdev);
        return xasprintf("%s: cannot receive from network device (%s)",
                         port->name, ovs_strerror(error));
    }

    /* A switch port takes frames for every MAC, as on a NIC. */
    error = netdev_turn_flags_on(netdev, NETDEV_PROMISC, &port->saved_flags);
    if (error) {
        VLOG_WARN("%s: cannot turn on promiscuous mode (%s)", port->name,
                  ovs_strerror(error));
    }
    port->netdev = netdev;
    port->rxq = rxq;
    port->ifindex = if_nametoindex(port->name);
    return NULL;
}

void
port_close(struct port *port)
{
    if (port->netdev) {
        netdev_restore_flags(port->saved_flags);
        netdev_rxq_close(port->rxq);
        netdev_close(port->netdev);
        port->saved_flags = NULL;
        port->rxq = NULL;
        port->netdev = NULL;
        port->ifindex = 0;
    }
}

bool
port_is_open(const struct port *port)
{
    return port->netdev != NULL;
}

bool
port_netdev_changed(const struct port *port)
{
    /* Asked of the kernel directly: netdev-linux's cache only learns of a
     * deleted netdev when its netlink notifier runs. */
    return port->netdev && (int) if_nametoindex(port->name) != port->ifindex;
}

int
port_recv(struct port *port, struct dp_packet_batch *batch)
{
    dp_packet_batch_init(batch);
    if (!port->rxq) {
        return ENODEV;
    }

    int error = netdev_rxq_recv(port->rxq, batch, NULL);
    if (error) {
        return error;
    }

    odp_port_t in_port = u32_to_odp(ofp_to_u16(port->port_no));
    size_t i, size = dp_packet_batch_size(batch);
    struct dp_packet *p;
    DP_PACKET_BATCH_REFILL_FOR_EACH (i, size, p, batch) {
        port->stats.rx_packets++;
        port->stats.rx_bytes += dp_packet_size(p);
        if (!port_packet_parse_offloaded(p)) {
            VLOG_WARN_RL(&rl, "%s: dropped a frame marked offloaded with no "
                         "IP and L4 header", port->name);
            port_count_drop(port, PORT_DROP_INVALID, 1);
            dp_packet_delete(p);
            continue;
        }
        pkt_metadata_init(&p->md, in_port);
        dp_packet_batch_refill(batch, p, i);
    }
    return 0;
}

/* Frames on their way out of one port, sent a batch at a time. */
struct tx_queue {
    struct port *port;
    struct dp_packet_batch batch;
    int error;
};

static void
tx_flush(struct tx_queue *q)
{
    struct dp_packet_batch *batch = &q->batch;
    size_t n = dp_packet_batch_size(batch);
    uint64_t bytes = 0;
    struct dp_packet *p;

    if (!n) {
        return;
    }
    DP_PACKET_BATCH_FOR_EACH (i, p, batch) {
        bytes += dp_packet_size(p);
    }

    /* netdev_send() consumes the batch whatever happens.  On an error it
     * cannot say how many went out, so all of them count as dropped. */
    int error = netdev_send(q->port->netdev, 0, batch, false);
    if (error) {
        VLOG_WARN_RL(&rl, "%s: send failed (%s)", q->port->name,
                     ovs_strerror(error));
        port_count_drop(q->port, PORT_DROP_TX_ERROR, n);
        q->error = error;
    } else {
        q->port->stats.tx_packets += n;
        q->port->stats.tx_bytes += bytes;
    }
    dp_packet_batch_init(batch);
}

static void
tx_add(struct tx_queue *q, struct dp_packet *p)
{
    if (dp_packet_batch_is_full(&q->batch)) {
        tx_flush(q);
    }
    dp_packet_batch_add(&q->batch, p);
}

/* True if the kernel would refuse 'p' as longer than 'mtu': AF_PACKET
 * takes a frame that is not GSO only up to the MTU plus its Ethernet
 * header, plus a VLAN header if it has one. */
static bool
too_big(const struct dp_packet *p, int mtu)
{
    const struct eth_header *eth = dp_packet_data(p);
    size_t max = mtu + ETH_HEADER_LEN;

    if (port_packet_is_gso(p) || dp_packet_size(p) <= max) {
        return false;
    }
    return (!eth_type_vlan(eth->eth_type)
            || dp_packet_size(p) > max + VLAN_HEADER_LEN);
}

/* Queues 'p', unless it is too big for 'port'. */
static void
tx_add_checked(struct tx_queue *q, struct dp_packet *p, int mtu)
{
    if (too_big(p, mtu)) {
        VLOG_WARN_RL(&rl, "%s: dropped a %"PRIu32"-byte frame longer than "
                     "the MTU (%d)%s", q->port->name, dp_packet_size(p), mtu,
                     port_packet_csum_partial(p)
                     ? "; a UDP GSO frame?" : "");
        port_count_drop(q->port, PORT_DROP_TOO_BIG, 1);
        dp_packet_delete(p);
    } else {
        tx_add(q, p);
    }
}

/* True if offloaded frame 'p' must be finished here rather than by the
 * kernel behind 'port''s netdev. */
static bool
needs_soft_offload(const struct port *port, const struct dp_packet *p)
{
    return (port_packet_is_offloaded(p)
            && (port->soft_offload
                || !port_offloads_enabled()  /* No vnet header to carry it. */
                || port_packet_gso_overshoots(p)));
}

/* Finishes offloaded frame 'p' in software, for 'mtu', and queues the
 * result. */
static void
tx_add_finished(struct tx_queue *q, struct dp_packet *p, int mtu)
{
    struct port *port = q->port;

    if (port_packet_is_gso(p)) {
        struct dp_packet *segs[PORT_MAX_SEGMENTS];
        size_t n = port_packet_segment(p, mtu, segs);

        if (!n) {
            VLOG_WARN_RL(&rl, "%s: cannot segment a %"PRIu32"-byte GSO "
                         "frame for MTU %d", port->name, dp_packet_size(p),
                         mtu);
            port_count_drop(port, PORT_DROP_OFFLOAD, 1);
        }
        for (size_t i = 0; i < n; i++) {
            tx_add(q, segs[i]);
        }
        dp_packet_delete(p);
    } else if (port_packet_csum_finish(p)) {
        tx_add_checked(q, p, mtu);
    } else {
        port_count_drop(port, PORT_DROP_OFFLOAD, 1);
        dp_packet_delete(p);
    }
}

int
port_send(struct port *port, struct dp_packet_batch *batch)
{
    size_t n = dp_packet_batch_size(batch);

    if (!port->netdev) {
        port_count_drop(port, PORT_DROP_NO_NETDEV, n);
        dp_packet_delete_batch(batch, true);
        dp_packet_batch_init(batch);
        return n ? ENODEV : 0;
    }

    struct tx_queue q = { .port = port, .error = 0 };
    dp_packet_batch_init(&q.batch);

    int mtu = port_get_mtu(port);
    struct dp_packet *p;
    DP_PACKET_BATCH_FOR_EACH (i, p, batch) {
        if (needs_soft_offload(port, p)) {
            tx_add_finished(&q, p, mtu);
        } else {
            tx_add_checked(&q, p, mtu);
        }
    }
    dp_packet_batch_init(batch);
    tx_flush(&q);
    return q.error;
}

void
port_wait(const struct port *port)
{
    if (port->rxq) {
        netdev_rxq_wait(port->rxq);
    }
}

void
port_set_soft_offload(struct port *port, bool soft)
{
    port->soft_offload = soft;
}

int
port_get_mtu(const struct port *port)
{
    int mtu;

    if (!port->netdev || netdev_get_mtu(port->netdev, &mtu) || mtu <= 0) {
        return ETH_PAYLOAD_MAX;
    }
    return mtu;
}

void
port_count_drop(struct port *port, enum port_drop_reason reason, uint64_t n)
{
    if (reason < N_PORT_DROP_REASONS) {
        port->stats.drops[reason] += n;
    }
}

void
port_format(const struct port *port, struct ds *s)
{
    const struct port_stats *st = &port->stats;

    ds_put_format(s, "%s: port %"PRIu16", %s, %s, "
                  "rx %"PRIu64" packets %"PRIu64" bytes, "
                  "tx %"PRIu64" packets %"PRIu64" bytes, drops",
                  port->name, ofp_to_u16(port->port_no),
                  port->uplink ? "uplink" : "vif",
                  port->netdev ? "open" : "missing",
                  st->rx_packets, st->rx_bytes,
                  st->tx_packets, st->tx_bytes);
    for (int i = 0; i < N_PORT_DROP_REASONS; i++) {
        ds_put_format(s, " %s=%"PRIu64, port_drop_reason_name(i),
                      st->drops[i]);
    }
}
