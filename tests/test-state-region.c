/*
 * Tests for state regions and images (tests/state-region.at drives them).
 *
 * The slots hold a test payload of type OOR_SLOT_CT, not a conntrack entry:
 * a 32-bit key and then a pattern derived from it, which test_check() checks,
 * so that this test does not depend on the conntrack code.
 *
 * The mutations below recompute checksums by the rules of
 * schemas/state-image.md, on their own, so that a corrupt case reaches the
 * check it aims at, and so that the documented rules are tested too.
 */
#include <config.h>
#undef NDEBUG
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "command-line.h"
#include "crc32c.h"
#include "openvswitch/dynamic-string.h"
#include "openvswitch/vlog.h"
#include "ovstest.h"
#include "test-common.h"
#include "socket-util.h"
#include "state-region.h"
#include "util.h"

/* The test payload. */

static uint8_t
pattern_byte(uint32_t key, size_t i)
{
    return (key * 31 + i * 7 + 1) & 0xff;
}

static void
fill_payload(void *payload, uint32_t key)
{
    uint8_t *p = payload;

    memcpy(p, &key, sizeof key);
    for (size_t i = sizeof key; i < OOR_SLOT_CT_LEN; i++) {
        p[i] = pattern_byte(key, i);
    }
}

static uint32_t
payload_key(const void *payload)
{
    uint32_t key;

    memcpy(&key, payload, sizeof key);
    return key;
}

static char *
test_check(uint16_t type, const void *payload, size_t len)
{
    const uint8_t *p = payload;
    uint32_t key = payload_key(payload);

    if (type != OOR_SLOT_CT) {
        return xasprintf("unexpected type %"PRIu16, type);
    }
    if (len != OOR_SLOT_CT_LEN) {
        return xasprintf("length %"PRIuSIZE", expected %d", len,
                         OOR_SLOT_CT_LEN);
    }
    for (size_t i = sizeof key; i < len; i++) {
        if (p[i] != pattern_byte(key, i)) {
            return xasprintf("byte %"PRIuSIZE" is 0x%02x, expected 0x%02x",
                             i, p[i], pattern_byte(key, i));
        }
    }
    return NULL;
}

/* Helpers. */

static void
check_ok(char *error)
{
    if (error) {
        ovs_fatal(0, "%s", error);
    }
}

static void
test_def(struct oor_vif_def *def, const char *iface_id)
{
    memset(def, 0, sizeof *def);
    ovs_strlcpy(def->iface_id, iface_id, sizeof def->iface_id);
    memcpy(def->mac, "\x02\x00\x00\x00\x00\x01", 6);
    def->policy = OOR_POLICY_STATEFUL;
    def->n_ips = 1;
    def->ips[0].s6_addr[10] = 0xff;
    def->ips[0].s6_addr[11] = 0xff;
    def->ips[0].s6_addr[12] = 10;
    def->ips[0].s6_addr[15] = 1;
    def->n_allow = 1;
    def->allow[0].proto = IPPROTO_TCP;
    def->allow[0].port = 22;
    def->cookie = 0x1234;
}

static struct state_region *
create_region(const char *path, uint32_t min_slots, long long now)
{
    struct oor_vif_def def;
    struct state_region *r;

    test_def(&def, "vif-test");
    check_ok(state_region_create(path, &def, min_slots, now, &r));
    return r;
}

static uint32_t
alloc_slot(struct state_region *r, uint32_t key)
{
    uint32_t slot;

    check_ok(state_region_alloc(r, OOR_SLOT_CT, &slot));
    fill_payload(state_region_slot_mut(r, slot), key);
    return slot;
}

static uint32_t
slot_key(const struct state_region *r, uint32_t slot)
{
    return payload_key(state_region_slot(r, slot) + 1);
}

static void
print_error(const char *what, char *error)
{
    printf("%s: %s\n", what, error ? error : "ok");
    free(error);
}

static void
put_range(struct ds *s, uint32_t first, uint32_t last)
{
    if (s->length) {
        ds_put_char(s, ',');
    }
    ds_put_format(s, "%"PRIu32, first);
    if (last > first) {
        ds_put_format(s, "-%"PRIu32, last);
    }
}

/* Appends "0-2,4-19" style ranges of the used slots of 'r'. */
static void
format_used(struct ds *s, const struct state_region *r)
{
    uint32_t slot, first = UINT32_MAX, last = UINT32_MAX;

    STATE_REGION_FOR_EACH_USED (slot, r) {
        if (first != UINT32_MAX && slot == last + 1) {
            last = slot;
            continue;
        }
        if (first != UINT32_MAX) {
            put_range(s, first, last);
        }
        first = last = slot;
    }
    if (first != UINT32_MAX) {
        put_range(s, first, last);
    } else {
        ds_put_cstr(s, "none");
    }
}

static void
print_used(const char *what, const struct state_region *r)
{
    struct ds s = DS_EMPTY_INITIALIZER;

    format_used(&s, r);
    printf("%s: %s\n", what, ds_cstr(&s));
    ds_destroy(&s);
}

static void
write_file(const char *file, const void *data, size_t len)
{
    size_t n;
    int fd;

    fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || write_fully(fd, data, len, &n) || close(fd)) {
        ovs_fatal(errno, "%s", file);
    }
}

static void
setup_log(void)
{
    vlog_set_levels(NULL, VLF_ANY_DESTINATION, VLL_OFF);
    vlog_set_levels(vlog_module_from_name("state_region"), VLF_CONSOLE,
                    VLL_INFO);
    vlog_set_pattern(VLF_CONSOLE, "%c|%p|%m");
}

