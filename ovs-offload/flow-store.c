/*
 * Flows in state regions and the host-flows file; see flow-store.h.
 */
#include <config.h>
#include "flow-store.h"

#include "atomic-file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "openvswitch/dynamic-string.h"
#include "openvswitch/hmap.h"
#include "openvswitch/vlog.h"
#include "hash.h"
#include "state-region.h"
#include "svec.h"
#include "util.h"

VLOG_DEFINE_THIS_MODULE(flow_store);

_Static_assert(FLOW_TEXT_MAX <= UINT16_MAX, "text_len holds any text");

static bool
is_text_byte(char c)
{
    return c >= 0x20 && c <= 0x7e;
}

/* The bytes of a 'text_len'-byte text that part 'part' holds. */
static size_t
part_share(size_t text_len, unsigned int part)
{
    return MIN(FLOW_SLOT_TEXT, text_len - part * FLOW_SLOT_TEXT);
}

static char *
check_parts(const struct flow_slot *fs)
{
    uint64_t id = fs->flow_id;

    if (!fs->n_parts || fs->n_parts > FLOW_SLOT_MAX_PARTS) {
        return xasprintf("flow %"PRIu64": %u parts (1 to %d allowed)", id,
                         fs->n_parts, FLOW_SLOT_MAX_PARTS);
    }
    if (fs->part >= fs->n_parts) {
        return xasprintf("flow %"PRIu64": part %u of %u", id, fs->part,
                         fs->n_parts);
    }
    if (fs->text_len <= (fs->n_parts - 1) * FLOW_SLOT_TEXT
        || fs->text_len > fs->n_parts * FLOW_SLOT_TEXT) {
        return xasprintf("flow %"PRIu64": part count %u is wrong for a "
                         "text of %u bytes", id, fs->n_parts, fs->text_len);
    }
    return NULL;
}

static char *
check_counters(const struct flow_slot *fs)
{
    uint64_t id = fs->flow_id;

    if (fs->part && (fs->n_packets || fs->n_bytes || fs->created_ms
                     || fs->used_ms)) {
        return xasprintf("flow %"PRIu64": part %u carries counters", id,
                         fs->part);
    }
    if (!fs->part && fs->used_ms < fs->created_ms) {
        return xasprintf("flow %"PRIu64": last used %"PRId64" ms before it "
                         "was created", id, fs->created_ms - fs->used_ms);
    }
    return NULL;
}

static char *
check_text(const struct flow_slot *fs)
{
    size_t share = part_share(fs->text_len, fs->part);

    for (size_t i = 0; i < FLOW_SLOT_TEXT; i++) {
        if (i < share ? !is_text_byte(fs->text[i]) : fs->text[i] != '\0') {
            return xasprintf("flow %"PRIu64": part %u: %s byte 0x%02x at "
                             "text offset %"PRIuSIZE, fs->flow_id, fs->part,
                             i < share ? "unprintable" : "stray",
                             (uint8_t) fs->text[i], i);
        }
    }
    return NULL;
}

static char *
check_slot(const struct flow_slot *fs)
{
    char *error;

    if (!fs->flow_id) {
        return xstrdup("flow slot with flow id 0");
    }
    if (fs->flags) {
        return xasprintf("flow %"PRIu64": unknown flags 0x%x", fs->flow_id,
                         fs->flags);
    }
    error = check_parts(fs);
    if (!error) {
        error = check_counters(fs);
    }
    if (!error) {
        error = check_text(fs);
    }
    return error;
}

char *
flow_slot_check(uint16_t type, const void *payload, size_t len)
{
    if (type != OOR_SLOT_FLOW) {
        return xasprintf("unknown slot type %u", type);
    }
    if (len != sizeof(struct flow_slot)) {
        return xasprintf("flow slot of %"PRIuSIZE" bytes, expected %"PRIuSIZE,
                         len, sizeof(struct flow_slot));
    }

    struct flow_slot fs;
    memcpy(&fs, payload, sizeof fs);
    return check_slot(&fs);
}

/* Chains.
 *
 * A chain set gathers slots, each already checked alone, into chains by flow
 * id and notes each chain's first inconsistency. */

