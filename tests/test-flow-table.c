/*
 * Drives the flow table, the action interpreter and flow persistence from a
 * scenario on stdin, one step per line (tests/flow-table.at):
 *
 *   add FLOW                   offload/add-flow; prints "ok" or the error
 *   del [--strict] [FLOW]      offload/del-flows; prints how many went
 *   dump [TABLE]               offload/dump-flows
 *   dump-owner VIF|host        the flows of one owner
 *   exec PORT PACKET           runs PACKET (tests/packet-compose.h syntax),
 *                              received on PORT, through the tables; prints
 *                              each conntrack call and forwarded packet, then
 *                              the status
 *   exec-bad PORT PACKET       the same with PACKET's TCP or UDP checksum
 *                              broken first
 *   advance MS                 moves the clock
 *   run                        expires flows by their timeouts
 *   port NAME NUMBER           adds a port to the port map
 *   ports-reset                back to the five ports below
 *   bind VIF PORT|none         moves a VIF to another port (or none) and
 *                              reloads its flows
 *   del-owner VIF              deletes the VIF's flows, from its region too
 *   load VIF|host              reloads the flows of a VIF or the host
 *   seal                       seals the regions
 *   restart [crash]            closes everything (without sealing first if
 *                              "crash", as kill -9 would) and opens it again
 *                              from the state dir
 *   migrate VIF PORT SKEW      exports the VIF's region to an image, checks
 *                              it, and installs it as a new region, as the
 *                              destination of a migration whose clock reads
 *                              SKEW ms more than the source's; the VIF's
 *                              port there is PORT
 *   region VIF                 lists the flow slots of the VIF's region
 *   check-region VIF           runs the whole-region chain check
 *   drop-part VIF ID PART      frees one slot of a chain
 *   poke VIF ID PART FIELD=V   changes a field of one flow slot, then seals
 *   slot-check [FIELD=V]...    checks a flow slot made from the fields
 *   host-file                  prints the host-flows file
 *
 * The ports are veth1 (1), veth2 (2), uplink (3), tap1 (4) and tap2 (5).
 * VIF vm1 (cookie 0x100, conntrack zone 1) is on tap1, VIF vm2 (cookie
 * 0x200, zone 2) on tap2; each has its state region in a temporary state
 * dir, with its conntrack table.  Lines starting with '#' are comments.
 */
#include <config.h>
#undef NDEBUG
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crc32c.h"
#include "csum.h"
#include "ct-engine.h"
#include "ct-entry.h"
#include "dp-packet.h"
#include "flow-exec.h"
#include "flow-store.h"
#include "flow-table.h"
#include "flow.h"
#include "openvswitch/dynamic-string.h"
#include "openvswitch/match.h"
#include "openvswitch/ofp-port.h"
#include "openvswitch/vlog.h"
#include "ovstest.h"
#include "packet-compose.h"
#include "packets.h"
#include "state-region.h"
#include "util.h"

struct test_vif {
    const char *name;
    uint64_t cookie;
    uint16_t zone;
    ofp_port_t port;
    char *path;
    struct state_region *region;
    struct ct_table *ct;
};

struct test {
    char *dir;
    char *host_file;
    long long now;
    struct ofputil_port_map ports;
    struct test_vif vifs[2];
    struct ct_engine *engine;
    struct flow_table *table;
};

/* What the daemon's dispatcher does for the region validator. */
static char *
check_any_slot(uint16_t type, const void *payload, size_t len)
{
    return (type == OOR_SLOT_FLOW
            ? flow_slot_check(type, payload, len)
            : ct_entry_check_slot(type, payload, len));
}

static struct test_vif *
find_vif(struct test *t, const char *name)
{
    for (size_t i = 0; i < ARRAY_SIZE(t->vifs); i++) {
        if (!strcmp(t->vifs[i].name, name)) {
            return &t->vifs[i];
        }
    }
    ovs_fatal(0, "no VIF %s", name);
}

