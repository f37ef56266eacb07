/*
 * A differential test of the conntrack engine against OVS's userspace
 * conntrack (lib/conntrack.c), on the traces of ct-trace.h.
 *
 *   test-ct-diff list
 *       Lists the trace kinds.
 *   test-ct-diff pcap TRACE FILE [--seed=N]
 *       Writes a trace to a pcap file.
 *   test-ct-diff digest TRACE [--seed=N]
 *       Prints a hash of a trace's frames and metadata.
 *   test-ct-diff run [--mode=strict|loose] [--seed=N] [--expected=FILE]
 *                    [--samples=N] [--invert-pickup] [--perturb-seq=N]
 *                    [--perturb-nat=N] [TRACE...]
 *       Feeds every packet of each trace (all by default) to both
 *       conntracks, a copy each, with commit and, for NAT traces, the
 *       trace's NAT range; compares the ct_state bits and, for NAT, the
 *       rewritten packets.  Each difference is classified by rules over the
 *       packet and the two verdicts, and a class is accepted only if FILE
 *       lists it for the mode.  Exits 1 if a difference is not accepted, or
 *       if a class FILE marks as required in the mode never occurred in a run
 *       of all traces.  --invert-pickup, --perturb-seq=N (shift the
 *       sequence number of every Nth TCP non-SYN segment in our copy only)
 *       and --perturb-nat=N (damage the ports of every Nth packet our engine
 *       translated) are negative controls: they must make the comparison
 *       fail.
 *   test-ct-diff show TRACE [--mode=...] [--from=N] [--count=N]
 *       Prints each packet of a trace with both verdicts.
 *   test-ct-diff bench N_PKTS BATCH [CHANGE]
 *       Our engine on the packets of OVS's "test-conntrack benchmark" with
 *       the same arguments; prints the time the way it does.
 *   test-ct-diff memory N_ENTRIES [DIR]
 *       Fills a table with N_ENTRIES UDP connections in a region in DIR and
 *       reports the memory they take.
 */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "command-line.h"
#include "conntrack.h"
#include "ct-engine.h"
#include "ct-trace.h"
#include "dp-packet.h"
#include "hash.h"
#include "openvswitch/dynamic-string.h"
#include "openvswitch/hmap.h"
#include "ovstest.h"
#include "packets.h"
#include "state-region.h"
#include "timeval.h"
#include "util.h"

enum diff_mode {
    MODE_STRICT,
    MODE_LOOSE,
    N_MODES
};

static const char *const mode_names[N_MODES] = { "strict", "loose" };

#define CS_CORE_MASK (CS_NEW | CS_ESTABLISHED | CS_RELATED | CS_REPLY_DIR \
                      | CS_INVALID | CS_TRACKED)
#define CS_NAT_MASK (CS_SRC_NAT | CS_DST_NAT)

/* A class of difference: listed in the expected file, or met in a run. */
struct diff_class {
    char *name;
    bool listed;
    bool allowed[N_MODES];
    bool required[N_MODES];
    char *text;                 /* The file's description. */
    uint64_t count;             /* In this run. */
    uint64_t trace_count;       /* In the current trace. */
    char *example;              /* The first occurrence. */
};

struct diff_ctx {
    enum diff_mode mode;
    uint64_t seed;
    bool invert_pickup;
    unsigned int perturb_seq;
    uint64_t perturb_counter;
    unsigned int perturb_nat;
    uint64_t perturb_nat_counter;
    size_t max_samples;
    long long show_from;        /* -1: show nothing. */
    long long show_count;
    bool compare_nat_bits;

    struct diff_class *classes;
    size_t n_classes;
    size_t allocated_classes;

    struct ds samples;
    size_t n_samples;

    uint64_t packets, same, differ, unexplained;
    char *dir;
};

/* Options. */

static bool
parse_opt(const char *arg, const char *name, const char **value)
{
    size_t len = strlen(name);

    if (!strncmp(arg, name, len) && arg[len] == '=') {
        *value = arg + len + 1;
        return true;
    }
    return false;
}

static unsigned long long
parse_number(const char *s, const char *what)
{
    char *end;
    unsigned long long n;

    errno = 0;
    n = strtoull(s, &end, 0);
    if (errno || end == s || *end) {
        ovs_fatal(0, "%s: \"%s\" is not a number", what, s);
    }
    return n;
}

static enum diff_mode
parse_mode(const char *s)
{
    for (int i = 0; i < N_MODES; i++) {
        if (!strcmp(s, mode_names[i])) {
            return i;
        }
    }
    ovs_fatal(0, "--mode: \"%s\" is neither strict nor loose", s);
}

/* The expected differences. */

static struct diff_class *
find_class(struct diff_ctx *ctx, const char *name)
{
    for (size_t i = 0; i < ctx->n_classes; i++) {
        if (!strcmp(ctx->classes[i].name, name)) {
            return &ctx->classes[i];
        }
    }
    return NULL;
}

static struct diff_class *
add_class(struct diff_ctx *ctx, const char *name)
{
    if (ctx->n_classes >= ctx->allocated_classes) {
        ctx->classes = x2nrealloc(ctx->classes, &ctx->allocated_classes,
                                  sizeof *ctx->classes);
    }
    struct diff_class *c = &ctx->classes[ctx->n_classes++];
    memset(c, 0, sizeof *c);
    c->name = xstrdup(name);
    return c;
}

static bool
parse_mode_list(const char *list, bool modes[N_MODES])
{
    char *copy = xstrdup(list), *save = NULL;
    bool ok = true;

    memset(modes, 0, N_MODES * sizeof *modes);
    for (char *m = strtok_r(copy, ",", &save); m;
         m = strtok_r(NULL, ",", &save)) {
        int i;
        for (i = 0; i < N_MODES && strcmp(m, mode_names[i]); i++) {
            continue;
        }
        if (i >= N_MODES) {
            ok = false;
            break;
        }
        modes[i] = true;
    }
    free(copy);
    return ok;
}

