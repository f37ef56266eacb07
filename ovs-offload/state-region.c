/*
 * State regions: one shared-memory file per VIF, laid out as region-format.h
 * says, plus the validator that images and pulled pages share.
 *
 * What lives outside the mapping is small and per region, never per slot
 * object: a bitmap of used slots (the iterators never read the mapping), a
 * stack of freed slots below the high-water mark (slots at and above it have
 * never been used since the region was created or opened, so they stay
 * untouched and, in a sparse file, cost no memory), and the slots changed
 * since the last seal, as a bitmap for dedup and a list for the seal.
 */
#include <config.h>
#include "state-region.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bitmap.h"
#include "crc32c-hw.h"
#include "openvswitch/vlog.h"
#include "ovs-atomic.h"
#include "socket-util.h"
#include "util.h"

VLOG_DEFINE_THIS_MODULE(state_region);

/* The largest region any reader accepts, and its image. */
#define MAX_REGION_PAGES \
    ((uint64_t) 1 + OOR_MAX_GEN_PAGES + OOR_MAX_SLOT_PAGES)
#define MAX_REGION_SIZE (MAX_REGION_PAGES * OOR_PAGE_SIZE)
#define MAX_IMAGE_SIZE (MAX_REGION_SIZE + sizeof(struct oor_trailer))

BUILD_ASSERT_DECL(SIZE_MAX >= MAX_IMAGE_SIZE);
BUILD_ASSERT_DECL(MAX_REGION_PAGES <= UINT32_MAX);
BUILD_ASSERT_DECL(OOR_SLOT_CT_LEN <= OOR_SLOT_PAYLOAD_MAX);
BUILD_ASSERT_DECL(OOR_SLOT_FLOW_LEN <= OOR_SLOT_PAYLOAD_MAX);

/* Generations above this are refused, so that the open generation (one
 * more) and its successors can never wrap. */
#define MAX_GENERATION ((uint64_t) INT64_MAX)

/* 'len' of a used slot, by type. */
static const uint16_t slot_payload_len[OOR_N_SLOT_TYPES] = {
    [OOR_SLOT_CT] = OOR_SLOT_CT_LEN,
    [OOR_SLOT_FDB] = OOR_SLOT_FDB_LEN,
    [OOR_SLOT_NEIGH] = OOR_SLOT_NEIGH_LEN,
    [OOR_SLOT_ROUTE] = OOR_SLOT_ROUTE_LEN,
    [OOR_SLOT_FLOW] = OOR_SLOT_FLOW_LEN,
};

struct state_region {
    char *path;
    int fd;

    /* The mapping, and pointers into it (they move when the region grows). */
    uint8_t *base;
    size_t size;                /* n_pages * OOR_PAGE_SIZE. */
    struct oor_header *hdr;
    uint64_t *gens;
    uint64_t *summary;          /* In the header page. */
    uint8_t *slots;
    uint32_t n_slots;

    uint64_t open_gen;          /* hdr->generation + 1. */
    bool changed;               /* Anything since the last seal? */

    /* Allocation. */
    unsigned long *used;        /* n_slots bits. */
    unsigned long *typed[OOR_N_SLOT_TYPES];  /* n_slots bits per used type,
                                              * so that a module visits only
                                              * its own slots. */
    uint32_t n_used;
    uint32_t hwm;               /* Slots >= 'hwm' are free and untouched. */
    uint32_t *free_slots;       /* Stack of free slots below 'hwm'. */
    size_t n_free, allocated_free;

    /* Slots changed since the last seal. */
    unsigned long *dirty;       /* n_slots bits. */
    uint32_t *dirty_slots;
    size_t n_dirty, allocated_dirty;
};

static uint32_t
header_crc(const struct oor_header *h)
{
    struct oor_header tmp;

    memcpy(&tmp, h, sizeof tmp);
    tmp.header_crc = 0;
    tmp.generation = 0;
    tmp.clock_ms = 0;
    return crc32c_hw(&tmp, sizeof tmp);
}

/* A slot's checksum: crc32c over the whole slot with 'crc' as zero. */
static uint32_t
slot_crc(const struct oor_slot_hdr *sh)
{
    uint8_t buf[OOR_SLOT_SIZE];

    memcpy(buf, sh, sizeof buf);
    memset(buf, 0, sizeof sh->crc);
    return crc32c_hw(buf, sizeof buf);
}

/* Generation pages for a region of 'n_slot_pages': room for two more
 * doublings, so that growth mostly stays in place. */
static uint32_t
gen_pages_for(uint32_t n_slot_pages)
{
    uint64_t cover = MIN((uint64_t) n_slot_pages * 4, OOR_MAX_SLOT_PAGES);

    cover = MAX(cover, n_slot_pages);
    return DIV_ROUND_UP(1 + cover, OOR_GENS_PER_PAGE);
}

/* ".BASE.tmp" beside 'path'. */
static char *
temp_name(const char *path)
{
    char *dir = dir_name(path);
    char *base = base_name(path);
    char *tmp = xasprintf("%s/.%s.tmp", dir, base);

    free(dir);
    free(base);
    return tmp;
}

/* The validator. */

static char *
check_mac(const uint8_t mac[6])
{
    if (mac[0] & 1 || is_all_zeros(mac, 6)) {
        return xasprintf("MAC %02x:%02x:%02x:%02x:%02x:%02x is not unicast",
                         mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
    }
    return NULL;
}

static bool
ip_is_bad(const struct in6_addr *a)
{
    static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };
    const uint8_t *b = a->s6_addr;

    if (!memcmp(b, mapped, sizeof mapped)) {
        /* IPv4: 0.0.0.0 and multicast 224.0.0.0/4 are no VIF's address. */
        return is_all_zeros(b + 12, 4) || (b[12] & 0xf0) == 0xe0;
    }
    return is_all_zeros(b, 16) || b[0] == 0xff;
}

/* An iface-id names files in --state-dir, so its characters are limited to
 * those that make a safe file name. */