static ofp_port_t
port_from_name(const struct test *t, const char *name)
{
    ofp_port_t port;

    if (!ofputil_port_from_string(name, &t->ports, &port)) {
        ovs_fatal(0, "%s: unknown port", name);
    }
    return port;
}

static void
port_name(const struct test *t, ofp_port_t port, struct ds *s)
{
    ofputil_format_port(port, &t->ports, s);
}

/* The flow table's view of the VIFs. */

static const char *
owner_cb(const struct match *m, ovs_be64 cookie, void *t_)
{
    struct test *t = t_;

    for (size_t i = 0; i < ARRAY_SIZE(t->vifs); i++) {
        const struct test_vif *v = &t->vifs[i];

        if ((m->wc.masks.in_port.ofp_port == u16_to_ofp(UINT16_MAX)
             && m->flow.in_port.ofp_port == v->port)
            || ntohll(cookie) == v->cookie) {
            return v->name;
        }
    }
    return NULL;
}

static struct state_region *
region_cb(const char *iface_id, ofp_port_t *port, uint16_t *zone, void *t_)
{
    struct test *t = t_;

    for (size_t i = 0; i < ARRAY_SIZE(t->vifs); i++) {
        if (!strcmp(t->vifs[i].name, iface_id)) {
            *port = t->vifs[i].port;
            *zone = 0;          /* These tests keep zones as they are. */
            return t->vifs[i].region;
        }
    }
    return NULL;
}

/* The datapath's callbacks: they print what they get. */

static bool
sctp_csum_ok(const void *l4, size_t l4_size)
{
    struct sctp_header *copy = xmemdup(l4, l4_size);
    ovs_be32 stored = get_16aligned_be32(&copy->sctp_csum);

    put_16aligned_be32(&copy->sctp_csum, 0);
    bool ok = crc32c((const uint8_t *) copy, l4_size) == stored;
    free(copy);
    return ok;
}

static bool
csum_ok(const struct dp_packet *p, const struct flow *f)
{
    const void *l4 = dp_packet_l4(p);
    size_t l4_size = dp_packet_l4_size(p);

    if (f->dl_type == htons(ETH_TYPE_IP)) {
        const struct ip_header *ip = dp_packet_l3(p);

        if (csum(ip, IP_IHL(ip->ip_ihl_ver) * 4)) {
            return false;
        }
        if (f->nw_frag || !l4) {
            return true;
        }
        if (f->nw_proto == IPPROTO_UDP
            && !((const struct udp_header *) l4)->udp_csum) {
            return true;
        }
        if (f->nw_proto == IPPROTO_TCP || f->nw_proto == IPPROTO_UDP) {
            return !csum_finish(csum_continue(packet_csum_pseudoheader(ip),
                                              l4, l4_size));
        }
        if (f->nw_proto == IPPROTO_SCTP) {
            return sctp_csum_ok(l4, l4_size);
        }
        return f->nw_proto != IPPROTO_ICMP || !csum(l4, l4_size);
    } else if (f->dl_type == htons(ETH_TYPE_IPV6) && l4 && !f->nw_frag) {
        return !packet_csum_upperlayer6(dp_packet_l3(p), l4, f->nw_proto,
                                        l4_size);
    }
    return true;
}

