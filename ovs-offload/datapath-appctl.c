/*
 * The datapath's offload/ ovs-appctl commands: ports, flows, FDB,
 * neighbours, routes and the default pipeline.  Each command checks all of
 * its arguments before it changes anything and answers an error in one
 * line.
 */
#include <config.h>
#include "datapath-appctl.h"

#include <string.h>
#include "datapath-settings.h"
#include "datapath.h"
#include "fdb.h"
#include "flow-table.h"
#include "flow.h"
#include "neigh.h"
#include "openvswitch/dynamic-string.h"
#include "openvswitch/ofp-port.h"
#include "packets.h"
#include "port-set.h"
#include "route.h"
#include "timeval.h"
#include "unixctl.h"
#include "util.h"
#include "vif-store.h"
#include "vif.h"

static struct datapath *dp;
static struct datapath_tables tables;
static struct vif_store *vifs;
static const char *state_dir;

static void
reply(struct unixctl_conn *conn, char *error)
{
    if (error) {
        unixctl_command_reply_error(conn, error);
        free(error);
    } else {
        unixctl_command_reply(conn, NULL);
    }
}

static void
reply_ds(struct unixctl_conn *conn, struct ds *s)
{
    unixctl_command_reply(conn, ds_cstr(s));
    ds_destroy(s);
}

/* If argv[*i] is "vif=IFACE_ID", stores that VIF in '*vifp' and moves '*i'
 * past it; returns false, having replied, for an unknown VIF. */
static bool
parse_vif_arg(struct unixctl_conn *conn, const char *argv[], int *i,
              struct vif **vifp)
{
    *vifp = NULL;
    if (strncmp(argv[*i], "vif=", 4)) {
        return true;
    }
    *vifp = vif_store_find(vifs, argv[*i] + 4);
    if (!*vifp) {
        reply(conn, xasprintf("no VIF %s", argv[*i] + 4));
        return false;
    }
    ++*i;
    return true;
}

/* Ports. */

static void
cmd_add_port(struct unixctl_conn *conn, int argc, const char *argv[],
             void *aux OVS_UNUSED)
{
    bool uplink = false;
    struct port *port;

    if (argc > 2) {
        if (strcmp(argv[2], "uplink")) {
            reply(conn, xasprintf("unknown option \"%s\" (uplink?)",
                                  argv[2]));
            return;
        }
        uplink = true;
    }
    char *error = port_set_add(tables.ports, argv[1], uplink, &port);
    if (!error) {
        datapath_reconfigure(dp);
    }
    reply(conn, error);
}

static void
cmd_del_port(struct unixctl_conn *conn, int argc OVS_UNUSED,
             const char *argv[], void *aux OVS_UNUSED)
{
    struct port *port = port_set_find(tables.ports, argv[1]);

    if (port) {
        uint32_t port_no = ofp_to_u16(port->port_no);

        fdb_flush_port(tables.fdb, port_no);
        neigh_flush_port(tables.neigh, port_no);
        route_unbind_port(tables.routes, port_no);
    }

    char *error = port_set_del(tables.ports, argv[1]);
    if (!error) {
        datapath_reconfigure(dp);
    }
    reply(conn, error);
}

static void
cmd_list_ports(struct unixctl_conn *conn, int argc OVS_UNUSED,
               const char *argv[] OVS_UNUSED, void *aux OVS_UNUSED)
{
    struct ds s = DS_EMPTY_INITIALIZER;

    port_set_format(tables.ports, &s);
    reply_ds(conn, &s);
}

/* Flows. */

/* A flow given unquoted arrives as several arguments, as it would to
 * ovs-ofctl: joins argv[i...] with spaces. */
static char *
join_args(int i, int argc, const char *argv[])
{
    struct ds s = DS_EMPTY_INITIALIZER;

    for (; i < argc; i++) {
        ds_put_format(&s, "%s%s", s.length ? " " : "", argv[i]);
    }
    return ds_steal_cstr(&s);
}

