/*
 * The offload flow table: OpenFlow tables 0 to 254 on OVS's classifier,
 * written and printed in ovs-ofctl flow syntax.
 *
 * Flows are added, deleted and dumped as ovs-ofctl add-flow, del-flows and
 * dump-flows do.  Only what flow-validate.h lists is accepted: anything else
 * is refused with an error naming it, and nothing is added.  Port names come
 * from a port map the caller keeps current (flow_table_set_port_map()).
 *
 * Ownership, which migration depends on.  A flow belongs to the VIF whose
 * port it matches with in_port, or whose cookie it carries; otherwise it is a
 * host flow.  The caller knows the VIFs, so it decides, through
 * flow_table_ops.owner, once, when the flow is added; the table keeps the
 * answer with the flow.
 *
 * Persistence.  A VIF's flows live in its state region (flow-store.h), with
 * their counters, which the datapath updates in place; the caller seals the
 * region in its batches.  In a region, the VIF's own port is written as the
 * port name FLOW_TABLE_VIF_PORT, because port numbers and netdev names are
 * local to a host: loading the flows on any host puts that host's port of the
 * VIF there.  Host flows live in the host-flows file, without counters.
 * Every change is all or nothing: when its region or file cannot be written,
 * the table stays as it was.
 *
 * A stored flow that cannot be installed on loading (its port is not there
 * yet, it conflicts with another owner's identical flow, or it is not
 * supported here) stays where it is stored, in the region or in the file,
 * and loading it again later retries it.
 *
 * Times are milliseconds of this host's monotonic clock, passed in.
 * Not thread-safe: one thread owns the table.
 */
#ifndef OFFLOAD_FLOW_TABLE_H
#define OFFLOAD_FLOW_TABLE_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "classifier.h"
#include "flow-store.h"
#include "openvswitch/compiler.h"
#include "openvswitch/ofp-flow.h"
#include "openvswitch/types.h"

struct ds;
struct flow;
struct match;
struct ofputil_port_map;
struct state_region;

#define FLOW_TABLE_N_TABLES 255     /* Tables 0 to 254. */

/* How a region's flows name the port of the VIF that owns them.  No netdev
 * can have this name: Linux refuses '/' in one. */
#define FLOW_TABLE_VIF_PORT "vif/self"

/* A flow.  Read-only outside flow-table.c, except through
 * flow_rule_account(). */
struct flow_rule {
    struct cls_rule cr;             /* In its table's classifier. */
    uint8_t table_id;
    ovs_be64 cookie;
    uint16_t idle_timeout;          /* Seconds, 0 for none. */
    uint16_t hard_timeout;
    enum ofputil_flow_mod_flags flags;
    struct ofpact *ofpacts;
    size_t ofpacts_len;

    char *owner;                    /* VIF iface-id; NULL: a host flow. */
    char *text;                     /* Canonical, with this host's names. */
    uint64_t id;                    /* Unique in its region. */
    long long created;
    long long used;                 /* Last packet, or 'created'. */
    uint64_t n_packets;
    uint64_t n_bytes;

    struct state_region *region;    /* The owner's, or NULL. */
    struct flow_chain chain;        /* Its slots there. */
};

/* What the caller knows about VIFs.  Any member may be NULL: without 'owner'
 * every flow is a host flow. */
struct flow_table_ops {
    /* The iface-id of the VIF that owns a flow with 'match' and 'cookie', or
     * NULL for a host flow. */
    const char *(*owner)(const struct match *, ovs_be64 cookie, void *aux);

    /* VIF 'iface_id''s state region, or NULL if there is no such VIF; stores
     * the VIF's port number on this host in '*port', or OFPP_NONE if it has
     * none yet, and its conntrack zone in '*zone' (0 if it has none). */
    struct state_region *(*region)(const char *iface_id, ofp_port_t *port,
                                   uint16_t *zone, void *aux);
    void *aux;
};

/* 'host_flows' is the host-flows file, or NULL to keep host flows in memory
 * only.  Nothing is loaded here: see flow_table_load_host(). */
struct flow_table *flow_table_create(const struct flow_table_ops *,
                                     const char *host_flows);
