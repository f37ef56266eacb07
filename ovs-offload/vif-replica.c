/*
 * A standby VIF kept in step with a remote region.
 */
#include <config.h>
#include "vif-replica.h"

#include <errno.h>
#include <string.h>
#include "bitmap.h"
#include "ct-engine.h"
#include "ct-entry.h"
#include "state-region.h"
#include "util.h"
#include "vif-store.h"
#include "vif.h"

/* A clash waits for the end of its pass: the slot that held the same
 * connection may be freed later in the pass. */
struct deferred {
    uint32_t slot;
    uint32_t page;              /* Index in gens[]. */
    uint8_t bytes[OOR_SLOT_SIZE];
};

struct vif_replica {
    struct vif_store *store;
    struct vif *vif;
    long long clock_offset;

    /* The source, as the current pass saw it: its header and summary, and
     * its generation array, of which each pass reads only the ranges whose
     * summary entry rose. */
    struct oor_header hdr;
    uint64_t summary[OOR_SUMMARY_MAX];
    uint64_t *gens;             /* n_gens. */
    size_t n_gens;
    bool final;

    /* What this replica holds: per summary range and per page, the
     * generation it has seen whole; per slot, the version of the entry it
     * holds. */
    uint64_t seen_summary[OOR_SUMMARY_MAX];
    uint64_t *seen;             /* n_gens. */
    uint64_t *versions;
    size_t n_versions;

    /* The pass. */
    uint32_t next_summary;      /* vif_replica_next_gens()'s cursor. */
    uint32_t next_page;         /* vif_replica_next_run()'s cursor. */
    bool range_read[OOR_SUMMARY_MAX];  /* Ranges of gens[] this pass read. */
    unsigned long *retry;       /* n_gens bits: pages to read again. */
    unsigned long *prev_retry;  /* The last pass's 'retry'... */
    size_t n_prev_retry;        /* ...of so many bits. */
    struct deferred *deferred;
    size_t n_deferred, allocated_deferred;
    uint32_t *done_late;        /* Pages with clashes, none torn. */
    size_t n_done_late, allocated_done_late;
    struct vif_replica_stats stats;
};

struct vif_replica *
vif_replica_create(struct vif_store *store, struct vif *vif,
                   long long clock_offset)
{
    struct vif_replica *r = xzalloc(sizeof *r);

    r->store = store;
    r->vif = vif;
    r->clock_offset = clock_offset;
    return r;
}

void
vif_replica_destroy(struct vif_replica *r)
{
    if (r) {
        free(r->gens);
        free(r->seen);
        free(r->versions);
        free(r->retry);
        free(r->prev_retry);
        free(r->deferred);
        free(r->done_late);
        free(r);
    }
}

/* Grows 'array' of '*n' 64-bit values to 'want', with zeros. */
static uint64_t *
grow_u64(uint64_t *array, size_t *n, size_t want)
{
    if (want > *n) {
        array = xrealloc(array, want * sizeof *array);
        memset(array + *n, 0, (want - *n) * sizeof *array);
        *n = want;
    }
    return array;
}

char *
vif_replica_begin_pass(struct vif_replica *r, const void *header_page,
                       bool final)
{
    const struct oor_header *h = header_page;
    char *error = state_region_check_header(h, OOR_PAGE_SIZE);
    if (error) {
        return error;
    }
    if (strcmp(h->vif.iface_id, r->vif->def.iface_id)) {
        return xasprintf("the source's region holds VIF %s",
                         h->vif.iface_id);
    }

    uint32_t n_gens = 1 + h->n_slot_pages;
    if (n_gens < r->n_gens) {
        return xasprintf("the source's region shrank from %"PRIuSIZE" to %"
                         PRIu32" slot pages", r->n_gens - 1, h->n_slot_pages);
    }
    if (h->n_gen_pages != r->hdr.n_gen_pages) {
        /* Relaid out: the summary covers other ranges now. */
        memset(r->seen_summary, 0, sizeof r->seen_summary);
    }

    size_t old_n_gens = r->n_gens;
    size_t n = r->n_gens;
    r->gens = grow_u64(r->gens, &n, n_gens);
    n = r->n_gens;
    r->seen = grow_u64(r->seen, &n, n_gens);
    r->n_gens = n_gens;
    r->versions = grow_u64(r->versions, &r->n_versions,
                           (size_t) h->n_slot_pages * OOR_SLOTS_PER_PAGE);
    error = ct_table_reserve(r->vif->ct, r->n_versions);
    if (error) {
        return error;
    }

    r->hdr = *h;
    memcpy(r->summary, (const uint8_t *) header_page + OOR_SUMMARY_OFFSET,
           sizeof r->summary);
    /* The pages the last pass left are read again wherever they are; other
     * pages only where the summary rose. */
    free(r->prev_retry);
    r->prev_retry = r->retry;
    r->n_prev_retry = r->prev_retry ? old_n_gens : 0;
    r->retry = bitmap_allocate(n_gens);
    for (uint32_t i = 0; i < OOR_SUMMARY_MAX; i++) {
        r->range_read[i] = r->summary[i] > r->seen_summary[i];
    }
    r->final = final;
    r->next_summary = 0;
    r->next_page = 1;
    r->n_deferred = 0;
    memset(&r->stats, 0, sizeof r->stats);
    return NULL;
}

