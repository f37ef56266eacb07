/*
 * The VIF store: VIFs in memory, their regions and local files in
 * --state-dir.
 */
#include <config.h>
#include "vif-store.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "atomic-file.h"
#include "ct-engine.h"
#include "ct-entry.h"
#include "fdb.h"
#include "flow-store.h"
#include "flow-table.h"
#include "neigh.h"
#include "packets.h"
#include "route.h"
#include "hash.h"
#include "openvswitch/dynamic-string.h"
#include "openvswitch/json.h"
#include "openvswitch/shash.h"
#include "sset.h"
#include "openvswitch/vlog.h"
#include "state-region.h"
#include "util.h"
#include "vif.h"

VLOG_DEFINE_THIS_MODULE(vif_store);

/* A new region starts with room for this many entries and grows. */
#define VIF_INITIAL_SLOTS 1024

struct vif_store {
    char *dir;
    struct vif_modules modules;
    struct hmap vifs;           /* Contains struct vif, by iface-id. */
    uint64_t seqno;
};

static char *
vif_file(const struct vif_store *store, const char *iface_id,
         const char *suffix)
{
    return xasprintf("%s/%s.%s", store->dir, iface_id, suffix);
}

const char *
vif_store_dir(const struct vif_store *store)
{
    return store->dir;
}

uint64_t
vif_store_seqno(const struct vif_store *store)
{
    return store->seqno;
}

struct vif *
vif_store_find_by_netdev(const struct vif_store *store, const char *netdev)
{
    struct vif *vif;

    HMAP_FOR_EACH (vif, node, &store->vifs) {
        if (vif->netdev && !strcmp(vif->netdev, netdev)) {
            return vif;
        }
    }
    return NULL;
}

struct vif *
vif_store_find_by_cookie(const struct vif_store *store, uint64_t cookie)
{
    struct vif *vif;

    HMAP_FOR_EACH (vif, node, &store->vifs) {
        if (vif->def.cookie == cookie) {
            return vif;
        }
    }
    return NULL;
}

struct vif *
vif_store_find(const struct vif_store *store, const char *iface_id)
{
    struct vif *vif;

    HMAP_FOR_EACH_WITH_HASH (vif, node, hash_string(iface_id, 0),
                             &store->vifs) {
        if (!strcmp(vif->def.iface_id, iface_id)) {
            return vif;
        }
    }
    return NULL;
}

static int
compare_vifs(const void *a_, const void *b_)
{
    const struct vif *const *a = a_;
    const struct vif *const *b = b_;

    return strcmp((*a)->def.iface_id, (*b)->def.iface_id);
}

struct vif **
vif_store_list(const struct vif_store *store, size_t *n)
{
    struct vif **list = xmalloc((hmap_count(&store->vifs) + 1)
                                * sizeof *list);
    struct vif *vif;

    *n = 0;
    HMAP_FOR_EACH (vif, node, &store->vifs) {
        list[(*n)++] = vif;
    }
    qsort(list, *n, sizeof *list, compare_vifs);
    return list;
}

/* A zone is in use if a VIF has it or the host's flows track in it. */
static bool
zone_in_use(const struct vif_store *store, int zone)
{
    struct vif *vif;

    if (ct_engine_find_table(store->modules.ct, zone)) {
        return true;
    }
    HMAP_FOR_EACH (vif, node, &store->vifs) {
        if (vif->zone == zone) {
            return true;
        }
    }
    return false;
}

static int
free_zone(const struct vif_store *store)
{
    for (int zone = 1; zone <= 65535; zone++) {
        if (!zone_in_use(store, zone)) {
            return zone;
        }
    }
    return 0;
}

/* Writes the local file of 'vif' atomically. */
static char *
write_local(const struct vif_store *store, const struct vif *vif)
{
    struct json *json = json_object_create();
    json_object_put_string(json, "netdev", vif->netdev ? vif->netdev : "-");
    json_object_put(json, "zone", json_integer_create(vif->zone));
    if (vif->mode != VIF_ACTIVE) {
        json_object_put_string(json, "mode", (vif->mode == VIF_STANDBY
                                              ? "standby" : "fenced"));
        json_object_put(json, "made_for_migration",
                        json_boolean_create(vif->made_for_migration));
    }

    char *path = vif_file(store, vif->def.iface_id, "local");
    char *error = atomic_file_write_json(path, json);

    json_destroy(json);
    free(path);
    return error;
}

