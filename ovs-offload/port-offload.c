/*
 * Checksum and segmentation offloads of frames read from Linux netdevs:
 * what userspace has to finish itself.  See port-offload.h.
 */
#include <config.h>
#include "port-offload.h"

#include <string.h>
#include "crc32c.h"
#include "csum.h"
#include "dp-packet.h"
#include "dpif-netdev.h"
#include "flow.h"
#include "packets.h"
#include "util.h"

bool
port_packet_csum_partial(const struct dp_packet *p)
{
    return dp_packet_hwol_tx_l4_checksum(p);
}

bool
port_packet_is_gso(const struct dp_packet *p)
{
    return dp_packet_hwol_is_tso(p);
}

bool
port_packet_is_offloaded(const struct dp_packet *p)
{
    return port_packet_csum_partial(p) || port_packet_is_gso(p);
}

/* The L4 protocol that the offload marks of 'p' promise, or 0 if none. */
static uint8_t
offloaded_proto(const struct dp_packet *p)
{
    if (port_packet_is_gso(p)) {
        return IPPROTO_TCP;
    } else if (dp_packet_hwol_l4_is_tcp(p)) {
        return IPPROTO_TCP;
    } else if (dp_packet_hwol_l4_is_udp(CONST_CAST(struct dp_packet *, p))) {
        return IPPROTO_UDP;
    } else if (dp_packet_hwol_l4_is_sctp(CONST_CAST(struct dp_packet *, p))) {
        return IPPROTO_SCTP;
    }
    return 0;
}

static size_t
min_l4_size(uint8_t proto)
{
    return (proto == IPPROTO_TCP ? TCP_HEADER_LEN
            : proto == IPPROTO_UDP ? UDP_HEADER_LEN
            : SCTP_HEADER_LEN);
}

static bool
is_ipv4(const struct dp_packet *p)
{
    const struct ip_header *ip = dp_packet_l3(p);

    return IP_VER(ip->ip_ihl_ver) == 4;
}

/* True if 'p' has the L3 and L4 headers that its offload marks need. */
static bool
has_offload_headers(const struct dp_packet *p)
{
    uint8_t proto = offloaded_proto(p);

    return (proto
            && dp_packet_l3(p) && dp_packet_l4(p)
            && dp_packet_l4_size(p) >= min_l4_size(proto)
            && (proto != IPPROTO_TCP
                || TCP_OFFSET(((const struct tcp_header *)
                               dp_packet_l4(p))->tcp_ctl) * 4
                   >= TCP_HEADER_LEN));
}

bool
port_packet_parse_offloaded(struct dp_packet *p)
{
    if (!port_packet_is_offloaded(p)) {
        return true;
    }
    parse_tcp_flags(p, NULL, NULL, NULL);
    return has_offload_headers(p);
}

/* The pseudo-header sum of 'p' for 'proto' and an L4 length of 'l4_size'.
 * It is computed from scratch, so IPv6 extension headers do no harm. */
static uint32_t
pseudo_header(const struct dp_packet *p, uint8_t proto, size_t l4_size)
{
    uint32_t sum = 0;

    if (is_ipv4(p)) {
        const struct ip_header *ip = dp_packet_l3(p);

        sum = csum_add32(sum, get_16aligned_be32(&ip->ip_src));
        sum = csum_add32(sum, get_16aligned_be32(&ip->ip_dst));
    } else {
        const struct ovs_16aligned_ip6_hdr *ip6 = dp_packet_l3(p);

        sum = csum_continue(sum, &ip6->ip6_src, sizeof ip6->ip6_src);
        sum = csum_continue(sum, &ip6->ip6_dst, sizeof ip6->ip6_dst);
    }
    sum = csum_add16(sum, htons(proto));
    return csum_add16(sum, htons(l4_size));
}

/* The 16-bit checksum field of 'p''s L4 header, or NULL for SCTP, whose
 * CRC32c has no pseudo-header. */
static ovs_be16 *
l4_csum_field(struct dp_packet *p, uint8_t proto)
{
    if (proto == IPPROTO_TCP) {
        return &((struct tcp_header *) dp_packet_l4(p))->tcp_csum;
    } else if (proto == IPPROTO_UDP) {
        return &((struct udp_header *) dp_packet_l4(p))->udp_csum;
    }
    return NULL;
}

void
port_packet_csum_refresh(struct dp_packet *p)
{
    if (!port_packet_csum_partial(p) || !has_offload_headers(p)) {
        return;
    }

    uint8_t proto = offloaded_proto(p);
    ovs_be16 *field = l4_csum_field(p, proto);
    if (field) {
        /* The kernel's seed: the folded sum, not its complement. */
        *field = ~csum_finish(pseudo_header(p, proto, dp_packet_l4_size(p)));
    }
}

/* Stores the full checksum of the L4 header and payload of 'p', for
 * 'proto', into its checksum field. */
static void
put_l4_csum(struct dp_packet *p, uint8_t proto)
{
    void *l4 = dp_packet_l4(p);
    size_t size = dp_packet_l4_size(p);

    if (proto == IPPROTO_SCTP) {
        struct sctp_header *sh = l4;

        put_16aligned_be32(&sh->sctp_csum, 0);
        put_16aligned_be32(&sh->sctp_csum, crc32c(l4, size));
        return;
    }

    ovs_be16 *field = l4_csum_field(p, proto);
    *field = 0;
    ovs_be16 sum = csum_finish(csum_continue(pseudo_header(p, proto, size),
                                             l4, size));
    /* A UDP checksum of zero means "none"; its one's complement twin
     * stands in. */
    *field = proto == IPPROTO_UDP && !sum ? htons(0xffff) : sum;
}