static void
cmd_add_flow(struct unixctl_conn *conn, int argc, const char *argv[],
             void *aux OVS_UNUSED)
{
    char *flow = join_args(1, argc, argv);

    reply(conn, flow_table_add(datapath_flows(dp), flow, time_msec()));
    free(flow);
}

static void
cmd_del_flows(struct unixctl_conn *conn, int argc, const char *argv[],
              void *aux OVS_UNUSED)
{
    bool strict = argc > 1 && !strcmp(argv[1], "--strict");
    char *flow = join_args(1 + strict, argc, argv);
    size_t n;

    reply(conn, flow_table_del(datapath_flows(dp), flow, strict, &n));
    free(flow);
}

static void
cmd_dump_flows(struct unixctl_conn *conn, int argc, const char *argv[],
               void *aux OVS_UNUSED)
{
    struct flow_dump_filter filter = { .table_id = -1 };
    struct ds s = DS_EMPTY_INITIALIZER;

    for (int i = 1; i < argc; i++) {
        unsigned int table;

        if (!strncmp(argv[i], "vif=", 4)) {
            if (!vif_store_find(vifs, argv[i] + 4)) {
                reply(conn, xasprintf("no VIF %s", argv[i] + 4));
                return;
            }
            filter.by_owner = true;
            filter.owner = argv[i] + 4;
        } else if (!strcmp(argv[i], "host")) {
            filter.by_owner = true;
            filter.owner = NULL;
        } else if (str_to_uint(argv[i], 10, &table) && table < 255) {
            filter.table_id = table;
        } else {
            reply(conn, xasprintf("\"%s\" is not a table (0-254), "
                                  "vif=IFACE_ID or host", argv[i]));
            return;
        }
    }
    flow_table_dump(datapath_flows(dp), &filter, time_msec(), &s);
    reply_ds(conn, &s);
}

/* L2 and L3 state. */

static const char *
port_name(uint32_t port_no, void *aux OVS_UNUSED)
{
    struct port *port = port_set_find_by_number(tables.ports,
                                                u16_to_ofp(port_no));
    return port ? port->name : "?";
}

static void
cmd_fdb_show(struct unixctl_conn *conn, int argc OVS_UNUSED,
             const char *argv[] OVS_UNUSED, void *aux OVS_UNUSED)
{
    struct ds s = DS_EMPTY_INITIALIZER;

    fdb_show(tables.fdb, &s, time_msec(), port_name, NULL);
    reply_ds(conn, &s);
}

static void
cmd_neigh_show(struct unixctl_conn *conn, int argc OVS_UNUSED,
               const char *argv[] OVS_UNUSED, void *aux OVS_UNUSED)
{
    struct ds s = DS_EMPTY_INITIALIZER;

    neigh_show(tables.neigh, &s, time_msec(), port_name, NULL);
    reply_ds(conn, &s);
}

/* offload/neigh-add [vif=IFACE_ID] IP MAC */
static void
cmd_neigh_add(struct unixctl_conn *conn, int argc, const char *argv[],
              void *aux OVS_UNUSED)
{
    struct vif *vif;
    struct in6_addr ip;
    struct eth_addr mac;
    int i = 1;

    if (!parse_vif_arg(conn, argv, &i, &vif)) {
        return;
    }
    if (argc - i != 2) {
        reply(conn, xstrdup("expected [vif=IFACE_ID] IP MAC"));
    } else if (!neigh_parse_ip(argv[i], &ip)) {
        reply(conn, xasprintf("\"%s\" is not a unicast IP address",
                              argv[i]));
    } else if (!eth_addr_from_string(argv[i + 1], &mac)
               || eth_addr_is_multicast(mac) || eth_addr_is_zero(mac)) {
        reply(conn, xasprintf("\"%s\" is not a unicast MAC address",
                              argv[i + 1]));
    } else {
        reply(conn, neigh_add_static(tables.neigh, vif ? vif->neigh : NULL,
                                     &ip, mac, time_msec()));
    }
}

