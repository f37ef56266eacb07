/*
 * Routes: a hash over (family, prefix length, prefix) and, per family, the
 * prefix lengths in use, longest first.  Lengths are kept as IPv6 lengths
 * (an IPv4 /N is a v4-mapped /96+N), so one set of masks serves both.
 *
 * --state-dir/routes holds the host routes, one per line, in
 * offload/route-add syntax.
 */
#include <config.h>
#include "route.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "csum.h"
#include "atomic-file.h"
#include "dp-packet.h"
#include "flow.h"
#include "hash.h"
#include "neigh.h"
#include "openvswitch/dynamic-string.h"
#include "openvswitch/hmap.h"
#include "openvswitch/list.h"
#include "openvswitch/vlog.h"
#include "state-region.h"
#include "util.h"

VLOG_DEFINE_THIS_MODULE(route);

#define NO_SLOT UINT32_MAX

enum { FAM4, FAM6, N_FAMS };

struct route_node {
    struct hmap_node hmap_node;     /* In the table's 'index'. */
    struct ovs_list list_node;      /* In its table's 'routes'. */
    struct route_vif *table;
    struct in6_addr prefix;
    struct in6_addr nexthop;        /* All zeros: connected. */
    uint8_t plen6;                  /* As an IPv6 length. */
    uint8_t fam;                    /* FAM4 or FAM6. */
    uint32_t slot;                  /* VIF routes only. */
    char *dev;                      /* Host routes only; NULL: none. */
    uint32_t port;                  /* Host routes with 'dev'. */
};

/* A VIF's routes, or the host's ('region' NULL). */
struct route_vif {
    struct ovs_list list_node;      /* In route_table's 'vifs'. */
    struct route_table *rt;
    struct vif *vif;
    struct state_region *region;
    struct ovs_list routes;
    size_t n;
};

struct route_table {
    struct hmap index;
    struct route_vif host;
    struct ovs_list vifs;
    char *state_dir;
    struct eth_addr router_mac;
    uint32_t n_with_plen[N_FAMS][129];
    uint8_t plens[N_FAMS][129];     /* Lengths in use, longest first. */
    size_t n_plens[N_FAMS];
    struct in6_addr masks[129];
};

static int
fam_of(const struct in6_addr *a)
{
    return IN6_IS_ADDR_V4MAPPED(a) ? FAM4 : FAM6;
}

static unsigned int
plen6_of(uint8_t family, unsigned int plen)
{
    return family == 4 ? 96 + plen : plen;
}

static bool
has_nexthop(const struct route_node *n)
{
    return !ipv6_is_zero(&n->nexthop);
}

/* Specs. */

static void
format_ip(struct ds *s, const struct in6_addr *a)
{
    ipv6_format_mapped(a, s);
}

static char *
parse_prefix(struct route_spec *spec, const char *s)
{
    struct in6_addr mask;
    ovs_be32 ip4;
    char *error;

    error = ip_parse_cidr(s, &ip4, &spec->plen);
    if (!error) {
        spec->family = 4;
        in6_addr_set_mapped_ipv4(&spec->prefix, ip4);
    } else {
        free(error);
        error = ipv6_parse_cidr(s, &spec->prefix, &spec->plen);
        if (error) {
            free(error);
            return xasprintf("\"%s\" is not PREFIX[/LEN]", s);
        }
        if (IN6_IS_ADDR_V4MAPPED(&spec->prefix)) {
            return xasprintf("%s: write IPv4 prefixes as a.b.c.d/N", s);
        }
        spec->family = 6;
    }

    mask = ipv6_create_mask(plen6_of(spec->family, spec->plen));
    struct in6_addr masked = ipv6_addr_bitand(&spec->prefix, &mask);
    if (!ipv6_addr_equals(&masked, &spec->prefix)) {
        struct ds d = DS_EMPTY_INITIALIZER;

        ds_put_format(&d, "%s: host bits set (did you mean ", s);
        format_ip(&d, &masked);
        ds_put_format(&d, "/%u?)", spec->plen);
        return ds_steal_cstr(&d);
    }
    return NULL;
}