/* Each line of the file is
 *
 *     CLASS modes=MODE[,MODE] [required=MODE[,MODE]]: DESCRIPTION
 *
 * and blank lines and '#' comments are ignored. */
static void
read_expected(struct diff_ctx *ctx, const char *file)
{
    FILE *f = fopen(file, "r");
    char line[4096];
    int n = 0;

    if (!f) {
        ovs_fatal(errno, "%s: cannot open", file);
    }
    while (fgets(line, sizeof line, f)) {
        char *colon, *save = NULL, *tok;

        n++;
        line[strcspn(line, "\n")] = '\0';
        tok = line + strspn(line, " \t");
        if (!*tok || *tok == '#') {
            continue;
        }
        colon = strchr(tok, ':');
        if (!colon) {
            ovs_fatal(0, "%s:%d: missing ':' after the class", file, n);
        }
        *colon = '\0';

        char *name = strtok_r(tok, " \t", &save);
        if (!name || find_class(ctx, name)) {
            ovs_fatal(0, "%s:%d: missing or repeated class name", file, n);
        }
        struct diff_class *c = add_class(ctx, name);
        c->listed = true;
        c->text = xstrdup(colon + 1 + strspn(colon + 1, " \t"));
        while ((tok = strtok_r(NULL, " \t", &save))) {
            const char *v;

            if (parse_opt(tok, "modes", &v)) {
                if (!parse_mode_list(v, c->allowed)) {
                    ovs_fatal(0, "%s:%d: bad modes \"%s\"", file, n, v);
                }
            } else if (parse_opt(tok, "required", &v)) {
                if (!parse_mode_list(v, c->required)) {
                    ovs_fatal(0, "%s:%d: bad required \"%s\"", file, n, v);
                }
            } else {
                ovs_fatal(0, "%s:%d: unknown attribute \"%s\"", file, n, tok);
            }
        }
        for (int m = 0; m < N_MODES; m++) {
            if (c->required[m] && !c->allowed[m]) {
                ovs_fatal(0, "%s:%d: %s is required but not allowed in %s "
                          "mode", file, n, c->name, mode_names[m]);
            }
        }
    }
    fclose(f);
}

/* Connections OVS picked up and we did not, by their tuple in either
 * direction. */
struct picked {
    struct hmap_node node;
    struct ct_trace_tuple key;
};

static void
picked_key(const struct ct_trace_tuple *t, struct ct_trace_tuple *key)
{
    int c = memcmp(&t->src, &t->dst, sizeof t->src);
    bool swap = c > 0 || (!c && t->sport > t->dport);

    memset(key, 0, sizeof *key);
    key->src = swap ? t->dst : t->src;
    key->dst = swap ? t->src : t->dst;
    key->sport = swap ? t->dport : t->sport;
    key->dport = swap ? t->sport : t->dport;
    key->proto = t->proto;
}

static struct picked *
picked_find(const struct hmap *set, const struct ct_trace_tuple *t)
{
    struct ct_trace_tuple key;
    struct picked *p;

    picked_key(t, &key);
    HMAP_FOR_EACH_WITH_HASH (p, node, hash_bytes(&key, sizeof key, 0), set) {
        if (!memcmp(&p->key, &key, sizeof key)) {
            return p;
        }
    }
    return NULL;
}

static void
picked_add(struct hmap *set, const struct ct_trace_tuple *t)
{
    if (!picked_find(set, t)) {
        struct picked *p = xmalloc(sizeof *p);

        picked_key(t, &p->key);
        hmap_insert(set, &p->node, hash_bytes(&p->key, sizeof p->key, 0));
    }
}

static void
picked_clear(struct hmap *set)
{
    struct picked *p;

    HMAP_FOR_EACH_POP (p, node, set) {
        free(p);
    }
    hmap_destroy(set);
}

static uint16_t
tcp_flags_of(const struct dp_packet *pkt)
{
    const struct tcp_header *tcp = dp_packet_l4(pkt);
    return tcp && dp_packet_l4_size(pkt) >= TCP_HEADER_LEN
           ? TCP_FLAGS(tcp->tcp_ctl) : 0;
}

static bool
tcp_flags_valid_alone(uint16_t flags)
{
    /* Combinations any tracker refuses outright: SYN with RST or FIN, and
     * segments with neither ACK nor RST, or FIN/PSH/URG without ACK. */
    if (flags & TCP_SYN) {
        return !(flags & (TCP_RST | TCP_FIN));
    }
    if (!(flags & (TCP_ACK | TCP_RST))) {
        return false;
    }
    return (flags & TCP_ACK) || !(flags & (TCP_FIN | TCP_PSH | TCP_URG));
}

/* Classifies a packet on which the verdicts 'vo' (OVS) and 'vu' (ours)
 * differ, from the packet as the trace has it and the two verdicts, and
 * from what earlier verdicts in the trace established ('picked').  Returns
 * a class name; whether the class is a deliberate difference is up to the
 * expected file, not to this function. */
