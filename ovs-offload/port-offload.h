/*
 * Checksum and segmentation offloads of frames read from Linux netdevs.
 *
 * With userspace TSO enabled (port_offloads_init()), libopenvswitch's
 * netdev-linux reads with a vnet header (PACKET_VNET_HDR) and marks what the
 * kernel left unfinished in the packet's ol_flags:
 *
 *   - a partial L4 checksum (DP_PACKET_OL_TX_{TCP,UDP,SCTP}_CKSUM): the
 *     checksum field holds only the pseudo-header sum, the kernel of the
 *     sender never summed the payload;
 *
 *   - a TCP GSO super-frame (DP_PACKET_OL_TX_TCP_SEG): up to 64 KiB of TCP
 *     payload behind one header, larger than any MTU.
 *
 * On send, netdev-linux writes the same marks back into a vnet header, and
 * the kernel finishes the frame for the destination device, in hardware or
 * in software.  These functions are for the frames that userspace itself
 * must finish, or must not misread:
 *
 *   - conntrack must not validate a partial checksum
 *     (port_packet_csum_partial());
 *
 *   - a rewrite of an address or port must not "update" a partial checksum
 *     incrementally, since it holds a seed, not a checksum
 *     (port_packet_csum_refresh());
 *
 *   - a frame bound for a destination that takes no vnet header, or whose
 *     kernel segments would not fit the MTU, is finished here
 *     (port_packet_csum_finish(), port_packet_segment()).
 *
 * Every function here needs the packet's L3 and L4 offsets;
 * port_packet_parse_offloaded() sets them on a frame as it was received.
 *
 * Not handled, because OVS 3.1's netdev-linux loses what it would take:
 *
 *   - UDP GSO frames (senders using UDP_SEGMENT, guests with USO): it does
 *     not recognize gso_type UDP_L4 and drops gso_size, so such a frame
 *     arrives as one over-long UDP datagram with a partial checksum and
 *     its datagram boundaries gone.  port_send() drops it ("too-big")
 *     rather than deliver one datagram for many.
 *
 *   - a partial checksum behind IPv6 extension headers: it takes the L4
 *     protocol from the first next-header field, so the frame comes
 *     unmarked and leaves with its seed for a checksum.
 */
#ifndef PORT_OFFLOAD_H
#define PORT_OFFLOAD_H 1

#include <stdbool.h>
#include <stddef.h>

struct dp_packet;

/* The most segments port_packet_segment() makes of one frame: enough for a
 * 64 KiB frame at an MTU of 576. */
#define PORT_MAX_SEGMENTS 160

/* True if 'p''s L4 checksum is partial: the field holds the pseudo-header
 * seed that the kernel, or whoever gets the frame next, completes.  Such a
 * checksum must not be validated and must not be updated incrementally. */
bool port_packet_csum_partial(const struct dp_packet *p);

/* True if 'p' is a TCP GSO super-frame, to be segmented by the kernel on
 * send (or by port_packet_segment()). */
bool port_packet_is_gso(const struct dp_packet *p);

/* True if 'p' carries either of the marks above. */
bool port_packet_is_offloaded(const struct dp_packet *p);

/* Sets the L3 and L4 offsets of a just-received offloaded frame 'p', which
 * the functions here and netdev-linux's send path depend on.  Returns false
 * if 'p' is marked offloaded but its headers cannot carry that (not IP, or
 * no L4 header): such a frame is invalid and must be dropped. */
bool port_packet_parse_offloaded(struct dp_packet *p);

/* Recomputes the pseudo-header seed in the partial L4 checksum of 'p', from
 * its current addresses and L4 length.  Call it after rewriting an IP
 * address or an L4 port of a packet for which port_packet_csum_partial() is
 * true (OVS's packet_set_*() update checksums incrementally, which corrupts a
 * seed); it is a no-op on other packets.  Valid for GSO frames too. */
void port_packet_csum_refresh(struct dp_packet *p);

/* Computes the full L4 checksum of 'p' in software and clears its partial
 * mark.  'p' must not be a GSO frame (segment it instead).  Returns false,
 * changing nothing, if 'p' has no L4 header its mark promises. */
bool port_packet_csum_finish(struct dp_packet *p);

/* Splits the TCP GSO frame 'p' into frames whose IP packets fit 'mtu', each
 * with full IPv4 header and TCP checksums and no offload marks, with the
 * sequence numbers, IPv4 ids and flags (FIN and PSH on the last, CWR on the
 * first only) the kernel's own segmentation gives.  Stores the new frames in
 * 'segs' (room for PORT_MAX_SEGMENTS) and returns their number; returns 0 if
 * 'p' cannot be segmented for 'mtu' (not TCP, or the MTU leaves no room for
 * payload, or more than PORT_MAX_SEGMENTS would be needed).  'p' is not
 * changed or freed. */
size_t port_packet_segment(const struct dp_packet *p, int mtu,
                           struct dp_packet **segs);

/* True if netdev-linux's vnet header for the GSO frame 'p' would make the
 * kernel cut segments larger than the MTU.  OVS 3.1 sets gso_size to
 * MTU - (L2 + L3 + 20) whatever the TCP options, so a frame whose TCP
 * options are longer than its L2 header (SACK blocks) would overshoot. */
bool port_packet_gso_overshoots(const struct dp_packet *p);

#endif /* port-offload.h */