/* "MAC>MAC [vlan=V,pcp=P] [proto SRC[:PORT]>DST[:PORT] ttl=N] csum=ok". */
static void
format_packet(struct ds *s, struct dp_packet *p)
{
    struct flow f;

    flow_extract(p, &f);
    ds_put_format(s, ETH_ADDR_FMT">"ETH_ADDR_FMT, ETH_ADDR_ARGS(f.dl_src),
                  ETH_ADDR_ARGS(f.dl_dst));
    for (int i = 0; i < FLOW_MAX_VLAN_HEADERS; i++) {
        if (f.vlans[i].tci & htons(VLAN_CFI)) {
            ovs_be16 tci = f.vlans[i].tci;

            ds_put_format(s, " vlan=%u,pcp=%u", vlan_tci_to_vid(tci),
                          vlan_tci_to_pcp(tci));
            if (f.vlans[i].tpid != htons(ETH_TYPE_VLAN)) {
                ds_put_format(s, ",tpid=%#"PRIx16, ntohs(f.vlans[i].tpid));
            }
        }
    }
    bool ports = (f.nw_proto == IPPROTO_TCP || f.nw_proto == IPPROTO_UDP
                  || f.nw_proto == IPPROTO_SCTP);
    if (f.dl_type == htons(ETH_TYPE_IP)) {
        ds_put_format(s, " %s "IP_FMT, ports ? "l4" : "ip",
                      IP_ARGS(f.nw_src));
        if (ports) {
            ds_put_format(s, ":%u", ntohs(f.tp_src));
        }
        ds_put_format(s, ">"IP_FMT, IP_ARGS(f.nw_dst));
    } else if (f.dl_type == htons(ETH_TYPE_IPV6)) {
        ds_put_format(s, " %s ", ports ? "l4" : "ipv6");
        ipv6_format_addr(&f.ipv6_src, s);
        if (ports) {
            ds_put_format(s, ":%u", ntohs(f.tp_src));
        }
        ds_put_char(s, '>');
        ipv6_format_addr(&f.ipv6_dst, s);
    } else {
        ds_put_format(s, " type=0x%04x", ntohs(f.dl_type));
    }
    if (is_ip_any(&f)) {
        if (ports) {
            ds_put_format(s, ":%u", ntohs(f.tp_dst));
        }
        ds_put_format(s, " ttl=%u csum=%s", f.nw_ttl,
                      csum_ok(p, &f) ? "ok" : "BAD");
    }
}

static void
output_cb(ofp_port_t port, struct dp_packet *p, void *t_)
{
    struct ds s = DS_EMPTY_INITIALIZER;

    ds_put_cstr(&s, "  output:");
    port_name(t_, port, &s);
    ds_put_char(&s, ' ');
    format_packet(&s, p);
    printf("%s\n", ds_cstr(&s));
    ds_destroy(&s);
    dp_packet_delete(p);
}

static void
normal_cb(struct dp_packet *p, const struct flow *flow, void *t_)
{
    struct ds s = DS_EMPTY_INITIALIZER;

    ds_put_cstr(&s, "  normal from ");
    port_name(t_, flow->in_port.ofp_port, &s);
    ds_put_char(&s, ' ');
    format_packet(&s, p);
    printf("%s\n", ds_cstr(&s));
    ds_destroy(&s);
    dp_packet_delete(p);
}

static void
flood_cb(struct dp_packet *p, const struct flow *flow OVS_UNUSED,
         ofp_port_t in_port, void *t_)
{
    struct ds s = DS_EMPTY_INITIALIZER;

    ds_put_cstr(&s, "  flood except ");
    port_name(t_, in_port, &s);
    ds_put_char(&s, ' ');
    format_packet(&s, p);
    printf("%s\n", ds_cstr(&s));
    ds_destroy(&s);
    dp_packet_delete(p);
}

static void
ct_cb(uint16_t zone, const struct ct_exec *x, struct dp_packet *p,
      struct flow *flow, void *t_)
{
    struct test *t = t_;
    struct ct_table *ct = NULL;
    struct ds s = DS_EMPTY_INITIALIZER;

    for (size_t i = 0; i < ARRAY_SIZE(t->vifs); i++) {
        if (t->vifs[i].zone == zone) {
            ct = t->vifs[i].ct;
        }
    }
    ds_put_format(&s, "  ct(zone=%u%s%s", zone, x->commit ? ",commit" : "",
                  x->nat ? ",nat" : "");
    if (x->set_mark) {
        ds_put_format(&s, ",mark=%#"PRIx32, *x->set_mark);
    }
    if (x->set_label) {
        ds_put_format(&s, ",label=%#"PRIx64, x->set_label->u64.lo);
    }
    ds_put_cstr(&s, ")");