struct chain {
    struct hmap_node node;      /* In chain_set, by flow id. */
    uint64_t id;
    uint16_t n_parts;
    uint16_t text_len;
    uint32_t first_slot;        /* Where the chain was first seen. */
    uint32_t *slots;            /* By part; UINT32_MAX while missing. */
    const struct flow_slot **parts;
    char *fault;
};

struct chain_set {
    struct hmap chains;
};

static void
chain_set_init(struct chain_set *cs)
{
    hmap_init(&cs->chains);
}

static void
chain_set_destroy(struct chain_set *cs)
{
    struct chain *c;

    HMAP_FOR_EACH_POP (c, node, &cs->chains) {
        free(c->slots);
        free(c->parts);
        free(c->fault);
        free(c);
    }
    hmap_destroy(&cs->chains);
}

static struct chain *
chain_find(const struct chain_set *cs, uint64_t id)
{
    struct chain *c;

    HMAP_FOR_EACH_WITH_HASH (c, node, hash_uint64(id), &cs->chains) {
        if (c->id == id) {
            return c;
        }
    }
    return NULL;
}

static struct chain *
chain_create(struct chain_set *cs, uint32_t slot, const struct flow_slot *fs)
{
    struct chain *c = xzalloc(sizeof *c);

    c->id = fs->flow_id;
    c->first_slot = slot;
    c->n_parts = fs->n_parts;
    c->text_len = fs->text_len;
    c->slots = xmalloc(c->n_parts * sizeof *c->slots);
    c->parts = xcalloc(c->n_parts, sizeof *c->parts);
    for (size_t i = 0; i < c->n_parts; i++) {
        c->slots[i] = UINT32_MAX;
    }
    hmap_insert(&cs->chains, &c->node, hash_uint64(c->id));
    return c;
}

/* Adds 'fs', which is in slot 'slot' and passed check_slot(). */
static void
chain_set_add(struct chain_set *cs, uint32_t slot, const struct flow_slot *fs)
{
    struct chain *c = chain_find(cs, fs->flow_id);

    if (!c) {
        c = chain_create(cs, slot, fs);
    }
    if (c->fault) {
        return;
    }
    if (fs->n_parts != c->n_parts || fs->text_len != c->text_len) {
        c->fault = xasprintf("flow %"PRIu64": slots %"PRIu32" and %"PRIu32
                             " disagree: %u and %u parts, %u and %u bytes",
                             c->id, c->first_slot, slot, c->n_parts,
                             fs->n_parts, c->text_len, fs->text_len);
    } else if (c->parts[fs->part]) {
        c->fault = xasprintf("flow %"PRIu64": part %u in slots %"PRIu32
                             " and %"PRIu32, c->id, fs->part,
                             c->slots[fs->part], slot);
    } else {
        c->slots[fs->part] = slot;
        c->parts[fs->part] = fs;
    }
}

/* Notes the missing parts of every chain. */
static void
chain_set_finish(struct chain_set *cs)
{
    struct chain *c;

    HMAP_FOR_EACH (c, node, &cs->chains) {
        for (size_t i = 0; !c->fault && i < c->n_parts; i++) {
            if (!c->parts[i]) {
                c->fault = xasprintf("flow %"PRIu64": part %"PRIuSIZE" of %u "
                                     "is missing", c->id, i, c->n_parts);
            }
        }
    }
}

/* The chain with the smallest id among those with a fault, for a stable
 * "first fault". */
static const struct chain *
chain_set_first_fault(const struct chain_set *cs)
{
    const struct chain *best = NULL;
    const struct chain *c;

    HMAP_FOR_EACH (c, node, &cs->chains) {
        if (c->fault && (!best || c->id < best->id)) {
            best = c;
        }
    }
    return best;
}

static char *
chain_text(const struct chain *c)
{
    char *text = xmalloc(c->text_len + 1);

    for (size_t i = 0; i < c->n_parts; i++) {
        memcpy(text + i * FLOW_SLOT_TEXT, c->parts[i]->text,
               part_share(c->text_len, i));
    }
    text[c->text_len] = '\0';
    return text;
}

/* Writing. */

