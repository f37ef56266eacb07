/*
 * The supported subset of OpenFlow; see flow-validate.h.
 */
#include <config.h>
#include "flow-validate.h"

#include <string.h>
#include <sys/socket.h>
#include "flow.h"
#include "openvswitch/match.h"
#include "openvswitch/meta-flow.h"
#include "openvswitch/ofp-actions.h"
#include "openvswitch/ofp-port.h"
#include "packets.h"
#include "util.h"

/* Fields whose values reach the classifier from flow_extract(), from the ct
 * callback or from the actions, so that matching on them works. */
static const enum mf_field_id match_fields[] = {
    MFF_PACKET_TYPE,            /* Ethernet only: check_packet_type(). */
    MFF_METADATA, MFF_IN_PORT, MFF_IN_PORT_OXM,
    MFF_CT_STATE, MFF_CT_ZONE, MFF_CT_MARK, MFF_CT_LABEL,
    MFF_REG0, MFF_REG1, MFF_REG2, MFF_REG3, MFF_REG4, MFF_REG5, MFF_REG6,
    MFF_REG7, MFF_REG8, MFF_REG9, MFF_REG10, MFF_REG11, MFF_REG12,
    MFF_REG13, MFF_REG14, MFF_REG15,
    MFF_XREG0, MFF_XREG1, MFF_XREG2, MFF_XREG3, MFF_XREG4, MFF_XREG5,
    MFF_XREG6, MFF_XREG7,
    MFF_XXREG0, MFF_XXREG1, MFF_XXREG2, MFF_XXREG3,
    MFF_ETH_SRC, MFF_ETH_DST, MFF_ETH_TYPE,
    MFF_VLAN_TCI, MFF_DL_VLAN, MFF_VLAN_VID, MFF_DL_VLAN_PCP, MFF_VLAN_PCP,
    MFF_IPV4_SRC, MFF_IPV4_DST, MFF_IPV6_SRC, MFF_IPV6_DST, MFF_IPV6_LABEL,
    MFF_IP_PROTO, MFF_IP_DSCP, MFF_IP_DSCP_SHIFTED, MFF_IP_ECN, MFF_IP_TTL,
    MFF_IP_FRAG,
    MFF_ARP_OP, MFF_ARP_SPA, MFF_ARP_TPA, MFF_ARP_SHA, MFF_ARP_THA,
    MFF_TCP_SRC, MFF_TCP_DST, MFF_TCP_FLAGS, MFF_UDP_SRC, MFF_UDP_DST,
    MFF_SCTP_SRC, MFF_SCTP_DST,
    MFF_ICMPV4_TYPE, MFF_ICMPV4_CODE, MFF_ICMPV6_TYPE, MFF_ICMPV6_CODE,
    MFF_ND_TARGET, MFF_ND_SLL, MFF_ND_TLL,
};

/* Fields set_field and load may write: the packet's headers the executor
 * rewrites, and the pipeline's own metadata. */
static const enum mf_field_id set_fields[] = {
    MFF_METADATA,
    MFF_REG0, MFF_REG1, MFF_REG2, MFF_REG3, MFF_REG4, MFF_REG5, MFF_REG6,
    MFF_REG7, MFF_REG8, MFF_REG9, MFF_REG10, MFF_REG11, MFF_REG12,
    MFF_REG13, MFF_REG14, MFF_REG15,
    MFF_XREG0, MFF_XREG1, MFF_XREG2, MFF_XREG3, MFF_XREG4, MFF_XREG5,
    MFF_XREG6, MFF_XREG7,
    MFF_XXREG0, MFF_XXREG1, MFF_XXREG2, MFF_XXREG3,
    MFF_ETH_SRC, MFF_ETH_DST,
    MFF_VLAN_TCI, MFF_DL_VLAN, MFF_VLAN_VID, MFF_DL_VLAN_PCP, MFF_VLAN_PCP,
    MFF_IPV4_SRC, MFF_IPV4_DST, MFF_IPV6_SRC, MFF_IPV6_DST,
    MFF_TCP_SRC, MFF_TCP_DST, MFF_UDP_SRC, MFF_UDP_DST,
    MFF_SCTP_SRC, MFF_SCTP_DST,
};

