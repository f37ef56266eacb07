/*
 * A port of the datapath: one existing Linux netdev (a veth end, a tap such
 * as QEMU's vnetN, a dummy, a NIC), read and written in batches through
 * libopenvswitch's netdev layer ("system" type, AF_PACKET).
 *
 * A port never creates, deletes or reconfigures its netdev beyond turning
 * on promiscuous mode while it is open (restored on close), and it leaves
 * the kernel's checksum and segmentation offloads as they are.  To cope with
 * them, call port_offloads_init(true) before opening any port: the netdev
 * layer then reads and writes with a vnet header, so partial checksums and
 * GSO frames pass through marked, and the kernel finishes them for the
 * destination device.  port_send() finishes them in software where the
 * kernel could not (see port-offload.h).
 *
 * A port is defined (name, number, uplink) whether or not its netdev exists
 * right now; it is "open" while it has the netdev, "missing" otherwise.
 * Counters survive closing and reopening.
 *
 * Not thread-safe: one thread owns its ports.
 */
#ifndef PORT_H
#define PORT_H 1

#include <stdbool.h>
#include <stdint.h>
#include "openvswitch/hmap.h"
#include "openvswitch/types.h"

struct dp_packet_batch;
struct ds;
struct netdev;
struct netdev_rxq;
struct netdev_saved_flags;

/* Why a packet was dropped.  Each is counted on the port it came in on, or,
 * for TX_ERROR, OFFLOAD, TOO_BIG and NO_NETDEV, on the port it was going out
 * of. */
#define PORT_DROP_REASONS                                                  \
    PORT_DROP_REASON(INVALID, "invalid")   /* Malformed or +inv. */        \
    PORT_DROP_REASON(FIREWALL, "firewall") /* Refused by VIF policy. */    \
    PORT_DROP_REASON(NO_ROUTE, "no-route") /* No route or neighbour. */    \
    PORT_DROP_REASON(LIMIT, "limit")       /* Conntrack limit reached. */  \
    PORT_DROP_REASON(PORT_SECURITY, "port-security") /* Spoofed. */        \
    PORT_DROP_REASON(TX_ERROR, "tx-error") /* The netdev refused it. */    \
    PORT_DROP_REASON(OFFLOAD, "offload")   /* Could not be finished. */    \
    PORT_DROP_REASON(TOO_BIG, "too-big")   /* Longer than the MTU. */      \
    PORT_DROP_REASON(NO_NETDEV, "no-netdev") /* Sent to a missing port. */

enum port_drop_reason {
#define PORT_DROP_REASON(ENUM, NAME) PORT_DROP_##ENUM,
    PORT_DROP_REASONS
#undef PORT_DROP_REASON
    N_PORT_DROP_REASONS
};

/* "invalid", "firewall", ...: the name of 'reason' in output. */
const char *port_drop_reason_name(enum port_drop_reason reason);

/* Counters.  A GSO frame counts as one packet of its full size, as the
 * kernel's own netdev counters see it. */
struct port_stats {
    uint64_t rx_packets, rx_bytes;
    uint64_t tx_packets, tx_bytes;
    uint64_t drops[N_PORT_DROP_REASONS];
};

struct port {
    /* Definition, fixed while the port exists. */
    char *name;                 /* The netdev's name. */
    ofp_port_t port_no;         /* 1...OFPP_MAX - 1. */
    bool uplink;                /* Faces the fabric, not a VM. */

    /* For port-set's use. */
    struct hmap_node name_node;
    struct hmap_node no_node;

    /* Open state: all NULL while the netdev is missing. */
    struct netdev *netdev;
    struct netdev_rxq *rxq;
    struct netdev_saved_flags *saved_flags;
    int ifindex;                /* At open, to notice a recreated netdev. */

    bool soft_offload;          /* Finish every offloaded frame here. */
    struct port_stats stats;
};

/* Enables (or not) the vnet-header offload path of the netdev layer for the
 * whole process.  Call it once, before the first port_open(); without it,
 * TCP over veth and tap with default offloads stalls. */
void port_offloads_init(bool enable);
bool port_offloads_enabled(void);

/* Defines a port, closed.  Use port_open() to open its netdev. */
struct port *port_create(const char *name, ofp_port_t port_no, bool uplink);
void port_destroy(struct port *);

/* Opens the netdev of 'port' if it is not open yet.  Returns NULL, or an
 * error naming the netdev and the fault ("veth9: no such network device"),
 * with the port left closed. */
char *port_open(struct port *) OVS_WARN_UNUSED_RESULT;
void port_close(struct port *);
bool port_is_open(const struct port *);

/* True if 'port' is open but its netdev has since disappeared or been
 * replaced by another of the same name; the caller should close and
 * reopen it. */
bool port_netdev_changed(const struct port *);

/* Receives up to a batch of frames from 'port' into 'batch' (which it
 * initializes).  Each frame has md.in_port set to the port number; an
 * offloaded frame also has its L3 and L4 offsets set.  Returns 0 or a
 * positive errno value: EAGAIN if nothing was waiting, ENODEV if 'port' is
 * closed. */
int port_recv(struct port *, struct dp_packet_batch *batch);

/* Sends every frame in 'batch' out of 'port' and empties 'batch'; the
 * frames are consumed, sent or not.  Offloaded frames the kernel would not
 * finish right, or all of them for a soft-offload port, are first finished
 * here.  A frame that is not GSO and is longer than the MTU is dropped
 * here, as "too-big", since the kernel would refuse it and netdev-linux
 * would lose the rest of the batch with it (it is what a UDP GSO frame
 * looks like: see port-offload.h).  Failures are counted as drops.
 * Returns 0, or the errno of the last failure. */
int port_send(struct port *, struct dp_packet_batch *batch);

/* Wakes the poll loop when 'port' has frames to receive (no-op if closed). */
void port_wait(const struct port *);

/* Makes 'port' finish checksums and segment GSO frames in userspace before
 * sending, so that its netdev gets only complete, MTU-sized frames. */
void port_set_soft_offload(struct port *, bool soft);

/* The MTU of 'port''s netdev, or 1500 if unknown or closed. */
int port_get_mtu(const struct port *);

void port_count_drop(struct port *, enum port_drop_reason, uint64_t n);

/* Appends one line (without a new-line) for offload/list-ports:
 * "NAME: port N, vif|uplink, open|missing, rx P packets B bytes,
 *  tx P packets B bytes, drops invalid=N firewall=N ..." */
void port_format(const struct port *, struct ds *);

#endif /* port.h */
