/*
 * The L2 forwarding database.
 *
 * Every entry, VIF or host, has a node in memory that caches its key and its
 * last-seen time, so that lookups and aging never read the regions; a VIF
 * entry's node also names its slot, which is written only when the entry
 * changes.  Nodes are allocated when an entry is made (once per new MAC,
 * never per frame) and never move, so region growth, which moves the slots
 * but keeps their numbers, needs nothing here.
 *
 * Each table keeps its dynamic entries on an LRU list, least recently seen
 * first, so expiry looks only at the heads of the lists.
 */
#include <config.h>
#include "fdb.h"

#include <stdlib.h>
#include <string.h>
#include "hash.h"
#include "openvswitch/dynamic-string.h"
#include "openvswitch/hmap.h"
#include "openvswitch/list.h"
#include "openvswitch/vlog.h"
#include "random.h"
#include "state-region.h"
#include "util.h"

VLOG_DEFINE_THIS_MODULE(fdb);

/* Entries fdb_run() removes per call at most. */
#define FDB_RUN_BUDGET 1024

#define NO_SLOT UINT32_MAX

struct fdb_node {
    struct hmap_node hmap_node;     /* In fdb's 'index', by (mac, vlan). */
    struct ovs_list list_node;      /* In its table's 'lru' or 'statics'. */
    struct fdb_vif *table;
    struct eth_addr mac;
    uint16_t vlan;
    uint32_t flags;                 /* FDB_F_*. */
    uint32_t slot;                  /* VIF tables only. */
    uint32_t port;                  /* Host table only. */
    long long last_seen;
};

/* A table: a VIF's, or the host's ('region' NULL). */
struct fdb_vif {
    struct ovs_list list_node;      /* In fdb's 'vifs'. */
    struct fdb *fdb;
    struct vif *vif;
    struct state_region *region;
    struct ovs_list lru;            /* Dynamic entries, oldest first. */
    struct ovs_list statics;
    size_t n_dynamic;
    size_t n_static;
    bool frozen;                    /* See fdb_vif_set_frozen(). */
};

struct fdb {
    struct hmap index;              /* All entries of all tables. */
    struct fdb_vif host;
    struct ovs_list vifs;           /* Contains fdb_vif. */
    uint32_t secret;
    long long idle_ms;
    size_t max_entries;
    struct fdb_stats stats;
};

static void
table_init(struct fdb_vif *t, struct fdb *fdb, struct vif *vif,
           struct state_region *region)
{
    t->fdb = fdb;
    t->vif = vif;
    t->region = region;
    ovs_list_init(&t->lru);
    ovs_list_init(&t->statics);
    t->n_dynamic = t->n_static = 0;
    t->frozen = false;
}

struct fdb *
fdb_create(void)
{
    struct fdb *fdb = xzalloc(sizeof *fdb);

    hmap_init(&fdb->index);
    table_init(&fdb->host, fdb, NULL, NULL);
    ovs_list_init(&fdb->vifs);
    fdb->secret = random_uint32();
    fdb->idle_ms = FDB_DEFAULT_IDLE_TIME * 1000LL;
    fdb->max_entries = FDB_DEFAULT_MAX;
    return fdb;
}

static void forget_table(struct fdb_vif *);

void
fdb_destroy(struct fdb *fdb)
{
    if (fdb) {
        ovs_assert(ovs_list_is_empty(&fdb->vifs));
        forget_table(&fdb->host);
        hmap_destroy(&fdb->index);
        free(fdb);
    }
}

void
fdb_set_idle_time(struct fdb *fdb, unsigned int idle_s)
{
    idle_s = MAX(idle_s, FDB_MIN_IDLE_TIME);
    idle_s = MIN(idle_s, FDB_MAX_IDLE_TIME);
    fdb->idle_ms = idle_s * 1000LL;
}

unsigned int
fdb_get_idle_time(const struct fdb *fdb)
{
    return fdb->idle_ms / 1000;
}

void
fdb_set_max_entries(struct fdb *fdb, size_t max)
{
    fdb->max_entries = MAX(max, 1);
}

size_t
fdb_n_entries(const struct fdb *fdb)
{
    return hmap_count(&fdb->index);
}

void
fdb_get_stats(const struct fdb *fdb, struct fdb_stats *stats)
{
    *stats = fdb->stats;
}

