/*
 * TCP connection tracking, pf-style: each direction keeps the window it has
 * seen (seqlo, seqhi, max_win, wscale) and its own state, and every segment
 * must fall inside the window the other side has advertised.  The state of
 * the connection as a whole, which decides the timeout and which
 * dump-conntrack prints, is derived from the two directions.
 *
 * The verdicts are those of OVS's userspace conntrack (conntrack-tcp.c) with
 * sequence checking on, segment for segment, because the two engines are
 * compared packet by packet.  That includes pf's leniencies: a side's first
 * segment is taken as its starting point, and after a close (or before the
 * other side has spoken) segments within a window of the edges still pass.
 *
 * Pure functions over 'struct ct_tcp_peer[2]': no allocation, no clock of
 * their own.  peer[0] is the originating direction, peer[1] the reply.
 *
 * The packets passed in must have been through flow_extract() or
 * miniflow_extract().  As in OVS, the caller refuses (+inv) a segment whose
 * TCP header, by its data offset, does not fit in the packet, or whose
 * checksum is bad, before it calls ct_tcp_valid_new() or ct_tcp_init(),
 * which rely on that; ct_tcp_update() checks the header again itself.
 */
#ifndef OFFLOAD_CT_TCP_H
#define OFFLOAD_CT_TCP_H 1

#include <stdbool.h>
#include <stdint.h>

struct dp_packet;
struct tcp_header;

/* One direction.  'state' is an enum ct_dpif_tcp_state (ct-dpif.h): CLOSED,
 * SYN_SENT, ..., TIME_WAIT; pf uses SYN_SENT (has sent), ESTABLISHED (its
 * SYN was acked), CLOSING (has sent FIN), FIN_WAIT_2 (its FIN was acked) and
 * TIME_WAIT (reset).  This struct is part of the region layout (ct-entry.h),
 * so its size and order are fixed. */
struct ct_tcp_peer {
    uint32_t seqlo;             /* Max sequence number sent. */
    uint32_t seqhi;             /* Max the other end ACKs + window. */
    uint32_t max_win;           /* Largest window, unscaled; <= 0xffff. */
    uint8_t wscale;             /* CT_TCP_WSCALE_* bits, see below. */
    uint8_t state;              /* enum ct_dpif_tcp_state. */
    uint16_t pad;
};

/* ct_tcp_peer.wscale is one of:
 *   0                               no window scale option (yet);
 *   CT_TCP_WSCALE_FLAG | shift      the peer's SYN had one, 'shift' <= 14;
 *   CT_TCP_WSCALE_UNKNOWN           picked up mid-stream, on both peers:
 *                                   the scale is unknown, so the windows are
 *                                   taken as scaled by the maximum. */
#define CT_TCP_WSCALE_MASK 0x0f
#define CT_TCP_WSCALE_UNKNOWN 0x40
#define CT_TCP_WSCALE_FLAG 0x80   /* Set when the peer sent a wscale option. */
#define CT_TCP_MAX_WSCALE 14

/* The connection's state, Linux-style, derived from the two peers. */
enum ct_tcp_conn_state {
    CT_TCP_SYN_SENT,
    CT_TCP_SYN_SENT2,           /* Simultaneous open. */
    CT_TCP_SYN_RECV,
    CT_TCP_ESTABLISHED,
    CT_TCP_FIN_WAIT,
    CT_TCP_CLOSE_WAIT,
    CT_TCP_LAST_ACK,
    CT_TCP_TIME_WAIT,
    CT_TCP_CLOSE,
    CT_TCP_N_CONN_STATES
};

enum ct_tcp_result {
    CT_TCP_VALID,               /* In window; the peers were updated: the
                                 * packet is +est. */
    CT_TCP_INVALID,             /* Out of window, bad flags, or a header
                                 * that does not fit: +inv.  As in pf, a
                                 * side's first segment has already set that
                                 * side's starting point even when it is
                                 * then refused, so the caller must store
                                 * the peers in this case too. */
    CT_TCP_RESTART,             /* A fresh SYN on a closed connection: the
                                 * caller deletes it and tracks anew; the
                                 * peers are untouched. */
    CT_TCP_VALID_NEW,           /* A SYN (no ACK) from a side that no one
                                 * has answered yet: a retransmitted SYN or
                                 * simultaneous open.  The peers were
                                 * updated, but the packet is +new, not
                                 * +est, and never +rpl, even from the
                                 * reply side (OVS's CT_UPDATE_VALID_NEW). */
};

/* May 'tcp' open a connection?  Never with invalid flags (SYN with RST or
 * FIN; neither SYN, ACK nor RST; FIN, PSH or URG without ACK).  Strictly
 * ('pickup' false), only a SYN without ACK may.  With 'pickup' (the loose
 * policy, and exactly OVS's tcp_valid_new()) any other segment with valid
 * flags may too, a RST included, except a SYN+ACK. */
bool ct_tcp_valid_new(const struct tcp_header *, bool pickup);

/* Starts tracking from the first segment of a connection, 'pkt', which
 * ct_tcp_valid_new() allowed. */
void ct_tcp_init(struct ct_tcp_peer peer[2], const struct dp_packet *pkt);

/* Tracks one more segment, 'pkt'; 'reply' tells its direction. */
enum ct_tcp_result ct_tcp_update(struct ct_tcp_peer peer[2],
                                 const struct dp_packet *pkt, bool reply);

enum ct_tcp_conn_state ct_tcp_conn_state(const struct ct_tcp_peer peer[2]);
const char *ct_tcp_conn_state_name(enum ct_tcp_conn_state);
long long ct_tcp_timeout_ms(enum ct_tcp_conn_state);   /* Linux defaults. */

/* Checks a stored pair of peers, for the image validator; returns NULL or a
 * malloc'd message naming the fault. */
char *ct_tcp_check(const struct ct_tcp_peer peer[2]);

#endif /* ct-tcp.h */
