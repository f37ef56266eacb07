/*
 * The conntrack engine: tables of connections kept in state regions, with a
 * hash index beside each region that is never stored or transferred.
 */
#include <config.h>
#include <errno.h>
#include "ct-engine.h"

#include <string.h>
#include "ct-entry.h"
#include "ct-key.h"
#include "ct-nat.h"
#include "ct-tcp.h"
#include "dp-packet.h"
#include "hash.h"
#include "openvswitch/dynamic-string.h"
#include "openvswitch/hmap.h"
#include "openvswitch/vlog.h"
#include "packets.h"
#include "state-region.h"
#include "util.h"

VLOG_DEFINE_THIS_MODULE(ct_engine);

/* Linux's default timeouts for what is not TCP. */
#define CT_UDP_UNREPLIED_MS (30 * 1000)
#define CT_UDP_REPLIED_MS (120 * 1000)
#define CT_ICMP_MS (30 * 1000)
#define CT_OTHER_UNREPLIED_MS (60 * 1000)
#define CT_OTHER_REPLIED_MS (600 * 1000)

/* OVS's default global limit. */
#define CT_DEFAULT_LIMIT 3000000

/* Slots the expiry sweep visits per ct_engine_run(), and how long it rests
 * after going round every table: lookups ignore expired entries anyway, so
 * the sweep only reclaims them, and must cost little on a busy datapath. */
#define CT_SWEEP_BUDGET 4096
#define CT_SWEEP_INTERVAL_MS 1000

#define N_ZONES 65536

/* The index: each used slot is in the hash twice, by its orig tuple
 * (node[0]) and by its reply tuple (node[1]).  The array is parallel to the
 * region's slots, so it costs no allocation per connection. */
struct ct_index_node {
    struct hmap_node node[2];
};

struct ct_table {
    struct hmap_node engine_node;   /* In ct_engine's 'tables', by zone. */
    struct ct_engine *engine;
    uint16_t zone;
    struct state_region *region;
    struct hmap index;
    struct ct_index_node *nodes;    /* One per slot of 'region'. */
    uint32_t n_nodes;
    uint32_t count;
    uint32_t sweep_next;            /* Next slot the sweep visits. */
    bool frozen;                    /* Expiry leaves it alone. */
};

struct ct_engine {
    struct hmap tables;             /* Contains ct_table, by zone. */
    uint32_t limit;
    uint32_t n_entries;
    uint32_t *zone_limit;           /* [N_ZONES], 0 for none. */
    uint32_t hash_basis;
    int sweep_zone;                 /* Zone the sweep resumes in. */
    long long next_sweep;           /* When the next round may start. */
    struct ct_stats stats;
};

struct ct_engine *
ct_engine_create(void)
{
    struct ct_engine *e = xzalloc(sizeof *e);

    hmap_init(&e->tables);
    e->limit = CT_DEFAULT_LIMIT;
    e->zone_limit = xcalloc(N_ZONES, sizeof *e->zone_limit);
    e->hash_basis = 0;  /* Fixed, so that dumps sort and hash stably. */
    return e;
}

void
ct_engine_destroy(struct ct_engine *e)
{
    if (e) {
        ovs_assert(hmap_is_empty(&e->tables));
        hmap_destroy(&e->tables);
        free(e->zone_limit);
        free(e);
    }
}

void
ct_engine_set_limit(struct ct_engine *e, uint32_t max_entries)
{
    e->limit = max_entries;
}

uint32_t
ct_engine_get_limit(const struct ct_engine *e)
{
    return e->limit;
}

void
ct_engine_set_zone_limit(struct ct_engine *e, uint16_t zone, uint32_t limit)
{
    e->zone_limit[zone] = limit;
}

uint32_t
ct_engine_get_zone_limit(const struct ct_engine *e, uint16_t zone)
{
    return e->zone_limit[zone];
}

bool
ct_engine_next_zone_limit(const struct ct_engine *e, int *zone)
{
    for (int z = *zone + 1; z < N_ZONES; z++) {
        if (e->zone_limit[z]) {
            *zone = z;
            return true;
        }
    }
    return false;
}

