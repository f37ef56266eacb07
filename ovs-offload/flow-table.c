/*
 * The offload flow table; see flow-table.h.
 */
#include <config.h>
#include "flow-table.h"

#include <stdlib.h>
#include <ctype.h>
#include <string.h>
#include "flow-store.h"
#include "flow-validate.h"
#include "flow.h"
#include "hmapx.h"
#include "openvswitch/dynamic-string.h"
#include "openvswitch/match.h"
#include "openvswitch/namemap.h"
#include "openvswitch/ofp-actions.h"
#include "openvswitch/ofp-flow.h"
#include "openvswitch/ofp-port.h"
#include "openvswitch/vlog.h"
#include "state-region.h"
#include "svec.h"
#include "util.h"

VLOG_DEFINE_THIS_MODULE(flow_table);

struct flow_table {
    struct classifier cls[FLOW_TABLE_N_TABLES];
    struct flow_table_ops ops;
    char *host_path;
    const struct ofputil_port_map *port_map;
    uint64_t next_id;
    size_t n_rules;
    size_t n_timed;             /* Rules with an idle or hard timeout. */
    long long next_run;         /* When flow_table_run() looks next. */

    /* Host-flows lines that did not install; written back with the rest. */
    struct svec waiting_host;
};

static struct flow_rule *
rule_from_cls(const struct cls_rule *cr)
{
    return cr ? CONTAINER_OF(cr, struct flow_rule, cr) : NULL;
}

static void
rule_destroy(struct flow_rule *r)
{
    if (r) {
        cls_rule_destroy(&r->cr);
        free(r->ofpacts);
        free(r->owner);
        free(r->text);
        flow_chain_destroy(&r->chain);
        free(r);
    }
}

/* A list of rules, for changes made after an iteration. */
struct rule_list {
    struct flow_rule **rules;
    size_t n, allocated;
};

static void
rule_list_add(struct rule_list *l, struct flow_rule *r)
{
    if (l->n >= l->allocated) {
        l->rules = x2nrealloc(l->rules, &l->allocated, sizeof *l->rules);
    }
    l->rules[l->n++] = r;
}

/* Creating and destroying. */

struct flow_table *
flow_table_create(const struct flow_table_ops *ops, const char *host_flows)
{
    struct flow_table *t = xzalloc(sizeof *t);

    for (size_t i = 0; i < FLOW_TABLE_N_TABLES; i++) {
        classifier_init(&t->cls[i], flow_segment_u64s);
    }
    if (ops) {
        t->ops = *ops;
    }
    t->host_path = nullable_xstrdup(host_flows);
    t->next_id = 1;
    svec_init(&t->waiting_host);
    return t;
}

void
flow_table_destroy(struct flow_table *t)
{
    if (!t) {
        return;
    }
    for (size_t i = 0; i < FLOW_TABLE_N_TABLES; i++) {
        struct flow_rule *r;

        CLS_FOR_EACH (r, cr, &t->cls[i]) {
            classifier_remove_assert(&t->cls[i], &r->cr);
            rule_destroy(r);
        }
        classifier_destroy(&t->cls[i]);
    }
    svec_destroy(&t->waiting_host);
    free(t->host_path);
    free(t);
}

void
flow_table_set_port_map(struct flow_table *t,
                        const struct ofputil_port_map *map)
{
    t->port_map = map;
}

size_t
flow_table_count(const struct flow_table *t)
{
    return t->n_rules;
}

/* Port maps. */

/* Makes 'out' a copy of 'base' in which the port 'own' is named
 * FLOW_TABLE_VIF_PORT and nothing else: the names a VIF's flows use in its
 * region. */
static void
owner_port_map(const struct ofputil_port_map *base, ofp_port_t own,
               struct ofputil_port_map *out)
{
    ofputil_port_map_init(out);
    if (base) {
        const struct namemap_node *node;

        HMAP_FOR_EACH (node, number_node, &base->map.by_number) {
            if (node->number != ofp_to_u16(own)) {
                ofputil_port_map_put(out, u16_to_ofp(node->number),
                                     node->name);
            }
        }
    }
    if (own != OFPP_NONE) {
        ofputil_port_map_put(out, own, FLOW_TABLE_VIF_PORT);
    }
}

