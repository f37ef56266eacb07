/*
 * The offload/ ovs-appctl commands.  Each command checks all of its
 * arguments before it changes anything, and answers an error in one line.
 */
#include <config.h>
#include "offload-appctl.h"

#include <errno.h>
#include <string.h>
#include "ct-engine.h"
#include "dp-packet.h"
#include "flow.h"
#include "limits-file.h"
#include "openvswitch/dynamic-string.h"
#include "openvswitch/vlog.h"
#include "pcap-file.h"
#include "port-set.h"
#include "state-region.h"
#include "ct-entry.h"
#include "timeval.h"
#include "unixctl.h"
#include "util.h"
#include "vif-store.h"
#include "vif.h"

VLOG_DEFINE_THIS_MODULE(offload_appctl);

/* A replayed capture may hold at most this many frames. */
#define REPLAY_MAX_FRAMES 10000000

struct offload_appctl {
    struct vif_store *store;
    struct ct_engine *engine;
    struct port_set *ports;
};

static struct offload_appctl ctx;

static struct vif *
find_vif(struct unixctl_conn *conn, const char *iface_id)
{
    struct vif *vif = vif_store_find(ctx.store, iface_id);

    if (!vif) {
        char *msg = xasprintf("no VIF %s", iface_id);
        unixctl_command_reply_error(conn, msg);
        free(msg);
    }
    return vif;
}

static void
reply_error(struct unixctl_conn *conn, char *error)
{
    unixctl_command_reply_error(conn, error);
    free(error);
}

static void
reply_ds(struct unixctl_conn *conn, struct ds *s)
{
    unixctl_command_reply(conn, ds_cstr(s));
    ds_destroy(s);
}

static void
seal(void)
{
    ct_engine_seal(ctx.engine, time_msec());
}

static void
cmd_show(struct unixctl_conn *conn, int argc OVS_UNUSED,
         const char *argv[] OVS_UNUSED, void *aux OVS_UNUSED)
{
    struct ds s = DS_EMPTY_INITIALIZER;
    size_t n;
    struct vif **vifs = vif_store_list(ctx.store, &n);

    ds_put_format(&s, "state-dir: %s\n", vif_store_dir(ctx.store));
    ds_put_format(&s, "vifs: %"PRIuSIZE"\n", n);
    ds_put_format(&s, "conntrack entries: %"PRIu32" (limit %"PRIu32")\n",
                  ct_engine_n_entries(ctx.engine),
                  ct_engine_get_limit(ctx.engine));
    for (size_t i = 0; i < n; i++) {
        ds_put_format(&s, "  %s: netdev=%s zone=%"PRIu16" entries=%"PRIu32
                      "\n", vifs[i]->def.iface_id,
                      vifs[i]->netdev ? vifs[i]->netdev : "-",
                      vifs[i]->zone, ct_table_count(vifs[i]->ct));
    }
    free(vifs);
    ds_put_format(&s, "ports: %"PRIuSIZE"\n", port_set_count(ctx.ports));
    port_set_format(ctx.ports, &s);
    reply_ds(conn, &s);
}

static void
cmd_add_vif(struct unixctl_conn *conn, int argc, const char *argv[],
            void *aux OVS_UNUSED)
{
    /* offload/add-vif IFACE_ID NETDEV MAC [OPTION...]: the definition
     * parser takes IFACE_ID MAC [OPTION...]. */
    const char **args = xmalloc(argc * sizeof *args);
    struct oor_vif_def def;
    int zone = 0;

    args[0] = argv[1];
    for (int i = 3; i < argc; i++) {
        args[i - 2] = argv[i];
    }
    char *error = vif_def_parse(&def, &zone, argc - 2, args);
    free(args);
    if (error) {
        reply_error(conn, error);
        return;
    }

    const char *netdev = strcmp(argv[2], "-") ? argv[2] : NULL;
    struct vif *vif;
    error = vif_store_add(ctx.store, &def, netdev, zone, time_msec(), &vif);
    if (error) {
        reply_error(conn, error);
        return;
    }
    unixctl_command_reply(conn, NULL);
}

static void
cmd_bind_vif(struct unixctl_conn *conn, int argc OVS_UNUSED,
             const char *argv[], void *aux OVS_UNUSED)
{
    struct vif *vif = find_vif(conn, argv[1]);
    if (vif) {
        char *error = vif_store_bind(ctx.store, vif, strcmp(argv[2], "-")
                                     ? argv[2] : NULL);
        if (error) {
            reply_error(conn, error);
        } else {
            unixctl_command_reply(conn, NULL);
        }
    }
}