uint32_t
ct_engine_n_entries(const struct ct_engine *e)
{
    return e->n_entries;
}

void
ct_engine_get_stats(const struct ct_engine *e, struct ct_stats *stats)
{
    *stats = e->stats;
}

struct ct_table *
ct_engine_find_table(const struct ct_engine *e, uint16_t zone)
{
    struct ct_table *t;

    HMAP_FOR_EACH_WITH_HASH (t, engine_node, hash_int(zone, 0), &e->tables) {
        if (t->zone == zone) {
            return t;
        }
    }
    return NULL;
}

static int
compare_tables(const void *a_, const void *b_)
{
    const struct ct_table *const *a = a_;
    const struct ct_table *const *b = b_;

    return (*a)->zone < (*b)->zone ? -1 : (*a)->zone > (*b)->zone;
}

void
ct_engine_format_stats(const struct ct_engine *e, struct ds *s)
{
    size_t n = hmap_count(&e->tables);
    const struct ct_table **tables = xmalloc(n * sizeof *tables + 1);
    const struct ct_table *t;
    size_t i = 0;

    HMAP_FOR_EACH (t, engine_node, &e->tables) {
        tables[i++] = t;
    }
    qsort(tables, n, sizeof *tables, compare_tables);

    ds_put_format(s, "entries: %"PRIu32" (limit %"PRIu32")\n",
                  e->n_entries, e->limit);
    for (i = 0; i < n; i++) {
        uint32_t zl = e->zone_limit[tables[i]->zone];

        ds_put_format(s, "  zone %"PRIu16": %"PRIu32" entries",
                      tables[i]->zone, tables[i]->count);
        if (zl) {
            ds_put_format(s, " (limit %"PRIu32")", zl);
        }
        ds_put_char(s, '\n');
    }
    ds_put_format(s, "inserts: %"PRIu64"\ndeletes: %"PRIu64"\n"
                  "invalid: %"PRIu64"\nlimit hits: %"PRIu64"\n"
                  "expirations: %"PRIu64"\n",
                  e->stats.inserts, e->stats.deletes, e->stats.invalid,
                  e->stats.limit_hits, e->stats.expirations);
    free(tables);
}

/* Entries and the index. */

static const struct ct_entry *
entry_at(const struct ct_table *t, uint32_t slot)
{
    const struct oor_slot_hdr *h = state_region_slot(t->region, slot);
    return (const struct ct_entry *) (h + 1);
}

static struct ct_entry *
entry_mut(struct ct_table *t, uint32_t slot)
{
    return state_region_slot_mut(t->region, slot);
}

static const struct ct_tuple *
entry_tuple(const struct ct_entry *e, int dir)
{
    return dir ? &e->reply : &e->orig;
}

/* A VIF's region holds more than conntrack entries: these visit only the
 * conntrack slots. */
static bool
next_entry(const struct ct_table *t, uint32_t *slot)
{
    return state_region_next_of_type(t->region, OOR_SLOT_CT, slot);
}

#define CT_FOR_EACH_ENTRY(SLOT, TABLE)                  \
    for ((SLOT) = UINT32_MAX; next_entry(TABLE, &(SLOT)); )

static void
index_hashes(const struct ct_table *t, const struct ct_entry *e,
             uint32_t hashes[2])
{
    for (int dir = 0; dir < 2; dir++) {
        hashes[dir] = ct_tuple_hash(entry_tuple(e, dir),
                                    t->engine->hash_basis);
    }
}

static void
index_insert_hashed(struct ct_table *t, uint32_t slot,
                    const uint32_t hashes[2])
{
    for (int dir = 0; dir < 2; dir++) {
        hmap_insert(&t->index, &t->nodes[slot].node[dir], hashes[dir]);
    }
}

