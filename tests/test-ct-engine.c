/*
 * Drives the conntrack engine from a scenario on stdin, one step per line:
 *
 *   exec [commit] [pickup] [nat] [snat=A[-B][:P[-Q]]] [dnat=...]
 *        [mark=N] [label=N] [partial|partial-unmarked] [retrack] | PACKET
 *                                runs PACKET (tests/packet-compose.h syntax)
 *                                as ct(commit,nat(...),...) would; 'partial'
 *                                first leaves its L4 checksum partial, as a
 *                                veth with offloads on hands it over, then
 *                                finishes it afterwards as a NIC would and
 *                                prints whether it is right ('unmarked'
 *                                hides that it is partial from the engine
 *                                and vouches for it as a finished one;
 *                                'retrack' says the packet went through this
 *                                zone before, as a second ct() does)
 *                                and prints its ct_state, any refusal and
 *                                its addresses after NAT
 *   advance MS                   moves the clock
 *   run                          runs the expiry sweep, prints what expired
 *   limit N | zone-limit N       sets the global or this zone's limit
 *   dump | stats                 prints the table or the statistics
 *   clash                        copies the first entry into a new slot, as
 *                                a hostile or broken image could, and prints
 *                                what the import check says
 *
 * Lines starting with '#' are comments.  The table is zone 1 in a fresh
 * state region in a temporary folder.
 */
#include <config.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "ct-engine.h"
#include "csum.h"
#include "dp-packet.h"
#include "flow.h"
#include "openvswitch/dynamic-string.h"
#include "ovstest.h"
#include "packet-compose.h"
#include "packets.h"
#include "state-region.h"
#include "util.h"

#define ZONE 1

static void
parse_nat(struct ct_nat *nat, bool snat, const char *s)
{
    char addrs[128];
    unsigned int p0 = 0, p1 = 0;
    const char *colon = strrchr(s, ':');

    memset(nat, 0, sizeof *nat);
    nat->snat = snat;
    ovs_strlcpy(addrs, s, MIN(sizeof addrs, colon ? colon - s + 1
                                                  : strlen(s) + 1));
    if (colon && sscanf(colon + 1, "%u-%u", &p0, &p1) < 1) {
        ovs_fatal(0, "%s: bad port range", s);
    }
    nat->min_port = p0;
    nat->max_port = p1 ? p1 : p0;

    char *dash = strchr(addrs, '-');
    ovs_be32 a, b;
    if (dash) {
        *dash = '\0';
    }
    if (!ip_parse(addrs, &a) || (dash && !ip_parse(dash + 1, &b))) {
        ovs_fatal(0, "%s: bad address range", s);
    }
    in6_addr_set_mapped_ipv4(&nat->min_addr, a);
    in6_addr_set_mapped_ipv4(&nat->max_addr, dash ? b : a);
}

static void
print_addresses(struct ds *s, const struct dp_packet *p)
{
    const struct ip_header *ip = dp_packet_l3(p);
    const struct tcp_header *l4 = dp_packet_l4(p);

    if (!ip || IP_VER(ip->ip_ihl_ver) != 4) {
        return;
    }
    ds_put_format(s, " "IP_FMT, IP_ARGS(get_16aligned_be32(&ip->ip_src)));
    if (ip->ip_proto == IPPROTO_TCP || ip->ip_proto == IPPROTO_UDP) {
        ds_put_format(s, ":%u", ntohs(l4->tcp_src));
    }
    ds_put_format(s, " > "IP_FMT, IP_ARGS(get_16aligned_be32(&ip->ip_dst)));
    if (ip->ip_proto == IPPROTO_TCP || ip->ip_proto == IPPROTO_UDP) {
        ds_put_format(s, ":%u", ntohs(l4->tcp_dst));
    }
}

