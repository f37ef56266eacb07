/*
 * Routes and the L3 basics of the datapath: longest-prefix match for IPv4
 * and IPv6, the routing decision (output, next hop, MACs), and dec_ttl with
 * the MAC rewrite.
 *
 * A route is PREFIX/LEN to either
 *   - a next hop ("via NEXTHOP"), or
 *   - nothing: the destination itself is the next hop ("directly
 *     connected"),
 * and goes out of
 *   - a VIF: the route belongs to the VIF (a prefix routed to the VM), lives
 *     in its state region as an OOR_SLOT_ROUTE slot and moves with it;
 *   - a host port ("dev NAME"): a host route, kept in --state-dir/routes;
 *   - neither: a host route whose output is where the next hop is, found
 *     through the next hop's own connected route or, for a connected route,
 *     by switching on the neighbour's MAC (the neighbour's VIF if it is a
 *     VM's address, else the FDB).
 *
 * At most one route per prefix can be added.  A VIF's region brought in by
 * a migration may carry a route for a prefix the host also has; the VIF's
 * route then wins until it goes.
 *
 * Lookups cost one hash probe per distinct prefix length in use in the
 * address family, longest first.  (OVS's classifier would do the same with
 * priority = length; a table of its own needs neither versions nor RCU.)
 *
 * Not thread-safe: the datapath thread owns the table.
 */
#ifndef OFFLOAD_ROUTE_H
#define OFFLOAD_ROUTE_H 1

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "openvswitch/compiler.h"
#include "packets.h"
#include "region-format.h"

struct dp_packet;
struct ds;
struct flow;
struct neigh_table;
struct state_region;
struct vif;

#define ROUTE_PORT_NONE UINT32_MAX      /* A host route's dev is not a port
                                         * (yet). */
#define ROUTE_DEV_MAX 64                /* Longest dev name, NUL included. */

/* One route as it sits in an OOR_SLOT_ROUTE slot.  All little-endian.  The
 * route goes out of the VIF whose region holds it. */
struct route_entry {
    struct in6_addr prefix;     /* Host bits zero; IPv4 v4-mapped. */
    struct in6_addr nexthop;    /* All zeros: directly connected. */
    uint8_t plen;               /* 0-32 for IPv4, 0-128 for IPv6. */
    uint8_t family;             /* 4 or 6. */
    uint8_t pad[6];             /* Zero. */
};
_Static_assert(sizeof(struct route_entry) == OOR_SLOT_ROUTE_LEN,
               "a route entry is what the region format says it is");

/* A route as offload/route-add and offload/route-del give it. */
struct route_spec {
    struct in6_addr prefix;     /* Host bits zero; IPv4 v4-mapped. */
    unsigned int plen;          /* Of its family. */
    uint8_t family;             /* 4 or 6. */
    struct in6_addr nexthop;    /* All zeros: none. */
    char *dev;                  /* NULL: none. */
};

/* Parses "PREFIX[/LEN] [via NEXTHOP] [dev NAME]" (LEN defaults to the whole
 * address); 'argv' holds the words.  Host bits set in PREFIX, a next hop of
 * the other family or not unicast, and unknown or repeated words are
 * errors.  Returns NULL or a malloc'd error; on success the caller destroys
 * the spec. */
char *route_spec_parse(struct route_spec *, int argc, const char *argv[])
    OVS_WARN_UNUSED_RESULT;
void route_spec_destroy(struct route_spec *);
void route_spec_format(const struct route_spec *, struct ds *);

/* The table.  'state_dir' (NULL: none) keeps the host routes;
 * route_table_load() reads them back, every one unbound (bind them to their
 * ports with route_bind_port()). */
struct route_table *route_table_create(const char *state_dir);
void route_table_destroy(struct route_table *);  /* VIF tables closed. */
char *route_table_load(struct route_table *) OVS_WARN_UNUSED_RESULT;
/* The MAC routed frames leave with. */
void route_set_router_mac(struct route_table *, struct eth_addr);
struct eth_addr route_get_router_mac(const struct route_table *);
size_t route_n_routes(const struct route_table *);

/* Per-VIF tables: open indexes the routes in 'region', replace swaps
 * regions (the caller closes the old one).  Routes have no times, so there
 * is nothing to rebase. */