static const char *
classify(const struct dp_packet *pkt, bool icmp_error, uint32_t vo,
         uint32_t vu, struct hmap *picked, bool nat_fault_ovs,
         bool nat_fault_ours)
{
    struct ct_trace_tuple tuple, inner;
    bool have = ct_trace_get_tuple(pkt, false, &tuple);

    if (nat_fault_ours) {
        return "nat-rewrite-ours";
    }
    if (nat_fault_ovs) {
        return "nat-rewrite-ovs";
    }

    if (have && tuple.proto == IPPROTO_TCP) {
        uint16_t flags = tcp_flags_of(pkt);

        if (vo == (CS_TRACKED | CS_NEW) && vu == (CS_TRACKED | CS_INVALID)
            && !(flags & TCP_SYN) && tcp_flags_valid_alone(flags)) {
            /* OVS says +new to a non-SYN only when no connection matches:
             * it picked one up; we refused to. */
            picked_add(picked, &tuple);
            return "strict-pickup";
        }
        if (picked_find(picked, &tuple)
            && (vu == (CS_TRACKED | CS_INVALID)
                || vu == (CS_TRACKED | CS_NEW))) {
            /* We have no connection, or one just started from a SYN,
             * where OVS has its picked-up one. */
            return "pickup-aftermath";
        }
        if ((flags & (TCP_SYN | TCP_ACK)) == TCP_SYN
            && (vo & CS_CORE_MASK) == (CS_TRACKED | CS_NEW)
            && (vu & CS_CORE_MASK) == (CS_TRACKED | CS_NEW | CS_REPLY_DIR)) {
            return "syn-reply-rpl";
        }
    }
    if (icmp_error && vu == (CS_TRACKED | CS_INVALID)
        && ct_trace_get_tuple(pkt, true, &inner)
        && inner.proto == IPPROTO_TCP && picked_find(picked, &inner)) {
        return "pickup-aftermath";
    }
    if ((vo & CS_CORE_MASK) == (vu & CS_CORE_MASK)) {
        if ((vo & CS_INVALID) && (vo & CS_NAT_MASK) && !(vu & CS_NAT_MASK)) {
            return "nat-invalid";
        }
        if ((vo & CS_NAT_MASK) && (vu & CS_NAT_MASK)) {
            return ((vo & CS_REPLY_DIR) || (vu & CS_REPLY_DIR)
                    ? "nat-bits-reply" : "nat-bits");
        }
    }
    return "unclassified";
}

/* NAT. */

static void
nat_to_ovs(const struct ct_nat *nat, struct nat_action_info_t *nai)
{
    bool v4 = IN6_IS_ADDR_V4MAPPED(&nat->min_addr);

    memset(nai, 0, sizeof *nai);
    if (v4) {
        nai->min_addr.ipv4 = in6_addr_get_mapped_ipv4(&nat->min_addr);
        nai->max_addr.ipv4 = in6_addr_get_mapped_ipv4(&nat->max_addr);
    } else {
        nai->min_addr.ipv6 = nat->min_addr;
        nai->max_addr.ipv6 = nat->max_addr;
    }
    nai->min_port = nat->min_port;
    nai->max_port = nat->max_port;
    if (nat->snat) {
        nai->nat_action = NAT_ACTION_SRC;
        if (nat->min_port || nat->max_port) {
            nai->nat_action |= NAT_ACTION_SRC_PORT;
        }
    } else {
        nai->nat_action = NAT_ACTION_DST;
        if (nat->min_port || nat->max_port) {
            nai->nat_action |= NAT_ACTION_DST_PORT;
        }
    }
}

/* One conntrack's translations, by the trace's connection number: the tuple
 * of each connection's original-direction packets once translated. */
struct nat_view {
    struct ct_trace_tuple *xlat;
    bool *known;
};

static bool
addr_in_range(const struct in6_addr *a, const struct ct_nat *nat)
{
    return (memcmp(a, &nat->min_addr, sizeof *a) >= 0
            && memcmp(a, &nat->max_addr, sizeof *a) <= 0);
}

static bool
port_in_range(uint16_t port, const struct ct_nat *nat, uint8_t proto)
{
    if (proto != IPPROTO_TCP && proto != IPPROTO_UDP) {
        return true;
    }
    if (!nat->min_port && !nat->max_port) {
        return true;
    }
    return port >= nat->min_port && port <= MAX(nat->max_port,
                                                  nat->min_port);
}

static bool
tuple_equal(const struct ct_trace_tuple *a, const struct ct_trace_tuple *b)
{
    return (ipv6_addr_equals(&a->src, &b->src)
            && ipv6_addr_equals(&a->dst, &b->dst)
            && a->sport == b->sport && a->dport == b->dport
            && a->proto == b->proto);
}

static void
tuple_reverse(struct ct_trace_tuple *r, const struct ct_trace_tuple *t)
{
    memset(r, 0, sizeof *r);
    r->src = t->dst;
    r->dst = t->src;
    r->sport = t->dport;
    r->dport = t->sport;
    r->proto = t->proto;
}

/* Checks how one conntrack rewrote 'out', which it tracked with 'verdict',
 * against the trace's untranslated packet 'p', and learns the connection's
 * translation from original-direction packets.  Returns NULL if all is
 * well, else a malloc'd description of the fault. */
static char *
nat_check(const struct ct_trace *t, const struct ct_trace_pkt *p,
          struct nat_view *v, const struct dp_packet *out, uint32_t verdict)
{
    struct ct_trace_tuple got, want;
    uint32_t c = p->conn;

    if (!t->has_nat || c == CT_TRACE_NO_CONN
        || !(verdict & CS_TRACKED) || (verdict & CS_INVALID)) {
        return NULL;
    }

    if (p->icmp_error) {
        if (!(verdict & CS_RELATED) || !v->known[c]
            || !ct_trace_get_tuple(out, true, &got)) {
            return NULL;
        }
        if (p->reply) {
            /* Untranslated back to what the originator sent. */
            ct_trace_get_tuple(p->pkt, true, &want);
        } else {
            /* The responder's packet, as the responder sent it. */
            tuple_reverse(&want, &v->xlat[c]);
        }
        want.proto = got.proto;
        if (!tuple_equal(&got, &want)) {
            return xstrdup("the quoted packet is not translated right");
        }
        return NULL;
    }

