/*
 * The action interpreter; see flow-exec.h.
 *
 * Actions change the flow as OVS's translation does, and then the packet to
 * agree with the flow, field by field, with packets.h's helpers, which keep
 * the checksums right.  Where a change moves headers (VLANs, NAT), the flow
 * is extracted again from the packet, keeping the pipeline's own fields.
 */
#include <config.h>
#include "flow-exec.h"

#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include "byte-order.h"
#include "ct-engine.h"
#include "dp-packet.h"
#include "flow-table.h"
#include "flow.h"
#include "openvswitch/meta-flow.h"
#include "openvswitch/ofp-actions.h"
#include "packets.h"
#include "port-offload.h"
#include "util.h"

struct exec_ctx {
    struct flow_table *table;
    const struct flow_exec_ops *ops;
    long long now;
    unsigned int depth;
    unsigned int n_lookups;
    unsigned int n_forwarded;
    bool too_deep;              /* Stops every branch. */
    bool ttl_expired;
};

/* A packet on its way through the tables.  ct(table=T) with more actions
 * after it forks a second branch. */
struct branch {
    struct dp_packet *packet;   /* NULL once handed on. */
    struct flow *flow;
    uint8_t table_id;           /* Whose flow is running. */
    bool stopped;               /* By dec_ttl. */
};

typedef void action_func(struct exec_ctx *, struct branch *,
                         const struct ofpact *, bool last);

static void do_actions(struct exec_ctx *, struct branch *,
                       const struct ofpact *, size_t ofpacts_len, bool last);

/* Keeping the flow right. */

/* Extracts 'b''s flow again after its headers moved, keeping the pipeline's
 * fields (metadata, registers, in_port, ct): everything before dl_dst. */
static void
reextract(struct branch *b)
{
    struct flow saved = *b->flow;

    flow_extract(b->packet, b->flow);
    memcpy(b->flow, &saved, offsetof(struct flow, dl_dst));
}

/* Forwarding. */

/* The packet for a forwarding action: the branch's own if nothing follows,
 * else a copy, so that later actions do not change what was sent. */
static struct dp_packet *
take_packet(struct branch *b, bool last)
{
    struct dp_packet *p = b->packet;

    if (last) {
        b->packet = NULL;
        return p;
    }
    return dp_packet_clone(p);
}

static void
exec_output(struct exec_ctx *ctx, struct branch *b, const struct ofpact *a,
            bool last)
{
    const struct flow_exec_ops *ops = ctx->ops;
    ofp_port_t in_port = b->flow->in_port.ofp_port;
    ofp_port_t port = ofpact_get_OUTPUT(a)->port;

    if (port == OFPP_NORMAL) {
        if (ops->normal) {
            ops->normal(take_packet(b, last), b->flow, ops->aux);
            ctx->n_forwarded++;
        }
    } else if (port == OFPP_FLOOD || port == OFPP_ALL) {
        if (ops->flood) {
            ops->flood(take_packet(b, last), b->flow, in_port, ops->aux);
            ctx->n_forwarded++;
        }
    } else if (port == OFPP_IN_PORT || port != in_port) {
        /* OpenFlow sends back out of in_port only when told so by name. */
        if (ops->output) {
            ops->output(port == OFPP_IN_PORT ? in_port : port,
                        take_packet(b, last), ops->aux);
            ctx->n_forwarded++;
        }
    }
}

/* More lookups. */

static void
lookup_and_run(struct exec_ctx *ctx, struct branch *b, uint8_t table_id,
               bool last)
{
    if (ctx->depth >= FLOW_EXEC_MAX_DEPTH
        || ctx->n_lookups >= FLOW_EXEC_MAX_LOOKUPS) {
        ctx->too_deep = true;
        return;
    }
    ctx->n_lookups++;

    struct flow_rule *rule = flow_table_lookup(ctx->table, table_id,
                                               b->flow);
    if (rule) {
        uint8_t caller = b->table_id;

        flow_rule_account(rule, dp_packet_size(b->packet), ctx->now);
        ctx->depth++;
        b->table_id = table_id;
        do_actions(ctx, b, rule->ofpacts, rule->ofpacts_len, last);
        b->table_id = caller;
        ctx->depth--;
    }
}

static void
exec_resubmit(struct exec_ctx *ctx, struct branch *b, const struct ofpact *a,
              bool last)
{
    const struct ofpact_resubmit *rs = ofpact_get_RESUBMIT(a);
    ofp_port_t in_port = b->flow->in_port.ofp_port;

    if (rs->in_port != OFPP_IN_PORT) {
        b->flow->in_port.ofp_port = rs->in_port;
    }
    lookup_and_run(ctx, b, rs->table_id == OFPTT_ALL ? b->table_id
                                                     : rs->table_id, last);
    b->flow->in_port.ofp_port = in_port;
}

