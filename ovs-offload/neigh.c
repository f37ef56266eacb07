/*
 * Neighbours.  The structure is the FDB's (fdb.c): a node in memory per
 * entry caching what lookups need, one index over all tables, an LRU list
 * of learned entries per table, and region slots written only on change.
 *
 * --state-dir/neighbours holds the static host entries, one per line:
 *
 *     IP MAC
 */
#include <config.h>
#include "neigh.h"

#include <errno.h>
#include <netinet/icmp6.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "atomic-file.h"
#include "dp-packet.h"
#include "flow.h"
#include "hash.h"
#include "openvswitch/dynamic-string.h"
#include "openvswitch/hmap.h"
#include "openvswitch/list.h"
#include "openvswitch/vlog.h"
#include "random.h"
#include "state-region.h"
#include "util.h"

VLOG_DEFINE_THIS_MODULE(neigh);

#define NEIGH_RUN_BUDGET 1024
#define NO_SLOT UINT32_MAX

struct neigh_node {
    struct hmap_node hmap_node;     /* In the table's 'index', by address. */
    struct ovs_list list_node;      /* In its table's 'lru' or 'statics'. */
    struct neigh_vif *table;
    struct in6_addr ip;
    struct eth_addr mac;
    uint8_t flags;                  /* NEIGH_F_*. */
    uint32_t slot;                  /* VIF tables only. */
    uint32_t port;                  /* Host table only. */
    long long last_seen;
};

/* A VIF's table, or the host's ('region' NULL). */
struct neigh_vif {
    struct ovs_list list_node;      /* In neigh_table's 'vifs'. */
    struct neigh_table *nt;
    struct vif *vif;
    struct state_region *region;
    struct ovs_list lru;            /* Learned entries, oldest first. */
    struct ovs_list statics;
    size_t n_dynamic;
    size_t n_static;
    bool frozen;                    /* See neigh_vif_set_frozen(). */
};

struct neigh_table {
    struct hmap index;
    struct neigh_vif host;
    struct ovs_list vifs;
    char *state_dir;
    uint32_t secret;
    long long idle_ms;
    size_t max_entries;
    struct neigh_stats stats;
};

static void
table_init(struct neigh_vif *t, struct neigh_table *nt, struct vif *vif,
           struct state_region *region)
{
    t->nt = nt;
    t->vif = vif;
    t->region = region;
    ovs_list_init(&t->lru);
    ovs_list_init(&t->statics);
    t->n_dynamic = t->n_static = 0;
    t->frozen = false;
}

struct neigh_table *
neigh_table_create(const char *state_dir)
{
    struct neigh_table *nt = xzalloc(sizeof *nt);

    hmap_init(&nt->index);
    table_init(&nt->host, nt, NULL, NULL);
    ovs_list_init(&nt->vifs);
    nt->state_dir = nullable_xstrdup(state_dir);
    nt->secret = random_uint32();
    nt->idle_ms = NEIGH_DEFAULT_IDLE_TIME * 1000LL;
    nt->max_entries = NEIGH_DEFAULT_MAX;
    return nt;
}

static void forget_table(struct neigh_vif *);

void
neigh_table_destroy(struct neigh_table *nt)
{
    if (nt) {
        ovs_assert(ovs_list_is_empty(&nt->vifs));
        forget_table(&nt->host);
        hmap_destroy(&nt->index);
        free(nt->state_dir);
        free(nt);
    }
}

void
neigh_set_idle_time(struct neigh_table *nt, unsigned int idle_s)
{
    nt->idle_ms = MAX(idle_s, 1) * 1000LL;
}

unsigned int
neigh_get_idle_time(const struct neigh_table *nt)
{
    return nt->idle_ms / 1000;
}

void
neigh_set_max_entries(struct neigh_table *nt, size_t max)
{
    nt->max_entries = MAX(max, 1);
}

size_t
neigh_n_entries(const struct neigh_table *nt)
{
    return hmap_count(&nt->index);
}

void
neigh_get_stats(const struct neigh_table *nt, struct neigh_stats *stats)
{
    *stats = nt->stats;
}