    if (!ct_trace_get_tuple(out, false, &got)) {
        return NULL;
    }
    if (p->reply) {
        ct_trace_get_tuple(p->pkt, false, &want);
        if (v->known[c] && !tuple_equal(&got, &want)) {
            return xstrdup("a reply is not translated back to the "
                           "originator's tuple");
        }
        return NULL;
    }

    if (v->known[c] && !(verdict & CS_NEW)
        && !tuple_equal(&got, &v->xlat[c])) {
        return xstrdup("the translation changed within the connection");
    }
    const struct in6_addr *a = t->nat.snat ? &got.src : &got.dst;
    uint16_t port = t->nat.snat ? got.sport : got.dport;
    if (!addr_in_range(a, &t->nat) || !port_in_range(port, &t->nat,
                                                     got.proto)) {
        return xstrdup("translated outside the NAT range");
    }
    v->xlat[c] = got;
    v->known[c] = true;
    return NULL;
}

/* Probes whether our engine reports +snat/+dnat at all. */
static bool
probe_nat_bits(struct diff_ctx *ctx)
{
    struct ct_engine *e = ct_engine_create();
    struct oor_vif_def def;
    struct state_region *r;
    char *path = xasprintf("%s/probe.region", ctx->dir);
    struct ct_nat nat;
    char *error;

    memset(&def, 0, sizeof def);
    ovs_strlcpy(def.iface_id, "probe", sizeof def.iface_id);
    def.mac[0] = 0x02;
    error = state_region_create(path, &def, 16, time_msec(), &r);
    if (error) {
        ovs_fatal(0, "%s", error);
    }
    struct ct_table *t = ct_table_open(e, 0, r, time_msec(), &error);
    if (!t) {
        ovs_fatal(0, "%s", error);
    }

    memset(&nat, 0, sizeof nat);
    nat.snat = true;
    in6_addr_set_mapped_ipv4(&nat.min_addr, htonl(0xcb007101));
    nat.max_addr = nat.min_addr;
    struct dp_packet *pkt = ct_trace_fill_packet(1);
    struct ct_exec x = { .commit = true, .nat = &nat };
    uint32_t state = ct_table_execute(t, pkt, &x, time_msec()).ct_state;
    dp_packet_delete(pkt);

    struct state_region *region = ct_table_region(t);
    ct_table_close(t);
    state_region_close(region);
    ct_engine_destroy(e);
    unlink(path);
    free(path);
    return (state & CS_NAT_MASK) != 0;
}

/* Running one trace. */

static void
format_state(struct ds *s, uint32_t state)
{
    ct_state_format(s, state);
}

static bool
maybe_perturb(struct diff_ctx *ctx, struct dp_packet *pkt)
{
    struct ct_trace_tuple tuple;

    if (!ctx->perturb_seq || !ct_trace_get_tuple(pkt, false, &tuple)
        || tuple.proto != IPPROTO_TCP || (tcp_flags_of(pkt) & TCP_SYN)) {
        return false;
    }
    if (++ctx->perturb_counter % ctx->perturb_seq) {
        return false;
    }

    struct tcp_header *tcp = dp_packet_l4(pkt);
    uint32_t seq = ntohl(get_16aligned_be32(&tcp->tcp_seq));
    put_16aligned_be32(&tcp->tcp_seq, htonl(seq + 0x40000000));
    ct_trace_fix_checksums(pkt);
    return true;
}

/* Damages our translation of every 'perturb_nat'th packet our engine
 * translated, after the fact, as a NAT bug would. */
static void
maybe_perturb_nat(struct diff_ctx *ctx, struct dp_packet *pkt,
                  uint32_t verdict)
{
    struct ct_trace_tuple tuple;

    if (!ctx->perturb_nat || !(verdict & CS_NAT_MASK)
        || !ct_trace_get_tuple(pkt, false, &tuple)
        || (tuple.proto != IPPROTO_TCP && tuple.proto != IPPROTO_UDP)
        || ++ctx->perturb_nat_counter % ctx->perturb_nat) {
        return;
    }
    tuple.sport ^= 0x100;
    tuple.dport ^= 0x100;
    ct_trace_set_tuple(pkt, false, &tuple);
}

static void
note_difference(struct diff_ctx *ctx, const struct ct_trace *t, size_t i,
                const struct dp_packet *pkt, uint32_t vo, uint32_t vu,
                const char *cls_name, const char *why)
{
    struct diff_class *cls = find_class(ctx, cls_name);
    const struct ct_trace_pkt *p = &t->pkts[i];
    struct ds s = DS_EMPTY_INITIALIZER;

    if (!cls) {
        cls = add_class(ctx, cls_name);
    }
    cls->count++;
    cls->trace_count++;

    ds_put_format(&s, "%s #%"PRIuSIZE" (%s%s) ", t->name, i + 1,
                  p->reply ? "reply" : "orig", p->icmp_error ? ", error" : "");
    ct_trace_format_packet(&s, pkt);
    ds_put_cstr(&s, ": ovs ");
    format_state(&s, vo);
    ds_put_cstr(&s, ", ours ");
    format_state(&s, vu);
    if (why) {
        ds_put_format(&s, " (%s)", why);
    }
    if (!cls->example) {
        cls->example = xstrdup(ds_cstr(&s));
    }
    if (!cls->allowed[ctx->mode]) {
        ctx->unexplained++;
        if (ctx->n_samples++ < ctx->max_samples) {
            ds_put_format(&ctx->samples, "  [%s] %s\n", cls->name,
                          ds_cstr(&s));
        }
    }
    ds_destroy(&s);
}

