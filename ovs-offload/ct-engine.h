/*
 * The conntrack engine.  Each VIF has a ct_table in its own zone, whose
 * entries live in the VIF's state region; the engine around the tables keeps
 * what is global: the global and per-zone limits and the statistics.
 *
 * ct_table_execute() is the equivalent of OVS's conntrack_execute() for one
 * packet: it finds or creates the connection, tracks TCP windows, applies NAT
 * to the packet, updates counters and returns the ct_state bits (CS_* from
 * packets.h).  The packet must have been through flow_extract() or
 * miniflow_extract(), so that its L3 and L4 offsets are set.
 *
 * Time is passed in, in milliseconds of the monotonic clock, so tests can
 * drive expiry.
 *
 * Not thread-safe: the datapath thread owns the engine.
 */
#ifndef OFFLOAD_CT_ENGINE_H
#define OFFLOAD_CT_ENGINE_H 1

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include "openvswitch/compiler.h"
#include "openvswitch/types.h"

struct ct_engine;
struct ct_entry;
struct ct_table;
struct dp_packet;
struct ds;
struct state_region;

/* A NAT action.  As in OVS, a connection's translation is applied to a
 * packet only when its ct() action asks for NAT, and a range, as
 * ct(nat(src=ADDR[-ADDR][:PORT[-PORT]])) gives it, applies to new
 * connections; ct(nat) alone ('no_range') only applies what exists. */
struct ct_nat {
    bool no_range;              /* ct(nat): translate existing ones only. */
    bool snat;                  /* Else DNAT. */
    struct in6_addr min_addr;   /* IPv4 v4-mapped. */
    struct in6_addr max_addr;
    uint16_t min_port;          /* 0: keep the port if free, else any. */
    uint16_t max_port;
};

struct ct_tuple;

struct ct_exec {
    bool commit;                /* Create the connection if it is new. */
    /* If nonnull, decides instead of 'commit' whether a new connection with
     * 'key' is created: a firewall's inbound openings. */
    bool (*may_commit)(const struct ct_tuple *key, void *aux);
    void *aux;
    bool pickup;                /* TCP: may a non-SYN start a connection? */
    const struct ct_nat *nat;   /* NULL: no NAT in this action. */
    const uint32_t *set_mark;   /* On commit or later; NULL to keep. */
    /* The packet already went through this zone's tracker on its way
     * through the pipeline, so it may already be translated: as OVS reuses
     * the connection it cached on the packet, a translated packet finds its
     * connection rather than starting another. */
    bool retrack;
    const ovs_u128 *set_label;
};

/* Why a new connection was not committed (ct_exec_result.refused). */
enum ct_refusal {
    CT_REFUSED_NONE,
    CT_REFUSED_LIMIT,           /* Global limit reached. */
    CT_REFUSED_ZONE_LIMIT,      /* Zone limit reached. */
    CT_REFUSED_NAT,             /* NAT range exhausted. */
    CT_REFUSED_NOMEM,           /* The region could not grow. */
};

struct ct_exec_result {
    uint32_t ct_state;          /* CS_* bits. */
    enum ct_refusal refused;
    uint32_t mark;              /* The connection's, if it has one. */
    ovs_u128 label;
};

struct ct_stats {
    uint64_t inserts;
    uint64_t deletes;
    uint64_t invalid;
    uint64_t limit_hits;
    uint64_t expirations;
};

/* The engine. */
struct ct_engine *ct_engine_create(void);
void ct_engine_destroy(struct ct_engine *);   /* Tables must be closed. */
void ct_engine_set_limit(struct ct_engine *, uint32_t max_entries);
uint32_t ct_engine_get_limit(const struct ct_engine *);
/* 'limit' 0 removes the zone's limit. */
void ct_engine_set_zone_limit(struct ct_engine *, uint16_t zone,
                              uint32_t limit);
uint32_t ct_engine_get_zone_limit(const struct ct_engine *, uint16_t zone);
/* Finds the next zone after '*zone' (or the first, if '*zone' is -1) that
 * has a limit. */