/* Reads the local file of 'iface_id' into 'netdev' (malloc'd or NULL),
 * 'zone' (0 if unknown), 'mode' and 'made'. */
static void
read_local(const struct vif_store *store, const char *iface_id,
           char **netdev, int *zone, enum vif_mode *mode, bool *made)
{
    char *path = vif_file(store, iface_id, "local");
    struct json *json = json_from_file(path);

    *netdev = NULL;
    *zone = 0;
    *mode = VIF_ACTIVE;
    *made = false;
    if (json && json->type == JSON_OBJECT) {
        const struct json *nd = shash_find_data(json_object(json), "netdev");
        const struct json *z = shash_find_data(json_object(json), "zone");
        const struct json *md = shash_find_data(json_object(json), "mode");
        const struct json *mm = shash_find_data(json_object(json),
                                                "made_for_migration");

        if (md && md->type == JSON_STRING) {
            if (!strcmp(json_string(md), "standby")) {
                *mode = VIF_STANDBY;
            } else if (!strcmp(json_string(md), "fenced")) {
                *mode = VIF_FENCED;
            } else {
                /* Fenced is the safe reading of a mode we do not know: the
                 * VIF forwards nothing until someone decides. */
                VLOG_WARN("%s: unknown mode \"%s\"; taken as fenced", path,
                          json_string(md));
                *mode = VIF_FENCED;
            }
        }
        *made = mm && mm->type == JSON_TRUE;

        if (nd && nd->type == JSON_STRING && strcmp(json_string(nd), "-")) {
            *netdev = xstrdup(json_string(nd));
        }
        if (z && z->type == JSON_INTEGER && json_integer(z) > 0
            && json_integer(z) <= 65535) {
            *zone = json_integer(z);
        }
    } else {
        VLOG_WARN("%s: missing or unreadable; VIF %s gets netdev - and a "
                  "new zone", path, iface_id);
    }
    json_destroy(json);
    free(path);
}

static void
unlink_vif_files(const struct vif_store *store, const char *iface_id)
{
    char *region = vif_file(store, iface_id, "region");
    char *local = vif_file(store, iface_id, "local");

    unlink(region);
    unlink(local);
    free(region);
    free(local);
}

/* Opens the VIF's part of every table on its region 'r'. */
static char *
open_tables(struct vif_store *store, struct vif *vif, long long now)
{
    const struct vif_modules *m = &store->modules;
    char *error = NULL;

    vif->ct = ct_table_open(m->ct, vif->zone, vif->region, now, &error);
    if (!vif->ct) {
        return error;
    }
    vif->fdb = fdb_vif_open(m->fdb, vif, vif->region);
    vif->neigh = neigh_vif_open(m->neigh, vif, vif->region);
    vif->routes = route_vif_open(m->routes, vif, vif->region);
    return NULL;
}

static void
close_tables(struct vif *vif)
{
    route_vif_close(vif->routes);
    neigh_vif_close(vif->neigh);
    fdb_vif_close(vif->fdb);
    ct_table_close(vif->ct);
}

/* Installs the flows kept in the VIF's region, whose times are on a clock
 * that read 'from_clock' when this one read 'now'. */
static void
load_flows(struct vif_store *store, struct vif *vif, long long from_clock,
           long long now)
{
    size_t n = 0;
    char *error;

    if (!store->modules.flows) {
        return;
    }
    error = flow_table_load_owner(store->modules.flows, vif->def.iface_id,
                                  from_clock, now, &n);
    if (error) {
        VLOG_WARN("%s", error);
        free(error);
    }
}

/* Makes a VIF around the region 'r' and puts it in the store.  On error, 'r'
 * is closed. */
static char *
install_vif(struct vif_store *store, struct state_region *r,
            const char *netdev, int zone, long long now, struct vif **vifp)
{
    struct vif *vif = xzalloc(sizeof *vif);

    vif->def = state_region_header(r)->vif;
    vif->netdev = nullable_xstrdup(netdev);
    vif->zone = zone;
    vif->region = r;

    char *error = open_tables(store, vif, now);
    if (error) {
        state_region_close(r);
        free(vif->netdev);
        free(vif);
        return error;
    }
    hmap_insert(&store->vifs, &vif->node, hash_string(vif->def.iface_id, 0));
    store->seqno++;
    *vifp = vif;
    return NULL;
}