static bool
field_in(const struct mf_field *mf, const enum mf_field_id *ids, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (ids[i] == mf->id) {
            return true;
        }
    }
    return false;
}

bool
flow_validate_field(const struct mf_field *mf)
{
    return field_in(mf, match_fields, ARRAY_SIZE(match_fields));
}

/* Does 'm' match on bits that no supported field covers?  (Some setters
 * mask more than their field's bits, the IPv6 label for one, so the
 * supported fields are wildcarded the same way, by the setters.) */
static bool
has_other_bits(const struct match *m)
{
    struct match rest = *m;

    for (size_t i = 0; i < ARRAY_SIZE(match_fields); i++) {
        mf_set_wild(mf_from_id(match_fields[i]), &rest, NULL);
    }
    return !flow_wildcards_is_catchall(&rest.wc);
}

/* Names the first unsupported field with bits in 'm': one the match really
 * uses if 'prereqs', else any. */
static const struct mf_field *
find_unsupported(const struct match *m, bool prereqs)
{
    for (int id = 0; id < MFF_N_IDS; id++) {
        const struct mf_field *mf = mf_from_id(id);

        if (!mf_is_all_wild(mf, &m->wc) && !flow_validate_field(mf)
            && (!prereqs || mf_are_match_prereqs_ok(mf, m))) {
            return mf;
        }
    }
    return NULL;
}

char *
flow_validate_match(const struct match *m)
{
    /* Several fields share bits (arp_op is nw_proto's): a field whose
     * prerequisites the match lacks is another field's bits. */
    const struct mf_field *mf = find_unsupported(m, true);
    if (mf) {
        return xasprintf("unsupported match field %s", mf->name);
    }
    if (has_other_bits(m)) {
        mf = find_unsupported(m, false);
        return xasprintf("unsupported match field %s",
                         mf ? mf->name : "(unnamed bits)");
    }
    if (m->wc.masks.packet_type
        && (m->wc.masks.packet_type != OVS_BE32_MAX
            || m->flow.packet_type != htonl(PT_ETH))) {
        return xstrdup("unsupported match field packet_type (only Ethernet "
                       "frames pass here)");
    }
    return NULL;
}

/* Actions. */

typedef char *action_check_func(const struct ofpact *);

static char *
check_ok(const struct ofpact *a OVS_UNUSED)
{
    return NULL;
}

static char *
check_output(const struct ofpact *a)
{
    ofp_port_t port = ofpact_get_OUTPUT(a)->port;

    if (ofp_to_u16(port) < ofp_to_u16(OFPP_MAX)
        || port == OFPP_IN_PORT || port == OFPP_NORMAL
        || port == OFPP_FLOOD || port == OFPP_ALL) {
        return NULL;
    }

    char name[OFP_MAX_PORT_NAME_LEN];
    ofputil_port_to_string(port, NULL, name, sizeof name);
    return xasprintf("unsupported output port %s", name);
}

static char *
check_resubmit(const struct ofpact *a)
{
    return (ofpact_get_RESUBMIT(a)->with_ct_orig
            ? xstrdup("unsupported action resubmit with ct (original "
                      "direction fields)")
            : NULL);
}

static char *
check_set_field(const struct ofpact *a)
{
    const struct mf_field *mf = ofpact_get_SET_FIELD(a)->field;

    return (field_in(mf, set_fields, ARRAY_SIZE(set_fields))
            ? NULL
            : xasprintf("unsupported set_field to %s", mf->name));
}

