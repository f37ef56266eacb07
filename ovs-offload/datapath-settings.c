/*
 * The datapath's settings in --state-dir/datapath.json.
 */
#include <config.h>
#include "datapath-settings.h"

#include <unistd.h>
#include "atomic-file.h"
#include "datapath.h"
#include "fdb.h"
#include "neigh.h"
#include "openvswitch/json.h"
#include "openvswitch/shash.h"
#include "packets.h"
#include "route.h"
#include "util.h"

static char *
settings_path(const char *dir)
{
    return xasprintf("%s/datapath.json", dir);
}

char *
datapath_settings_save(const char *dir, const struct datapath *dp,
                       const struct datapath_tables *t)
{
    struct eth_addr mac = route_get_router_mac(t->routes);
    struct json *json = json_object_create();
    char *mac_s = xasprintf(ETH_ADDR_FMT, ETH_ADDR_ARGS(mac));

    json_object_put(json, "default_pipeline",
                    json_boolean_create(datapath_get_default_pipeline(dp)));
    json_object_put_string(json, "router_mac", mac_s);
    json_object_put(json, "fdb_aging",
                    json_integer_create(fdb_get_idle_time(t->fdb)));
    json_object_put(json, "neigh_aging",
                    json_integer_create(neigh_get_idle_time(t->neigh)));
    free(mac_s);

    char *path = settings_path(dir);
    char *error = atomic_file_write_json(path, json);

    free(path);
    json_destroy(json);
    return error;
}

static const struct json *
member(const struct json *json, const char *name, enum json_type type)
{
    const struct json *m = shash_find_data(json_object(json), name);
    return m && m->type == type ? m : NULL;
}

char *
datapath_settings_load(const char *dir, struct datapath *dp,
                       const struct datapath_tables *t)
{
    char *path = settings_path(dir);
    char *error = NULL;

    if (access(path, F_OK)) {
        free(path);
        return NULL;            /* Never changed: the defaults hold. */
    }

    struct json *json = json_from_file(path);
    const struct json *dflt, *mac_j, *fdb_j, *neigh_j;
    struct eth_addr mac;
    if (!json || json->type != JSON_OBJECT
        || (!(dflt = member(json, "default_pipeline", JSON_TRUE))
            && !(dflt = member(json, "default_pipeline", JSON_FALSE)))
        || !(mac_j = member(json, "router_mac", JSON_STRING))
        || !eth_addr_from_string(json_string(mac_j), &mac)
        || !(fdb_j = member(json, "fdb_aging", JSON_INTEGER))
        || !(neigh_j = member(json, "neigh_aging", JSON_INTEGER))
        || json_integer(fdb_j) < FDB_MIN_IDLE_TIME
        || json_integer(fdb_j) > FDB_MAX_IDLE_TIME
        || json_integer(neigh_j) < 1 || json_integer(neigh_j) > 86400) {
        error = xasprintf("%s: not a datapath settings file", path);
    } else {
        datapath_set_default_pipeline(dp, dflt->type == JSON_TRUE);
        route_set_router_mac(t->routes, mac);
        fdb_set_idle_time(t->fdb, json_integer(fdb_j));
        neigh_set_idle_time(t->neigh, json_integer(neigh_j));
    }
    json_destroy(json);
    free(path);
    return error;
}