bool
vif_replica_next_gens(struct vif_replica *r, uint64_t *offset, void **buf,
                      size_t *len)
{
    uint32_t n_entries = oor_summary_entries(r->hdr.n_gen_pages);
    uint32_t per_entry = oor_summary_span(r->hdr.n_gen_pages)
                         * OOR_GENS_PER_PAGE;
    uint32_t i = r->next_summary;

    while (i < n_entries && r->summary[i] <= r->seen_summary[i]) {
        i++;
    }
    if (i >= n_entries) {
        r->next_summary = i;
        return false;
    }

    uint32_t j = i + 1;
    while (j < n_entries && r->summary[j] > r->seen_summary[j]) {
        j++;
    }
    r->next_summary = j;

    uint32_t first = i * per_entry;
    uint32_t end = MIN((uint64_t) j * per_entry, r->n_gens);
    *offset = r->hdr.gen_offset + (uint64_t) first * sizeof *r->gens;
    *buf = r->gens + first;
    *len = (size_t) (end - first) * sizeof *r->gens;
    return first < end;
}

char *
vif_replica_gens_done(struct vif_replica *r)
{
    const struct oor_header *h = &r->hdr;

    /* Before the fence the array is read after the header, and may run
     * ahead of it; after the fence nothing moves.  (The ranges not read
     * are at most their summary, which is at most a sealed generation.) */
    uint32_t per_range = (oor_summary_span(h->n_gen_pages)
                          * OOR_GENS_PER_PAGE);
    for (uint32_t p = 0; r->final && p < r->n_gens; p++) {
        if (!r->range_read[p / per_range]) {
            p = (p / per_range + 1) * per_range - 1;
        } else if (r->gens[p] > h->generation) {
            return xasprintf("page %"PRIu32": generation %"PRIu64" above "
                             "the region's %"PRIu64, p, r->gens[p],
                             h->generation);
        }
    }

    /* What this pass has seen of each range is what was sealed when it read
     * the header: a generation still open then may yet be given to more
     * pages, which must be read again. */
    for (uint32_t i = 0; i < OOR_SUMMARY_MAX; i++) {
        r->seen_summary[i] = MIN(r->summary[i], h->generation);
    }
    return NULL;
}

static bool
page_changed(const struct vif_replica *r, uint32_t p)
{
    return r->gens[p] > r->seen[p];
}

/* Finds the first page from '*p' on that changed: in a range of gens[] this
 * pass read, by its generation; elsewhere only the pages the last pass left
 * can have, so only they are looked at. */
static bool
next_changed(const struct vif_replica *r, uint32_t *pp)
{
    uint32_t per_range = (oor_summary_span(r->hdr.n_gen_pages)
                          * OOR_GENS_PER_PAGE);

    for (uint32_t p = *pp; p < r->n_gens; ) {
        uint32_t range = p / per_range;
        uint32_t end = MIN((uint64_t) (range + 1) * per_range, r->n_gens);

        if (r->range_read[range]) {
            for (; p < end; p++) {
                if (page_changed(r, p)) {
                    *pp = p;
                    return true;
                }
            }
        } else {
            uint32_t scan_end = MIN(end, r->n_prev_retry);
            size_t q = (p < scan_end
                        ? bitmap_scan(r->prev_retry, true, p, scan_end)
                        : scan_end);

            if (q < scan_end && page_changed(r, q)) {
                *pp = q;
                return true;
            }
            p = q < scan_end ? q + 1 : end;
        }
    }
    return false;
}