const char *
fdb_learn_result_to_string(enum fdb_learn_result r)
{
    switch (r) {
    case FDB_LEARN_REFRESHED: return "refreshed";
    case FDB_LEARN_NEW: return "new";
    case FDB_LEARN_MOVED: return "moved";
    case FDB_LEARN_IGNORED: return "ignored";
    case FDB_LEARN_FAILED: return "failed";
    default: return "?";
    }
}

/* Nodes and slots. */

static uint32_t
key_hash(const struct fdb *fdb, struct eth_addr mac, uint16_t vlan)
{
    return hash_mac(mac, vlan, fdb->secret);
}

static struct fdb_node *
find_node(const struct fdb *fdb, struct eth_addr mac, uint16_t vlan)
{
    struct fdb_node *n;

    HMAP_FOR_EACH_WITH_HASH (n, hmap_node, key_hash(fdb, mac, vlan),
                             &fdb->index) {
        if (eth_addr_equals(n->mac, mac) && n->vlan == vlan) {
            return n;
        }
    }
    return NULL;
}

static bool
node_expired(const struct fdb *fdb, const struct fdb_node *n, long long now)
{
    return !(n->flags & FDB_F_STATIC) && now - n->last_seen >= fdb->idle_ms;
}

static void
write_slot(const struct fdb_node *n)
{
    struct fdb_entry *e = state_region_slot_mut(n->table->region, n->slot);

    memset(e, 0, sizeof *e);
    e->mac = n->mac;
    e->vlan = n->vlan;
    e->last_seen = MAX(n->last_seen, 0);
    e->flags = n->flags;
}

static void
list_node(struct fdb_vif *t, struct fdb_node *n)
{
    if (n->flags & FDB_F_STATIC) {
        ovs_list_push_back(&t->statics, &n->list_node);
        t->n_static++;
    } else {
        ovs_list_push_back(&t->lru, &n->list_node);
        t->n_dynamic++;
    }
}

static void
unlist_node(struct fdb_vif *t, struct fdb_node *n)
{
    ovs_list_remove(&n->list_node);
    if (n->flags & FDB_F_STATIC) {
        t->n_static--;
    } else {
        t->n_dynamic--;
    }
}

/* Drops 'n' from memory; with 'free_slot', from its region too. */
static void
remove_node(struct fdb_node *n, bool free_slot)
{
    struct fdb_vif *t = n->table;

    if (free_slot && t->region) {
        state_region_free(t->region, n->slot);
    }
    hmap_remove(&t->fdb->index, &n->hmap_node);
    unlist_node(t, n);
    free(n);
}

/* Makes the least recently seen dynamic entry of 't' make room; false if
 * 't' holds only static entries. */
static bool
make_room(struct fdb_vif *t)
{
    if (t->n_dynamic + t->n_static < t->fdb->max_entries) {
        return true;
    }
    if (ovs_list_is_empty(&t->lru)) {
        return false;
    }
    remove_node(CONTAINER_OF(ovs_list_front(&t->lru), struct fdb_node,
                             list_node), true);
    t->fdb->stats.evicted++;
    return true;
}

/* Makes a new entry in 't'.  Returns NULL if the region cannot grow. */
static struct fdb_node *
insert_node(struct fdb_vif *t, uint32_t port, struct eth_addr mac,
            uint16_t vlan, uint32_t flags, long long now)
{
    uint32_t slot = NO_SLOT;

    if (t->region) {
        char *error = state_region_alloc(t->region, OOR_SLOT_FDB, &slot);
        if (error) {
            static struct vlog_rate_limit rl = VLOG_RATE_LIMIT_INIT(1, 5);
            VLOG_WARN_RL(&rl, "cannot learn "ETH_ADDR_FMT": %s",
                         ETH_ADDR_ARGS(mac), error);
            free(error);
            return NULL;
        }
    }

    struct fdb_node *n = xmalloc(sizeof *n);
    n->table = t;
    n->mac = mac;
    n->vlan = vlan;
    n->flags = flags;
    n->slot = slot;
    n->port = t->region ? 0 : port;
    n->last_seen = now;
    hmap_insert(&t->fdb->index, &n->hmap_node, key_hash(t->fdb, mac, vlan));
    list_node(t, n);
    if (t->region) {
        write_slot(n);
    }
    return n;
}

static void
touch_node(struct fdb_node *n, long long now)
{
    if (now - n->last_seen < FDB_TOUCH_MS) {
        return;
    }
    n->last_seen = now;
    ovs_list_remove(&n->list_node);
    ovs_list_push_back(&n->table->lru, &n->list_node);
    if (n->table->region) {
        write_slot(n);
    }
}

/* Tables. */

