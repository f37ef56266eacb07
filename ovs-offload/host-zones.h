/*
 * Conntrack zones that no VIF owns: the host's own, used by flows with
 * ct(zone=N) for state that stays on this host, such as a SNAT shared by
 * several VMs.  Each lives in a region of its own, DIR/zone-N.hostct, made
 * on first use and found again after a restart; it is never migrated.
 */
#ifndef OFFLOAD_HOST_ZONES_H
#define OFFLOAD_HOST_ZONES_H 1

#include <stdint.h>

struct ct_engine;
struct ct_table;

struct host_zones *host_zones_open(const char *dir, struct ct_engine *,
                                   long long now);
void host_zones_close(struct host_zones *);

/* The conntrack table of 'zone': a VIF's, if a VIF has the zone, else the
 * host's, made now if need be.  NULL only if a new region can't be made. */
struct ct_table *host_zones_table(struct host_zones *, uint16_t zone,
                                  long long now);

#endif /* host-zones.h */
