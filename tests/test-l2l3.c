/*
 * Drives the FDB, neighbours, routes and port security (tests/l2l3.at) from
 * a scenario on stdin, one step per line.  VIFs have real state regions in
 * a temporary folder, which is also the state dir; host ports are "pN",
 * port number N.  WHERE is a VIF's name or a host port.  FLOW is a frame in
 * tests/packet-compose.h syntax.
 *
 *   vif NAME MAC [ip=..]         defines a VIF with a fresh region
 *   advance MS | clock MS        moves or sets the clock
 *
 *   learn WHERE MAC [vlan=N]     learns a source MAC; prints the result
 *   learn-many WHERE N           learns N MACs 02:00:00:00:HH:LL
 *   fdb-lookup MAC [vlan=N]      prints where MAC is
 *   fdb-static WHERE MAC [vlan=N] | fdb-del MAC [vlan=N]
 *   fdb-flush-port pN | fdb-aging S | fdb-max N
 *   fdb-run | fdb-show | fdb-stats
 *
 *   neigh-learn WHERE | FLOW     learns from a frame; prints the result
 *   neigh-add [NAME] IP MAC | neigh-del IP | neigh-lookup IP
 *   neigh-aging S | neigh-run | neigh-show
 *
 *   router-mac MAC
 *   route-add ARGS               as offload/route-add: dev NAME of a VIF
 *                                makes a VIF route, dev pN a host route on
 *                                port N, another dev an unbound host route
 *   route-del ARGS | route-show | route-bind NAME N | route-unbind N
 *   route IP                     prints the decision for IP
 *   route-packet | FLOW          routes a frame; prints the decision and
 *                                the rewritten frame
 *
 *   ps NAME [sll=MAC] | FLOW     port security for a frame from NAME's VM;
 *                                sll= appends another source link-layer
 *                                option to an ND frame
 *   ps-rarp NAME SHA             port security for a RARP for SHA from
 *                                NAME's VM (QEMU's announcement)
 *   answer MAC [router] | FLOW   composes the answer to a request
 *   announce IP MAC | request TARGET SRC_IP SRC_MAC
 *
 *   reopen NAME                  seals, closes and reopens NAME's region
 *   detach NAME                  exports NAME's region and closes it
 *   attach NAME CLOCK [norebase] imports it on a host whose clock reads
 *                                CLOCK, and rebases unless told not to
 *   restart                      closes everything and opens it again
 *   check NAME                   runs the region validator on NAME's region
 *   freeze NAME | thaw NAME      freezes NAME's FDB and neighbour tables, as
 *                                a migration's fence does, or thaws them
 *   generation NAME              seals NAME's region, prints its generation
 *   check-slot TYPE FIELD=V..    runs a slot checker on a made-up payload
 *
 * Lines starting with '#' are comments.
 */
#include <config.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "ct-entry.h"
#include "csum.h"
#include "dp-packet.h"
#include "fdb.h"
#include "flow.h"
#include "neigh.h"
#include "openvswitch/dynamic-string.h"
#include "ovstest.h"
#include "packet-compose.h"
#include "packets.h"
#include "port-security.h"
#include "route.h"
#include "state-region.h"
#include "util.h"
#include "vif.h"

#define MAX_VIFS 8
#define MAX_ARGS 16

struct tvif {
    struct vif vif;
    char *path;
    bool attached;
    struct fdb_vif *fdb;
    struct neigh_vif *neigh;
    struct route_vif *routes;
};

static struct world {
    char dir[64];
    long long now;
    struct tvif vifs[MAX_VIFS];
    int n_vifs;
    struct fdb *fdb;
    struct neigh_table *neigh;
    struct route_table *routes;
} w;

/* Helpers. */

static int
split(char *s, const char *argv[])
{
    char *save = NULL;
    int argc = 0;

    for (char *tok = strtok_r(s, " ", &save); tok;
         tok = strtok_r(NULL, " ", &save)) {
        if (argc >= MAX_ARGS) {
            ovs_fatal(0, "too many words");
        }
        argv[argc++] = tok;
    }
    return argc;
}

static struct tvif *
find_vif(const char *name)
{
    for (int i = 0; i < w.n_vifs; i++) {
        if (!strcmp(w.vifs[i].vif.def.iface_id, name)) {
            return &w.vifs[i];
        }
    }
    return NULL;
}