static void
index_insert(struct ct_table *t, uint32_t slot)
{
    uint32_t hashes[2];

    index_hashes(t, entry_at(t, slot), hashes);
    index_insert_hashed(t, slot, hashes);
}

static void
index_remove(struct ct_table *t, uint32_t slot)
{
    for (int dir = 0; dir < 2; dir++) {
        hmap_remove(&t->index, &t->nodes[slot].node[dir]);
    }
}

/* Rebuilds the index from the region: on open, after growth moved the node
 * array, and after a replace. */
static void
index_rebuild(struct ct_table *t)
{
    uint32_t slot;

    hmap_clear(&t->index);
    free(t->nodes);
    t->n_nodes = state_region_n_slots(t->region);
    t->nodes = xcalloc(t->n_nodes ? t->n_nodes : 1, sizeof *t->nodes);
    hmap_reserve(&t->index, 2 * state_region_n_used(t->region));
    t->count = 0;
    CT_FOR_EACH_ENTRY (slot, t) {
        index_insert(t, slot);
        t->count++;
    }
}

/* Finds the entry with 'key' as its orig or reply tuple; sets '*dir' to
 * which. */
static bool index_lookup_hashed(const struct ct_table *,
                                 const struct ct_tuple *, uint32_t hash,
                                 uint32_t *slotp, int *dirp);

static bool
index_lookup(const struct ct_table *t, const struct ct_tuple *key,
             uint32_t *slotp, int *dirp)
{
    return index_lookup_hashed(t, key,
                               ct_tuple_hash(key, t->engine->hash_basis),
                               slotp, dirp);
}

static bool
index_lookup_hashed(const struct ct_table *t, const struct ct_tuple *key,
                    uint32_t hash, uint32_t *slotp, int *dirp)
{
    struct hmap_node *node;

    for (node = hmap_first_with_hash(&t->index, hash); node;
         node = hmap_next_with_hash(node)) {
        size_t ofs = (char *) node - (char *) t->nodes;
        uint32_t slot = ofs / sizeof *t->nodes;
        int dir = (ofs % sizeof *t->nodes) != 0;

        if (ct_tuple_equal(entry_tuple(entry_at(t, slot), dir), key)) {
            *slotp = slot;
            *dirp = dir;
            return true;
        }
    }
    return false;
}

static void
delete_entry(struct ct_table *t, uint32_t slot)
{
    index_remove(t, slot);
    state_region_free(t->region, slot);
    t->count--;
    t->engine->n_entries--;
    t->engine->stats.deletes++;
}

static bool
entry_expired(const struct ct_entry *e, long long now)
{
    return (long long) e->expiration <= now;
}

static long long
entry_timeout(const struct ct_entry *e)
{
    switch (e->orig.proto) {
    case IPPROTO_TCP:
        return ct_tcp_timeout_ms(ct_tcp_conn_state(e->peer));
    case IPPROTO_UDP:
        return (e->status & CT_ENTRY_SEEN_REPLY
                ? CT_UDP_REPLIED_MS : CT_UDP_UNREPLIED_MS);
    case IPPROTO_ICMP:
    case IPPROTO_ICMPV6:
        return CT_ICMP_MS;
    default:
        return (e->status & CT_ENTRY_SEEN_REPLY
                ? CT_OTHER_REPLIED_MS : CT_OTHER_UNREPLIED_MS);
    }
}

/* Tables. */

struct ct_table *
ct_table_open(struct ct_engine *e, uint16_t zone, struct state_region *r,
              long long now OVS_UNUSED, char **errorp)
{
    if (ct_engine_find_table(e, zone)) {
        *errorp = xasprintf("zone %"PRIu16" is already in use", zone);
        return NULL;
    }

    struct ct_table *t = xzalloc(sizeof *t);
    t->engine = e;
    t->zone = zone;
    t->region = r;
    hmap_init(&t->index);
    index_rebuild(t);
    hmap_insert(&e->tables, &t->engine_node, hash_int(zone, 0));
    e->n_entries += t->count;
    *errorp = NULL;
    return t;
}

