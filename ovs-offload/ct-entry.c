/*
 * Conntrack entries as stored in state-region slots: validation, hashing and
 * the dump-conntrack line.
 */
#include <config.h>
#include "ct-entry.h"

#include <netinet/icmp6.h>
#include <string.h>
#include "ct-dpif.h"
#include "hash.h"
#include "openvswitch/dynamic-string.h"
#include "packets.h"
#include "util.h"

void
ct_tuple_reverse(struct ct_tuple *dst, const struct ct_tuple *src)
{
    struct ct_tuple t = *src;

    t.src = src->dst;
    t.dst = src->src;
    if (src->proto == IPPROTO_ICMP || src->proto == IPPROTO_ICMPV6) {
        /* The reply to an echo request is an echo reply with the same id. */
        uint8_t type = src->dport >> 8;
        uint8_t code = src->dport & 0xff;

        type = (src->proto == IPPROTO_ICMP
                ? (type == ICMP4_ECHO_REQUEST ? ICMP4_ECHO_REPLY
                   : ICMP4_ECHO_REQUEST)
                : (type == ICMP6_ECHO_REQUEST ? ICMP6_ECHO_REPLY
                   : ICMP6_ECHO_REQUEST));
        t.dport = (type << 8) | code;
    } else {
        t.sport = src->dport;
        t.dport = src->sport;
    }
    *dst = t;
}

uint32_t
ct_tuple_hash(const struct ct_tuple *t, uint32_t basis)
{
    BUILD_ASSERT_DECL(sizeof(struct ct_tuple) % 4 == 0);
    return hash_words((const uint32_t *) t, sizeof *t / 4, basis);
}

bool
ct_tuple_equal(const struct ct_tuple *a, const struct ct_tuple *b)
{
    return !memcmp(a, b, sizeof *a);
}

static char *
ct_tuple_check(const struct ct_tuple *t, const char *which)
{
    if (t->family != 4 && t->family != 6) {
        return xasprintf("%s tuple: bad address family %u", which, t->family);
    }
    if (t->family == 4 && (!IN6_IS_ADDR_V4MAPPED(&t->src)
                           || !IN6_IS_ADDR_V4MAPPED(&t->dst))) {
        return xasprintf("%s tuple: IPv4 address not v4-mapped", which);
    }
    if (t->family == 6 && (IN6_IS_ADDR_V4MAPPED(&t->src)
                           || IN6_IS_ADDR_V4MAPPED(&t->dst))) {
        return xasprintf("%s tuple: v4-mapped address in IPv6 tuple", which);
    }
    switch (t->proto) {
    case IPPROTO_TCP:
    case IPPROTO_UDP:
        break;
    case IPPROTO_ICMP:
        if (t->family != 4) {
            return xasprintf("%s tuple: ICMP over IPv6", which);
        }
        break;
    case IPPROTO_ICMPV6:
        if (t->family != 6) {
            return xasprintf("%s tuple: ICMPv6 over IPv4", which);
        }
        break;
    default:
        /* Other protocols are tracked by address alone. */
        if (t->sport || t->dport) {
            return xasprintf("%s tuple: ports for protocol %u", which,
                             t->proto);
        }
        break;
    }
    if (t->pad) {
        return xasprintf("%s tuple: nonzero padding", which);
    }
    return NULL;
}

char *
ct_entry_check(const struct ct_entry *e)
{
    char *error = ct_tuple_check(&e->orig, "orig");
    if (!error) {
        error = ct_tuple_check(&e->reply, "reply");
    }
    if (error) {
        return error;
    }
    if (e->orig.proto != e->reply.proto || e->orig.family != e->reply.family) {
        return xstrdup("orig and reply tuples differ in protocol or family");
    }
    if (e->status & ~(CT_ENTRY_SEEN_REPLY | CT_ENTRY_SNAT | CT_ENTRY_DNAT)) {
        return xasprintf("unknown status bits 0x%x", e->status);
    }
    if (e->pad) {
        return xstrdup("nonzero padding");
    }
    if (e->orig.proto == IPPROTO_TCP) {
        if (e->proto_state) {
            return xasprintf("bad protocol state %u for tcp", e->proto_state);
        }
        return ct_tcp_check(e->peer);
    }

    static const struct ct_tcp_peer zero_peers[2];
    if (memcmp(e->peer, zero_peers, sizeof zero_peers)) {
        return xstrdup("tcp window state in a non-tcp entry");
    }
    if (e->proto_state > CT_OTHER_MULTIPLE) {
        return xasprintf("bad protocol state %u", e->proto_state);
    }
    return NULL;
}

