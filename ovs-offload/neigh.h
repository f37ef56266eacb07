/*
 * Neighbours: IP address to MAC, for IPv4 (ARP) and IPv6 (neighbour
 * discovery), learned from the ARP and ND the datapath sees or added by hand
 * (static).
 *
 * A neighbour belongs to the VIF whose address it is: the VM's own address,
 * learned on the VM's port (or added for that VIF), lives in the VIF's state
 * region as an OOR_SLOT_NEIGH slot and moves with the VM.  Every other
 * neighbour (learned on an uplink or another host port, or added without a
 * VIF) is a host entry, in memory; static host entries are kept in
 * --state-dir/neighbours so that a restart keeps them.
 *
 * One hash index covers all tables, so a lookup is one probe.  An address is
 * in at most one table.  Learning never changes a static entry.  Learned
 * entries expire after the idle time (15 minutes by default, as OVS's
 * tunnel neighbour cache), with the same bounded, oldest-first expiry and
 * once-a-second region writes as the FDB (fdb.h).
 *
 * Addresses are struct in6_addr, IPv4 as v4-mapped.  Times are milliseconds
 * of the writer's monotonic clock.  Region writes are left for the region's
 * next seal.  Not thread-safe: the datapath thread owns the table.
 */
#ifndef OFFLOAD_NEIGH_H
#define OFFLOAD_NEIGH_H 1

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
struct state_region;
struct vif;

#define NEIGH_DEFAULT_IDLE_TIME (15 * 60)   /* Seconds. */
#define NEIGH_DEFAULT_MAX 65536             /* Entries per table. */
#define NEIGH_TOUCH_MS 1000
#define NEIGH_NO_PORT UINT32_MAX            /* A static host entry's port. */

/* One entry as it sits in an OOR_SLOT_NEIGH slot.  All little-endian. */
struct neigh_entry {
    struct in6_addr ip;         /* Unicast; IPv4 v4-mapped. */
    struct eth_addr mac;        /* Unicast, nonzero. */
    uint8_t flags;              /* NEIGH_F_*. */
    uint8_t pad;                /* Zero. */
    uint64_t last_seen;         /* Writer's monotonic ms. */
};
_Static_assert(sizeof(struct neigh_entry) == OOR_SLOT_NEIGH_LEN,
               "a neighbour entry is what the region format says it is");

enum {
    NEIGH_F_STATIC = 1 << 0,    /* Added by hand: never ages or changes. */
};

enum neigh_learn_result {
    NEIGH_LEARN_REFRESHED,      /* Known, same MAC, same place. */
    NEIGH_LEARN_NEW,
    NEIGH_LEARN_UPDATED,        /* Known with another MAC or elsewhere. */
    NEIGH_LEARN_IGNORED,        /* Nothing to learn, not this VIF's address,
                                 * a static entry or a frozen table holds
                                 * the address, or this table is frozen. */
    NEIGH_LEARN_FAILED,         /* The region could not grow. */
};
const char *neigh_learn_result_to_string(enum neigh_learn_result);

struct neigh_stats {
    uint64_t learned;           /* Entries made by learning. */
    uint64_t updated;
    uint64_t expired;
    uint64_t evicted;
};

/* The table.  'state_dir' (NULL: none) is where static host entries are
 * kept; neigh_table_load() reads them back. */
struct neigh_table *neigh_table_create(const char *state_dir);
void neigh_table_destroy(struct neigh_table *);  /* VIF tables closed. */
char *neigh_table_load(struct neigh_table *) OVS_WARN_UNUSED_RESULT;
void neigh_set_idle_time(struct neigh_table *, unsigned int idle_s);
unsigned int neigh_get_idle_time(const struct neigh_table *);
void neigh_set_max_entries(struct neigh_table *, size_t);
size_t neigh_n_entries(const struct neigh_table *);
void neigh_get_stats(const struct neigh_table *, struct neigh_stats *);

/* Per-VIF tables, as fdb_vif_*() in fdb.h: open indexes the region's
 * entries (a region's entry replaces a non-static one for the same address
 * elsewhere, which is how a migrated VM's addresses move here), replace
 * swaps regions, rebase moves times from another host's clock. */
struct neigh_vif *neigh_vif_open(struct neigh_table *, struct vif *,
                                 struct state_region *);
void neigh_vif_close(struct neigh_vif *);
void neigh_vif_replace(struct neigh_vif *, struct state_region *);
void neigh_vif_rebase(struct neigh_vif *, long long from_clock,
                      long long now);
size_t neigh_vif_count(const struct neigh_vif *);
/* As fdb_vif_set_frozen(): learning and expiry leave a frozen table's
 * region alone. */
void neigh_vif_set_frozen(struct neigh_vif *, bool frozen);
void neigh_vif_flush(struct neigh_vif *);