static void
exec_goto_table(struct exec_ctx *ctx, struct branch *b,
                const struct ofpact *a, bool last)
{
    lookup_and_run(ctx, b, ofpact_get_GOTO_TABLE(a)->table_id, last);
}

/* Conntrack. */

static void
nat_from_ofpact(struct ct_nat *nat, const struct ofpact_nat *on)
{
    memset(nat, 0, sizeof *nat);
    if (!(on->flags & (NX_NAT_F_SRC | NX_NAT_F_DST))) {
        nat->no_range = true;
        return;
    }

    nat->snat = on->flags & NX_NAT_F_SRC;
    if (on->range_af == AF_INET) {
        ovs_be32 max = on->range.addr.ipv4.max;

        in6_addr_set_mapped_ipv4(&nat->min_addr, on->range.addr.ipv4.min);
        in6_addr_set_mapped_ipv4(&nat->max_addr,
                                 max ? max : on->range.addr.ipv4.min);
    } else {
        const struct in6_addr *max = &on->range.addr.ipv6.max;

        nat->min_addr = on->range.addr.ipv6.min;
        nat->max_addr = (ipv6_addr_equals(max, &in6addr_any)
                         ? nat->min_addr : *max);
    }
    nat->min_port = on->range.proto.min;
    nat->max_port = (on->range.proto.max ? on->range.proto.max
                     : on->range.proto.min);
}

/* The parts of a ct action the engine takes: 'x' points into 'nat',
 * 'mark' and 'label'. */
struct ct_args {
    struct ct_exec x;
    struct ct_nat nat;
    uint32_t mark;
    ovs_u128 label;
};

static void
ct_args_init(struct ct_args *args, const struct ofpact_conntrack *oc)
{
    const struct ofpact *a;

    memset(args, 0, sizeof *args);
    args->x.commit = oc->flags & NX_CT_F_COMMIT;
    OFPACT_FOR_EACH (a, oc->actions, ofpact_ct_get_action_len(oc)) {
        if (a->type == OFPACT_NAT) {
            nat_from_ofpact(&args->nat, ofpact_get_NAT(a));
            args->x.nat = &args->nat;
        } else if (a->type == OFPACT_SET_FIELD) {
            const struct ofpact_set_field *sf = ofpact_get_SET_FIELD(a);

            if (sf->field->id == MFF_CT_MARK) {
                args->mark = ntohl(sf->value->be32);
                args->x.set_mark = &args->mark;
            } else {
                args->label = ntoh128(sf->value->be128);
                args->x.set_label = &args->label;
            }
        }
    }
}

static void
exec_ct(struct exec_ctx *ctx, struct branch *b, const struct ofpact *a,
        bool last)
{
    const struct ofpact_conntrack *oc = ofpact_get_CT(a);
    uint16_t zone = (oc->zone_src.field
                     ? mf_get_subfield(&oc->zone_src, b->flow)
                     : oc->zone_imm);
    struct ct_args args;

    ct_args_init(&args, oc);
    if (ctx->ops->ct) {
        ctx->ops->ct(zone, &args.x, b->packet, b->flow, ctx->ops->aux);
    }
    if (args.x.nat) {
        reextract(b);
    }

    if (oc->recirc_table != NX_CT_RECIRC_NONE) {
        if (last) {
            lookup_and_run(ctx, b, oc->recirc_table, true);
            return;
        }

        /* Fork: a copy goes on in the table, with the connection's
         * fields; the original goes on here, without them. */
        struct flow fork_flow = *b->flow;
        struct branch fork = {
            .packet = dp_packet_clone(b->packet),
            .flow = &fork_flow,
            .table_id = b->table_id,
        };
        lookup_and_run(ctx, &fork, oc->recirc_table, true);
        dp_packet_delete(fork.packet);
    }
    flow_clear_conntrack(b->flow);
}

static void
exec_ct_clear(struct exec_ctx *ctx OVS_UNUSED, struct branch *b,
              const struct ofpact *a OVS_UNUSED, bool last OVS_UNUSED)
{
    flow_clear_conntrack(b->flow);
}

/* Header rewrites: the flow has the new values; the packet follows. */

static void
commit_eth(struct branch *b)
{
    struct eth_header *eh = dp_packet_eth(b->packet);

    if (eh) {
        eh->eth_src = b->flow->dl_src;
        eh->eth_dst = b->flow->dl_dst;
    }
}

