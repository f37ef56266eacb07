/*
 * Where flows persist.
 *
 * A VIF's flows live in its state region, so that they migrate with it,
 * counters included.  A flow is stored as its text, the canonical ovs-ofctl
 * form without counters (flow-table.h makes it and parses it back), cut into
 * parts of FLOW_SLOT_TEXT bytes, one OOR_SLOT_FLOW slot per part: a chain.
 * Every part names its flow, its own number, the number of parts and the
 * whole text's length, so a reader that sees any one slot knows what the
 * chain must hold.  Part 0 also carries the counters and times, which the
 * datapath updates in place for every packet (flow_store_update()); the other
 * parts never change after they are written.
 *
 * Host flows (no VIF) stay on their host: one text per line in a file in
 * --state-dir, replaced atomically.  Their counters are not kept.
 *
 * Times are the writer's monotonic clock in milliseconds, as in conntrack;
 * the region header carries that clock, so an importer can rebase them.
 */
#ifndef OFFLOAD_FLOW_STORE_H
#define OFFLOAD_FLOW_STORE_H 1

#include <stddef.h>
#include <stdint.h>
#include "openvswitch/compiler.h"
#include "region-format.h"

struct state_region;
struct svec;

#define FLOW_SLOT_TEXT 192          /* Text bytes per part. */
#define FLOW_SLOT_MAX_PARTS 64
#define FLOW_TEXT_MAX (FLOW_SLOT_TEXT * FLOW_SLOT_MAX_PARTS)

/* One part of a flow's chain: the payload of an OOR_SLOT_FLOW slot.
 * Integers little-endian.  The text is printable ASCII, never NUL; the bytes
 * of 'text' past this part's share are zero. */
struct flow_slot {
    uint64_t flow_id;           /* Nonzero; unique among the region's flows. */
    uint16_t part;              /* 0 .. n_parts - 1. */
    uint16_t n_parts;           /* 1 .. FLOW_SLOT_MAX_PARTS, the fewest that
                                 * hold 'text_len' bytes. */
    uint16_t text_len;          /* Length of the whole text, in bytes. */
    uint16_t flags;             /* Zero in version 1. */

    /* Part 0 only; zero in the other parts. */
    uint64_t n_packets;
    uint64_t n_bytes;
    int64_t created_ms;         /* When the flow was added.  Signed: a
                                 * rebase may take it below zero. */
    int64_t used_ms;            /* Last packet; 'created_ms' if none. */

    /* Bytes [part * FLOW_SLOT_TEXT, ...) of the text. */
    char text[FLOW_SLOT_TEXT];
};

_Static_assert(sizeof(struct flow_slot) == OOR_SLOT_FLOW_LEN,
               "a flow slot is what the region format says it is");

/* A flow's counters and times, as part 0 keeps them. */
struct flow_store_stats {
    uint64_t n_packets;
    uint64_t n_bytes;
    long long created;
    long long used;
};

/* The slots of one chain: slots[i] holds part i.  An index for the writer,
 * never stored. */
struct flow_chain {
    uint32_t *slots;
    size_t n;
};

/* Writing.
 *
 * flow_store_write() stores 'text' (at most FLOW_TEXT_MAX bytes of printable
 * ASCII) as flow 'id' with 'stats' in 'region' and returns its slots in
 * '*chain'.  All or nothing: on error no slot stays allocated.  Pointers into
 * the region do not survive it (the region may grow).
 *
 * flow_store_update() rewrites the counters and the last-used time in part 0,
 * in place: the per-packet path.  flow_store_set_stats() rewrites all of
 * 'stats' (a rebase).  flow_store_erase() frees the chain's slots and
 * empties 'chain'; flow_chain_destroy() only frees the index. */
char *flow_store_write(struct state_region *, uint64_t id, const char *text,
                       const struct flow_store_stats *, struct flow_chain *)
    OVS_WARN_UNUSED_RESULT;
void flow_store_update(struct state_region *, uint32_t slot0,
                       uint64_t n_packets, uint64_t n_bytes, long long used);
void flow_store_set_stats(struct state_region *, uint32_t slot0,
                          const struct flow_store_stats *);
void flow_store_erase(struct state_region *, struct flow_chain *);
void flow_chain_destroy(struct flow_chain *);

/* Reading.  flow_store_read() returns the region's complete chains, sorted by
 * id, in a new array.  A chain that is incomplete or inconsistent (what a
 * crash between the writes of a chain and their seal can leave behind) is
 * freed, with a warning, and counted in '*n_dropped'. */
struct flow_stored {
    uint64_t id;
    char *text;
    struct flow_store_stats stats;
    struct flow_chain chain;
};
struct flow_stored *flow_store_read(struct state_region *, size_t *n,
                                    size_t *n_dropped);
void flow_stored_free(struct flow_stored *, size_t n);

/* Validation.
 *
 * flow_slot_check() checks one slot's payload alone, as the region validator
 * does for every slot (it has the signature of state_region_slot_check_func
 * and refuses any other type).  flow_store_check_region() checks that the
 * flow slots of a whole region, given as its bare pages (a region or the
 * region part of an image) that state_region_check() has passed, form
 * complete chains: every part of every flow exactly once, all agreeing.
 * Each returns NULL or a malloc'd message naming the first fault. */
char *flow_slot_check(uint16_t type, const void *payload, size_t len)
    OVS_WARN_UNUSED_RESULT;
char *flow_store_check_region(const void *region, size_t len)
    OVS_WARN_UNUSED_RESULT;

/* Host flows.  flow_store_save_host() writes 'texts' to 'path' atomically (a
 * temporary file beside it, then rename); flow_store_load_host() appends the
 * file's lines to 'texts' (a missing file holds none). */
char *flow_store_save_host(const char *path, const struct svec *texts)
    OVS_WARN_UNUSED_RESULT;
char *flow_store_load_host(const char *path, struct svec *texts)
    OVS_WARN_UNUSED_RESULT;

#endif /* flow-store.h */
