/*
 * Conntrack keys from packets.  flow_extract() has already found the L3 and
 * L4 headers; what is left is what only conntrack cares about: the
 * checksums, the ICMP message classes, and the packet an ICMP error quotes.
 */
#include <config.h>
#include "ct-key.h"

#include <netinet/icmp6.h>
#include <netinet/ip6.h>
#include <string.h>
#include "csum.h"
#include "dp-packet.h"
#include "flow.h"
#include "packets.h"

/* The quoted packet of an ICMP error carries at least this much of L4. */
#define QUOTED_L4_MIN 8

static void
set_v4(struct in6_addr *a, ovs_16aligned_be32 addr)
{
    in6_addr_set_mapped_ipv4(a, get_16aligned_be32(&addr));
}

static void
set_v6(struct in6_addr *a, const union ovs_16aligned_in6_addr *addr)
{
    memcpy(a, addr, sizeof *a);
}

static bool
l4_checksum_ok(const struct dp_packet *pkt, bool v4, const void *l3,
               const void *l4, size_t size, uint8_t proto)
{
    /* A checksum the receiving NIC vouched for, or one a local stack left
     * partial for its NIC to finish (veth and tap with offloads on), is not
     * checked: the latter would not add up until it is finished. */
    if (pkt && (dp_packet_l4_checksum_valid(pkt)
                || dp_packet_hwol_tx_l4_checksum(pkt))) {
        return true;
    }
    if (v4) {
        if (proto == IPPROTO_UDP && size >= UDP_HEADER_LEN
            && !((const struct udp_header *) l4)->udp_csum) {
            return true;        /* IPv4 UDP may go without a checksum. */
        }
        uint32_t partial = (proto == IPPROTO_ICMP
                            ? 0 : packet_csum_pseudoheader(l3));
        return !csum_finish(csum_continue(partial, l4, size));
    }
    return !packet_csum_upperlayer6(l3, l4, proto, size);
}

/* Fills in the ports of 'key' from the L4 header at 'l4' ('size' bytes).
 * 'quoted' is true for the packet inside an ICMP error, which carries only
 * the first 8 bytes of its L4 header. */
static bool
extract_ports(struct ct_tuple *key, const void *l4, size_t size, bool quoted)
{
    switch (key->proto) {
    case IPPROTO_TCP: {
        const struct tcp_header *tcp = l4;
        if (size < (quoted ? QUOTED_L4_MIN : TCP_HEADER_LEN)) {
            return false;
        }
        if (!quoted) {
            size_t hlen = TCP_OFFSET(tcp->tcp_ctl) * 4;
            if (hlen < TCP_HEADER_LEN || hlen > size) {
                return false;
            }
        }
        key->sport = ntohs(tcp->tcp_src);
        key->dport = ntohs(tcp->tcp_dst);
        return true;
    }
    case IPPROTO_UDP: {
        const struct udp_header *udp = l4;
        if (size < UDP_HEADER_LEN) {
            return false;
        }
        if (!quoted && (ntohs(udp->udp_len) < UDP_HEADER_LEN
                        || ntohs(udp->udp_len) > size)) {
            return false;
        }
        key->sport = ntohs(udp->udp_src);
        key->dport = ntohs(udp->udp_dst);
        return true;
    }
    default:
        key->sport = key->dport = 0;
        return true;
    }
}

static bool
icmp4_is_query(uint8_t type)
{
    return (type == ICMP4_ECHO_REQUEST || type == ICMP4_ECHO_REPLY
            || type == ICMP4_TIMESTAMP || type == ICMP4_TIMESTAMPREPLY
            || type == ICMP4_INFOREQUEST || type == ICMP4_INFOREPLY);
}

static bool
icmp4_is_error(uint8_t type)
{
    return (type == ICMP4_DST_UNREACH || type == ICMP4_TIME_EXCEEDED
            || type == ICMP4_PARAM_PROB || type == ICMP4_SOURCEQUENCH
            || type == ICMP4_REDIRECT);
}

static bool
icmp6_is_error(uint8_t type)
{
    return (type == ICMP6_DST_UNREACH || type == ICMP6_PACKET_TOO_BIG
            || type == ICMP6_TIME_EXCEEDED || type == ICMP6_PARAM_PROB);
}

/* Parses the IP header at 'l3' ('size' bytes) into the addresses and
 * protocol of 'key', and returns its L4 header in '*l4p' and '*l4_size'.
 * The checks are those of the outer header unless 'quoted'. */
