/*
 * A VIF: one VM port.  Its definition (iface-id, MAC, IPs, policy, allowed
 * inbound ports, flow cookie) travels in its state region's header; its
 * netdev and zone are local to this host.  Its conntrack table holds the
 * region.
 *
 * vif_process() is the VIF's firewall policy: the verdict for one frame.
 */
#ifndef OFFLOAD_VIF_H
#define OFFLOAD_VIF_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "openvswitch/hmap.h"
#include "openvswitch/compiler.h"
#include "region-format.h"

struct ct_table;
struct fdb_vif;
struct neigh_vif;
struct route_vif;
struct state_region;
struct dp_packet;
struct flow;
struct ds;

/* Who forwards for a VIF during a migration (DESIGN.md §6): at most one
 * side ever does. */
enum vif_mode {
    VIF_ACTIVE,                 /* This side forwards for it. */
    VIF_STANDBY,                /* Destination, before activation: forwards
                                 * nothing, holds frames, a frame from the
                                 * VM is the switch-over trigger. */
    VIF_FENCED,                 /* Source, after the fence: forwards
                                 * nothing and changes nothing. */
};

struct vif {
    struct hmap_node node;      /* In vif_store, by iface-id. */
    enum vif_mode mode;         /* Persisted: vif_store_set_mode(). */
    bool made_for_migration;    /* A standby the migration created. */
    struct oor_vif_def def;
    char *netdev;               /* NULL while it is "-". */
    uint16_t zone;
    struct state_region *region;    /* All of the VIF's state, which the
                                     * tables below keep in it. */
    struct ct_table *ct;
    struct fdb_vif *fdb;
    struct neigh_vif *neigh;
    struct route_vif *routes;
};

/* Parses "IFACE_ID MAC [ip=..] [fip=..] [policy=..] [allow=..] [cookie=..]"
 * style arguments into 'def': argv[0] is the iface-id, argv[1] the MAC, the
 * rest KEY=VALUE options; 'zone' receives zone=N if given (else stays).
 * Returns NULL or a malloc'd error naming the bad argument. */
char *vif_def_parse(struct oor_vif_def *, int *zone, int argc,
                    const char *argv[]) OVS_WARN_UNUSED_RESULT;
void vif_def_format(struct ds *, const struct oor_vif_def *);
const char *vif_policy_name(uint8_t policy);

/* Floating addresses.  'def->ips' holds the VM's own addresses (ip=) and
 * then the VIF's floating ones (fip=), which 'def->floating' marks.  A
 * floating address is the VIF's external address, not the VM's:
 *
 *   - the VM's connections that leave the host leave from the floating
 *     address of their family, and connections to it reach the VM's first
 *     own address of that family if an opening (allow=) lets them in: NAT
 *     in the VIF's zone, so the mappings move with the VIF (vif_process());
 *   - the provider where the VIF is active and bound to a port answers
 *     ARP and neighbour solicitations for it on its uplinks with the VIF's
 *     MAC, and announces it there when the VIF becomes active after a
 *     migration (datapath.c);
 *   - the VM may not send from it (port-security.h).
 *
 * vif_def_parse() makes sure that every floating address is unicast, is
 * none of the VM's own, has an own address of its family to map to, and
 * that the policy has conntrack (not "open"). */
static inline bool
vif_def_is_floating(const struct oor_vif_def *def, int i)
{
    return i < def->n_ips && (def->floating >> i) & 1;
}

/* Is 'ip' one of the floating addresses of 'def' (if 'floating'), or one of
 * its own (if not)? */
bool vif_def_has_ip(const struct oor_vif_def *, const struct in6_addr *ip,
                    bool floating);

/* The region validator's check for every slot type a VIF's region holds
 * (state_region_slot_check_func). */
char *vif_check_slot(uint16_t type, const void *payload, size_t len);

/* The verdict for one frame. */
struct vif_verdict {
    bool allow;
    bool refused;               /* A new connection hit a limit or had no
                                 * room. */
    uint32_t ct_state;          /* CS_* bits; 0 if conntrack was bypassed. */
};

/* Runs 'pkt', whose fields flow_extract() put in 'flow', through the VIF's
 * conntrack and policy.  'from_vm' tells the direction.  For a frame from
 * the VM, 'to_uplink' says that it leaves the host through an uplink: a
 * connection it opens then gets the VIF's floating address, if it has one
 * of the frame's family. */
struct vif_verdict vif_process(struct vif *, struct dp_packet *pkt,
                               const struct flow *flow, bool from_vm,
                               bool to_uplink, long long now);

#endif /* vif.h */
