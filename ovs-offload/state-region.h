/*
 * State regions: the provider's floor.  One region holds all of one VIF's
 * offloaded state as fixed-size slots in one shared-memory file, laid out as
 * region-format.h describes, so that a restarted daemon maps the same file and
 * a remote reader can pull pages one-sided.
 *
 * Slots are named by number; numbers stay valid when the region grows, but
 * pointers into the mapping do not: re-fetch them after any allocation.
 *
 * Writers change slots in place and "seal" in batches: state_region_slot_mut()
 * raises the page's generation at once, and state_region_seal() recomputes the
 * checksums of every slot changed since the last seal and closes the
 * generation.  A reader that catches a slot between the two sees a bad
 * checksum and reads it again, as it would for a torn read.
 *
 * Pages that no slot has used yet are never touched by the datapath, the
 * iterators or state_region_open(), so the unused part of a region that grew
 * costs no memory.  (An export or a remote read touches everything.)
 *
 * Not thread-safe: one thread owns a region.
 */
#ifndef OFFLOAD_STATE_REGION_H
#define OFFLOAD_STATE_REGION_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "openvswitch/compiler.h"
#include "region-format.h"

struct state_region;

/* Checks the payload of one used slot of 'type'; returns NULL if it is good,
 * else a malloc'd description of the first fault ("bad tcp state 17").  Every
 * typed module that stores slots provides one; ct-entry.h has the conntrack
 * one. */
typedef char *state_region_slot_check_func(uint16_t type, const void *payload,
                                           size_t len);

/* Opening and closing.
 *
 * state_region_create() makes a new file at 'path' (an existing one is an
 * error) with room for at least 'min_slots' slots, sealed at generation 1.
 * 'def' must pass state_region_check_def() once its padding is ignored:
 * padding, the iface-id's tail and unused addresses and openings are zeroed
 * here.
 *
 * state_region_open() maps an existing file and checks it as
 * state_region_check() does, but recovers what a writer killed between a
 * write and its seal leaves behind: a used slot with a stale checksum whose
 * payload passes 'check' is resealed and kept; a slot that fails is dropped
 * (zeroed) with a warning; page generations above the header's are taken in.
 * A file longer than its header says, with nothing but zeros past the end
 * (growth interrupted), is cut back.  Any other fault in the header or the
 * generation array is an error.  Recovery seals at once, at the header's
 * clock.
 *
 * state_region_close() unmaps without sealing: seal first.
 * state_region_destroy() also unlinks the file, unless 'path' has since been
 * replaced by another file (state_region_create_from_image()). */
char *state_region_create(const char *path, const struct oor_vif_def *,
                          uint32_t min_slots, long long now_ms,
                          struct state_region **)
    OVS_WARN_UNUSED_RESULT;
char *state_region_open(const char *path, state_region_slot_check_func *,
                        struct state_region **)
    OVS_WARN_UNUSED_RESULT;
void state_region_close(struct state_region *);
void state_region_destroy(struct state_region *);   /* Closes and unlinks. */
const char *state_region_path(const struct state_region *);

/* The mapping, for readers and exporters: n_pages * OOR_PAGE_SIZE bytes. */
const struct oor_header *state_region_header(const struct state_region *);
const uint64_t *state_region_gens(const struct state_region *);
const void *state_region_base(const struct state_region *);
size_t state_region_size(const struct state_region *);

/* Replaces the VIF definition, which must pass state_region_check_def()
 * (padding is zeroed, as for create); the header page joins the open
 * generation. */
void state_region_set_def(struct state_region *, const struct oor_vif_def *);

/* Slots.
 *
 * state_region_alloc() takes a free slot, growing the region if there is none
 * (an error only at OOR_MAX_SLOT_PAGES or on a system error), and sets its
 * type and 'len' (the type's payload length, OOR_SLOT_CT_LEN for conntrack);
 * the payload is zero.  It marks the slot changed, so fill the payload through
 * state_region_slot_mut() before the next seal.
 *
 * state_region_slot_mut() returns the payload of a used slot for changing in
 * place.  O(1): it raises the page's generation and notes the slot for the
 * next seal.  state_region_free() zeroes the slot.
 *
 * state_region_seal() checksums the slots changed since the last seal, with
 * the open generation (the header's + 1) as their version, and then publishes
 * that generation and 'now_ms' in the header.  With nothing changed it does
 * nothing. */
/* state_region_put() makes slot number 'slot', which must be free, a used
 * slot of 'type' holding 'payload' (the type's length), growing the region
 * as far as it must: a replica keeps the slot numbers of the region it
 * copies.  Like state_region_alloc(), it marks the slot changed. */