/* "basic": create, write, seal, reopen. */

static void
test_basic(struct ovs_cmdl_context *ctx OVS_UNUSED)
{
    struct state_region *r;
    uint64_t gen;
    uint32_t slot;
    char *error;

    setup_log();
    unlink("r");
    r = create_region("r", 40, 500);
    printf("created: %"PRIu32" slots, %"PRIu32" slot pages, generation %"
           PRIu64"\n", state_region_n_slots(r),
           state_region_header(r)->n_slot_pages,
           state_region_header(r)->generation);

    struct state_region *r2;
    error = state_region_create("r", &state_region_header(r)->vif, 1, 0,
                                &r2);
    print_error("create again", error);

    for (uint32_t i = 0; i < 40; i++) {
        slot = alloc_slot(r, i + 1);
        ovs_assert(slot == i);
    }
    /* Unsealed: a reader sees the new generation on the pages and stale
     * checksums in the slots. */
    print_error("check before seal",
                state_region_check(state_region_base(r), state_region_size(r),
                                   test_check));
    state_region_seal(r, 1000);
    print_error("check after seal",
                state_region_check(state_region_base(r), state_region_size(r),
                                   test_check));
    gen = state_region_header(r)->generation;
    printf("sealed: generation %"PRIu64", clock %"PRIu64", %"PRIu32" used\n",
           gen, state_region_header(r)->clock_ms, state_region_n_used(r));

    /* Sealing again with nothing changed does nothing. */
    state_region_seal(r, 1500);
    printf("sealed again: generation %"PRIu64", clock %"PRIu64"\n",
           state_region_header(r)->generation,
           state_region_header(r)->clock_ms);

    /* Free two, and the next allocations reuse them. */
    state_region_free(r, 5);
    state_region_free(r, 17);
    ovs_assert(is_all_zeros(state_region_slot(r, 5), OOR_SLOT_SIZE));
    print_used("after free", r);
    state_region_seal(r, 2000);
    slot = alloc_slot(r, 1017);
    printf("reused: %"PRIu32"\n", slot);
    slot = alloc_slot(r, 1005);
    printf("reused: %"PRIu32"\n", slot);
    slot = alloc_slot(r, 41);
    printf("new: %"PRIu32"\n", slot);
    fill_payload(state_region_slot_mut(r, 2), 1002);
    state_region_seal(r, 3000);
    state_region_close(r);

    check_ok(state_region_open("r", test_check, &r));
    print_used("reopened", r);
    STATE_REGION_FOR_EACH_USED (slot, r) {
        uint32_t key = slot_key(r, slot);
        if (key != slot + 1) {
            printf("slot %"PRIu32": key %"PRIu32"\n", slot, key);
        }
    }
    printf("reopened: generation %"PRIu64", clock %"PRIu64", %"PRIu32
           " used\n", state_region_header(r)->generation,
           state_region_header(r)->clock_ms, state_region_n_used(r));

    /* Freeing while iterating. */
    STATE_REGION_FOR_EACH_USED (slot, r) {
        if (slot % 2) {
            state_region_free(r, slot);
        }
    }
    print_used("odd ones freed", r);
    state_region_destroy(r);
    printf("destroyed: %s\n", access("r", F_OK) ? "gone" : "still there");

    error = state_region_open("r", test_check, &r);
    print_error("open missing", error);

    struct oor_vif_def def;
    test_def(&def, "bad/id");
    print_error("bad definition",
                state_region_create("r", &def, 1, 0, &r));
    test_def(&def, "vif");
    print_error("too many slots",
                state_region_create("r", &def, UINT32_MAX, 0, &r));
}

/* "write PATH N": a region with N slots, keys slot + 1. */
static void
test_write(struct ovs_cmdl_context *ctx)
{
    const char *path = ctx->argv[1];
    uint32_t n = atoi(ctx->argv[2]);
    struct state_region *r;

    r = create_region(path, n, 500);
    for (uint32_t i = 0; i < n; i++) {
        alloc_slot(r, i + 1);
    }
    state_region_seal(r, 1000);
    printf("wrote %"PRIu32" slots, generation %"PRIu64"\n", n,
           state_region_header(r)->generation);
    state_region_close(r);
}

/* "crash PATH MODE [SLOT]": opens PATH, changes it without sealing and is
 * killed by SIGKILL, or for "inproc", unmaps and opens it again itself. */
static void
test_crash(struct ovs_cmdl_context *ctx)
{
    const char *path = ctx->argv[1];
    const char *mode = ctx->argv[2];
    uint32_t slot = ctx->argc > 3 ? atoi(ctx->argv[3]) : 0;
    struct state_region *r;

    setup_log();
    check_ok(state_region_open(path, test_check, &r));
    if (!strcmp(mode, "rewrite") || !strcmp(mode, "inproc")) {
        fill_payload(state_region_slot_mut(r, slot), slot + 5000);
    } else if (!strcmp(mode, "garbage")) {
        memset(state_region_slot_mut(r, slot), 0x5a, 16);
    } else if (!strcmp(mode, "alloc")) {
        alloc_slot(r, state_region_n_used(r) + 1);
    } else if (!strcmp(mode, "alloc-empty")) {
        check_ok(state_region_alloc(r, OOR_SLOT_CT, &slot));
    } else if (!strcmp(mode, "free")) {
        state_region_free(r, slot);
    } else {
        ovs_fatal(0, "%s: unknown mode", mode);
    }
    if (!strcmp(mode, "inproc")) {
        state_region_close(r);
        check_ok(state_region_open(path, test_check, &r));
        printf("slot %"PRIu32": key %"PRIu32"\n", slot, slot_key(r, slot));
        state_region_close(r);
        return;
    }
    fflush(stdout);
    raise(SIGKILL);
}