    flow->ct_zone = zone;
    flow->ct_mark = 0;
    flow->ct_label = OVS_U128_ZERO;
    if (!ct) {
        ds_put_cstr(&s, " no such zone");
        flow->ct_state = CS_TRACKED | CS_INVALID;
    } else {
        struct ct_exec_result r = ct_table_execute(ct, p, x, t->now);

        flow->ct_state = r.ct_state;
        flow->ct_mark = r.mark;
        flow->ct_label = r.label;
        ds_put_char(&s, ' ');
        ct_state_format(&s, r.ct_state);
        if (flow->ct_mark) {
            ds_put_format(&s, " mark=%#"PRIx32, flow->ct_mark);
        }
    }
    printf("%s\n", ds_cstr(&s));
    ds_destroy(&s);
}

static const struct flow_exec_ops exec_ops = {
    .output = output_cb,
    .normal = normal_cb,
    .flood = flood_cb,
    .ct = ct_cb,
};

/* Setting up and tearing down. */

static void
open_vif(struct test *t, struct test_vif *v)
{
    char *error;

    v->ct = ct_table_open(t->engine, v->zone, v->region, t->now, &error);
    if (!v->ct) {
        ovs_fatal(0, "%s", error);
    }
}

static void
create_vif(struct test *t, struct test_vif *v)
{
    struct oor_vif_def def;

    memset(&def, 0, sizeof def);
    ovs_strlcpy(def.iface_id, v->name, sizeof def.iface_id);
    def.mac[0] = 0x50;
    def.mac[5] = v->zone;
    def.cookie = v->cookie;
    v->path = xasprintf("%s/%s.region", t->dir, v->name);

    char *error = state_region_create(v->path, &def, 16, t->now, &v->region);
    if (error) {
        ovs_fatal(0, "%s", error);
    }
    open_vif(t, v);
}

static void
print_result(const char *what, char *error, size_t n)
{
    if (error) {
        printf("%s: %s\n", what, error);
        free(error);
    }
    printf("%s: loaded %"PRIuSIZE"\n", what, n);
}

static void
create_table(struct test *t)
{
    struct flow_table_ops ops = {
        .owner = owner_cb,
        .region = region_cb,
        .aux = t,
    };

    t->table = flow_table_create(&ops, t->host_file);
    flow_table_set_port_map(t->table, &t->ports);
}

static void
load_vif(struct test *t, struct test_vif *v, long long from_clock)
{
    size_t n;
    char *error = flow_table_load_owner(t->table, v->name, from_clock,
                                        t->now, &n);
    print_result(v->name, error, n);
}

static void
load_host(struct test *t)
{
    size_t n;
    char *error = flow_table_load_host(t->table, t->now, &n);
    print_result("host", error, n);
}

static void
close_all(struct test *t, bool seal)
{
    flow_table_destroy(t->table);
    t->table = NULL;
    for (size_t i = 0; i < ARRAY_SIZE(t->vifs); i++) {
        struct test_vif *v = &t->vifs[i];

        if (seal) {
            state_region_seal(v->region, t->now);
        }
        ct_table_close(v->ct);
        state_region_close(v->region);
    }
}

static void
open_all(struct test *t)
{
    for (size_t i = 0; i < ARRAY_SIZE(t->vifs); i++) {
        struct test_vif *v = &t->vifs[i];
        char *error = state_region_open(v->path, check_any_slot, &v->region);

        if (error) {
            ovs_fatal(0, "%s", error);
        }
        open_vif(t, v);
    }
    create_table(t);
    for (size_t i = 0; i < ARRAY_SIZE(t->vifs); i++) {
        load_vif(t, &t->vifs[i], t->now);
    }
    load_host(t);
}

static void
seal_all(struct test *t)
{
    for (size_t i = 0; i < ARRAY_SIZE(t->vifs); i++) {
        state_region_seal(t->vifs[i].region, t->now);
    }
}

/* Steps. */

static void
step_add(struct test *t, const char *flow)
{
    char *error = flow_table_add(t->table, flow, t->now);

    printf("%s\n", error ? error : "ok");
    free(error);
}

