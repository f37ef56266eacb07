/*
 * NAT: translation choice and packet rewriting.  The rewriting itself is
 * OVS's packets.h helpers, which keep the checksums right.
 */
#include <config.h>
#include "ct-nat.h"

#include <string.h>
#include "csum.h"
#include "dp-packet.h"
#include "hash.h"
#include "packets.h"
#include "port-offload.h"

/* Ports handed out when a port must change and the range gives none. */
#define NAT_EPHEMERAL_MIN 1024
#define NAT_EPHEMERAL_MAX 65535

static uint32_t
addr_low32(const struct in6_addr *a)
{
    uint32_t w;
    memcpy(&w, &a->s6_addr[12], 4);
    return ntohl(w);
}

static void
addr_set_low32(struct in6_addr *a, uint32_t v)
{
    uint32_t w = htonl(v);
    memcpy(&a->s6_addr[12], &w, 4);
}

static bool
has_ports(uint8_t proto)
{
    return proto == IPPROTO_TCP || proto == IPPROTO_UDP;
}

/* Writes candidate 'addr' and 'port' into the translated side of 'reply'. */
static void
set_candidate(struct ct_tuple *reply, bool snat, const struct in6_addr *addr,
              uint16_t port)
{
    if (snat) {
        reply->dst = *addr;
        if (has_ports(reply->proto)) {
            reply->dport = port;
        }
    } else {
        reply->src = *addr;
        if (has_ports(reply->proto)) {
            reply->sport = port;
        }
    }
}

bool
ct_nat_choose(const struct ct_nat *nat, const struct ct_tuple *orig,
              struct ct_tuple *reply, ct_nat_taken_func *taken, void *aux)
{
    uint32_t lo = addr_low32(&nat->min_addr);
    uint32_t n_addrs = addr_low32(&nat->max_addr) - lo + 1;
    uint16_t keep = nat->snat ? orig->sport : orig->dport;
    uint16_t pmin = nat->min_port ? nat->min_port : NAT_EPHEMERAL_MIN;
    uint16_t pmax = nat->min_port ? nat->max_port : NAT_EPHEMERAL_MAX;
    uint32_t n_ports = has_ports(orig->proto) ? pmax - pmin + 1 : 1;
    uint32_t hash = ct_tuple_hash(orig, 0);
    struct in6_addr addr = nat->min_addr;

    ct_tuple_reverse(reply, orig);
    if (!n_addrs || n_addrs > 65536) {
        n_addrs = 1;
    }

    /* Spread connections over the addresses, and keep the original port
     * where the range allows it, as Linux and OVS do. */
    for (uint32_t a = 0; a < n_addrs; a++) {
        addr_set_low32(&addr, lo + (hash + a) % n_addrs);
        bool keep_ok = !nat->min_port || (keep >= pmin && keep <= pmax);
        if (keep_ok || !has_ports(orig->proto)) {
            set_candidate(reply, nat->snat, &addr, keep);
            if (!taken(reply, aux)) {
                return true;
            }
        }
        if (!has_ports(orig->proto)) {
            continue;
        }
        for (uint32_t p = 0; p < n_ports; p++) {
            uint16_t port = pmin + (hash / n_addrs + p) % n_ports;
            set_candidate(reply, nat->snat, &addr, port);
            if (!taken(reply, aux)) {
                return true;
            }
        }
    }
    return false;
}

static void
rewrite_addr(struct dp_packet *pkt, bool v4, uint8_t proto, void *field,
             const struct in6_addr *old, const struct in6_addr *new)
{
    if (!memcmp(old, new, sizeof *old)) {
        return;
    }
    if (v4) {
        packet_set_ipv4_addr(pkt, field, in6_addr_get_mapped_ipv4(new));
    } else {
        packet_set_ipv6_addr(pkt, proto, field, new, true);
    }
}

