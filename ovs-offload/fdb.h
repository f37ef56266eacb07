/*
 * The L2 forwarding database: MAC learning with aging, as OVS's
 * mac-learning does it, with the entries of each VIF kept in its state
 * region so that they move with the VM.
 *
 * There is one 'struct fdb' for the provider.  It holds:
 *
 *   - one table per VIF (struct fdb_vif), opened on the VIF's region: the
 *     MACs learned on the VIF's port, one OOR_SLOT_FDB slot each;
 *   - the host table, in memory only: MACs learned on uplinks and other
 *     ports that are not VIFs, each with its port number;
 *   - one hash index over all of them, so that a lookup is one probe
 *     whichever table holds the entry.  (mac, vlan) is in at most one table.
 *
 * Learning a MAC that is known elsewhere moves it: the old entry goes, the
 * new one is made, and the move is counted.  A static entry never moves and
 * never ages.  A dynamic entry expires once it has not been seen for the
 * idle time (300 s by default, as in OVS); fdb_run() removes expired entries
 * with bounded work per call, and lookups ignore them meanwhile.
 *
 * Times are milliseconds of the writer's monotonic clock.  An entry's
 * last-seen time is written to the region at most once per second
 * (FDB_TOUCH_MS), so steady traffic does not dirty the region's pages on
 * every frame: a migration's pre-copy then converges.
 *
 * Writes go into the regions unsealed; whoever seals the regions
 * (ct_engine_seal() in the main loop) publishes them.
 *
 * Not thread-safe: the datapath thread owns the FDB.
 */
#ifndef OFFLOAD_FDB_H
#define OFFLOAD_FDB_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "openvswitch/compiler.h"
#include "packets.h"
#include "region-format.h"

struct ds;
struct state_region;
struct vif;

#define FDB_DEFAULT_IDLE_TIME 300       /* Seconds, as OVS. */
#define FDB_MIN_IDLE_TIME 15            /* Seconds, as OVS's mac-aging-time. */
#define FDB_MAX_IDLE_TIME 3600
#define FDB_DEFAULT_MAX 8192            /* Entries per table, as OVS. */
#define FDB_TOUCH_MS 1000

/* One entry as it sits in an OOR_SLOT_FDB slot.  All little-endian. */
struct fdb_entry {
    struct eth_addr mac;        /* Unicast, nonzero. */
    uint16_t vlan;              /* 0 (untagged) to 4095. */
    uint64_t last_seen;         /* Writer's monotonic ms. */
    uint32_t flags;             /* FDB_F_*. */
    uint32_t pad;               /* Zero. */
};
_Static_assert(sizeof(struct fdb_entry) == OOR_SLOT_FDB_LEN,
               "an FDB entry is what the region format says it is");

enum {
    FDB_F_STATIC = 1 << 0,      /* Added by hand: never ages or moves. */
};

/* Where a MAC is: behind a VIF ('vif' nonnull) or on host port 'port'. */
struct fdb_where {
    struct vif *vif;
    uint32_t port;              /* When 'vif' is NULL. */
};

enum fdb_learn_result {
    FDB_LEARN_REFRESHED,        /* Already known here. */
    FDB_LEARN_NEW,
    FDB_LEARN_MOVED,            /* Was known elsewhere; moved here. */
    FDB_LEARN_IGNORED,          /* Multicast or zero source, bad VLAN, a
                                 * static entry elsewhere, or a frozen
                                 * table. */
    FDB_LEARN_FAILED,           /* The region could not grow, or the table
                                 * is full of static entries. */
};
const char *fdb_learn_result_to_string(enum fdb_learn_result);

struct fdb_stats {
    uint64_t learned;           /* Entries made by learning. */
    uint64_t moves;
    uint64_t expired;
    uint64_t evicted;           /* Dropped for room at the table limit. */
};

/* The FDB. */
struct fdb *fdb_create(void);
void fdb_destroy(struct fdb *);         /* VIF tables must be closed. */
/* 'idle_s' is clamped to FDB_MIN_IDLE_TIME..FDB_MAX_IDLE_TIME. */
void fdb_set_idle_time(struct fdb *, unsigned int idle_s);
unsigned int fdb_get_idle_time(const struct fdb *);
/* Entries per table, VIF or host; at the limit, learning evicts the table's
 * least recently seen dynamic entry. */