static char *
check_nat(const struct ofpact_nat *nat)
{
    static const struct {
        uint16_t flag;
        const char *name;
    } flags[] = {
        { NX_NAT_F_PERSISTENT, "persistent" },
        { NX_NAT_F_PROTO_HASH, "hash" },
        { NX_NAT_F_PROTO_RANDOM, "random" },
    };

    for (size_t i = 0; i < ARRAY_SIZE(flags); i++) {
        if (nat->flags & flags[i].flag) {
            return xasprintf("unsupported nat flag %s", flags[i].name);
        }
    }
    if (!(nat->flags & (NX_NAT_F_SRC | NX_NAT_F_DST))) {
        return NULL;            /* Plain ct(nat). */
    }
    if (nat->range_af == AF_UNSPEC) {
        return xstrdup("unsupported nat without an address range");
    }
    if (nat->range_af == AF_INET
        ? !nat->range.addr.ipv4.min
        : ipv6_addr_equals(&nat->range.addr.ipv6.min, &in6addr_any)) {
        /* OVS gives this address a meaning of its own (an ephemeral port
         * only on collision), which the conntrack engine lacks. */
        return xstrdup("unsupported nat to the all-zeros address");
    }
    return NULL;
}

static char *
check_ct_exec(const struct ofpact *a)
{
    if (a->type == OFPACT_NAT) {
        return check_nat(ofpact_get_NAT(a));
    }
    if (a->type != OFPACT_SET_FIELD) {
        return xasprintf("unsupported action %s in ct(exec(...))",
                         ofpact_name(a->type));
    }

    const struct ofpact_set_field *sf = ofpact_get_SET_FIELD(a);
    const struct mf_field *mf = sf->field;
    if (mf->id != MFF_CT_MARK && mf->id != MFF_CT_LABEL) {
        return xasprintf("unsupported set_field to %s in ct(exec(...))",
                         mf->name);
    }
    if (!is_all_ones(ofpact_set_field_mask(sf), mf->n_bytes)) {
        /* The engine sets a whole mark or label when it commits. */
        return xasprintf("unsupported masked set_field to %s", mf->name);
    }
    return NULL;
}

static char *
check_ct(const struct ofpact *a)
{
    const struct ofpact_conntrack *ct = ofpact_get_CT(a);

    if (ct->flags & NX_CT_F_FORCE) {
        return xstrdup("unsupported ct option force");
    }
    if (ct->alg) {
        return xasprintf("unsupported ct option alg (port %u)", ct->alg);
    }
    if (ct->zone_src.field && !flow_validate_field(ct->zone_src.field)) {
        return xasprintf("unsupported ct zone field %s",
                         ct->zone_src.field->name);
    }

    const struct ofpact *inner;
    OFPACT_FOR_EACH (inner, ct->actions, ofpact_ct_get_action_len(ct)) {
        char *error = check_ct_exec(inner);
        if (error) {
            return error;
        }
    }
    return NULL;
}

static action_check_func *const action_checks[N_OFPACTS] = {
    [OFPACT_OUTPUT] = check_output,
    [OFPACT_CT] = check_ct,
    [OFPACT_CT_CLEAR] = check_ok,
    [OFPACT_RESUBMIT] = check_resubmit,
    [OFPACT_GOTO_TABLE] = check_ok,
    [OFPACT_SET_ETH_SRC] = check_ok,
    [OFPACT_SET_ETH_DST] = check_ok,
    [OFPACT_SET_IPV4_SRC] = check_ok,
    [OFPACT_SET_IPV4_DST] = check_ok,
    [OFPACT_SET_L4_SRC_PORT] = check_ok,
    [OFPACT_SET_L4_DST_PORT] = check_ok,
    [OFPACT_SET_FIELD] = check_set_field,
    [OFPACT_WRITE_METADATA] = check_ok,
    [OFPACT_DEC_TTL] = check_ok,
    [OFPACT_PUSH_VLAN] = check_ok,
    [OFPACT_SET_VLAN_VID] = check_ok,
    [OFPACT_SET_VLAN_PCP] = check_ok,
    [OFPACT_STRIP_VLAN] = check_ok,
};

char *
flow_validate_actions(const struct ofpact *ofpacts, size_t ofpacts_len)
{
    const struct ofpact *a;

    OFPACT_FOR_EACH (a, ofpacts, ofpacts_len) {
        action_check_func *check = action_checks[a->type];
        char *error = (check
                       ? check(a)
                       : xasprintf("unsupported action %s",
                                   ofpact_name(a->type)));
        if (error) {
            return error;
        }
    }
    return NULL;
}