void
ct_table_close(struct ct_table *t)
{
    if (t) {
        t->engine->n_entries -= t->count;
        hmap_remove(&t->engine->tables, &t->engine_node);
        hmap_destroy(&t->index);
        free(t->nodes);
        free(t);
    }
}

struct state_region *
ct_table_region(const struct ct_table *t)
{
    return t->region;
}

struct state_region *
ct_table_replace(struct ct_table *t, struct state_region *r,
                 long long now OVS_UNUSED)
{
    struct state_region *old = t->region;

    t->engine->n_entries -= t->count;
    t->region = r;
    index_rebuild(t);
    t->engine->n_entries += t->count;
    t->sweep_next = 0;
    return old;
}

void
ct_table_rebase(struct ct_table *t, long long from_clock, long long now)
{
    uint32_t slot;

    CT_FOR_EACH_ENTRY (slot, t) {
        struct ct_entry *e = entry_mut(t, slot);
        long long left = (long long) e->expiration - from_clock;

        e->expiration = now + MAX(left, 0);
    }
    state_region_seal(t->region, now);
}

int
ct_table_put(struct ct_table *t, uint32_t slot, const struct ct_entry *entry,
             long long clock_offset, char **errorp)
{
    uint32_t hashes[2];
    uint32_t other;
    int dir;

    *errorp = NULL;
    index_hashes(t, entry, hashes);
    for (int d = 0; d < 2; d++) {
        if (index_lookup_hashed(t, entry_tuple(entry, d), hashes[d], &other,
                                &dir)) {
            return EEXIST;
        }
    }

    char *error = state_region_put(t->region, slot, OOR_SLOT_CT, entry);
    if (error) {
        *errorp = error;
        return ENOSPC;
    }

    struct ct_entry *e = entry_mut(t, slot);
    e->expiration = MAX((long long) e->expiration + clock_offset, 0);
    if (slot >= t->n_nodes) {
        index_rebuild(t);       /* The region grew. */
    } else {
        index_insert_hashed(t, slot, hashes);
        t->count++;
    }
    t->engine->n_entries++;
    return 0;
}

void
ct_table_prefetch(const struct ct_table *t, const struct ct_entry *e)
{
    uint32_t hashes[2];

    index_hashes(t, e, hashes);
    for (int dir = 0; dir < 2; dir++) {
        OVS_PREFETCH(&t->index.buckets[hashes[dir] & t->index.mask]);
    }
}

char *
ct_table_reserve(struct ct_table *t, uint32_t n_slots)
{
    char *error = state_region_reserve(t->region, n_slots);

    if (!error && state_region_n_slots(t->region) > t->n_nodes) {
        index_rebuild(t);
    }
    if (!error) {
        /* Room for a quarter load, for as many entries as may exist: a
         * region is not all conntrack, and never more than the limit. */
        hmap_reserve(&t->index,
                     8 * (size_t) MIN(n_slots, t->engine->limit));
    }
    return error;
}

void
ct_table_del_slot(struct ct_table *t, uint32_t slot)
{
    index_remove(t, slot);
    state_region_free(t->region, slot);
    t->count--;
    t->engine->n_entries--;
}

void
ct_table_set_frozen(struct ct_table *t, bool frozen)
{
    t->frozen = frozen;
}

uint16_t
ct_table_zone(const struct ct_table *t)
{
    return t->zone;
}

void
ct_table_set_zone(struct ct_table *t, uint16_t zone)
{
    hmap_remove(&t->engine->tables, &t->engine_node);
    t->zone = zone;
    hmap_insert(&t->engine->tables, &t->engine_node, hash_int(zone, 0));
}

uint32_t
ct_table_count(const struct ct_table *t)
{
    return t->count;
}

void
ct_table_flush(struct ct_table *t)
{
    uint32_t slot;

    CT_FOR_EACH_ENTRY (slot, t) {
        delete_entry(t, slot);
    }
}

/* Expiry. */

/* Visits up to '*budget' used slots of 't' from where its sweep stopped.
 * Only used slots are read: on tmpfs, reading a page never written would
 * allocate it. */