static struct tvif *
need_vif(const char *name)
{
    struct tvif *v = find_vif(name);
    if (!v || !v->attached) {
        ovs_fatal(0, "no attached VIF %s", name);
    }
    return v;
}

static bool
parse_port(const char *s, uint32_t *port)
{
    return s[0] == 'p' && str_to_uint(s + 1, 10, (unsigned int *) port);
}

/* WHERE: a VIF (returned) or a host port ('*port'). */
static struct tvif *
parse_where(const char *s, uint32_t *port)
{
    *port = 0;
    if (parse_port(s, port)) {
        return NULL;
    }
    return need_vif(s);
}

static const char *
port_name(uint32_t port, void *aux OVS_UNUSED)
{
    static char buf[16];
    snprintf(buf, sizeof buf, "p%"PRIu32, port);
    return buf;
}

static const char *
vif_name(const struct vif *vif)
{
    return vif->def.iface_id;
}

static struct eth_addr
parse_mac(const char *s)
{
    struct eth_addr mac;
    if (!eth_addr_from_string(s, &mac)) {
        ovs_fatal(0, "%s: bad MAC", s);
    }
    return mac;
}

static struct in6_addr
parse_ip(const char *s)
{
    struct in6_addr ip;
    if (!neigh_parse_ip(s, &ip)) {
        ovs_fatal(0, "%s: bad IP", s);
    }
    return ip;
}

static uint16_t
parse_vlan(int argc, const char *argv[], int i)
{
    return (i < argc && !strncmp(argv[i], "vlan=", 5)
            ? atoi(argv[i] + 5) : 0);
}

static void
print_ds(struct ds *s)
{
    printf("%s", ds_cstr(s));
    ds_destroy(s);
}

static void
print_error(char *error)
{
    printf("%s\n", error ? error : "ok");
    free(error);
}

/* Splits "HEAD | FLOW" and returns the composed frame, extracted into
 * 'flow'. */
static struct dp_packet *
frame_after_bar(char *line, struct flow *flow)
{
    char *bar = strchr(line, '|');
    if (!bar) {
        ovs_fatal(0, "missing '| FLOW'");
    }
    *bar = '\0';

    struct dp_packet *p = packet_compose(bar + 1 + strspn(bar + 1, " "));
    pkt_metadata_init(&p->md, 0);
    flow_extract(p, flow);
    return p;
}

/* VIFs. */

static void
open_tables(struct tvif *v)
{
    v->vif.region = NULL;
    char *error = state_region_open(v->path, vif_check_slot, &v->vif.region);
    if (error) {
        ovs_fatal(0, "%s", error);
    }
    v->fdb = fdb_vif_open(w.fdb, &v->vif, v->vif.region);
    v->neigh = neigh_vif_open(w.neigh, &v->vif, v->vif.region);
    v->routes = route_vif_open(w.routes, &v->vif, v->vif.region);
    v->attached = true;
}

static void
close_tables(struct tvif *v)
{
    state_region_seal(v->vif.region, w.now);
    fdb_vif_close(v->fdb);
    neigh_vif_close(v->neigh);
    route_vif_close(v->routes);
    state_region_close(v->vif.region);
    v->vif.region = NULL;
    v->attached = false;
}

static void
step_vif(int argc, const char *argv[])
{
    if (w.n_vifs >= MAX_VIFS) {
        ovs_fatal(0, "too many VIFs");
    }

    struct tvif *v = &w.vifs[w.n_vifs];
    int zone = 0;
    char *error = vif_def_parse(&v->vif.def, &zone, argc - 1, argv + 1);
    if (error) {
        ovs_fatal(0, "%s", error);
    }
    v->path = xasprintf("%s/%s.region", w.dir, argv[1]);

    struct state_region *r;
    error = state_region_create(v->path, &v->vif.def, 16, w.now, &r);
    if (error) {
        ovs_fatal(0, "%s", error);
    }
    state_region_close(r);
    open_tables(v);
    w.n_vifs++;
}

static char *
image_path(const struct tvif *v)
{
    return xasprintf("%s/%s.image", w.dir, v->vif.def.iface_id);
}

static void
step_detach(struct tvif *v)
{
    char *file = image_path(v);
    char *error = state_region_export(v->vif.region, file, w.now);
    if (error) {
        ovs_fatal(0, "%s", error);
    }
    close_tables(v);
    unlink(v->path);
    free(file);
}