/* Parsing and formatting. */

static char *
check_flow_mod(const struct ofputil_flow_mod *fm)
{
    if (fm->flags & OFPUTIL_FF_SEND_FLOW_REM) {
        return xstrdup("unsupported flag send_flow_rem (no controller "
                       "hears of removed flows)");
    }
    if (fm->importance) {
        return xstrdup("unsupported keyword importance (flows are never "
                       "evicted)");
    }
    return NULL;
}

/* Flags a flow keeps; the others only steer its addition. */
#define KEPT_FLAGS (OFPUTIL_FF_NO_PKT_COUNTS | OFPUTIL_FF_NO_BYT_COUNTS)

/* Parses 'text', an add-flow flow, into a new rule that is in no table, and
 * its flags for the addition into '*add_flags' (if nonnull).  On error,
 * returns a message and stores NULL. */
static char *
rule_parse(const char *text, const struct ofputil_port_map *map,
           struct flow_rule **rulep, enum ofputil_flow_mod_flags *add_flags)
{
    struct ofputil_flow_mod fm;
    enum ofputil_protocol usable;

    *rulep = NULL;
    char *error = parse_ofp_flow_mod_str(&fm, text, map, NULL, OFPFC_ADD,
                                         &usable);
    if (error) {
        return error;
    }

    struct match match;
    minimatch_expand(&fm.match, &match);
    error = flow_validate_match(&match);
    if (!error) {
        error = flow_validate_actions(fm.ofpacts, fm.ofpacts_len);
    }
    if (!error) {
        error = check_flow_mod(&fm);
    }
    if (error) {
        minimatch_destroy(&fm.match);
        free(fm.ofpacts);
        return error;
    }

    struct flow_rule *r = xzalloc(sizeof *r);
    cls_rule_init_from_minimatch(&r->cr, &fm.match, fm.priority);
    minimatch_destroy(&fm.match);
    r->table_id = fm.table_id == OFPTT_ALL ? 0 : fm.table_id;
    r->cookie = fm.new_cookie;
    r->idle_timeout = fm.idle_timeout;
    r->hard_timeout = fm.hard_timeout;
    r->flags = fm.flags & KEPT_FLAGS;
    if (add_flags) {
        *add_flags = fm.flags;
    }
    r->ofpacts = fm.ofpacts;
    r->ofpacts_len = fm.ofpacts_len;
    *rulep = r;
    return NULL;
}

static void
rule_to_stats(const struct flow_rule *r, struct ofputil_flow_stats *fs)
{
    memset(fs, 0, sizeof *fs);
    minimatch_expand(&r->cr.match, &fs->match);
    fs->cookie = r->cookie;
    fs->table_id = r->table_id;
    fs->priority = r->cr.priority;
    fs->idle_timeout = r->idle_timeout;
    fs->hard_timeout = r->hard_timeout;
    fs->idle_age = -1;
    fs->hard_age = -1;
    fs->ofpacts = r->ofpacts;
    fs->ofpacts_len = r->ofpacts_len;
    fs->flags = r->flags;
}

void
flow_rule_format(const struct flow_rule *r, const struct ofputil_port_map *map,
                 struct ds *s)
{
    struct ofputil_flow_stats fs;

    rule_to_stats(r, &fs);
    ofputil_flow_stats_format(s, &fs, map, NULL, false);
}

static void
rule_format_stats(const struct flow_rule *r,
                  const struct ofputil_port_map *map, long long now,
                  struct ds *s)
{
    struct ofputil_flow_stats fs;
    long long age = MAX(now - r->created, 0);

    rule_to_stats(r, &fs);
    fs.duration_sec = age / 1000;
    fs.duration_nsec = age % 1000 * 1000000;
    fs.packet_count = (r->flags & OFPUTIL_FF_NO_PKT_COUNTS
                       ? UINT64_MAX : r->n_packets);
    fs.byte_count = (r->flags & OFPUTIL_FF_NO_BYT_COUNTS
                     ? UINT64_MAX : r->n_bytes);
    ofputil_flow_stats_format(s, &fs, map, NULL, true);
}

/* Finding. */