const char *
neigh_learn_result_to_string(enum neigh_learn_result r)
{
    switch (r) {
    case NEIGH_LEARN_REFRESHED: return "refreshed";
    case NEIGH_LEARN_NEW: return "new";
    case NEIGH_LEARN_UPDATED: return "updated";
    case NEIGH_LEARN_IGNORED: return "ignored";
    case NEIGH_LEARN_FAILED: return "failed";
    default: return "?";
    }
}

/* Addresses. */

bool
neigh_parse_ip(const char *s, struct in6_addr *ip)
{
    ovs_be32 ip4;

    if (ip_parse(s, &ip4)) {
        in6_addr_set_mapped_ipv4(ip, ip4);
        return true;
    }
    return ipv6_parse(s, ip);
}

bool
neigh_ip_is_unicast(const struct in6_addr *ip)
{
    if (IN6_IS_ADDR_V4MAPPED(ip)) {
        ovs_be32 ip4 = in6_addr_get_mapped_ipv4(ip);

        return (ip4 != htonl(0) && ip4 != htonl(0xffffffff)
                && !ip_is_multicast(ip4)
                && (ntohl(ip4) >> 24) != 127);
    }
    return (!ipv6_is_zero(ip) && !ipv6_addr_is_multicast(ip)
            && !IN6_IS_ADDR_LOOPBACK(ip) && !IN6_IS_ADDR_V4COMPAT(ip));
}

/* Nodes and slots. */

static uint32_t
ip_hash(const struct neigh_table *nt, const struct in6_addr *ip)
{
    return hash_bytes(ip, sizeof *ip, nt->secret);
}

static struct neigh_node *
find_node(const struct neigh_table *nt, const struct in6_addr *ip)
{
    struct neigh_node *n;

    HMAP_FOR_EACH_WITH_HASH (n, hmap_node, ip_hash(nt, ip), &nt->index) {
        if (ipv6_addr_equals(&n->ip, ip)) {
            return n;
        }
    }
    return NULL;
}

static bool
node_expired(const struct neigh_table *nt, const struct neigh_node *n,
             long long now)
{
    return !(n->flags & NEIGH_F_STATIC) && now - n->last_seen >= nt->idle_ms;
}

static void
write_slot(const struct neigh_node *n)
{
    struct neigh_entry *e = state_region_slot_mut(n->table->region, n->slot);

    memset(e, 0, sizeof *e);
    e->ip = n->ip;
    e->mac = n->mac;
    e->flags = n->flags;
    e->last_seen = MAX(n->last_seen, 0);
}

static void
list_node(struct neigh_vif *t, struct neigh_node *n)
{
    if (n->flags & NEIGH_F_STATIC) {
        ovs_list_push_back(&t->statics, &n->list_node);
        t->n_static++;
    } else {
        ovs_list_push_back(&t->lru, &n->list_node);
        t->n_dynamic++;
    }
}

static void
remove_node(struct neigh_node *n, bool free_slot)
{
    struct neigh_vif *t = n->table;

    if (free_slot && t->region) {
        state_region_free(t->region, n->slot);
    }
    hmap_remove(&t->nt->index, &n->hmap_node);
    ovs_list_remove(&n->list_node);
    if (n->flags & NEIGH_F_STATIC) {
        t->n_static--;
    } else {
        t->n_dynamic--;
    }
    free(n);
}

static bool
make_room(struct neigh_vif *t)
{
    if (t->n_dynamic + t->n_static < t->nt->max_entries) {
        return true;
    }
    if (ovs_list_is_empty(&t->lru)) {
        return false;
    }
    remove_node(CONTAINER_OF(ovs_list_front(&t->lru), struct neigh_node,
                             list_node), true);
    t->nt->stats.evicted++;
    return true;
}

static struct neigh_node *
insert_node(struct neigh_vif *t, uint32_t port, const struct in6_addr *ip,
            struct eth_addr mac, uint8_t flags, long long now)
{
    uint32_t slot = NO_SLOT;