static void
run_trace(struct diff_ctx *ctx, struct ct_trace *t)
{
    uint64_t same = 0, differ = 0;
    uint64_t n_new = 0, n_est = 0, n_rel = 0, n_inv = 0, n_rpl = 0;
    struct hmap picked = HMAP_INITIALIZER(&picked);
    struct nat_view views[2];
    struct nat_action_info_t nai;
    struct oor_vif_def def;
    struct state_region *r;
    char *error;

    for (size_t i = 0; i < ctx->n_classes; i++) {
        ctx->classes[i].trace_count = 0;
    }
    for (int k = 0; k < 2; k++) {
        views[k].xlat = xcalloc(MAX(t->n_conns, 1), sizeof *views[k].xlat);
        views[k].known = xcalloc(MAX(t->n_conns, 1), sizeof *views[k].known);
    }
    if (t->has_nat) {
        nat_to_ovs(&t->nat, &nai);
    }

    /* Ours: a fresh table in a fresh region. */
    char *path = xasprintf("%s/%s.region", ctx->dir, t->name);
    memset(&def, 0, sizeof def);
    ovs_strlcpy(def.iface_id, t->name, sizeof def.iface_id);
    def.mac[0] = 0x02;
    def.policy = ctx->mode == MODE_LOOSE ? OOR_POLICY_LOOSE
                                         : OOR_POLICY_STATEFUL;
    long long base = time_msec();
    error = state_region_create(path, &def, 1024, base, &r);
    if (error) {
        ovs_fatal(0, "%s", error);
    }
    struct ct_engine *engine = ct_engine_create();
    struct ct_table *table = ct_table_open(engine, 0, r, base, &error);
    if (!table) {
        ovs_fatal(0, "%s", error);
    }
    struct ct_exec x = {
        .commit = true,
        .pickup = (ctx->mode == MODE_LOOSE) != ctx->invert_pickup,
        .nat = t->has_nat ? &t->nat : NULL,
    };

    /* OVS's. */
    struct conntrack *ovs = conntrack_init();

    for (size_t i = 0; i < t->n_pkts; i++) {
        const struct ct_trace_pkt *p = &t->pkts[i];
        struct dp_packet *po = dp_packet_clone(p->pkt);
        struct dp_packet *pu = dp_packet_clone(p->pkt);
        long long now = base + p->time;

        if (t->has_nat && p->reply && p->conn != CT_TRACE_NO_CONN) {
            if (views[0].known[p->conn]) {
                ct_trace_nat_reply(po, p->icmp_error,
                                   &views[0].xlat[p->conn]);
            }
            if (views[1].known[p->conn]) {
                ct_trace_nat_reply(pu, p->icmp_error,
                                   &views[1].xlat[p->conn]);
            }
        }
        maybe_perturb(ctx, pu);

        struct dp_packet_batch batch;
        const struct eth_header *eth = dp_packet_eth(po);
        dp_packet_batch_init_packet(&batch, po);
        conntrack_execute(ovs, &batch, eth->eth_type, false, true, 0, NULL,
                          NULL, 0, 0, NULL, t->has_nat ? &nai : NULL, now,
                          0);
        uint32_t vo = po->md.ct_state;
        uint32_t vu = ct_table_execute(table, pu, &x, now).ct_state;

        n_new += (vo & CS_NEW) != 0;
        n_est += (vo & CS_ESTABLISHED) != 0;
        n_rel += (vo & CS_RELATED) != 0;
        n_inv += (vo & CS_INVALID) != 0;
        n_rpl += (vo & CS_REPLY_DIR) != 0;

        maybe_perturb_nat(ctx, pu, vu);

        char *fault_ovs = nat_check(t, p, &views[0], po, vo);
        char *fault_ours = nat_check(t, p, &views[1], pu, vu);

        uint32_t mask = CS_CORE_MASK | (ctx->compare_nat_bits
                                        ? CS_NAT_MASK : 0);
        bool equal = (vo & mask) == (vu & mask) && !fault_ovs && !fault_ours;
        if (equal) {
            same++;
        } else {
            const char *cls = classify(p->pkt, p->icmp_error, vo & mask,
                                       vu & mask, &picked, fault_ovs != NULL,
                                       fault_ours != NULL);
            differ++;
            note_difference(ctx, t, i, p->pkt, vo & mask, vu & mask, cls,
                            fault_ours ? fault_ours : fault_ovs);
        }

        if (ctx->show_from >= 0 && (long long) i >= ctx->show_from
            && (long long) i < ctx->show_from + ctx->show_count) {
            struct ds s = DS_EMPTY_INITIALIZER;

            ds_put_format(&s, "%6"PRIuSIZE" %6lld %s %5"PRIu32" ", i + 1,
                          p->time, p->reply ? "<" : ">",
                          p->conn == CT_TRACE_NO_CONN ? 0 : p->conn);
            ct_trace_format_packet(&s, p->pkt);
            ds_put_cstr(&s, " | ovs ");
            format_state(&s, vo);
            ds_put_cstr(&s, " | ours ");
            format_state(&s, vu);
            if (!equal) {
                ds_put_cstr(&s, " DIFFER");
            }
            if (fault_ovs || fault_ours) {
                ds_put_format(&s, " (nat: ovs %s, ours %s)",
                              fault_ovs ? fault_ovs : "ok",
                              fault_ours ? fault_ours : "ok");
            }
            puts(ds_cstr(&s));
            ds_destroy(&s);
        }
        free(fault_ovs);
        free(fault_ours);
        dp_packet_delete(po);
        dp_packet_delete(pu);
    }

    conntrack_destroy(ovs);
    struct state_region *region = ct_table_region(table);

    ct_table_close(table);
    state_region_close(region);
    ct_engine_destroy(engine);
    unlink(path);
    free(path);
    for (int k = 0; k < 2; k++) {
        free(views[k].xlat);
        free(views[k].known);
    }
    picked_clear(&picked);

    if (ctx->show_from < 0) {
        printf("%s packets=%"PRIuSIZE" same=%"PRIu64" differ=%"PRIu64"\n",
               t->name, t->n_pkts, same, differ);
        printf("  ovs verdicts: new=%"PRIu64" est=%"PRIu64" rel=%"PRIu64
               " inv=%"PRIu64" rpl=%"PRIu64"\n",
               n_new, n_est, n_rel, n_inv, n_rpl);
        for (size_t i = 0; i < ctx->n_classes; i++) {
            const struct diff_class *c = &ctx->classes[i];
            if (c->trace_count) {
                printf("  %s: %"PRIu64"%s\n", c->name, c->trace_count,
                       c->allowed[ctx->mode] ? "" : " (unexplained)");
            }
        }
    }
    ctx->packets += t->n_pkts;
    ctx->same += same;
    ctx->differ += differ;
}