static char *
check_iface_id(const char *id)
{
    const char *end = memchr(id, '\0', OOR_IFACE_ID_LEN);
    size_t n;

    if (!end) {
        return xstrdup("iface-id not NUL-terminated");
    }
    n = end - id;
    if (!n) {
        return xstrdup("empty iface-id");
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = id[i];

        if (c < 0x20 || c > 0x7e) {
            return xasprintf("iface-id byte %"PRIuSIZE" is not printable "
                             "(0x%02x)", i, c);
        }
        if (!strchr("abcdefghijklmnopqrstuvwxyz"
                    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:-", c)) {
            return xasprintf("iface-id \"%.*s\" holds '%c': only letters, "
                             "digits and . _ : - are allowed",
                             (int) n, id, c);
        }
    }
    if (id[0] == '.') {
        return xasprintf("iface-id \"%.*s\" starts with a dot", (int) n, id);
    }
    if (!is_all_zeros(end, OOR_IFACE_ID_LEN - n)) {
        return xstrdup("iface-id padding not zero");
    }
    return NULL;
}

char *
state_region_check_def(const struct oor_vif_def *v)
{
    char *error = check_iface_id(v->iface_id);
    if (error) {
        return error;
    }
    error = check_mac(v->mac);
    if (error) {
        return error;
    }
    if (v->policy >= OOR_N_POLICIES) {
        return xasprintf("bad policy %"PRIu8, v->policy);
    }
    if (v->n_ips > OOR_MAX_IPS) {
        return xasprintf("%"PRIu8" addresses exceed the maximum %d",
                         v->n_ips, OOR_MAX_IPS);
    }
    for (int i = 0; i < OOR_MAX_IPS; i++) {
        if (i < v->n_ips) {
            if (ip_is_bad(&v->ips[i])) {
                return xasprintf("address %d is unspecified or multicast", i);
            }
        } else if (!is_all_zeros(&v->ips[i], sizeof v->ips[i])) {
            return xasprintf("unused address %d not zero", i);
        }
    }
    if (v->floating >> v->n_ips) {
        return xasprintf("floating bits 0x%02"PRIx8" beyond the %"PRIu8
                         " addresses", v->floating, v->n_ips);
    }
    if (v->n_allow > OOR_MAX_ALLOW) {
        return xasprintf("%"PRIu8" openings exceed the maximum %d",
                         v->n_allow, OOR_MAX_ALLOW);
    }
    for (int i = 0; i < OOR_MAX_ALLOW; i++) {
        const struct oor_allow *a = &v->allow[i];

        if (i >= v->n_allow) {
            if (!is_all_zeros(a, sizeof *a)) {
                return xasprintf("unused opening %d not zero", i);
            }
        } else if (a->proto != IPPROTO_TCP && a->proto != IPPROTO_UDP
                   && a->proto != IPPROTO_ICMP
                   && a->proto != IPPROTO_ICMPV6) {
            return xasprintf("opening %d: bad protocol %"PRIu8, i, a->proto);
        } else if ((a->proto == IPPROTO_ICMP || a->proto == IPPROTO_ICMPV6)
                   != !a->port) {
            return xasprintf("opening %d: port %"PRIu16" with protocol %"
                             PRIu8, i, a->port, a->proto);
        } else if (a->pad) {
            return xasprintf("opening %d: padding not zero", i);
        }
    }
    if (!is_all_zeros(v->pad, sizeof v->pad)) {
        return xstrdup("padding not zero");
    }
    return NULL;
}

char *
state_region_check_header(const struct oor_header *h, size_t avail)
{
    if (avail < OOR_PAGE_SIZE) {
        return xasprintf("region truncated: %"PRIuSIZE" bytes, less than the "
                         "%d-byte header page", avail, OOR_PAGE_SIZE);
    }
    if (h->magic != OOR_MAGIC) {
        return xasprintf("bad magic 0x%016"PRIx64, h->magic);
    }
    if (h->version != OOR_VERSION) {
        return xasprintf("unsupported version %"PRIu32, h->version);
    }
    if (h->page_size != OOR_PAGE_SIZE) {
        return xasprintf("unsupported page size %"PRIu32, h->page_size);
    }
    if (h->slot_size != OOR_SLOT_SIZE) {
        return xasprintf("unsupported slot size %"PRIu32, h->slot_size);
    }
    if (h->flags) {
        return xasprintf("unsupported flags 0x%"PRIx32, h->flags);
    }
    if (!h->n_slot_pages) {
        return xstrdup("no slot pages");
    }
    if (h->n_slot_pages > OOR_MAX_SLOT_PAGES) {
        return xasprintf("n_slot_pages %"PRIu32" exceeds the maximum %"PRIu32,
                         h->n_slot_pages, OOR_MAX_SLOT_PAGES);
    }
    if ((uint64_t) h->n_gen_pages * OOR_GENS_PER_PAGE
        < (uint64_t) 1 + h->n_slot_pages) {
        return xasprintf("n_gen_pages %"PRIu32" too small for %"PRIu32
                         " slot pages", h->n_gen_pages, h->n_slot_pages);
    }
    if (h->n_gen_pages > OOR_MAX_GEN_PAGES) {
        return xasprintf("n_gen_pages %"PRIu32" exceeds the maximum %d",
                         h->n_gen_pages, OOR_MAX_GEN_PAGES);
    }

    uint64_t n_pages = (uint64_t) 1 + h->n_gen_pages + h->n_slot_pages;
    if (h->n_pages != n_pages) {
        return xasprintf("n_pages %"PRIu32", expected 1 + %"PRIu32" + %"PRIu32
                         " = %"PRIu64, h->n_pages, h->n_gen_pages,
                         h->n_slot_pages, n_pages);
    }
    if (h->gen_offset != OOR_PAGE_SIZE) {
        return xasprintf("gen_offset %"PRIu32", expected %d",
                         h->gen_offset, OOR_PAGE_SIZE);
    }

    uint64_t slot_offset = ((uint64_t) 1 + h->n_gen_pages) * OOR_PAGE_SIZE;
    if (h->slot_offset != slot_offset) {
        return xasprintf("slot_offset %"PRIu32", expected %"PRIu64,
                         h->slot_offset, slot_offset);
    }
    if (h->header_crc != header_crc(h)) {
        return xstrdup("header checksum mismatch");
    }
    if (h->generation > MAX_GENERATION) {
        return xasprintf("generation %"PRIu64" out of range", h->generation);
    }

    char *error = state_region_check_def(&h->vif);
    if (error) {
        char *s = xasprintf("VIF definition: %s", error);
        free(error);
        return s;
    }
    if (!is_all_zeros(h + 1, OOR_SUMMARY_OFFSET - sizeof *h)) {
        return xstrdup("header page padding not zero");
    }

    const uint64_t *summary = (const uint64_t *) ((const uint8_t *) h
                                                  + OOR_SUMMARY_OFFSET);
    uint32_t n_entries = oor_summary_entries(h->n_gen_pages);
    if (!is_all_zeros(summary + n_entries,
                      (OOR_SUMMARY_MAX - n_entries) * sizeof *summary)) {
        return xstrdup("generation summary: entries past the last not zero");
    }
    return NULL;
}

/* Checks the length, the tail, the version and the payload of the used slot
 * 'sh', numbered 'slot', on a page of generation 'page_gen'. */
static char *
check_slot_content(const struct oor_slot_hdr *sh, uint32_t slot,
                   uint64_t page_gen, state_region_slot_check_func *check)
{
    const uint8_t *payload = (const uint8_t *) (sh + 1);

    if (sh->len > OOR_SLOT_PAYLOAD_MAX) {
        return xasprintf("slot %"PRIu32": length %"PRIu16" exceeds the "
                         "maximum %"PRIuSIZE, slot, sh->len,
                         OOR_SLOT_PAYLOAD_MAX);
    }
    if (!is_all_zeros(payload + sh->len, OOR_SLOT_PAYLOAD_MAX - sh->len)) {
        return xasprintf("slot %"PRIu32": bytes past its length %"PRIu16
                         " not zero", slot, sh->len);
    }
    if (sh->version > page_gen) {
        return xasprintf("slot %"PRIu32": version %"PRIu64" above its page "
                         "generation %"PRIu64, slot, sh->version, page_gen);
    }
    if (check) {
        char *error = check(sh->type, payload, sh->len);
        if (error) {
            char *s = xasprintf("slot %"PRIu32": bad payload: %s",
                                slot, error);
            free(error);
            return s;
        }
    }
    return NULL;
}

static char *
check_slot(const struct oor_slot_hdr *sh, uint32_t slot, uint64_t page_gen,
           state_region_slot_check_func *check)
{
    if (sh->type >= OOR_N_SLOT_TYPES) {
        return xasprintf("slot %"PRIu32": bad type %"PRIu16, slot, sh->type);
    }
    if (sh->type == OOR_SLOT_FREE) {
        return (is_all_zeros(sh, OOR_SLOT_SIZE) ? NULL
                : xasprintf("slot %"PRIu32": free but not zero", slot));
    }
    if (sh->crc != slot_crc(sh)) {
        return xasprintf("slot %"PRIu32": checksum mismatch", slot);
    }
    return check_slot_content(sh, slot, page_gen, check);
}

char *
state_region_check_slot(const struct oor_slot_hdr *sh, uint32_t slot,
                        uint64_t page_gen, state_region_slot_check_func *check,
                        bool *torn)
{
    *torn = (sh->type != OOR_SLOT_FREE && sh->type < OOR_N_SLOT_TYPES
             && sh->crc != slot_crc(sh));
    return check_slot(sh, slot, page_gen, check);
}

/* Tells which pages of a file hold data, so that a walk over a sparse region
 * file can skip its holes, which read as zeros: reading them through the
 * mapping would make tmpfs allocate them. */
struct data_cursor {
    int fd;
    off_t data, hole;           /* The data extent at or after the last ask. */
};

#define OFF_END ((off_t) INT64_MAX)

static void
data_cursor_init(struct data_cursor *c, int fd)
{
    c->fd = fd;
    c->data = c->hole = 0;
}

static bool
data_cursor_page(struct data_cursor *c, off_t ofs)
{
    if (c->fd < 0) {
        return true;
    }
    if (ofs >= c->hole) {
        off_t data = lseek(c->fd, ofs, SEEK_DATA);
        if (data < 0) {
            if (errno == ENXIO) {
                c->data = c->hole = OFF_END;        /* No more data. */
            } else {
                c->data = 0;                        /* Can't tell: read. */
                c->hole = OFF_END;
            }
        } else {
            off_t hole = lseek(c->fd, data, SEEK_HOLE);
            c->data = data;
            c->hole = hole < 0 ? OFF_END : hole;
        }
    }
    return ofs + OOR_PAGE_SIZE > c->data;
}

static void mark_dirty(struct state_region *, uint32_t slot);
static void seal__(struct state_region *, uint64_t clock_ms);

/* The summary entry over gen[p]. */
static uint32_t
summary_index(const struct oor_header *h, uint32_t p)
{
    return p / (OOR_GENS_PER_PAGE * oor_summary_span(h->n_gen_pages));
}

/* Raises page 'p''s generation (gen[] numbering) to the open one, and its
 * summary entry with it. */
static void
raise_gen(struct state_region *r, uint32_t p)
{
    r->gens[p] = r->open_gen;
    r->summary[summary_index(r->hdr, p)] = r->open_gen;
}

/* Recovery of one faulty slot of the region being opened: keeps it if its
 * payload passes (its checksum and version are made right at the seal that
 * ends the open), else drops it. */
static void
recover_slot(struct state_region *r, uint32_t slot, const char *fault,
             state_region_slot_check_func *check, uint32_t *n_resealed,
             uint32_t *n_dropped)
{
    static struct vlog_rate_limit rl = VLOG_RATE_LIMIT_INIT(10, 20);
    struct oor_slot_hdr *sh = (struct oor_slot_hdr *)
        (r->slots + (size_t) slot * OOR_SLOT_SIZE);
    char *error = NULL;

    if (sh->type != OOR_SLOT_FREE && sh->type < OOR_N_SLOT_TYPES) {
        error = check_slot_content(sh, slot, UINT64_MAX, check);
        if (!error) {
            VLOG_INFO_RL(&rl, "%s: resealed %s", r->path, fault);
            mark_dirty(r, slot);
            (*n_resealed)++;
            return;
        }
    }
    VLOG_WARN_RL(&rl, "%s: dropped %s", r->path, error ? error : fault);
    free(error);
    memset(sh, 0, OOR_SLOT_SIZE);
    raise_gen(r, 1 + slot / OOR_SLOTS_PER_PAGE);
    r->changed = true;
    (*n_dropped)++;
}

/* Checks 'len' bytes of region at 'base'.  With 'r', the region being
 * opened, whose mapping 'base' is, it recovers slots as it goes and skips
 * the holes of the file. */
/* Computes the generation summary of 'h''s generation array 'gens' into
 * 'summary' (OOR_SUMMARY_MAX entries). */
static void
summarize(const struct oor_header *h, const uint64_t *gens,
          uint64_t summary[OOR_SUMMARY_MAX])
{
    memset(summary, 0, OOR_SUMMARY_MAX * sizeof *summary);
    for (uint32_t p = 0; p < 1 + h->n_slot_pages; p++) {
        uint64_t *e = &summary[summary_index(h, p)];
        *e = MAX(*e, gens[p]);
    }
}

static char *
check_region__(const uint8_t *base, size_t len,
               state_region_slot_check_func *check, struct state_region *r)
{
    const struct oor_header *h = (const struct oor_header *) base;
    char *error = state_region_check_header(h, len);
    if (error) {
        return error;
    }

    size_t region_len = (size_t) h->n_pages * OOR_PAGE_SIZE;
    if (len != region_len) {
        return xasprintf("region %s: %"PRIuSIZE" bytes, header says %"
                         PRIuSIZE, len < region_len ? "truncated" : "too long",
                         len, region_len);
    }

    const uint64_t *gens = (const uint64_t *) (base + h->gen_offset);
    uint32_t n_gens = 1 + h->n_slot_pages;
    uint64_t max_gen = h->generation;
    for (uint32_t i = 0; i < n_gens; i++) {
        if (gens[i] > max_gen) {
            if (!r) {
                if (i) {
                    return xasprintf("slot page %"PRIu32": generation %"PRIu64
                                     " above the header's %"PRIu64, i - 1,
                                     gens[i], h->generation);
                }
                return xasprintf("header page: generation %"PRIu64" above "
                                 "the header's %"PRIu64,
                                 gens[i], h->generation);
            } else if (gens[i] > MAX_GENERATION) {
                return xasprintf("page %"PRIu32": generation %"PRIu64
                                 " out of range", i, gens[i]);
            }
            max_gen = gens[i];
        }
    }
    size_t n_gen_slots = (size_t) h->n_gen_pages * OOR_GENS_PER_PAGE;
    if (!is_all_zeros(gens + n_gens, (n_gen_slots - n_gens) * sizeof *gens)) {
        return xstrdup("generation array padding not zero");
    }

    uint64_t summary[OOR_SUMMARY_MAX];
    summarize(h, gens, summary);
    if (r) {
        memcpy(r->summary, summary, sizeof summary);
    } else {
        const uint64_t *have = (const uint64_t *) (base + OOR_SUMMARY_OFFSET);
        for (uint32_t i = 0; i < OOR_SUMMARY_MAX; i++) {
            if (have[i] != summary[i]) {
                return xasprintf("generation summary entry %"PRIu32": %"
                                 PRIu64", expected %"PRIu64, i, have[i],
                                 summary[i]);
            }
        }
    }

    struct data_cursor cursor;
    uint32_t n_resealed = 0, n_dropped = 0;
    data_cursor_init(&cursor, r ? r->fd : -1);
    if (r) {
        if (max_gen > h->generation) {
            VLOG_INFO("%s: generation %"PRIu64" was open, not sealed",
                      r->path, max_gen);
            r->hdr->generation = max_gen;
            r->open_gen = max_gen + 1;
        }
    }

    const uint8_t *slots = base + h->slot_offset;
    for (uint32_t page = 0; page < h->n_slot_pages; page++) {
        size_t page_ofs = (size_t) page * OOR_PAGE_SIZE;

        if (!data_cursor_page(&cursor, h->slot_offset + page_ofs)) {
            continue;
        }
        for (uint32_t i = 0; i < OOR_SLOTS_PER_PAGE; i++) {
            uint32_t slot = page * OOR_SLOTS_PER_PAGE + i;
            const struct oor_slot_hdr *sh = (const struct oor_slot_hdr *)
                (slots + page_ofs + i * OOR_SLOT_SIZE);

            error = check_slot(sh, slot, gens[1 + page], check);
            if (error) {
                if (!r) {
                    return error;
                }
                recover_slot(r, slot, error, check, &n_resealed, &n_dropped);
                free(error);
            }
        }
    }
    if (n_resealed || n_dropped) {
        VLOG_WARN("%s: recovered: %"PRIu32" slots resealed, %"PRIu32
                  " dropped", r->path, n_resealed, n_dropped);
    }
    return NULL;
}

char *
state_region_check(const void *region, size_t len,
                   state_region_slot_check_func *check)
{
    return check_region__(region, len, check, NULL);
}

/* The checks of an image's shape that need only its header page and its
 * length: a file can be refused before it is read in. */
static char *
check_image_shape(const struct oor_header *h, size_t len)
{
    if (len < OOR_PAGE_SIZE) {
        return xasprintf("image truncated: %"PRIuSIZE" bytes, less than the "
                         "%d-byte header page", len, OOR_PAGE_SIZE);
    }

    char *error = state_region_check_header(h, len);
    if (error) {
        return error;
    }

    size_t region_len = (size_t) h->n_pages * OOR_PAGE_SIZE;
    size_t image_len = region_len + sizeof(struct oor_trailer);
    if (len == region_len) {
        return xasprintf("image truncated: %"PRIuSIZE" bytes, trailer "
                         "missing", len);
    } else if (len < image_len) {
        return xasprintf("image truncated: %"PRIuSIZE" bytes, header says "
                         "%"PRIuSIZE, len, image_len);
    } else if (len > image_len) {
        return xasprintf("image too long: %"PRIuSIZE" bytes, header says "
                         "%"PRIuSIZE, len, image_len);
    }
    return NULL;
}

char *
state_image_check(const void *image, size_t len,
                  state_region_slot_check_func *check)
{
    char *error = check_image_shape(image, len);
    if (error) {
        return error;
    }

    size_t region_len = len - sizeof(struct oor_trailer);
    struct oor_trailer t;
    memcpy(&t, (const uint8_t *) image + region_len, sizeof t);
    if (t.magic != OOR_TRAILER_MAGIC) {
        return xasprintf("bad trailer magic 0x%016"PRIx64, t.magic);
    }
    if (t.image_len != region_len) {
        return xasprintf("trailer image_len %"PRIu64", expected %"PRIuSIZE,
                         t.image_len, region_len);
    }
    if (t.pad) {
        return xstrdup("trailer padding not zero");
    }
    if (t.crc != crc32c_hw(image, region_len)) {
        return xstrdup("image checksum mismatch");
    }
    return check_region__(image, region_len, check, NULL);
}

/* The in-memory side. */

static void
set_pointers(struct state_region *r)
{
    r->hdr = (struct oor_header *) r->base;
    r->gens = (uint64_t *) (r->base + r->hdr->gen_offset);
    r->summary = (uint64_t *) (r->base + OOR_SUMMARY_OFFSET);
    r->slots = r->base + r->hdr->slot_offset;
}

/* A region on 'fd', mapped at 'base', whose header has been checked. */
static struct state_region *
region_new(const char *path, int fd, uint8_t *base, size_t size)
{
    struct state_region *r = xzalloc(sizeof *r);

    r->path = xstrdup(path);
    r->fd = fd;
    r->base = base;
    r->size = size;
    set_pointers(r);
    r->n_slots = r->hdr->n_slot_pages * OOR_SLOTS_PER_PAGE;
    r->open_gen = r->hdr->generation + 1;
    r->used = bitmap_allocate(r->n_slots);
    for (int type = 1; type < OOR_N_SLOT_TYPES; type++) {
        r->typed[type] = bitmap_allocate(r->n_slots);
    }
    r->dirty = bitmap_allocate(r->n_slots);
    return r;
}

static void rebuild_free_stack(struct state_region *);

/* Builds the used bitmap and the free stack from the slots, skipping the
 * file's holes. */
static void
index_slots(struct state_region *r)
{
    struct data_cursor cursor;

    data_cursor_init(&cursor, r->fd);
    r->n_used = 0;
    r->hwm = 0;
    for (uint32_t page = 0; page < r->hdr->n_slot_pages; page++) {
        size_t page_ofs = (size_t) page * OOR_PAGE_SIZE;

        if (!data_cursor_page(&cursor, r->hdr->slot_offset + page_ofs)) {
            continue;
        }
        for (uint32_t i = 0; i < OOR_SLOTS_PER_PAGE; i++) {
            const struct oor_slot_hdr *sh = (const struct oor_slot_hdr *)
                (r->slots + page_ofs + i * OOR_SLOT_SIZE);
            if (sh->type != OOR_SLOT_FREE) {
                uint32_t slot = page * OOR_SLOTS_PER_PAGE + i;

                bitmap_set1(r->used, slot);
                if (sh->type < OOR_N_SLOT_TYPES) {
                    bitmap_set1(r->typed[sh->type], slot);
                }
                r->n_used++;
                r->hwm = slot + 1;
            }
        }
    }

    rebuild_free_stack(r);
}

void
state_region_close(struct state_region *r)
{
    if (r) {
        munmap(r->base, r->size);
        close(r->fd);
        free(r->used);
        for (int type = 1; type < OOR_N_SLOT_TYPES; type++) {
            free(r->typed[type]);
        }
        free(r->free_slots);
        free(r->dirty);
        free(r->dirty_slots);
        free(r->path);
        free(r);
    }
}

void
state_region_destroy(struct state_region *r)
{
    if (r) {
        struct stat mine, there;

        /* Unlink only our own file: a replacement may have been renamed
         * over the path since. */
        if (!fstat(r->fd, &mine) && !stat(r->path, &there)
            && mine.st_dev == there.st_dev && mine.st_ino == there.st_ino
            && unlink(r->path)) {
            VLOG_WARN("%s: unlink failed (%s)", r->path,
                      ovs_strerror(errno));
        }
        state_region_close(r);
    }
}

static void
normalize_def(struct oor_vif_def *dst, const struct oor_vif_def *src)
{
    size_t n;

    *dst = *src;
    n = strnlen(dst->iface_id, sizeof dst->iface_id);
    memset(dst->iface_id + n, 0, sizeof dst->iface_id - n);
    memset(dst->pad, 0, sizeof dst->pad);
    if (dst->n_ips <= OOR_MAX_IPS) {
        memset(&dst->ips[dst->n_ips], 0,
               (OOR_MAX_IPS - dst->n_ips) * sizeof dst->ips[0]);
    }
    if (dst->n_allow <= OOR_MAX_ALLOW) {
        for (int i = 0; i < OOR_MAX_ALLOW; i++) {
            if (i < dst->n_allow) {
                dst->allow[i].pad = 0;
            } else {
                memset(&dst->allow[i], 0, sizeof dst->allow[i]);
            }
        }
    }
}

char *
state_region_create(const char *path, const struct oor_vif_def *def,
                    uint32_t min_slots, long long now_ms,
                    struct state_region **rp)
{
    struct oor_vif_def vif;
    char *error;

    *rp = NULL;
    normalize_def(&vif, def);
    error = state_region_check_def(&vif);
    if (error) {
        char *s = xasprintf("%s: bad VIF definition: %s", path, error);
        free(error);
        return s;
    }

    uint64_t n_slot_pages = MAX(1, DIV_ROUND_UP((uint64_t) min_slots,
                                                OOR_SLOTS_PER_PAGE));
    if (n_slot_pages > OOR_MAX_SLOT_PAGES) {
        return xasprintf("%s: %"PRIu32" slots exceed the maximum %"PRIu64,
                         path, min_slots,
                         (uint64_t) OOR_MAX_SLOT_PAGES * OOR_SLOTS_PER_PAGE);
    }
    uint32_t n_gen_pages = gen_pages_for(n_slot_pages);
    uint32_t n_pages = 1 + n_gen_pages + n_slot_pages;
    size_t size = (size_t) n_pages * OOR_PAGE_SIZE;

    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        return xasprintf("%s: cannot create state region (%s)",
                         path, ovs_strerror(errno));
    }
    if (ftruncate(fd, size)) {
        error = xasprintf("%s: cannot size state region (%s)",
                          path, ovs_strerror(errno));
        goto error;
    }
    uint8_t *base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED,
                         fd, 0);
    if (base == MAP_FAILED) {
        error = xasprintf("%s: cannot map state region (%s)",
                          path, ovs_strerror(errno));
        goto error;
    }

    struct oor_header *h = (struct oor_header *) base;
    h->magic = OOR_MAGIC;
    h->version = OOR_VERSION;
    h->page_size = OOR_PAGE_SIZE;
    h->slot_size = OOR_SLOT_SIZE;
    h->n_pages = n_pages;
    h->n_gen_pages = n_gen_pages;
    h->n_slot_pages = n_slot_pages;
    h->gen_offset = OOR_PAGE_SIZE;
    h->slot_offset = (1 + n_gen_pages) * OOR_PAGE_SIZE;
    h->flags = 0;
    h->vif = vif;
    h->header_crc = header_crc(h);

    /* Every page of a new region is new as of generation 1. */
    uint64_t *gens = (uint64_t *) (base + OOR_PAGE_SIZE);
    for (uint32_t i = 0; i <= n_slot_pages; i++) {
        gens[i] = 1;
    }
    summarize(h, gens, (uint64_t *) (base + OOR_SUMMARY_OFFSET));
    h->clock_ms = now_ms;
    h->generation = 1;

    *rp = region_new(path, fd, base, size);
    return NULL;