    if (t->region) {
        char *error = state_region_alloc(t->region, OOR_SLOT_NEIGH, &slot);
        if (error) {
            static struct vlog_rate_limit rl = VLOG_RATE_LIMIT_INIT(1, 5);
            VLOG_WARN_RL(&rl, "cannot keep neighbour: %s", error);
            free(error);
            return NULL;
        }
    }

    struct neigh_node *n = xmalloc(sizeof *n);
    n->table = t;
    n->ip = *ip;
    n->mac = mac;
    n->flags = flags;
    n->slot = slot;
    n->port = t->region ? 0 : port;
    n->last_seen = now;
    hmap_insert(&t->nt->index, &n->hmap_node, ip_hash(t->nt, ip));
    list_node(t, n);
    if (t->region) {
        write_slot(n);
    }
    return n;
}

/* Tables. */

static void
forget_table(struct neigh_vif *t)
{
    struct neigh_node *n;

    LIST_FOR_EACH_SAFE (n, list_node, &t->lru) {
        remove_node(n, false);
    }
    LIST_FOR_EACH_SAFE (n, list_node, &t->statics) {
        remove_node(n, false);
    }
}

static bool
next_entry(const struct state_region *r, uint32_t *slot)
{
    return state_region_next_of_type(r, OOR_SLOT_NEIGH, slot);
}

static void
load_slot(struct neigh_vif *t, uint32_t slot)
{
    const struct neigh_entry *e = (const struct neigh_entry *)
        (state_region_slot(t->region, slot) + 1);
    struct neigh_node *old = find_node(t->nt, &e->ip);

    if (old) {
        if (old->flags & NEIGH_F_STATIC && !(e->flags & NEIGH_F_STATIC)) {
            state_region_free(t->region, slot);
            return;
        }
        if (old->table != t) {
            t->nt->stats.updated++;
        }
        remove_node(old, !old->table->frozen);
    }

    struct neigh_node *n = xmalloc(sizeof *n);
    n->table = t;
    n->ip = e->ip;
    n->mac = e->mac;
    n->flags = e->flags;
    n->slot = slot;
    n->port = 0;
    n->last_seen = e->last_seen;
    hmap_insert(&t->nt->index, &n->hmap_node, ip_hash(t->nt, &n->ip));
    list_node(t, n);
}

static int
compare_last_seen(const void *a_, const void *b_)
{
    const struct neigh_node *const *a = a_;
    const struct neigh_node *const *b = b_;

    return ((*a)->last_seen > (*b)->last_seen)
            - ((*a)->last_seen < (*b)->last_seen);
}

static void
load_table(struct neigh_vif *t)
{
    uint32_t slot;

    for (slot = UINT32_MAX; next_entry(t->region, &slot); ) {
        load_slot(t, slot);
    }

    struct neigh_node **nodes = xmalloc((t->n_dynamic + 1) * sizeof *nodes);
    struct neigh_node *n;
    size_t i = 0;

    LIST_FOR_EACH (n, list_node, &t->lru) {
        nodes[i++] = n;
    }
    qsort(nodes, i, sizeof *nodes, compare_last_seen);
    ovs_list_init(&t->lru);
    for (size_t j = 0; j < i; j++) {
        ovs_list_push_back(&t->lru, &nodes[j]->list_node);
    }
    free(nodes);
}

struct neigh_vif *
neigh_vif_open(struct neigh_table *nt, struct vif *vif,
               struct state_region *region)
{
    struct neigh_vif *t = xmalloc(sizeof *t);

    table_init(t, nt, vif, region);
    ovs_list_push_back(&nt->vifs, &t->list_node);
    load_table(t);
    return t;
}

void
neigh_vif_close(struct neigh_vif *t)
{
    if (t) {
        forget_table(t);
        ovs_list_remove(&t->list_node);
        free(t);
    }
}

void
neigh_vif_replace(struct neigh_vif *t, struct state_region *region)
{
    forget_table(t);
    t->region = region;
    load_table(t);
}