struct route_vif *route_vif_open(struct route_table *, struct vif *,
                                 struct state_region *);
void route_vif_close(struct route_vif *);
void route_vif_replace(struct route_vif *, struct state_region *);
size_t route_vif_count(const struct route_vif *);
void route_vif_flush(struct route_vif *);

/* Adds the route 'spec' to the VIF of 't', or, if 't' is NULL, to the host
 * with output 'port' (the number of the port 'spec->dev' names,
 * ROUTE_PORT_NONE if it names none yet or there is no dev).  A VIF route's
 * dev is the VIF and is not stored.  route_del() removes every route for
 * 'spec''s prefix (its next hop and dev are ignored).  Host changes are
 * saved before memory changes.  Both return NULL or a malloc'd error; on
 * error nothing changed. */
char *route_add(struct route_table *, struct route_vif *t,
                const struct route_spec *, uint32_t port)
    OVS_WARN_UNUSED_RESULT;
char *route_del(struct route_table *, const struct route_spec *)
    OVS_WARN_UNUSED_RESULT;

/* Host routes with dev 'name' go out of 'port' from now on; those on
 * 'port' go nowhere until bound again (the port went away). */
void route_bind_port(struct route_table *, const char *name, uint32_t port);
void route_unbind_port(struct route_table *, uint32_t port);

/* The routing decision. */
enum route_result {
    ROUTE_OK,
    ROUTE_NO_ROUTE,             /* No route, or its port or gateway is
                                 * unreachable. */
    ROUTE_NO_NEIGH,             /* No MAC for the next hop: ask for it
                                 * (neigh_compose_request()). */
    ROUTE_TTL_EXPIRED,          /* TTL or hop limit 1 or less. */
    ROUTE_NOT_IP,
};
const char *route_result_to_string(enum route_result);

enum route_output {
    ROUTE_OUT_VIF,              /* To 'vif'. */
    ROUTE_OUT_PORT,             /* To host port 'port'. */
    ROUTE_OUT_L2,               /* Switch on 'dst_mac' (FDB, else flood). */
};

struct route_decision {
    enum route_output output;
    struct vif *vif;
    uint32_t port;
    struct in6_addr nexthop;    /* The gateway, or the destination. */
    struct eth_addr src_mac;    /* The router MAC. */
    struct eth_addr dst_mac;    /* The next hop's. */
};

/* Decides where 'dst' goes.  The next hop's MAC comes from 'neigh'; a
 * route to a VIF with no neighbour entry for its next hop uses the VIF's
 * MAC (a VM is the only thing behind its port).  On ROUTE_NO_NEIGH,
 * 'd->nexthop' says what to ask for. */
enum route_result route_decide(const struct route_table *,
                               const struct neigh_table *,
                               const struct in6_addr *dst, long long now,
                               struct route_decision *d);

/* Routes 'pkt', whose fields flow_extract() put in 'flow': decides, then
 * decrements its TTL or hop limit and sets its Ethernet source and
 * destination to 'd->src_mac' and 'd->dst_mac'.  As in Linux, a frame with
 * no route is ROUTE_NO_ROUTE whatever its TTL, and one with a route but TTL
 * 1 or less is ROUTE_TTL_EXPIRED even if its next hop is unresolved.  The
 * frame is changed only on ROUTE_OK. */
enum route_result route_packet(const struct route_table *,
                               const struct neigh_table *,
                               struct dp_packet *pkt, const struct flow *,
                               long long now, struct route_decision *d);

/* dec_ttl on its own, for the flow table's action: false, with the frame
 * unchanged, if its TTL or hop limit is already 1 or less or it is not
 * IP. */
bool route_dec_ttl(struct dp_packet *);

/* offload/route-show: one route per line, as offload/route-add takes them,
 * sorted (IPv4 first, then by prefix and length); a VIF route's dev is its
 * iface-id, a host route whose dev is no port is marked "linkdown". */
void route_show(const struct route_table *, struct ds *);

/* The region validator's check of an OOR_SLOT_ROUTE slot. */
char *route_check_slot(uint16_t type, const void *payload, size_t len);

#endif /* route.h */