/* "verify PATH": opens PATH (recovering it) and prints what it holds. */
static void
test_verify(struct ovs_cmdl_context *ctx)
{
    const char *path = ctx->argv[1];
    struct state_region *r;
    struct ds keys = DS_EMPTY_INITIALIZER;
    uint32_t slot;

    setup_log();
    char *error = state_region_open(path, test_check, &r);
    if (error) {
        printf("open: %s\n", error);
        free(error);
        return;
    }
    print_used("used", r);
    STATE_REGION_FOR_EACH_USED (slot, r) {
        uint32_t key = slot_key(r, slot);
        if (key != slot + 1) {
            ds_put_format(&keys, " %"PRIu32"=%"PRIu32, slot, key);
        }
    }
    printf("changed keys:%s\n", keys.length ? ds_cstr(&keys) : " none");
    ds_destroy(&keys);
    printf("generation %"PRIu64", clock %"PRIu64"\n",
           state_region_header(r)->generation,
           state_region_header(r)->clock_ms);
    print_error("check",
                state_region_check(state_region_base(r), state_region_size(r),
                                   test_check));
    state_region_close(r);
}

/* "check-file PATH": the strict validator on the bare region in PATH. */
static void
test_check_file(struct ovs_cmdl_context *ctx)
{
    size_t len;
    uint8_t *buf = test_read_file(ctx->argv[1], &len);

    print_error("check", state_region_check(buf, len, test_check));
    free(buf);
}

/* "poke FILE OFFSET BYTE" and "extend FILE BYTES". */
static void
test_poke(struct ovs_cmdl_context *ctx)
{
    uint8_t byte = strtoul(ctx->argv[3], NULL, 0);
    int fd = open(ctx->argv[1], O_WRONLY);

    if (fd < 0 || pwrite(fd, &byte, 1, atoll(ctx->argv[2])) != 1) {
        ovs_fatal(errno, "%s", ctx->argv[1]);
    }
    close(fd);
}

static void
test_extend(struct ovs_cmdl_context *ctx)
{
    struct stat st;
    int fd = open(ctx->argv[1], O_WRONLY);

    if (fd < 0 || fstat(fd, &st)
        || ftruncate(fd, st.st_size + atoll(ctx->argv[2]))) {
        ovs_fatal(errno, "%s", ctx->argv[1]);
    }
    close(fd);
}

/* "grow": growth in place and by relayout keeps slot numbers, contents and
 * page generations. */
static void
test_grow(struct ovs_cmdl_context *ctx OVS_UNUSED)
{
    struct state_region *r;
    uint32_t n = 0;

    setup_log();
    unlink("g");
    r = create_region("g", 1, 500);
    while (state_region_header(r)->n_slot_pages < 1024) {
        uint32_t slot;

        /* Fill to the brim, sealing now and then so the pages have
         * different generations. */
        while (n < state_region_n_slots(r)) {
            slot = alloc_slot(r, n + 1);
            ovs_assert(slot == n);
            n++;
            if (n % 100 == 0) {
                state_region_seal(r, 1000 + n);
            }
        }
        const struct oor_header full = *state_region_header(r);
        uint64_t *old_gens = xmemdup(state_region_gens(r),
                                     (1 + full.n_slot_pages) * 8);

        /* One more grows it. */
        slot = alloc_slot(r, n + 1);
        ovs_assert(slot == n);
        n++;

        const struct oor_header *h = state_region_header(r);
        printf("slot pages %"PRIu32" -> %"PRIu32, full.n_slot_pages,
               h->n_slot_pages);
        if (h->slot_offset != full.slot_offset) {
            printf(", relaid out: gen pages %"PRIu32" -> %"PRIu32
                   ", slot_offset %"PRIu32" -> %"PRIu32,
                   full.n_gen_pages, h->n_gen_pages, full.slot_offset,
                   h->slot_offset);
        } else {
            printf(", in place");
        }
        printf("\n");

        /* Contents and the old pages' generations stay; the new pages and
         * the header page are in the open generation. */
        for (uint32_t s = 0; s < n; s++) {
            ovs_assert(slot_key(r, s) == s + 1);
            ovs_assert(!test_check(OOR_SLOT_CT, state_region_slot(r, s) + 1,
                                   state_region_slot(r, s)->len));
        }
        const uint64_t *gens = state_region_gens(r);
        for (uint32_t k = 0; k < full.n_slot_pages; k++) {
            ovs_assert(gens[1 + k] == old_gens[1 + k]);
        }
        for (uint32_t k = full.n_slot_pages; k < h->n_slot_pages; k++) {
            ovs_assert(gens[1 + k] == h->generation + 1);
        }
        ovs_assert(gens[0] == h->generation + 1);
        ovs_assert(h->n_pages * (size_t) OOR_PAGE_SIZE
                   == state_region_size(r));
        free(old_gens);

        state_region_seal(r, 1000 + n);
        check_ok(state_region_check(state_region_base(r),
                                    state_region_size(r), test_check));
    }
    state_region_close(r);

    struct stat st;
    check_ok(state_region_open("g", test_check, &r));
    ovs_assert(!stat("g", &st) && st.st_size == state_region_size(r));
    for (uint32_t s = 0; s < n; s++) {
        ovs_assert(slot_key(r, s) == s + 1);
    }
    printf("reopened: %"PRIu32" used of %"PRIu32", keys intact\n",
           state_region_n_used(r), state_region_n_slots(r));
    state_region_destroy(r);
}

