/*
 * Port security; port-security.h states the rules.
 */
#include <config.h>
#include "port-security.h"

#include <netinet/icmp6.h>
#include <string.h>
#include "dp-packet.h"
#include "flow.h"
#include "packets.h"
#include "region-format.h"
#include "util.h"

const char *
port_sec_verdict_to_string(enum port_sec_verdict v)
{
    switch (v) {
    case PORT_SEC_OK: return "ok";
    case PORT_SEC_SPOOFED_MAC: return "spoofed source MAC";
    case PORT_SEC_SPOOFED_IP: return "spoofed source IP";
    case PORT_SEC_FORGED_ARP: return "forged ARP";
    case PORT_SEC_FORGED_ND: return "forged ND";
    case PORT_SEC_N_VERDICTS:
    default: return "?";
    }
}

static bool
is_vif_mac(const struct oor_vif_def *def, const struct eth_addr mac)
{
    return !memcmp(mac.ea, def->mac, sizeof mac.ea);
}

/* The VM's own addresses are those in 'def->ips' that are not floating:
 * a floating address is the VIF's, and the VM never sends from it. */
static bool
is_own(const struct oor_vif_def *def, int i)
{
    return !((def->floating >> i) & 1);
}

static bool
has_ip(const struct oor_vif_def *def, const struct in6_addr *ip)
{
    for (int i = 0; i < def->n_ips && i < OOR_MAX_IPS; i++) {
        if (is_own(def, i) && ipv6_addr_equals(&def->ips[i], ip)) {
            return true;
        }
    }
    return false;
}

static bool
has_family(const struct oor_vif_def *def, bool ipv4)
{
    for (int i = 0; i < def->n_ips && i < OOR_MAX_IPS; i++) {
        if (is_own(def, i) && IN6_IS_ADDR_V4MAPPED(&def->ips[i]) == ipv4) {
            return true;
        }
    }
    return false;
}

static bool
has_ip4(const struct oor_vif_def *def, ovs_be32 ip4)
{
    struct in6_addr ip = in6_addr_mapped_ipv4(ip4);
    return has_ip(def, &ip);
}

/* Is 'ip' the link-local address the VIF's MAC gives? */
static bool
is_vif_lla(const struct oor_vif_def *def, const struct in6_addr *ip)
{
    struct eth_addr mac;
    struct in6_addr lla;

    memcpy(mac.ea, def->mac, sizeof mac.ea);
    in6_generate_lla(mac, &lla);
    return ipv6_addr_equals(&lla, ip);
}

static bool
has_ip6(const struct oor_vif_def *def, const struct in6_addr *ip)
{
    return has_ip(def, ip) || is_vif_lla(def, ip);
}

static enum port_sec_verdict
check_arp(const struct oor_vif_def *def, const struct flow *flow)
{
    if (!is_vif_mac(def, flow->arp_sha)) {
        return PORT_SEC_FORGED_ARP;
    }
    if (flow->dl_type == htons(ETH_TYPE_RARP) || !def->n_ips) {
        return PORT_SEC_OK;
    }
    return (has_family(def, true)
            && (flow->nw_src == htonl(0) || has_ip4(def, flow->nw_src))
            ? PORT_SEC_OK : PORT_SEC_FORGED_ARP);
}

static bool
ipv4_source_ok(const struct oor_vif_def *def, const struct flow *flow)
{
    if (!def->n_ips || has_ip4(def, flow->nw_src)) {
        return true;
    }
    /* DHCP before the VM has its address. */
    return (has_family(def, true)
            && flow->nw_src == htonl(0)
            && flow->nw_dst == htonl(0xffffffff)
            && flow->nw_proto == IPPROTO_UDP
            && flow->tp_src == htons(68) && flow->tp_dst == htons(67));
}

static bool
ipv6_source_ok(const struct oor_vif_def *def, const struct flow *flow)
{
    if (!def->n_ips) {
        return true;
    }
    if (!has_family(def, false)) {
        return false;
    }
    if (has_ip6(def, &flow->ipv6_src)) {
        return true;
    }

    /* Duplicate address detection and the MLD reports that go with it. */
    uint8_t type = ntohs(flow->tp_src);
    return (ipv6_is_zero(&flow->ipv6_src)
            && flow->ipv6_dst.s6_addr[0] == 0xff
            && flow->ipv6_dst.s6_addr[1] == 0x02
            && flow->nw_proto == IPPROTO_ICMPV6
            && (type == MLD_LISTENER_REPORT || type == ND_NEIGHBOR_SOLICIT
                || type == MLD2_REPORT));
}

/* Are all link-layer address options of the ND message at 'nd', 'size'
 * bytes, the VIF's MAC, and do all options fit? */
static bool
nd_options_ok(const struct oor_vif_def *def, const uint8_t *nd, size_t size)
{
    size_t ofs = ND_MSG_LEN;

    while (ofs < size) {
        const struct ovs_nd_lla_opt *opt = (const void *) (nd + ofs);
        size_t len;

        if (size - ofs < 2 || !opt->len) {
            return false;
        }
        len = opt->len * 8;
        if (len > size - ofs) {
            return false;
        }
        if ((opt->type == ND_OPT_SOURCE_LINKADDR
             || opt->type == ND_OPT_TARGET_LINKADDR)
            && (len != ND_LLA_OPT_LEN || !is_vif_mac(def, opt->mac))) {
            return false;
        }
        ofs += len;
    }
    return true;
}

static enum port_sec_verdict
check_nd(const struct oor_vif_def *def, const struct flow *flow,
         const struct dp_packet *pkt)
{
    uint8_t type = ntohs(flow->tp_src);

    if (type != ND_NEIGHBOR_SOLICIT && type != ND_NEIGHBOR_ADVERT) {
        return PORT_SEC_OK;
    }
    /* Neighbour discovery is never fragmented (RFC 6980). */
    if (flow->nw_frag) {
        return PORT_SEC_FORGED_ND;
    }

    const uint8_t *nd = dp_packet_l4(pkt);
    size_t size = dp_packet_l4_size(pkt);
    if (!nd || size < ND_MSG_LEN || !nd_options_ok(def, nd, size)) {
        return PORT_SEC_FORGED_ND;
    }
    if (type == ND_NEIGHBOR_ADVERT && def->n_ips) {
        const struct ovs_nd_msg *msg = (const void *) nd;
        struct in6_addr target;

        memcpy(&target, &msg->target, sizeof target);
        if (!has_family(def, false) || !has_ip6(def, &target)) {
            return PORT_SEC_FORGED_ND;
        }
    }
    return PORT_SEC_OK;
}

enum port_sec_verdict
port_security_check(const struct oor_vif_def *def, const struct flow *flow,
                    const struct dp_packet *pkt)
{
    if (!is_vif_mac(def, flow->dl_src)) {
        return PORT_SEC_SPOOFED_MAC;
    }
    if (flow->dl_type == htons(ETH_TYPE_ARP)
        || flow->dl_type == htons(ETH_TYPE_RARP)) {
        return check_arp(def, flow);
    }
    if (flow->dl_type == htons(ETH_TYPE_IP)) {
        return ipv4_source_ok(def, flow) ? PORT_SEC_OK : PORT_SEC_SPOOFED_IP;
    }
    if (flow->dl_type == htons(ETH_TYPE_IPV6)) {
        if (!ipv6_source_ok(def, flow)) {
            return PORT_SEC_SPOOFED_IP;
        }
        if (flow->nw_proto == IPPROTO_ICMPV6) {
            return check_nd(def, flow, pkt);
        }
    }
    return PORT_SEC_OK;
}