static struct flow_rule *
find_exact(const struct flow_table *t, const struct flow_rule *r)
{
    return rule_from_cls(classifier_find_rule_exactly(&t->cls[r->table_id],
                                                      &r->cr,
                                                      OVS_VERSION_MAX));
}

static bool
same_owner(const char *a, const char *b)
{
    return a && b ? !strcmp(a, b) : a == b;
}

/* Sorting: table, then priority (highest first), then canonical text. */

static int
compare_rules(const void *a_, const void *b_)
{
    const struct flow_rule *a = *(struct flow_rule *const *) a_;
    const struct flow_rule *b = *(struct flow_rule *const *) b_;

    if (a->table_id != b->table_id) {
        return a->table_id < b->table_id ? -1 : 1;
    }
    if (a->cr.priority != b->cr.priority) {
        return a->cr.priority > b->cr.priority ? -1 : 1;
    }
    return strcmp(a->text, b->text);
}

static void
sort_rules(struct rule_list *l)
{
    if (l->n) {
        qsort(l->rules, l->n, sizeof *l->rules, compare_rules);
    }
}

/* The host-flows file's lines: the texts of 'l''s rules, sorted, then the
 * lines still waiting. */
static char *
save_host_rules(const struct flow_table *t, struct rule_list *l)
{
    struct svec texts = SVEC_EMPTY_INITIALIZER;

    sort_rules(l);
    for (size_t i = 0; i < l->n; i++) {
        svec_add(&texts, l->rules[i]->text);
    }
    svec_append(&texts, &t->waiting_host);

    char *error = flow_store_save_host(t->host_path, &texts);
    svec_destroy(&texts);
    return error;
}

/* Persistence. */

/* Writes the host-flows file as it would be with 'old' (if nonnull) gone
 * and 'new' (if nonnull) added: all or nothing, the caller changes the table
 * only if this succeeds. */
static char *
save_host(const struct flow_table *t, const struct flow_rule *old,
          struct flow_rule *new)
{
    if (!t->host_path) {
        return NULL;
    }

    struct rule_list l = { .rules = NULL };
    for (size_t i = 0; i < FLOW_TABLE_N_TABLES; i++) {
        struct flow_rule *r;

        CLS_FOR_EACH (r, cr, &t->cls[i]) {
            if (!r->owner && r != old) {
                rule_list_add(&l, r);
            }
        }
    }
    if (new && !new->owner) {
        rule_list_add(&l, new);
    }

    char *error = save_host_rules(t, &l);
    free(l.rules);
    return error;
}

/* A VIF's zone is local to its host, as its port is: in the text a region
 * keeps, "zone=N" and "ct_zone=N" for the VIF's own zone N read "zone=vif",
 * which loading turns into the zone the VIF has where it is loaded.  A zone
 * that is not the VIF's stays as it is. */
#define ZONE_MARKER "vif"

/* Rewrites in 'text' every "zone=FROM" (also as "ct_zone=FROM") into
 * "zone=TO". */
static char *
replace_zone(const char *text, const char *from, const char *to)
{
    struct ds s = DS_EMPTY_INITIALIZER;
    size_t from_len = strlen(from);
    const char *p = text;

    for (;;) {
        const char *z = strstr(p, "zone=");
        if (!z) {
            break;
        }
        const char *v = z + 5;
        bool starts = z == text || !isalnum((unsigned char) z[-1]);
        bool ends = !isalnum((unsigned char) v[from_len]);

        ds_put_buffer(&s, p, v - p);
        if (starts && !strncmp(v, from, from_len) && ends) {
            ds_put_cstr(&s, to);
            p = v + from_len;
        } else {
            p = v;
        }
    }
    ds_put_cstr(&s, p);
    return ds_steal_cstr(&s);
}