/* "sparse PATH": pages never used stay holes in the file, through growth,
 * relayout and reopening.  On tmpfs (as in /dev/shm) merely reading a hole
 * through a mapping allocates it. */
static void
test_sparse(struct ovs_cmdl_context *ctx)
{
    const char *path = ctx->argv[1];
    struct state_region *r;
    struct stat st;

    unlink(path);
    r = create_region(path, 16, 500);
    for (uint32_t i = 0; i < 20000; i++) {
        alloc_slot(r, i + 1);
    }
    state_region_seal(r, 1000);

    /* 20000 slots take 1250 pages; the region has room for 32768. */
    const struct oor_header *h = state_region_header(r);
    uint64_t need = (1 + h->n_gen_pages + 1250) * (uint64_t) OOR_PAGE_SIZE;
    printf("%"PRIu32" slot pages, %"PRIu32" gen pages\n", h->n_slot_pages,
           h->n_gen_pages);
    ovs_assert(!stat(path, &st));
    if (st.st_blocks * 512 > need + 64 * 1024) {
        ovs_fatal(0, "%jd bytes allocated, expected about %"PRIu64,
                  (intmax_t) st.st_blocks * 512, need);
    }
    state_region_close(r);

    check_ok(state_region_open(path, test_check, &r));
    ovs_assert(state_region_n_used(r) == 20000);
    ovs_assert(!stat(path, &st));
    if (st.st_blocks * 512 > need + 64 * 1024) {
        ovs_fatal(0, "after open: %jd bytes allocated, expected about %"
                  PRIu64, (intmax_t) st.st_blocks * 512, need);
    }
    printf("allocated: within the pages in use, before and after reopening\n");
    state_region_destroy(r);
}

/* "changed": the writer raises the generation of exactly the pages it
 * wrote after a generation, as a reader of the live array or of a copy sees
 * them. */
static void
print_changed(const char *what, const uint64_t *gens, uint32_t n_gens,
              uint64_t since)
{
    printf("%s (since %"PRIu64"):", what, since);
    for (uint32_t page = 0; page < n_gens; page++) {
        if (gens[page] > since) {
            printf(" %"PRIu32, page);
        }
    }
    printf("\n");
}

static void
test_changed(struct ovs_cmdl_context *ctx OVS_UNUSED)
{
    struct state_region *r;
    uint64_t g1, g2, g3;

    unlink("c");
    r = create_region("c", 8 * OOR_SLOTS_PER_PAGE, 500);
    uint32_t n_gens = 1 + state_region_header(r)->n_slot_pages;
    for (uint32_t i = 0; i < 8 * OOR_SLOTS_PER_PAGE; i++) {
        alloc_slot(r, i + 1);
    }
    state_region_seal(r, 1000);
    g1 = state_region_header(r)->generation;
    print_changed("all", state_region_gens(r), n_gens, 0);

    /* Slots 20 and 21 are on slot page 1 (gen[2]), 100 on 6 (gen[7]), 127
     * on 7 (gen[8]). */
    fill_payload(state_region_slot_mut(r, 20), 7020);
    fill_payload(state_region_slot_mut(r, 21), 7021);
    fill_payload(state_region_slot_mut(r, 100), 7100);
    state_region_free(r, 127);
    print_changed("open", state_region_gens(r), n_gens, g1);
    state_region_seal(r, 2000);
    g2 = state_region_header(r)->generation;
    print_changed("written", state_region_gens(r), n_gens, g1);
    print_changed("none", state_region_gens(r), n_gens, g2);

    /* A pulled copy of the array works the same. */
    uint64_t *copy = xmemdup(state_region_gens(r), n_gens * sizeof *copy);
    print_changed("copy", copy, n_gens, g1);

    /* The definition is on the header page. */
    struct oor_vif_def def = state_region_header(r)->vif;
    def.policy = OOR_POLICY_LOOSE;
    state_region_set_def(r, &def);
    fill_payload(state_region_slot_mut(r, 0), 7000);
    state_region_seal(r, 3000);
    g3 = state_region_header(r)->generation;
    print_changed("definition", state_region_gens(r), n_gens, g2);
    print_changed("copy, stale", copy, n_gens, g2);
    printf("generations %"PRIu64" %"PRIu64" %"PRIu64"\n", g1, g2, g3);
    check_ok(state_region_check(state_region_base(r), state_region_size(r),
                                test_check));
    free(copy);
    state_region_destroy(r);
}

/* "image": export, read, create_from_image. */

static bool
regions_equal(const struct state_region *a, const struct state_region *b)
{
    return (state_region_size(a) == state_region_size(b)
            && !memcmp(state_region_base(a), state_region_base(b),
                       state_region_size(a)));
}

static bool
slots_equal(const struct state_region *a, const struct state_region *b)
{
    uint32_t sa = UINT32_MAX, sb = UINT32_MAX;

    for (;;) {
        bool more_a = state_region_next_used(a, &sa);
        bool more_b = state_region_next_used(b, &sb);

        if (more_a != more_b) {
            return false;
        } else if (!more_a) {
            return true;
        } else if (sa != sb
                   || memcmp(state_region_slot(a, sa),
                             state_region_slot(b, sb), OOR_SLOT_SIZE)) {
            return false;
        }
    }
}

