/*
 * ovs-offloadd: the offload provider.  It keeps each VIF's offloaded state in
 * a state region under --state-dir and answers ovs-appctl.
 *
 * Migrations travel over OVS streams: --listen=ptcp:/pssl: on the source,
 * "migrate/start IFACE tcp:/ssl:..." on the destination.  The standard OVS
 * SSL options (--private-key, --certificate, --ca-cert) configure both the
 * pssl: listeners and the ssl: client connections; each side then refuses a
 * peer whose certificate its CA did not sign.
 */
#include <config.h>

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "command-line.h"
#include "ct-engine.h"
#include "datapath-appctl.h"
#include "datapath-settings.h"
#include "datapath.h"
#include "daemon.h"
#include "dirs.h"
#include "fatal-signal.h"
#include "fdb.h"
#include "host-zones.h"
#include "limits-file.h"
#include "migration-appctl.h"
#include "migration.h"
#include "neigh.h"
#include "offload-appctl.h"
#include "openvswitch/poll-loop.h"
#include "openvswitch/vlog.h"
#include "port-set.h"
#include "port.h"
#include "route.h"
#include "stream-ssl.h"
#include "svec.h"
#include "transport.h"
#include "timeval.h"
#include "unixctl.h"
#include "util.h"
#include "vif-store.h"

VLOG_DEFINE_THIS_MODULE(ovs_offloadd);

#define DEFAULT_STATE_DIR "/dev/shm/ovs-offloadd"

/* How often, at most, the expiry sweep runs when nothing else happens. */
#define SWEEP_INTERVAL_MS 1000

static char *state_dir;
static char *unixctl_path;
static struct svec listeners;       /* --listen=ptcp:/pssl:, repeatable. */

/* Which of the SSL options were given, to refuse a pssl: listener that
 * cannot work with a message that says why. */
static bool ssl_private_key, ssl_certificate, ssl_ca_cert;

OVS_NO_RETURN static void usage(void);
static void parse_options(int argc, char *argv[]);

static void
ovs_offloadd_exit(struct unixctl_conn *conn, int argc OVS_UNUSED,
                  const char *argv[] OVS_UNUSED, void *exiting_)
{
    bool *exiting = exiting_;

    *exiting = true;
    unixctl_command_reply(conn, NULL);
}

static void
load_or_die(char *error)
{
    if (error) {
        ovs_fatal(0, "%s", error);
    }
}

static void
make_state_dir(const char *dir)
{
    if (mkdir(dir, 0700) && errno != EEXIST) {
        ovs_fatal(errno, "%s: cannot create state directory", dir);
    }
}

int
main(int argc, char *argv[])
{
    struct unixctl_server *unixctl;
    bool exiting = false;
    char *error;

    set_program_name(argv[0]);
    service_start(&argc, &argv);
    fatal_ignore_sigpipe();
    parse_options(argc, argv);

    make_state_dir(state_dir);
    daemonize_start(false);

    int retval = unixctl_server_create(unixctl_path, &unixctl);
    if (retval) {
        exit(EXIT_FAILURE);
    }
    unixctl_command_register("exit", "", 0, 0, ovs_offloadd_exit, &exiting);

    struct ct_engine *engine = ct_engine_create();
    error = limits_file_load(state_dir, engine);
    if (error) {
        ovs_fatal(0, "%s", error);
    }

    /* Offloads stay on: the ports read and write with a vnet header. */
    port_offloads_init(true);
    struct datapath_tables tables = {
        .ct = engine,
        .fdb = fdb_create(),
        .neigh = neigh_table_create(state_dir),
        .routes = route_table_create(state_dir),
        .ports = port_set_open(state_dir, &error),
        .host_zones = NULL,
    };
    if (!tables.ports) {
        ovs_fatal(0, "%s", error);
    }
    load_or_die(neigh_table_load(tables.neigh));
    load_or_die(route_table_load(tables.routes));

    char *host_flows = xasprintf("%s/host-flows", state_dir);
    struct datapath *dp = datapath_create(&tables, host_flows);
    free(host_flows);

    struct vif_modules modules = {
        .ct = engine,
        .fdb = tables.fdb,
        .neigh = tables.neigh,
        .routes = tables.routes,
        .flows = datapath_flows(dp),
    };
    struct vif_store *store = vif_store_open(state_dir, &modules,
                                             time_msec(), &error);
    if (!store) {
        ovs_fatal(0, "%s", error);
    }
    /* After the VIFs, which have the first claim on their zones. */
    tables.host_zones = host_zones_open(state_dir, engine, time_msec());
    datapath_set_host_zones(dp, tables.host_zones);
    datapath_set_vifs(dp, store);
    offload_appctl_register(store, engine, tables.ports);
    load_or_die(datapath_settings_load(state_dir, dp, &tables));
    datapath_appctl_register(dp, &tables, store, state_dir);

    /* Migration: listeners are not state; they come from the command
     * line. */
    struct transport_server *server = transport_server_create(NULL);
    const char *listener;
    size_t i;
    SVEC_FOR_EACH (i, listener, &listeners) {
        load_or_die(transport_server_listen(server, listener, NULL));
    }
    struct migration_engine *migrations = migration_engine_create(store, dp,
                                                                  server);
    migration_appctl_register(migrations, dp);
    daemonize_complete();
    VLOG_INFO("ovs-offloadd started, state in %s", state_dir);

    while (!exiting) {
        long long now = time_msec();

        unixctl_server_run(unixctl);
        transport_server_run(server);
        migration_engine_run(migrations);
        datapath_run(dp, now);
        ct_engine_run(engine, now);
        ct_engine_seal(engine, now);

        unixctl_server_wait(unixctl);
        transport_server_wait(server);
        migration_engine_wait(migrations);
        datapath_wait(dp);
        poll_timer_wait(SWEEP_INTERVAL_MS);
        poll_block();
    }

    migration_engine_destroy(migrations);
    transport_server_destroy(server);
    vif_store_close(store);
    datapath_destroy(dp);
    host_zones_close(tables.host_zones);
    port_set_close(tables.ports);
    route_table_destroy(tables.routes);
    neigh_table_destroy(tables.neigh);
    fdb_destroy(tables.fdb);
    ct_engine_destroy(engine);
    unixctl_server_destroy(unixctl);
    service_stop();
    free(state_dir);
    free(unixctl_path);
    return 0;
}

