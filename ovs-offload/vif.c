/*
 * VIF definitions and the per-VIF firewall policy.
 */
#include <config.h>
#include "vif.h"

#include <netinet/icmp6.h>
#include <string.h>
#include "ct-engine.h"
#include "ct-entry.h"
#include "fdb.h"
#include "flow-store.h"
#include "neigh.h"
#include "route.h"
#include "ct-key.h"
#include "dp-packet.h"
#include "flow.h"
#include "hash.h"
#include "openvswitch/dynamic-string.h"
#include "packets.h"
#include "state-region.h"
#include "util.h"

char *
vif_check_slot(uint16_t type, const void *payload, size_t len)
{
    switch (type) {
    case OOR_SLOT_CT:
        return ct_entry_check_slot(type, payload, len);
    case OOR_SLOT_FDB:
        return fdb_check_slot(type, payload, len);
    case OOR_SLOT_NEIGH:
        return neigh_check_slot(type, payload, len);
    case OOR_SLOT_ROUTE:
        return route_check_slot(type, payload, len);
    case OOR_SLOT_FLOW:
        return flow_slot_check(type, payload, len);
    case OOR_SLOT_FREE:
    case OOR_N_SLOT_TYPES:
    default:
        return xasprintf("unknown slot type %"PRIu16, type);
    }
}

static const char *policy_names[OOR_N_POLICIES] = {
    [OOR_POLICY_STATEFUL] = "stateful",
    [OOR_POLICY_LOOSE] = "loose",
    [OOR_POLICY_OPEN] = "open",
};

const char *
vif_policy_name(uint8_t policy)
{
    return policy < OOR_N_POLICIES ? policy_names[policy] : "?";
}

/* Addresses as one ip= or fip= option lists them. */
struct addr_list {
    struct in6_addr addrs[OOR_MAX_IPS];
    int n;
};

