/*
 * The action interpreter: runs one packet through the flow table.
 *
 * flow_exec() looks the packet up in a table and performs the matched flow's
 * actions in order, with OpenFlow's semantics, as OVS's translation and
 * datapath would together:
 *
 *   - Header actions (set_field, mod_dl_src, mod_nw_dst, dec_ttl, VLAN push,
 *     pop and rewrite) change the packet, with checksums kept right, and the
 *     flow with it; a set_field whose field the packet lacks does nothing.
 *     dec_ttl on a TTL of 1 or 0 drops the packet and stops.
 *   - Outputs hand the packet to the datapath's callbacks, a copy if more
 *     actions follow, so that later changes do not reach an earlier output.
 *     Output to the packet's own in_port is skipped unless it says in_port.
 *   - resubmit and goto_table look the packet up again and run that flow's
 *     actions; changes made there stay.  A miss there does nothing.
 *   - ct runs the packet through the datapath's conntrack callback.  As in
 *     OVS, the connection's fields (ct_state, ct_zone, ct_mark, ct_label) are
 *     only seen by the lookup that ct(table=T) starts; the actions after ct
 *     see them cleared.  NAT rewrites the packet for both.
 *   - Nesting (resubmit, goto_table, ct(table=)) is limited to
 *     FLOW_EXEC_MAX_DEPTH levels and FLOW_EXEC_MAX_LOOKUPS lookups per
 *     packet; beyond, the packet is dropped.
 *
 * Every flow matched counts the packet (flow_rule_account()).
 *
 * The packet must have been through flow_extract() into 'flow', with
 * 'flow->in_port' set and the pipeline's metadata (metadata, registers,
 * ct fields) zero or as the caller wants them, and its checksums must be
 * complete: rewrites update them incrementally.
 */
#ifndef OFFLOAD_FLOW_EXEC_H
#define OFFLOAD_FLOW_EXEC_H 1

#include <stdint.h>
#include "openvswitch/types.h"

struct ct_exec;
struct dp_packet;
struct flow;
struct flow_table;

#define FLOW_EXEC_MAX_DEPTH 64
#define FLOW_EXEC_MAX_LOOKUPS 4096

/* The datapath's part.  The forwarding callbacks own the packet they are
 * given: they send it or free it. */
struct flow_exec_ops {
    /* Sends 'packet' out of 'port'. */
    void (*output)(ofp_port_t port, struct dp_packet *packet, void *aux);

    /* The NORMAL action: the L2 learning switch; 'flow' describes 'packet'
     * and is the caller's until the callback returns. */
    void (*normal)(struct dp_packet *packet, const struct flow *flow,
                   void *aux);

    /* Sends 'packet' out of every port but 'in_port' (FLOOD and ALL). */
    void (*flood)(struct dp_packet *packet, const struct flow *flow,
                  ofp_port_t in_port, void *aux);

    /* Runs 'packet' through the connection tracker of zone 'zone' as 'x'
     * says ('x->pickup' and 'x->may_commit' are the callback's to change in
     * a copy), rewriting it for NAT, and stores the connection's ct_state,
     * ct_zone, ct_mark and ct_label in 'flow'.  Which table a zone maps to
     * is the callback's business.
     *
     * On entry, 'flow' still has the fields of an earlier ct of this packet
     * whose table= lookup is running (ct(nat,table=1), then in table 1
     * ct(commit,nat(src=..))).  OVS takes the packet as tracked, and
     * translated, by then: the second ct must find the same connection and
     * must not translate the packet again. */
    void (*ct)(uint16_t zone, const struct ct_exec *x,
               struct dp_packet *packet, struct flow *flow, void *aux);

    void *aux;
};

enum flow_exec_status {
    FLOW_EXEC_FORWARDED,        /* Handed to a forwarding callback. */
    FLOW_EXEC_MISS,             /* No flow in the first table matched. */
    FLOW_EXEC_DROP,             /* The flows forwarded it nowhere. */
    FLOW_EXEC_TTL,              /* dec_ttl found the TTL spent. */
    FLOW_EXEC_DEPTH,            /* Too deep or too many lookups. */
};

struct flow_exec_result {
    enum flow_exec_status status;
    unsigned int n_forwarded;   /* Packets handed to callbacks. */
};

/* Runs 'packet', described by 'flow', through 'table' from table
 * 'table_id'.
 *
 * On FLOW_EXEC_MISS, nothing happened: the packet and 'flow' are still the
 * caller's, for its default pipeline.  Otherwise flow_exec() has consumed
 * the packet, and 'flow' describes it as the last action left it.  A
 * packet stopped by TTL or depth may have been forwarded before that. */
struct flow_exec_result flow_exec(struct flow_table *, uint8_t table_id,
                                  struct dp_packet *packet, struct flow *flow,
                                  const struct flow_exec_ops *,
                                  long long now);

/* "forwarded", "table miss", "dropped by flow", "ttl expired", "resubmit
 * depth exceeded": drop reasons for counters. */
const char *flow_exec_status_name(enum flow_exec_status);

#endif /* flow-exec.h */
