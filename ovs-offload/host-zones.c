/*
 * The host's conntrack zones, each in a region of its own.
 */
#include <config.h>
#include "host-zones.h"

#include <dirent.h>
#include <errno.h>
#include <string.h>
#include "ct-engine.h"
#include "openvswitch/hmap.h"
#include "openvswitch/vlog.h"
#include "hash.h"
#include "state-region.h"
#include "util.h"
#include "vif.h"

VLOG_DEFINE_THIS_MODULE(host_zones);

#define HOST_ZONE_SUFFIX ".hostct"
#define HOST_ZONE_INITIAL_SLOTS 1024

struct host_zone {
    struct hmap_node node;      /* By zone. */
    uint16_t zone;
    struct state_region *region;
    struct ct_table *ct;
};

struct host_zones {
    char *dir;
    struct ct_engine *engine;
    struct hmap zones;
};

static char *
zone_path(const struct host_zones *hz, uint16_t zone)
{
    return xasprintf("%s/zone-%"PRIu16 HOST_ZONE_SUFFIX, hz->dir, zone);
}

/* Puts the table of 'r' in zone 'zone'; closes 'r' on failure. */
static struct ct_table *
install(struct host_zones *hz, uint16_t zone, struct state_region *r,
        long long now)
{
    char *error;
    struct ct_table *t = ct_table_open(hz->engine, zone, r, now, &error);

    if (!t) {
        VLOG_WARN("host zone %"PRIu16": %s", zone, error);
        free(error);
        state_region_close(r);
        return NULL;
    }

    struct host_zone *z = xmalloc(sizeof *z);
    z->zone = zone;
    z->region = r;
    z->ct = t;
    hmap_insert(&hz->zones, &z->node, hash_int(zone, 0));
    return t;
}

static void
load(struct host_zones *hz, const char *name, long long now)
{
    unsigned int zone;
    int n = 0;

    if (sscanf(name, "zone-%u"HOST_ZONE_SUFFIX"%n", &zone, &n) != 1
        || name[n] || zone > UINT16_MAX) {
        return;
    }

    char *path = zone_path(hz, zone);
    struct state_region *r;
    char *error = state_region_open(path, vif_check_slot, &r);
    if (error) {
        VLOG_ERR("%s: %s; host zone not loaded", path, error);
        free(error);
    } else {
        install(hz, zone, r, now);
    }
    free(path);
}

struct host_zones *
host_zones_open(const char *dir, struct ct_engine *engine, long long now)
{
    struct host_zones *hz = xzalloc(sizeof *hz);
    DIR *d;

    hz->dir = xstrdup(dir);
    hz->engine = engine;
    hmap_init(&hz->zones);

    d = opendir(dir);
    if (d) {
        struct dirent *de;

        while ((de = readdir(d))) {
            load(hz, de->d_name, now);
        }
        closedir(d);
    }
    return hz;
}

void
host_zones_close(struct host_zones *hz)
{
    if (hz) {
        struct host_zone *z;

        HMAP_FOR_EACH_POP (z, node, &hz->zones) {
            ct_table_close(z->ct);
            state_region_close(z->region);
            free(z);
        }
        hmap_destroy(&hz->zones);
        free(hz->dir);
        free(hz);
    }
}

struct ct_table *
host_zones_table(struct host_zones *hz, uint16_t zone, long long now)
{
    struct ct_table *t = ct_engine_find_table(hz->engine, zone);
    if (t) {
        return t;
    }

    /* A region needs a definition; a host zone's names the zone and has a
     * locally administered MAC that is nobody's. */
    struct oor_vif_def def;
    memset(&def, 0, sizeof def);
    snprintf(def.iface_id, sizeof def.iface_id, "zone-%"PRIu16, zone);
    memcpy(def.mac, (uint8_t[]) { 0x02, 0, 0, 0, 0, 0x01 }, 6);

    char *path = zone_path(hz, zone);
    struct state_region *r;
    char *error = state_region_create(path, &def, HOST_ZONE_INITIAL_SLOTS,
                                      now, &r);
    free(path);
    if (error) {
        static struct vlog_rate_limit rl = VLOG_RATE_LIMIT_INIT(1, 5);
        VLOG_WARN_RL(&rl, "host zone %"PRIu16": %s", zone, error);
        free(error);
        return NULL;
    }
    return install(hz, zone, r, now);
}