static void
step_del(struct test *t, const char *args)
{
    bool strict = !strncmp(args, "--strict", 8);
    size_t n;

    if (strict) {
        args += 8 + strspn(args + 8, " ");
    }

    char *error = flow_table_del(t->table, args, strict, &n);
    if (error) {
        printf("%s\n", error);
        free(error);
    } else {
        printf("deleted %"PRIuSIZE"\n", n);
    }
}

static void
step_dump(struct test *t, const char *table, const char *owner)
{
    struct flow_dump_filter f = {
        .table_id = table && *table ? atoi(table) : -1,
        .by_owner = owner != NULL,
        .owner = owner && strcmp(owner, "host") ? owner : NULL,
    };
    struct ds s = DS_EMPTY_INITIALIZER;

    flow_table_dump(t->table, &f, t->now, &s);
    printf("%s", ds_cstr(&s));
    ds_destroy(&s);
}

/* Breaks the L4 checksum of 'p', which 'flow' describes. */
static void
break_csum(struct dp_packet *p, const struct flow *flow)
{
    if (flow->nw_proto == IPPROTO_TCP) {
        struct tcp_header *tcp = dp_packet_l4(p);
        tcp->tcp_csum ^= htons(1);
    } else if (flow->nw_proto == IPPROTO_UDP) {
        struct udp_header *udp = dp_packet_l4(p);
        udp->udp_csum ^= htons(1);
    } else {
        ovs_fatal(0, "exec-bad: TCP or UDP expected");
    }
}

static void
step_exec(struct test *t, char *args, bool bad_csum)
{
    char *space = strchr(args, ' ');

    if (!space) {
        ovs_fatal(0, "exec: PORT PACKET expected");
    }
    *space = '\0';

    ofp_port_t in_port = port_from_name(t, args);
    struct dp_packet *p = packet_compose(space + 1);
    struct flow flow;

    pkt_metadata_init(&p->md, ofp_to_u16(in_port));
    flow_extract(p, &flow);
    flow.in_port.ofp_port = in_port;
    if (flow.nw_proto == IPPROTO_SCTP && is_ip_any(&flow)) {
        /* flow_compose() leaves the CRC out. */
        struct sctp_header *sh = dp_packet_l4(p);

        put_16aligned_be32(&sh->sctp_csum, 0);
        put_16aligned_be32(&sh->sctp_csum,
                           crc32c((const uint8_t *) sh, dp_packet_l4_size(p)));
    }
    if (bad_csum) {
        break_csum(p, &flow);
    }

    struct flow_exec_ops ops = exec_ops;
    ops.aux = t;

    struct flow_exec_result r = flow_exec(t->table, 0, p, &flow, &ops,
                                          t->now);
    printf("  %s", flow_exec_status_name(r.status));
    if (r.status == FLOW_EXEC_MISS) {
        dp_packet_delete(p);
    } else if (r.n_forwarded && r.status != FLOW_EXEC_FORWARDED) {
        printf(" after %u forwarded", r.n_forwarded);
    }
    printf("\n");
}

static void
step_bind(struct test *t, char *args)
{
    char *save = NULL;
    char *vif = strtok_r(args, " ", &save);
    char *port = strtok_r(NULL, " ", &save);

    if (!vif || !port) {
        ovs_fatal(0, "bind: VIF PORT expected");
    }

    struct test_vif *v = find_vif(t, vif);
    v->port = strcmp(port, "none") ? port_from_name(t, port) : OFPP_NONE;
    load_vif(t, v, t->now);
}

/* Exports the VIF's region, checks the image as an importer does, and makes
 * it the VIF's new region. */