static size_t
sweep_table(struct ct_table *t, long long now, size_t *budget)
{
    uint32_t slot = t->sweep_next ? t->sweep_next - 1 : UINT32_MAX;
    size_t n = 0;

    while (*budget && next_entry(t, &slot)) {
        (*budget)--;
        if (entry_expired(entry_at(t, slot), now)) {
            delete_entry(t, slot);
            t->engine->stats.expirations++;
            n++;
        }
        t->sweep_next = slot + 1;
    }
    if (*budget) {
        t->sweep_next = 0;      /* Went round the whole table. */
    }
    return n;
}

/* The table whose zone is the lowest at or above 'zone', if any. */
static struct ct_table *
next_table(const struct ct_engine *e, int zone)
{
    struct ct_table *best = NULL, *t;

    HMAP_FOR_EACH (t, engine_node, &e->tables) {
        if (t->zone >= zone && (!best || t->zone < best->zone)) {
            best = t;
        }
    }
    return best;
}

size_t
ct_engine_run(struct ct_engine *e, long long now)
{
    size_t budget = CT_SWEEP_BUDGET;
    size_t n = 0;

    if (now < e->next_sweep) {
        return 0;
    }
    while (budget) {
        struct ct_table *t = next_table(e, e->sweep_zone);

        if (!t) {
            /* A whole round is done: rest until the next interval. */
            e->sweep_zone = 0;
            e->next_sweep = now + CT_SWEEP_INTERVAL_MS;
            break;
        }
        if (!t->frozen) {
            n += sweep_table(t, now, &budget);
        }
        if (t->sweep_next) {
            break;              /* Out of budget inside this table. */
        }
        e->sweep_zone = t->zone + 1;
    }
    return n;
}

void
ct_engine_seal(struct ct_engine *e, long long now)
{
    struct ct_table *t;

    HMAP_FOR_EACH (t, engine_node, &e->tables) {
        state_region_seal(t->region, now);
    }
}

/* Packets. */

static bool
nat_taken(const struct ct_tuple *tuple, void *t_)
{
    struct ct_table *t = t_;
    uint32_t slot;
    int dir;

    return index_lookup(t, tuple, &slot, &dir);
}

static enum ct_refusal
check_limits(const struct ct_table *t)
{
    const struct ct_engine *e = t->engine;
    uint32_t zl = e->zone_limit[t->zone];

    if (zl && t->count >= zl) {
        return CT_REFUSED_ZONE_LIMIT;
    }
    if (e->n_entries >= e->limit) {
        return CT_REFUSED_LIMIT;
    }
    return CT_REFUSED_NONE;
}

static void
apply_metadata(struct ct_entry *e, const struct ct_exec *x)
{
    if (x->set_mark) {
        e->mark = *x->set_mark;
    }
    if (x->set_label) {
        e->label[0] = x->set_label->u64.lo;
        e->label[1] = x->set_label->u64.hi;
    }
}

static bool
entry_natted(const struct ct_entry *e)
{
    return e->status & (CT_ENTRY_SNAT | CT_ENTRY_DNAT);
}

/* The ct_state NAT bits of a packet of 'e' travelling in 'dir', as OVS
 * reports them: undoing a SNAT on a reply changes its destination. */
static void
result_metadata(struct ct_exec_result *res, const struct ct_entry *e)
{
    res->mark = e->mark;
    res->label.u64.lo = e->label[0];
    res->label.u64.hi = e->label[1];
}

static uint32_t
nat_bits(const struct ct_entry *e, int dir)
{
    bool src = e->status & (dir ? CT_ENTRY_DNAT : CT_ENTRY_SNAT);
    bool dst = e->status & (dir ? CT_ENTRY_SNAT : CT_ENTRY_DNAT);

    return (src ? CS_SRC_NAT : 0) | (dst ? CS_DST_NAT : 0);
}