static char *
parse_nexthop(struct route_spec *spec, const char *s)
{
    if (!neigh_parse_ip(s, &spec->nexthop)
        || !neigh_ip_is_unicast(&spec->nexthop)) {
        return xasprintf("via: \"%s\" is not a unicast IP address", s);
    }
    if ((spec->family == 4) != IN6_IS_ADDR_V4MAPPED(&spec->nexthop)) {
        return xasprintf("via: %s is not of the prefix's family", s);
    }
    return NULL;
}

static char *
parse_words(struct route_spec *spec, int argc, const char *argv[])
{
    bool via = false;

    for (int i = 1; i < argc; i += 2) {
        bool is_via = !strcmp(argv[i], "via");

        if (!is_via && strcmp(argv[i], "dev")) {
            return xasprintf("\"%s\": expected via or dev", argv[i]);
        }
        if (i + 1 >= argc) {
            return xasprintf("%s: missing its value", argv[i]);
        }
        if (is_via ? via : spec->dev != NULL) {
            return xasprintf("%s given twice", argv[i]);
        }

        const char *value = argv[i + 1];
        if (is_via) {
            char *error = parse_nexthop(spec, value);
            if (error) {
                return error;
            }
            via = true;
        } else if (!value[0] || strlen(value) >= ROUTE_DEV_MAX
                   || strpbrk(value, " \t\n")) {
            return xasprintf("dev: \"%s\" is not a port name", value);
        } else {
            spec->dev = xstrdup(value);
        }
    }
    return NULL;
}

char *
route_spec_parse(struct route_spec *spec, int argc, const char *argv[])
{
    memset(spec, 0, sizeof *spec);
    if (argc < 1) {
        return xstrdup("expected PREFIX[/LEN] [via NEXTHOP] [dev PORT]");
    }

    char *error = parse_prefix(spec, argv[0]);
    if (!error) {
        error = parse_words(spec, argc, argv);
    }
    if (error) {
        route_spec_destroy(spec);
    }
    return error;
}

void
route_spec_destroy(struct route_spec *spec)
{
    if (spec) {
        free(spec->dev);
        spec->dev = NULL;
    }
}

static void
format_route(struct ds *s, const struct in6_addr *prefix, unsigned int plen,
             const struct in6_addr *nexthop, const char *dev)
{
    format_ip(s, prefix);
    ds_put_format(s, "/%u", plen);
    if (!ipv6_is_zero(nexthop)) {
        ds_put_cstr(s, " via ");
        format_ip(s, nexthop);
    }
    if (dev) {
        ds_put_format(s, " dev %s", dev);
    }
}

void
route_spec_format(const struct route_spec *spec, struct ds *s)
{
    format_route(s, &spec->prefix, spec->plen, &spec->nexthop, spec->dev);
}

/* The table. */

static void
table_init(struct route_vif *t, struct route_table *rt, struct vif *vif,
           struct state_region *region)
{
    t->rt = rt;
    t->vif = vif;
    t->region = region;
    ovs_list_init(&t->routes);
    t->n = 0;
}

struct route_table *
route_table_create(const char *state_dir)
{
    struct route_table *rt = xzalloc(sizeof *rt);

    hmap_init(&rt->index);
    table_init(&rt->host, rt, NULL, NULL);
    ovs_list_init(&rt->vifs);
    rt->state_dir = nullable_xstrdup(state_dir);
    for (int i = 0; i <= 128; i++) {
        rt->masks[i] = ipv6_create_mask(i);
    }
    return rt;
}

static void forget_table(struct route_vif *);

void
route_table_destroy(struct route_table *rt)
{
    if (rt) {
        ovs_assert(ovs_list_is_empty(&rt->vifs));
        forget_table(&rt->host);
        hmap_destroy(&rt->index);
        free(rt->state_dir);
        free(rt);
    }
}

void
route_set_router_mac(struct route_table *rt, struct eth_addr mac)
{
    rt->router_mac = mac;
}

struct eth_addr
route_get_router_mac(const struct route_table *rt)
{
    return rt->router_mac;
}

size_t
route_n_routes(const struct route_table *rt)
{
    return hmap_count(&rt->index);
}

/* The index. */

static uint32_t
key_hash(int fam, unsigned int plen6, const struct in6_addr *prefix)
{
    return hash_bytes(prefix, sizeof *prefix, (fam << 8) | plen6);
}

