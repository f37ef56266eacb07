/*
 * The datapath's offload/ commands of ovs-appctl -t ovs-offloadd: ports,
 * flows, FDB, neighbours, routes and the default pipeline.  The names are
 * fixed: tests and tooling use them.
 */
#ifndef OFFLOAD_DATAPATH_APPCTL_H
#define OFFLOAD_DATAPATH_APPCTL_H 1

struct datapath;
struct datapath_tables;
struct vif_store;

void datapath_appctl_register(struct datapath *,
                              const struct datapath_tables *,
                              struct vif_store *);

#endif /* datapath-appctl.h */