static void
ctx_init(struct diff_ctx *ctx)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->mode = MODE_STRICT;
    ctx->seed = 1;
    ctx->max_samples = 20;
    ctx->show_from = -1;
    ds_init(&ctx->samples);

    char tmpl[] = "/tmp/ct-diff.XXXXXX";
    if (!mkdtemp(tmpl)) {
        ovs_fatal(errno, "mkdtemp");
    }
    ctx->dir = xstrdup(tmpl);
}

static void
ctx_destroy(struct diff_ctx *ctx)
{
    rmdir(ctx->dir);
    free(ctx->dir);
    for (size_t i = 0; i < ctx->n_classes; i++) {
        free(ctx->classes[i].name);
        free(ctx->classes[i].text);
        free(ctx->classes[i].example);
    }
    free(ctx->classes);
    ds_destroy(&ctx->samples);
}

static struct ct_trace *
create_trace(const char *name, uint64_t seed)
{
    struct ct_trace *t = ct_trace_create(name, seed);

    if (!t) {
        ovs_fatal(0, "%s: no such trace (\"list\" lists them)", name);
    }
    return t;
}

static void
cmd_run(struct ovs_cmdl_context *cmdl)
{
    struct diff_ctx ctx;
    const char *expected = NULL;
    const char **names = xmalloc(cmdl->argc * sizeof *names);
    size_t n_names = 0;

    ctx_init(&ctx);
    for (int i = 1; i < cmdl->argc; i++) {
        const char *arg = cmdl->argv[i], *v;

        if (parse_opt(arg, "--mode", &v)) {
            ctx.mode = parse_mode(v);
        } else if (parse_opt(arg, "--seed", &v)) {
            ctx.seed = parse_number(v, "--seed");
        } else if (parse_opt(arg, "--expected", &v)) {
            expected = v;
        } else if (parse_opt(arg, "--samples", &v)) {
            ctx.max_samples = parse_number(v, "--samples");
        } else if (!strcmp(arg, "--invert-pickup")) {
            ctx.invert_pickup = true;
        } else if (parse_opt(arg, "--perturb-seq", &v)) {
            ctx.perturb_seq = parse_number(v, "--perturb-seq");
        } else if (parse_opt(arg, "--perturb-nat", &v)) {
            ctx.perturb_nat = parse_number(v, "--perturb-nat");
        } else if (arg[0] == '-') {
            ovs_fatal(0, "unknown option \"%s\"", arg);
        } else {
            names[n_names++] = arg;
        }
    }
    if (expected) {
        read_expected(&ctx, expected);
    }
    ctx.compare_nat_bits = probe_nat_bits(&ctx);

    bool all = !n_names;
    size_t n = all ? ct_trace_n_kinds() : n_names;
    for (size_t i = 0; i < n; i++) {
        const char *name = all ? ct_trace_kind_name(i) : names[i];
        struct ct_trace *t = create_trace(name, ctx.seed);

        run_trace(&ctx, t);
        ct_trace_destroy(t);
        fflush(stdout);
    }

    printf("total: mode=%s traces=%"PRIuSIZE" packets=%"PRIu64" "
           "same=%"PRIu64" differ=%"PRIu64" unexplained=%"PRIu64"\n",
           mode_names[ctx.mode], n, ctx.packets, ctx.same, ctx.differ,
           ctx.unexplained);
    printf("nat bits: %s\n", ctx.compare_nat_bits
           ? "compared" : "not compared (our engine does not report them)");

    bool ok = !ctx.unexplained;
    for (size_t i = 0; i < ctx.n_classes; i++) {
        const struct diff_class *c = &ctx.classes[i];
        const char *status;

        if (!c->allowed[ctx.mode]) {
            status = c->listed ? "NOT ALLOWED in this mode" : "NOT LISTED";
        } else if (c->required[ctx.mode] && !c->count) {
            status = all ? "MISSING (required)" : "missing (required, "
                                                  "but not all traces ran)";
            ok &= !all;
        } else {
            status = c->required[ctx.mode] ? "required" : "listed";
        }
        if (c->count || (c->required[ctx.mode])) {
            printf("class %s: %"PRIu64" (%s)\n", c->name, c->count, status);
            if (c->example) {
                printf("  e.g. %s\n", c->example);
            }
        }
    }
    if (ctx.n_samples) {
        printf("unexplained differences (%"PRIuSIZE" shown of %"PRIuSIZE
               "):\n%s", MIN(ctx.n_samples, ctx.max_samples), ctx.n_samples,
               ds_cstr(&ctx.samples));
    }
    printf("result: %s\n", ok ? "PASS" : "FAIL");
    ctx_destroy(&ctx);
    free(names);
    exit(ok ? 0 : 1);
}