/* Finds the route for exactly (fam, plen6, prefix): a VIF's, if there is
 * one, else the host's. */
static struct route_node *
find_exact(const struct route_table *rt, int fam, unsigned int plen6,
           const struct in6_addr *prefix)
{
    struct route_node *n, *found = NULL;

    HMAP_FOR_EACH_WITH_HASH (n, hmap_node, key_hash(fam, plen6, prefix),
                             &rt->index) {
        if (n->fam == fam && n->plen6 == plen6
            && ipv6_addr_equals(&n->prefix, prefix)) {
            if (n->table->region) {
                return n;
            }
            found = n;
        }
    }
    return found;
}

static const struct route_node *
lpm(const struct route_table *rt, const struct in6_addr *dst)
{
    int fam = fam_of(dst);

    for (size_t i = 0; i < rt->n_plens[fam]; i++) {
        unsigned int plen6 = rt->plens[fam][i];
        struct in6_addr key = ipv6_addr_bitand(dst, &rt->masks[plen6]);
        const struct route_node *n = find_exact(rt, fam, plen6, &key);

        if (n) {
            return n;
        }
    }
    return NULL;
}

static void
plen_ref(struct route_table *rt, int fam, unsigned int plen6)
{
    if (!rt->n_with_plen[fam][plen6]++) {
        uint8_t *p = rt->plens[fam];
        size_t i = 0, n = rt->n_plens[fam]++;

        while (i < n && p[i] > plen6) {
            i++;
        }
        memmove(&p[i + 1], &p[i], n - i);
        p[i] = plen6;
    }
}

static void
plen_unref(struct route_table *rt, int fam, unsigned int plen6)
{
    if (!--rt->n_with_plen[fam][plen6]) {
        uint8_t *p = rt->plens[fam];
        size_t i = 0, n = rt->n_plens[fam]--;

        while (p[i] != plen6) {
            i++;
        }
        memmove(&p[i], &p[i + 1], n - i - 1);
    }
}

static void
write_slot(const struct route_node *n)
{
    struct route_entry *e = state_region_slot_mut(n->table->region, n->slot);

    memset(e, 0, sizeof *e);
    e->prefix = n->prefix;
    e->nexthop = n->nexthop;
    e->family = n->fam == FAM4 ? 4 : 6;
    e->plen = n->fam == FAM4 ? n->plen6 - 96 : n->plen6;
}

static struct route_node *
insert_node(struct route_vif *t, const struct in6_addr *prefix,
            unsigned int plen6, const struct in6_addr *nexthop,
            const char *dev, uint32_t port, uint32_t slot)
{
    struct route_table *rt = t->rt;
    struct route_node *n = xzalloc(sizeof *n);

    n->table = t;
    n->prefix = *prefix;
    n->nexthop = *nexthop;
    n->plen6 = plen6;
    n->fam = fam_of(prefix);
    n->slot = slot;
    n->dev = nullable_xstrdup(dev);
    n->port = dev ? port : ROUTE_PORT_NONE;
    hmap_insert(&rt->index, &n->hmap_node,
                key_hash(n->fam, plen6, prefix));
    ovs_list_push_back(&t->routes, &n->list_node);
    t->n++;
    plen_ref(rt, n->fam, plen6);
    return n;
}

static void
remove_node(struct route_node *n, bool free_slot)
{
    struct route_vif *t = n->table;

    if (free_slot && t->region) {
        state_region_free(t->region, n->slot);
    }
    plen_unref(t->rt, n->fam, n->plen6);
    hmap_remove(&t->rt->index, &n->hmap_node);
    ovs_list_remove(&n->list_node);
    t->n--;
    free(n->dev);
    free(n);
}

/* Per-VIF tables. */

static void
forget_table(struct route_vif *t)
{
    struct route_node *n;

    LIST_FOR_EACH_SAFE (n, list_node, &t->routes) {
        remove_node(n, false);
    }
}