static void
step_attach(struct tvif *v, long long clock, bool rebase)
{
    char *file = image_path(v);
    void *image;
    size_t len;

    char *error = state_image_read(file, vif_check_slot, &image, &len);
    if (!error) {
        struct state_region *r;
        error = state_region_create_from_image(v->path, image, len, &r);
        if (!error) {
            state_region_close(r);
        }
        free(image);
    }
    if (error) {
        ovs_fatal(0, "%s", error);
    }
    unlink(file);
    free(file);

    w.now = clock;
    open_tables(v);
    if (rebase) {
        long long from = state_region_header(v->vif.region)->clock_ms;

        fdb_vif_rebase(v->fdb, from, w.now);
        neigh_vif_rebase(v->neigh, from, w.now);
    }
}

static void
bind_host_routes(void)
{
    for (uint32_t port = 0; port < 10; port++) {
        route_bind_port(w.routes, port_name(port, NULL), port);
    }
}

static void
create_tables(void)
{
    w.fdb = fdb_create();
    w.neigh = neigh_table_create(w.dir);
    w.routes = route_table_create(w.dir);
}

static void
step_restart(void)
{
    struct eth_addr router_mac = route_get_router_mac(w.routes);

    for (int i = 0; i < w.n_vifs; i++) {
        if (w.vifs[i].attached) {
            close_tables(&w.vifs[i]);
            w.vifs[i].attached = true;      /* Reopened below. */
        }
    }
    fdb_destroy(w.fdb);
    neigh_table_destroy(w.neigh);
    route_table_destroy(w.routes);

    create_tables();
    route_set_router_mac(w.routes, router_mac);
    print_error(neigh_table_load(w.neigh));
    print_error(route_table_load(w.routes));
    bind_host_routes();
    for (int i = 0; i < w.n_vifs; i++) {
        if (w.vifs[i].attached) {
            open_tables(&w.vifs[i]);
        }
    }
}

/* FDB steps. */

static void
print_where(const struct fdb_where *where)
{
    if (where->vif) {
        printf("%s\n", vif_name(where->vif));
    } else {
        printf("p%"PRIu32"\n", where->port);
    }
}

static void
step_learn(int argc, const char *argv[])
{
    uint32_t port;
    struct tvif *v = parse_where(argv[1], &port);
    struct eth_addr mac = parse_mac(argv[2]);
    uint16_t vlan = parse_vlan(argc, argv, 3);
    enum fdb_learn_result r = (v ? fdb_learn_vif(v->fdb, mac, vlan, w.now)
                               : fdb_learn_port(w.fdb, port, mac, vlan,
                                                w.now));
    printf("%s\n", fdb_learn_result_to_string(r));
}

static void
step_learn_many(const char *argv[])
{
    uint32_t port;
    struct tvif *v = parse_where(argv[1], &port);
    int n = atoi(argv[2]);
    int counts[FDB_LEARN_FAILED + 1] = { 0 };

    for (int i = 0; i < n; i++) {
        struct eth_addr mac = ETH_ADDR_C(02, 00, 00, 00, 00, 00);
        mac.ea[4] = i >> 8;
        mac.ea[5] = i & 0xff;
        counts[v ? fdb_learn_vif(v->fdb, mac, 0, w.now)
               : fdb_learn_port(w.fdb, port, mac, 0, w.now)]++;
    }
    printf("new %d, refreshed %d, moved %d, failed %d\n",
           counts[FDB_LEARN_NEW], counts[FDB_LEARN_REFRESHED],
           counts[FDB_LEARN_MOVED], counts[FDB_LEARN_FAILED]);
}

static void
step_fdb_lookup(int argc, const char *argv[])
{
    struct fdb_where where;

    if (fdb_lookup(w.fdb, parse_mac(argv[1]), parse_vlan(argc, argv, 2),
                   w.now, &where)) {
        print_where(&where);
    } else {
        printf("unknown\n");
    }
}

static void
step_fdb_static(int argc, const char *argv[])
{
    uint32_t port;
    struct tvif *v = parse_where(argv[1], &port);

    print_error(fdb_add_static(w.fdb, v ? v->fdb : NULL, port,
                               parse_mac(argv[2]), parse_vlan(argc, argv, 3),
                               w.now));
}