error:
    close(fd);
    unlink(path);
    return error;
}

/* Maps 'fd', of 'size' bytes, for the region at 'path'. */
static char *
map_file(const char *path, int fd, size_t size, uint8_t **basep)
{
    *basep = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (*basep == MAP_FAILED) {
        *basep = NULL;
        return xasprintf("%s: cannot map state region (%s)",
                         path, ovs_strerror(errno));
    }
    return NULL;
}

/* A file longer than its header says, with only zeros past the end, is what
 * growth in place leaves if it is killed between extending the file and
 * writing the header.  Cuts it back. */
static char *
trim_interrupted_growth(const char *path, int fd, uint8_t **basep,
                        size_t *sizep)
{
    const struct oor_header *h = (const struct oor_header *) *basep;
    size_t want = (size_t) h->n_pages * OOR_PAGE_SIZE;
    struct data_cursor cursor;

    if (*sizep <= want) {
        return NULL;
    }
    data_cursor_init(&cursor, fd);
    for (size_t ofs = want; ofs < *sizep; ofs += OOR_PAGE_SIZE) {
        if (data_cursor_page(&cursor, ofs)
            && !is_all_zeros(*basep + ofs, MIN(OOR_PAGE_SIZE, *sizep - ofs))) {
            return xasprintf("%s: region too long: %"PRIuSIZE" bytes, header "
                             "says %"PRIuSIZE, path, *sizep, want);
        }
    }
    VLOG_WARN("%s: %"PRIuSIZE" zero bytes past the region's end, left by an "
              "interrupted growth: truncating", path, *sizep - want);

    void *p = mremap(*basep, *sizep, want, 0);
    if (p == MAP_FAILED) {
        return xasprintf("%s: cannot remap state region (%s)",
                         path, ovs_strerror(errno));
    }
    *basep = p;
    *sizep = want;
    if (ftruncate(fd, want)) {
        return xasprintf("%s: cannot truncate state region (%s)",
                         path, ovs_strerror(errno));
    }
    return NULL;
}