static void
commit_ipv4(struct branch *b)
{
    const struct flow *f = b->flow;

    packet_set_ipv4(b->packet, f->nw_src, f->nw_dst, f->nw_tos, f->nw_ttl);
    port_packet_csum_refresh(b->packet);
}

static void
commit_ipv6(struct branch *b)
{
    const struct flow *f = b->flow;

    packet_set_ipv6(b->packet, &f->ipv6_src, &f->ipv6_dst, f->nw_tos,
                    f->ipv6_label, f->nw_ttl);
    port_packet_csum_refresh(b->packet);
}

static void
commit_l4(struct branch *b)
{
    const struct flow *f = b->flow;

    switch (f->nw_proto) {
    case IPPROTO_TCP:
        packet_set_tcp_port(b->packet, f->tp_src, f->tp_dst);
        break;
    case IPPROTO_UDP:
        packet_set_udp_port(b->packet, f->tp_src, f->tp_dst);
        break;
    case IPPROTO_SCTP:
        packet_set_sctp_port(b->packet, f->tp_src, f->tp_dst);
        break;
    }
    /* The updates above are incremental, which breaks a partial checksum's
     * seed. */
    port_packet_csum_refresh(b->packet);
}

/* Makes the packet's outer VLAN tag what the flow's says: rewritten, pushed
 * or popped. */
static void
commit_vlan(struct branch *b)
{
    struct dp_packet *p = b->packet;
    const union flow_vlan_hdr *want = &b->flow->vlans[0];
    struct vlan_eth_header *veh = dp_packet_eth(p);
    bool tagged = (veh && dp_packet_size(p) >= sizeof *veh
                   && eth_type_vlan(veh->veth_type));

    if (want->tci & htons(VLAN_CFI)) {
        if (tagged) {
            veh->veth_tci = want->tci & htons(~VLAN_CFI);
        } else {
            eth_push_vlan(p, want->tpid ? want->tpid : htons(ETH_TYPE_VLAN),
                          want->tci);
        }
    } else if (tagged) {
        eth_pop_vlan(p);
    }
    reextract(b);
}

static bool
has_l4_ports(const struct flow *f)
{
    return (is_ip_any(f) && !(f->nw_frag & FLOW_NW_FRAG_LATER)
            && (f->nw_proto == IPPROTO_TCP || f->nw_proto == IPPROTO_UDP
                || f->nw_proto == IPPROTO_SCTP));
}

static void
exec_set_eth(struct exec_ctx *ctx OVS_UNUSED, struct branch *b,
             const struct ofpact *a, bool last OVS_UNUSED)
{
    if (a->type == OFPACT_SET_ETH_SRC) {
        b->flow->dl_src = ofpact_get_SET_ETH_SRC(a)->mac;
    } else {
        b->flow->dl_dst = ofpact_get_SET_ETH_DST(a)->mac;
    }
    commit_eth(b);
}

static void
exec_set_ipv4(struct exec_ctx *ctx OVS_UNUSED, struct branch *b,
              const struct ofpact *a, bool last OVS_UNUSED)
{
    if (b->flow->dl_type == htons(ETH_TYPE_IP)) {
        if (a->type == OFPACT_SET_IPV4_SRC) {
            b->flow->nw_src = ofpact_get_SET_IPV4_SRC(a)->ipv4;
        } else {
            b->flow->nw_dst = ofpact_get_SET_IPV4_DST(a)->ipv4;
        }
        commit_ipv4(b);
    }
}

static void
exec_set_l4_port(struct exec_ctx *ctx OVS_UNUSED, struct branch *b,
                 const struct ofpact *a, bool last OVS_UNUSED)
{
    if (has_l4_ports(b->flow)) {
        if (a->type == OFPACT_SET_L4_SRC_PORT) {
            b->flow->tp_src = htons(ofpact_get_SET_L4_SRC_PORT(a)->port);
        } else {
            b->flow->tp_dst = htons(ofpact_get_SET_L4_DST_PORT(a)->port);
        }
        commit_l4(b);
    }
}

/* Which part of the packet a set_field changes. */
enum field_group {
    FG_NONE,                    /* The pipeline's own: nothing. */
    FG_ETH,
    FG_VLAN,
    FG_IPV4,
    FG_IPV6,
    FG_L4,
};