static bool
step_fdb(int argc, const char *argv[])
{
    const char *cmd = argv[0];
    struct ds s = DS_EMPTY_INITIALIZER;
    uint32_t port;

    if (!strcmp(cmd, "learn")) {
        step_learn(argc, argv);
    } else if (!strcmp(cmd, "learn-many")) {
        step_learn_many(argv);
    } else if (!strcmp(cmd, "fdb-lookup")) {
        step_fdb_lookup(argc, argv);
    } else if (!strcmp(cmd, "fdb-static")) {
        step_fdb_static(argc, argv);
    } else if (!strcmp(cmd, "fdb-del")) {
        printf("%s\n", fdb_del(w.fdb, parse_mac(argv[1]),
                               parse_vlan(argc, argv, 2))
               ? "deleted" : "not found");
    } else if (!strcmp(cmd, "fdb-flush-port") && parse_port(argv[1], &port)) {
        fdb_flush_port(w.fdb, port);
    } else if (!strcmp(cmd, "fdb-aging")) {
        fdb_set_idle_time(w.fdb, atoi(argv[1]));
    } else if (!strcmp(cmd, "fdb-max")) {
        fdb_set_max_entries(w.fdb, atoi(argv[1]));
    } else if (!strcmp(cmd, "fdb-run")) {
        size_t n = 0, k;
        while ((k = fdb_run(w.fdb, w.now))) {
            n += k;
        }
        printf("expired %"PRIuSIZE"\n", n);
    } else if (!strcmp(cmd, "fdb-show")) {
        fdb_show(w.fdb, &s, w.now, port_name, NULL);
    } else if (!strcmp(cmd, "fdb-stats")) {
        fdb_format_stats(w.fdb, &s);
    } else {
        return false;
    }
    print_ds(&s);
    return true;
}

/* Neighbour steps. */

static void
step_neigh_learn(char *line)
{
    struct flow flow;
    struct dp_packet *p = frame_after_bar(line, &flow);
    const char *argv[MAX_ARGS];
    int argc = split(line, argv);
    uint32_t port;

    if (argc < 2) {
        ovs_fatal(0, "neigh-learn WHERE | FLOW");
    }

    struct tvif *v = parse_where(argv[1], &port);
    enum neigh_learn_result r = neigh_learn_flow(w.neigh, v ? v->neigh : NULL,
                                                 port, &flow, w.now);
    printf("%s\n", neigh_learn_result_to_string(r));
    dp_packet_delete(p);
}

static void
step_neigh_add(int argc, const char *argv[])
{
    struct tvif *v = argc > 3 ? need_vif(argv[1]) : NULL;
    int i = argc > 3 ? 2 : 1;

    print_error(neigh_add_static(w.neigh, v ? v->neigh : NULL,
                                 (struct in6_addr[]) { parse_ip(argv[i]) },
                                 parse_mac(argv[i + 1]), w.now));
}

static void
step_neigh_lookup(const char *argv[])
{
    struct in6_addr ip = parse_ip(argv[1]);
    struct eth_addr mac;
    struct vif *vif;

    if (neigh_lookup(w.neigh, &ip, w.now, &mac, &vif)) {
        printf(ETH_ADDR_FMT" %s\n", ETH_ADDR_ARGS(mac),
               vif ? vif_name(vif) : "host");
    } else {
        printf("unknown\n");
    }
}

static bool
step_neigh(char *line, int argc, const char *argv[])
{
    const char *cmd = argv[0];
    struct ds s = DS_EMPTY_INITIALIZER;

    if (!strcmp(cmd, "neigh-learn")) {
        step_neigh_learn(line);
    } else if (!strcmp(cmd, "neigh-add")) {
        step_neigh_add(argc, argv);
    } else if (!strcmp(cmd, "neigh-del")) {
        print_error(neigh_del(w.neigh,
                              (struct in6_addr[]) { parse_ip(argv[1]) }));
    } else if (!strcmp(cmd, "neigh-lookup")) {
        step_neigh_lookup(argv);
    } else if (!strcmp(cmd, "neigh-aging")) {
        neigh_set_idle_time(w.neigh, atoi(argv[1]));
    } else if (!strcmp(cmd, "neigh-run")) {
        size_t n = 0, k;
        while ((k = neigh_run(w.neigh, w.now))) {
            n += k;
        }
        printf("expired %"PRIuSIZE"\n", n);
    } else if (!strcmp(cmd, "neigh-show")) {
        neigh_show(w.neigh, &s, w.now, port_name, NULL);
    } else {
        return false;
    }
    print_ds(&s);
    return true;
}