/* If the action asks for NAT, rewrites 'pkt', a packet of entry 'e'
 * travelling in 'dir' with key 'key', to the other direction's tuple
 * reversed, and returns the NAT bits for its ct_state. */
static uint32_t
nat_packet(struct dp_packet *pkt, const struct ct_entry *e, int dir,
           const struct ct_tuple *key, const struct ct_exec *x)
{
    if (!x->nat || !entry_natted(e)) {
        return 0;
    }

    struct ct_tuple target;
    ct_tuple_reverse(&target, entry_tuple(e, !dir));
    ct_nat_rewrite(pkt, key, &target);
    return nat_bits(e, dir);
}

static struct ct_exec_result
commit_new(struct ct_table *t, struct dp_packet *pkt,
           const struct ct_tuple *key, const struct ct_exec *x, long long now)
{
    struct ct_exec_result res = { .ct_state = CS_TRACKED | CS_NEW };
    struct ct_entry e;
    uint32_t slot;

    res.refused = check_limits(t);
    if (res.refused) {
        t->engine->stats.limit_hits++;
        return res;
    }

    memset(&e, 0, sizeof e);
    e.orig = *key;
    if (x->nat && !x->nat->no_range) {
        if (!ct_nat_choose(x->nat, key, &e.reply, nat_taken, t)) {
            res.refused = CT_REFUSED_NAT;
            return res;
        }
        e.status |= x->nat->snat ? CT_ENTRY_SNAT : CT_ENTRY_DNAT;
    } else {
        ct_tuple_reverse(&e.reply, key);
    }
    if (key->proto == IPPROTO_TCP) {
        ct_tcp_init(e.peer, pkt);
    }
    e.packets[0] = 1;
    e.bytes[0] = dp_packet_size(pkt);
    e.expiration = now + entry_timeout(&e);
    apply_metadata(&e, x);

    char *error = state_region_alloc(t->region, OOR_SLOT_CT, &slot);
    if (error) {
        static struct vlog_rate_limit rl = VLOG_RATE_LIMIT_INIT(1, 5);
        VLOG_WARN_RL(&rl, "zone %"PRIu16": %s", t->zone, error);
        free(error);
        res.refused = CT_REFUSED_NOMEM;
        return res;
    }
    if (slot >= t->n_nodes) {
        /* The region grew: slot numbers held, but the node array must
         * follow. */
        memcpy(entry_mut(t, slot), &e, sizeof e);
        index_rebuild(t);
    } else {
        memcpy(entry_mut(t, slot), &e, sizeof e);
        index_insert(t, slot);
        t->count++;
    }
    t->engine->n_entries++;
    t->engine->stats.inserts++;

    res.ct_state |= nat_packet(pkt, &e, 0, key, x);
    result_metadata(&res, &e);
    return res;
}

/* Tracks a packet of an existing connection.  Returns false if the
 * connection must start over ('pkt' is a fresh SYN on a closing one). */
static bool
update_entry(struct ct_table *t, uint32_t slot, int dir,
             struct dp_packet *pkt, const struct ct_tuple *key,
             const struct ct_exec *x, long long now,
             struct ct_exec_result *res)
{
    const struct ct_entry *ce = entry_at(t, slot);
    bool is_new;

    if (ce->orig.proto == IPPROTO_TCP) {
        struct ct_tcp_peer peer[2];

        memcpy(peer, ce->peer, sizeof peer);
        is_new = false;
        switch (ct_tcp_update(peer, pkt, dir)) {
        case CT_TCP_INVALID:
            /* A refused segment may still have recorded its side's
             * starting point, as in OVS. */
            if (memcmp(peer, ce->peer, sizeof peer)) {
                memcpy(entry_mut(t, slot)->peer, peer, sizeof peer);
            }
            res->ct_state = CS_TRACKED | CS_INVALID;
            t->engine->stats.invalid++;
            return true;
        case CT_TCP_RESTART:
            delete_entry(t, slot);
            return false;
        case CT_TCP_VALID_NEW:
            is_new = true;
            break;
        case CT_TCP_VALID:
        default:
            break;
        }
        memcpy(entry_mut(t, slot)->peer, peer, sizeof peer);
    } else {
        is_new = !dir && !(ce->status & CT_ENTRY_SEEN_REPLY);
    }