/* Takes 'vif' out of the store and frees it; with 'erase', its flows go
 * from its region too. */
static void
remove_vif(struct vif_store *store, struct vif *vif, bool erase)
{
    if (store->modules.flows) {
        flow_table_del_owner(store->modules.flows, vif->def.iface_id, erase);
    }
    hmap_remove(&store->vifs, &vif->node);
    store->seqno++;
    close_tables(vif);
    state_region_close(vif->region);
    free(vif->netdev);
    free(vif);
}

/* Frees every used slot of 'r'. */
static void
empty_region(struct state_region *r, long long now)
{
    uint32_t slot;

    STATE_REGION_FOR_EACH_USED (slot, r) {
        state_region_free(r, slot);
    }
    state_region_seal(r, now);
}

static void
freeze(struct vif *vif, enum vif_mode mode)
{
    bool frozen = mode != VIF_ACTIVE;

    vif->mode = mode;
    ct_table_set_frozen(vif->ct, frozen);
    fdb_vif_set_frozen(vif->fdb, frozen);
    neigh_vif_set_frozen(vif->neigh, frozen);
}

static void
write_local_or_log(struct vif_store *store, struct vif *vif)
{
    char *error = write_local(store, vif);
    if (error) {
        VLOG_ERR("VIF %s: %s", vif->def.iface_id, error);
        free(error);
    }
}

char *
vif_store_set_mode(struct vif_store *store, struct vif *vif,
                   enum vif_mode mode, bool made_for_migration)
{
    freeze(vif, mode);
    vif->made_for_migration = mode == VIF_STANDBY && made_for_migration;

    char *error = write_local(store, vif);
    if (error) {
        char *s = xasprintf("VIF %s: %s; a restart would not keep its mode",
                            vif->def.iface_id, error);
        free(error);
        return s;
    }
    return NULL;
}

static void
load_vif(struct vif_store *store, const char *name, long long now)
{
    size_t len = strlen(name) - strlen(".region");
    char *iface_id = xmemdup0(name, len);
    char *path = vif_file(store, iface_id, "region");
    struct state_region *r;
    struct vif *vif;
    char *netdev;
    int zone;

    char *error = state_region_open(path, vif_check_slot, &r);
    if (!error && strcmp(state_region_header(r)->vif.iface_id, iface_id)) {
        error = xasprintf("holds VIF \"%s\"",
                          state_region_header(r)->vif.iface_id);
        state_region_close(r);
    }
    if (error) {
        VLOG_ERR("%s: %s; VIF not loaded", path, error);
        goto out;
    }

    enum vif_mode mode;
    bool made;
    read_local(store, iface_id, &netdev, &zone, &mode, &made);
    if (mode == VIF_STANDBY) {
        /* Its migration ended with the restart: whatever it pulled is not
         * authoritative. */
        if (made) {
            VLOG_INFO("VIF %s: a migration's standby when the daemon "
                      "stopped; deleted", iface_id);
            state_region_close(r);
            unlink_vif_files(store, iface_id);
            goto out_free;
        }
        empty_region(r, now);
        VLOG_INFO("VIF %s: a migration's standby when the daemon stopped; "
                  "emptied", iface_id);
    }
    if (!zone || zone_in_use(store, zone)) {
        zone = free_zone(store);
    }
    error = install_vif(store, r, netdev, zone, now, &vif);
    if (error) {
        VLOG_ERR("%s: %s; VIF not loaded", path, error);
    } else {
        /* A restart: the region's times are on this host's clock. */
        load_flows(store, vif, now, now);
        if (mode == VIF_FENCED) {
            freeze(vif, VIF_FENCED);
            VLOG_WARN("VIF %s: fenced when the daemon stopped, so it stays "
                      "fenced: it forwards again after migrate/abort here, "
                      "or once the VM sends on this host", iface_id);
        }
        write_local_or_log(store, vif);
        VLOG_INFO("VIF %s: %"PRIu32" conntrack entries, zone %d",
                  iface_id, ct_table_count(vif->ct), zone);
    }
out_free:
    free(netdev);
out:
    free(error);
    free(path);
    free(iface_id);
}