char *
state_region_open(const char *path, state_region_slot_check_func *check,
                  struct state_region **rp)
{
    struct state_region *r = NULL;
    uint8_t *base = NULL;
    size_t size = 0;
    struct stat st;
    char *error;
    int fd;

    *rp = NULL;
    fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        return xasprintf("%s: cannot open state region (%s)",
                         path, ovs_strerror(errno));
    }
    if (fstat(fd, &st)) {
        error = xasprintf("%s: cannot stat state region (%s)",
                          path, ovs_strerror(errno));
        goto error;
    }
    if (!S_ISREG(st.st_mode)) {
        error = xasprintf("%s: not a regular file", path);
        goto error;
    }
    if (st.st_size < OOR_PAGE_SIZE) {
        error = xasprintf("%s: region truncated: %jd bytes, less than the "
                          "%d-byte header page", path, (intmax_t) st.st_size,
                          OOR_PAGE_SIZE);
        goto error;
    }
    if ((uint64_t) st.st_size > MAX_REGION_SIZE) {
        error = xasprintf("%s: region too large: %jd bytes, the maximum is "
                          "%"PRIu64, path, (intmax_t) st.st_size,
                          MAX_REGION_SIZE);
        goto error;
    }
    size = st.st_size;
    error = map_file(path, fd, size, &base);
    if (error) {
        goto error;
    }

    error = state_region_check_header((const struct oor_header *) base,
                                      size);
    if (!error) {
        error = trim_interrupted_growth(path, fd, &base, &size);
        if (error) {
            goto error;
        }
    }
    if (!error) {
        r = region_new(path, fd, base, size);
        error = check_region__(base, size, check, r);
    }
    if (error) {
        char *s = xasprintf("%s: %s", path, error);
        free(error);
        error = s;
        goto error;
    }

    index_slots(r);
    if (r->changed) {
        seal__(r, r->hdr->clock_ms);
    }
    *rp = r;
    return NULL;

