/*
 * The migration engine: moves a VIF's state region from the provider it
 * leaves (the source) to the one it arrives at (the destination), over the
 * transport (DESIGN.md §5, §6).
 *
 * Source: migration_export() opens the VIF for one session and gives its
 * token.  It serves reads without doing anything per pass; each keepalive
 * renews the export's lease and is answered with the source's clock.  The
 * destination's fence stops the VIF (it forwards and changes nothing) and is
 * answered with the final generation; confirm deletes the VIF; abort, or a
 * frame from the VM on the source's own port, unfences.
 *
 * Destination: migration_start() connects to the source, makes the VIF a
 * standby and, in pre-copy, keeps it in step with the source's region pass
 * after pass (vif-replica.h), never blocking the loop.  The first frame
 * from the VM (or migration_activate()) triggers the switch-over: fence, a
 * last pass of what changed, activate, process the held frames, confirm.
 * Any failure before activation empties the standby and the source stays
 * authoritative.
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
/* 'lease_ms' 0 is the transport's default lease. */
char *migration_export(struct migration_engine *, const char *iface_id,
                       unsigned int lease_ms,
                       char **tokenp) OVS_WARN_UNUSED_RESULT;

/* Destination.
 *
 * Pre-copy (the default) pulls the whole region at once and then, pass after
 * pass, the pages that changed, into a standby that is built as entries
 * arrive.  It has converged when a pass (after the first) changed fewer than
 * 'threshold' pages (0: never), or after 'max_passes'; from then on it keeps
 * the standby in step with a pass every 'interval_ms'.  Stop-copy pulls
 * nothing until the switch-over.  Either way the switch-over (a frame from
 * the VM, or migration_activate()) fences the source and pulls the last
 * delta, holding the VM's frames meanwhile, however far pre-copy has got. */
struct migration_options {
    bool precopy;
    unsigned int max_passes;        /* >= 1. */
    unsigned int threshold;         /* Pages. */
    unsigned int interval_ms;       /* >= 1. */
    unsigned int timeout_ms;        /* Fail after so long without progress. */
};
#define MIGRATION_OPTIONS_DEFAULT                                       \
    { .precopy = true, .max_passes = 30, .threshold = 16,               \
      .interval_ms = 100, .timeout_ms = 10000 }

/* Parses one "KEY=VALUE" migrate/start argument (mode=precopy|stop-copy,
 * passes=N, threshold=PAGES, interval=MS, timeout=MS) into 'options';
 * returns NULL, or
 * an error naming the bad argument. */
char *migration_options_parse(struct migration_options *, const char *arg)
    OVS_WARN_UNUSED_RESULT;
/* Parses migrate/export's "lease=MS". */
char *migration_lease_parse(const char *arg, unsigned int *lease_ms)
    OVS_WARN_UNUSED_RESULT;

char *migration_start(struct migration_engine *, const char *iface_id,
                      const char *endpoint, const char *token,
                      const struct migration_options *)
    OVS_WARN_UNUSED_RESULT;
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