struct vif_store *
vif_store_open(const char *dir, const struct vif_modules *modules,
               long long now, char **errorp)
{
    DIR *d = opendir(dir);
    if (!d) {
        *errorp = xasprintf("%s: cannot open state directory (%s)", dir,
                            ovs_strerror(errno));
        return NULL;
    }

    struct vif_store *store = xzalloc(sizeof *store);
    store->dir = xstrdup(dir);
    store->modules = *modules;
    hmap_init(&store->vifs);

    /* Sorted, so that zones are handed out the same way every time. */
    struct dirent *de;
    struct sset names = SSET_INITIALIZER(&names);
    while ((de = readdir(d))) {
        if (de->d_name[0] != '.' && strlen(de->d_name) > strlen(".region")
            && !strcmp(de->d_name + strlen(de->d_name) - strlen(".region"),
                       ".region")) {
            sset_add(&names, de->d_name);
        }
    }
    closedir(d);

    const char **sorted = sset_sort(&names);
    for (size_t i = 0; i < sset_count(&names); i++) {
        load_vif(store, sorted[i], now);
    }
    free(sorted);
    sset_destroy(&names);
    *errorp = NULL;
    return store;
}

void
vif_store_close(struct vif_store *store)
{
    if (store) {
        struct vif *vif;

        HMAP_FOR_EACH_SAFE (vif, node, &store->vifs) {
            remove_vif(store, vif, false);
        }
        hmap_destroy(&store->vifs);
        free(store->dir);
        free(store);
    }
}

static bool
same_def(const struct oor_vif_def *a, const struct oor_vif_def *b)
{
    return !memcmp(a, b, sizeof *a);
}

/* A floating address brings its traffic to one VIF: it may be no address
 * of another VIF of this host, and another VIF's floating address may not
 * be one of 'def''s. */
static char *
check_floating(const struct vif_store *store,
               const struct oor_vif_def *def)
{
    struct vif **vifs;
    char *error = NULL;
    size_t n;

    vifs = vif_store_list(store, &n);
    for (size_t i = 0; i < n && !error; i++) {
        const struct oor_vif_def *other = &vifs[i]->def;

        if (!strcmp(other->iface_id, def->iface_id)) {
            continue;
        }
        for (int j = 0; j < def->n_ips && !error; j++) {
            const struct in6_addr *ip = &def->ips[j];
            bool floating = vif_def_is_floating(def, j);

            if (floating ? (vif_def_has_ip(other, ip, true)
                            || vif_def_has_ip(other, ip, false))
                : vif_def_has_ip(other, ip, true)) {
                struct ds s = DS_EMPTY_INITIALIZER;

                ipv6_format_mapped(ip, &s);
                error = xasprintf("%s: %s is already %s address of VIF %s",
                                  floating ? "fip" : "ip", ds_cstr(&s),
                                  vif_def_has_ip(other, ip, true)
                                  ? "a floating" : "an",
                                  other->iface_id);
                ds_destroy(&s);
            }
        }
    }
    free(vifs);
    return error;
}

char *
vif_store_add(struct vif_store *store, const struct oor_vif_def *def,
              const char *netdev, int zone, long long now, struct vif **vifp)
{
    struct vif *vif = vif_store_find(store, def->iface_id);

    char *error = state_region_check_def(def);
    if (error) {
        return error;
    }
    if (vif) {
        if (same_def(&vif->def, def)
            && !strcmp(vif->netdev ? vif->netdev : "-",
                       netdev ? netdev : "-")
            && (!zone || zone == vif->zone)) {
            *vifp = vif;
            return NULL;
        }
        return xasprintf("VIF %s already exists with other parameters",
                         def->iface_id);
    }
    if (zone && zone_in_use(store, zone)) {
        return xasprintf("zone %d is already in use", zone);
    }
    error = check_floating(store, def);
    if (error) {
        return error;
    }
    if (!zone) {
        zone = free_zone(store);
        if (!zone) {
            return xstrdup("no free conntrack zone");
        }
    }

    char *path = vif_file(store, def->iface_id, "region");
    struct state_region *r;
    error = state_region_create(path, def, VIF_INITIAL_SLOTS, now, &r);
    free(path);
    if (error) {
        return error;
    }
    error = install_vif(store, r, netdev, zone, now, vifp);
    if (!error) {
        error = write_local(store, *vifp);
        if (error) {
            remove_vif(store, *vifp, false);
            unlink_vif_files(store, def->iface_id);
        }
    }
    return error;
}

