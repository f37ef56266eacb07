/*
 * migrate/export, start, status, activate and abort.
 */
#include <config.h>
#include "migration-appctl.h"

#include <string.h>
#include "datapath.h"
#include "migration.h"
#include "openvswitch/dynamic-string.h"
#include "unixctl.h"
#include "util.h"

static struct migration_engine *engine;
static struct datapath *dp;

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
cmd_export(struct unixctl_conn *conn, int argc OVS_UNUSED,
           const char *argv[], void *aux OVS_UNUSED)
{
    unsigned int lease_ms = 0;
    char *token;

    if (argc > 2) {
        char *error = migration_lease_parse(argv[2], &lease_ms);
        if (error) {
            reply(conn, error);
            return;
        }
    }

    char *error = migration_export(engine, argv[1], lease_ms, &token);

    if (error) {
        reply(conn, error);
    } else {
        unixctl_command_reply(conn, token);
        free(token);
    }
}

/* migrate/start IFACE_ID SOURCE_ENDPOINT token=TOKEN [mode=MODE]
 *               [passes=N] [threshold=PAGES] [interval=MS] */
static void
cmd_start(struct unixctl_conn *conn, int argc, const char *argv[],
          void *aux OVS_UNUSED)
{
    struct migration_options options = MIGRATION_OPTIONS_DEFAULT;
    const char *token = NULL;

    for (int i = 3; i < argc; i++) {
        if (!strncmp(argv[i], "token=", 6)) {
            token = argv[i] + 6;
        } else {
            char *error = migration_options_parse(&options, argv[i]);
            if (error) {
                reply(conn, error);
                return;
            }
        }
    }
    if (!token) {
        reply(conn, xstrdup("token=TOKEN is required"));
        return;
    }
    reply(conn, migration_start(engine, argv[1], argv[2], token, &options));
}

static void
cmd_status(struct unixctl_conn *conn, int argc, const char *argv[],
           void *aux OVS_UNUSED)
{
    const char *iface_id = NULL;
    bool json = false;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) {
            json = true;
        } else if (!iface_id) {
            iface_id = argv[i];
        } else {
            reply(conn, xasprintf("unexpected argument \"%s\"", argv[i]));
            return;
        }
    }

    struct ds s = DS_EMPTY_INITIALIZER;
    char *error = migration_status(engine, iface_id, json, &s);
    if (error) {
        reply(conn, error);
    } else {
        unixctl_command_reply(conn, ds_cstr(&s));
    }
    ds_destroy(&s);
}

static void
cmd_activate(struct unixctl_conn *conn, int argc OVS_UNUSED,
             const char *argv[], void *aux OVS_UNUSED)
{
    reply(conn, migration_activate(engine, argv[1]));
}

static void
cmd_abort(struct unixctl_conn *conn, int argc OVS_UNUSED,
          const char *argv[], void *aux OVS_UNUSED)
{
    reply(conn, migration_abort(engine, argv[1]));
}

/* migrate/set-queue [COUNT MS]: the limits of the queue that holds a
 * standby's frames until activation. */
static void
cmd_set_queue(struct unixctl_conn *conn, int argc, const char *argv[],
              void *aux OVS_UNUSED)
{
    unsigned int count, ms;

    if (argc == 3) {
        if (!str_to_uint(argv[1], 10, &count) || !count || count > 1000000) {
            reply(conn, xasprintf("\"%s\": expected a frame count from 1 "
                                  "to 1000000", argv[1]));
            return;
        }
        if (!str_to_uint(argv[2], 10, &ms) || !ms || ms > 600000) {
            reply(conn, xasprintf("\"%s\": expected milliseconds from 1 "
                                  "to 600000", argv[2]));
            return;
        }
        datapath_set_hold_limits(dp, count, ms);
    } else if (argc != 1) {
        reply(conn, xstrdup("expected COUNT MS, or nothing"));
        return;
    }

    size_t max_frames;
    long long max_ms;
    datapath_get_hold_limits(dp, &max_frames, &max_ms);

    char *text = xasprintf("count=%"PRIuSIZE" ms=%lld", max_frames, max_ms);
    unixctl_command_reply(conn, text);
    free(text);
}

void
migration_appctl_register(struct migration_engine *e, struct datapath *dp_)
{
    engine = e;
    dp = dp_;
    unixctl_command_register("migrate/export", "IFACE_ID [lease=MS]", 1, 2,
                             cmd_export,
                             NULL);
    unixctl_command_register("migrate/start",
                             "IFACE_ID SOURCE_ENDPOINT token=TOKEN "
                             "[mode=precopy|stop-copy] [passes=N] "
                             "[threshold=PAGES] [interval=MS] [timeout=MS]",
                             3, 8,
                             cmd_start, NULL);
    unixctl_command_register("migrate/status", "[IFACE_ID] [--json]", 0, 2,
                             cmd_status, NULL);
    unixctl_command_register("migrate/activate", "IFACE_ID", 1, 1,
                             cmd_activate, NULL);
    unixctl_command_register("migrate/abort", "IFACE_ID", 1, 1, cmd_abort,
                             NULL);
    unixctl_command_register("migrate/set-queue", "[COUNT MS]", 0, 2,
                             cmd_set_queue, NULL);
}