/* Writes 'r', a VIF's flow, into the VIF's region. */
static char *
persist(const struct flow_table *t, struct flow_rule *r)
{
    ofp_port_t port = OFPP_NONE;
    uint16_t zone = 0;
    struct state_region *region = (t->ops.region
                                   ? t->ops.region(r->owner, &port, &zone,
                                                   t->ops.aux)
                                   : NULL);
    if (!region) {
        return xasprintf("VIF %s has no state region for its flows",
                         r->owner);
    }

    struct ofputil_port_map map;
    struct ds text = DS_EMPTY_INITIALIZER;
    owner_port_map(t->port_map, port, &map);
    flow_rule_format(r, &map, &text);
    ofputil_port_map_destroy(&map);

    struct flow_store_stats st = {
        .n_packets = r->n_packets,
        .n_bytes = r->n_bytes,
        .created = r->created,
        .used = r->used,
    };
    char *zone_s = xasprintf("%"PRIu16, zone);
    char *stored = (zone ? replace_zone(ds_cstr(&text), zone_s, ZONE_MARKER)
                    : xstrdup(ds_cstr(&text)));
    char *error = flow_store_write(region, r->id, stored, &st, &r->chain);
    free(stored);
    free(zone_s);
    ds_destroy(&text);
    if (error) {
        char *msg = xasprintf("VIF %s: %s", r->owner, error);
        free(error);
        return msg;
    }
    r->region = region;
    return NULL;
}

/* Changing the table. */

/* Gives 'r' its canonical text with this host's port names: the host-flows
 * file's line, and the key that sorts dumps. */
static void
rule_set_text(const struct flow_table *t, struct flow_rule *r)
{
    struct ds s = DS_EMPTY_INITIALIZER;

    flow_rule_format(r, t->port_map, &s);
    free(r->text);
    r->text = ds_steal_cstr(&s);
}

static void
rule_insert(struct flow_table *t, struct flow_rule *r)
{
    if (!r->text) {
        rule_set_text(t, r);
    }
    classifier_insert(&t->cls[r->table_id], &r->cr, OVS_VERSION_MIN,
                      NULL, 0);
    t->n_rules++;
    t->n_timed += r->idle_timeout || r->hard_timeout;
}

/* Removes 'r' from the table and frees it; if 'erase', its slots too. */
static void
rule_remove(struct flow_table *t, struct flow_rule *r, bool erase)
{
    classifier_remove_assert(&t->cls[r->table_id], &r->cr);
    t->n_rules--;
    t->n_timed -= r->idle_timeout || r->hard_timeout;
    if (erase && r->region) {
        flow_store_erase(r->region, &r->chain);
    }
    rule_destroy(r);
}

/* Puts 'r' (new, with its owner and times set) in the table in place of
 * 'old' (if nonnull), storing it where it belongs first.  On error, frees
 * 'r' and leaves everything else as it was. */
static char *
install(struct flow_table *t, struct flow_rule *r, struct flow_rule *old)
{
    char *error = NULL;

    r->id = t->next_id++;
    rule_set_text(t, r);
    if (r->owner) {
        error = persist(t, r);
    }
    if (!error && (!r->owner || (old && !old->owner))) {
        error = save_host(t, old, r);
        if (error && r->region) {
            flow_store_erase(r->region, &r->chain);
        }
    }
    if (error) {
        rule_destroy(r);
        return error;
    }

    if (old) {
        rule_remove(t, old, true);
    }
    rule_insert(t, r);
    return NULL;
}

char *
flow_table_add(struct flow_table *t, const char *text, long long now)
{
    enum ofputil_flow_mod_flags flags;
    struct flow_rule *r;
    char *error = rule_parse(text, t->port_map, &r, &flags);
    if (error) {
        return error;
    }

    if (flags & OFPUTIL_FF_CHECK_OVERLAP
        && classifier_rule_overlaps(&t->cls[r->table_id], &r->cr,
                                    OVS_VERSION_MAX)) {
        error = xasprintf("flow overlaps an existing flow in table %u",
                          r->table_id);
        rule_destroy(r);
        return error;
    }

    if (t->ops.owner) {
        struct match match;

        minimatch_expand(&r->cr.match, &match);
        r->owner = nullable_xstrdup(t->ops.owner(&match, r->cookie,
                                                 t->ops.aux));
    }
    r->created = r->used = now;

    struct flow_rule *old = find_exact(t, r);
    if (old && !(flags & OFPUTIL_FF_RESET_COUNTS)) {
        /* As OVS does: a replaced flow hands on its counters. */
        r->n_packets = old->n_packets;
        r->n_bytes = old->n_bytes;
    }
    return install(t, r, old);
}

/* Deleting. */