static void
load_table(struct route_vif *t)
{
    uint32_t slot;

    STATE_REGION_FOR_EACH_OF_TYPE (slot, OOR_SLOT_ROUTE, t->region) {
        const struct oor_slot_hdr *h = state_region_slot(t->region, slot);

        const struct route_entry *e = (const struct route_entry *) (h + 1);
        unsigned int plen6 = plen6_of(e->family, e->plen);
        int fam = e->family == 4 ? FAM4 : FAM6;
        const struct route_node *old = find_exact(t->rt, fam, plen6,
                                                  &e->prefix);
        if (old && old->table == t) {
            state_region_free(t->region, slot);     /* A duplicate. */
            continue;
        }
        if (old) {
            struct ds s = DS_EMPTY_INITIALIZER;
            format_route(&s, &e->prefix, e->plen, &e->nexthop, NULL);
            VLOG_INFO("%s: route %s shadows the one already there",
                      state_region_header(t->region)->vif.iface_id,
                      ds_cstr(&s));
            ds_destroy(&s);
        }
        insert_node(t, &e->prefix, plen6, &e->nexthop, NULL,
                    ROUTE_PORT_NONE, slot);
    }
}

struct route_vif *
route_vif_open(struct route_table *rt, struct vif *vif,
               struct state_region *region)
{
    struct route_vif *t = xmalloc(sizeof *t);

    table_init(t, rt, vif, region);
    ovs_list_push_back(&rt->vifs, &t->list_node);
    load_table(t);
    return t;
}

void
route_vif_close(struct route_vif *t)
{
    if (t) {
        forget_table(t);
        ovs_list_remove(&t->list_node);
        free(t);
    }
}

void
route_vif_replace(struct route_vif *t, struct state_region *region)
{
    forget_table(t);
    t->region = region;
    load_table(t);
}

size_t
route_vif_count(const struct route_vif *t)
{
    return t->n;
}

void
route_vif_flush(struct route_vif *t)
{
    struct route_node *n;

    LIST_FOR_EACH_SAFE (n, list_node, &t->routes) {
        remove_node(n, true);
    }
}

/* Host routes and their file. */

static char *
routes_path(const struct route_table *rt)
{
    return xasprintf("%s/routes", rt->state_dir);
}

static void
format_node(struct ds *s, const struct route_node *n, const char *dev)
{
    format_route(s, &n->prefix, n->fam == FAM4 ? n->plen6 - 96 : n->plen6,
                 &n->nexthop, dev);
}

/* Writes the host routes to the state dir, atomically, as they will be
 * with the ones for 'drop''s prefix gone (if nonnull) and 'add' there (if
 * nonnull).  Memory changes only after this succeeds. */
static char *
save_host(const struct route_table *rt, const struct route_spec *drop,
          const struct route_spec *add)
{
    if (!rt->state_dir) {
        return NULL;
    }

    struct ds s = DS_EMPTY_INITIALIZER;
    const struct route_node *n;
    LIST_FOR_EACH (n, list_node, &rt->host.routes) {
        if (!drop || n->plen6 != plen6_of(drop->family, drop->plen)
            || !ipv6_addr_equals(&n->prefix, &drop->prefix)) {
            format_node(&s, n, n->dev);
            ds_put_char(&s, '\n');
        }
    }
    if (add) {
        route_spec_format(add, &s);
        ds_put_char(&s, '\n');
    }

    char *path = routes_path(rt);
    char *error = atomic_file_write(path, ds_cstr(&s));

    free(path);
    ds_destroy(&s);
    return error;
}

char *
route_add(struct route_table *rt, struct route_vif *t,
          const struct route_spec *spec, uint32_t port)
{
    unsigned int plen6 = plen6_of(spec->family, spec->plen);
    int fam = spec->family == 4 ? FAM4 : FAM6;

    if (find_exact(rt, fam, plen6, &spec->prefix)) {
        struct ds s = DS_EMPTY_INITIALIZER;
        ds_put_cstr(&s, "a route to ");
        format_ip(&s, &spec->prefix);
        ds_put_format(&s, "/%u exists; delete it first", spec->plen);
        return ds_steal_cstr(&s);
    }

    uint32_t slot = NO_SLOT;
    char *error = (t ? state_region_alloc(t->region, OOR_SLOT_ROUTE, &slot)
                   : save_host(rt, NULL, spec));
    if (error) {
        return error;
    }

    struct route_node *n = insert_node(t ? t : &rt->host, &spec->prefix,
                                       plen6, &spec->nexthop,
                                       t ? NULL : spec->dev, port, slot);
    if (t) {
        write_slot(n);
    }
    return NULL;
}