static void
print_temp_files(void)
{
    DIR *dir = opendir(".");
    struct dirent *de;
    int n = 0;

    while ((de = readdir(dir)) != NULL) {
        size_t len = strlen(de->d_name);
        if (len > 4 && !strcmp(de->d_name + len - 4, ".tmp")) {
            printf("temporary file left: %s\n", de->d_name);
            n++;
        }
    }
    closedir(dir);
    if (!n) {
        printf("no temporary files\n");
    }
}

static void
test_image(struct ovs_cmdl_context *ctx OVS_UNUSED)
{
    struct state_region *r1, *r2, *r3, *old, *new;
    size_t len;
    void *image;

    setup_log();
    unlink("r1");
    unlink("r2");
    unlink("r3");
    unlink("r4");
    r1 = create_region("r1", 100, 500);
    for (uint32_t i = 0; i < 100; i++) {
        alloc_slot(r1, i + 1);
    }
    state_region_free(r1, 10);
    state_region_free(r1, 20);
    state_region_seal(r1, 1000);
    fill_payload(state_region_slot_mut(r1, 30), 7777);

    /* The export seals first. */
    check_ok(state_region_export(r1, "img", 5000));
    check_ok(state_image_read("img", test_check, &image, &len));
    printf("image: %"PRIuSIZE" bytes, generation %"PRIu64", clock %"PRIu64
           "\n", len, ((const struct oor_header *) image)->generation,
           ((const struct oor_header *) image)->clock_ms);
    printf("image is the region: %s\n",
           (len == state_region_size(r1) + sizeof(struct oor_trailer)
            && !memcmp(image, state_region_base(r1), state_region_size(r1))
            ? "yes" : "no"));

    check_ok(state_region_create_from_image("r2", image, len, &r2));
    printf("from the image: %s, slots %s\n",
           regions_equal(r1, r2) ? "byte-identical" : "different",
           slots_equal(r1, r2) ? "identical" : "different");
    print_used("used", r2);
    printf("slot 30: key %"PRIu32"\n", slot_key(r2, 30));

    check_ok(state_region_create_from_image("r3", state_region_base(r1),
                                            state_region_size(r1), &r3));
    printf("from the bare pages: %s\n",
           regions_equal(r1, r3) ? "byte-identical" : "different");
    state_region_destroy(r3);

    /* Replacing a region that is still open: the old mapping stays valid,
     * and destroying the old one leaves the new file alone. */
    struct oor_vif_def def;
    test_def(&def, "other");
    check_ok(state_region_create("r4", &def, 5, 100, &old));
    for (uint32_t i = 0; i < 5; i++) {
        alloc_slot(old, 9000 + i);
    }
    state_region_seal(old, 200);
    check_ok(state_region_create_from_image("r4", image, len, &new));
    printf("old mapping: iface-id %s, slot 0 key %"PRIu32"\n",
           state_region_header(old)->vif.iface_id, slot_key(old, 0));
    printf("new region: iface-id %s, slot 0 key %"PRIu32"\n",
           state_region_header(new)->vif.iface_id, slot_key(new, 0));
    state_region_destroy(old);
    printf("after destroying the old: r4 %s\n",
           access("r4", F_OK) ? "gone" : "still there");
    state_region_close(new);
    check_ok(state_region_open("r4", test_check, &new));
    printf("r4 reopened: %s\n",
           regions_equal(r1, new) ? "byte-identical" : "different");
    state_region_destroy(new);

    /* A refused image applies nothing: r2 stays as it was. */
    uint8_t *bad = xmemdup(image, len);
    bad[state_region_header(r1)->slot_offset + 30 * OOR_SLOT_SIZE + 40] ^= 1;
    struct state_region *r;
    print_error("corrupt image",
                state_region_create_from_image("r2", bad, len, &r));
    free(bad);
    state_region_close(r2);
    check_ok(state_region_open("r2", test_check, &r2));
    printf("r2 after the refusal: %s\n",
           regions_equal(r1, r2) ? "unchanged" : "changed");

    print_temp_files();
    free(image);
    state_region_destroy(r2);
    state_region_destroy(r1);
    unlink("img");
}

/* The corrupt-image corpus. */

/* A small image: 5 pages (header, 1 generation page, 3 slot pages), slots
 * 0-38 used, 39-47 free. */
#define SMALL_REGION_LEN (5 * OOR_PAGE_SIZE)
#define SMALL_IMAGE_LEN (SMALL_REGION_LEN + sizeof(struct oor_trailer))

static uint8_t *
small_image(void)
{
    struct state_region *r;
    size_t len;
    void *image;

    unlink("small");
    r = create_region("small", 48, 500);
    for (uint32_t i = 0; i < 40; i++) {
        alloc_slot(r, i + 1);
    }
    state_region_seal(r, 1000);
    fill_payload(state_region_slot_mut(r, 37), 3737);
    state_region_seal(r, 2000);
    state_region_free(r, 39);
    state_region_seal(r, 3000);
    check_ok(state_region_export(r, "small.img", 3000));
    state_region_destroy(r);
    check_ok(state_image_read("small.img", test_check, &image, &len));
    ovs_assert(len == SMALL_IMAGE_LEN);
    unlink("small.img");

    /* Room for the case that makes it longer. */
    image = xrealloc(image, SMALL_IMAGE_LEN + 16);
    return image;
}