    struct ct_entry *e = entry_mut(t, slot);
    if (dir) {
        e->status |= CT_ENTRY_SEEN_REPLY;
        e->proto_state = (e->orig.proto == IPPROTO_TCP
                          ? 0 : CT_OTHER_MULTIPLE);
    }
    e->packets[dir]++;
    e->bytes[dir] += dp_packet_size(pkt);
    e->expiration = now + entry_timeout(e);
    if (x->commit) {
        apply_metadata(e, x);
    }

    /* As in OVS, a packet still opening the connection is "+new" alone,
     * whichever side sent it. */
    res->ct_state = (CS_TRACKED
                     | (is_new ? CS_NEW : CS_ESTABLISHED)
                     | (dir && !is_new ? CS_REPLY_DIR : 0)
                     | nat_packet(pkt, e, dir, key, x));
    result_metadata(res, e);
    return true;
}

/* Finds the NATed connection whose packet 'key' is once already translated:
 * an original-direction packet after SNAT or DNAT carries the reverse of
 * the reply tuple, a reply after the way back the reverse of the original
 * one. */
static bool
lookup_translated(const struct ct_table *t, const struct ct_tuple *key,
                  uint32_t *slotp, int *dirp)
{
    struct ct_tuple rev;
    int found;

    ct_tuple_reverse(&rev, key);
    if (!index_lookup(t, &rev, slotp, &found)
        || !entry_natted(entry_at(t, *slotp))) {
        return false;
    }
    *dirp = !found;
    return true;
}

static struct ct_exec_result
execute_related(struct ct_table *t, struct dp_packet *pkt,
                const struct ct_tuple *key, const struct ct_exec *x,
                long long now)
{
    struct ct_exec_result res = { .ct_state = CS_TRACKED | CS_INVALID };
    uint32_t slot;
    int dir;

    if (!index_lookup(t, key, &slot, &dir)
        || entry_expired(entry_at(t, slot), now)) {
        t->engine->stats.invalid++;
        return res;
    }

    const struct ct_entry *e = entry_at(t, slot);
    res.ct_state = CS_TRACKED | CS_RELATED | (dir ? CS_REPLY_DIR : 0);
    result_metadata(&res, e);
    if (x->nat && entry_natted(e)) {
        struct ct_tuple quoted;

        ct_tuple_reverse(&quoted, key);
        ct_nat_rewrite_related(pkt, &quoted, entry_tuple(e, !dir));
        res.ct_state |= nat_bits(e, dir);
    }
    return res;
}

struct ct_exec_result
ct_table_execute(struct ct_table *t, struct dp_packet *pkt,
                 const struct ct_exec *x, long long now)
{
    struct ct_exec_result res = { .ct_state = CS_TRACKED | CS_INVALID };
    struct ct_tuple key;
    uint32_t slot;
    int dir;

    switch (ct_key_extract(pkt, &key)) {
    case CT_KEY_INVALID:
        t->engine->stats.invalid++;
        return res;
    case CT_KEY_RELATED:
        return execute_related(t, pkt, &key, x, now);
    case CT_KEY_CONN:
    default:
        break;
    }

    if (index_lookup(t, &key, &slot, &dir)
        || (x->retrack && lookup_translated(t, &key, &slot, &dir))) {
        if (entry_expired(entry_at(t, slot), now)) {
            delete_entry(t, slot);
            t->engine->stats.expirations++;
        } else if (update_entry(t, slot, dir, pkt, &key, x, now, &res)) {
            return res;
        }
    }

    if (key.proto == IPPROTO_TCP
        && !ct_tcp_valid_new(dp_packet_l4(pkt), x->pickup)) {
        t->engine->stats.invalid++;
        return res;
    }
    if (x->may_commit ? !x->may_commit(&key, x->aux) : !x->commit) {
        res.ct_state = CS_TRACKED | CS_NEW;
        return res;
    }
    return commit_new(t, pkt, &key, x, now);
}