char *
route_del(struct route_table *rt, const struct route_spec *spec)
{
    unsigned int plen6 = plen6_of(spec->family, spec->plen);
    int fam = spec->family == 4 ? FAM4 : FAM6;
    struct route_node *n = find_exact(rt, fam, plen6, &spec->prefix);

    if (!n) {
        struct ds s = DS_EMPTY_INITIALIZER;
        ds_put_cstr(&s, "no route to ");
        format_ip(&s, &spec->prefix);
        ds_put_format(&s, "/%u", spec->plen);
        return ds_steal_cstr(&s);
    }

    /* The host may have one too, under a VIF's. */
    bool host_has = false;
    struct route_node *m;
    LIST_FOR_EACH (m, list_node, &rt->host.routes) {
        if (m->plen6 == plen6 && ipv6_addr_equals(&m->prefix,
                                                  &spec->prefix)) {
            host_has = true;
        }
    }
    if (host_has) {
        char *error = save_host(rt, spec, NULL);
        if (error) {
            return error;
        }
    }

    while ((n = find_exact(rt, fam, plen6, &spec->prefix))) {
        remove_node(n, true);
    }
    return NULL;
}

void
route_bind_port(struct route_table *rt, const char *name, uint32_t port)
{
    struct route_node *n;

    LIST_FOR_EACH (n, list_node, &rt->host.routes) {
        if (n->dev && !strcmp(n->dev, name)) {
            n->port = port;
        }
    }
}

void
route_unbind_port(struct route_table *rt, uint32_t port)
{
    struct route_node *n;

    LIST_FOR_EACH (n, list_node, &rt->host.routes) {
        if (n->dev && n->port == port) {
            n->port = ROUTE_PORT_NONE;
        }
    }
}

/* Splits 'line' into at most 'max' words. */
static int
split_words(char *line, const char *argv[], int max)
{
    char *save = NULL;
    int argc = 0;

    for (char *w = strtok_r(line, " \t\n", &save); w;
         w = strtok_r(NULL, " \t\n", &save)) {
        if (argc >= max) {
            return max + 1;
        }
        argv[argc++] = w;
    }
    return argc;
}

char *
route_table_load(struct route_table *rt)
{
    if (!rt->state_dir) {
        return NULL;
    }

    char *path = routes_path(rt);
    FILE *f = fopen(path, "r");
    if (!f) {
        char *error = (errno == ENOENT ? NULL
                       : xasprintf("%s: %s", path, ovs_strerror(errno)));
        free(path);
        return error;
    }

    /* Check every line before applying any. */
    struct route_spec *specs = NULL;
    size_t n = 0, allocated = 0;
    char line[512];
    char *error = NULL;
    for (int lineno = 1; !error && fgets(line, sizeof line, f); lineno++) {
        const char *argv[6];
        int argc = split_words(line, argv, 5);

        if (!argc) {
            continue;
        }
        if (n >= allocated) {
            specs = x2nrealloc(specs, &allocated, sizeof *specs);
        }

        char *e = (argc > 5 ? xstrdup("too many words")
                   : route_spec_parse(&specs[n], argc, argv));
        for (size_t i = 0; !e && i < n; i++) {
            if (specs[i].plen == specs[n].plen
                && ipv6_addr_equals(&specs[i].prefix, &specs[n].prefix)) {
                e = xstrdup("a second route to the same prefix");
                route_spec_destroy(&specs[n]);
            }
        }
        if (e) {
            error = xasprintf("%s:%d: %s", path, lineno, e);
            free(e);
        } else {
            n++;
        }
    }
    fclose(f);

    for (size_t i = 0; i < n; i++) {
        if (!error) {
            insert_node(&rt->host, &specs[i].prefix,
                        plen6_of(specs[i].family, specs[i].plen),
                        &specs[i].nexthop, specs[i].dev, ROUTE_PORT_NONE,
                        NO_SLOT);
        }
        route_spec_destroy(&specs[i]);
    }
    free(specs);
    free(path);
    return error;
}

/* Decisions. */