static void
step_migrate(struct test *t, char *args)
{
    char *save = NULL;
    char *vif = strtok_r(args, " ", &save);
    char *port = strtok_r(NULL, " ", &save);
    char *skew = strtok_r(NULL, " ", &save);

    if (!vif || !port || !skew) {
        ovs_fatal(0, "migrate: VIF PORT SKEW expected");
    }

    struct test_vif *v = find_vif(t, vif);
    char *image_file = xasprintf("%s/%s.image", t->dir, v->name);
    char *error = state_region_export(v->region, image_file, t->now);
    void *image;
    size_t len;

    if (!error) {
        error = state_image_read(image_file, check_any_slot, &image, &len);
        unlink(image_file);
    }
    free(image_file);
    if (error) {
        printf("image refused: %s\n", error);
        free(error);
        return;
    }
    error = flow_store_check_region(image, len);
    printf("image check: %s\n", error ? error : "ok");
    if (error) {
        free(error);
        free(image);
        return;
    }

    /* The destination: the same VIF, its own port and clock. */
    long long from_clock = state_region_header(v->region)->clock_ms;
    flow_table_del_owner(t->table, v->name, false);
    ct_table_close(v->ct);
    state_region_close(v->region);
    error = state_region_create_from_image(v->path, image, len, &v->region);
    if (error) {
        ovs_fatal(0, "%s", error);
    }
    t->now += atoll(skew);
    open_vif(t, v);
    ct_table_rebase(v->ct, from_clock, t->now);
    v->port = port_from_name(t, port);
    load_vif(t, v, from_clock);

    free(image);
}

static void
step_region(struct test *t, const char *vif)
{
    const struct state_region *r = find_vif(t, vif)->region;
    uint32_t slot;

    STATE_REGION_FOR_EACH_USED (slot, r) {
        const struct oor_slot_hdr *h = state_region_slot(r, slot);
        const struct flow_slot *fs = (const void *) (h + 1);

        if (h->type != OOR_SLOT_FLOW) {
            continue;
        }
        printf("flow %"PRIu64" part %u/%u len %u", fs->flow_id, fs->part,
               fs->n_parts, fs->text_len);
        if (!fs->part) {
            printf(" packets=%"PRIu64" bytes=%"PRIu64" age=%lld idle=%lld",
                   fs->n_packets, fs->n_bytes, t->now - fs->created_ms,
                   t->now - fs->used_ms);
        }
        printf(" \"%.*s\"\n", (int) strnlen(fs->text, FLOW_SLOT_TEXT),
               fs->text);
    }
}

static void
step_check_region(struct test *t, const char *vif)
{
    struct state_region *r = find_vif(t, vif)->region;
    char *error;

    state_region_seal(r, t->now);
    error = flow_store_check_region(state_region_base(r),
                                    state_region_size(r));
    printf("%s\n", error ? error : "ok");
    free(error);
}

/* The slot of part 'part' of flow 'id' in 'r'. */
static uint32_t
find_part(const struct state_region *r, uint64_t id, unsigned int part)
{
    uint32_t slot;

    STATE_REGION_FOR_EACH_USED (slot, r) {
        const struct oor_slot_hdr *h = state_region_slot(r, slot);
        const struct flow_slot *fs = (const void *) (h + 1);

        if (h->type == OOR_SLOT_FLOW && fs->flow_id == id
            && fs->part == part) {
            return slot;
        }
    }
    ovs_fatal(0, "no part %u of flow %"PRIu64, part, id);
}

/* Sets FIELD=VALUE in 'fs'; for "text", VALUE is the text of this part. */
static void
set_slot_field(struct flow_slot *fs, const char *assignment)
{
    const char *eq = strchr(assignment, '=');

    if (!eq) {
        ovs_fatal(0, "%s: FIELD=VALUE expected", assignment);
    }

    const char *v = eq + 1;
    int n = eq - assignment;
    long long value = strtoll(v, NULL, 0);
    if (!strncmp(assignment, "id", n)) {
        fs->flow_id = value;
    } else if (!strncmp(assignment, "part", n)) {
        fs->part = value;
    } else if (!strncmp(assignment, "parts", n)) {
        fs->n_parts = value;
    } else if (!strncmp(assignment, "len", n)) {
        fs->text_len = value;
    } else if (!strncmp(assignment, "flags", n)) {
        fs->flags = value;
    } else if (!strncmp(assignment, "packets", n)) {
        fs->n_packets = value;
    } else if (!strncmp(assignment, "created", n)) {
        fs->created_ms = value;
    } else if (!strncmp(assignment, "used", n)) {
        fs->used_ms = value;
    } else if (!strncmp(assignment, "text", n)) {
        memset(fs->text, 0, sizeof fs->text);
        memcpy(fs->text, v, MIN(strlen(v), sizeof fs->text));
    } else if (!strncmp(assignment, "byte", n)) {
        /* byte=OFFSET:VALUE */
        char *colon;
        long off = strtol(v, &colon, 0);
        if (*colon != ':' || off < 0 || off >= FLOW_SLOT_TEXT) {
            ovs_fatal(0, "%s: byte=OFFSET:VALUE expected", assignment);
        }
        fs->text[off] = strtol(colon + 1, NULL, 0);
    } else {
        ovs_fatal(0, "%s: unknown field", assignment);
    }
}