/* Learning from a frame whose fields flow_extract() put in 'flow', which
 * came in from the VIF of 't' or, if 't' is NULL, from host port 'port':
 *   - ARP request or reply: the sender (arp_spa, arp_sha), unless the
 *     sender address is 0.0.0.0 (a probe);
 *   - ND neighbour solicitation: the IPv6 source and the source link-layer
 *     address option, unless the source is :: (duplicate address
 *     detection) or there is no option;
 *   - ND neighbour advertisement: the target and the target link-layer
 *     address option, if there is one.
 * On a VIF whose definition lists addresses, only those and the link-local
 * address its MAC gives are learned (they are what port security lets it
 * claim). */
enum neigh_learn_result neigh_learn_flow(struct neigh_table *,
                                         struct neigh_vif *t, uint32_t port,
                                         const struct flow *, long long now);
enum neigh_learn_result neigh_learn(struct neigh_table *, struct neigh_vif *t,
                                    uint32_t port, const struct in6_addr *ip,
                                    struct eth_addr mac, long long now);

/* Finds the MAC of 'ip' and, in '*vif' if nonnull, the VIF it belongs to
 * (NULL for a host entry).  O(1).  Expired entries are not found. */
bool neigh_lookup(const struct neigh_table *, const struct in6_addr *ip,
                  long long now, struct eth_addr *mac, struct vif **vif);

/* Static entries: in 't''s region, or on the host if 't' is NULL (then
 * saved in the state dir).  Adding replaces whatever entry 'ip' had.  Both
 * return NULL or a malloc'd error; on error nothing changed. */
char *neigh_add_static(struct neigh_table *, struct neigh_vif *t,
                       const struct in6_addr *ip, struct eth_addr mac,
                       long long now) OVS_WARN_UNUSED_RESULT;
char *neigh_del(struct neigh_table *, const struct in6_addr *ip)
    OVS_WARN_UNUSED_RESULT;
/* Removes every learned host entry from 'port' (the port went away). */
void neigh_flush_port(struct neigh_table *, uint32_t port);

/* Removes expired entries, bounded work per call; returns how many. */
size_t neigh_run(struct neigh_table *, long long now);

/* offload/neigh-show: a header line, then per entry the address padded to
 * 46 columns (as OVS's tnl/neigh/show), the MAC, the port and the age in
 * seconds:
 *
 *   10.0.0.5        (...)        50:54:00:00:00:05   vm1        12
 *
 * sorted by address (IPv4 first); the port is the VIF's iface-id, the host
 * port's name (or number, as for fdb_show()), or "-" for a static host
 * entry; the age of a static entry is "static". */
void neigh_show(const struct neigh_table *, struct ds *, long long now,
                const char *(*port_name)(uint32_t port, void *aux),
                void *aux);

/* The region validator's check of an OOR_SLOT_NEIGH slot. */
char *neigh_check_slot(uint16_t type, const void *payload, size_t len);

/* Parses an IPv4 or IPv6 address into 'ip' (IPv4 v4-mapped). */
bool neigh_parse_ip(const char *s, struct in6_addr *ip);
/* A unicast address a neighbour may have: not unspecified, multicast,
 * broadcast or loopback. */
bool neigh_ip_is_unicast(const struct in6_addr *);

/* Answering and asking.
 *
 * neigh_request_target() tells whether 'flow' is a request for an address
 * (an ARP request, or a neighbour solicitation) and for which.
 *
 * neigh_compose_reply() makes in 'out' the answer to that request saying
 * that its target is at 'mac': an ARP reply, or a neighbour advertisement
 * (solicited and override, with the router flag if 'router'; to all nodes
 * if the solicitation came from ::).  The reply carries the request's VLAN
 * tag, if any.  Returns false, leaving 'out' alone, if 'flow' is no request.
 *
 * neigh_compose_announce() makes an announcement that 'ip' is at 'mac': a
 * gratuitous ARP request, or an unsolicited neighbour advertisement with the
 * override flag to all nodes (ff02::1).
 *
 * neigh_compose_request() makes a request for 'target', from 'src_ip' at
 * 'src_mac': a broadcast ARP request, or a neighbour solicitation to the
 * target's solicited-node address. */
bool neigh_request_target(const struct flow *, struct in6_addr *target);
bool neigh_compose_reply(struct dp_packet *out, const struct flow *request,
                         struct eth_addr mac, bool router);
void neigh_compose_announce(struct dp_packet *out, const struct in6_addr *ip,
                            struct eth_addr mac);
void neigh_compose_request(struct dp_packet *out,
                           const struct in6_addr *target,
                           const struct in6_addr *src_ip,
                           struct eth_addr src_mac);

#endif /* neigh.h */