static void
cmd_del_vif(struct unixctl_conn *conn, int argc OVS_UNUSED,
            const char *argv[], void *aux OVS_UNUSED)
{
    struct vif *vif = find_vif(conn, argv[1]);
    if (vif) {
        vif_store_del(ctx.store, vif);
        unixctl_command_reply(conn, NULL);
    }
}

static void
cmd_list_vifs(struct unixctl_conn *conn, int argc OVS_UNUSED,
              const char *argv[] OVS_UNUSED, void *aux OVS_UNUSED)
{
    struct ds s = DS_EMPTY_INITIALIZER;
    size_t n;
    struct vif **vifs = vif_store_list(ctx.store, &n);

    for (size_t i = 0; i < n; i++) {
        ds_put_format(&s, "%s netdev=%s zone=%"PRIu16" ",
                      vifs[i]->def.iface_id,
                      vifs[i]->netdev ? vifs[i]->netdev : "-",
                      vifs[i]->zone);
        vif_def_format(&s, &vifs[i]->def);
        ds_put_format(&s, " entries=%"PRIu32, ct_table_count(vifs[i]->ct));
        if (vifs[i]->mode != VIF_ACTIVE) {
            ds_put_format(&s, " mode=%s", (vifs[i]->mode == VIF_STANDBY
                                           ? "standby" : "fenced"));
        }
        ds_put_char(&s, '\n');
    }
    free(vifs);
    reply_ds(conn, &s);
}

/* Reads every frame of 'file' before any is replayed, so that a damaged
 * capture changes nothing. */
static char *
read_capture(const char *file, struct dp_packet ***pktsp, size_t *np)
{
    struct pcap_file *pcap = ovs_pcap_open(file, "rb");
    if (!pcap) {
        return xasprintf("%s: cannot open capture (%s)", file,
                         ovs_strerror(errno));
    }

    struct dp_packet **pkts = NULL;
    size_t n = 0, allocated = 0;
    char *error = NULL;
    for (;;) {
        struct dp_packet *pkt;
        int retval = ovs_pcap_read(pcap, &pkt, NULL);

        if (retval == EOF) {
            break;
        } else if (retval) {
            error = xasprintf("%s: frame %"PRIuSIZE": %s", file, n + 1,
                              ovs_strerror(retval));
            break;
        } else if (n >= REPLAY_MAX_FRAMES) {
            dp_packet_delete(pkt);
            error = xasprintf("%s: more than %d frames", file,
                              REPLAY_MAX_FRAMES);
            break;
        }
        if (n >= allocated) {
            pkts = x2nrealloc(pkts, &allocated, sizeof *pkts);
        }
        pkts[n++] = pkt;
    }
    ovs_pcap_close(pcap);

    if (error) {
        for (size_t i = 0; i < n; i++) {
            dp_packet_delete(pkts[i]);
        }
        free(pkts);
        return error;
    }
    *pktsp = pkts;
    *np = n;
    return NULL;
}

static void
cmd_replay(struct unixctl_conn *conn, int argc, const char *argv[],
           void *aux OVS_UNUSED)
{
    bool verdicts = false;
    if (argc > 3) {
        if (strcmp(argv[3], "--verdicts")) {
            reply_error(conn, xasprintf("unknown option \"%s\"", argv[3]));
            return;
        }
        verdicts = true;
    }

    struct vif *vif = find_vif(conn, argv[1]);
    if (!vif) {
        return;
    }
    if (vif->mode != VIF_ACTIVE) {
        /* A fenced VIF's state must stay as the destination pulls it, and a
         * standby's is the source's. */
        reply_error(conn, xasprintf("VIF %s is %s here; replay needs an "
                                    "active VIF", argv[1],
                                    (vif->mode == VIF_STANDBY
                                     ? "a standby" : "fenced")));
        return;
    }

    struct dp_packet **pkts = NULL;
    size_t n = 0;
    char *error = read_capture(argv[2], &pkts, &n);
    if (error) {
        reply_error(conn, error);
        return;
    }

    struct ds s = DS_EMPTY_INITIALIZER;
    struct eth_addr mac;
    size_t n_allowed = 0;

    memcpy(mac.ea, vif->def.mac, sizeof mac.ea);
    for (size_t i = 0; i < n; i++) {
        struct dp_packet *pkt = pkts[i];
        struct flow flow;

        pkt_metadata_init(&pkt->md, 0);
        flow_extract(pkt, &flow);

        bool from_vm = eth_addr_equals(flow.dl_src, mac);
        /* A replay has no ports: the VM's frames are taken to leave the
         * host. */
        struct vif_verdict v = vif_process(vif, pkt, &flow, from_vm, from_vm,
                                           time_msec());
        n_allowed += v.allow;
        if (verdicts) {
            ds_put_format(&s, "%"PRIuSIZE" ", i + 1);
            ct_state_format(&s, v.ct_state);
            ds_put_format(&s, " %s\n", v.allow ? "allow" : "drop");
        }
        dp_packet_delete(pkt);
    }
    free(pkts);
    seal();

    if (!verdicts) {
        ds_put_format(&s, "%"PRIuSIZE" frames: %"PRIuSIZE" allowed, "
                      "%"PRIuSIZE" dropped\n", n, n_allowed, n - n_allowed);
    }
    reply_ds(conn, &s);
}

