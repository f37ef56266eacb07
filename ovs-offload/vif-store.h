/*
 * The VIFs of this provider, kept in --state-dir so that a restarted daemon
 * comes back exactly as it was:
 *
 *     DIR/IFACE_ID.region    the VIF's state region (definition and state)
 *     DIR/IFACE_ID.local     {"netdev": ..., "zone": ...}: what is local to
 *                            this host, written atomically; a VIF that is
 *                            not active also has "mode" ("standby" or
 *                            "fenced") and "made_for_migration"
 *
 * Every change is all or nothing: on error, memory and files stay as they
 * were.
 */
#ifndef OFFLOAD_VIF_STORE_H
#define OFFLOAD_VIF_STORE_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "openvswitch/compiler.h"
#include "region-format.h"
#include "vif.h"

struct ct_engine;
struct fdb;
struct flow_table;
struct neigh_table;
struct route_table;
struct vif;

/* The provider's tables a VIF keeps state in; each VIF gets its own part of
 * each, in its region.  'flows' may be NULL (no flow table). */
struct vif_modules {
    struct ct_engine *ct;
    struct fdb *fdb;
    struct neigh_table *neigh;
    struct route_table *routes;
    struct flow_table *flows;
};

struct vif_store *vif_store_open(const char *dir, const struct vif_modules *,
                                 long long now, char **errorp);
void vif_store_close(struct vif_store *);
const char *vif_store_dir(const struct vif_store *);

struct vif *vif_store_find(const struct vif_store *, const char *iface_id);
struct vif *vif_store_find_by_netdev(const struct vif_store *,
                                     const char *netdev);
struct vif *vif_store_find_by_cookie(const struct vif_store *,
                                     uint64_t cookie);
/* Bumped by every change to the set of VIFs or their netdevs, so that the
 * datapath knows to refresh what it derived from them. */
uint64_t vif_store_seqno(const struct vif_store *);
/* All VIFs, sorted by iface-id; the caller frees the array. */
struct vif **vif_store_list(const struct vif_store *, size_t *n);

/* Adds a VIF.  'zone' 0 picks a free one; 'netdev' NULL is "-".  Adding one
 * again with identical parameters succeeds and changes nothing. */
char *vif_store_add(struct vif_store *, const struct oor_vif_def *,
                    const char *netdev, int zone, long long now,
                    struct vif **) OVS_WARN_UNUSED_RESULT;
char *vif_store_bind(struct vif_store *, struct vif *, const char *netdev)
    OVS_WARN_UNUSED_RESULT;
void vif_store_del(struct vif_store *, struct vif *);

/* Installs the VIF that 'image' (already checked) names, with its state.  A
 * VIF that holds state is replaced only if 'replace'; it keeps its netdev and
 * zone, and the old state stays until the new one is complete. */
char *vif_store_import(struct vif_store *, const void *image, size_t len,
                       bool replace, long long now, struct vif **)
    OVS_WARN_UNUSED_RESULT;

/* Sets who forwards for 'vif' (vif.h), freezes or thaws its tables, and
 * records the mode in its local file, so that a restart keeps it: a fenced
 * VIF comes back fenced, and a standby, whose migration the restart ended,
 * comes back empty and active, or not at all if 'made_for_migration'.  On
 * error (the file could not be written) the VIF is in 'mode' all the same,
 * and the error says the restart would lose it. */
char *vif_store_set_mode(struct vif_store *, struct vif *, enum vif_mode,
                         bool made_for_migration) OVS_WARN_UNUSED_RESULT;

/* Takes 'def' as the VIF's definition and loads its FDB, neighbours, routes
 * and flows again from its region, whose times for them are on a clock that
 * read 'from_clock' when this one read 'now' (a replica's, vif-replica.h).
 * The conntrack table is left as it is. */
void vif_store_reload(struct vif_store *, struct vif *,
                      const struct oor_vif_def *def, long long from_clock,
                      long long now);

#endif /* vif-store.h */