static void
cmd_neigh_del(struct unixctl_conn *conn, int argc OVS_UNUSED,
              const char *argv[], void *aux OVS_UNUSED)
{
    struct in6_addr ip;

    if (!neigh_parse_ip(argv[1], &ip)) {
        reply(conn, xasprintf("\"%s\" is not a unicast IP address",
                              argv[1]));
    } else {
        reply(conn, neigh_del(tables.neigh, &ip));
    }
}

/* offload/route-add [vif=IFACE_ID] PREFIX/LEN [via NEXTHOP] [dev PORT] */
static void
cmd_route_add(struct unixctl_conn *conn, int argc, const char *argv[],
              void *aux OVS_UNUSED)
{
    struct vif *vif;
    struct route_spec spec;
    int i = 1;

    if (!parse_vif_arg(conn, argv, &i, &vif)) {
        return;
    }

    char *error = route_spec_parse(&spec, argc - i, argv + i);
    if (error) {
        reply(conn, error);
        return;
    }

    uint32_t port_no = ROUTE_PORT_NONE;
    if (spec.dev) {
        struct port *port = port_set_find(tables.ports, spec.dev);
        if (port) {
            port_no = ofp_to_u16(port->port_no);
        }
    }
    reply(conn, route_add(tables.routes, vif ? vif->routes : NULL, &spec,
                          port_no));
    route_spec_destroy(&spec);
}

static void
cmd_route_del(struct unixctl_conn *conn, int argc, const char *argv[],
              void *aux OVS_UNUSED)
{
    struct route_spec spec;
    char *error = route_spec_parse(&spec, argc - 1, argv + 1);

    if (!error) {
        error = route_del(tables.routes, &spec);
        route_spec_destroy(&spec);
    }
    reply(conn, error);
}

static void
cmd_route_show(struct unixctl_conn *conn, int argc OVS_UNUSED,
               const char *argv[] OVS_UNUSED, void *aux OVS_UNUSED)
{
    struct ds s = DS_EMPTY_INITIALIZER;

    route_show(tables.routes, &s);
    reply_ds(conn, &s);
}

/* Saves the settings after a change; on failure the caller's 'undo' puts
 * the old value back, so nothing is half-applied. */
static bool
save_settings(struct unixctl_conn *conn)
{
    char *error = datapath_settings_save(state_dir, dp, &tables);

    if (error) {
        reply(conn, error);
        return false;
    }
    return true;
}

static void
cmd_set_router_mac(struct unixctl_conn *conn, int argc OVS_UNUSED,
                   const char *argv[], void *aux OVS_UNUSED)
{
    struct eth_addr mac;

    if (!eth_addr_from_string(argv[1], &mac) || eth_addr_is_multicast(mac)) {
        reply(conn, xasprintf("\"%s\" is not a unicast MAC address",
                              argv[1]));
        return;
    }
    struct eth_addr old = route_get_router_mac(tables.routes);
    route_set_router_mac(tables.routes, mac);
    if (save_settings(conn)) {
        reply(conn, NULL);
    } else {
        route_set_router_mac(tables.routes, old);
    }
}

static void
cmd_default_pipeline(struct unixctl_conn *conn, int argc,
                     const char *argv[], void *aux OVS_UNUSED)
{
    if (argc > 1) {
        bool old = datapath_get_default_pipeline(dp);

        if (strcmp(argv[1], "on") && strcmp(argv[1], "off")) {
            reply(conn, xasprintf("\"%s\": expected on or off", argv[1]));
            return;
        }
        datapath_set_default_pipeline(dp, !strcmp(argv[1], "on"));
        if (!save_settings(conn)) {
            datapath_set_default_pipeline(dp, old);
            return;
        }
    }
    unixctl_command_reply(conn, datapath_get_default_pipeline(dp)
                                ? "on" : "off");
}