/* Route steps. */

static void
step_route_add(int argc, const char *argv[])
{
    struct route_spec spec;
    char *error = route_spec_parse(&spec, argc - 1, argv + 1);

    if (!error) {
        struct tvif *v = spec.dev ? find_vif(spec.dev) : NULL;
        uint32_t port = ROUTE_PORT_NONE;

        if (spec.dev && !v && !parse_port(spec.dev, &port)) {
            port = ROUTE_PORT_NONE;
        }
        error = route_add(w.routes, v ? v->routes : NULL, &spec, port);
        route_spec_destroy(&spec);
    }
    print_error(error);
}

static void
step_route_del(int argc, const char *argv[])
{
    struct route_spec spec;
    char *error = route_spec_parse(&spec, argc - 1, argv + 1);

    if (!error) {
        error = route_del(w.routes, &spec);
        route_spec_destroy(&spec);
    }
    print_error(error);
}

static void
print_decision(enum route_result r, const struct route_decision *d)
{
    struct ds s = DS_EMPTY_INITIALIZER;

    ds_put_cstr(&s, route_result_to_string(r));
    if (r == ROUTE_OK || r == ROUTE_NO_NEIGH) {
        ds_put_cstr(&s, ": ");
        if (r == ROUTE_OK) {
            switch (d->output) {
            case ROUTE_OUT_VIF:
                ds_put_format(&s, "vif %s", vif_name(d->vif));
                break;
            case ROUTE_OUT_PORT:
                ds_put_format(&s, "port p%"PRIu32, d->port);
                break;
            case ROUTE_OUT_L2:
            default:
                ds_put_cstr(&s, "l2");
                break;
            }
            ds_put_cstr(&s, ", ");
        }
        ds_put_cstr(&s, "next hop ");
        ipv6_format_mapped(&d->nexthop, &s);
        if (r == ROUTE_OK) {
            ds_put_format(&s, ", "ETH_ADDR_FMT" > "ETH_ADDR_FMT,
                          ETH_ADDR_ARGS(d->src_mac),
                          ETH_ADDR_ARGS(d->dst_mac));
        }
    }
    printf("%s\n", ds_cstr(&s));
    ds_destroy(&s);
}

static void
step_route(const char *argv[])
{
    struct in6_addr dst = parse_ip(argv[1]);
    struct route_decision d;

    print_decision(route_decide(w.routes, w.neigh, &dst, w.now, &d), &d);
}

/* Prints the frame 'p' as OVS's flow syntax. */
static void
print_frame(struct dp_packet *p)
{
    struct flow flow;
    pkt_metadata_init(&p->md, 0);
    flow_extract(p, &flow);

    char *s = flow_to_string(&flow, NULL);
    printf("%s\n", s);
    free(s);

    /* flow_to_string() leaves out a neighbour advertisement's flags. */
    if (flow.dl_type == htons(ETH_TYPE_IPV6)
        && flow.nw_proto == IPPROTO_ICMPV6
        && flow.tp_src == htons(ND_NEIGHBOR_ADVERT)) {
        const struct ovs_nd_msg *na = dp_packet_l4(p);
        uint32_t rso = ntohl(get_16aligned_be32(&na->rso_flags));

        printf("flags%s%s%s\n", rso & ND_RSO_ROUTER ? " router" : "",
               rso & ND_RSO_SOLICITED ? " solicited" : "",
               rso & ND_RSO_OVERRIDE ? " override" : "");
    }
}

/* Checks the IPv4 header checksum and the ICMPv6 checksum of 'p'. */
static const char *
checksums(struct dp_packet *p)
{
    struct flow flow;
    pkt_metadata_init(&p->md, 0);
    flow_extract(p, &flow);

    if (flow.dl_type == htons(ETH_TYPE_IP)) {
        const struct ip_header *ip = dp_packet_l3(p);
        return csum(ip, IP_IHL(ip->ip_ihl_ver) * 4) ? "bad" : "good";
    } else if (flow.dl_type == htons(ETH_TYPE_IPV6)
               && flow.nw_proto == IPPROTO_ICMPV6) {
        uint32_t partial = packet_csum_pseudoheader6(dp_packet_l3(p));
        return (csum_finish(csum_continue(partial, dp_packet_l4(p),
                                          dp_packet_l4_size(p)))
                ? "bad" : "good");
    }
    return "n/a";
}