char *
flow_store_write(struct state_region *r, uint64_t id, const char *text,
                 const struct flow_store_stats *st, struct flow_chain *chain)
{
    size_t len = strlen(text);

    if (!id) {
        return xstrdup("flow id 0 is reserved");
    }
    if (!len || len > FLOW_TEXT_MAX) {
        return xasprintf("flow text of %"PRIuSIZE" bytes (1 to %d allowed)",
                         len, FLOW_TEXT_MAX);
    }
    for (size_t i = 0; i < len; i++) {
        if (!is_text_byte(text[i])) {
            return xasprintf("flow text has unprintable byte 0x%02x",
                             (uint8_t) text[i]);
        }
    }

    size_t n = DIV_ROUND_UP(len, FLOW_SLOT_TEXT);
    uint32_t *slots = xmalloc(n * sizeof *slots);
    for (size_t i = 0; i < n; i++) {
        char *error = state_region_alloc(r, OOR_SLOT_FLOW, &slots[i]);
        if (error) {
            while (i-- > 0) {
                state_region_free(r, slots[i]);
            }
            free(slots);
            return error;
        }
    }

    /* Only now: an allocation may have moved the slots. */
    for (size_t i = 0; i < n; i++) {
        struct flow_slot *fs = state_region_slot_mut(r, slots[i]);

        memset(fs, 0, sizeof *fs);
        fs->flow_id = id;
        fs->part = i;
        fs->n_parts = n;
        fs->text_len = len;
        memcpy(fs->text, text + i * FLOW_SLOT_TEXT, part_share(len, i));
    }
    flow_store_set_stats(r, slots[0], st);
    chain->slots = slots;
    chain->n = n;
    return NULL;
}

void
flow_store_update(struct state_region *r, uint32_t slot0, uint64_t n_packets,
                  uint64_t n_bytes, long long used)
{
    struct flow_slot *fs = state_region_slot_mut(r, slot0);

    fs->n_packets = n_packets;
    fs->n_bytes = n_bytes;
    fs->used_ms = used;
}

void
flow_store_set_stats(struct state_region *r, uint32_t slot0,
                     const struct flow_store_stats *st)
{
    struct flow_slot *fs = state_region_slot_mut(r, slot0);

    fs->n_packets = st->n_packets;
    fs->n_bytes = st->n_bytes;
    fs->created_ms = st->created;
    fs->used_ms = MAX(st->used, st->created);
}

void
flow_store_erase(struct state_region *r, struct flow_chain *chain)
{
    for (size_t i = 0; i < chain->n; i++) {
        state_region_free(r, chain->slots[i]);
    }
    flow_chain_destroy(chain);
}

void
flow_chain_destroy(struct flow_chain *chain)
{
    free(chain->slots);
    chain->slots = NULL;
    chain->n = 0;
}

/* Reading. */

static int
compare_stored(const void *a_, const void *b_)
{
    const struct flow_stored *a = a_;
    const struct flow_stored *b = b_;

    return a->id < b->id ? -1 : a->id > b->id;
}

/* Frees the slots in 'bad' and those of every chain with a fault. */
static size_t
drop_faulty(struct state_region *r, struct chain_set *cs,
            const uint32_t *bad, size_t n_bad)
{
    size_t n_dropped = n_bad;
    struct chain *c;

    for (size_t i = 0; i < n_bad; i++) {
        state_region_free(r, bad[i]);
    }
    HMAP_FOR_EACH (c, node, &cs->chains) {
        if (c->fault) {
            VLOG_WARN("%s: dropping %s", state_region_path(r), c->fault);
            for (size_t i = 0; i < c->n_parts; i++) {
                if (c->parts[i]) {
                    state_region_free(r, c->slots[i]);
                }
            }
            n_dropped++;
        }
    }
    return n_dropped;
}

static void
stored_from_chain(struct flow_stored *fs, const struct chain *c)
{
    const struct flow_slot *p0 = c->parts[0];

    fs->id = c->id;
    fs->text = chain_text(c);
    fs->stats.n_packets = p0->n_packets;
    fs->stats.n_bytes = p0->n_bytes;
    fs->stats.created = p0->created_ms;
    fs->stats.used = p0->used_ms;
    fs->chain.n = c->n_parts;
    fs->chain.slots = xmemdup(c->slots, c->n_parts * sizeof *c->slots);
}