void
ct_nat_rewrite(struct dp_packet *pkt, const struct ct_tuple *key,
               const struct ct_tuple *target)
{
    bool v4 = key->family == 4;

    if (v4) {
        struct ip_header *ip = dp_packet_l3(pkt);
        rewrite_addr(pkt, v4, key->proto, &ip->ip_src, &key->src,
                     &target->src);
        rewrite_addr(pkt, v4, key->proto, &ip->ip_dst, &key->dst,
                     &target->dst);
    } else {
        struct ovs_16aligned_ip6_hdr *ip6 = dp_packet_l3(pkt);
        rewrite_addr(pkt, v4, key->proto, ip6->ip6_src.be32, &key->src,
                     &target->src);
        rewrite_addr(pkt, v4, key->proto, ip6->ip6_dst.be32, &key->dst,
                     &target->dst);
    }
    if (key->sport != target->sport || key->dport != target->dport) {
        if (key->proto == IPPROTO_TCP) {
            packet_set_tcp_port(pkt, htons(target->sport),
                                htons(target->dport));
        } else if (key->proto == IPPROTO_UDP) {
            packet_set_udp_port(pkt, htons(target->sport),
                                htons(target->dport));
        }
    }
    /* A checksum a veth or tap left partial holds a seed, which the
     * incremental updates above got wrong: make it again. */
    port_packet_csum_refresh(pkt);
}

/* Rewrites the quoted packet at 'quote' in place; its checksums inside the
 * quote are left as the sender computed them, except the IPv4 header's. */
static void
rewrite_quote(void *quote, bool v4, const struct ct_tuple *target)
{
    uint8_t *l4;

    if (v4) {
        struct ip_header *ip = quote;
        put_16aligned_be32(&ip->ip_src,
                           in6_addr_get_mapped_ipv4(&target->src));
        put_16aligned_be32(&ip->ip_dst,
                           in6_addr_get_mapped_ipv4(&target->dst));
        ip->ip_csum = 0;
        ip->ip_csum = csum(ip, IP_IHL(ip->ip_ihl_ver) * 4);
        l4 = (uint8_t *) ip + IP_IHL(ip->ip_ihl_ver) * 4;
    } else {
        struct ovs_16aligned_ip6_hdr *ip6 = quote;
        memcpy(&ip6->ip6_src, &target->src, sizeof target->src);
        memcpy(&ip6->ip6_dst, &target->dst, sizeof target->dst);
        l4 = (uint8_t *) (ip6 + 1);
    }
    if (has_ports(target->proto)) {
        ovs_be16 ports[2] = { htons(target->sport), htons(target->dport) };
        memcpy(l4, ports, sizeof ports);
    }
}

void
ct_nat_rewrite_related(struct dp_packet *pkt, const struct ct_tuple *quoted,
                       const struct ct_tuple *target)
{
    bool v4 = quoted->family == 4;
    uint8_t *l4 = dp_packet_l4(pkt);
    size_t l4_size = dp_packet_l4_size(pkt);
    struct icmp_header *icmp = (struct icmp_header *) l4;

    /* The error goes back to the quoted packet's source and may come from
     * its destination: those outer addresses follow the quote. */
    struct in6_addr outer_src, outer_dst, new_src, new_dst;
    if (v4) {
        struct ip_header *ip = dp_packet_l3(pkt);
        in6_addr_set_mapped_ipv4(&outer_src, get_16aligned_be32(&ip->ip_src));
        in6_addr_set_mapped_ipv4(&outer_dst, get_16aligned_be32(&ip->ip_dst));
    } else {
        struct ovs_16aligned_ip6_hdr *ip6 = dp_packet_l3(pkt);
        memcpy(&outer_src, &ip6->ip6_src, sizeof outer_src);
        memcpy(&outer_dst, &ip6->ip6_dst, sizeof outer_dst);
    }
    new_src = (!memcmp(&outer_src, &quoted->dst, sizeof outer_src)
               ? target->dst : outer_src);
    new_dst = (!memcmp(&outer_dst, &quoted->src, sizeof outer_dst)
               ? target->src : outer_dst);

    rewrite_quote(l4 + ICMP_HEADER_LEN, v4, target);
    if (v4) {
        struct ip_header *ip = dp_packet_l3(pkt);
        rewrite_addr(pkt, v4, IPPROTO_ICMP, &ip->ip_src, &outer_src,
                     &new_src);
        rewrite_addr(pkt, v4, IPPROTO_ICMP, &ip->ip_dst, &outer_dst,
                     &new_dst);
        icmp->icmp_csum = 0;
        icmp->icmp_csum = csum(l4, l4_size);
    } else {
        struct ovs_16aligned_ip6_hdr *ip6 = dp_packet_l3(pkt);
        memcpy(&ip6->ip6_src, &new_src, sizeof new_src);
        memcpy(&ip6->ip6_dst, &new_dst, sizeof new_dst);
        icmp->icmp_csum = 0;
        icmp->icmp_csum = packet_csum_upperlayer6(ip6, l4, IPPROTO_ICMPV6,
                                                  l4_size);
    }
}