static void
step_route_packet(char *line)
{
    struct flow flow;
    struct dp_packet *p = frame_after_bar(line, &flow);
    struct route_decision d;

    print_decision(route_packet(w.routes, w.neigh, p, &flow, w.now, &d), &d);
    print_frame(p);
    printf("checksum %s\n", checksums(p));
    dp_packet_delete(p);
}

static bool
step_routes(char *line, int argc, const char *argv[])
{
    const char *cmd = argv[0];
    struct ds s = DS_EMPTY_INITIALIZER;
    uint32_t port;

    if (!strcmp(cmd, "router-mac")) {
        route_set_router_mac(w.routes, parse_mac(argv[1]));
    } else if (!strcmp(cmd, "route-add")) {
        step_route_add(argc, argv);
    } else if (!strcmp(cmd, "route-del")) {
        step_route_del(argc, argv);
    } else if (!strcmp(cmd, "route-show")) {
        route_show(w.routes, &s);
    } else if (!strcmp(cmd, "route-bind")) {
        route_bind_port(w.routes, argv[1], atoi(argv[2]));
    } else if (!strcmp(cmd, "route-unbind") && parse_port(argv[1], &port)) {
        route_unbind_port(w.routes, port);
    } else if (!strcmp(cmd, "route")) {
        step_route(argv);
    } else if (!strcmp(cmd, "route-packet")) {
        step_route_packet(line);
    } else {
        return false;
    }
    print_ds(&s);
    return true;
}

/* Port security and composing. */

/* Appends a source link-layer address option for 'mac' to 'p', an ND frame
 * whose options end the frame, and fixes its lengths and checksum. */
static void
append_sll(struct dp_packet *p, struct eth_addr mac)
{
    struct ovs_nd_lla_opt *opt = dp_packet_put_zeros(p, ND_LLA_OPT_LEN);
    opt->type = ND_OPT_SOURCE_LINKADDR;
    opt->len = 1;
    opt->mac = mac;

    struct ovs_16aligned_ip6_hdr *ip6 = dp_packet_l3(p);
    struct icmp6_header *icmp = dp_packet_l4(p);
    size_t l4_size = dp_packet_l4_size(p);

    ip6->ip6_ctlun.ip6_un1.ip6_un1_plen = htons(l4_size);
    icmp->icmp6_cksum = 0;
    icmp->icmp6_cksum = packet_csum_upperlayer6(ip6, icmp, IPPROTO_ICMPV6,
                                                l4_size);
}

static void
step_ps(char *line)
{
    struct flow flow;
    struct dp_packet *p = frame_after_bar(line, &flow);
    const char *argv[MAX_ARGS];
    int argc = split(line, argv);

    if (argc < 2) {
        ovs_fatal(0, "ps NAME [sll=MAC] | FLOW");
    }
    struct tvif *v = need_vif(argv[1]);
    if (argc > 2 && !strncmp(argv[2], "sll=", 4)) {
        append_sll(p, parse_mac(argv[2] + 4));
        flow_extract(p, &flow);
    }
    printf("%s\n", port_sec_verdict_to_string(
               port_security_check(&v->vif.def, &flow, p)));
    dp_packet_delete(p);
}

/* A RARP for 'sha', as QEMU announces a migrated VM, sent by NAME's VM. */
static void
step_ps_rarp(const char *argv[])
{
    struct tvif *v = need_vif(argv[1]);
    struct dp_packet *p = dp_packet_new(0);
    struct flow flow;

    compose_rarp(p, parse_mac(argv[2]));
    struct eth_header *eth = dp_packet_eth(p);
    memcpy(eth->eth_src.ea, v->vif.def.mac, ETH_ADDR_LEN);
    pkt_metadata_init(&p->md, 0);
    flow_extract(p, &flow);
    printf("%s\n", port_sec_verdict_to_string(
               port_security_check(&v->vif.def, &flow, p)));
    dp_packet_delete(p);
}

static void
step_answer(char *line)
{
    struct flow flow;
    struct dp_packet *req = frame_after_bar(line, &flow);
    const char *argv[MAX_ARGS];
    int argc = split(line, argv);
    struct dp_packet *out = dp_packet_new(0);

    if (argc < 2) {
        ovs_fatal(0, "answer MAC [router] | FLOW");
    }
    if (neigh_compose_reply(out, &flow, parse_mac(argv[1]),
                            argc > 2 && !strcmp(argv[2], "router"))) {
        print_frame(out);
        printf("checksum %s\n", checksums(out));
    } else {
        printf("not a request\n");
    }
    dp_packet_delete(out);
    dp_packet_delete(req);
}