static bool
del_matches(const struct flow_rule *r, const struct ofputil_flow_mod *fm,
            bool strict)
{
    if ((r->cookie ^ fm->cookie) & fm->cookie_mask) {
        return false;
    }
    if (strict
        ? (r->cr.priority != fm->priority
           || !minimatch_equal(&r->cr.match, &fm->match))
        : !cls_rule_is_loose_match(&r->cr, &fm->match)) {
        return false;
    }
    if (fm->out_port != OFPP_ANY
        && !ofpacts_output_to_port(r->ofpacts, r->ofpacts_len,
                                   fm->out_port)) {
        return false;
    }
    return fm->out_group == OFPG_ANY;   /* There are no groups here. */
}

/* Removes the rules in 'victims', and rewrites the host-flows file if any
 * of them is a host flow (first, so that a failure changes nothing). */
static char *
remove_rules(struct flow_table *t, struct rule_list *victims, bool erase)
{
    bool host = false;

    for (size_t i = 0; i < victims->n; i++) {
        host = host || !victims->rules[i]->owner;
    }
    if (host && t->host_path) {
        /* Leave the victims out by saving what stays. */
        struct rule_list stay = { .rules = NULL };
        struct hmapx doomed = HMAPX_INITIALIZER(&doomed);

        for (size_t i = 0; i < victims->n; i++) {
            hmapx_add(&doomed, victims->rules[i]);
        }
        for (size_t i = 0; i < FLOW_TABLE_N_TABLES; i++) {
            struct flow_rule *r;

            CLS_FOR_EACH (r, cr, &t->cls[i]) {
                if (!r->owner && !hmapx_contains(&doomed, r)) {
                    rule_list_add(&stay, r);
                }
            }
        }
        hmapx_destroy(&doomed);

        char *error = save_host_rules(t, &stay);
        free(stay.rules);
        if (error) {
            return error;
        }
    }

    for (size_t i = 0; i < victims->n; i++) {
        rule_remove(t, victims->rules[i], erase);
    }
    return NULL;
}

char *
flow_table_del(struct flow_table *t, const char *text, bool strict,
               size_t *n)
{
    struct ofputil_flow_mod fm;
    enum ofputil_protocol usable;

    *n = 0;
    char *error = parse_ofp_flow_mod_str(&fm, text ? text : "", t->port_map,
                                         NULL, (strict ? OFPFC_DELETE_STRICT
                                                : OFPFC_DELETE), &usable);
    if (error) {
        return error;
    }

    struct rule_list victims = { .rules = NULL };
    for (size_t i = 0; i < FLOW_TABLE_N_TABLES; i++) {
        struct flow_rule *r;

        if (fm.table_id != OFPTT_ALL && fm.table_id != i) {
            continue;
        }
        CLS_FOR_EACH (r, cr, &t->cls[i]) {
            if (del_matches(r, &fm, strict)) {
                rule_list_add(&victims, r);
            }
        }
    }

    /* Deleting everything also forgets the host flows still waiting. */
    bool all = !text || !text[strspn(text, " \t")];
    struct svec waiting = SVEC_EMPTY_INITIALIZER;
    if (all) {
        svec_swap(&waiting, &t->waiting_host);
    }
    error = remove_rules(t, &victims, true);
    if (error) {
        svec_swap(&waiting, &t->waiting_host);
    } else {
        *n = victims.n;
    }
    svec_destroy(&waiting);
    free(victims.rules);
    minimatch_destroy(&fm.match);
    free(fm.ofpacts);
    return error;
}

/* Dumping. */

static bool
dump_wants(const struct flow_rule *r, const struct flow_dump_filter *f)
{
    return (!f
            || ((f->table_id < 0 || f->table_id == r->table_id)
                && (!f->by_owner || same_owner(r->owner, f->owner))));
}

void
flow_table_dump(const struct flow_table *t, const struct flow_dump_filter *f,
                long long now, struct ds *s)
{
    struct rule_list l = { .rules = NULL };

    for (size_t i = 0; i < FLOW_TABLE_N_TABLES; i++) {
        struct flow_rule *r;

        CLS_FOR_EACH (r, cr, &t->cls[i]) {
            if (dump_wants(r, f)) {
                rule_list_add(&l, r);
            }
        }
    }

    sort_rules(&l);
    for (size_t i = 0; i < l.n; i++) {
        ds_put_char(s, ' ');
        rule_format_stats(l.rules[i], t->port_map, now, s);
        ds_put_char(s, '\n');
    }
    free(l.rules);
}

