/*
 * ovs-offloadd: the offload provider.  It keeps each VIF's offloaded state in
 * a state region under --state-dir and answers ovs-appctl.
 */
#include <config.h>

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <sys/stat.h>
#include "command-line.h"
#include "ct-engine.h"
#include "daemon.h"
#include "dirs.h"
#include "fatal-signal.h"
#include "limits-file.h"
#include "offload-appctl.h"
#include "openvswitch/poll-loop.h"
#include "openvswitch/vlog.h"
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
    struct vif_store *store = vif_store_open(state_dir, engine, time_msec(),
                                             &error);
    if (!store) {
        ovs_fatal(0, "%s", error);
    }
    offload_appctl_register(store, engine);
    daemonize_complete();
    VLOG_INFO("ovs-offloadd started, state in %s", state_dir);

    while (!exiting) {
        long long now = time_msec();

        unixctl_server_run(unixctl);
        ct_engine_run(engine, now);
        ct_engine_seal(engine, now);

        unixctl_server_wait(unixctl);
        poll_timer_wait(SWEEP_INTERVAL_MS);
        poll_block();
    }

    vif_store_close(store);
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
        VLOG_OPTION_ENUMS,
        DAEMON_OPTION_ENUMS,
    };
    static const struct option long_options[] = {
        {"state-dir", required_argument, NULL, OPT_STATE_DIR},
        {"unixctl", required_argument, NULL, OPT_UNIXCTL},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        DAEMON_LONG_OPTIONS,
        VLOG_LONG_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    char *short_options = ovs_cmdl_long_options_to_short_options(long_options);

    for (;;) {
        int c = getopt_long(argc, argv, short_options, long_options, NULL);
        if (c == -1) {
            break;
        }

        switch (c) {
        case OPT_STATE_DIR:
            free(state_dir);
            state_dir = xstrdup(optarg);
            break;

        case OPT_UNIXCTL:
            free(unixctl_path);
            unixctl_path = xstrdup(optarg);
            break;

        case 'h':
            usage();

        case 'V':
            ovs_print_version(0, 0);
            exit(EXIT_SUCCESS);

        VLOG_OPTION_HANDLERS
        DAEMON_OPTION_HANDLERS

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
}

static void
usage(void)
{
    printf("%s: the OVS offload provider\n"
           "usage: %s [OPTIONS]\n"
           "\nOptions:\n"
           "  --state-dir=DIR         keep state regions in DIR (default "
           DEFAULT_STATE_DIR ")\n"
           "  --unixctl=SOCKET        override the default control socket\n",
           program_name, program_name);
    daemon_usage();
    vlog_usage();
    printf("\nOther options:\n"
           "  -h, --help              display this help message\n"
           "  -V, --version           display version information\n");
    exit(EXIT_SUCCESS);
}