void
neigh_vif_rebase(struct neigh_vif *t, long long from_clock, long long now)
{
    struct neigh_node *n;

    LIST_FOR_EACH_SAFE (n, list_node, &t->lru) {
        long long age = MAX(from_clock - n->last_seen, 0);

        if (age >= t->nt->idle_ms) {
            remove_node(n, true);
            t->nt->stats.expired++;
        } else {
            n->last_seen = now - age;
            write_slot(n);
        }
    }
    LIST_FOR_EACH (n, list_node, &t->statics) {
        n->last_seen = now;
        write_slot(n);
    }
    state_region_seal(t->region, now);
}

void
neigh_vif_set_frozen(struct neigh_vif *t, bool frozen)
{
    t->frozen = frozen;
}

size_t
neigh_vif_count(const struct neigh_vif *t)
{
    return t->n_dynamic + t->n_static;
}

void
neigh_vif_flush(struct neigh_vif *t)
{
    struct neigh_node *n;

    LIST_FOR_EACH_SAFE (n, list_node, &t->lru) {
        remove_node(n, true);
    }
    LIST_FOR_EACH_SAFE (n, list_node, &t->statics) {
        remove_node(n, true);
    }
}

/* Learning and lookup. */

/* Is 'ip' an address the VIF of 't' may have?  Those its definition lists,
 * and the link-local address of its MAC; any, if it lists none. */
static bool
vif_owns_ip(const struct neigh_vif *t, const struct in6_addr *ip)
{
    const struct oor_vif_def *def = &state_region_header(t->region)->vif;

    if (!def->n_ips) {
        return true;
    }
    for (int i = 0; i < def->n_ips && i < OOR_MAX_IPS; i++) {
        /* A floating address is the provider's to answer for, never the
         * VM's to claim. */
        if (!((def->floating >> i) & 1)
            && ipv6_addr_equals(&def->ips[i], ip)) {
            return true;
        }
    }

    struct eth_addr mac;
    struct in6_addr lla;
    memcpy(mac.ea, def->mac, sizeof mac.ea);
    in6_generate_lla(mac, &lla);
    return ipv6_addr_equals(&lla, ip);
}

static bool
same_place(const struct neigh_node *n, const struct neigh_vif *t,
           uint32_t port)
{
    return n->table == t && (t->region || n->port == port);
}

static enum neigh_learn_result
learn(struct neigh_vif *t, uint32_t port, const struct in6_addr *ip,
      struct eth_addr mac, long long now)
{
    struct neigh_table *nt = t->nt;
    enum neigh_learn_result result = NEIGH_LEARN_NEW;

    if (!neigh_ip_is_unicast(ip) || eth_addr_is_multicast(mac)
        || eth_addr_is_zero(mac) || t->frozen
        || (t->region && !vif_owns_ip(t, ip))) {
        return NEIGH_LEARN_IGNORED;
    }

    struct neigh_node *n = find_node(nt, ip);
    if (n) {
        if (n->flags & NEIGH_F_STATIC || n->table->frozen) {
            return (same_place(n, t, port) && eth_addr_equals(n->mac, mac)
                    ? NEIGH_LEARN_REFRESHED : NEIGH_LEARN_IGNORED);
        }
        if (same_place(n, t, port) && eth_addr_equals(n->mac, mac)) {
            if (now - n->last_seen >= NEIGH_TOUCH_MS) {
                n->last_seen = now;
                ovs_list_remove(&n->list_node);
                ovs_list_push_back(&t->lru, &n->list_node);
                if (t->region) {
                    write_slot(n);
                }
            }
            return NEIGH_LEARN_REFRESHED;
        }
        remove_node(n, true);
        nt->stats.updated++;
        result = NEIGH_LEARN_UPDATED;
    }

    if (!make_room(t) || !insert_node(t, port, ip, mac, 0, now)) {
        return NEIGH_LEARN_FAILED;
    }
    if (result == NEIGH_LEARN_NEW) {
        nt->stats.learned++;
    }
    return result;
}

enum neigh_learn_result
neigh_learn(struct neigh_table *nt, struct neigh_vif *t, uint32_t port,
            const struct in6_addr *ip, struct eth_addr mac, long long now)
{
    return learn(t ? t : &nt->host, port, ip, mac, now);
}