/* The checksums, by the documented rules. */
static uint32_t
doc_crc(const void *p, size_t n)
{
    return (OVS_FORCE uint32_t) crc32c(p, n);
}

static struct oor_header *
H(uint8_t *img)
{
    return (struct oor_header *) img;
}

static void
fix_header(uint8_t *img)
{
    struct oor_header h = *H(img);

    h.header_crc = 0;
    h.generation = 0;
    h.clock_ms = 0;
    H(img)->header_crc = doc_crc(&h, sizeof h);
}

static struct oor_slot_hdr *
SLOT(uint8_t *img, uint32_t slot)
{
    return (struct oor_slot_hdr *) (img + 2 * OOR_PAGE_SIZE
                                    + slot * OOR_SLOT_SIZE);
}

static void
fix_slot(uint8_t *img, uint32_t slot)
{
    struct oor_slot_hdr *sh = SLOT(img, slot);

    sh->crc = 0;
    sh->crc = doc_crc(sh, OOR_SLOT_SIZE);
}

static struct oor_trailer *
TRAILER(uint8_t *img)
{
    return (struct oor_trailer *) (img + SMALL_REGION_LEN);
}

static void
fix_trailer(uint8_t *img)
{
    TRAILER(img)->crc = doc_crc(img, SMALL_REGION_LEN);
}

static uint64_t *
GENS(uint8_t *img)
{
    return (uint64_t *) (img + OOR_PAGE_SIZE);
}

/* Each case corrupts the image, fixing whatever checksums would otherwise
 * fail first, and may change its length. */
struct corrupt_case {
    const char *name;
    void (*corrupt)(uint8_t *img, size_t *len);
};

#define CASE(NAME) \
    static void corrupt_##NAME(uint8_t *img OVS_UNUSED, \
                               size_t *len OVS_UNUSED)
#define HEADER_CASE(NAME, STMT)                 \
    CASE(NAME) { STMT; fix_header(img); fix_trailer(img); }
#define DEF_CASE(NAME, STMT) \
    HEADER_CASE(NAME, struct oor_vif_def *v = &H(img)->vif; STMT)
#define SLOT_CASE(NAME, STMT)                   \
    CASE(NAME) { STMT; fix_slot(img, 37); fix_trailer(img); }

CASE(good) {}
CASE(empty) { *len = 0; }
CASE(truncated_in_header) { *len = 100; }
CASE(truncated_at_gens) { *len = OOR_PAGE_SIZE; }
CASE(truncated_in_gens) { *len = OOR_PAGE_SIZE + 1000; }
CASE(truncated_at_slots) { *len = 2 * OOR_PAGE_SIZE; }
CASE(truncated_in_slot_page) { *len = 3 * OOR_PAGE_SIZE + 1000; }
CASE(truncated_at_trailer) { *len = SMALL_REGION_LEN; }
CASE(truncated_in_trailer) { *len = SMALL_REGION_LEN + 10; }
CASE(too_long) { img[(*len)++] = 0; }

HEADER_CASE(bad_magic, H(img)->magic ^= 0xff)
HEADER_CASE(bad_version, H(img)->version = 7)
HEADER_CASE(bad_page_size, H(img)->page_size = 8192)
HEADER_CASE(bad_slot_size, H(img)->slot_size = 128)
HEADER_CASE(bad_flags, H(img)->flags = 1)
CASE(header_crc) { H(img)->header_crc ^= 1; fix_trailer(img); }
CASE(header_crc_def) { H(img)->vif.iface_id[0] = 'w'; fix_trailer(img); }
CASE(header_crc_sizes) { H(img)->n_pages++; H(img)->n_slot_pages++;
                         fix_trailer(img); }

HEADER_CASE(n_pages, H(img)->n_pages = 6)
HEADER_CASE(n_gen_pages_zero, H(img)->n_gen_pages = 0; H(img)->n_pages = 4;
            H(img)->slot_offset = OOR_PAGE_SIZE)
HEADER_CASE(n_gen_pages_small, H(img)->n_slot_pages = 600;
            H(img)->n_pages = 602)
HEADER_CASE(n_gen_pages_huge, H(img)->n_gen_pages = 100000)
HEADER_CASE(n_slot_pages_zero, H(img)->n_slot_pages = 0)
HEADER_CASE(n_slot_pages_huge, H(img)->n_slot_pages = 1 << 30)
HEADER_CASE(gen_offset, H(img)->gen_offset = 2 * OOR_PAGE_SIZE)
HEADER_CASE(slot_offset, H(img)->slot_offset = OOR_PAGE_SIZE)
HEADER_CASE(slot_offset_huge, H(img)->slot_offset = UINT32_MAX)
/* A consistent header for the largest region: the file is far too short,
 * and nothing of that size is ever allocated. */
HEADER_CASE(header_claims_max,
            H(img)->n_slot_pages = OOR_MAX_SLOT_PAGES;
            H(img)->n_gen_pages = OOR_MAX_GEN_PAGES;
            H(img)->n_pages = 1 + OOR_MAX_GEN_PAGES + OOR_MAX_SLOT_PAGES;
            H(img)->slot_offset = (1 + OOR_MAX_GEN_PAGES) * OOR_PAGE_SIZE)
CASE(header_padding) { img[OOR_SUMMARY_OFFSET - 1] = 1; fix_trailer(img); }
CASE(summary_tail) { img[OOR_PAGE_SIZE - 1] = 1; fix_trailer(img); }
CASE(generation_range) { H(img)->generation = UINT64_C(1) << 63;
                         fix_trailer(img); }

