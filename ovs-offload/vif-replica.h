/*
 * A replica: a standby VIF kept in step with the VIF's region on another
 * provider as pre-copy pulls it (DESIGN.md §4, §6).
 *
 * The replica keeps the source's slot numbers.  Each conntrack entry goes
 * into the VIF's table as it arrives, with its deadline moved onto this
 * host's clock, so activation finds the index built and only applies the last
 * delta.  The VIF's other slots (FDB, neighbours, routes, flows: a handful)
 * wait raw in the region, and vif_replica_commit() loads them.
 *
 * A pass:
 *
 *   1. vif_replica_begin_pass() takes the source's header page, as read at
 *      the start of the pass.
 *   2. vif_replica_next_gens() names the next range of the generation array
 *      whose summary rose, and where it goes; the caller reads each into
 *      place, then calls vif_replica_gens_done().
 *   3. vif_replica_next_run() names the next run of pages whose generation
 *      rose since this replica last applied them; the caller reads them and
 *      hands them to vif_replica_apply(), in any order.
 *   4. vif_replica_end_pass() finishes the pass.
 *
 * While the source still writes, a slot may be caught mid-write (its
 * checksum fails) and a connection may be seen in its new slot before its
 * old slot is seen free; such a page is simply read again next pass.  After
 * the fence the source is still, so the pass that follows it is 'final': a
 * torn slot or a clash is then an error, as is any slot that fails its
 * checks in any pass.  Every error names the first fault.
 *
 * The replica owns no VIF: the caller makes the standby and deletes or
 * empties it (vif_replica_empty()) when a migration fails.
 */
#ifndef OFFLOAD_VIF_REPLICA_H
#define OFFLOAD_VIF_REPLICA_H 1

#include <stdbool.h>
#include <stdint.h>
#include "openvswitch/compiler.h"

struct oor_header;
struct vif;
struct vif_store;

struct vif_replica_stats {
    uint32_t pages;             /* Pages applied this pass. */
    uint32_t slots;             /* Slots changed this pass. */
    uint32_t retries;           /* Pages left for the next pass. */
};

/* 'clock_offset' is this host's monotonic clock minus the source's. */
struct vif_replica *vif_replica_create(struct vif_store *, struct vif *,
                                       long long clock_offset);
void vif_replica_destroy(struct vif_replica *);

char *vif_replica_begin_pass(struct vif_replica *, const void *header_page,
                             bool final) OVS_WARN_UNUSED_RESULT;
bool vif_replica_next_gens(struct vif_replica *, uint64_t *offset,
                           void **buf, size_t *len);
char *vif_replica_gens_done(struct vif_replica *) OVS_WARN_UNUSED_RESULT;
bool vif_replica_next_run(struct vif_replica *, uint32_t max_pages,
                          uint64_t *offset, uint32_t *n_pages);
char *vif_replica_apply(struct vif_replica *, uint64_t offset,
                        const void *pages, uint32_t n_pages)
    OVS_WARN_UNUSED_RESULT;
char *vif_replica_end_pass(struct vif_replica *, long long now,
                           struct vif_replica_stats *) OVS_WARN_UNUSED_RESULT;

/* After the final pass: takes the source's last VIF definition, loads the
 * FDB, neighbours, routes and flows, and moves their times onto this host's
 * clock.  The VIF is then complete; the caller activates it. */
void vif_replica_commit(struct vif_replica *, long long now);

/* Empties 'vif' of everything a replica put in it. */
void vif_replica_empty(struct vif *);

#endif /* vif-replica.h */