const char *
route_result_to_string(enum route_result r)
{
    switch (r) {
    case ROUTE_OK: return "ok";
    case ROUTE_NO_ROUTE: return "no route";
    case ROUTE_NO_NEIGH: return "no neighbour";
    case ROUTE_TTL_EXPIRED: return "TTL expired";
    case ROUTE_NOT_IP: return "not IP";
    default: return "?";
    }
}

/* Sets where 'out' sends to; false if it is a host route to a port that is
 * not there. */
static bool
set_output(const struct route_node *out, struct route_decision *d)
{
    d->vif = out->table->vif;
    d->port = ROUTE_PORT_NONE;
    if (out->table->region) {
        d->output = ROUTE_OUT_VIF;
    } else if (out->dev) {
        d->output = ROUTE_OUT_PORT;
        d->port = out->port;
        return out->port != ROUTE_PORT_NONE;
    } else {
        d->output = ROUTE_OUT_L2;
    }
    return true;
}

enum route_result
route_decide(const struct route_table *rt, const struct neigh_table *nt,
             const struct in6_addr *dst, long long now,
             struct route_decision *d)
{
    const struct route_node *r = lpm(rt, dst);

    memset(d, 0, sizeof *d);
    if (!r) {
        return ROUTE_NO_ROUTE;
    }
    d->nexthop = has_nexthop(r) ? r->nexthop : *dst;
    d->src_mac = rt->router_mac;

    /* A gateway with no output of its own is reached the way its connected
     * route says. */
    const struct route_node *out = r;
    if (has_nexthop(r) && !r->table->region && !r->dev) {
        out = lpm(rt, &r->nexthop);
        if (!out || has_nexthop(out)) {
            return ROUTE_NO_ROUTE;
        }
    }
    if (!set_output(out, d)) {
        return ROUTE_NO_ROUTE;
    }

    struct vif *owner;
    if (neigh_lookup(nt, &d->nexthop, now, &d->dst_mac, &owner)) {
        if (d->output == ROUTE_OUT_L2 && owner) {
            d->output = ROUTE_OUT_VIF;
            d->vif = owner;
        }
    } else if (d->output == ROUTE_OUT_VIF) {
        memcpy(d->dst_mac.ea, state_region_header(out->table->region)->vif.mac,
               sizeof d->dst_mac.ea);
    } else {
        return ROUTE_NO_NEIGH;
    }
    return ROUTE_OK;
}

/* The TTL or hop limit byte of 'pkt', or NULL if it is not IP. */
static uint8_t *
ttl_byte(const struct dp_packet *pkt)
{
    uint8_t *l3 = dp_packet_l3(pkt);
    size_t size = l3 ? dp_packet_l3_size(pkt) : 0;

    if (size >= IP_HEADER_LEN && IP_VER(*l3) == 4) {
        return &((struct ip_header *) l3)->ip_ttl;
    }
    if (size >= IPV6_HEADER_LEN && IP_VER(*l3) == 6) {
        struct ovs_16aligned_ip6_hdr *ip6 = (void *) l3;
        return &ip6->ip6_ctlun.ip6_un1.ip6_un1_hlim;
    }
    return NULL;
}

static bool
ttl_ok(const struct dp_packet *pkt)
{
    const uint8_t *ttl = ttl_byte(pkt);
    return ttl && *ttl > 1;
}

bool
route_dec_ttl(struct dp_packet *pkt)
{
    uint8_t *ttl = ttl_byte(pkt);

    if (!ttl || *ttl <= 1) {
        return false;
    }
    if (IP_VER(*(uint8_t *) dp_packet_l3(pkt)) == 4) {
        struct ip_header *ip = dp_packet_l3(pkt);

        ip->ip_csum = recalc_csum16(ip->ip_csum, htons(*ttl << 8),
                                    htons((*ttl - 1) << 8));
    }
    (*ttl)--;
    return true;
}

enum route_result
route_packet(const struct route_table *rt, const struct neigh_table *nt,
             struct dp_packet *pkt, const struct flow *flow, long long now,
             struct route_decision *d)
{
    struct in6_addr dst;

