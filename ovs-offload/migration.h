/*
 * The migration engine: moves a VIF's whole state region from the provider
 * it leaves (the source) to the one it arrives at (the destination), over
 * the transport (DESIGN.md §5, §6).  This is stop-copy: the destination
 * pulls the region once, after the fence.
 *
 * Source: migration_export() opens the VIF for one session and gives its
 * token.  The destination's fence stops the VIF (it forwards and changes
 * nothing) and is answered with the final generation; confirm deletes the
 * VIF; abort, or a frame from the VM on the source's own port, unfences.
 *
 * Destination: migration_start() connects to the source and makes the VIF a
 * standby.  The first frame from the VM (or migration_activate()) triggers
 * the switch-over: fence, pull, check every slot, import, activate, process
 * the held frames, confirm.  Any failure before activation empties the
 * standby and the source stays authoritative.
 *
 * At most one side forwards for a VIF, ever.
 */
#ifndef OFFLOAD_MIGRATION_H
#define OFFLOAD_MIGRATION_H 1

#include <stdbool.h>
#include "openvswitch/compiler.h"

struct datapath;
struct ds;
struct transport_server;
struct vif_store;

struct migration_engine *migration_engine_create(struct vif_store *,
                                                 struct datapath *,
                                                 struct transport_server *);
void migration_engine_destroy(struct migration_engine *);
void migration_engine_run(struct migration_engine *);
void migration_engine_wait(struct migration_engine *);

/* Source. */
char *migration_export(struct migration_engine *, const char *iface_id,
                       char **tokenp) OVS_WARN_UNUSED_RESULT;

/* Destination.  'mode' is "stop-copy"; "precopy" is not yet supported. */
char *migration_start(struct migration_engine *, const char *iface_id,
                      const char *endpoint, const char *token,
                      const char *mode) OVS_WARN_UNUSED_RESULT;
char *migration_activate(struct migration_engine *, const char *iface_id)
    OVS_WARN_UNUSED_RESULT;

/* Either side. */
char *migration_abort(struct migration_engine *, const char *iface_id)
    OVS_WARN_UNUSED_RESULT;

/* One block per migration (or just 'iface_id''s): its first line is
 * "IFACE_ID phase=WORD". */
char *migration_status(const struct migration_engine *, const char *iface_id,
                       bool json, struct ds *) OVS_WARN_UNUSED_RESULT;

#endif /* migration.h */