/* Frees the table; regions and the file stay as they are. */
void flow_table_destroy(struct flow_table *);

/* The port names for parsing and printing.  The caller keeps 'map' alive and
 * current until the next call; NULL means numbers only. */
void flow_table_set_port_map(struct flow_table *,
                             const struct ofputil_port_map *);

/* ovs-ofctl add-flow: 'flow' in its syntax, with table=, priority=,
 * cookie=, idle_timeout=, hard_timeout=, check_overlap, reset_counts,
 * no_packet_counts, no_byte_counts.  A flow with the same table, match and
 * priority as an existing one replaces it, keeping its counters unless
 * reset_counts. */
char *flow_table_add(struct flow_table *, const char *flow, long long now)
    OVS_WARN_UNUSED_RESULT;

/* ovs-ofctl del-flows [--strict]: deletes the flows that 'flow' (NULL or ""
 * for all flows, in all tables) matches, loosely or, if 'strict', exactly,
 * with cookie=V/MASK and out_port= honoured; stores how many in '*n'. */
char *flow_table_del(struct flow_table *, const char *flow, bool strict,
                     size_t *n) OVS_WARN_UNUSED_RESULT;

/* ovs-ofctl dump-flows: one line per flow, as ovs-ofctl prints them (a
 * leading space, duration, n_packets, n_bytes), sorted by table, then
 * priority (highest first), then text.  'filter' may be NULL. */
struct flow_dump_filter {
    int table_id;               /* -1 for all tables. */
    bool by_owner;              /* Only the flows of 'owner'... */
    const char *owner;          /* ...a VIF's iface-id, or NULL: host flows. */
};
void flow_table_dump(const struct flow_table *,
                     const struct flow_dump_filter *, long long now,
                     struct ds *);

/* The canonical text of 'rule': what dump-flows prints without counters,
 * and parses back to the same flow. */
void flow_rule_format(const struct flow_rule *,
                      const struct ofputil_port_map *, struct ds *);

size_t flow_table_count(const struct flow_table *);

/* The datapath.  flow_table_lookup() returns the highest-priority flow of
 * table 'table_id' that 'flow' matches, or NULL.  flow_rule_account() counts
 * a packet of 'n_bytes' against 'rule', in its region too. */
struct flow_rule *flow_table_lookup(const struct flow_table *,
                                    uint8_t table_id, struct flow *);
void flow_rule_account(struct flow_rule *, size_t n_bytes, long long now);

/* Removes the flows whose idle or hard timeout has passed; returns how
 * many.  Cheap to call often: it looks at most once a second, and only if
 * some flow has a timeout. */
size_t flow_table_run(struct flow_table *, long long now);

/* VIFs.
 *
 * flow_table_load_owner() (re)loads VIF 'iface_id''s flows from its region
 * (flow_table_ops.region): after a restart, an import or a change of the
 * VIF's port.  The times in the region are on a clock that read
 * 'from_clock' when this one read 'now' (an import passes the region
 * header's clock; a restart on the same host passes 'now'); they are moved
 * onto this host's clock, in the region too.  Stores in '*n_loaded' how many
 * flows were installed; returns an error naming the first stored flow that
 * was not.
 *
 * flow_table_del_owner() removes all of the VIF's flows from the table; if
 * 'erase', from its region too (the VIF stays but loses its flows); if not,
 * the region is left alone (the VIF goes away, or its region is about to be
 * replaced).  Call it before closing the VIF's region.  Returns how many.
 *
 * flow_table_load_host() installs the flows of the host-flows file that are
 * not installed yet: at start, after the VIFs, and again when ports change,
 * for those that waited for one. */
char *flow_table_load_owner(struct flow_table *, const char *iface_id,
                            long long from_clock, long long now,
                            size_t *n_loaded) OVS_WARN_UNUSED_RESULT;
size_t flow_table_del_owner(struct flow_table *, const char *iface_id,
                            bool erase);
char *flow_table_load_host(struct flow_table *, long long now,
                           size_t *n_loaded) OVS_WARN_UNUSED_RESULT;

#endif /* flow-table.h */