DEF_CASE(iface_id_empty, memset(v->iface_id, 0, sizeof v->iface_id))
DEF_CASE(iface_id_unterminated, memset(v->iface_id, 'a', sizeof v->iface_id))
DEF_CASE(iface_id_unprintable, v->iface_id[2] = '\n')
DEF_CASE(iface_id_slash, v->iface_id[2] = '/')
DEF_CASE(iface_id_dot, v->iface_id[0] = '.')
DEF_CASE(iface_id_padding, v->iface_id[60] = 'x')
DEF_CASE(mac_multicast, v->mac[0] = 0x01)
DEF_CASE(mac_zero, memset(v->mac, 0, sizeof v->mac))
DEF_CASE(policy, v->policy = OOR_N_POLICIES)
DEF_CASE(n_ips, v->n_ips = OOR_MAX_IPS + 1)
DEF_CASE(ip_unused, v->ips[5].s6_addr[3] = 1)
DEF_CASE(ip_multicast, v->ips[0].s6_addr[12] = 224)
DEF_CASE(ip_unspecified, memset(&v->ips[0], 0, sizeof v->ips[0]))
DEF_CASE(n_allow, v->n_allow = OOR_MAX_ALLOW + 1)
DEF_CASE(allow_proto, v->allow[0].proto = 47)
DEF_CASE(allow_pad, v->allow[0].pad = 1)
DEF_CASE(allow_unused, v->allow[3].port = 80)
DEF_CASE(def_pad, v->pad[3] = 1)

CASE(gen_above) { GENS(img)[2] = H(img)->generation + 1; fix_trailer(img); }
CASE(gen0_above) { GENS(img)[0] = H(img)->generation + 1; fix_trailer(img); }
CASE(gen_padding) { GENS(img)[10] = 1; fix_trailer(img); }
CASE(summary_entry) { ((uint64_t *) (img + OOR_SUMMARY_OFFSET))[0]++;
                      fix_trailer(img); }

CASE(slot_crc) { ((uint8_t *) (SLOT(img, 37) + 1))[50] ^= 1;
                 fix_trailer(img); }
CASE(slot_crc_field) { SLOT(img, 37)->crc ^= 0x100; fix_trailer(img); }
SLOT_CASE(slot_payload, ((uint8_t *) (SLOT(img, 37) + 1))[9] ^= 0x10)
SLOT_CASE(slot_type, SLOT(img, 37)->type = 9)
SLOT_CASE(slot_len, SLOT(img, 37)->len = OOR_SLOT_PAYLOAD_MAX + 1)
SLOT_CASE(slot_short, SLOT(img, 37)->len = 100)
SLOT_CASE(slot_short_zeroed, SLOT(img, 37)->len = 100;
          memset((uint8_t *) (SLOT(img, 37) + 1) + 100, 0,
                 OOR_SLOT_PAYLOAD_MAX - 100))
SLOT_CASE(slot_tail, ((uint8_t *) (SLOT(img, 37) + 1))[200] = 1)
SLOT_CASE(slot_version, SLOT(img, 37)->version = GENS(img)[3] + 1)
CASE(free_not_zero) { SLOT(img, 45)->version = 1; fix_trailer(img); }
CASE(free_with_crc) { fix_slot(img, 45); fix_trailer(img); }

CASE(trailer_magic) { TRAILER(img)->magic ^= 1; }
CASE(trailer_len) { TRAILER(img)->image_len -= OOR_PAGE_SIZE; }
CASE(trailer_pad) { TRAILER(img)->pad = 1; }
CASE(trailer_crc) { TRAILER(img)->crc ^= 1; }

static const struct corrupt_case corrupt_cases[] = {
#define C(NAME) { #NAME, corrupt_##NAME }
    C(good), C(empty), C(truncated_in_header), C(truncated_at_gens),
    C(truncated_in_gens), C(truncated_at_slots), C(truncated_in_slot_page),
    C(truncated_at_trailer), C(truncated_in_trailer), C(too_long),
    C(bad_magic), C(bad_version), C(bad_page_size), C(bad_slot_size),
    C(bad_flags), C(header_crc), C(header_crc_def), C(header_crc_sizes),
    C(n_pages), C(n_gen_pages_zero), C(n_gen_pages_small),
    C(n_gen_pages_huge), C(n_slot_pages_zero), C(n_slot_pages_huge),
    C(gen_offset), C(slot_offset), C(slot_offset_huge), C(header_claims_max),
    C(header_padding), C(summary_tail), C(generation_range),
    C(iface_id_empty), C(iface_id_unterminated), C(iface_id_unprintable),
    C(iface_id_slash), C(iface_id_dot), C(iface_id_padding),
    C(mac_multicast), C(mac_zero), C(policy), C(n_ips), C(ip_unused),
    C(ip_multicast), C(ip_unspecified), C(n_allow), C(allow_proto),
    C(allow_pad), C(allow_unused), C(def_pad),
    C(gen_above), C(gen0_above), C(gen_padding), C(summary_entry),
    C(slot_crc), C(slot_crc_field), C(slot_payload), C(slot_type),
    C(slot_len), C(slot_short), C(slot_short_zeroed), C(slot_tail),
    C(slot_version),
    C(free_not_zero), C(free_with_crc),
    C(trailer_magic), C(trailer_len), C(trailer_pad), C(trailer_crc),
#undef C
};

static const struct corrupt_case *
find_case(const char *name)
{
    for (size_t i = 0; i < ARRAY_SIZE(corrupt_cases); i++) {
        if (!strcmp(corrupt_cases[i].name, name)) {
            return &corrupt_cases[i];
        }
    }
    ovs_fatal(0, "%s: unknown case", name);
}