bool
vif_replica_next_run(struct vif_replica *r, uint32_t max_pages,
                     uint64_t *offset, uint32_t *n_pages)
{
    uint32_t p = r->next_page;

    if (!next_changed(r, &p)) {
        r->next_page = r->n_gens;
        return false;
    }

    uint32_t n = 1;
    while (n < max_pages && p + n < r->n_gens && page_changed(r, p + n)) {
        n++;
    }
    r->next_page = p + n;
    *offset = r->hdr.slot_offset + (uint64_t) (p - 1) * OOR_PAGE_SIZE;
    *n_pages = n;
    return true;
}

static bool
local_used(const struct vif *vif, uint32_t slot, uint16_t *type)
{
    if (slot >= state_region_n_slots(vif->region)) {
        return false;
    }
    *type = state_region_slot(vif->region, slot)->type;
    return *type != OOR_SLOT_FREE;
}

static void
del_local(struct vif *vif, uint32_t slot, uint16_t type)
{
    if (type == OOR_SLOT_CT) {
        ct_table_del_slot(vif->ct, slot);
    } else {
        state_region_free(vif->region, slot);
    }
}

/* Puts the slot 'sh' into the replica's 'slot'; EEXIST for a clash. */
static int
put_local(struct vif_replica *r, uint32_t slot,
          const struct oor_slot_hdr *sh, char **errorp)
{
    if (sh->type == OOR_SLOT_CT) {
        return ct_table_put(r->vif->ct, slot, (const void *) (sh + 1),
                            r->clock_offset, errorp);
    }
    *errorp = state_region_put(r->vif->region, slot, sh->type, sh + 1);
    return *errorp ? ENOSPC : 0;
}

/* Brings the replica's 'slot' to the source's 'sh', a slot checked whole.
 * Returns EEXIST for a clash, after which the replica's slot is free. */
static int
apply_slot(struct vif_replica *r, uint32_t slot,
           const struct oor_slot_hdr *sh, char **errorp)
{
    uint16_t type;
    bool used = local_used(r->vif, slot, &type);

    *errorp = NULL;
    if (sh->type == OOR_SLOT_FREE) {
        if (used) {
            del_local(r->vif, slot, type);
            r->stats.slots++;
        }
        return 0;
    }
    if (used && type == sh->type && r->versions[slot] == sh->version) {
        return 0;               /* Another slot of its page changed. */
    }
    if (used) {
        del_local(r->vif, slot, type);
    }
    r->stats.slots++;

    int error = put_local(r, slot, sh, errorp);
    if (!error) {
        r->versions[slot] = sh->version;
    }
    return error;
}

static void
defer(struct vif_replica *r, uint32_t slot, uint32_t page,
      const struct oor_slot_hdr *sh)
{
    if (r->n_deferred >= r->allocated_deferred) {
        r->deferred = x2nrealloc(r->deferred, &r->allocated_deferred,
                                 sizeof *r->deferred);
    }
    struct deferred *d = &r->deferred[r->n_deferred++];
    d->slot = slot;
    d->page = page;
    memcpy(d->bytes, sh, OOR_SLOT_SIZE);
}

/* Page 'p' is applied whole.  A generation still open when the pass read
 * the header may be given to more changes of the page (a slot freed leaves
 * no torn slot behind), so only what was sealed then counts as seen. */
static void
mark_seen(struct vif_replica *r, uint32_t p)
{
    r->seen[p] = MIN(r->gens[p], r->hdr.generation);
}

static void
add_done_late(struct vif_replica *r, uint32_t p)
{
    if (r->n_done_late >= r->allocated_done_late) {
        r->done_late = x2nrealloc(r->done_late, &r->allocated_done_late,
                                  sizeof *r->done_late);
    }
    r->done_late[r->n_done_late++] = p;
}