static void
cmd_show(struct ovs_cmdl_context *cmdl)
{
    struct diff_ctx ctx;
    const char *name = NULL;

    ctx_init(&ctx);
    ctx.show_from = 0;
    ctx.show_count = LLONG_MAX / 2;
    for (int i = 1; i < cmdl->argc; i++) {
        const char *arg = cmdl->argv[i], *v;

        if (parse_opt(arg, "--mode", &v)) {
            ctx.mode = parse_mode(v);
        } else if (parse_opt(arg, "--seed", &v)) {
            ctx.seed = parse_number(v, "--seed");
        } else if (parse_opt(arg, "--from", &v)) {
            ctx.show_from = parse_number(v, "--from") - 1;
        } else if (parse_opt(arg, "--count", &v)) {
            ctx.show_count = parse_number(v, "--count");
        } else if (!strcmp(arg, "--invert-pickup")) {
            ctx.invert_pickup = true;
        } else if (arg[0] == '-') {
            ovs_fatal(0, "unknown option \"%s\"", arg);
        } else {
            name = arg;
        }
    }
    if (!name) {
        ovs_fatal(0, "show: which trace?");
    }
    ctx.compare_nat_bits = probe_nat_bits(&ctx);

    struct ct_trace *t = create_trace(name, ctx.seed);
    run_trace(&ctx, t);
    ct_trace_destroy(t);
    ctx_destroy(&ctx);
}

static void
cmd_list(struct ovs_cmdl_context *cmdl OVS_UNUSED)
{
    size_t total = 0;

    for (size_t i = 0; i < ct_trace_n_kinds(); i++) {
        struct ct_trace *t = create_trace(ct_trace_kind_name(i), 1);

        printf("%-22s %6"PRIuSIZE" packets %5"PRIu32" conns  %s%s\n",
               t->name, t->n_pkts, t->n_conns, t->descr,
               t->has_nat ? " (NAT)" : "");
        total += t->n_pkts;
        ct_trace_destroy(t);
    }
    printf("%"PRIuSIZE" traces, %"PRIuSIZE" packets\n", ct_trace_n_kinds(),
           total);
}

static void
cmd_pcap(struct ovs_cmdl_context *cmdl)
{
    uint64_t seed = 1;
    const char *args[2];
    int n = 0;

    for (int i = 1; i < cmdl->argc; i++) {
        const char *v;

        if (parse_opt(cmdl->argv[i], "--seed", &v)) {
            seed = parse_number(v, "--seed");
        } else if (n < 2) {
            args[n++] = cmdl->argv[i];
        } else {
            ovs_fatal(0, "pcap: too many arguments");
        }
    }
    if (n != 2) {
        ovs_fatal(0, "usage: pcap TRACE FILE [--seed=N]");
    }

    struct ct_trace *t = create_trace(args[0], seed);
    char *error = ct_trace_write_pcap(t, args[1]);
    if (error) {
        ovs_fatal(0, "%s", error);
    }
    printf("%s: %"PRIuSIZE" packets\n", args[1], t->n_pkts);
    ct_trace_destroy(t);
}

static void
cmd_digest(struct ovs_cmdl_context *cmdl)
{
    uint64_t seed = 1;
    const char *name = NULL;

    for (int i = 1; i < cmdl->argc; i++) {
        const char *v;

        if (parse_opt(cmdl->argv[i], "--seed", &v)) {
            seed = parse_number(v, "--seed");
        } else {
            name = cmdl->argv[i];
        }
    }
    if (!name) {
        ovs_fatal(0, "usage: digest TRACE [--seed=N]");
    }

    struct ct_trace *t = create_trace(name, seed);
    uint32_t h = 0;
    for (size_t i = 0; i < t->n_pkts; i++) {
        const struct ct_trace_pkt *p = &t->pkts[i];
        uint32_t meta[4] = { p->time, p->conn, p->reply, p->icmp_error };

        h = hash_bytes(dp_packet_data(p->pkt), dp_packet_size(p->pkt), h);
        h = hash_bytes(meta, sizeof meta, h);
    }
    printf("%s packets=%"PRIuSIZE" digest=%08"PRIx32"\n", t->name,
           t->n_pkts, h);
    ct_trace_destroy(t);
}

/* Benchmarks. */

static long long
mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static struct ct_table *
bench_table(struct ct_engine *e, const char *dir, char **pathp,
            uint32_t min_slots)
{
    struct oor_vif_def def;
    struct state_region *r;
    char *error;

    *pathp = xasprintf("%s/bench-%ld.region", dir, (long) getpid());
    memset(&def, 0, sizeof def);
    ovs_strlcpy(def.iface_id, "bench", sizeof def.iface_id);
    def.mac[0] = 0x02;
    error = state_region_create(*pathp, &def, min_slots, time_msec(), &r);
    if (error) {
        ovs_fatal(0, "%s", error);
    }
    struct ct_table *t = ct_table_open(e, 0, r, time_msec(), &error);
    if (!t) {
        ovs_fatal(0, "%s", error);
    }
    return t;
}

static void
cmd_bench(struct ovs_cmdl_context *cmdl)
{
    unsigned long n_pkts = parse_number(cmdl->argv[1], "N_PKTS");
    unsigned long batch = parse_number(cmdl->argv[2], "BATCH");
    bool change = cmdl->argc > 3 && parse_number(cmdl->argv[3], "CHANGE");
    struct dp_packet **pkts;
    char dir[] = "/tmp/ct-bench.XXXXXX";
    char *path;

    if (!batch || batch > NETDEV_MAX_BURST) {
        ovs_fatal(0, "BATCH must be between 1 and %d", NETDEV_MAX_BURST);
    }
    if (!mkdtemp(dir)) {
        ovs_fatal(errno, "mkdtemp");
    }
    pkts = xmalloc(batch * sizeof *pkts);
    for (size_t i = 0; i < batch; i++) {
        pkts[i] = ct_trace_bench_packet(0, i, change);
    }

    struct ct_engine *e = ct_engine_create();
    struct ct_table *t = bench_table(e, dir, &path, 1024);
    struct ct_exec x = { .commit = true };
    long long now = time_msec();
    uint64_t n = 0;

    long long start = mono_ns();
    for (unsigned long i = 0; i < n_pkts; i += batch) {
        for (size_t j = 0; j < batch; j++) {
            ct_table_execute(t, pkts[j], &x, now);
        }
        n += batch;
    }
    long long ns = mono_ns() - start;

    printf("conntrack:  %5lld ms\n", ns / 1000000);
    printf("packets: %"PRIu64" entries: %"PRIu32" ns/packet: %.1f "
           "packets/s: %.0f\n", n, ct_table_count(t), (double) ns / n,
           n * 1e9 / ns);

    struct state_region *r = ct_table_region(t);
    ct_table_close(t);
    state_region_close(r);
    ct_engine_destroy(e);
    unlink(path);
    rmdir(dir);
    free(path);
    for (size_t i = 0; i < batch; i++) {
        dp_packet_delete(pkts[i]);
    }
    free(pkts);
}

