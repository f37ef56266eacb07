/*
 * The migrate/ commands of ovs-appctl -t ovs-offloadd.  The names and the
 * phase words are fixed: tooling reads them.
 */
#ifndef OFFLOAD_MIGRATION_APPCTL_H
#define OFFLOAD_MIGRATION_APPCTL_H 1

struct datapath;
struct migration_engine;

void migration_appctl_register(struct migration_engine *, struct datapath *);

#endif /* migration-appctl.h */