static char *
apply_page(struct vif_replica *r, uint32_t p, const uint8_t *page)
{
    bool torn_page = false;
    bool clash = false;

    for (uint32_t i = 0; i < OOR_SLOTS_PER_PAGE; i++) {
        const struct oor_slot_hdr *sh = (const void *) (page
                                                        + i * OOR_SLOT_SIZE);
        if (sh->type == OOR_SLOT_CT && sh->len == OOR_SLOT_CT_LEN) {
            ct_table_prefetch(r->vif->ct, (const void *) (sh + 1));
        }
    }

    for (uint32_t i = 0; i < OOR_SLOTS_PER_PAGE; i++) {
        const struct oor_slot_hdr *sh = (const void *) (page
                                                        + i * OOR_SLOT_SIZE);
        uint32_t slot = (p - 1) * OOR_SLOTS_PER_PAGE + i;
        bool torn;
        /* Before the fence a page may well be newer than the generation
         * array read before it: its slots then carry later versions. */
        uint64_t max_version = r->final ? r->gens[p] : UINT64_MAX;
        char *error = state_region_check_slot(sh, slot, max_version,
                                              vif_check_slot, &torn);

        if (error) {
            if (!torn || r->final) {
                char *s = xasprintf("%s%s", error,
                                    r->final ? " after the fence" : "");
                free(error);
                return s;
            }
            free(error);
            torn_page = true;   /* Caught mid-write: read it again. */
            continue;
        }

        int retval = apply_slot(r, slot, sh, &error);
        if (retval == EEXIST) {
            defer(r, slot, p, sh);
            clash = true;
        } else if (retval) {
            return error;
        }
    }
    if (torn_page) {
        bitmap_set1(r->retry, p);
    } else if (!clash) {
        mark_seen(r, p);
    }
    r->stats.pages++;
    return NULL;
}

char *
vif_replica_apply(struct vif_replica *r, uint64_t offset, const void *pages,
                  uint32_t n_pages)
{
    if (offset < r->hdr.slot_offset
        || (offset - r->hdr.slot_offset) % OOR_PAGE_SIZE) {
        return xasprintf("offset %"PRIu64" is not a slot page", offset);
    }

    uint64_t first = 1 + (offset - r->hdr.slot_offset) / OOR_PAGE_SIZE;
    if (first + n_pages > r->n_gens) {
        return xasprintf("pages %"PRIu64"+%"PRIu32" beyond the region",
                         first, n_pages);
    }
    for (uint32_t k = 0; k < n_pages; k++) {
        char *error = apply_page(r, first + k, (const uint8_t *) pages
                                               + (size_t) k * OOR_PAGE_SIZE);
        if (error) {
            return error;
        }
    }
    return NULL;
}

char *
vif_replica_end_pass(struct vif_replica *r, long long now,
                     struct vif_replica_stats *stats)
{
    char *error = NULL;

    /* The clashes once the whole pass is in: a connection that moved to a
     * new slot has left its old one by now, if the source is still. */
    r->n_done_late = 0;
    for (size_t i = 0; !error && i < r->n_deferred; i++) {
        const struct deferred *d = &r->deferred[i];
        const struct oor_slot_hdr *sh = (const void *) d->bytes;
        int retval = apply_slot(r, d->slot, sh, &error);

        if (retval == EEXIST) {
            if (r->final) {
                error = xasprintf("slot %"PRIu32": its connection is also "
                                  "in another slot", d->slot);
            }
            bitmap_set1(r->retry, d->page);
        } else if (!retval) {
            add_done_late(r, d->page);
        }
    }
    r->n_deferred = 0;

    /* A page whose clashes all resolved, and that had no torn slot, is
     * done; the others are read whole again next pass. */
    for (size_t i = 0; i < r->n_done_late; i++) {
        uint32_t p = r->done_late[i];

        if (!bitmap_is_set(r->retry, p)) {
            mark_seen(r, p);
        }
    }
    r->n_done_late = 0;
    r->stats.retries = bitmap_count1(r->retry, r->n_gens);
    if (!error && r->final && r->stats.retries) {
        error = xasprintf("%"PRIu32" pages could not be applied after the "
                          "fence", r->stats.retries);
    }

    state_region_seal(r->vif->region, now);
    *stats = r->stats;
    return error;
}

void
vif_replica_commit(struct vif_replica *r, long long now)
{
    vif_store_reload(r->store, r->vif, &r->hdr.vif, now - r->clock_offset,
                     now);
}

void
vif_replica_empty(struct vif *vif)
{
    uint32_t slot;

    ct_table_flush(vif->ct);
    for (uint16_t type = OOR_SLOT_CT + 1; type < OOR_N_SLOT_TYPES; type++) {
        STATE_REGION_FOR_EACH_OF_TYPE (slot, type, vif->region) {
            state_region_free(vif->region, slot);
        }
    }
}