static enum field_group
field_group(enum mf_field_id id)
{
    static const struct {
        enum mf_field_id id;
        enum field_group group;
    } groups[] = {
        { MFF_ETH_SRC, FG_ETH }, { MFF_ETH_DST, FG_ETH },
        { MFF_VLAN_TCI, FG_VLAN }, { MFF_DL_VLAN, FG_VLAN },
        { MFF_VLAN_VID, FG_VLAN }, { MFF_DL_VLAN_PCP, FG_VLAN },
        { MFF_VLAN_PCP, FG_VLAN },
        { MFF_IPV4_SRC, FG_IPV4 }, { MFF_IPV4_DST, FG_IPV4 },
        { MFF_IPV6_SRC, FG_IPV6 }, { MFF_IPV6_DST, FG_IPV6 },
        { MFF_TCP_SRC, FG_L4 }, { MFF_TCP_DST, FG_L4 },
        { MFF_UDP_SRC, FG_L4 }, { MFF_UDP_DST, FG_L4 },
        { MFF_SCTP_SRC, FG_L4 }, { MFF_SCTP_DST, FG_L4 },
    };

    for (size_t i = 0; i < ARRAY_SIZE(groups); i++) {
        if (groups[i].id == id) {
            return groups[i].group;
        }
    }
    return FG_NONE;
}

static void
exec_set_field(struct exec_ctx *ctx OVS_UNUSED, struct branch *b,
               const struct ofpact *a, bool last OVS_UNUSED)
{
    const struct ofpact_set_field *sf = ofpact_get_SET_FIELD(a);
    const struct mf_field *mf = sf->field;
    enum field_group group = field_group(mf->id);

    /* As OVS: a field the packet does not have is not set. */
    if (!mf_are_prereqs_ok(mf, b->flow, NULL)
        || (group == FG_L4 && !has_l4_ports(b->flow))) {
        return;
    }
    mf_set_flow_value_masked(mf, sf->value, ofpact_set_field_mask(sf),
                             b->flow);

    switch (group) {
    case FG_ETH:
        commit_eth(b);
        break;
    case FG_VLAN:
        commit_vlan(b);
        break;
    case FG_IPV4:
        commit_ipv4(b);
        break;
    case FG_IPV6:
        commit_ipv6(b);
        break;
    case FG_L4:
        commit_l4(b);
        break;
    case FG_NONE:
        break;
    }
}

static void
exec_write_metadata(struct exec_ctx *ctx OVS_UNUSED, struct branch *b,
                    const struct ofpact *a, bool last OVS_UNUSED)
{
    const struct ofpact_metadata *md = ofpact_get_WRITE_METADATA(a);

    b->flow->metadata = ((b->flow->metadata & ~md->mask)
                         | (md->metadata & md->mask));
}

static void
exec_dec_ttl(struct exec_ctx *ctx, struct branch *b,
             const struct ofpact *a OVS_UNUSED, bool last OVS_UNUSED)
{
    struct flow *f = b->flow;

    if (!is_ip_any(f)) {
        return;
    }
    if (f->nw_ttl <= 1) {
        ctx->ttl_expired = true;
        b->stopped = true;
        return;
    }
    f->nw_ttl--;
    if (f->dl_type == htons(ETH_TYPE_IP)) {
        commit_ipv4(b);
    } else {
        commit_ipv6(b);
    }
}

/* VLANs. */

static void
exec_push_vlan(struct exec_ctx *ctx OVS_UNUSED, struct branch *b,
               const struct ofpact *a, bool last OVS_UNUSED)
{
    /* The new tag starts as a copy of the outer one, as OpenFlow says. */
    ovs_be16 tci = (b->flow->vlans[0].tci & htons(VLAN_CFI)
                    ? b->flow->vlans[0].tci : htons(0));

    eth_push_vlan(b->packet, ofpact_get_PUSH_VLAN(a)->ethertype, tci);
    reextract(b);
}

static void
exec_strip_vlan(struct exec_ctx *ctx OVS_UNUSED, struct branch *b,
                const struct ofpact *a OVS_UNUSED, bool last OVS_UNUSED)
{
    if (b->flow->vlans[0].tci & htons(VLAN_CFI)) {
        eth_pop_vlan(b->packet);
        reextract(b);
    }
}

/* mod_vlan_vid and mod_vlan_pcp: rewrite the outer tag, or push one if the
 * action says so (OpenFlow 1.0's way). */
static void
set_vlan_bits(struct branch *b, uint16_t mask, uint16_t bits,
              bool push_if_needed)
{
    union flow_vlan_hdr *v = &b->flow->vlans[0];

    if (v->tci & htons(VLAN_CFI) || push_if_needed) {
        if (!v->tpid) {
            v->tpid = htons(ETH_TYPE_VLAN);
        }
        v->tci = (v->tci & ~htons(mask)) | htons(bits | VLAN_CFI);
        commit_vlan(b);
    }
}