error:
    if (r) {
        state_region_close(r);
    } else {
        if (base) {
            munmap(base, size);
        }
        close(fd);
    }
    return error;
}

const char *
state_region_path(const struct state_region *r)
{
    return r->path;
}

const struct oor_header *
state_region_header(const struct state_region *r)
{
    return r->hdr;
}

const uint64_t *
state_region_gens(const struct state_region *r)
{
    return r->gens;
}

const void *
state_region_base(const struct state_region *r)
{
    return r->base;
}

size_t
state_region_size(const struct state_region *r)
{
    return r->size;
}

void
state_region_set_def(struct state_region *r, const struct oor_vif_def *def)
{
    struct oor_vif_def vif;
    char *error;

    normalize_def(&vif, def);
    error = state_region_check_def(&vif);
    if (error) {
        /* A caller's bug: a region that no reader would accept. */
        VLOG_FATAL("%s: bad VIF definition: %s", r->path, error);
    }
    r->hdr->vif = vif;
    r->hdr->header_crc = header_crc(r->hdr);
    raise_gen(r, 0);
    r->changed = true;
}

/* Slots. */

uint32_t
state_region_n_slots(const struct state_region *r)
{
    return r->n_slots;
}

uint32_t
state_region_n_used(const struct state_region *r)
{
    return r->n_used;
}