char *
ct_entry_check_slot(uint16_t type, const void *payload, size_t len)
{
    if (type != OOR_SLOT_CT) {
        return xasprintf("unknown slot type %u", type);
    }
    if (len != sizeof(struct ct_entry)) {
        return xasprintf("conntrack entry of %"PRIuSIZE" bytes, expected "
                         "%"PRIuSIZE, len, sizeof(struct ct_entry));
    }

    struct ct_entry e;
    memcpy(&e, payload, sizeof e);
    return ct_entry_check(&e);
}

static void
ct_tuple_to_dpif(const struct ct_tuple *t, struct ct_dpif_tuple *d)
{
    memset(d, 0, sizeof *d);
    d->ip_proto = t->proto;
    if (t->family == 4) {
        d->l3_type = AF_INET;
        d->src.ip = in6_addr_get_mapped_ipv4(&t->src);
        d->dst.ip = in6_addr_get_mapped_ipv4(&t->dst);
    } else {
        d->l3_type = AF_INET6;
        d->src.in6 = t->src;
        d->dst.in6 = t->dst;
    }
    if (t->proto == IPPROTO_ICMP || t->proto == IPPROTO_ICMPV6) {
        d->icmp_id = htons(t->sport);
        d->icmp_type = t->dport >> 8;
        d->icmp_code = t->dport & 0xff;
    } else {
        d->src_port = htons(t->sport);
        d->dst_port = htons(t->dport);
    }
}

static void
format_tuple(struct ds *s, const char *name, const struct ct_tuple *t)
{
    struct ct_dpif_tuple d;

    ct_tuple_to_dpif(t, &d);
    ds_put_format(s, ",%s=(", name);
    ct_dpif_format_tuple(s, &d);
    ds_put_char(s, ')');
}

static void
format_tcp(struct ds *s, const struct ct_tcp_peer peer[2])
{
    ds_put_format(s, ",protoinfo=(state=%s",
                  ct_tcp_conn_state_name(ct_tcp_conn_state(peer)));
    for (int i = 0; i < 2; i++) {
        const char *dir = i ? "reply" : "orig";

        ds_put_format(s, ",seqlo_%s=%"PRIu32",seqhi_%s=%"PRIu32
                      ",maxwin_%s=%"PRIu32",wscale_%s=%u",
                      dir, peer[i].seqlo, dir, peer[i].seqhi,
                      dir, peer[i].max_win,
                      dir, peer[i].wscale & CT_TCP_WSCALE_MASK);
    }
    ds_put_char(s, ')');
}

void
ct_entry_format(struct ds *s, const struct ct_entry *e, uint16_t zone,
                long long now, bool stats)
{
    ct_dpif_format_ipproto(s, e->orig.proto);
    format_tuple(s, "orig", &e->orig);
    format_tuple(s, "reply", &e->reply);
    ds_put_format(s, ",zone=%"PRIu16, zone);
    if (e->mark) {
        ds_put_format(s, ",mark=%"PRIu32, e->mark);
    }
    if (e->label[0] || e->label[1]) {
        if (e->label[1]) {
            ds_put_format(s, ",labels=0x%"PRIx64"%016"PRIx64,
                          e->label[1], e->label[0]);
        } else {
            ds_put_format(s, ",labels=0x%"PRIx64, e->label[0]);
        }
    }

    long long left = (long long) e->expiration - now;
    ds_put_format(s, ",timeout=%lld", left > 0 ? (left + 999) / 1000 : 0);
    if (e->orig.proto == IPPROTO_TCP) {
        format_tcp(s, e->peer);
    }
    if (stats) {
        ds_put_format(s, ",packets_orig=%"PRIu64",bytes_orig=%"PRIu64
                      ",packets_reply=%"PRIu64",bytes_reply=%"PRIu64,
                      e->packets[0], e->bytes[0],
                      e->packets[1], e->bytes[1]);
    }
}