static bool
is_nd_type(const struct flow *flow, uint8_t type)
{
    return (flow->dl_type == htons(ETH_TYPE_IPV6)
            && flow->nw_proto == IPPROTO_ICMPV6
            && flow->tp_src == htons(type) && flow->tp_dst == htons(0));
}

enum neigh_learn_result
neigh_learn_flow(struct neigh_table *nt, struct neigh_vif *t, uint32_t port,
                 const struct flow *flow, long long now)
{
    struct in6_addr ip;

    if (flow->dl_type == htons(ETH_TYPE_ARP)
        && (flow->nw_proto == ARP_OP_REQUEST
            || flow->nw_proto == ARP_OP_REPLY)
        && flow->nw_src != htonl(0)) {
        in6_addr_set_mapped_ipv4(&ip, flow->nw_src);
        return neigh_learn(nt, t, port, &ip, flow->arp_sha, now);
    }
    if (is_nd_type(flow, ND_NEIGHBOR_SOLICIT) && !ipv6_is_zero(&flow->ipv6_src)
        && !eth_addr_is_zero(flow->arp_sha)) {
        return neigh_learn(nt, t, port, &flow->ipv6_src, flow->arp_sha, now);
    }
    if (is_nd_type(flow, ND_NEIGHBOR_ADVERT)
        && !eth_addr_is_zero(flow->arp_tha)) {
        return neigh_learn(nt, t, port, &flow->nd_target, flow->arp_tha,
                           now);
    }
    return NEIGH_LEARN_IGNORED;
}

bool
neigh_lookup(const struct neigh_table *nt, const struct in6_addr *ip,
             long long now, struct eth_addr *mac, struct vif **vif)
{
    const struct neigh_node *n = find_node(nt, ip);

    if (!n || node_expired(nt, n, now)) {
        return false;
    }
    *mac = n->mac;
    if (vif) {
        *vif = n->table->vif;
    }
    return true;
}

/* Static entries and their file. */

static char *
neighbours_path(const struct neigh_table *nt)
{
    return xasprintf("%s/neighbours", nt->state_dir);
}

/* Writes the static host entries to the state dir, atomically, as they will
 * be once the one for 'drop' (if nonnull) is gone and one for 'add' (if
 * nonnull) at 'add_mac' is there: the file is written before memory
 * changes, so that a failure changes nothing. */
static char *
save_host(const struct neigh_table *nt, const struct in6_addr *drop,
          const struct in6_addr *add, struct eth_addr add_mac)
{
    if (!nt->state_dir) {
        return NULL;
    }

    struct ds s = DS_EMPTY_INITIALIZER;
    const struct neigh_node *n;
    LIST_FOR_EACH (n, list_node, &nt->host.statics) {
        if (!drop || !ipv6_addr_equals(&n->ip, drop)) {
            ipv6_format_mapped(&n->ip, &s);
            ds_put_format(&s, " "ETH_ADDR_FMT"\n", ETH_ADDR_ARGS(n->mac));
        }
    }
    if (add) {
        ipv6_format_mapped(add, &s);
        ds_put_format(&s, " "ETH_ADDR_FMT"\n", ETH_ADDR_ARGS(add_mac));
    }

    char *path = neighbours_path(nt);
    char *error = atomic_file_write(path, ds_cstr(&s));

    free(path);
    ds_destroy(&s);
    return error;
}

static char *
check_static(const struct in6_addr *ip, struct eth_addr mac)
{
    if (!neigh_ip_is_unicast(ip)) {
        struct ds s = DS_EMPTY_INITIALIZER;
        ipv6_format_mapped(ip, &s);
        ds_put_cstr(&s, " is not a unicast address");
        return ds_steal_cstr(&s);
    }
    if (eth_addr_is_multicast(mac) || eth_addr_is_zero(mac)) {
        return xasprintf(ETH_ADDR_FMT" is not a unicast MAC address",
                         ETH_ADDR_ARGS(mac));
    }
    return NULL;
}