static void
step_poke(struct test *t, char *args)
{
    char *save = NULL;
    char *vif = strtok_r(args, " ", &save);
    char *id = strtok_r(NULL, " ", &save);
    char *part = strtok_r(NULL, " ", &save);
    char *assignment = strtok_r(NULL, " ", &save);

    if (!vif || !id || !part || !assignment) {
        ovs_fatal(0, "poke: VIF ID PART FIELD=VALUE expected");
    }

    struct state_region *r = find_vif(t, vif)->region;
    uint32_t slot = find_part(r, strtoull(id, NULL, 0), atoi(part));
    set_slot_field(state_region_slot_mut(r, slot), assignment);
    state_region_seal(r, t->now);
}

static void
step_drop_part(struct test *t, char *args)
{
    char *save = NULL;
    char *vif = strtok_r(args, " ", &save);
    char *id = strtok_r(NULL, " ", &save);
    char *part = strtok_r(NULL, " ", &save);

    if (!vif || !id || !part) {
        ovs_fatal(0, "drop-part: VIF ID PART expected");
    }

    struct state_region *r = find_vif(t, vif)->region;
    state_region_free(r, find_part(r, strtoull(id, NULL, 0), atoi(part)));
    state_region_seal(r, t->now);
}

static void
step_slot_check(char *args)
{
    static const char text[] = "priority=1 actions=drop";
    struct flow_slot fs;
    char *save = NULL;

    memset(&fs, 0, sizeof fs);
    fs.flow_id = 1;
    fs.n_parts = 1;
    fs.text_len = strlen(text);
    memcpy(fs.text, text, strlen(text));
    for (char *tok = strtok_r(args, " ", &save); tok;
         tok = strtok_r(NULL, " ", &save)) {
        set_slot_field(&fs, tok);
    }

    char *error = flow_slot_check(OOR_SLOT_FLOW, &fs, sizeof fs);
    printf("%s\n", error ? error : "ok");
    free(error);
}

static void
step_host_file(const struct test *t)
{
    FILE *f = fopen(t->host_file, "r");
    int c;

    if (!f) {
        printf("(no file)\n");
        return;
    }
    while ((c = getc(f)) != EOF) {
        putchar(c);
    }
    fclose(f);
}

static void
step_port(struct test *t, const char *args)
{
    char name[64];
    unsigned int number;

    if (sscanf(args, "%63s %u", name, &number) != 2) {
        ovs_fatal(0, "port: NAME NUMBER expected");
    }
    ofputil_port_map_put(&t->ports, u16_to_ofp(number), name);
}

static void
reset_ports(struct test *t)
{
    static const char *const names[] = {
        "veth1", "veth2", "uplink", "tap1", "tap2",
    };

    ofputil_port_map_destroy(&t->ports);
    ofputil_port_map_init(&t->ports);
    for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
        ofputil_port_map_put(&t->ports, u16_to_ofp(i + 1), names[i]);
    }
}

/* Returns the text after 'cmd' if 'line' is 'cmd' alone or followed by a
 * space, else NULL. */
static char *
arg(char *line, const char *cmd)
{
    size_t n = strlen(cmd);

    if (strncmp(line, cmd, n) || (line[n] && line[n] != ' ')) {
        return NULL;
    }
    return line + n + strspn(line + n, " ");
}