/* The datapath. */

struct flow_rule *
flow_table_lookup(const struct flow_table *t, uint8_t table_id,
                  struct flow *flow)
{
    if (table_id >= FLOW_TABLE_N_TABLES) {
        return NULL;
    }
    return rule_from_cls(classifier_lookup(&t->cls[table_id],
                                           OVS_VERSION_MAX, flow, NULL));
}

void
flow_rule_account(struct flow_rule *r, size_t n_bytes, long long now)
{
    r->n_packets++;
    r->n_bytes += n_bytes;
    r->used = MAX(now, r->used);
    if (r->region) {
        flow_store_update(r->region, r->chain.slots[0], r->n_packets,
                          r->n_bytes, r->used);
    }
}

static bool
rule_expired(const struct flow_rule *r, long long now)
{
    return ((r->idle_timeout && now - r->used >= r->idle_timeout * 1000LL)
            || (r->hard_timeout
                && now - r->created >= r->hard_timeout * 1000LL));
}

/* Timeouts are in seconds, so looking once a second is enough, and the
 * datapath may call this on every pass of its loop. */
#define RUN_INTERVAL_MS 1000

size_t
flow_table_run(struct flow_table *t, long long now)
{
    struct rule_list expired = { .rules = NULL };

    if (!t->n_timed || now < t->next_run) {
        return 0;
    }
    t->next_run = now + RUN_INTERVAL_MS;

    for (size_t i = 0; i < FLOW_TABLE_N_TABLES; i++) {
        struct flow_rule *r;

        CLS_FOR_EACH (r, cr, &t->cls[i]) {
            if (rule_expired(r, now)) {
                rule_list_add(&expired, r);
            }
        }
    }

    char *error = remove_rules(t, &expired, true);
    if (error) {
        /* Time cannot wait for a disk: the flows go, the file lags. */
        VLOG_WARN("expiring flows: %s", error);
        free(error);
        for (size_t i = 0; i < expired.n; i++) {
            rule_remove(t, expired.rules[i], true);
        }
    }

    size_t n = expired.n;
    free(expired.rules);
    return n;
}

/* VIFs. */

size_t
flow_table_del_owner(struct flow_table *t, const char *iface_id, bool erase)
{
    struct rule_list l = { .rules = NULL };

    for (size_t i = 0; i < FLOW_TABLE_N_TABLES; i++) {
        struct flow_rule *r;

        CLS_FOR_EACH (r, cr, &t->cls[i]) {
            if (r->owner && !strcmp(r->owner, iface_id)) {
                rule_list_add(&l, r);
            }
        }
    }
    for (size_t i = 0; i < l.n; i++) {
        rule_remove(t, l.rules[i], erase);
    }

    size_t n = l.n;
    free(l.rules);
    return n;
}

/* Installs the stored flow 'fs' of VIF 'iface_id', in 'region', whose
 * names are 'map'.  On success, takes its chain. */
static char *
load_stored(struct flow_table *t, const char *iface_id,
            struct state_region *region, const struct ofputil_port_map *map,
            uint16_t zone, struct flow_stored *fs, long long from_clock,
            long long now)
{
    struct flow_rule *r;
    char *zone_s = xasprintf("%"PRIu16, zone);
    char *text = replace_zone(fs->text, ZONE_MARKER, zone_s);
    char *error = rule_parse(text, map, &r, NULL);
    free(text);
    free(zone_s);
    if (error) {
        return error;
    }

    struct flow_rule *old = find_exact(t, r);
    if (old && !same_owner(old->owner, iface_id)) {
        error = xasprintf("it is identical to a flow of %s%s",
                          old->owner ? "VIF " : "the host",
                          old->owner ? old->owner : "");
        rule_destroy(r);
        return error;
    }

    r->owner = xstrdup(iface_id);
    r->id = fs->id;
    t->next_id = MAX(t->next_id, fs->id + 1);
    r->n_packets = fs->stats.n_packets;
    r->n_bytes = fs->stats.n_bytes;
    r->created = fs->stats.created - from_clock + now;
    r->used = fs->stats.used - from_clock + now;
    r->region = region;
    r->chain = fs->chain;
    fs->chain.slots = NULL;
    fs->chain.n = 0;
    if (from_clock != now) {
        struct flow_store_stats st = {
            r->n_packets, r->n_bytes, r->created, r->used
        };
        flow_store_set_stats(region, r->chain.slots[0], &st);
    }

    if (old) {
        /* The same flow twice in one region: the later one stays. */
        rule_remove(t, old, true);
    }
    rule_insert(t, r);
    return NULL;
}