/* Drops every node of 't' from memory, leaving its region as it is. */
static void
forget_table(struct fdb_vif *t)
{
    struct fdb_node *n;

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
    return state_region_next_of_type(r, OOR_SLOT_FDB, slot);
}

static const struct fdb_entry *
entry_at(const struct state_region *r, uint32_t slot)
{
    return (const struct fdb_entry *) (state_region_slot(r, slot) + 1);
}

static int
compare_last_seen(const void *a_, const void *b_)
{
    const struct fdb_node *const *a = a_;
    const struct fdb_node *const *b = b_;

    return ((*a)->last_seen > (*b)->last_seen)
            - ((*a)->last_seen < (*b)->last_seen);
}

/* Takes in the slot 'slot' of 't''s region at open; see fdb_vif_open() for
 * who wins a clash. */
static void
load_slot(struct fdb_vif *t, uint32_t slot)
{
    const struct fdb_entry *e = entry_at(t->region, slot);
    struct fdb_node *old = find_node(t->fdb, e->mac, e->vlan);

    if (old) {
        if (old->flags & FDB_F_STATIC && !(e->flags & FDB_F_STATIC)) {
            state_region_free(t->region, slot);
            return;
        }
        if (old->table != t) {
            t->fdb->stats.moves++;
        }
        remove_node(old, !old->table->frozen);
    }

    struct fdb_node *n = xmalloc(sizeof *n);
    n->table = t;
    n->mac = e->mac;
    n->vlan = e->vlan;
    n->flags = e->flags;
    n->slot = slot;
    n->port = 0;
    n->last_seen = e->last_seen;
    hmap_insert(&t->fdb->index, &n->hmap_node,
                key_hash(t->fdb, n->mac, n->vlan));
    list_node(t, n);
}