static char *
parse_addrs(struct addr_list *list, const char *key, const char *value)
{
    char *copy = xstrdup(value), *save = NULL, *error = NULL;

    list->n = 0;
    for (char *tok = strtok_r(copy, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        struct in6_addr a;
        ovs_be32 ip4;

        if (list->n >= OOR_MAX_IPS) {
            error = xasprintf("%s: more than %d addresses", key, OOR_MAX_IPS);
            break;
        }
        if (ip_parse(tok, &ip4)) {
            in6_addr_set_mapped_ipv4(&a, ip4);
        } else if (!ipv6_parse(tok, &a)) {
            error = xasprintf("%s: \"%s\" is not an IP address", key, tok);
            break;
        }
        list->addrs[list->n++] = a;
    }
    free(copy);
    return error;
}

static bool
list_has(const struct addr_list *list, int n, const struct in6_addr *a)
{
    for (int i = 0; i < n; i++) {
        if (ipv6_addr_equals(&list->addrs[i], a)) {
            return true;
        }
    }
    return false;
}

static bool
list_has_family(const struct addr_list *list, bool ipv4)
{
    for (int i = 0; i < list->n; i++) {
        if (IN6_IS_ADDR_V4MAPPED(&list->addrs[i]) == ipv4) {
            return true;
        }
    }
    return false;
}

/* Can 'a' be a host's address on a network: not unspecified, loopback,
 * multicast or (IPv4) class E or broadcast? */
static bool
is_unicast(const struct in6_addr *a)
{
    if (IN6_IS_ADDR_V4MAPPED(a)) {
        uint32_t ip = ntohl(in6_addr_get_mapped_ipv4(a));
        uint8_t first = ip >> 24;

        return ip && first != 127 && first < 224;
    }
    return !ipv6_is_zero(a) && !ipv6_addr_is_multicast(a)
           && !ipv6_addr_equals(a, &in6addr_loopback);
}

/* Checks the floating addresses 'fips' against the VM's own 'ips' and the
 * policy, then puts both into 'def', own ones first. */
static char *
set_addrs(struct oor_vif_def *def, const struct addr_list *ips,
          const struct addr_list *fips)
{
    for (int i = 0; i < fips->n; i++) {
        const struct in6_addr *a = &fips->addrs[i];
        bool ipv4 = IN6_IS_ADDR_V4MAPPED(a);
        struct ds s = DS_EMPTY_INITIALIZER;
        char *error = NULL;

        ipv6_format_mapped(a, &s);
        if (!is_unicast(a)) {
            error = xasprintf("fip: %s is not a unicast address", ds_cstr(&s));
        } else if (list_has(ips, ips->n, a)) {
            error = xasprintf("fip: %s is also in ip=, the VM's own "
                              "addresses", ds_cstr(&s));
        } else if (list_has(fips, i, a)) {
            error = xasprintf("fip: %s is listed twice", ds_cstr(&s));
        } else if (!list_has_family(ips, ipv4)) {
            error = xasprintf("fip: %s needs an %s address in ip= to map to",
                              ds_cstr(&s), ipv4 ? "IPv4" : "IPv6");
        } else if (def->policy == OOR_POLICY_OPEN) {
            error = xasprintf("fip: %s needs policy stateful or loose: "
                              "policy open has no conntrack to NAT it",
                              ds_cstr(&s));
        }
        ds_destroy(&s);
        if (error) {
            return error;
        }
    }
    if (ips->n + fips->n > OOR_MAX_IPS) {
        return xasprintf("ip and fip: %d addresses, more than %d together",
                         ips->n + fips->n, OOR_MAX_IPS);
    }

    def->n_ips = 0;
    def->floating = 0;
    memset(def->ips, 0, sizeof def->ips);
    for (int i = 0; i < ips->n; i++) {
        def->ips[def->n_ips++] = ips->addrs[i];
    }
    for (int i = 0; i < fips->n; i++) {
        def->floating |= 1u << def->n_ips;
        def->ips[def->n_ips++] = fips->addrs[i];
    }
    return NULL;
}

bool
vif_def_has_ip(const struct oor_vif_def *def, const struct in6_addr *ip,
               bool floating)
{
    for (int i = 0; i < def->n_ips && i < OOR_MAX_IPS; i++) {
        if (vif_def_is_floating(def, i) == floating
            && ipv6_addr_equals(&def->ips[i], ip)) {
            return true;
        }
    }
    return false;
}

/* The first of the floating addresses (if 'floating') or of the own ones
 * (if not) of 'def' in the family 'ipv4' says, or NULL. */
static const struct in6_addr *
first_ip(const struct oor_vif_def *def, bool floating, bool ipv4)
{
    for (int i = 0; i < def->n_ips && i < OOR_MAX_IPS; i++) {
        if (vif_def_is_floating(def, i) == floating
            && IN6_IS_ADDR_V4MAPPED(&def->ips[i]) == ipv4) {
            return &def->ips[i];
        }
    }
    return NULL;
}

static const struct {
    const char *name;
    uint8_t proto;
} allow_protos[] = {
    { "tcp", IPPROTO_TCP },
    { "udp", IPPROTO_UDP },
    { "icmp", IPPROTO_ICMP },
    { "icmp6", IPPROTO_ICMPV6 },
};

static const char *
allow_proto_name(uint8_t proto)
{
    for (size_t i = 0; i < ARRAY_SIZE(allow_protos); i++) {
        if (allow_protos[i].proto == proto) {
            return allow_protos[i].name;
        }
    }
    return "?";
}

/* Parses one opening: "tcp:PORT", "udp:PORT", or "icmp" or "icmp6" for
 * echo requests. */
static char *
parse_one_allow(struct oor_allow *a, char *tok)
{
    char *colon = strchr(tok, ':');
    unsigned int port = 0;

    if (colon) {
        *colon = '\0';
    }
    memset(a, 0, sizeof *a);
    for (size_t i = 0; i < ARRAY_SIZE(allow_protos); i++) {
        if (!strcmp(tok, allow_protos[i].name)) {
            a->proto = allow_protos[i].proto;
        }
    }
    if (!a->proto) {
        return xasprintf("allow: unknown protocol \"%s\" (tcp, udp, icmp "
                         "or icmp6)", tok);
    }

    bool icmp = a->proto == IPPROTO_ICMP || a->proto == IPPROTO_ICMPV6;
    if (icmp ? colon != NULL
        : !colon || !str_to_uint(colon + 1, 10, &port) || !port
          || port > 65535) {
        if (colon) {
            *colon = ':';
        }
        return xasprintf("allow: \"%s\" is not %s", tok,
                         icmp ? "icmp or icmp6 alone" : "PROTO:PORT");
    }
    a->port = port;
    return NULL;
}

static char *
parse_allow(struct oor_vif_def *def, const char *value)
{
    char *copy = xstrdup(value), *save = NULL, *error = NULL;

    def->n_allow = 0;
    memset(def->allow, 0, sizeof def->allow);
    for (char *tok = strtok_r(copy, ",", &save); tok && !error;
         tok = strtok_r(NULL, ",", &save)) {
        if (def->n_allow >= OOR_MAX_ALLOW) {
            error = xasprintf("allow: more than %d entries", OOR_MAX_ALLOW);
        } else {
            error = parse_one_allow(&def->allow[def->n_allow++], tok);
        }
    }
    free(copy);
    return error;
}

static char *
parse_option(struct oor_vif_def *def, int *zone, struct addr_list *ips,
             struct addr_list *fips, const char *arg)
{
    const char *eq = strchr(arg, '=');
    if (!eq) {
        return xasprintf("\"%s\": expected KEY=VALUE", arg);
    }

    const char *value = eq + 1;
    size_t klen = eq - arg;
    if (klen == 2 && !strncmp(arg, "ip", 2)) {
        return parse_addrs(ips, "ip", value);
    } else if (klen == 3 && !strncmp(arg, "fip", 3)) {
        return parse_addrs(fips, "fip", value);
    } else if (klen == 5 && !strncmp(arg, "allow", 5)) {
        return parse_allow(def, value);
    } else if (klen == 6 && !strncmp(arg, "policy", 6)) {
        for (int i = 0; i < OOR_N_POLICIES; i++) {
            if (!strcmp(value, policy_names[i])) {
                def->policy = i;
                return NULL;
            }
        }
        return xasprintf("policy: \"%s\" is not stateful, loose or open",
                         value);
    } else if (klen == 4 && !strncmp(arg, "zone", 4)) {
        unsigned int z;
        if (!str_to_uint(value, 10, &z) || !z || z > 65535) {
            return xasprintf("zone: \"%s\" is not a number from 1 to 65535",
                             value);
        }
        *zone = z;
        return NULL;
    } else if (klen == 6 && !strncmp(arg, "cookie", 6)) {
        unsigned long long c;
        if (!str_to_ullong(value, 0, &c) || !c) {
            return xasprintf("cookie: \"%s\" is not a nonzero number",
                             value);
        }
        def->cookie = c;
        return NULL;
    }
    return xasprintf("unknown option \"%.*s\"", (int) klen, arg);
}

char *
vif_def_parse(struct oor_vif_def *def, int *zone, int argc,
              const char *argv[])
{
    struct eth_addr mac;
    char *error;

    memset(def, 0, sizeof *def);
    if (argc < 2) {
        return xstrdup("expected IFACE_ID MAC");
    }
    if (strlen(argv[0]) >= sizeof def->iface_id) {
        return xasprintf("iface-id \"%s\" is longer than %"PRIuSIZE
                         " characters", argv[0], sizeof def->iface_id - 1);
    }
    ovs_strlcpy(def->iface_id, argv[0], sizeof def->iface_id);
    if (!eth_addr_from_string(argv[1], &mac) || eth_addr_is_multicast(mac)
        || eth_addr_is_zero(mac)) {
        return xasprintf("\"%s\" is not a unicast MAC address", argv[1]);
    }
    memcpy(def->mac, mac.ea, sizeof def->mac);

    /* The default cookie is the iface-id's hash, so that the same
     * add-vif gives the same VIF on every host. */
    def->cookie = hash_bytes64((const uint64_t *) def->iface_id,
                               sizeof def->iface_id, 0) | 1;
    struct addr_list ips = { .n = 0 }, fips = { .n = 0 };
    for (int i = 2; i < argc; i++) {
        error = parse_option(def, zone, &ips, &fips, argv[i]);
        if (error) {
            return error;
        }
    }
    error = set_addrs(def, &ips, &fips);
    if (error) {
        return error;
    }
    /* What the region format itself requires, e.g. of the iface-id, which
     * names files. */
    return state_region_check_def(def);
}

void
vif_def_format(struct ds *s, const struct oor_vif_def *def)
{
    struct eth_addr mac;

    memcpy(mac.ea, def->mac, sizeof mac.ea);
    ds_put_format(s, "mac="ETH_ADDR_FMT, ETH_ADDR_ARGS(mac));
    for (int floating = 0; floating < 2; floating++) {
        const char *sep = floating ? " fip=" : " ip=";

        for (int i = 0; i < def->n_ips && i < OOR_MAX_IPS; i++) {
            if (vif_def_is_floating(def, i) == floating) {
                ds_put_cstr(s, sep);
                ipv6_format_mapped(&def->ips[i], s);
                sep = ",";
            }
        }
    }
    ds_put_format(s, " policy=%s", vif_policy_name(def->policy));
    if (def->n_allow) {
        ds_put_cstr(s, " allow=");
        for (int i = 0; i < def->n_allow; i++) {
            const struct oor_allow *a = &def->allow[i];

            ds_put_format(s, "%s%s", i ? "," : "", allow_proto_name(a->proto));
            if (a->port) {
                ds_put_format(s, ":%"PRIu16, a->port);
            }
        }
    }
    ds_put_format(s, " cookie=%#"PRIx64, def->cookie);
}

/* ARP, RARP, neighbour discovery and MLD keep the network working and are
 * not connections: they never meet conntrack. */
static bool
bypasses_conntrack(const struct flow *flow)
{
    if (flow->dl_type == htons(ETH_TYPE_ARP)
        || flow->dl_type == htons(ETH_TYPE_RARP)) {
        return true;
    }
    if (flow->dl_type == htons(ETH_TYPE_IPV6)
        && flow->nw_proto == IPPROTO_ICMPV6) {
        uint8_t type = ntohs(flow->tp_src);

        return ((type >= ND_ROUTER_SOLICIT && type <= ND_REDIRECT)
                || type == MLD_LISTENER_QUERY || type == MLD_LISTENER_REPORT
                || type == MLD_LISTENER_REDUCTION || type == MLD2_REPORT);
    }
    return false;
}

/* The VIF's inbound openings: may a connection from the network to 'key'
 * start? */
static bool
inbound_allowed(const struct ct_tuple *key, void *vif_)
{
    const struct vif *vif = vif_;

    for (int i = 0; i < vif->def.n_allow; i++) {
        const struct oor_allow *a = &vif->def.allow[i];

        if (a->proto != key->proto) {
            continue;
        }
        if (a->proto == IPPROTO_ICMP || a->proto == IPPROTO_ICMPV6) {
            /* ICMP keys carry the type in the high byte of 'dport'. */
            uint8_t type = key->dport >> 8;
            if (type == (a->proto == IPPROTO_ICMP ? ICMP4_ECHO_REQUEST
                         : ICMP6_ECHO_REQUEST)) {
                return true;
            }
        } else if (a->port == key->dport) {
            return true;
        }
    }
    return false;
}

/* Which direction a key travels does not matter for the openings: a
 * connection the VM started is never "+new" from the network's side. */
static bool
new_allowed(const struct vif *vif, struct dp_packet *pkt, bool from_vm)
{
    struct ct_tuple key;

    return from_vm || (ct_key_extract(pkt, &key) == CT_KEY_CONN
                       && inbound_allowed(&key, CONST_CAST(struct vif *,
                                                           vif)));
}

/* The NAT of a frame of a VIF with floating addresses.  Every frame goes
 * through NAT in the VIF's zone, so that a connection's translation, if it
 * has one, applies both ways; a new connection gets one when it leaves the
 * host from the VM (SNAT to the floating address of its family, keeping
 * its port where it is free) or comes in to a floating address (DNAT to the
 * VM's own address of its family, once an opening lets it in).  Returns
 * NULL for a VIF without floating addresses: no NAT at all. */
static const struct ct_nat *
floating_nat(const struct oor_vif_def *def, const struct flow *flow,
             bool from_vm, bool to_uplink, struct ct_nat *nat)
{
    if (!def->floating) {
        return NULL;
    }

    bool ipv4 = flow->dl_type == htons(ETH_TYPE_IP);
    const struct in6_addr *to = NULL;
    struct in6_addr dst;

    if (ipv4) {
        in6_addr_set_mapped_ipv4(&dst, flow->nw_dst);
    } else {
        dst = flow->ipv6_dst;
    }
    memset(nat, 0, sizeof *nat);
    if (from_vm && to_uplink) {
        to = first_ip(def, true, ipv4);
        nat->snat = true;
    } else if (!from_vm && vif_def_has_ip(def, &dst, true)) {
        to = first_ip(def, false, ipv4);
    }
    if (to) {
        nat->min_addr = nat->max_addr = *to;
    } else {
        nat->no_range = true;
    }
    return nat;
}

struct vif_verdict
vif_process(struct vif *vif, struct dp_packet *pkt, const struct flow *flow,
            bool from_vm, bool to_uplink, long long now)
{
    struct vif_verdict v = { .allow = true };

    if (vif->def.policy == OOR_POLICY_OPEN || bypasses_conntrack(flow)) {
        return v;
    }
    if (!is_ip_any(flow)) {
        v.allow = false;            /* The firewall passes only IP. */
        return v;
    }

    struct ct_nat nat;
    struct ct_exec x = {
        .commit = from_vm,
        .may_commit = from_vm ? NULL : inbound_allowed,
        .aux = vif,
        .pickup = vif->def.policy == OOR_POLICY_LOOSE,
        .nat = floating_nat(&vif->def, flow, from_vm, to_uplink, &nat),
    };
    struct ct_exec_result r = ct_table_execute(vif->ct, pkt, &x, now);

    v.ct_state = r.ct_state;
    v.refused = r.refused != CT_REFUSED_NONE;
    if (r.refused || r.ct_state & CS_INVALID) {
        v.allow = false;
    } else if (r.ct_state & (CS_ESTABLISHED | CS_RELATED)) {
        v.allow = true;
    } else {
        v.allow = (r.ct_state & CS_NEW) && new_allowed(vif, pkt, from_vm);
    }
    return v;
}
