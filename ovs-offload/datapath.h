/*
 * The datapath: receives frames on the ports, runs each through the
 * pipeline and sends it on, the way a SmartNIC's eSwitch does.
 *
 * The pipeline for one frame:
 *
 *   1. From a VIF's port, with the default pipeline on: port security (its
 *      own MAC, its own addresses, honest ARP and ND) and learning (FDB,
 *      neighbours).
 *   2. The operators' flows, from table 0.
 *   3. If no flow matched, the default pipeline: the VIF's firewall policy
 *      on the way out of the VM, L3 for frames to the router MAC, else L2
 *      (FDB, or flood), and the destination VIF's policy on the way in.
 *      With the default pipeline off, a table miss drops.
 *
 * A VIF's floating addresses (vif.h) work in the default pipeline: its
 * policy translates the VM's connections that leave through an uplink (or
 * may: a unicast frame the FDB or the router cannot place yet), and the
 * ARP requests and neighbour solicitations for them that come in on an
 * uplink are answered with the VIF's MAC while the VIF is active and
 * bound to a port here.
 *
 * Every drop is counted on the port the frame came in on, by reason.
 */
#ifndef OFFLOAD_DATAPATH_H
#define OFFLOAD_DATAPATH_H 1

#include <stdbool.h>
#include "openvswitch/types.h"

struct ct_engine;
struct ds;
struct fdb;
struct flow_table;
struct host_zones;
struct neigh_table;
struct port;
struct port_set;
struct route_table;
struct vif;
struct vif_store;

struct datapath_tables {
    struct port_set *ports;
    struct ct_engine *ct;
    struct fdb *fdb;
    struct neigh_table *neigh;
    struct route_table *routes;
    struct host_zones *host_zones;
};

/* Creates the datapath on 'tables' and makes its flow table, whose flows
 * persist in 'host_flows' and in the VIFs' regions.  The VIF store comes
 * later (datapath_set_vifs()), since loading VIFs loads their flows. */
struct datapath *datapath_create(const struct datapath_tables *,
                                 const char *host_flows);
void datapath_destroy(struct datapath *);
struct flow_table *datapath_flows(const struct datapath *);
void datapath_set_vifs(struct datapath *, struct vif_store *);
void datapath_set_host_zones(struct datapath *, struct host_zones *);

/* Tells the datapath that ports or VIFs changed (added, deleted, bound). */
void datapath_reconfigure(struct datapath *);

void datapath_run(struct datapath *, long long now);
void datapath_wait(struct datapath *);

void datapath_set_default_pipeline(struct datapath *, bool on);
bool datapath_get_default_pipeline(const struct datapath *);

/* Migration.  A standby VIF's frames wait in a bounded queue, in order:
 * those from the VM (the first of which is the switch-over trigger) and
 * those towards it.  A fenced VIF's frames are dropped, except that a frame
 * from the VM's own MAC on its port means the VM runs here again. */
struct datapath_migration_ops {
    void (*trigger)(struct vif *, void *aux);
    void (*resumed)(struct vif *, void *aux);
    void *aux;
};
void datapath_set_migration_ops(struct datapath *,
                                const struct datapath_migration_ops *);

struct datapath_hold_stats {
    uint64_t held;              /* Frames queued. */
    uint64_t released;          /* Processed at activation. */
    uint64_t dropped;           /* Over the count or too old. */
};
void datapath_set_hold_limits(struct datapath *, size_t max_frames,
                              long long max_ms);
void datapath_get_hold_limits(const struct datapath *, size_t *max_frames,
                              long long *max_ms);
/* Announces the floating addresses of 'vif', which is now active, on the
 * uplinks (a gratuitous ARP or an unsolicited neighbour advertisement for
 * each, from its MAC), then processes the frames held for it, in order.
 * The migration engine calls it at activation. */
void datapath_release(struct datapath *, struct vif *);
/* Drops the frames held for 'vif'. */
void datapath_discard(struct datapath *, struct vif *);
void datapath_hold_stats(const struct datapath *, const struct vif *,
                         struct datapath_hold_stats *);

/* The VIF on 'port', if any, and the port of 'vif', if it has one open. */
struct vif *datapath_port_vif(const struct datapath *, ofp_port_t);
struct port *datapath_vif_port(const struct datapath *, const struct vif *);

#endif /* datapath.h */