static void
parse_options(int argc, char *argv[])
{
    enum {
        OPT_STATE_DIR = UCHAR_MAX + 1,
        OPT_UNIXCTL,
        OPT_LISTEN,
        VLOG_OPTION_ENUMS,
        DAEMON_OPTION_ENUMS,
        SSL_OPTION_ENUMS,
    };
    static const struct option long_options[] = {
        {"state-dir", required_argument, NULL, OPT_STATE_DIR},
        {"unixctl", required_argument, NULL, OPT_UNIXCTL},
        {"listen", required_argument, NULL, OPT_LISTEN},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        DAEMON_LONG_OPTIONS,
        VLOG_LONG_OPTIONS,
        STREAM_SSL_LONG_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    char *short_options = ovs_cmdl_long_options_to_short_options(long_options);

    for (;;) {
        int c = getopt_long(argc, argv, short_options, long_options, NULL);
        if (c == -1) {
            break;
        }
        ssl_private_key |= c == 'p';
        ssl_certificate |= c == 'c';
        ssl_ca_cert |= c == 'C';

        switch (c) {
        case OPT_STATE_DIR:
            free(state_dir);
            state_dir = xstrdup(optarg);
            break;

        case OPT_UNIXCTL:
            free(unixctl_path);
            unixctl_path = xstrdup(optarg);
            break;

        case OPT_LISTEN:
            svec_add(&listeners, optarg);
            break;

        case 'h':
            usage();

        case 'V':
            ovs_print_version(0, 0);
            exit(EXIT_SUCCESS);

        VLOG_OPTION_HANDLERS
        DAEMON_OPTION_HANDLERS
        STREAM_SSL_OPTION_HANDLERS

        case '?':
            exit(EXIT_FAILURE);

        default:
            abort();
        }
    }
    free(short_options);

    if (optind < argc) {
        ovs_fatal(0, "unexpected argument \"%s\" (use --help for help)",
                  argv[optind]);
    }
    if (!state_dir) {
        state_dir = xstrdup(DEFAULT_STATE_DIR);
    }

    /* OVS would only log this once the listener fails, as "Protocol not
     * available". */
    const char *listener;
    size_t i;
    SVEC_FOR_EACH (i, listener, &listeners) {
        if (!strncmp(listener, "pssl:", 5)
            && !(ssl_private_key && ssl_certificate && ssl_ca_cert)) {
            ovs_fatal(0, "--listen=%s needs --private-key, --certificate "
                      "and --ca-cert", listener);
        }
    }
}

static void
usage(void)
{
    printf("%s: the OVS offload provider\n"
           "usage: %s [OPTIONS]\n"
           "\nOptions:\n"
           "  --state-dir=DIR         keep state regions in DIR (default "
           DEFAULT_STATE_DIR ")\n"
           "  --unixctl=SOCKET        override the default control socket\n"
           "  --listen=ptcp:PORT[:IP] serve migrations there (repeatable);\n"
           "  --listen=pssl:PORT[:IP] the same over SSL\n"
           "\nSSL options, for pssl: listeners and ssl: sources:\n"
           "  -p, --private-key=FILE  file with this daemon's private key\n"
           "  -c, --certificate=FILE  file with its certificate\n"
           "  -C, --ca-cert=FILE      CA certificate that signs its peers'\n"
           "  --ssl-protocols=LIST    SSL protocols to allow\n"
           "  --ssl-ciphers=LIST      SSL ciphers to allow\n",
           program_name, program_name);
    daemon_usage();
    vlog_usage();
    printf("\nOther options:\n"
           "  -h, --help              display this help message\n"
           "  -V, --version           display version information\n");
    exit(EXIT_SUCCESS);
}