static void
run_step(struct test *t, char *line)
{
    char *a;

    if ((a = arg(line, "add"))) {
        step_add(t, a);
    } else if ((a = arg(line, "del"))) {
        step_del(t, a);
    } else if ((a = arg(line, "dump"))) {
        step_dump(t, a, NULL);
    } else if ((a = arg(line, "dump-owner"))) {
        step_dump(t, NULL, a);
    } else if ((a = arg(line, "exec"))) {
        step_exec(t, a, false);
    } else if ((a = arg(line, "exec-bad"))) {
        step_exec(t, a, true);
    } else if ((a = arg(line, "advance"))) {
        t->now += atoll(a);
    } else if (arg(line, "run")) {
        printf("expired %"PRIuSIZE"\n", flow_table_run(t->table, t->now));
    } else if ((a = arg(line, "port"))) {
        step_port(t, a);
    } else if (arg(line, "ports-reset")) {
        reset_ports(t);
    } else if ((a = arg(line, "bind"))) {
        step_bind(t, a);
    } else if ((a = arg(line, "del-owner"))) {
        printf("deleted %"PRIuSIZE"\n",
               flow_table_del_owner(t->table, find_vif(t, a)->name, true));
    } else if ((a = arg(line, "load"))) {
        if (!strcmp(a, "host")) {
            load_host(t);
        } else {
            load_vif(t, find_vif(t, a), t->now);
        }
    } else if (arg(line, "seal")) {
        seal_all(t);
    } else if ((a = arg(line, "restart"))) {
        close_all(t, strcmp(a, "crash"));
        open_all(t);
    } else if ((a = arg(line, "migrate"))) {
        step_migrate(t, a);
    } else if ((a = arg(line, "region"))) {
        step_region(t, a);
    } else if ((a = arg(line, "check-region"))) {
        step_check_region(t, a);
    } else if ((a = arg(line, "drop-part"))) {
        step_drop_part(t, a);
    } else if ((a = arg(line, "poke"))) {
        step_poke(t, a);
    } else if ((a = arg(line, "slot-check"))) {
        step_slot_check(a);
    } else if (arg(line, "host-file")) {
        step_host_file(t);
    } else {
        ovs_fatal(0, "unknown step: %s", line);
    }
}

/* With an argument, the state dir is that folder (made here, and left for
 * the test's log); without, a temporary one that goes at the end. */
static void
test_flow_table_main(int argc, char *argv[])
{
    char tmp[] = "/tmp/test-flow-table.XXXXXX";
    char *dir = argc > 1 ? argv[1] : tmp;
    struct test t = {
        .now = 1000000,
        .vifs = {
            { .name = "vm1", .cookie = 0x100, .zone = 1, .port = 4 },
            { .name = "vm2", .cookie = 0x200, .zone = 2, .port = 5 },
        },
    };
    char line[8192];

    set_program_name(argv[0]);
    vlog_set_levels(NULL, VLF_CONSOLE, VLL_OFF);
    if (argc > 1 ? mkdir(dir, 0700) && errno != EEXIST : !mkdtemp(dir)) {
        ovs_fatal(errno, "%s", dir);
    }
    t.dir = dir;
    t.host_file = xasprintf("%s/host-flows", dir);

    ofputil_port_map_init(&t.ports);
    reset_ports(&t);

    t.engine = ct_engine_create();
    for (size_t i = 0; i < ARRAY_SIZE(t.vifs); i++) {
        create_vif(&t, &t.vifs[i]);
    }
    create_table(&t);

    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\n")] = '\0';
        if (line[0] && line[0] != '#') {
            run_step(&t, line);
        }
        fflush(stdout);
    }

    close_all(&t, true);
    ct_engine_destroy(t.engine);
    for (size_t i = 0; i < ARRAY_SIZE(t.vifs); i++) {
        if (argc <= 1) {
            unlink(t.vifs[i].path);
        }
        free(t.vifs[i].path);
    }
    if (argc <= 1) {
        unlink(t.host_file);
        rmdir(dir);
    }
    free(t.host_file);
    ofputil_port_map_destroy(&t.ports);
}

OVSTEST_REGISTER("test-flow-table", test_flow_table_main);