static bool
step_frames(char *line, const char *argv[])
{
    const char *cmd = argv[0];
    struct dp_packet *out = dp_packet_new(0);
    bool known = true;

    if (!strcmp(cmd, "ps")) {
        step_ps(line);
    } else if (!strcmp(cmd, "ps-rarp")) {
        step_ps_rarp(argv);
    } else if (!strcmp(cmd, "answer")) {
        step_answer(line);
    } else if (!strcmp(cmd, "announce")) {
        struct in6_addr ip = parse_ip(argv[1]);
        neigh_compose_announce(out, &ip, parse_mac(argv[2]));
        print_frame(out);
        printf("checksum %s\n", checksums(out));
    } else if (!strcmp(cmd, "request")) {
        struct in6_addr target = parse_ip(argv[1]);
        struct in6_addr src = parse_ip(argv[2]);
        neigh_compose_request(out, &target, &src, parse_mac(argv[3]));
        print_frame(out);
        printf("checksum %s\n", checksums(out));
    } else {
        known = false;
    }
    dp_packet_delete(out);
    return known;
}

/* Regions. */

static void
step_check(struct tvif *v)
{
    state_region_seal(v->vif.region, w.now);
    print_error(state_region_check(state_region_base(v->vif.region),
                                   state_region_size(v->vif.region),
                                   vif_check_slot));
}

/* Builds a valid payload of TYPE, changes the fields the words name, and
 * runs the checker. */
static void
step_check_slot(int argc, const char *argv[])
{
    uint8_t payload[OOR_SLOT_PAYLOAD_MAX];
    struct fdb_entry *f = (struct fdb_entry *) payload;
    struct neigh_entry *n = (struct neigh_entry *) payload;
    struct route_entry *r = (struct route_entry *) payload;
    uint16_t type;
    size_t len;

    memset(payload, 0, sizeof payload);
    if (!strcmp(argv[1], "fdb")) {
        type = OOR_SLOT_FDB;
        len = sizeof *f;
        f->mac = parse_mac("50:54:00:00:00:01");
    } else if (!strcmp(argv[1], "neigh")) {
        type = OOR_SLOT_NEIGH;
        len = sizeof *n;
        n->ip = parse_ip("10.0.0.1");
        n->mac = parse_mac("50:54:00:00:00:01");
    } else if (!strcmp(argv[1], "route")) {
        type = OOR_SLOT_ROUTE;
        len = sizeof *r;
        r->prefix = parse_ip("10.1.0.0");
        r->plen = 16;
        r->family = 4;
    } else {
        ovs_fatal(0, "check-slot fdb|neigh|route");
    }

    for (int i = 2; i < argc; i++) {
        const char *eq = strchr(argv[i], '=');
        const char *v = eq ? eq + 1 : "";
        size_t k = eq ? eq - argv[i] : strlen(argv[i]);

#define FIELD(NAME) (k == strlen(NAME) && !strncmp(argv[i], NAME, k))
        if (FIELD("type")) {
            type = atoi(v);
        } else if (FIELD("len")) {
            len = atoi(v);
        } else if (type == OOR_SLOT_FDB && FIELD("mac")) {
            f->mac = parse_mac(v);
        } else if (type == OOR_SLOT_FDB && FIELD("vlan")) {
            f->vlan = atoi(v);
        } else if (type == OOR_SLOT_FDB && FIELD("flags")) {
            f->flags = strtoul(v, NULL, 0);
        } else if (type == OOR_SLOT_FDB && FIELD("pad")) {
            f->pad = atoi(v);
        } else if (type == OOR_SLOT_NEIGH && FIELD("ip")) {
            n->ip = parse_ip(v);
        } else if (type == OOR_SLOT_NEIGH && FIELD("mac")) {
            n->mac = parse_mac(v);
        } else if (type == OOR_SLOT_NEIGH && FIELD("flags")) {
            n->flags = strtoul(v, NULL, 0);
        } else if (type == OOR_SLOT_ROUTE && FIELD("prefix")) {
            r->prefix = parse_ip(v);
        } else if (type == OOR_SLOT_ROUTE && FIELD("nexthop")) {
            r->nexthop = parse_ip(v);
        } else if (type == OOR_SLOT_ROUTE && FIELD("plen")) {
            r->plen = atoi(v);
        } else if (type == OOR_SLOT_ROUTE && FIELD("family")) {
            r->family = atoi(v);
        } else if (type == OOR_SLOT_ROUTE && FIELD("pad")) {
            r->pad[0] = atoi(v);
        } else {
            ovs_fatal(0, "%s: unknown field", argv[i]);
        }
#undef FIELD
    }
    print_error(vif_check_slot(type, payload, len));
}