static bool
extract_l3(struct ct_tuple *key, const void *l3, size_t size, bool v4,
           bool quoted, const struct dp_packet *pkt,
           const void **l4p, size_t *l4_size)
{
    if (v4) {
        const struct ip_header *ip = l3;
        if (size < IP_HEADER_LEN) {
            return false;
        }
        size_t hlen = IP_IHL(ip->ip_ihl_ver) * 4;
        size_t tot = ntohs(ip->ip_tot_len);
        if (IP_VER(ip->ip_ihl_ver) != 4 || hlen < IP_HEADER_LEN
            || hlen > size) {
            return false;
        }
        if (!quoted) {
            if (tot < hlen || tot > size) {
                return false;
            }
            if (IP_IS_FRAGMENT(ip->ip_frag_off)) {
                return false;
            }
            if (!(pkt && dp_packet_ip_checksum_valid(pkt))
                && csum(ip, hlen)) {
                return false;
            }
            size = tot;
        }
        key->family = 4;
        key->proto = ip->ip_proto;
        set_v4(&key->src, ip->ip_src);
        set_v4(&key->dst, ip->ip_dst);
        *l4p = (const char *) l3 + hlen;
        *l4_size = size - hlen;
        return true;
    }

    const struct ovs_16aligned_ip6_hdr *ip6 = l3;
    if (size < sizeof *ip6) {
        return false;
    }
    size_t plen = ntohs(ip6->ip6_plen);
    if (!quoted) {
        if (plen > size - sizeof *ip6) {
            return false;
        }
        size = sizeof *ip6 + plen;
    }

    const void *data = ip6 + 1;
    size_t left = size - sizeof *ip6;
    uint8_t proto = ip6->ip6_nxt;
    uint8_t frag = 0;
    const struct ovs_16aligned_ip6_frag *frag_hdr;
    if (!parse_ipv6_ext_hdrs(&data, &left, &proto, &frag, &frag_hdr)
        || frag) {
        return false;
    }
    key->family = 6;
    key->proto = proto;
    set_v6(&key->src, &ip6->ip6_src);
    set_v6(&key->dst, &ip6->ip6_dst);
    *l4p = data;
    *l4_size = left;
    return true;
}

/* 'key' holds the outer ICMP error's addresses; replaces it by the key of
 * the quoted packet, reversed, so that it names the quoted connection as the
 * error travels. */
static bool
extract_quoted(struct ct_tuple *key, const void *quote, size_t size)
{
    struct ct_tuple inner;
    const void *l4;
    size_t l4_size;

    memset(&inner, 0, sizeof inner);
    if (!extract_l3(&inner, quote, size, key->family == 4, true, NULL,
                    &l4, &l4_size)
        || !extract_ports(&inner, l4, l4_size, true)) {
        return false;
    }
    if (inner.proto == IPPROTO_ICMP || inner.proto == IPPROTO_ICMPV6) {
        /* Errors about errors are not tracked; queries carry their id. */
        const struct icmp_header *icmp = l4;
        if (l4_size < ICMP_HEADER_LEN) {
            return false;
        }
        inner.sport = ntohs(icmp->icmp_fields.echo.id);
        inner.dport = icmp->icmp_type << 8 | icmp->icmp_code;
    }
    /* The error comes back to the quoted packet's sender. */
    if (memcmp(&inner.src, &key->dst, sizeof inner.src)) {
        return false;
    }
    ct_tuple_reverse(key, &inner);
    return true;
}

static enum ct_key_kind
extract_icmp(struct ct_tuple *key, const void *l4, size_t size)
{
    const struct icmp_header *icmp = l4;
    uint8_t type = icmp->icmp_type;
    bool v4 = key->proto == IPPROTO_ICMP;

    if (size < ICMP_HEADER_LEN) {
        return CT_KEY_INVALID;
    }
    if (v4 ? icmp4_is_query(type)
        : type == ICMP6_ECHO_REQUEST || type == ICMP6_ECHO_REPLY) {
        if (icmp->icmp_code) {
            return CT_KEY_INVALID;
        }
        key->sport = ntohs(icmp->icmp_fields.echo.id);
        key->dport = type << 8;
        return CT_KEY_CONN;
    }
    if (v4 ? icmp4_is_error(type) : icmp6_is_error(type)) {
        return (extract_quoted(key, (const char *) l4 + ICMP_HEADER_LEN,
                               size - ICMP_HEADER_LEN)
                ? CT_KEY_RELATED : CT_KEY_INVALID);
    }
    return CT_KEY_INVALID;
}

bool
ct_key_is_ip(const struct dp_packet *pkt)
{
    const struct eth_header *eth = dp_packet_eth(pkt);
    const uint8_t *l3 = dp_packet_l3(pkt);

    return eth && l3 && dp_packet_l3_size(pkt) >= 1
           && (l3[0] >> 4 == 4 || l3[0] >> 4 == 6);
}

enum ct_key_kind
ct_key_extract(const struct dp_packet *pkt, struct ct_tuple *key)
{
    const void *l3 = dp_packet_l3(pkt);
    const void *l4;
    size_t l4_size;

    memset(key, 0, sizeof *key);
    if (!ct_key_is_ip(pkt)) {
        return CT_KEY_INVALID;
    }

    bool v4 = (*(const uint8_t *) l3 >> 4) == 4;
    if (!extract_l3(key, l3, dp_packet_l3_size(pkt), v4, false, pkt,
                    &l4, &l4_size)) {
        return CT_KEY_INVALID;
    }
    if ((key->proto == IPPROTO_ICMP && !v4)
        || (key->proto == IPPROTO_ICMPV6 && v4)) {
        return CT_KEY_INVALID;
    }
    if ((key->proto == IPPROTO_TCP || key->proto == IPPROTO_UDP
         || key->proto == IPPROTO_ICMP || key->proto == IPPROTO_ICMPV6)
        && !l4_checksum_ok(pkt, v4, l3, l4, l4_size, key->proto)) {
        return CT_KEY_INVALID;
    }
    if (key->proto == IPPROTO_ICMP || key->proto == IPPROTO_ICMPV6) {
        return extract_icmp(key, l4, l4_size);
    }
    return extract_ports(key, l4, l4_size, false) ? CT_KEY_CONN
                                                  : CT_KEY_INVALID;
}