static bool
is_host_static(const struct neigh_node *n)
{
    return n && !n->table->region && n->flags & NEIGH_F_STATIC;
}

char *
neigh_add_static(struct neigh_table *nt, struct neigh_vif *t,
                 const struct in6_addr *ip, struct eth_addr mac,
                 long long now)
{
    char *error = check_static(ip, mac);
    if (error) {
        return error;
    }
    t = t ? t : &nt->host;

    struct neigh_node *old = find_node(nt, ip);
    if (!(old && old->table == t) && ovs_list_is_empty(&t->lru)
        && t->n_static >= nt->max_entries) {
        return xasprintf("no room: the table holds %"PRIuSIZE" static "
                         "entries", t->n_static);
    }
    if (!t->region || is_host_static(old)) {
        error = save_host(nt, ip, t->region ? NULL : ip, mac);
        if (error) {
            return error;
        }
    }

    if (old) {
        remove_node(old, true);
    }
    if (!make_room(t)
        || !insert_node(t, NEIGH_NO_PORT, ip, mac, NEIGH_F_STATIC, now)) {
        return xstrdup("cannot add: the state region cannot grow");
    }
    return NULL;
}

char *
neigh_del(struct neigh_table *nt, const struct in6_addr *ip)
{
    struct neigh_node *n = find_node(nt, ip);

    if (!n) {
        struct ds s = DS_EMPTY_INITIALIZER;
        ds_put_cstr(&s, "no neighbour ");
        ipv6_format_mapped(ip, &s);
        return ds_steal_cstr(&s);
    }
    if (is_host_static(n)) {
        char *error = save_host(nt, ip, NULL, eth_addr_zero);
        if (error) {
            return error;
        }
    }
    remove_node(n, true);
    return NULL;
}

void
neigh_flush_port(struct neigh_table *nt, uint32_t port)
{
    struct neigh_node *n;

    LIST_FOR_EACH_SAFE (n, list_node, &nt->host.lru) {
        if (n->port == port) {
            remove_node(n, true);
        }
    }
}

/* Parses one line of the neighbours file. */
static char *
parse_line(char *line, struct in6_addr *ip, struct eth_addr *mac)
{
    char *save = NULL;
    char *ip_s = strtok_r(line, " \t\n", &save);
    char *mac_s = strtok_r(NULL, " \t\n", &save);

    if (!ip_s || !mac_s || strtok_r(NULL, " \t\n", &save)
        || !neigh_parse_ip(ip_s, ip) || !eth_addr_from_string(mac_s, mac)) {
        return xstrdup("expected IP MAC");
    }
    return NULL;
}

char *
neigh_table_load(struct neigh_table *nt)
{
    if (!nt->state_dir) {
        return NULL;
    }

    char *path = neighbours_path(nt);
    FILE *f = fopen(path, "r");
    if (!f) {
        char *error = (errno == ENOENT ? NULL
                       : xasprintf("%s: %s", path, ovs_strerror(errno)));
        free(path);
        return error;
    }

    /* Check every line before applying any. */
    struct in6_addr *ips = NULL;
    struct eth_addr *macs = NULL;
    size_t n = 0, allocated = 0;
    char line[256];
    char *error = NULL;
    for (int lineno = 1; fgets(line, sizeof line, f); lineno++) {
        if (line[strspn(line, " \t\n")] == '\0') {
            continue;
        }
        if (n >= allocated) {
            ips = x2nrealloc(ips, &allocated, sizeof *ips);
            macs = xrealloc(macs, allocated * sizeof *macs);
        }
        char *e = parse_line(line, &ips[n], &macs[n]);
        if (!e) {
            e = check_static(&ips[n], macs[n]);
        }
        if (e) {
            error = xasprintf("%s:%d: %s", path, lineno, e);
            free(e);
            break;
        }
        n++;
    }
    fclose(f);

    for (size_t i = 0; !error && i < n; i++) {
        struct neigh_node *old = find_node(nt, &ips[i]);
        if (old) {
            remove_node(old, true);
        }
        insert_node(&nt->host, NEIGH_NO_PORT, &ips[i], macs[i],
                    NEIGH_F_STATIC, 0);
    }
    free(ips);
    free(macs);
    free(path);
    return error;
}