uint32_t state_region_n_slots(const struct state_region *);
uint32_t state_region_n_used(const struct state_region *);
char *state_region_alloc(struct state_region *, uint16_t type, uint32_t *slot)
    OVS_WARN_UNUSED_RESULT;
char *state_region_put(struct state_region *, uint32_t slot, uint16_t type,
                       const void *payload) OVS_WARN_UNUSED_RESULT;
/* Grows the region, in one step, to hold at least 'n_slots' slots. */
char *state_region_reserve(struct state_region *, uint32_t n_slots)
    OVS_WARN_UNUSED_RESULT;
void state_region_free(struct state_region *, uint32_t slot);
const struct oor_slot_hdr *state_region_slot(const struct state_region *,
                                             uint32_t slot);
void *state_region_slot_mut(struct state_region *, uint32_t slot);
void state_region_seal(struct state_region *, long long now_ms);

/* Iterates the used slots of a region, in slot order.  The slot in hand may
 * be freed while iterating. */
bool state_region_next_used(const struct state_region *, uint32_t *slot);
#define STATE_REGION_FOR_EACH_USED(SLOT, REGION)                        \
    for ((SLOT) = UINT32_MAX; state_region_next_used(REGION, &(SLOT)); )

/* The same for the used slots of one type only, at a cost that follows the
 * number of such slots rather than the region's size. */
bool state_region_next_of_type(const struct state_region *, uint16_t type,
                               uint32_t *slot);
#define STATE_REGION_FOR_EACH_OF_TYPE(SLOT, TYPE, REGION)               \
    for ((SLOT) = UINT32_MAX;                                           \
         state_region_next_of_type(REGION, TYPE, &(SLOT)); )

/* The one validator, for image files and for pulled pages alike.  Each
 * returns NULL if all is well, else a malloc'd message naming the first
 * fault.  schemas/state-image.md lists the rules.
 *
 * state_region_check_header() needs the whole header page: 'avail' is how
 * many bytes are readable at the header.  state_region_check() checks the
 * bare region pages (as pulled), state_image_check() an image file's bytes
 * (the region and its trailer).  The slot check function may be NULL to skip
 * the payloads.  state_region_check_def() checks a VIF definition alone. */
char *state_region_check_header(const struct oor_header *, size_t avail)
    OVS_WARN_UNUSED_RESULT;
char *state_region_check_def(const struct oor_vif_def *)
    OVS_WARN_UNUSED_RESULT;
/* Checks one slot, numbered 'slot', of a page whose generation is
 * 'page_gen', as state_region_check() checks each: a free slot must be all
 * zeros, a used one must match its checksum, its version must not pass
 * 'page_gen', and its payload must pass 'check' (if nonnull).  Sets
 * '*torn' to whether the fault is a checksum mismatch, which a slot read
 * while its writer changed it shows too. */
char *state_region_check_slot(const struct oor_slot_hdr *, uint32_t slot,
                              uint64_t page_gen,
                              state_region_slot_check_func *, bool *torn)
    OVS_WARN_UNUSED_RESULT;
char *state_region_check(const void *region, size_t len,
                         state_region_slot_check_func *)
    OVS_WARN_UNUSED_RESULT;
char *state_image_check(const void *image, size_t len,
                        state_region_slot_check_func *)
    OVS_WARN_UNUSED_RESULT;

/* Images.
 *
 * state_region_export() seals the region at 'now_ms' and writes its image to
 * 'file', atomically (a temporary file beside it, then rename).
 *
 * state_image_read() reads and fully checks the image in 'file'; the caller
 * frees '*image'.  A file larger than the largest possible image is refused
 * before anything is read, and the buffer is only allocated once the header
 * agrees with the file's size.  Errors start with the file name.
 *
 * state_region_create_from_image() makes the region at 'path' from 'image',
 * which is either an image (as state_image_read() returns) or the bare region
 * pages (as a transfer pulls them; a whole number of pages).  It checks the
 * structure and every checksum first (the payloads are the caller's to check,
 * with state_image_check() or state_region_check()), writes a temporary file
 * beside 'path' and renames it over 'path': an existing region file there
 * stays intact until the rename, and a region still open on it keeps a valid
 * mapping of the old file.
 *
 * Temporary files are named ".NAME.tmp" beside their target; a crash may leave
 * one behind, which the next operation on the same target overwrites. */
char *state_region_export(struct state_region *, const char *file,
                          long long now_ms) OVS_WARN_UNUSED_RESULT;
char *state_image_read(const char *file, state_region_slot_check_func *,
                       void **image, size_t *len) OVS_WARN_UNUSED_RESULT;
char *state_region_create_from_image(const char *path, const void *image,
                                     size_t len, struct state_region **)
    OVS_WARN_UNUSED_RESULT;

#endif /* state-region.h */