/* Parses the optional "IFACE_ID|zone=N" selector of the conntrack commands
 * and the flags after it.  Sets '*tablep' to the selected table, a VIF's or
 * a host zone's (ct(zone=N) that no VIF has), or NULL for every VIF's. */
static bool
parse_ct_selector(struct unixctl_conn *conn, int argc, const char *argv[],
                  bool allow_stats, struct ct_table **tablep, bool *stats)
{
    *tablep = NULL;
    *stats = false;
    for (int i = 1; i < argc; i++) {
        unsigned int zone;

        if (allow_stats && !strcmp(argv[i], "--stats")) {
            *stats = true;
        } else if (*tablep) {
            reply_error(conn, xasprintf("unexpected argument \"%s\"",
                                        argv[i]));
            return false;
        } else if (!strncmp(argv[i], "zone=", 5)) {
            if (!str_to_uint(argv[i] + 5, 10, &zone) || zone > 65535) {
                reply_error(conn, xasprintf("\"%s\" is not a zone",
                                            argv[i]));
                return false;
            }
            /* A VIF's table is in the engine under the VIF's zone, and a
             * host zone's under its own. */
            *tablep = ct_engine_find_table(ctx.engine, zone);
            if (!*tablep) {
                reply_error(conn, xasprintf("no VIF in zone %u", zone));
                return false;
            }
        } else {
            struct vif *vif = find_vif(conn, argv[i]);

            if (!vif) {
                return false;
            }
            *tablep = vif->ct;
        }
    }
    return true;
}

static void
cmd_dump_conntrack(struct unixctl_conn *conn, int argc, const char *argv[],
                   void *aux OVS_UNUSED)
{
    struct ct_table *table;
    bool stats;

    if (!parse_ct_selector(conn, argc, argv, true, &table, &stats)) {
        return;
    }

    struct ds s = DS_EMPTY_INITIALIZER;
    long long now = time_msec();
    if (table) {
        ct_table_dump(table, &s, now, stats);
    } else {
        size_t n;
        struct vif **vifs = vif_store_list(ctx.store, &n);

        for (size_t i = 0; i < n; i++) {
            ct_table_dump(vifs[i]->ct, &s, now, stats);
        }
        free(vifs);
    }
    reply_ds(conn, &s);
}

static void
cmd_flush_conntrack(struct unixctl_conn *conn, int argc, const char *argv[],
                    void *aux OVS_UNUSED)
{
    struct ct_table *table;
    bool stats;

    if (!parse_ct_selector(conn, argc, argv, false, &table, &stats)) {
        return;
    }
    if (table) {
        ct_table_flush(table);
    } else {
        size_t n;
        struct vif **vifs = vif_store_list(ctx.store, &n);

        for (size_t i = 0; i < n; i++) {
            ct_table_flush(vifs[i]->ct);
        }
        free(vifs);
    }
    seal();
    unixctl_command_reply(conn, NULL);
}

static void
cmd_ct_stats(struct unixctl_conn *conn, int argc OVS_UNUSED,
             const char *argv[] OVS_UNUSED, void *aux OVS_UNUSED)
{
    struct ds s = DS_EMPTY_INITIALIZER;

    ct_engine_format_stats(ctx.engine, &s);
    reply_ds(conn, &s);
}

static bool
parse_limit(struct unixctl_conn *conn, const char *arg, unsigned int *limit)
{
    if (!str_to_uint(arg, 10, limit)) {
        reply_error(conn, xasprintf("\"%s\" is not a number", arg));
        return false;
    }
    return true;
}