char *
flow_table_load_owner(struct flow_table *t, const char *iface_id,
                      long long from_clock, long long now, size_t *n_loaded)
{
    ofp_port_t port = OFPP_NONE;
    uint16_t zone = 0;
    struct state_region *region = (t->ops.region
                                   ? t->ops.region(iface_id, &port, &zone,
                                                   t->ops.aux)
                                   : NULL);

    *n_loaded = 0;
    if (!region) {
        return xasprintf("no VIF %s with a state region", iface_id);
    }
    flow_table_del_owner(t, iface_id, false);

    struct ofputil_port_map map;
    owner_port_map(t->port_map, port, &map);

    size_t n, n_dropped, n_failed = 0;
    struct flow_stored *flows = flow_store_read(region, &n, &n_dropped);
    char *first = NULL;
    for (size_t i = 0; i < n; i++) {
        char *error = load_stored(t, iface_id, region, &map, zone,
                                  &flows[i], from_clock, now);
        if (error) {
            VLOG_WARN("VIF %s: flow %"PRIu64" (%s) waits in its region: %s",
                      iface_id, flows[i].id, flows[i].text, error);
            if (!n_failed++) {
                first = xasprintf("flow %"PRIu64": %s", flows[i].id, error);
            }
            free(error);
        } else {
            ++*n_loaded;
        }
    }
    flow_stored_free(flows, n);
    ofputil_port_map_destroy(&map);

    char *error = NULL;
    if (n_failed) {
        error = xasprintf("VIF %s: %"PRIuSIZE" of %"PRIuSIZE" stored flows "
                          "not installed%s; first: %s", iface_id, n_failed, n,
                          port == OFPP_NONE ? " (the VIF has no port)" : "",
                          first);
    }
    free(first);
    return error;
}

/* Installs one line of the host-flows file, unless it already is. */
static char *
load_host_line(struct flow_table *t, const char *text, long long now,
               bool *loaded)
{
    struct flow_rule *r;
    char *error = rule_parse(text, t->port_map, &r, NULL);

    *loaded = false;
    if (error) {
        return error;
    }

    struct flow_rule *old = find_exact(t, r);
    if (old) {
        error = (old->owner
                 ? xasprintf("it is identical to a flow of VIF %s",
                             old->owner)
                 : NULL);
        rule_destroy(r);
        return error;
    }

    r->id = t->next_id++;
    r->created = r->used = now;
    rule_insert(t, r);
    *loaded = true;
    return NULL;
}

char *
flow_table_load_host(struct flow_table *t, long long now, size_t *n_loaded)
{
    struct svec texts = SVEC_EMPTY_INITIALIZER;

    *n_loaded = 0;
    if (!t->host_path) {
        return NULL;
    }
    char *error = flow_store_load_host(t->host_path, &texts);
    if (error) {
        svec_destroy(&texts);
        return error;
    }

    char *first = NULL;
    svec_clear(&t->waiting_host);
    for (size_t i = 0; i < texts.n; i++) {
        bool loaded;
        char *fault = load_host_line(t, texts.names[i], now, &loaded);

        if (fault) {
            VLOG_WARN("%s: line %"PRIuSIZE" (%s) waits: %s", t->host_path,
                      i + 1, texts.names[i], fault);
            svec_add(&t->waiting_host, texts.names[i]);
            if (!first) {
                first = xasprintf("%s: line %"PRIuSIZE": %s", t->host_path,
                                  i + 1, fault);
            }
            free(fault);
        }
        *n_loaded += loaded;
    }
    svec_destroy(&texts);
    return first;
}