static void
clear_offload_marks(struct dp_packet *p)
{
    *dp_packet_ol_flags_ptr(p) &= ~(DP_PACKET_OL_TX_L4_MASK
                                    | DP_PACKET_OL_TX_TCP_SEG);
}

bool
port_packet_csum_finish(struct dp_packet *p)
{
    if (!port_packet_csum_partial(p)) {
        return true;
    }
    if (port_packet_is_gso(p) || !has_offload_headers(p)) {
        return false;
    }
    put_l4_csum(p, offloaded_proto(p));
    clear_offload_marks(p);
    return true;
}

bool
port_packet_gso_overshoots(const struct dp_packet *p)
{
    if (!port_packet_is_gso(p) || !has_offload_headers(p)) {
        return false;
    }

    const struct tcp_header *tcp = dp_packet_l4(p);
    size_t options = TCP_OFFSET(tcp->tcp_ctl) * 4 - TCP_HEADER_LEN;
    size_t l2_len = (const char *) dp_packet_l3(p)
                    - (const char *) dp_packet_data(p);

    return options > l2_len;
}

/* Fixes the IP header of 'seg', segment number 'index' of its frame, for an
 * L4 length of 'l4_size'. */
static void
fix_segment_ip(struct dp_packet *seg, size_t index, size_t l4_size)
{
    size_t l3_len = (char *) dp_packet_l4(seg) - (char *) dp_packet_l3(seg);

    if (is_ipv4(seg)) {
        struct ip_header *ip = dp_packet_l3(seg);

        ip->ip_tot_len = htons(l3_len + l4_size);
        /* Each segment gets the next id, as the kernel's GSO does. */
        ip->ip_id = htons(ntohs(ip->ip_id) + index);
        ip->ip_csum = 0;
        ip->ip_csum = csum(ip, IP_IHL(ip->ip_ihl_ver) * 4);
    } else {
        struct ovs_16aligned_ip6_hdr *ip6 = dp_packet_l3(seg);

        /* The payload length counts extension headers as well. */
        ip6->ip6_ctlun.ip6_un1.ip6_un1_plen = htons(l3_len - IPV6_HEADER_LEN
                                                    + l4_size);
    }
}

/* Fixes the TCP header of 'seg', which starts 'offset' bytes into its
 * frame's payload, and checksums it. */
static void
fix_segment_tcp(struct dp_packet *seg, size_t offset, bool first, bool last)
{
    struct tcp_header *tcp = dp_packet_l4(seg);
    uint32_t seq = ntohl(get_16aligned_be32(&tcp->tcp_seq));

    put_16aligned_be32(&tcp->tcp_seq, htonl(seq + offset));
    if (!last) {
        tcp->tcp_ctl &= ~htons(TCP_FIN | TCP_PSH);
    }
    if (!first) {
        tcp->tcp_ctl &= ~htons(TCP_CWR);
    }
    put_l4_csum(seg, IPPROTO_TCP);
}

/* Makes a frame of the 'hdr_len' bytes of headers of 'p' and 'len' bytes
 * of its L4 payload from 'offset' on, with 'p''s metadata and offsets. */
static struct dp_packet *
new_segment(const struct dp_packet *p, size_t hdr_len, size_t offset,
            size_t len)
{
    const char *data = dp_packet_data(p);
    struct dp_packet *seg = dp_packet_new_with_headroom(hdr_len + len,
                                                        DP_NETDEV_HEADROOM);

    dp_packet_put(seg, data, hdr_len);
    dp_packet_put(seg, data + hdr_len + offset, len);
    seg->packet_type = p->packet_type;
    seg->md = p->md;
    seg->l2_5_ofs = p->l2_5_ofs;
    seg->l3_ofs = p->l3_ofs;
    seg->l4_ofs = p->l4_ofs;
    return seg;
}

size_t
port_packet_segment(const struct dp_packet *p, int mtu,
                    struct dp_packet **segs)
{
    if (!has_offload_headers(p) || offloaded_proto(p) != IPPROTO_TCP) {
        return 0;
    }

    const struct tcp_header *tcp = dp_packet_l4(p);
    size_t tcp_hlen = TCP_OFFSET(tcp->tcp_ctl) * 4;
    size_t l4_size = dp_packet_l4_size(p);
    size_t l3_len = (const char *) tcp - (const char *) dp_packet_l3(p);
    if (tcp_hlen > l4_size || mtu <= 0 || mtu <= l3_len + tcp_hlen) {
        return 0;
    }

    size_t mss = mtu - l3_len - tcp_hlen;
    size_t payload = l4_size - tcp_hlen;
    size_t n = payload ? DIV_ROUND_UP(payload, mss) : 1;
    if (n > PORT_MAX_SEGMENTS) {
        return 0;
    }

    size_t hdr_len = (const char *) tcp - (const char *) dp_packet_data(p)
                     + tcp_hlen;
    for (size_t i = 0; i < n; i++) {
        size_t offset = i * mss;
        size_t len = MIN(mss, payload - offset);
        struct dp_packet *seg = new_segment(p, hdr_len, offset, len);

        fix_segment_ip(seg, i, tcp_hlen + len);
        fix_segment_tcp(seg, offset, i == 0, i == n - 1);
        segs[i] = seg;
    }
    return n;
}