bool ct_engine_next_zone_limit(const struct ct_engine *, int *zone);
uint32_t ct_engine_n_entries(const struct ct_engine *);
void ct_engine_get_stats(const struct ct_engine *, struct ct_stats *);
void ct_engine_format_stats(const struct ct_engine *, struct ds *);

/* Expires entries whose deadline passed, a bounded amount of work per call,
 * and after a round of every table, nothing for a second; returns how many
 * it removed. */
size_t ct_engine_run(struct ct_engine *, long long now);
/* Seals every table's region (state_region_seal()). */
void ct_engine_seal(struct ct_engine *, long long now);

/* Tables.  ct_table_open() indexes the conntrack entries already in
 * 'region' (a restart, or an import).  The table uses the region but does
 * not own it: the VIF does, and other modules keep their slots in it too.
 * 'region_clock' is the clock the region's deadlines are on, and 'now' this
 * host's: a region written elsewhere is rebased.  Returns NULL and sets
 * '*errorp' if the zone is taken. */
struct ct_table *ct_table_open(struct ct_engine *, uint16_t zone,
                               struct state_region *, long long now,
                               char **errorp);
void ct_table_close(struct ct_table *);      /* Leaves the region alone. */
struct state_region *ct_table_region(const struct ct_table *);
/* Swaps in 'region', whose entries replace the table's, and returns the old
 * region, which the caller closes. */
struct state_region *ct_table_replace(struct ct_table *,
                                      struct state_region *, long long now);
/* Moves the deadlines of a region written on another clock, whose clock
 * read 'from_clock' when it was sealed, onto this host's: every entry keeps
 * the time it had left. */
void ct_table_rebase(struct ct_table *, long long from_clock, long long now);
/* A frozen table's region is not changed by expiry: a fenced VIF's state
 * stays as the destination pulls it. */
void ct_table_set_frozen(struct ct_table *, bool frozen);
uint16_t ct_table_zone(const struct ct_table *);
struct ct_table *ct_engine_find_table(const struct ct_engine *, uint16_t zone);
void ct_table_set_zone(struct ct_table *, uint16_t zone);
uint32_t ct_table_count(const struct ct_table *);
void ct_table_flush(struct ct_table *);

struct ct_exec_result ct_table_execute(struct ct_table *, struct dp_packet *,
                                       const struct ct_exec *, long long now);

/* A replica's changes, slot by slot: a destination copies the source's
 * entries into the same slot numbers of its standby table as pre-copy
 * pulls them, so that activation finds the index built.
 *
 * ct_table_put() makes slot 'slot' (which must be free) hold 'entry', with
 * its deadline moved by 'clock_offset' ms onto this host's clock, and indexes
 * it.  An entry one of whose tuples another entry already has is refused
 * (EEXIST), and the table stays as it was: a pass may see a connection's new
 * slot before it sees its old one go.  Other errors are the region's.
 * ct_table_del_slot() removes the entry in 'slot'. */
int ct_table_put(struct ct_table *, uint32_t slot, const struct ct_entry *,
                 long long clock_offset, char **errorp);
void ct_table_del_slot(struct ct_table *, uint32_t slot);
/* Starts loading the index buckets that ct_table_put() of 'entry' will
 * look at: a replica prefetches a page's entries before it puts them, so
 * that the cache misses overlap. */
void ct_table_prefetch(const struct ct_table *, const struct ct_entry *);
/* Makes room, in the region and the index, for 'n_slots' slots at once: a
 * replica learns the size of the region it copies before its entries. */
char *ct_table_reserve(struct ct_table *, uint32_t n_slots)
    OVS_WARN_UNUSED_RESULT;

/* Checks that no two conntrack entries of the region image 'image' (already
 * checked by state_region_check()) share a tuple, original or reply: two
 * connections, or two NAT mappings, on the same address and port.  Returns
 * NULL or a message naming the first clash. */
char *ct_image_check_clashes(const void *image, size_t len)
    OVS_WARN_UNUSED_RESULT;

/* Appends one dump-conntrack line per entry, sorted. */
void ct_table_dump(const struct ct_table *, struct ds *, long long now,
                   bool stats);

/* Appends "+trk+est" style flags for 'ct_state'; "-trk" if not tracked. */
void ct_state_format(struct ds *, uint32_t ct_state);

#endif /* ct-engine.h */