static const char *
refusal_name(enum ct_refusal r)
{
    switch (r) {
    case CT_REFUSED_LIMIT: return " refused=limit";
    case CT_REFUSED_ZONE_LIMIT: return " refused=zone-limit";
    case CT_REFUSED_NAT: return " refused=nat";
    case CT_REFUSED_NOMEM: return " refused=nomem";
    case CT_REFUSED_NONE:
    default: return "";
    }
}

/* Leaves the TCP or UDP checksum of 'p' partial: only the pseudo-header's
 * sum, as a local stack hands a frame to a veth with offloads on. */
static void
make_partial(struct dp_packet *p, bool mark)
{
    const struct ip_header *ip = dp_packet_l3(p);
    struct tcp_header *tcp = dp_packet_l4(p);
    struct udp_header *udp = dp_packet_l4(p);
    ovs_be16 *field = ip->ip_proto == IPPROTO_TCP ? &tcp->tcp_csum
                                                  : &udp->udp_csum;
    uint32_t sum = packet_csum_pseudoheader(ip);

    *field = ~csum_finish(sum);
    if (!mark) {
        /* Vouch for the checksum instead, so that conntrack takes the
         * packet and NAT treats the field as a finished checksum. */
        *dp_packet_ol_flags_ptr(p) |= DP_PACKET_OL_RX_L4_CKSUM_GOOD;
    } else if (ip->ip_proto == IPPROTO_TCP) {
        dp_packet_hwol_set_csum_tcp(p);
    } else {
        dp_packet_hwol_set_csum_udp(p);
    }
}

/* Finishes a partial checksum as the NIC would, and tells whether the
 * result is right. */
static const char *
finish_partial(struct dp_packet *p)
{
    const struct ip_header *ip = dp_packet_l3(p);
    struct tcp_header *tcp = dp_packet_l4(p);
    struct udp_header *udp = dp_packet_l4(p);
    ovs_be16 *field = ip->ip_proto == IPPROTO_TCP ? &tcp->tcp_csum
                                                  : &udp->udp_csum;
    size_t len = dp_packet_l4_size(p);

    *field = csum(tcp, len);
    return csum_finish(csum_continue(packet_csum_pseudoheader(ip), tcp, len))
           ? " csum=bad" : " csum=ok";
}

static void
step_exec(struct ct_table *t, char *line, long long now)
{
    char *bar = strchr(line, '|');
    struct ct_exec x = { .commit = false };
    int partial = 0;            /* 1: partial, 2: partial and unmarked. */
    struct ct_nat nat;
    uint32_t mark;
    ovs_u128 label;
    char *save = NULL;

    if (!bar) {
        ovs_fatal(0, "exec: missing '| PACKET'");
    }
    *bar = '\0';
    for (char *tok = strtok_r(line + 4, " ", &save); tok;
         tok = strtok_r(NULL, " ", &save)) {
        if (!strcmp(tok, "commit")) {
            x.commit = true;
        } else if (!strcmp(tok, "pickup")) {
            x.pickup = true;
        } else if (!strcmp(tok, "retrack")) {
            x.retrack = true;
        } else if (!strcmp(tok, "partial")) {
            partial = 1;
        } else if (!strcmp(tok, "partial-unmarked")) {
            partial = 2;
        } else if (!strcmp(tok, "nat")) {
            memset(&nat, 0, sizeof nat);
            nat.no_range = true;
            x.nat = &nat;
        } else if (!strncmp(tok, "snat=", 5) || !strncmp(tok, "dnat=", 5)) {
            parse_nat(&nat, tok[0] == 's', tok + 5);
            x.nat = &nat;
        } else if (!strncmp(tok, "mark=", 5)) {
            mark = strtoul(tok + 5, NULL, 0);
            x.set_mark = &mark;
        } else if (!strncmp(tok, "label=", 6)) {
            label.u64.hi = 0;
            label.u64.lo = strtoull(tok + 6, NULL, 0);
            x.set_label = &label;
        } else {
            ovs_fatal(0, "exec: unknown option %s", tok);
        }
    }

    struct dp_packet *p = packet_compose(bar + 1 + strspn(bar + 1, " "));
    struct flow flow;
    pkt_metadata_init(&p->md, 0);
    flow_extract(p, &flow);
    if (partial) {
        make_partial(p, partial == 1);
    }

    struct ct_exec_result r = ct_table_execute(t, p, &x, now);
    struct ds s = DS_EMPTY_INITIALIZER;
    ct_state_format(&s, r.ct_state);
    ds_put_cstr(&s, refusal_name(r.refused));
    print_addresses(&s, p);
    if (partial) {
        ds_put_cstr(&s, finish_partial(p));
    }
    printf("%s\n", ds_cstr(&s));
    ds_destroy(&s);
    dp_packet_delete(p);
}