char *
vif_store_bind(struct vif_store *store, struct vif *vif, const char *netdev)
{
    char *old = vif->netdev;

    vif->netdev = nullable_xstrdup(netdev);
    char *error = write_local(store, vif);
    if (error) {
        free(vif->netdev);
        vif->netdev = old;
    } else {
        free(old);
        store->seqno++;
    }
    return error;
}

void
vif_store_del(struct vif_store *store, struct vif *vif)
{
    char *iface_id = xstrdup(vif->def.iface_id);

    remove_vif(store, vif, true);
    unlink_vif_files(store, iface_id);
    free(iface_id);
}

/* Swaps the region of 'vif' for 'r', whose state replaces its state in
 * every table; the old region is closed. */
static void
replace_region(struct vif_store *store, struct vif *vif,
               struct state_region *r, long long now)
{
    struct state_region *old = vif->region;

    if (store->modules.flows) {
        flow_table_del_owner(store->modules.flows, vif->def.iface_id, false);
    }
    ct_table_replace(vif->ct, r, now);
    fdb_vif_replace(vif->fdb, r);
    neigh_vif_replace(vif->neigh, r);
    route_vif_replace(vif->routes, r);
    vif->region = r;
    vif->def = state_region_header(r)->vif;
    state_region_close(old);
    store->seqno++;
}

/* Moves the times of a region sealed on a clock that read 'from_clock' onto
 * this host's, which reads 'now'. */
static void
rebase_tables(struct vif *vif, long long from_clock, long long now)
{
    ct_table_rebase(vif->ct, from_clock, now);
    fdb_vif_rebase(vif->fdb, from_clock, now);
    neigh_vif_rebase(vif->neigh, from_clock, now);
}

void
vif_store_reload(struct vif_store *store, struct vif *vif,
                 const struct oor_vif_def *def, long long from_clock,
                 long long now)
{
    state_region_set_def(vif->region, def);
    vif->def = state_region_header(vif->region)->vif;
    fdb_vif_replace(vif->fdb, vif->region);
    neigh_vif_replace(vif->neigh, vif->region);
    route_vif_replace(vif->routes, vif->region);
    fdb_vif_rebase(vif->fdb, from_clock, now);
    neigh_vif_rebase(vif->neigh, from_clock, now);
    load_flows(store, vif, from_clock, now);
    state_region_seal(vif->region, now);
    store->seqno++;
}

char *
vif_store_import(struct vif_store *store, const void *image, size_t len,
                 bool replace, long long now, struct vif **vifp)
{
    const struct oor_header *h = image;
    struct vif *vif = vif_store_find(store, h->vif.iface_id);
    size_t region_len = (size_t) h->n_pages * OOR_PAGE_SIZE;
    char *error = flow_store_check_region(image, region_len);

    if (!error) {
        error = ct_image_check_clashes(image, region_len);
    }
    if (error) {
        return error;
    }
    if (vif && ct_table_count(vif->ct) && !replace) {
        return xasprintf("VIF %s holds %"PRIu32" conntrack entries; "
                         "--replace replaces them", h->vif.iface_id,
                         ct_table_count(vif->ct));
    }

    int zone = vif ? vif->zone : free_zone(store);
    if (!zone) {
        return xstrdup("no free conntrack zone");
    }
    error = check_floating(store, &h->vif);
    if (error) {
        return error;
    }

    /* The new region is renamed over the old file only once it is complete;
     * the old mapping stays valid until the swap below. */
    char *path = vif_file(store, h->vif.iface_id, "region");
    struct state_region *r;
    error = state_region_create_from_image(path, image, len, &r);
    free(path);
    if (error) {
        return error;
    }

    if (vif) {
        replace_region(store, vif, r, now);
    } else {
        error = install_vif(store, r, NULL, zone, now, &vif);
        if (!error) {
            error = write_local(store, vif);
            if (error) {
                remove_vif(store, vif, false);
            }
        }
        if (error) {
            unlink_vif_files(store, h->vif.iface_id);
            return error;
        }
    }
    rebase_tables(vif, h->clock_ms, now);
    load_flows(store, vif, h->clock_ms, now);
    *vifp = vif;
    return NULL;
}