/* Expiry. */

size_t
neigh_run(struct neigh_table *nt, long long now)
{
    size_t budget = NEIGH_RUN_BUDGET, n = 0;
    struct neigh_vif *t = &nt->host;

    for (;;) {
        while (budget && !t->frozen && !ovs_list_is_empty(&t->lru)) {
            struct neigh_node *oldest = CONTAINER_OF(ovs_list_front(&t->lru),
                                                     struct neigh_node,
                                                     list_node);
            if (!node_expired(nt, oldest, now)) {
                break;
            }
            remove_node(oldest, true);
            budget--;
            n++;
        }
        struct ovs_list *next = (t == &nt->host ? nt->vifs.next
                                 : t->list_node.next);
        if (next == &nt->vifs || !budget) {
            break;
        }
        t = CONTAINER_OF(next, struct neigh_vif, list_node);
    }
    nt->stats.expired += n;
    return n;
}

/* Show. */

struct show_line {
    char *port;
    const struct neigh_node *node;
};

static int
compare_show_lines(const void *a_, const void *b_)
{
    const struct show_line *a = a_, *b = b_;
    bool a4 = IN6_IS_ADDR_V4MAPPED(&a->node->ip);
    bool b4 = IN6_IS_ADDR_V4MAPPED(&b->node->ip);

    if (a4 != b4) {
        return a4 ? -1 : 1;
    }
    return memcmp(&a->node->ip, &b->node->ip, sizeof a->node->ip);
}

static char *
port_string(const struct neigh_node *n,
            const char *(*port_name)(uint32_t, void *), void *aux)
{
    if (n->table->region) {
        return xstrdup(state_region_header(n->table->region)->vif.iface_id);
    }
    if (n->port == NEIGH_NO_PORT) {
        return xstrdup("-");
    }

    const char *name = port_name ? port_name(n->port, aux) : NULL;
    return name ? xstrdup(name) : xasprintf("%"PRIu32, n->port);
}

void
neigh_show(const struct neigh_table *nt, struct ds *s, long long now,
           const char *(*port_name)(uint32_t port, void *aux), void *aux)
{
    size_t max = hmap_count(&nt->index), n = 0;
    struct show_line *lines = xmalloc((max + 1) * sizeof *lines);
    const struct neigh_node *node;

    HMAP_FOR_EACH (node, hmap_node, &nt->index) {
        if (!node_expired(nt, node, now)) {
            lines[n].port = port_string(node, port_name, aux);
            lines[n++].node = node;
        }
    }
    qsort(lines, n, sizeof *lines, compare_show_lines);

    ds_put_format(s, "%-*s %-17s   %-8s  Age\n", INET6_ADDRSTRLEN - 1, "IP",
                  "MAC", "Port");
    for (size_t i = 0; i < n; i++) {
        size_t start = s->length;

        node = lines[i].node;
        ipv6_format_mapped(&node->ip, s);
        ds_put_char_multiple(s, ' ', INET6_ADDRSTRLEN - (s->length - start));
        ds_put_format(s, ETH_ADDR_FMT"   %-8s  ", ETH_ADDR_ARGS(node->mac),
                      lines[i].port);
        if (node->flags & NEIGH_F_STATIC) {
            ds_put_cstr(s, "static\n");
        } else {
            ds_put_format(s, "%3lld\n", (now - node->last_seen) / 1000);
        }
        free(lines[i].port);
    }
    free(lines);
}

/* Validation. */