static void
test_ct_engine_main(int argc OVS_UNUSED, char *argv[] OVS_UNUSED)
{
    char dir[] = "/tmp/test-ct-engine.XXXXXX";
    struct oor_vif_def def;
    struct state_region *r;
    long long now = 1000000;
    char line[4096];

    if (!mkdtemp(dir)) {
        ovs_fatal(errno, "mkdtemp");
    }
    char *path = xasprintf("%s/t.region", dir);
    memset(&def, 0, sizeof def);
    ovs_strlcpy(def.iface_id, "t", sizeof def.iface_id);
    def.mac[0] = 0x50;
    char *error = state_region_create(path, &def, 16, now, &r);
    if (error) {
        ovs_fatal(0, "%s", error);
    }

    struct ct_engine *e = ct_engine_create();
    struct ct_table *t = ct_table_open(e, ZONE, r, now, &error);
    ovs_assert(t);

    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\n")] = '\0';
        if (!line[0] || line[0] == '#') {
            continue;
        }
        if (!strncmp(line, "exec", 4)) {
            step_exec(t, line, now);
        } else if (!strncmp(line, "advance ", 8)) {
            now += atoll(line + 8);
        } else if (!strcmp(line, "run")) {
            size_t n = 0, k;
            while ((k = ct_engine_run(e, now))) {
                n += k;
            }
            printf("expired %"PRIuSIZE"\n", n + ct_engine_run(e, now));
        } else if (!strncmp(line, "limit ", 6)) {
            ct_engine_set_limit(e, atoi(line + 6));
        } else if (!strncmp(line, "zone-limit ", 11)) {
            ct_engine_set_zone_limit(e, ZONE, atoi(line + 11));
        } else if (!strcmp(line, "clash")) {
            uint32_t first = UINT32_MAX, copy;

            ovs_assert(state_region_next_used(r, &first));
            char *err = state_region_alloc(r, OOR_SLOT_CT, &copy);
            ovs_assert(!err);
            memcpy(state_region_slot_mut(r, copy),
                   state_region_slot(r, first) + 1, OOR_SLOT_CT_LEN);
            state_region_seal(r, now);
            err = ct_image_check_clashes(state_region_base(r),
                                         state_region_size(r));
            printf("%s\n", err ? err : "no clash");
            free(err);
            state_region_free(r, copy);
            state_region_seal(r, now);
            err = ct_image_check_clashes(state_region_base(r),
                                         state_region_size(r));
            printf("%s\n", err ? err : "no clash");
            free(err);
        } else if (!strcmp(line, "dump") || !strcmp(line, "stats")) {
            struct ds s = DS_EMPTY_INITIALIZER;
            if (line[0] == 'd') {
                ct_table_dump(t, &s, now, true);
            } else {
                ct_engine_format_stats(e, &s);
            }
            printf("%s", ds_cstr(&s));
            ds_destroy(&s);
        } else {
            ovs_fatal(0, "unknown step: %s", line);
        }
        fflush(stdout);
    }

    struct state_region *region = ct_table_region(t);


    ct_table_close(t);

    state_region_close(region);
    ct_engine_destroy(e);
    unlink(path);
    rmdir(dir);
    free(path);
}

OVSTEST_REGISTER("test-ct-engine", test_ct_engine_main);