    memset(d, 0, sizeof *d);
    if (!is_ip_any(flow)) {
        return ROUTE_NOT_IP;
    }
    if (flow->dl_type == htons(ETH_TYPE_IP)) {
        in6_addr_set_mapped_ipv4(&dst, flow->nw_dst);
    } else {
        dst = flow->ipv6_dst;
    }

    /* As Linux's forwarding does: the route first, then the TTL, then the
     * neighbour. */
    enum route_result r = route_decide(rt, nt, &dst, now, d);
    if ((r == ROUTE_OK || r == ROUTE_NO_NEIGH) && !ttl_ok(pkt)) {
        r = ROUTE_TTL_EXPIRED;
    }
    if (r == ROUTE_OK) {
        struct eth_header *eth = dp_packet_eth(pkt);

        route_dec_ttl(pkt);
        eth->eth_src = d->src_mac;
        eth->eth_dst = d->dst_mac;
    }
    return r;
}

/* Show. */

static int
compare_routes(const void *a_, const void *b_)
{
    const struct route_node *const *a = a_;
    const struct route_node *const *b = b_;
    int cmp;

    if ((*a)->fam != (*b)->fam) {
        return (*a)->fam < (*b)->fam ? -1 : 1;
    }
    cmp = memcmp(&(*a)->prefix, &(*b)->prefix, sizeof (*a)->prefix);
    if (cmp) {
        return cmp;
    }
    if ((*a)->plen6 != (*b)->plen6) {
        return (*a)->plen6 < (*b)->plen6 ? -1 : 1;
    }
    return (*a)->table->region ? -1 : (*b)->table->region ? 1 : 0;
}

void
route_show(const struct route_table *rt, struct ds *s)
{
    size_t max = hmap_count(&rt->index), n = 0;
    const struct route_node **nodes = xmalloc((max + 1) * sizeof *nodes);
    const struct route_node *node;

    HMAP_FOR_EACH (node, hmap_node, &rt->index) {
        nodes[n++] = node;
    }
    qsort(nodes, n, sizeof *nodes, compare_routes);
    for (size_t i = 0; i < n; i++) {
        node = nodes[i];
        format_node(s, node, (node->table->region
                              ? state_region_header(node->table->region)
                                ->vif.iface_id
                              : node->dev));
        if (!node->table->region && node->dev
            && node->port == ROUTE_PORT_NONE) {
            ds_put_cstr(s, " linkdown");
        }
        ds_put_char(s, '\n');
    }
    free(nodes);
}

/* Validation. */

static char *
check_address(const struct in6_addr *a, uint8_t family, const char *what)
{
    if ((family == 4) != IN6_IS_ADDR_V4MAPPED(a)) {
        return xasprintf("route entry: %s not of family %u", what, family);
    }
    return NULL;
}

char *
route_check_slot(uint16_t type, const void *payload, size_t len)
{
    if (type != OOR_SLOT_ROUTE) {
        return xasprintf("unknown slot type %u", type);
    }
    if (len != sizeof(struct route_entry)) {
        return xasprintf("route entry of %"PRIuSIZE" bytes, expected "
                         "%"PRIuSIZE, len, sizeof(struct route_entry));
    }

    struct route_entry e;
    memcpy(&e, payload, sizeof e);
    if (e.family != 4 && e.family != 6) {
        return xasprintf("route entry of family %u", e.family);
    }
    if (e.plen > (e.family == 4 ? 32 : 128)) {
        return xasprintf("route entry with prefix length %u", e.plen);
    }

    char *error = check_address(&e.prefix, e.family, "prefix");
    if (error) {
        return error;
    }
    struct in6_addr mask = ipv6_create_mask(plen6_of(e.family, e.plen));
    struct in6_addr masked = ipv6_addr_bitand(&e.prefix, &mask);
    if (!ipv6_addr_equals(&masked, &e.prefix)) {
        return xstrdup("route entry with host bits set in its prefix");
    }
    if (!ipv6_is_zero(&e.nexthop)) {
        error = check_address(&e.nexthop, e.family, "next hop");
        if (error) {
            return error;
        }
        if (!neigh_ip_is_unicast(&e.nexthop)) {
            return xstrdup("route entry with a non-unicast next hop");
        }
    }
    if (!is_all_zeros(e.pad, sizeof e.pad)) {
        return xstrdup("route entry with nonzero padding");
    }
    return NULL;
}
