/*
 * The offload/ commands of ovs-appctl -t ovs-offloadd.  The names are fixed:
 * tests and tooling use them.
 */
#ifndef OFFLOAD_APPCTL_H
#define OFFLOAD_APPCTL_H 1

struct ct_engine;
struct port_set;
struct vif_store;

void offload_appctl_register(struct vif_store *, struct ct_engine *,
                             struct port_set *);

#endif /* offload-appctl.h */
