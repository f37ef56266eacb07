/*
 * Conntrack limits in --state-dir/limits.json:
 *
 *     {"limit": 3000000, "zones": {"5": 1000}}
 */
#include <config.h>
#include "limits-file.h"

#include <unistd.h>
#include "atomic-file.h"
#include "ct-engine.h"
#include "openvswitch/json.h"
#include "openvswitch/shash.h"
#include "util.h"

static char *
limits_path(const char *dir)
{
    return xasprintf("%s/limits.json", dir);
}

char *
limits_file_save(const char *dir, const struct ct_engine *engine)
{
    struct json *zones = json_object_create();
    int zone = -1;

    while (ct_engine_next_zone_limit(engine, &zone)) {
        json_object_put_nocopy(zones, xasprintf("%d", zone),
                               json_integer_create(
                                   ct_engine_get_zone_limit(engine, zone)));
    }

    struct json *json = json_object_create();
    json_object_put(json, "limit",
                    json_integer_create(ct_engine_get_limit(engine)));
    json_object_put(json, "zones", zones);

    char *path = limits_path(dir);
    char *error = atomic_file_write_json(path, json);

    free(path);
    json_destroy(json);
    return error;
}

static bool
get_count(const struct json *j, long long *value)
{
    if (!j || j->type != JSON_INTEGER || json_integer(j) < 0
        || json_integer(j) > UINT32_MAX) {
        return false;
    }
    *value = json_integer(j);
    return true;
}

char *
limits_file_load(const char *dir, struct ct_engine *engine)
{
    char *path = limits_path(dir);
    char *error = NULL;

    if (access(path, F_OK)) {
        free(path);
        return NULL;            /* Never set: the defaults hold. */
    }

    struct json *json = json_from_file(path);
    const struct json *zones = (json && json->type == JSON_OBJECT
                                ? shash_find_data(json_object(json), "zones")
                                : NULL);
    long long limit;
    if (!json || json->type != JSON_OBJECT
        || !get_count(shash_find_data(json_object(json), "limit"), &limit)
        || !zones || zones->type != JSON_OBJECT) {
        error = xasprintf("%s: not a limits file", path);
        goto out;
    }

    /* Check every zone before applying any. */
    struct shash_node *node;
    SHASH_FOR_EACH (node, json_object(zones)) {
        unsigned int zone;
        long long zl;

        if (!str_to_uint(node->name, 10, &zone) || zone > 65535
            || !get_count(node->data, &zl)) {
            error = xasprintf("%s: bad zone limit \"%s\"", path, node->name);
            goto out;
        }
    }
    ct_engine_set_limit(engine, limit);
    SHASH_FOR_EACH (node, json_object(zones)) {
        unsigned int zone = 0;
        long long zl = 0;

        str_to_uint(node->name, 10, &zone);
        get_count(node->data, &zl);
        ct_engine_set_zone_limit(engine, zone, zl);
    }

out:
    json_destroy(json);
    free(path);
    return error;
}