/* Imports. */

struct tuple_node {
    struct hmap_node node;
    const struct ct_tuple *tuple;
};

static bool
tuple_seen(struct hmap *seen, struct tuple_node *n, const struct ct_tuple *t)
{
    uint32_t hash = ct_tuple_hash(t, 0);
    struct tuple_node *other;

    HMAP_FOR_EACH_WITH_HASH (other, node, hash, seen) {
        if (ct_tuple_equal(other->tuple, t)) {
            return true;
        }
    }
    n->tuple = t;
    hmap_insert(seen, &n->node, hash);
    return false;
}

char *
ct_image_check_clashes(const void *image, size_t len)
{
    const struct oor_header *h = image;
    const uint8_t *slots = (const uint8_t *) image + h->slot_offset;
    size_t n_slots = (size_t) h->n_slot_pages * OOR_SLOTS_PER_PAGE;
    struct tuple_node *nodes = xmalloc(2 * MAX(n_slots, 1) * sizeof *nodes);
    struct hmap seen = HMAP_INITIALIZER(&seen);
    char *error = NULL;
    size_t n = 0;

    ovs_assert(h->slot_offset + n_slots * OOR_SLOT_SIZE <= len);
    for (size_t i = 0; i < n_slots && !error; i++) {
        const struct oor_slot_hdr *sh = (const void *) (slots
                                                        + i * OOR_SLOT_SIZE);
        const struct ct_entry *e = (const void *) (sh + 1);

        if (sh->type != OOR_SLOT_CT) {
            continue;
        }
        for (int dir = 0; dir < 2 && !error; dir++) {
            if (tuple_seen(&seen, &nodes[n++], entry_tuple(e, dir))) {
                struct ds s = DS_EMPTY_INITIALIZER;

                ct_entry_format(&s, e, 0, 0, false);
                error = xasprintf("conntrack clash: slot %"PRIuSIZE" reuses "
                                  "the %s tuple of another entry: %s", i,
                                  dir ? "reply (NAT mapping)" : "original",
                                  ds_cstr(&s));
                ds_destroy(&s);
            }
        }
    }
    hmap_destroy(&seen);
    free(nodes);
    return error;
}

/* Dumps. */

struct dump_line {
    char *text;
};

static int
compare_lines(const void *a_, const void *b_)
{
    const struct dump_line *a = a_, *b = b_;
    return strcmp(a->text, b->text);
}

void
ct_table_dump(const struct ct_table *t, struct ds *s, long long now,
              bool stats)
{
    struct dump_line *lines = xmalloc((t->count + 1) * sizeof *lines);
    struct ds line = DS_EMPTY_INITIALIZER;
    size_t n = 0;
    uint32_t slot;

    CT_FOR_EACH_ENTRY (slot, t) {
        const struct ct_entry *e = entry_at(t, slot);

        if (!entry_expired(e, now) && n < t->count) {
            ds_clear(&line);
            ct_entry_format(&line, e, t->zone, now, stats);
            lines[n++].text = ds_steal_cstr(&line);
        }
    }
    qsort(lines, n, sizeof *lines, compare_lines);
    for (size_t i = 0; i < n; i++) {
        ds_put_format(s, "%s\n", lines[i].text);
        free(lines[i].text);
    }
    ds_destroy(&line);
    free(lines);
}

void
ct_state_format(struct ds *s, uint32_t ct_state)
{
    if (!(ct_state & CS_TRACKED)) {
        ds_put_cstr(s, "-trk");
        return;
    }
    ds_put_cstr(s, "+trk");
    for (uint32_t bit = 1; bit <= CS_DST_NAT; bit <<= 1) {
        if (bit != CS_TRACKED && ct_state & bit) {
            ds_put_format(s, "+%s", ct_state_to_string(bit));
        }
    }
}