/* Resident memory, in bytes: anonymous (the heap: our index) and file or
 * shared memory backed (the mapped region). */
struct rss {
    long long anon;
    long long mapped;
};

static void
read_rss(struct rss *rss)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];

    memset(rss, 0, sizeof *rss);
    if (!f) {
        return;
    }
    while (fgets(line, sizeof line, f)) {
        long long kb;

        if (sscanf(line, "RssAnon: %lld", &kb) == 1) {
            rss->anon += kb * 1024;
        } else if (sscanf(line, "RssFile: %lld", &kb) == 1
                   || sscanf(line, "RssShmem: %lld", &kb) == 1) {
            rss->mapped += kb * 1024;
        }
    }
    fclose(f);
}

static void
cmd_memory(struct ovs_cmdl_context *cmdl)
{
    unsigned long long n = parse_number(cmdl->argv[1], "N_ENTRIES");
    const char *parent = (cmdl->argc > 2 ? cmdl->argv[2]
                          : access("/dev/shm", W_OK) ? "/tmp" : "/dev/shm");
    char *dir = xasprintf("%s/ct-mem.XXXXXX", parent);
    struct rss before, after;
    char *path;

    if (!n || n > UINT32_MAX) {
        ovs_fatal(0, "N_ENTRIES must be between 1 and %"PRIu32, UINT32_MAX);
    }
    if (!mkdtemp(dir)) {
        ovs_fatal(errno, "%s: mkdtemp", dir);
    }

    read_rss(&before);
    struct ct_engine *e = ct_engine_create();
    ct_engine_set_limit(e, UINT32_MAX);
    struct ct_table *t = bench_table(e, dir, &path, 1024);
    struct ct_exec x = { .commit = true };
    long long now = time_msec();

    long long start = mono_ns();
    for (unsigned long long i = 0; i < n; i++) {
        struct dp_packet *pkt = ct_trace_fill_packet(i);
        struct ct_exec_result res = ct_table_execute(t, pkt, &x, now);

        if (res.ct_state != (CS_TRACKED | CS_NEW) || res.refused) {
            ovs_fatal(0, "entry %llu: not committed (ct_state %#"PRIx32", "
                      "refused %d)", i, res.ct_state, res.refused);
        }
        dp_packet_delete(pkt);
    }
    long long ns = mono_ns() - start;
    read_rss(&after);

    uint32_t count = ct_table_count(t);
    size_t region = state_region_size(ct_table_region(t));
    long long anon = after.anon - before.anon;
    long long mapped = after.mapped - before.mapped;

    /* The region file is sparse past its used slots: what it maps is an
     * upper bound, what is resident is what it costs. */
    printf("memory: entries=%"PRIu32" slots=%"PRIu32" region_mapped=%"
           PRIuSIZE" (%.1f per entry) region_resident=%lld (%.1f per "
           "entry)\n", count, state_region_n_slots(ct_table_region(t)),
           region, (double) region / count, mapped, (double) mapped / count);
    printf("memory: index_bytes=%lld index_per_entry=%.1f "
           "(heap RSS delta)\n", anon, (double) anon / count);
    printf("memory: rss_delta=%lld total_per_entry=%.1f insert_ns=%.1f\n",
           anon + mapped, (double) (anon + mapped) / count, (double) ns / n);

    struct state_region *r = ct_table_region(t);
    ct_table_close(t);
    state_region_close(r);
    ct_engine_destroy(e);
    unlink(path);
    rmdir(dir);
    free(path);
    free(dir);
}

static const struct ovs_cmdl_command commands[] = {
    { "list", "", 0, 0, cmd_list, OVS_RO },
    { "pcap", "TRACE FILE [--seed=N]", 2, 3, cmd_pcap, OVS_RO },
    { "digest", "TRACE [--seed=N]", 1, 2, cmd_digest, OVS_RO },
    { "run", "[--mode=strict|loose] [--seed=N] [--expected=FILE] "
      "[--samples=N] [--invert-pickup] [--perturb-seq=N] [--perturb-nat=N] "
      "[TRACE...]",
      0, INT_MAX, cmd_run, OVS_RO },
    { "show", "TRACE [--mode=M] [--seed=N] [--from=N] [--count=N]",
      1, INT_MAX, cmd_show, OVS_RO },
    { "bench", "N_PKTS BATCH [CHANGE]", 2, 3, cmd_bench, OVS_RO },
    { "memory", "N_ENTRIES [DIR]", 1, 2, cmd_memory, OVS_RO },
    { NULL, NULL, 0, 0, NULL, OVS_RO },
};

static void
test_ct_diff_main(int argc, char *argv[])
{
    struct ovs_cmdl_context ctx = {
        .argc = argc - 1,
        .argv = argv + 1,
    };

    set_program_name(argv[0]);
    ovs_cmdl_run_command(&ctx, commands);
}

OVSTEST_REGISTER("test-ct-diff", test_ct_diff_main);
