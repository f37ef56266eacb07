/*
 * The datapath's settings that offload/ commands change, kept in
 * --state-dir/datapath.json so that a restarted daemon keeps them:
 *
 *     {"default_pipeline": true, "router_mac": "02:00:00:00:00:01",
 *      "fdb_aging": 300, "neigh_aging": 900}
 */
#ifndef OFFLOAD_DATAPATH_SETTINGS_H
#define OFFLOAD_DATAPATH_SETTINGS_H 1

#include "openvswitch/compiler.h"

struct datapath;
struct datapath_tables;

/* Writes the current settings to 'dir' atomically. */
char *datapath_settings_save(const char *dir, const struct datapath *,
                             const struct datapath_tables *)
    OVS_WARN_UNUSED_RESULT;

/* Applies the settings saved in 'dir', if any.  A damaged file is an error
 * and applies nothing. */
char *datapath_settings_load(const char *dir, struct datapath *,
                             const struct datapath_tables *)
    OVS_WARN_UNUSED_RESULT;

#endif /* datapath-settings.h */