static bool
step_regions(int argc, const char *argv[])
{
    const char *cmd = argv[0];

    if (!strcmp(cmd, "vif")) {
        step_vif(argc, argv);
    } else if (!strcmp(cmd, "reopen")) {
        struct tvif *v = need_vif(argv[1]);
        close_tables(v);
        open_tables(v);
    } else if (!strcmp(cmd, "detach")) {
        step_detach(need_vif(argv[1]));
    } else if (!strcmp(cmd, "attach")) {
        struct tvif *v = find_vif(argv[1]);
        if (!v || v->attached) {
            ovs_fatal(0, "no detached VIF %s", argv[1]);
        }
        step_attach(v, atoll(argv[2]),
                    !(argc > 3 && !strcmp(argv[3], "norebase")));
    } else if (!strcmp(cmd, "restart")) {
        step_restart();
    } else if (!strcmp(cmd, "check")) {
        step_check(need_vif(argv[1]));
    } else if (!strcmp(cmd, "freeze") || !strcmp(cmd, "thaw")) {
        struct tvif *v = need_vif(argv[1]);
        fdb_vif_set_frozen(v->fdb, cmd[0] == 'f');
        neigh_vif_set_frozen(v->neigh, cmd[0] == 'f');
    } else if (!strcmp(cmd, "generation")) {
        struct tvif *v = need_vif(argv[1]);
        state_region_seal(v->vif.region, w.now);
        printf("generation %"PRIu64"\n",
               state_region_header(v->vif.region)->generation);
    } else if (!strcmp(cmd, "check-slot")) {
        step_check_slot(argc, argv);
    } else if (!strcmp(cmd, "advance")) {
        w.now += atoll(argv[1]);
    } else if (!strcmp(cmd, "clock")) {
        w.now = atoll(argv[1]);
    } else {
        return false;
    }
    return true;
}

static void
run_step(char *line)
{
    char *copy = xstrdup(line);
    const char *argv[MAX_ARGS];
    char *bar = strchr(copy, '|');

    if (bar) {
        *bar = '\0';        /* The words before a frame. */
    }

    int argc = split(copy, argv);
    if (!argc
        || !(step_regions(argc, argv) || step_fdb(argc, argv)
             || step_neigh(line, argc, argv)
             || step_routes(line, argc, argv)
             || step_frames(line, argv))) {
        ovs_fatal(0, "unknown step: %s", line);
    }
    free(copy);
}

static void
cleanup(void)
{
    for (int i = 0; i < w.n_vifs; i++) {
        if (w.vifs[i].attached) {
            close_tables(&w.vifs[i]);
        }
        unlink(w.vifs[i].path);
        free(w.vifs[i].path);

        char *image = image_path(&w.vifs[i]);
        unlink(image);
        free(image);
    }
    fdb_destroy(w.fdb);
    neigh_table_destroy(w.neigh);
    route_table_destroy(w.routes);

    char *files[] = { "routes", "neighbours" };
    for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
        char *path = xasprintf("%s/%s", w.dir, files[i]);
        unlink(path);
        free(path);
    }
    rmdir(w.dir);
}

static void
test_l2l3_main(int argc OVS_UNUSED, char *argv[] OVS_UNUSED)
{
    char line[4096];

    ovs_strlcpy(w.dir, "/tmp/test-l2l3.XXXXXX", sizeof w.dir);
    if (!mkdtemp(w.dir)) {
        ovs_fatal(errno, "mkdtemp");
    }
    w.now = 1000000;
    create_tables();

    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\n")] = '\0';
        if (line[0] && line[0] != '#') {
            run_step(line);
        }
        fflush(stdout);
    }
    cleanup();
}

OVSTEST_REGISTER("test-l2l3", test_l2l3_main);