static struct oor_slot_hdr *
slot_hdr(const struct state_region *r, uint32_t slot)
{
    return (struct oor_slot_hdr *) (r->slots + (size_t) slot * OOR_SLOT_SIZE);
}

static void
mark_dirty(struct state_region *r, uint32_t slot)
{
    raise_gen(r, 1 + slot / OOR_SLOTS_PER_PAGE);
    r->changed = true;
    if (!bitmap_is_set(r->dirty, slot)) {
        bitmap_set1(r->dirty, slot);
        if (r->n_dirty >= r->allocated_dirty) {
            r->dirty_slots = x2nrealloc(r->dirty_slots, &r->allocated_dirty,
                                        sizeof *r->dirty_slots);
        }
        r->dirty_slots[r->n_dirty++] = slot;
    }
}

static unsigned long *
bitmap_grow(unsigned long *b, size_t old_bits, size_t new_bits)
{
    size_t old_bytes = bitmap_n_bytes(old_bits);
    size_t new_bytes = bitmap_n_bytes(new_bits);

    b = xrealloc(b, new_bytes);
    memset((char *) b + old_bytes, 0, new_bytes - old_bytes);
    return b;
}

/* Gives the new slot pages, old_s up to the header's, the open generation,
 * and publishes the new size in the header. */
static void
finish_growth(struct state_region *r, uint32_t old_s)
{
    struct oor_header *h = r->hdr;

    for (uint32_t k = old_s; k < h->n_slot_pages; k++) {
        raise_gen(r, 1 + k);
    }
    raise_gen(r, 0);
    r->changed = true;

    size_t n_slots = (size_t) h->n_slot_pages * OOR_SLOTS_PER_PAGE;
    r->used = bitmap_grow(r->used, r->n_slots, n_slots);
    for (int type = 1; type < OOR_N_SLOT_TYPES; type++) {
        r->typed[type] = bitmap_grow(r->typed[type], r->n_slots, n_slots);
    }
    r->dirty = bitmap_grow(r->dirty, r->n_slots, n_slots);
    r->n_slots = n_slots;
}

/* Growth while the generation array covers the new pages: the slot pages
 * stay where they are and the file just gets longer. */
static char *
grow_in_place(struct state_region *r, uint32_t new_s)
{
    struct oor_header *h = r->hdr;
    uint32_t old_s = h->n_slot_pages;
    uint32_t n_pages = 1 + h->n_gen_pages + new_s;
    size_t size = (size_t) n_pages * OOR_PAGE_SIZE;

    if (ftruncate(r->fd, size)) {
        return xasprintf("%s: cannot grow state region to %"PRIuSIZE" bytes "
                         "(%s)", r->path, size, ovs_strerror(errno));
    }

    void *p = mremap(r->base, r->size, size, MREMAP_MAYMOVE);
    if (p == MAP_FAILED) {
        int error = errno;
        ignore(ftruncate(r->fd, r->size));
        return xasprintf("%s: cannot remap state region to %"PRIuSIZE" bytes "
                         "(%s)", r->path, size, ovs_strerror(error));
    }
    r->base = p;
    r->size = size;
    set_pointers(r);
    h = r->hdr;

    h->n_slot_pages = new_s;
    h->n_pages = n_pages;
    h->header_crc = header_crc(h);
    finish_growth(r, old_s);
    return NULL;
}

static char *
pwrite_fully(int fd, const void *p_, size_t n, off_t ofs)
{
    const uint8_t *p = p_;

    while (n) {
        ssize_t retval = pwrite(fd, p, n, ofs);
        if (retval < 0) {
            if (errno == EINTR) {
                continue;
            }
            return xstrdup(ovs_strerror(errno));
        }
        p += retval;
        n -= retval;
        ofs += retval;
    }
    return NULL;
}

/* Growth beyond what the generation array covers: the array grows, so the
 * slot pages move.  Writes the new layout to a file beside the old one and
 * renames it over, so a crash at any point leaves one whole region. */
static char *
relayout(struct state_region *r, uint32_t new_s)
{
    const struct oor_header *oh = r->hdr;
    uint32_t old_s = oh->n_slot_pages;
    uint32_t new_g = gen_pages_for(new_s);
    uint32_t n_pages = 1 + new_g + new_s;
    size_t size = (size_t) n_pages * OOR_PAGE_SIZE;
    char *tmp = temp_name(r->path);
    uint8_t *base = NULL;
    char *error = NULL;

    int fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        error = xasprintf("%s: cannot create (%s)", tmp, ovs_strerror(errno));
        goto exit;
    }
    if (ftruncate(fd, size)) {
        error = xasprintf("%s: cannot size to %"PRIuSIZE" bytes (%s)",
                          tmp, size, ovs_strerror(errno));
        goto exit;
    }
    error = map_file(tmp, fd, size, &base);
    if (error) {
        goto exit;
    }

    /* The header page, the generations and the slot pages in use: the rest
     * is zeros already, and stays a hole. */
    struct oor_header *h = (struct oor_header *) base;
    memcpy(base, r->base, OOR_PAGE_SIZE);
    memcpy(base + OOR_PAGE_SIZE, r->gens, (1 + (size_t) old_s) * 8);
    memcpy(base + (1 + (size_t) new_g) * OOR_PAGE_SIZE, r->slots,
           (size_t) DIV_ROUND_UP(r->hwm, OOR_SLOTS_PER_PAGE) * OOR_PAGE_SIZE);
    h->n_gen_pages = new_g;
    h->n_slot_pages = new_s;
    h->n_pages = n_pages;
    h->slot_offset = (1 + new_g) * OOR_PAGE_SIZE;
    h->header_crc = header_crc(h);
    summarize(h, (const uint64_t *) (base + OOR_PAGE_SIZE),
              (uint64_t *) (base + OOR_SUMMARY_OFFSET));

    if (rename(tmp, r->path)) {
        error = xasprintf("%s: cannot rename to %s (%s)", tmp, r->path,
                          ovs_strerror(errno));
        goto exit;
    }

    munmap(r->base, r->size);
    close(r->fd);
    r->fd = fd;
    r->base = base;
    r->size = size;
    set_pointers(r);
    finish_growth(r, old_s);
    fd = -1;
    base = NULL;