/* "corrupt [--region] CASE...": prints what state_image_read() says of each
 * corrupted image, or with --region, what state_region_check() says of the
 * corrupted region pages alone (as pulled). */
static void
test_corrupt(struct ovs_cmdl_context *ctx)
{
    uint8_t *good = small_image();
    bool region = false;

    for (int i = 1; i < ctx->argc; i++) {
        if (!strcmp(ctx->argv[i], "--region")) {
            region = true;
            continue;
        }

        const struct corrupt_case *c = find_case(ctx->argv[i]);
        uint8_t *img = xmemdup(good, SMALL_IMAGE_LEN + 16);
        size_t len = SMALL_IMAGE_LEN;
        char *error;

        c->corrupt(img, &len);
        if (region) {
            error = state_region_check(img, MIN(len, SMALL_REGION_LEN),
                                       test_check);
        } else {
            void *image;
            size_t image_len;

            write_file("bad.img", img, len);
            error = state_image_read("bad.img", test_check, &image,
                                     &image_len);
            if (!error) {
                ovs_assert(image_len == len && !memcmp(image, img, len));
                free(image);
            }
            unlink("bad.img");
        }
        printf("%s: %s\n", c->name, error ? error : "accepted");
        free(error);
        free(img);
    }
    free(good);
}

/* "huge": a file larger than any image is refused without being read. */
static void
test_huge(struct ovs_cmdl_context *ctx OVS_UNUSED)
{
    uint64_t max = ((1 + (uint64_t) OOR_MAX_GEN_PAGES + OOR_MAX_SLOT_PAGES)
                    * OOR_PAGE_SIZE + sizeof(struct oor_trailer));
    void *image;
    size_t len;
    int fd;

    fd = open("huge.img", O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || ftruncate(fd, max + 1)) {
        printf("cannot make a sparse file of %"PRIu64" bytes\n", max + 1);
        exit(77);
    }
    close(fd);
    print_error("read", state_image_read("huge.img", test_check, &image,
                                         &len));
    unlink("huge.img");
}

/* "flip": every single-byte change to an image is refused.  In the bare
 * region (no trailer), only the bytes that no checksum covers are accepted:
 * the header's clock and the generation (unless the change lowers it below a
 * page's or makes it out of range). */
static void
test_flip(struct ovs_cmdl_context *ctx OVS_UNUSED)
{
    uint8_t *img = small_image();
    struct ds accepted = DS_EMPTY_INITIALIZER;
    size_t refused = 0;

    for (size_t i = 0; i < SMALL_IMAGE_LEN; i++) {
        char *error;

        img[i] ^= 0xff;
        error = state_image_check(img, SMALL_IMAGE_LEN, test_check);
        if (error) {
            refused++;
            free(error);
        } else {
            ds_put_format(&accepted, " %"PRIuSIZE, i);
        }
        img[i] ^= 0xff;
    }
    printf("image: %"PRIuSIZE" of %"PRIuSIZE" byte flips refused%s%s\n",
           refused, SMALL_IMAGE_LEN, accepted.length ? ", accepted at" : "",
           ds_cstr(&accepted));

    ds_clear(&accepted);
    refused = 0;
    for (size_t i = 0; i < SMALL_REGION_LEN; i++) {
        char *error;

        img[i] ^= 0xff;
        error = state_region_check(img, SMALL_REGION_LEN, test_check);
        if (error) {
            refused++;
            free(error);
        } else {
            ds_put_format(&accepted, " %"PRIuSIZE, i);
        }
        img[i] ^= 0xff;
    }
    printf("region: %"PRIuSIZE" of %d byte flips refused, accepted at%s\n",
           refused, SMALL_REGION_LEN, ds_cstr(&accepted));
    ds_destroy(&accepted);
    free(img);
}

static void
test_state_region_main(int argc, char *argv[])
{
    static const struct ovs_cmdl_command commands[] = {
        {"basic", NULL, 0, 0, test_basic, OVS_RO},
        {"write", "PATH N", 2, 2, test_write, OVS_RO},
        {"crash", "PATH MODE [SLOT]", 2, 3, test_crash, OVS_RO},
        {"verify", "PATH", 1, 1, test_verify, OVS_RO},
        {"check-file", "PATH", 1, 1, test_check_file, OVS_RO},
        {"poke", "FILE OFFSET BYTE", 3, 3, test_poke, OVS_RO},
        {"extend", "FILE BYTES", 2, 2, test_extend, OVS_RO},
        {"grow", NULL, 0, 0, test_grow, OVS_RO},
        {"sparse", "PATH", 1, 1, test_sparse, OVS_RO},
        {"changed", NULL, 0, 0, test_changed, OVS_RO},
        {"image", NULL, 0, 0, test_image, OVS_RO},
        {"corrupt", "[--region] CASE...", 1, INT_MAX, test_corrupt, OVS_RO},
        {"huge", NULL, 0, 0, test_huge, OVS_RO},
        {"flip", NULL, 0, 0, test_flip, OVS_RO},
        {NULL, NULL, 0, 0, NULL, OVS_RO},
    };
    struct ovs_cmdl_context ctx = { .argc = argc - 1, .argv = argv + 1 };

    set_program_name(argv[0]);
    ovs_cmdl_run_command(&ctx, commands);
}

OVSTEST_REGISTER("test-state-region", test_state_region_main);
