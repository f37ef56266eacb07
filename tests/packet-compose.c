/*
 * Test frames from ovs-ofctl flow syntax plus the TCP fields a flow does not
 * carry: "FLOW [seq=N] [ack=N] [win=N] [len=N]".  An ICMP error quotes
 * another such frame: "ICMP_FLOW ; QUOTED_SPEC".  OVS's flow parser reads
 * FLOW and flow_compose() builds the frame; checksums are right.
 */
#include <config.h>
#include "packet-compose.h"

#include <string.h>
#include "csum.h"
#include "dp-packet.h"
#include "flow.h"
#include "openvswitch/ofp-flow.h"
#include "packets.h"
#include "util.h"

struct tcp_extras {
    uint32_t seq;
    uint32_t ack;
    uint16_t win;
    size_t len;
};

static void
parse_extras(char *s, struct tcp_extras *x)
{
    char *save = NULL;

    memset(x, 0, sizeof *x);
    x->win = 65535;
    for (char *tok = strtok_r(s, " ", &save); tok;
         tok = strtok_r(NULL, " ", &save)) {
        unsigned long long v;
        char *eq = strchr(tok, '=');

        if (!eq || !str_to_ullong(eq + 1, 0, &v)) {
            ovs_fatal(0, "\"%s\": expected seq=, ack=, win= or len=", tok);
        }
        *eq = '\0';
        if (!strcmp(tok, "seq")) {
            x->seq = v;
        } else if (!strcmp(tok, "ack")) {
            x->ack = v;
        } else if (!strcmp(tok, "win")) {
            x->win = v;
        } else if (!strcmp(tok, "len") && v <= 1400) {
            x->len = v;
        } else {
            ovs_fatal(0, "\"%s\": unknown or out of range", tok);
        }
    }
}

/* Sets the TCP fields no flow carries and fixes the checksum. */
static void
patch_tcp(struct dp_packet *p, const struct flow *flow,
          const struct tcp_extras *x)
{
    struct tcp_header *tcp = dp_packet_l4(p);
    size_t l4_size = dp_packet_l4_size(p);

    put_16aligned_be32(&tcp->tcp_seq, htonl(x->seq));
    put_16aligned_be32(&tcp->tcp_ack, htonl(x->ack));
    tcp->tcp_winsz = htons(x->win);
    tcp->tcp_csum = 0;
    if (flow->dl_type == htons(ETH_TYPE_IP)) {
        tcp->tcp_csum = csum_finish(
            csum_continue(packet_csum_pseudoheader(dp_packet_l3(p)),
                          tcp, l4_size));
    } else {
        tcp->tcp_csum = packet_csum_upperlayer6(dp_packet_l3(p), tcp,
                                                IPPROTO_TCP, l4_size);
    }
}

/* Appends to 'p', an ICMP or ICMPv6 error built by flow_compose(), the
 * packet it quotes: the quoted frame's IP header and 8 bytes of what
 * follows, as routers send.  Then fixes the lengths and checksums. */
static void
append_quote(struct dp_packet *p, const char *quoted_spec)
{
    struct dp_packet *q = packet_compose(quoted_spec);
    size_t qlen = MIN(dp_packet_l3_size(q),
                      (char *) dp_packet_l4(q) - (char *) dp_packet_l3(q) + 8);

    dp_packet_put(p, dp_packet_l3(q), qlen);
    dp_packet_delete(q);

    size_t l4_size = dp_packet_l4_size(p);
    struct icmp_header *icmp = dp_packet_l4(p);
    if (IP_VER(*(uint8_t *) dp_packet_l3(p)) == 4) {
        struct ip_header *ip = dp_packet_l3(p);

        ip->ip_tot_len = htons(dp_packet_l3_size(p));
        ip->ip_csum = 0;
        ip->ip_csum = csum(ip, IP_IHL(ip->ip_ihl_ver) * 4);
        icmp->icmp_csum = 0;
        icmp->icmp_csum = csum(icmp, l4_size);
    } else {
        struct ovs_16aligned_ip6_hdr *ip6 = dp_packet_l3(p);

        ip6->ip6_ctlun.ip6_un1.ip6_un1_plen = htons(l4_size);
        icmp->icmp_csum = 0;
        icmp->icmp_csum = packet_csum_upperlayer6(ip6, icmp, IPPROTO_ICMPV6,
                                                  l4_size);
    }
}

struct dp_packet *
packet_compose(const char *spec)
{
    char *copy = xstrdup(spec);
    char *quote = strstr(copy, " ; ");

    if (quote) {
        *quote = '\0';
        quote += 3;
    }
    char *space = strchr(copy, ' ');
    struct tcp_extras x;
    struct flow flow;

    if (space) {
        *space = '\0';
    }
    parse_extras(space ? space + 1 : copy + strlen(copy), &x);

    char *error = parse_ofp_exact_flow(&flow, NULL, NULL, copy, NULL);
    if (error) {
        ovs_fatal(0, "%s: %s", copy, error);
    }

    struct dp_packet *p = dp_packet_new(0);
    uint8_t *l7 = xzalloc(x.len + 1);
    flow_compose(p, &flow, l7, x.len);
    free(l7);
    if (flow.nw_proto == IPPROTO_TCP && is_ip_any(&flow)) {
        patch_tcp(p, &flow, &x);
    }
    if (quote) {
        append_quote(p, quote);
    }
    free(copy);
    return p;
}