void fdb_set_max_entries(struct fdb *, size_t);
size_t fdb_n_entries(const struct fdb *);
void fdb_get_stats(const struct fdb *, struct fdb_stats *);

/* Per-VIF tables.
 *
 * fdb_vif_open() indexes the FDB slots already in 'region' (a restart or an
 * import).  The table uses the region but does not own it; 'vif' is only
 * handed back by lookups.  An entry of the region whose (mac, vlan) is
 * already known elsewhere replaces that entry (the VM it belongs to is
 * here now), unless that one is static and this one is not: then this one
 * is dropped from the region.
 *
 * fdb_vif_replace() swaps in 'region', whose entries replace the table's,
 * and leaves the old region untouched for the caller to close.
 * fdb_vif_rebase() moves the times of a region written on another clock,
 * which read 'from_clock' (its header's clock_ms) when it was sealed, onto
 * this host's: every entry keeps its age; entries already expired go. */
struct fdb_vif *fdb_vif_open(struct fdb *, struct vif *,
                             struct state_region *);
void fdb_vif_close(struct fdb_vif *);   /* Leaves the region alone. */
void fdb_vif_replace(struct fdb_vif *, struct state_region *);
void fdb_vif_rebase(struct fdb_vif *, long long from_clock, long long now);
size_t fdb_vif_count(const struct fdb_vif *);

/* A frozen table's region is not written by learning or expiry, as a
 * migration's fence requires: nothing is learned into it, its MACs seen
 * elsewhere do not move away (FDB_LEARN_IGNORED), and its entries do not
 * expire; lookups still find them.  Explicit changes (static entries,
 * deletions, flushes) are the caller's to refuse. */
void fdb_vif_set_frozen(struct fdb_vif *, bool frozen);
void fdb_vif_flush(struct fdb_vif *);   /* Static entries too. */

/* Learning: 'mac' was the source of a frame in 'vlan' that came in from the
 * VIF's port, or from host port 'port'. */
enum fdb_learn_result fdb_learn_vif(struct fdb_vif *, struct eth_addr mac,
                                    uint16_t vlan, long long now);
enum fdb_learn_result fdb_learn_port(struct fdb *, uint32_t port,
                                     struct eth_addr mac, uint16_t vlan,
                                     long long now);

/* Finds where 'mac' in 'vlan' is.  O(1).  Expired entries are not found. */
bool fdb_lookup(const struct fdb *, struct eth_addr mac, uint16_t vlan,
                long long now, struct fdb_where *);

/* Adds a static entry behind 't' (or, if 't' is NULL, on host port 'port'),
 * replacing whatever entry (mac, vlan) had.  Returns NULL or a malloc'd
 * error. */
char *fdb_add_static(struct fdb *, struct fdb_vif *t, uint32_t port,
                     struct eth_addr mac, uint16_t vlan, long long now)
    OVS_WARN_UNUSED_RESULT;
/* Removes the entry for (mac, vlan), static or not; false if none. */
bool fdb_del(struct fdb *, struct eth_addr mac, uint16_t vlan);
/* Removes every host entry on 'port' (the port went away). */
void fdb_flush_port(struct fdb *, uint32_t port);
/* Removes every entry, static ones too, as OVS's fdb/flush. */
void fdb_flush(struct fdb *);

/* Removes expired entries, a bounded amount of work per call (oldest first,
 * so the work is proportional to what expires, not to the table's size);
 * returns how many it removed. */
size_t fdb_run(struct fdb *, long long now);

/* offload/fdb-show: the entries as OVS's fdb/show prints them,
 *
 *      port  VLAN  MAC                Age
 *       vm1     0  50:54:00:00:00:01    3
 *        p2     0  50:54:00:00:00:09  static
 *
 * sorted by port, VLAN and MAC.  A VIF's entries show its iface-id, a host
 * port's the name 'port_name' gives (the number if it gives NULL or is
 * NULL). */
void fdb_show(const struct fdb *, struct ds *, long long now,
              const char *(*port_name)(uint32_t port, void *aux), void *aux);
/* OVS's fdb/stats-show lines. */
void fdb_format_stats(const struct fdb *, struct ds *);

/* The region validator's check of an OOR_SLOT_FDB slot: NULL if good, else
 * a malloc'd description of the first fault.  Other types are refused. */
char *fdb_check_slot(uint16_t type, const void *payload, size_t len);

#endif /* fdb.h */