static void
set_aging(bool fdb, unsigned int s)
{
    if (fdb) {
        fdb_set_idle_time(tables.fdb, s);
    } else {
        neigh_set_idle_time(tables.neigh, s);
    }
}

/* offload/set-aging fdb|neigh SECONDS */
static void
cmd_set_aging(struct unixctl_conn *conn, int argc OVS_UNUSED,
              const char *argv[], void *aux OVS_UNUSED)
{
    bool fdb = !strcmp(argv[1], "fdb");
    unsigned int s;

    if (!fdb && strcmp(argv[1], "neigh")) {
        reply(conn, xasprintf("\"%s\": expected fdb or neigh", argv[1]));
    } else if (!str_to_uint(argv[2], 10, &s)
               || (fdb ? s < FDB_MIN_IDLE_TIME || s > FDB_MAX_IDLE_TIME
                   : !s || s > 86400)) {
        reply(conn, xasprintf("\"%s\": expected seconds from %u to %u",
                              argv[2], fdb ? FDB_MIN_IDLE_TIME : 1,
                              fdb ? FDB_MAX_IDLE_TIME : 86400));
    } else {
        unsigned int old = (fdb ? fdb_get_idle_time(tables.fdb)
                            : neigh_get_idle_time(tables.neigh));

        set_aging(fdb, s);
        if (save_settings(conn)) {
            reply(conn, NULL);
        } else {
            set_aging(fdb, old);
        }
    }
}

void
datapath_appctl_register(struct datapath *dp_,
                         const struct datapath_tables *tables_,
                         struct vif_store *vifs_, const char *state_dir_)
{
    dp = dp_;
    tables = *tables_;
    vifs = vifs_;
    state_dir = state_dir_;

    unixctl_command_register("offload/add-port", "NETDEV [uplink]", 1, 2,
                             cmd_add_port, NULL);
    unixctl_command_register("offload/del-port", "NETDEV", 1, 1,
                             cmd_del_port, NULL);
    unixctl_command_register("offload/list-ports", "", 0, 0,
                             cmd_list_ports, NULL);
    unixctl_command_register("offload/add-flow", "FLOW", 1, INT_MAX,
                             cmd_add_flow, NULL);
    unixctl_command_register("offload/del-flows", "[--strict] [FLOW]", 0,
                             INT_MAX, cmd_del_flows, NULL);
    unixctl_command_register("offload/dump-flows",
                             "[TABLE] [vif=IFACE_ID|host]", 0, 2,
                             cmd_dump_flows, NULL);
    unixctl_command_register("offload/fdb-show", "", 0, 0, cmd_fdb_show,
                             NULL);
    unixctl_command_register("offload/neigh-show", "", 0, 0,
                             cmd_neigh_show, NULL);
    unixctl_command_register("offload/neigh-add", "[vif=IFACE_ID] IP MAC",
                             2, 3, cmd_neigh_add, NULL);
    unixctl_command_register("offload/neigh-del", "IP", 1, 1,
                             cmd_neigh_del, NULL);
    unixctl_command_register("offload/route-add",
                             "[vif=IFACE_ID] PREFIX/LEN [via NEXTHOP] "
                             "[dev PORT]", 1, 6, cmd_route_add, NULL);
    unixctl_command_register("offload/route-del", "PREFIX/LEN", 1, 5,
                             cmd_route_del, NULL);
    unixctl_command_register("offload/route-show", "", 0, 0,
                             cmd_route_show, NULL);
    unixctl_command_register("offload/set-router-mac", "MAC", 1, 1,
                             cmd_set_router_mac, NULL);
    unixctl_command_register("offload/default-pipeline", "[on|off]", 0, 1,
                             cmd_default_pipeline, NULL);
    unixctl_command_register("offload/set-aging", "fdb|neigh SECONDS", 2, 2,
                             cmd_set_aging, NULL);
}