/* Sets a limit and saves the limits; on failure the old value comes back. */
static void
set_limit(struct unixctl_conn *conn, int zone, uint32_t limit)
{
    uint32_t old = (zone < 0 ? ct_engine_get_limit(ctx.engine)
                    : ct_engine_get_zone_limit(ctx.engine, zone));
    char *error;

    if (zone < 0) {
        ct_engine_set_limit(ctx.engine, limit);
    } else {
        ct_engine_set_zone_limit(ctx.engine, zone, limit);
    }
    error = limits_file_save(vif_store_dir(ctx.store), ctx.engine);
    if (error) {
        if (zone < 0) {
            ct_engine_set_limit(ctx.engine, old);
        } else {
            ct_engine_set_zone_limit(ctx.engine, zone, old);
        }
        reply_error(conn, error);
        return;
    }
    unixctl_command_reply(conn, NULL);
}

static void
cmd_ct_set_limit(struct unixctl_conn *conn, int argc, const char *argv[],
                 void *aux OVS_UNUSED)
{
    unsigned int limit, zone;

    if (argc == 2) {
        if (parse_limit(conn, argv[1], &limit)) {
            set_limit(conn, -1, limit);
        }
    } else if (strncmp(argv[1], "zone=", 5)
               || !str_to_uint(argv[1] + 5, 10, &zone) || zone > 65535) {
        reply_error(conn, xasprintf("\"%s\" is not zone=N", argv[1]));
    } else if (parse_limit(conn, argv[2], &limit)) {
        set_limit(conn, zone, limit);
    }
}

static void
cmd_export(struct unixctl_conn *conn, int argc OVS_UNUSED,
           const char *argv[], void *aux OVS_UNUSED)
{
    struct vif *vif = find_vif(conn, argv[1]);
    if (vif) {
        char *error = state_region_export(vif->region, argv[2],
                                          time_msec());
        if (error) {
            reply_error(conn, error);
        } else {
            unixctl_command_reply(conn, NULL);
        }
    }
}

static void
cmd_import(struct unixctl_conn *conn, int argc, const char *argv[],
           void *aux OVS_UNUSED)
{
    bool replace = false;
    if (argc > 2) {
        if (strcmp(argv[2], "--replace")) {
            reply_error(conn, xasprintf("unknown option \"%s\"", argv[2]));
            return;
        }
        replace = true;
    }

    void *image;
    size_t len;
    char *error = state_image_read(argv[1], vif_check_slot, &image,
                                   &len);
    if (error) {
        reply_error(conn, error);
        return;
    }

    struct vif *vif;
    error = vif_store_import(ctx.store, image, len, replace, time_msec(),
                             &vif);
    free(image);
    if (error) {
        reply_error(conn, error);
        return;
    }
    char *msg = xasprintf("imported VIF %s: %"PRIu32" conntrack entries",
                          vif->def.iface_id, ct_table_count(vif->ct));
    unixctl_command_reply(conn, msg);
    free(msg);
}

void
offload_appctl_register(struct vif_store *store, struct ct_engine *engine,
                        struct port_set *ports)
{
    ctx.store = store;
    ctx.engine = engine;
    ctx.ports = ports;

    unixctl_command_register("offload/show", "", 0, 0, cmd_show, NULL);
    unixctl_command_register("offload/add-vif",
                             "IFACE_ID NETDEV MAC [ip=ADDR[,ADDR...]] "
                             "[fip=ADDR[,ADDR...]] "
                             "[zone=N] [policy=stateful|loose|open] "
                             "[allow=PROTO:PORT|icmp|icmp6[,...]] [cookie=N]",
                             3, 3 + 6, cmd_add_vif, NULL);
    unixctl_command_register("offload/bind-vif", "IFACE_ID NETDEV", 2, 2,
                             cmd_bind_vif, NULL);
    unixctl_command_register("offload/del-vif", "IFACE_ID", 1, 1,
                             cmd_del_vif, NULL);
    unixctl_command_register("offload/list-vifs", "", 0, 0, cmd_list_vifs,
                             NULL);
    unixctl_command_register("offload/replay", "IFACE_ID PCAP [--verdicts]",
                             2, 3, cmd_replay, NULL);
    unixctl_command_register("offload/dump-conntrack",
                             "[IFACE_ID|zone=N] [--stats]", 0, 2,
                             cmd_dump_conntrack, NULL);
    unixctl_command_register("offload/flush-conntrack", "[IFACE_ID|zone=N]",
                             0, 1, cmd_flush_conntrack, NULL);
    unixctl_command_register("offload/ct-stats", "", 0, 0, cmd_ct_stats,
                             NULL);
    unixctl_command_register("offload/ct-set-limit", "[zone=N] LIMIT",
                             1, 2, cmd_ct_set_limit, NULL);
    unixctl_command_register("offload/export", "IFACE_ID FILE", 2, 2,
                             cmd_export, NULL);
    unixctl_command_register("offload/import", "FILE [--replace]", 1, 2,
                             cmd_import, NULL);
}