struct flow_stored *
flow_store_read(struct state_region *r, size_t *np, size_t *n_dropped)
{
    struct chain_set cs;
    uint32_t *bad = NULL;
    size_t n_bad = 0, allocated_bad = 0;
    uint32_t slot;

    chain_set_init(&cs);
    STATE_REGION_FOR_EACH_OF_TYPE (slot, OOR_SLOT_FLOW, r) {
        const struct oor_slot_hdr *h = state_region_slot(r, slot);

        char *error = flow_slot_check(h->type, h + 1, h->len);
        if (error) {
            VLOG_WARN("%s: slot %"PRIu32": dropping %s",
                      state_region_path(r), slot, error);
            free(error);
            if (n_bad >= allocated_bad) {
                bad = x2nrealloc(bad, &allocated_bad, sizeof *bad);
            }
            bad[n_bad++] = slot;
        } else {
            chain_set_add(&cs, slot, (const struct flow_slot *) (h + 1));
        }
    }
    chain_set_finish(&cs);

    struct flow_stored *flows = xmalloc(MAX(1, hmap_count(&cs.chains))
                                        * sizeof *flows);
    const struct chain *c;
    size_t n = 0;
    HMAP_FOR_EACH (c, node, &cs.chains) {
        if (!c->fault) {
            stored_from_chain(&flows[n++], c);
        }
    }
    qsort(flows, n, sizeof *flows, compare_stored);

    /* Freeing zeroes slots that 'cs' points into: last. */
    *n_dropped = drop_faulty(r, &cs, bad, n_bad);
    chain_set_destroy(&cs);
    free(bad);
    *np = n;
    return flows;
}

void
flow_stored_free(struct flow_stored *flows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(flows[i].text);
        flow_chain_destroy(&flows[i].chain);
    }
    free(flows);
}

/* Checks the flow slots of the bare region pages in 'region'. */
char *
flow_store_check_region(const void *region, size_t len)
{
    const struct oor_header *h = region;

    if (len < OOR_PAGE_SIZE) {
        return xstrdup("region shorter than its header page");
    }

    uint64_t n_slots = (uint64_t) h->n_slot_pages * OOR_SLOTS_PER_PAGE;
    if (h->slot_offset > len
        || n_slots > (len - h->slot_offset) / OOR_SLOT_SIZE) {
        return xstrdup("region shorter than its slots");
    }

    const uint8_t *base = (const uint8_t *) region + h->slot_offset;
    struct chain_set cs;
    char *error = NULL;

    chain_set_init(&cs);
    for (uint32_t k = 0; !error && k < n_slots; k++) {
        const struct oor_slot_hdr *sh = (const void *) (base
                                                         + k * OOR_SLOT_SIZE);
        if (sh->type != OOR_SLOT_FLOW) {
            continue;
        }

        char *fault = flow_slot_check(sh->type, sh + 1, sh->len);
        if (fault) {
            error = xasprintf("slot %"PRIu32": %s", k, fault);
            free(fault);
        } else {
            chain_set_add(&cs, k, (const struct flow_slot *) (sh + 1));
        }
    }
    if (!error) {
        chain_set_finish(&cs);
        const struct chain *c = chain_set_first_fault(&cs);
        if (c) {
            error = xstrdup(c->fault);
        }
    }
    chain_set_destroy(&cs);
    return error;
}

/* Host flows. */

char *
flow_store_save_host(const char *path, const struct svec *texts)
{
    struct ds s = DS_EMPTY_INITIALIZER;

    for (size_t i = 0; i < texts->n; i++) {
        ds_put_format(&s, "%s\n", texts->names[i]);
    }

    char *error = atomic_file_write(path, ds_cstr(&s));
    ds_destroy(&s);
    return error;
}

char *
flow_store_load_host(const char *path, struct svec *texts)
{
    FILE *f = fopen(path, "r");

    if (!f) {
        return (errno == ENOENT
                ? NULL
                : xasprintf("%s: open failed (%s)", path,
                            ovs_strerror(errno)));
    }

    struct ds line = DS_EMPTY_INITIALIZER;
    while (!ds_get_line(&line, f)) {
        const char *s = ds_cstr(&line);

        s += strspn(s, " \t");
        if (*s && *s != '#') {
            svec_add(texts, s);
        }
    }
    ds_destroy(&line);

    char *error = (ferror(f)
                   ? xasprintf("%s: read failed (%s)", path,
                               ovs_strerror(errno))
                   : NULL);
    fclose(f);
    return error;
}
