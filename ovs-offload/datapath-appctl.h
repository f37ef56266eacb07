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

/* 'state_dir' is where the datapath's settings are saved; it must outlive
 * the commands. */
void datapath_appctl_register(struct datapath *,
                              const struct datapath_tables *,
                              struct vif_store *, const char *state_dir);

#endif /* datapath-appctl.h */