char *
neigh_check_slot(uint16_t type, const void *payload, size_t len)
{
    if (type != OOR_SLOT_NEIGH) {
        return xasprintf("unknown slot type %u", type);
    }
    if (len != sizeof(struct neigh_entry)) {
        return xasprintf("neighbour entry of %"PRIuSIZE" bytes, expected "
                         "%"PRIuSIZE, len, sizeof(struct neigh_entry));
    }

    struct neigh_entry e;
    memcpy(&e, payload, sizeof e);
    if (!neigh_ip_is_unicast(&e.ip)) {
        return xstrdup("neighbour entry for a non-unicast address");
    }
    if (eth_addr_is_multicast(e.mac) || eth_addr_is_zero(e.mac)) {
        return xasprintf("neighbour entry with non-unicast MAC "ETH_ADDR_FMT,
                         ETH_ADDR_ARGS(e.mac));
    }
    if (e.flags & ~NEIGH_F_STATIC) {
        return xasprintf("neighbour entry with unknown flags 0x%x", e.flags);
    }
    if (e.pad) {
        return xstrdup("neighbour entry with nonzero padding");
    }
    if (e.last_seen > INT64_MAX) {
        return xasprintf("neighbour entry last seen at %"PRIu64" ms",
                         e.last_seen);
    }
    return NULL;
}

/* Answering and asking. */

bool
neigh_request_target(const struct flow *flow, struct in6_addr *target)
{
    if (flow->dl_type == htons(ETH_TYPE_ARP)
        && flow->nw_proto == ARP_OP_REQUEST) {
        in6_addr_set_mapped_ipv4(target, flow->nw_dst);
        return true;
    }
    if (is_nd_type(flow, ND_NEIGHBOR_SOLICIT)) {
        *target = flow->nd_target;
        return true;
    }
    return false;
}

/* Gives 'out' the VLAN tag 'flow' came with, if any. */
static void
copy_vlan(struct dp_packet *out, const struct flow *flow)
{
    if (flow->vlans[0].tci & htons(VLAN_CFI)) {
        eth_push_vlan(out, flow->vlans[0].tpid, flow->vlans[0].tci);
    }
}

bool
neigh_compose_reply(struct dp_packet *out, const struct flow *request,
                    struct eth_addr mac, bool router)
{
    struct in6_addr target;

    if (!neigh_request_target(request, &target)) {
        return false;
    }
    if (request->dl_type == htons(ETH_TYPE_ARP)) {
        compose_arp(out, ARP_OP_REPLY, mac, request->arp_sha, false,
                    request->nw_dst, request->nw_src);
    } else {
        /* RFC 4861 7.2.4: a solicitation from :: is answered to all nodes,
         * and is not "solicited". */
        bool dad = ipv6_is_zero(&request->ipv6_src);
        struct in6_addr dst = dad ? in6addr_all_hosts : request->ipv6_src;
        struct eth_addr eth_dst = request->dl_src;
        uint32_t flags = ND_RSO_OVERRIDE | (dad ? 0 : ND_RSO_SOLICITED)
                         | (router ? ND_RSO_ROUTER : 0);

        if (dad) {
            ipv6_multicast_to_ethernet(&eth_dst, &dst);
        }
        compose_nd_na(out, mac, eth_dst, &target, &dst, htonl(flags));
    }
    copy_vlan(out, request);
    return true;
}

void
neigh_compose_announce(struct dp_packet *out, const struct in6_addr *ip,
                       struct eth_addr mac)
{
    if (IN6_IS_ADDR_V4MAPPED(ip)) {
        ovs_be32 ip4 = in6_addr_get_mapped_ipv4(ip);

        compose_arp(out, ARP_OP_REQUEST, mac, eth_addr_zero, true, ip4, ip4);
    } else {
        struct eth_addr eth_dst;

        ipv6_multicast_to_ethernet(&eth_dst, &in6addr_all_hosts);
        compose_nd_na(out, mac, eth_dst, ip, &in6addr_all_hosts,
                      htonl(ND_RSO_OVERRIDE));
    }
}

void
neigh_compose_request(struct dp_packet *out, const struct in6_addr *target,
                      const struct in6_addr *src_ip, struct eth_addr src_mac)
{
    if (IN6_IS_ADDR_V4MAPPED(target)) {
        compose_arp(out, ARP_OP_REQUEST, src_mac, eth_addr_zero, true,
                    in6_addr_get_mapped_ipv4(src_ip),
                    in6_addr_get_mapped_ipv4(target));
    } else {
        compose_nd_ns(out, src_mac, src_ip, target);
    }
}