exit:
    if (error) {
        if (base) {
            munmap(base, size);
        }
        if (fd >= 0) {
            close(fd);
            unlink(tmp);
        }
    }
    free(tmp);
    return error;
}

/* Grows the region to at least 'min_s' slot pages, and at least twice its
 * size, in one step. */
static char *
region_grow_to(struct state_region *r, uint32_t min_s)
{
    uint32_t old_s = r->hdr->n_slot_pages;

    if (old_s >= OOR_MAX_SLOT_PAGES || min_s > OOR_MAX_SLOT_PAGES) {
        return xasprintf("%s: state region full: %"PRIu32" slots, the "
                         "maximum", r->path, r->n_slots);
    }

    uint32_t new_s = MIN(MAX((uint64_t) old_s * 2, min_s),
                         OOR_MAX_SLOT_PAGES);
    bool in_place = ((uint64_t) r->hdr->n_gen_pages * OOR_GENS_PER_PAGE
                     >= (uint64_t) 1 + new_s);
    char *error = (in_place ? grow_in_place(r, new_s) : relayout(r, new_s));
    if (!error) {
        VLOG_DBG("%s: grew from %"PRIu32" to %"PRIu32" slot pages%s",
                 r->path, old_s, new_s, in_place ? "" : ", relaid out");
    }
    return error;
}

/* Rebuilds the free stack from the used bitmap, lowest slot on top. */
static void
rebuild_free_stack(struct state_region *r)
{
    r->n_free = 0;
    for (uint32_t slot = r->hwm; slot-- > 0; ) {
        if (!bitmap_is_set(r->used, slot)) {
            if (r->n_free >= r->allocated_free) {
                r->free_slots = x2nrealloc(r->free_slots, &r->allocated_free,
                                           sizeof *r->free_slots);
            }
            r->free_slots[r->n_free++] = slot;
        }
    }
}

/* The free stack may hold slots that state_region_put() has taken since:
 * they are skipped when popped, and the stack is rebuilt before such stale
 * entries could outnumber the slots. */
static void
push_free(struct state_region *r, uint32_t slot)
{
    if (r->n_free >= r->n_slots) {
        rebuild_free_stack(r);
    }
    if (r->n_free >= r->allocated_free) {
        r->free_slots = x2nrealloc(r->free_slots, &r->allocated_free,
                                   sizeof *r->free_slots);
    }
    r->free_slots[r->n_free++] = slot;
}

static bool
pop_free(struct state_region *r, uint32_t *slotp)
{
    while (r->n_free) {
        uint32_t slot = r->free_slots[--r->n_free];

        if (!bitmap_is_set(r->used, slot)) {
            *slotp = slot;
            return true;
        }
    }
    return false;
}

static void
take_slot(struct state_region *r, uint32_t slot, uint16_t type)
{
    struct oor_slot_hdr *sh = slot_hdr(r, slot);

    sh->type = type;
    sh->len = slot_payload_len[type];
    bitmap_set1(r->used, slot);
    bitmap_set1(r->typed[type], slot);
    r->n_used++;
    mark_dirty(r, slot);
}

char *
state_region_alloc(struct state_region *r, uint16_t type, uint32_t *slotp)
{
    uint32_t slot;

    ovs_assert(type != OOR_SLOT_FREE && type < OOR_N_SLOT_TYPES);
    if (!pop_free(r, &slot)) {
        if (r->hwm >= r->n_slots) {
            char *error = region_grow_to(r, 0);
            if (error) {
                *slotp = UINT32_MAX;
                return error;
            }
        }
        slot = r->hwm++;
    }
    take_slot(r, slot, type);
    *slotp = slot;
    return NULL;
}

char *
state_region_put(struct state_region *r, uint32_t slot, uint16_t type,
                 const void *payload)
{
    ovs_assert(type != OOR_SLOT_FREE && type < OOR_N_SLOT_TYPES);
    if (slot >= (uint32_t) OOR_MAX_SLOT_PAGES * OOR_SLOTS_PER_PAGE) {
        return xasprintf("%s: slot %"PRIu32" is beyond the largest region",
                         r->path, slot);
    }
    if (slot >= r->n_slots) {
        char *error = region_grow_to(r, slot / OOR_SLOTS_PER_PAGE + 1);
        if (error) {
            return error;
        }
    }
    ovs_assert(!bitmap_is_set(r->used, slot));

    /* Slots skipped over become free, lowest on top. */
    for (uint32_t k = slot; k-- > r->hwm; ) {
        push_free(r, k);
    }
    r->hwm = MAX(r->hwm, slot + 1);

    take_slot(r, slot, type);
    memcpy(slot_hdr(r, slot) + 1, payload, slot_payload_len[type]);
    return NULL;
}

char *
state_region_reserve(struct state_region *r, uint32_t n_slots)
{
    return (n_slots <= r->n_slots ? NULL
            : region_grow_to(r, DIV_ROUND_UP(n_slots, OOR_SLOTS_PER_PAGE)));
}

void
state_region_free(struct state_region *r, uint32_t slot)
{
    ovs_assert(slot < r->n_slots && bitmap_is_set(r->used, slot));

    struct oor_slot_hdr *sh = slot_hdr(r, slot);
    bitmap_set0(r->typed[sh->type], slot);
    memset(sh, 0, OOR_SLOT_SIZE);
    raise_gen(r, 1 + slot / OOR_SLOTS_PER_PAGE);
    r->changed = true;
    bitmap_set0(r->used, slot);
    r->n_used--;
    push_free(r, slot);
}

const struct oor_slot_hdr *
state_region_slot(const struct state_region *r, uint32_t slot)
{
    ovs_assert(slot < r->n_slots);
    return slot_hdr(r, slot);
}

void *
state_region_slot_mut(struct state_region *r, uint32_t slot)
{
    ovs_assert(slot < r->n_slots);

    struct oor_slot_hdr *sh = slot_hdr(r, slot);
    ovs_assert(sh->type != OOR_SLOT_FREE);
    mark_dirty(r, slot);
    return sh + 1;
}

static void
seal__(struct state_region *r, uint64_t clock_ms)
{
    for (size_t i = 0; i < r->n_dirty; i++) {
        uint32_t slot = r->dirty_slots[i];
        struct oor_slot_hdr *sh = slot_hdr(r, slot);

        bitmap_set0(r->dirty, slot);
        if (sh->type != OOR_SLOT_FREE) {
            sh->version = r->open_gen;
            sh->crc = slot_crc(sh);
        }
    }
    r->n_dirty = 0;

    /* Slots before the generation that vouches for them. */
    atomic_thread_fence(memory_order_release);
    r->hdr->clock_ms = clock_ms;
    r->hdr->generation = r->open_gen;
    r->open_gen++;
    r->changed = false;
}

