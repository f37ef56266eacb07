/*
 * What the offload flow table supports: the match fields and the actions
 * that ovs-offloadd really implements (flow-exec.h).  Anything else is
 * refused when a flow is added, with an error naming it, so that nothing is
 * ever accepted and then ignored.
 *
 * Match fields: in_port; dl_src, dl_dst, dl_type; the VLAN fields (vlan_tci,
 * dl_vlan, dl_vlan_pcp, vlan_vid, vlan_pcp); nw_src, nw_dst, ipv6_src,
 * ipv6_dst, ipv6_label, nw_proto, nw_tos, ip_dscp, nw_ecn, nw_ttl, ip_frag;
 * the ARP fields and the ND fields nd_target, nd_sll, nd_tll; tcp, udp and
 * sctp ports, tcp_flags; icmp and icmpv6 type and code; ct_state, ct_zone,
 * ct_mark, ct_label; metadata; reg0-15, xreg0-7, xxreg0-3; packet_type only
 * as Ethernet.  Masks are fine wherever OVS takes them.
 *
 * Actions: output to a port, in_port, NORMAL, FLOOD or ALL; drop (no
 * actions); ct(commit, zone=N or zone=FIELD[..], table=T, nat, nat(src=..)
 * or nat(dst=..) with an address range and optional port range,
 * exec(set_field:V->ct_mark or ->ct_label, unmasked)); ct_clear; resubmit
 * (,T) and resubmit(PORT,T); goto_table; mod_dl_src, mod_dl_dst, mod_nw_src,
 * mod_nw_dst, mod_tp_src, mod_tp_dst; set_field and load to the MAC, IPv4 and
 * IPv6 addresses, the L4 ports, the VLAN fields, metadata and the registers;
 * write_metadata; dec_ttl; push_vlan, mod_vlan_vid, mod_vlan_pcp,
 * strip_vlan and pop_vlan.
 */
#ifndef OFFLOAD_FLOW_VALIDATE_H
#define OFFLOAD_FLOW_VALIDATE_H 1

#include <stdbool.h>
#include <stddef.h>
#include "openvswitch/compiler.h"

struct match;
struct mf_field;
struct ofpact;

/* Each returns NULL if the flow table supports everything in its argument,
 * else a malloc'd message naming the first thing it does not: "unsupported
 * match field tun_id", "unsupported action learn". */
char *flow_validate_match(const struct match *) OVS_WARN_UNUSED_RESULT;
char *flow_validate_actions(const struct ofpact *, size_t ofpacts_len)
    OVS_WARN_UNUSED_RESULT;

/* Can a flow match on 'field' (or a ct zone be read from it)? */
bool flow_validate_field(const struct mf_field *);

#endif /* flow-validate.h */
