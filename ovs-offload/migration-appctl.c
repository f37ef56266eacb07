/*
 * migrate/export, start, status, activate and abort.
 */
#include <config.h>
#include "migration-appctl.h"

#include <string.h>
#include "migration.h"
#include "openvswitch/dynamic-string.h"
#include "unixctl.h"
#include "util.h"

static struct migration_engine *engine;

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
    char *token;
    char *error = migration_export(engine, argv[1], &token);

    if (error) {
        reply(conn, error);
    } else {
        unixctl_command_reply(conn, token);
        free(token);
    }
}

/* migrate/start IFACE_ID SOURCE_ENDPOINT token=TOKEN [mode=MODE] */
static void
cmd_start(struct unixctl_conn *conn, int argc, const char *argv[],
          void *aux OVS_UNUSED)
{
    const char *token = NULL, *mode = NULL;

    for (int i = 3; i < argc; i++) {
        if (!strncmp(argv[i], "token=", 6)) {
            token = argv[i] + 6;
        } else if (!strncmp(argv[i], "mode=", 5)) {
            mode = argv[i] + 5;
        } else {
            reply(conn, xasprintf("unknown argument \"%s\"", argv[i]));
            return;
        }
    }
    if (!token) {
        reply(conn, xstrdup("token=TOKEN is required"));
        return;
    }
    reply(conn, migration_start(engine, argv[1], argv[2], token, mode));
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

void
migration_appctl_register(struct migration_engine *e)
{
    engine = e;
    unixctl_command_register("migrate/export", "IFACE_ID", 1, 1, cmd_export,
                             NULL);
    unixctl_command_register("migrate/start",
                             "IFACE_ID SOURCE_ENDPOINT token=TOKEN "
                             "[mode=stop-copy|precopy]", 3, 4, cmd_start,
                             NULL);
    unixctl_command_register("migrate/status", "[IFACE_ID] [--json]", 0, 2,
                             cmd_status, NULL);
    unixctl_command_register("migrate/activate", "IFACE_ID", 1, 1,
                             cmd_activate, NULL);
    unixctl_command_register("migrate/abort", "IFACE_ID", 1, 1, cmd_abort,
                             NULL);
}