void
state_region_seal(struct state_region *r, long long now_ms)
{
    if (r->changed) {
        seal__(r, now_ms);
    }
}

bool
state_region_next_used(const struct state_region *r, uint32_t *slot)
{
    size_t start = *slot == UINT32_MAX ? 0 : (size_t) *slot + 1;

    if (start >= r->hwm) {
        return false;
    }

    size_t next = bitmap_scan(r->used, true, start, r->hwm);
    if (next >= r->hwm) {
        return false;
    }
    *slot = next;
    return true;
}

bool
state_region_next_of_type(const struct state_region *r, uint16_t type,
                           uint32_t *slot)
{
    size_t start = *slot == UINT32_MAX ? 0 : (size_t) *slot + 1;

    ovs_assert(type != OOR_SLOT_FREE && type < OOR_N_SLOT_TYPES);
    if (start >= r->hwm) {
        return false;
    }

    size_t next = bitmap_scan(r->typed[type], true, start, r->hwm);
    if (next >= r->hwm) {
        return false;
    }
    *slot = next;
    return true;
}

/* Images. */

char *
state_region_export(struct state_region *r, const char *file,
                    long long now_ms)
{
    struct oor_trailer t;
    size_t n;
    char *error = NULL;
    char *tmp;
    int fd, retval;

    state_region_seal(r, now_ms);
    memset(&t, 0, sizeof t);
    t.magic = OOR_TRAILER_MAGIC;
    t.image_len = r->size;
    t.crc = crc32c_hw(r->base, r->size);

    tmp = temp_name(file);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        error = xasprintf("%s: cannot create (%s)", tmp, ovs_strerror(errno));
        goto exit;
    }
    retval = write_fully(fd, r->base, r->size, &n);
    if (!retval) {
        retval = write_fully(fd, &t, sizeof t, &n);
    }
    if (retval) {
        error = xasprintf("%s: write failed (%s)", tmp, ovs_strerror(retval));
    } else if (close(fd)) {
        error = xasprintf("%s: write failed (%s)", tmp, ovs_strerror(errno));
    } else if (rename(tmp, file)) {
        error = xasprintf("%s: cannot rename to %s (%s)", tmp, file,
                          ovs_strerror(errno));
    }
    if (retval) {
        close(fd);
    }
    if (error) {
        unlink(tmp);
    }

exit:
    free(tmp);
    return error;
}

char *
state_image_read(const char *file, state_region_slot_check_func *check,
                 void **imagep, size_t *lenp)
{
    uint8_t *image = NULL;
    char *error = NULL;
    struct stat st;
    size_t len, n;
    int fd, retval;

    *imagep = NULL;
    *lenp = 0;
    fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return xasprintf("%s: cannot open (%s)", file, ovs_strerror(errno));
    }
    if (fstat(fd, &st)) {
        error = xasprintf("cannot stat (%s)", ovs_strerror(errno));
        goto exit;
    }
    if (!S_ISREG(st.st_mode)) {
        error = xstrdup("not a regular file");
        goto exit;
    }
    if ((uint64_t) st.st_size > MAX_IMAGE_SIZE) {
        error = xasprintf("image too large: %jd bytes, the maximum is %"PRIu64,
                          (intmax_t) st.st_size, (uint64_t) MAX_IMAGE_SIZE);
        goto exit;
    }
    len = st.st_size;

    /* The header page first: the buffer is allocated only for a length that
     * the header agrees with. */
    if (len >= OOR_PAGE_SIZE) {
        uint8_t *page = xmalloc(OOR_PAGE_SIZE);

        retval = read_fully(fd, page, OOR_PAGE_SIZE, &n);
        if (!retval) {
            error = check_image_shape((const struct oor_header *) page, len);
        }
        free(page);
        if (retval) {
            error = xasprintf("read failed (%s)",
                              ovs_retval_to_string(retval));
            goto exit;
        } else if (error) {
            goto exit;
        }
        if (lseek(fd, 0, SEEK_SET)) {
            error = xasprintf("seek failed (%s)", ovs_strerror(errno));
            goto exit;
        }
    }
    image = xmalloc(MAX(len, 1));
    retval = read_fully(fd, image, len, &n);
    if (retval) {
        error = xasprintf("read failed (%s)", ovs_retval_to_string(retval));
        goto exit;
    }
    error = state_image_check(image, len, check);
    if (!error) {
        *imagep = image;
        *lenp = len;
        image = NULL;
    }

exit:
    free(image);
    close(fd);
    if (error) {
        char *s = xasprintf("%s: %s", file, error);
        free(error);
        error = s;
    }
    return error;
}

/* Writes the pages of 'region' that are not all zeros: the rest of the file
 * stays a hole. */
static char *
write_sparse(int fd, const uint8_t *region, size_t len)
{
    size_t ofs = 0;

    while (ofs < len) {
        while (ofs < len && is_all_zeros(region + ofs, OOR_PAGE_SIZE)) {
            ofs += OOR_PAGE_SIZE;
        }

        size_t end = ofs;
        while (end < len && !is_all_zeros(region + end, OOR_PAGE_SIZE)) {
            end += OOR_PAGE_SIZE;
        }
        if (end > ofs) {
            char *error = pwrite_fully(fd, region + ofs, end - ofs, ofs);
            if (error) {
                return error;
            }
        }
        ofs = end;
    }
    return NULL;
}

char *
state_region_create_from_image(const char *path, const void *image,
                               size_t len, struct state_region **rp)
{
    size_t region_len;
    uint8_t *base = NULL;
    char *error;
    char *tmp;
    int fd;

    *rp = NULL;
    if (len >= OOR_PAGE_SIZE && len % OOR_PAGE_SIZE == 0) {
        error = state_region_check(image, len, NULL);
    } else {
        error = state_image_check(image, len, NULL);
    }
    if (error) {
        char *s = xasprintf("%s: %s", path, error);
        free(error);
        return s;
    }
    region_len = ((size_t) ((const struct oor_header *) image)->n_pages
                  * OOR_PAGE_SIZE);

    tmp = temp_name(path);
    fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        error = xasprintf("%s: cannot create (%s)", tmp, ovs_strerror(errno));
        goto exit;
    }
    if (ftruncate(fd, region_len)) {
        error = xasprintf("%s: cannot size to %"PRIuSIZE" bytes (%s)", tmp,
                          region_len, ovs_strerror(errno));
        goto exit;
    }
    error = write_sparse(fd, image, region_len);
    if (error) {
        char *s = xasprintf("%s: write failed (%s)", tmp, error);
        free(error);
        error = s;
        goto exit;
    }
    error = map_file(tmp, fd, region_len, &base);
    if (error) {
        goto exit;
    }
    if (rename(tmp, path)) {
        error = xasprintf("%s: cannot rename to %s (%s)", tmp, path,
                          ovs_strerror(errno));
        goto exit;
    }

    struct state_region *r = region_new(path, fd, base, region_len);
    index_slots(r);
    *rp = r;
    fd = -1;
    base = NULL;

exit:
    if (error) {
        if (base) {
            munmap(base, region_len);
        }
        if (fd >= 0) {
            close(fd);
            unlink(tmp);
        }
    }
    free(tmp);
    return error;
}