/* Puts 't''s LRU list in the order its entries were last seen. */
static void
sort_lru(struct fdb_vif *t)
{
    struct fdb_node **nodes = xmalloc((t->n_dynamic + 1) * sizeof *nodes);
    struct fdb_node *n;
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

static void
load_table(struct fdb_vif *t)
{
    uint32_t slot;

    for (slot = UINT32_MAX; next_entry(t->region, &slot); ) {
        load_slot(t, slot);
    }
    sort_lru(t);
}

struct fdb_vif *
fdb_vif_open(struct fdb *fdb, struct vif *vif, struct state_region *region)
{
    struct fdb_vif *t = xmalloc(sizeof *t);

    table_init(t, fdb, vif, region);
    ovs_list_push_back(&fdb->vifs, &t->list_node);
    load_table(t);
    return t;
}

void
fdb_vif_close(struct fdb_vif *t)
{
    if (t) {
        forget_table(t);
        ovs_list_remove(&t->list_node);
        free(t);
    }
}

void
fdb_vif_replace(struct fdb_vif *t, struct state_region *region)
{
    forget_table(t);
    t->region = region;
    load_table(t);
}

void
fdb_vif_rebase(struct fdb_vif *t, long long from_clock, long long now)
{
    struct fdb_node *n;

    LIST_FOR_EACH_SAFE (n, list_node, &t->lru) {
        long long age = MAX(from_clock - n->last_seen, 0);

        if (age >= t->fdb->idle_ms) {
            remove_node(n, true);
            t->fdb->stats.expired++;
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
fdb_vif_set_frozen(struct fdb_vif *t, bool frozen)
{
    t->frozen = frozen;
}

size_t
fdb_vif_count(const struct fdb_vif *t)
{
    return t->n_dynamic + t->n_static;
}

static void
flush_table(struct fdb_vif *t)
{
    struct fdb_node *n;

    LIST_FOR_EACH_SAFE (n, list_node, &t->lru) {
        remove_node(n, true);
    }
    LIST_FOR_EACH_SAFE (n, list_node, &t->statics) {
        remove_node(n, true);
    }
}

void
fdb_vif_flush(struct fdb_vif *t)
{
    flush_table(t);
}

/* Learning and lookup. */

static bool
same_place(const struct fdb_node *n, const struct fdb_vif *t, uint32_t port)
{
    return n->table == t && (t->region || n->port == port);
}

static enum fdb_learn_result
learn(struct fdb_vif *t, uint32_t port, struct eth_addr mac, uint16_t vlan,
      long long now)
{
    struct fdb *fdb = t->fdb;
    enum fdb_learn_result result = FDB_LEARN_NEW;

    if (eth_addr_is_multicast(mac) || eth_addr_is_zero(mac) || vlan > 4095
        || t->frozen) {
        return FDB_LEARN_IGNORED;
    }

    struct fdb_node *n = find_node(fdb, mac, vlan);
    if (n) {
        if (same_place(n, t, port)) {
            if (!(n->flags & FDB_F_STATIC)) {
                touch_node(n, now);
            }
            return FDB_LEARN_REFRESHED;
        }
        if (n->flags & FDB_F_STATIC || n->table->frozen) {
            return FDB_LEARN_IGNORED;
        }
        remove_node(n, true);
        fdb->stats.moves++;
        result = FDB_LEARN_MOVED;
    }

    if (!make_room(t) || !insert_node(t, port, mac, vlan, 0, now)) {
        return FDB_LEARN_FAILED;
    }
    fdb->stats.learned++;
    return result;
}

enum fdb_learn_result
fdb_learn_vif(struct fdb_vif *t, struct eth_addr mac, uint16_t vlan,
              long long now)
{
    return learn(t, 0, mac, vlan, now);
}

enum fdb_learn_result
fdb_learn_port(struct fdb *fdb, uint32_t port, struct eth_addr mac,
               uint16_t vlan, long long now)
{
    return learn(&fdb->host, port, mac, vlan, now);
}

bool
fdb_lookup(const struct fdb *fdb, struct eth_addr mac, uint16_t vlan,
           long long now, struct fdb_where *where)
{
    const struct fdb_node *n = find_node(fdb, mac, vlan);

    if (!n || node_expired(fdb, n, now)) {
        return false;
    }
    where->vif = n->table->vif;
    where->port = n->port;
    return true;
}

char *
fdb_add_static(struct fdb *fdb, struct fdb_vif *t, uint32_t port,
               struct eth_addr mac, uint16_t vlan, long long now)
{
    if (eth_addr_is_multicast(mac) || eth_addr_is_zero(mac)) {
        return xasprintf(ETH_ADDR_FMT" is not a unicast MAC address",
                         ETH_ADDR_ARGS(mac));
    }
    if (vlan > 4095) {
        return xasprintf("VLAN %"PRIu16" is not from 0 to 4095", vlan);
    }
    t = t ? t : &fdb->host;

    /* Check for room before anything changes. */
    struct fdb_node *old = find_node(fdb, mac, vlan);
    if (!(old && old->table == t) && ovs_list_is_empty(&t->lru)
        && t->n_static >= fdb->max_entries) {
        return xasprintf("no room for "ETH_ADDR_FMT": the table holds "
                         "%"PRIuSIZE" static entries", ETH_ADDR_ARGS(mac),
                         t->n_static);
    }
    if (old) {
        remove_node(old, true);
    }
    if (!make_room(t) || !insert_node(t, port, mac, vlan, FDB_F_STATIC,
                                      now)) {
        return xasprintf("cannot add "ETH_ADDR_FMT": the state region "
                         "cannot grow", ETH_ADDR_ARGS(mac));
    }
    return NULL;
}

bool
fdb_del(struct fdb *fdb, struct eth_addr mac, uint16_t vlan)
{
    struct fdb_node *n = find_node(fdb, mac, vlan);

    if (n) {
        remove_node(n, true);
    }
    return n != NULL;
}

void
fdb_flush_port(struct fdb *fdb, uint32_t port)
{
    struct fdb_node *n;

    LIST_FOR_EACH_SAFE (n, list_node, &fdb->host.lru) {
        if (n->port == port) {
            remove_node(n, true);
        }
    }
    LIST_FOR_EACH_SAFE (n, list_node, &fdb->host.statics) {
        if (n->port == port) {
            remove_node(n, true);
        }
    }
}

void
fdb_flush(struct fdb *fdb)
{
    struct fdb_vif *t;

    flush_table(&fdb->host);
    LIST_FOR_EACH (t, list_node, &fdb->vifs) {
        flush_table(t);
    }
}

/* Expiry. */

static size_t
expire_table(struct fdb_vif *t, long long now, size_t *budget)
{
    size_t n = 0;

    while (*budget && !t->frozen && !ovs_list_is_empty(&t->lru)) {
        struct fdb_node *oldest = CONTAINER_OF(ovs_list_front(&t->lru),
                                               struct fdb_node, list_node);
        if (!node_expired(t->fdb, oldest, now)) {
            break;
        }
        remove_node(oldest, true);
        (*budget)--;
        n++;
    }
    return n;
}

size_t
fdb_run(struct fdb *fdb, long long now)
{
    size_t budget = FDB_RUN_BUDGET;
    size_t n = expire_table(&fdb->host, now, &budget);
    struct fdb_vif *t;

    LIST_FOR_EACH (t, list_node, &fdb->vifs) {
        n += expire_table(t, now, &budget);
    }
    fdb->stats.expired += n;
    return n;
}

/* Show. */

struct show_line {
    char *port;
    const struct fdb_node *node;
};

static int
compare_show_lines(const void *a_, const void *b_)
{
    const struct show_line *a = a_, *b = b_;
    int cmp = strcmp(a->port, b->port);

    if (cmp) {
        return cmp;
    }
    if (a->node->vlan != b->node->vlan) {
        return a->node->vlan < b->node->vlan ? -1 : 1;
    }
    return memcmp(&a->node->mac, &b->node->mac, sizeof a->node->mac);
}

static char *
port_string(const struct fdb_node *n,
            const char *(*port_name)(uint32_t, void *), void *aux)
{
    if (n->table->region) {
        return xstrdup(state_region_header(n->table->region)->vif.iface_id);
    }

    const char *name = port_name ? port_name(n->port, aux) : NULL;
    return name ? xstrdup(name) : xasprintf("%"PRIu32, n->port);
}

void
fdb_show(const struct fdb *fdb, struct ds *s, long long now,
         const char *(*port_name)(uint32_t port, void *aux), void *aux)
{
    size_t max = hmap_count(&fdb->index), n = 0;
    struct show_line *lines = xmalloc((max + 1) * sizeof *lines);
    const struct fdb_node *node;

    HMAP_FOR_EACH (node, hmap_node, &fdb->index) {
        if (!node_expired(fdb, node, now)) {
            lines[n].port = port_string(node, port_name, aux);
            lines[n++].node = node;
        }
    }
    qsort(lines, n, sizeof *lines, compare_show_lines);

    ds_put_cstr(s, " port  VLAN  MAC                Age\n");
    for (size_t i = 0; i < n; i++) {
        node = lines[i].node;
        ds_put_format(s, "%5s  %4"PRIu16"  "ETH_ADDR_FMT"  ", lines[i].port,
                      node->vlan, ETH_ADDR_ARGS(node->mac));
        if (node->flags & FDB_F_STATIC) {
            ds_put_cstr(s, "static\n");
        } else {
            ds_put_format(s, "%3lld\n", (now - node->last_seen) / 1000);
        }
        free(lines[i].port);
    }
    free(lines);
}

void
fdb_format_stats(const struct fdb *fdb, struct ds *s)
{
    ds_put_format(s, "  Current/maximum MAC entries in the table: "
                  "%"PRIuSIZE"/%"PRIuSIZE" per table\n",
                  fdb_n_entries(fdb), fdb->max_entries);
    ds_put_format(s, "  Total number of learned MAC entries     : %"PRIu64"\n"
                  "  Total number of expired MAC entries     : %"PRIu64"\n"
                  "  Total number of evicted MAC entries     : %"PRIu64"\n"
                  "  Total number of port moved MAC entries  : %"PRIu64"\n",
                  fdb->stats.learned, fdb->stats.expired,
                  fdb->stats.evicted, fdb->stats.moves);
}

/* Validation. */

char *
fdb_check_slot(uint16_t type, const void *payload, size_t len)
{
    if (type != OOR_SLOT_FDB) {
        return xasprintf("unknown slot type %u", type);
    }
    if (len != sizeof(struct fdb_entry)) {
        return xasprintf("FDB entry of %"PRIuSIZE" bytes, expected "
                         "%"PRIuSIZE, len, sizeof(struct fdb_entry));
    }

    struct fdb_entry e;
    memcpy(&e, payload, sizeof e);
    if (eth_addr_is_multicast(e.mac) || eth_addr_is_zero(e.mac)) {
        return xasprintf("FDB entry for non-unicast MAC "ETH_ADDR_FMT,
                         ETH_ADDR_ARGS(e.mac));
    }
    if (e.vlan > 4095) {
        return xasprintf("FDB entry with VLAN %"PRIu16, e.vlan);
    }
    if (e.flags & ~FDB_F_STATIC) {
        return xasprintf("FDB entry with unknown flags 0x%"PRIx32, e.flags);
    }
    if (e.pad) {
        return xstrdup("FDB entry with nonzero padding");
    }
    if (e.last_seen > INT64_MAX) {
        return xasprintf("FDB entry last seen at %"PRIu64" ms", e.last_seen);
    }
    return NULL;
}