static void
exec_set_vlan_vid(struct exec_ctx *ctx OVS_UNUSED, struct branch *b,
                  const struct ofpact *a, bool last OVS_UNUSED)
{
    const struct ofpact_vlan_vid *vv = ofpact_get_SET_VLAN_VID(a);

    set_vlan_bits(b, VLAN_VID_MASK, vv->vlan_vid, vv->push_vlan_if_needed);
}

static void
exec_set_vlan_pcp(struct exec_ctx *ctx OVS_UNUSED, struct branch *b,
                  const struct ofpact *a, bool last OVS_UNUSED)
{
    const struct ofpact_vlan_pcp *vp = ofpact_get_SET_VLAN_PCP(a);

    set_vlan_bits(b, VLAN_PCP_MASK, vp->vlan_pcp << VLAN_PCP_SHIFT,
                  vp->push_vlan_if_needed);
}

/* What flow-validate.c accepts, and only that. */
static action_func *const action_funcs[N_OFPACTS] = {
    [OFPACT_OUTPUT] = exec_output,
    [OFPACT_CT] = exec_ct,
    [OFPACT_CT_CLEAR] = exec_ct_clear,
    [OFPACT_RESUBMIT] = exec_resubmit,
    [OFPACT_GOTO_TABLE] = exec_goto_table,
    [OFPACT_SET_ETH_SRC] = exec_set_eth,
    [OFPACT_SET_ETH_DST] = exec_set_eth,
    [OFPACT_SET_IPV4_SRC] = exec_set_ipv4,
    [OFPACT_SET_IPV4_DST] = exec_set_ipv4,
    [OFPACT_SET_L4_SRC_PORT] = exec_set_l4_port,
    [OFPACT_SET_L4_DST_PORT] = exec_set_l4_port,
    [OFPACT_SET_FIELD] = exec_set_field,
    [OFPACT_WRITE_METADATA] = exec_write_metadata,
    [OFPACT_DEC_TTL] = exec_dec_ttl,
    [OFPACT_PUSH_VLAN] = exec_push_vlan,
    [OFPACT_SET_VLAN_VID] = exec_set_vlan_vid,
    [OFPACT_SET_VLAN_PCP] = exec_set_vlan_pcp,
    [OFPACT_STRIP_VLAN] = exec_strip_vlan,
};

/* Runs 'ofpacts' on 'b'; 'last' says whether anything follows them. */
static void
do_actions(struct exec_ctx *ctx, struct branch *b,
           const struct ofpact *ofpacts, size_t ofpacts_len, bool last)
{
    const struct ofpact *a;

    OFPACT_FOR_EACH (a, ofpacts, ofpacts_len) {
        if (!b->packet || b->stopped || ctx->too_deep) {
            return;
        }

        action_func *f = action_funcs[a->type];
        ovs_assert(f);
        f(ctx, b, a, last && ofpact_last(a, ofpacts, ofpacts_len));
    }
}

struct flow_exec_result
flow_exec(struct flow_table *table, uint8_t table_id,
          struct dp_packet *packet, struct flow *flow,
          const struct flow_exec_ops *ops, long long now)
{
    struct flow_rule *rule = flow_table_lookup(table, table_id, flow);

    if (!rule) {
        return (struct flow_exec_result) { FLOW_EXEC_MISS, 0 };
    }

    struct exec_ctx ctx = {
        .table = table,
        .ops = ops,
        .now = now,
        .depth = 1,
        .n_lookups = 1,
    };
    struct branch b = {
        .packet = packet,
        .flow = flow,
        .table_id = table_id,
    };
    flow_rule_account(rule, dp_packet_size(packet), now);
    do_actions(&ctx, &b, rule->ofpacts, rule->ofpacts_len, true);
    dp_packet_delete(b.packet);

    struct flow_exec_result r = { .n_forwarded = ctx.n_forwarded };
    r.status = (ctx.too_deep ? FLOW_EXEC_DEPTH
                : ctx.ttl_expired ? FLOW_EXEC_TTL
                : ctx.n_forwarded ? FLOW_EXEC_FORWARDED
                : FLOW_EXEC_DROP);
    return r;
}

const char *
flow_exec_status_name(enum flow_exec_status status)
{
    switch (status) {
    case FLOW_EXEC_FORWARDED:
        return "forwarded";
    case FLOW_EXEC_MISS:
        return "table miss";
    case FLOW_EXEC_DROP:
        return "dropped by flow";
    case FLOW_EXEC_TTL:
        return "ttl expired";
    case FLOW_EXEC_DEPTH:
        return "resubmit depth exceeded";
    }
    return "unknown";
}
