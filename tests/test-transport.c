/*
 * Tests for the transport (tests/transport.at drives them).
 *
 *   serve      a transport server as a daemon, with ovs-appctl commands to
 *              open and withdraw exports and to change the state region
 *   pull       reads every exported region with pipelined reads and checks
 *              it byte for byte
 *   control    sends control messages and prints their replies
 *   raw        speaks the wire by hand over a plain socket: any sequence of
 *              messages, good or bad, and prints what comes back
 *   stall      connects and then stops reading (or never shows a token)
 *   client     the client's own defences, against a fake server in-process
 *
 * The server exports two regions: "pattern", plain memory whose byte i is
 * test_pattern_byte(i), and "state", a real state region in ./state.region whose
 * bytes the client compares with that file.  Both processes run in the test's
 * directory.
 */
#include <config.h>
#undef NDEBUG
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "byte-order.h"
#include "command-line.h"
#include "daemon.h"
#include "fatal-signal.h"
#include "openvswitch/dynamic-string.h"
#include "openvswitch/ofpbuf.h"
#include "openvswitch/poll-loop.h"
#include "openvswitch/shash.h"
#include "openvswitch/vlog.h"
#include "ovstest.h"
#include "test-common.h"
#include "random.h"
#include "socket-util.h"
#include "state-region.h"
#include "stream.h"
#include "svec.h"
#include "timeval.h"
#include "transport.h"
#include "transport-wire.h"
#include "crc32c-hw.h"
#include "unixctl.h"
#include "util.h"

#define STATE_FILE "state.region"
#define TIMEOUT_MS 10000

static struct transport_token
parse_token(const char *hex)
{
    struct transport_token token;
    char *error = transport_token_parse(hex, &token);

    if (error) {
        test_error_exit(error);
    }
    return token;
}

/* The session's error without the endpoint's name, which holds a port
 * number that changes from run to run. */
static const char *
client_error_text(const struct transport_client *c, const char *error)
{
    const char *name = transport_client_name(c);
    size_t len = strlen(name);

    return (!strncmp(error, name, len) && error[len] == ':'
            ? error + len + 2 : error);
}

/* "serve": the server daemon. */

struct test_export {
    char *name;
    struct transport_export *export;
    bool fenced;
    uint64_t fenced_gen;
    unsigned int n_keepalives;
};

static struct transport_server *server;
static struct state_region *state;
static uint32_t state_next_key = 1;
static uint8_t *pattern;
static size_t pattern_size = 257 * 4096 + 123;
static struct shash exports = SHASH_INITIALIZER(&exports);
static struct ds events = DS_EMPTY_INITIALIZER;

static void
pattern_get(void *aux OVS_UNUSED, struct transport_region_view *view)
{
    view->base = pattern;
    view->size = pattern_size;
    view->generation = 1;
}

static void
state_get(void *aux OVS_UNUSED, struct transport_region_view *view)
{
    view->base = state_region_base(state);
    view->size = state_region_size(state);
    view->generation = state_region_header(state)->generation;
}

static uint64_t
state_generation(void)
{
    return state_region_header(state)->generation;
}

static void
state_write(unsigned int n)
{
    for (unsigned int i = 0; i < n; i++) {
        uint32_t key = state_next_key++;
        uint32_t slot;
        char *error = state_region_alloc(state, OOR_SLOT_CT, &slot);

        if (error) {
            ovs_fatal(0, "%s", error);
        }
        uint8_t *p = state_region_slot_mut(state, slot);
        memcpy(p, &key, sizeof key);
        for (size_t j = sizeof key; j < OOR_SLOT_CT_LEN; j++) {
            p[j] = key + j;
        }
    }
    state_region_seal(state, time_msec());
}

static void
state_create(unsigned int n_slots)
{
    struct oor_vif_def def;
    char *error;

    memset(&def, 0, sizeof def);
    ovs_strlcpy(def.iface_id, "vm1", sizeof def.iface_id);
    memcpy(def.mac, "\x02\x00\x00\x00\x00\x01", 6);
    def.policy = OOR_POLICY_STATEFUL;
    unlink(STATE_FILE);
    error = state_region_create(STATE_FILE, &def, n_slots, time_msec(),
                                &state);
    if (error) {
        ovs_fatal(0, "%s", error);
    }
    state_write(n_slots);
}

static void
test_export_free(struct test_export *te)
{
    shash_find_and_delete(&exports, te->name);
    free(te->name);
    free(te);
}

static void
owner_control(void *te_, const struct transport_ctl *ctl,
              struct transport_ctl_reply *reply)
{
    struct test_export *te = te_;

    switch (ctl->type) {
    case TRANSPORT_CTL_KEEPALIVE:
        te->n_keepalives++;
        break;

    case TRANSPORT_CTL_FENCE:
        te->fenced = true;
        te->fenced_gen = state_generation();
        reply->value = te->fenced_gen;
        ds_put_format(&events, "%s: fence -> generation %"PRIu64"\n",
                      te->name, te->fenced_gen);
        break;

    case TRANSPORT_CTL_CONFIRM:
        if (!te->fenced) {
            reply->error = EINVAL;
            reply->detail = xstrdup("confirm without a fence");
        } else if (ctl->arg != te->fenced_gen) {
            reply->error = EINVAL;
            reply->detail = xasprintf("confirm of generation %"PRIu64
                                      ", fenced at %"PRIu64, ctl->arg,
                                      te->fenced_gen);
        } else {
            /* Released, as the provider does: the export goes at once, and
             * the peer still gets this reply. */
            ds_put_format(&events, "%s: confirm %"PRIu64", released\n",
                          te->name, ctl->arg);
            transport_export_withdraw(te->export);
            test_export_free(te);
        }
        break;

    case TRANSPORT_CTL_ABORT:
        te->fenced = false;
        ds_put_format(&events, "%s: abort\n", te->name);
        break;

    default:
        reply->error = EOPNOTSUPP;
        reply->detail = xasprintf("unknown control message type %"PRIu16,
                                  ctl->type);
        break;
    }
}

static void
owner_expired(void *te_)
{
    struct test_export *te = te_;

    ds_put_format(&events, "%s: lease expired\n", te->name);
    test_export_free(te);
}

static void
add_region(struct transport_export *export, const char *name,
           transport_region_get_func *get)
{
    uint32_t id;
    char *error = transport_export_add_region(export, name, OOR_PAGE_SIZE,
                                              get, NULL, &id);
    if (error) {
        ovs_fatal(0, "%s", error);
    }
}

static void
serve_export(struct unixctl_conn *conn, int argc, const char *argv[],
             void *aux OVS_UNUSED)
{
    static const struct transport_owner owner = {
        .control = owner_control,
        .expired = owner_expired,
    };
    char hex[TRANSPORT_TOKEN_HEX_LEN + 1];
    struct test_export *te;
    char *error;

    if (shash_find(&exports, argv[1])) {
        unixctl_command_reply_error(conn, "export exists");
        return;
    }
    te = xzalloc(sizeof *te);
    te->name = xstrdup(argv[1]);
    te->export = transport_export_create(server, argv[1], &owner, te, NULL,
                                         &error);
    ovs_assert(te->export);
    add_region(te->export, "pattern", pattern_get);
    add_region(te->export, "state", state_get);
    if (argc > 2) {
        transport_export_set_lease(te->export, atoll(argv[2]));
    }
    shash_add(&exports, te->name, te);

    transport_token_format(transport_export_token(te->export), hex);
    unixctl_command_reply(conn, hex);
}

static void
serve_withdraw(struct unixctl_conn *conn, int argc OVS_UNUSED,
               const char *argv[], void *aux OVS_UNUSED)
{
    struct test_export *te = shash_find_data(&exports, argv[1]);

    if (!te) {
        unixctl_command_reply_error(conn, "no such export");
        return;
    }
    transport_export_withdraw(te->export);
    test_export_free(te);
    unixctl_command_reply(conn, NULL);
}

static void
serve_show(struct unixctl_conn *conn, int argc OVS_UNUSED,
           const char *argv[] OVS_UNUSED, void *aux OVS_UNUSED)
{
    struct ds s = DS_EMPTY_INITIALIZER;

    transport_server_format(server, &s);
    unixctl_command_reply(conn, ds_cstr(&s));
    ds_destroy(&s);
}

static void
serve_events(struct unixctl_conn *conn, int argc OVS_UNUSED,
             const char *argv[] OVS_UNUSED, void *aux OVS_UNUSED)
{
    unixctl_command_reply(conn, ds_cstr(&events));
}

static void
serve_keepalives(struct unixctl_conn *conn, int argc OVS_UNUSED,
                 const char *argv[], void *aux OVS_UNUSED)
{
    struct test_export *te = shash_find_data(&exports, argv[1]);
    char *s;

    if (!te) {
        unixctl_command_reply_error(conn, "no such export");
        return;
    }
    s = xasprintf("%u", te->n_keepalives);
    unixctl_command_reply(conn, s);
    free(s);
}

/* Writes more slots (the region may grow and move) and seals. */
static void
serve_write(struct unixctl_conn *conn, int argc OVS_UNUSED,
            const char *argv[], void *aux OVS_UNUSED)
{
    const void *old_base = state_region_base(state);
    char *s;

    state_write(atoi(argv[1]));
    s = xasprintf("generation %"PRIu64", size %"PRIuSIZE"%s",
                  state_generation(), state_region_size(state),
                  state_region_base(state) != old_base ? ", moved" : "");
    unixctl_command_reply(conn, s);
    free(s);
}

/* Flips a byte of the pattern region, so that a pull can be seen to fail. */
static void
serve_poke(struct unixctl_conn *conn, int argc OVS_UNUSED,
           const char *argv[], void *aux OVS_UNUSED)
{
    size_t offset = atoll(argv[1]);

    if (offset >= pattern_size) {
        unixctl_command_reply_error(conn, "offset beyond the region");
        return;
    }
    pattern[offset] ^= 0xff;
    unixctl_command_reply(conn, NULL);
}

static void
serve_exit(struct unixctl_conn *conn, int argc OVS_UNUSED,
           const char *argv[] OVS_UNUSED, void *exiting_)
{
    bool *exiting = exiting_;

    *exiting = true;
    unixctl_command_reply(conn, NULL);
}

static void
write_port_file(const char *file, const struct ds *ports)
{
    FILE *f = fopen(file, "w");

    if (!f || fputs(ds_cstr_ro(ports), f) < 0 || fclose(f)) {
        ovs_fatal(errno, "%s", file);
    }
}

static void
test_serve(struct ovs_cmdl_context *ctx)
{
    enum {
        OPT_LISTEN = UCHAR_MAX + 1,
        OPT_PORT_FILE,
        OPT_UNIXCTL,
        OPT_SLOTS,
        OPT_PATTERN_SIZE,
        OPT_MAX_PEERS,
        OPT_MAX_UNAUTH,
        OPT_MAX_PER_EXPORT,
        OPT_HELLO_TIMEOUT,
        OPT_MAX_READ,
        OPT_MAX_OUTSTANDING,
        OPT_MAX_BUFFERED,
        DAEMON_OPTION_ENUMS,
        VLOG_OPTION_ENUMS,
    };
    static const struct option long_options[] = {
        {"listen", required_argument, NULL, OPT_LISTEN},
        {"port-file", required_argument, NULL, OPT_PORT_FILE},
        {"unixctl", required_argument, NULL, OPT_UNIXCTL},
        {"slots", required_argument, NULL, OPT_SLOTS},
        {"pattern-size", required_argument, NULL, OPT_PATTERN_SIZE},
        {"max-peers", required_argument, NULL, OPT_MAX_PEERS},
        {"max-unauth", required_argument, NULL, OPT_MAX_UNAUTH},
        {"max-per-export", required_argument, NULL, OPT_MAX_PER_EXPORT},
        {"hello-timeout", required_argument, NULL, OPT_HELLO_TIMEOUT},
        {"max-read", required_argument, NULL, OPT_MAX_READ},
        {"max-outstanding", required_argument, NULL, OPT_MAX_OUTSTANDING},
        {"max-buffered", required_argument, NULL, OPT_MAX_BUFFERED},
        DAEMON_LONG_OPTIONS,
        VLOG_LONG_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    char *short_options = ovs_cmdl_long_options_to_short_options(long_options);
    struct transport_server_limits limits;
    struct svec listeners = SVEC_EMPTY_INITIALIZER;
    const char *port_file = "ports";
    const char *unixctl_path = NULL;
    unsigned int n_slots = 100;
    bool exiting = false;

    memset(&limits, 0, sizeof limits);
    for (;;) {
        int c = getopt_long(ctx->argc, ctx->argv, short_options,
                            long_options, NULL);
        if (c == -1) {
            break;
        }
        switch (c) {
        case OPT_LISTEN: svec_add(&listeners, optarg); break;
        case OPT_PORT_FILE: port_file = optarg; break;
        case OPT_UNIXCTL: unixctl_path = optarg; break;
        case OPT_SLOTS: n_slots = atoi(optarg); break;
        case OPT_PATTERN_SIZE: pattern_size = atoll(optarg); break;
        case OPT_MAX_PEERS: limits.max_peers = atoi(optarg); break;
        case OPT_MAX_UNAUTH: limits.max_unauth_peers = atoi(optarg); break;
        case OPT_MAX_PER_EXPORT:
            limits.max_peers_per_export = atoi(optarg);
            break;
        case OPT_HELLO_TIMEOUT: limits.hello_timeout_ms = atoi(optarg); break;
        case OPT_MAX_READ: limits.max_read = atoi(optarg); break;
        case OPT_MAX_OUTSTANDING:
            limits.max_outstanding = atoi(optarg);
            break;
        case OPT_MAX_BUFFERED: limits.max_buffered = atoll(optarg); break;
        DAEMON_OPTION_HANDLERS
        VLOG_OPTION_HANDLERS
        case '?':
            exit(EXIT_FAILURE);
        default:
            abort();
        }
    }
    free(short_options);

    pattern = xmalloc(pattern_size);
    for (size_t i = 0; i < pattern_size; i++) {
        pattern[i] = test_pattern_byte(i);
    }
    state_create(n_slots);

    server = transport_server_create(&limits);
    struct ds ports = DS_EMPTY_INITIALIZER;
    const char *name;
    size_t i;
    SVEC_FOR_EACH (i, name, &listeners) {
        uint16_t port;
        char *error = transport_server_listen(server, name, &port);

        if (error) {
            ovs_fatal(0, "%s", error);
        }
        ds_put_format(&ports, "%"PRIu16"\n", port);
    }
    write_port_file(port_file, &ports);
    ds_destroy(&ports);
    svec_destroy(&listeners);

    daemonize_start(false);
    struct unixctl_server *unixctl;
    int error = unixctl_server_create(unixctl_path, &unixctl);
    if (error) {
        ovs_fatal(error, "cannot create unixctl server");
    }
    unixctl_command_register("transport/export", "NAME [LEASE_MS]", 1, 2,
                             serve_export, NULL);
    unixctl_command_register("transport/withdraw", "NAME", 1, 1,
                             serve_withdraw, NULL);
    unixctl_command_register("transport/show", "", 0, 0, serve_show, NULL);
    unixctl_command_register("transport/events", "", 0, 0, serve_events,
                             NULL);
    unixctl_command_register("transport/keepalives", "NAME", 1, 1,
                             serve_keepalives, NULL);
    unixctl_command_register("transport/write", "N", 1, 1, serve_write,
                             NULL);
    unixctl_command_register("transport/poke", "OFFSET", 1, 1, serve_poke,
                             NULL);
    unixctl_command_register("exit", "", 0, 0, serve_exit, &exiting);
    daemonize_complete();

    while (!exiting) {
        unixctl_server_run(unixctl);
        transport_server_run(server);

        unixctl_server_wait(unixctl);
        transport_server_wait(server);
        poll_block();
    }

    transport_server_destroy(server);
    unixctl_server_destroy(unixctl);
    state_region_destroy(state);
    free(pattern);
}

/* "pull ENDPOINT TOKEN [CHUNK|blocking]". */

struct pull_region {
    const struct transport_region_info *info;
    uint8_t *buf;
    size_t n_reads;
    bool *done;
};

static void
pull_verify(const struct pull_region *pr)
{
    const struct transport_region_info *info = pr->info;

    printf("region %"PRIu32" %s: %"PRIu64" bytes in %"PRIuSIZE" reads: ",
           info->id, info->name, info->size, pr->n_reads);
    if (!strcmp(info->name, "pattern")) {
        for (uint64_t i = 0; i < info->size; i++) {
            if (pr->buf[i] != test_pattern_byte(i)) {
                printf("byte %"PRIu64" is 0x%02x, expected 0x%02x\n", i,
                       pr->buf[i], test_pattern_byte(i));
                exit(1);
            }
        }
        printf("match\n");
    } else if (!strcmp(info->name, "state")) {
        size_t len;
        uint8_t *file = test_read_file(STATE_FILE, &len);

        if (len != info->size || memcmp(file, pr->buf, len)) {
            printf("differs from %s\n", STATE_FILE);
            exit(1);
        }
        free(file);

        char *error = state_region_check(pr->buf, info->size, NULL);
        printf("match, check: %s\n", error ? error : "ok");
        free(error);
    } else {
        printf("unexpected region\n");
    }
}

/* Queues every region in reads of 'chunk' bytes, all at once; the
 * transport keeps as many in flight as the server allows. */
static void
pull_queue(struct transport_client *c, struct pull_region *prs, size_t n,
           size_t chunk)
{
    for (size_t r = 0; r < n; r++) {
        struct pull_region *pr = &prs[r];
        uint64_t size = pr->info->size;

        pr->n_reads = DIV_ROUND_UP(size, chunk);
        pr->done = xcalloc(pr->n_reads, sizeof *pr->done);
        for (size_t i = 0; i < pr->n_reads; i++) {
            uint64_t offset = i * chunk;
            char *error = transport_client_read(c, pr->info->id, offset,
                                                pr->buf + offset,
                                                MIN(chunk, size - offset),
                                                (uint64_t) r << 32 | i);
            if (error) {
                test_error_exit(error);
            }
        }
    }
}

static void
pull_complete(struct transport_client *c, struct pull_region *prs, size_t n)
{
    long long int deadline = time_msec() + TIMEOUT_MS;

    for (;;) {
        struct transport_completion comp;

        transport_client_run(c);
        while (transport_client_poll(c, &comp)) {
            size_t r = comp.cookie >> 32;
            size_t i = comp.cookie & UINT32_MAX;

            if (comp.error) {
                test_error_exit(xstrdup(client_error_text(
                                             c, transport_client_error(c))));
            }
            ovs_assert(r < n && i < prs[r].n_reads && !prs[r].done[i]);
            prs[r].done[i] = true;
        }
        if (!transport_client_n_pending(c)) {
            break;
        }
        if (time_msec() > deadline) {
            test_error_exit(xstrdup("pull timed out"));
        }
        transport_client_wait(c);
        poll_timer_wait_until(deadline);
        poll_block();
    }
}

static struct transport_client *
pull_open(const char *endpoint, const char *token_hex)
{
    struct transport_token token = parse_token(token_hex);
    long long int deadline = time_msec() + TIMEOUT_MS;
    struct transport_client *c;
    char *error = transport_client_open(endpoint, &token, &c);

    if (error) {
        test_error_exit(error);
    }
    /* The non-blocking way, as the provider's engine does it. */
    for (;;) {
        transport_client_run(c);
        if (transport_client_status(c) != EAGAIN
            || time_msec() >= deadline) {
            break;
        }
        transport_client_wait(c);
        poll_timer_wait_until(deadline);
        poll_block();
    }
    if (transport_client_status(c)) {
        test_error_exit(xstrdup(transport_client_error(c)
                                 ? client_error_text(c,
                                                     transport_client_error(c))
                                 : "timeout"));
    }
    return c;
}

static void
test_pull(struct ovs_cmdl_context *ctx)
{
    const char *mode = ctx->argc > 3 ? ctx->argv[3] : "65536";
    struct transport_client *c = pull_open(ctx->argv[1], ctx->argv[2]);
    size_t n = transport_client_n_regions(c);
    struct pull_region *prs = xcalloc(n, sizeof *prs);

    printf("directory: %"PRIuSIZE" regions, window %u, max read %"PRIu32
           "\n", n, transport_client_max_outstanding(c),
           transport_client_max_read(c));
    for (size_t r = 0; r < n; r++) {
        const struct transport_region_info *info
            = transport_client_region(c, r);

        printf("region %"PRIu32" %s: size %"PRIu64", page size %"PRIu32
               ", generation %"PRIu64"\n", info->id, info->name, info->size,
               info->page_size, info->generation);
        prs[r].info = info;
        prs[r].buf = xmalloc(info->size);
        memset(prs[r].buf, 0xee, info->size);
    }

    long long int start = time_msec();
    if (!strcmp(mode, "blocking")) {
        for (size_t r = 0; r < n; r++) {
            char *error = transport_client_read_all(c, prs[r].info->id, 0,
                                                    prs[r].buf,
                                                    prs[r].info->size,
                                                    TIMEOUT_MS);
            if (error) {
                test_error_exit(error);
            }
            prs[r].n_reads = 1;
        }
    } else {
        pull_queue(c, prs, n, atoi(mode));
        pull_complete(c, prs, n);
    }
    /* For a look at the rate; no test depends on it. */
    long long int elapsed = time_msec() - start;
    uint64_t total = 0;
    for (size_t r = 0; r < n; r++) {
        total += prs[r].info->size;
    }
    fprintf(stderr, "pulled %"PRIu64" bytes in %lld ms\n", total, elapsed);

    for (size_t r = 0; r < n; r++) {
        pull_verify(&prs[r]);
        free(prs[r].buf);
        free(prs[r].done);
    }
    free(prs);
    transport_client_close(c);
}

/* "control ENDPOINT TOKEN COMMAND...". */

static void
control_print_reply(const char *what, const struct transport_ctl_reply *r)
{
    if (r->error) {
        printf("%s: error: %s (%s)\n", what, r->detail ? r->detail : "",
               ovs_strerror(r->error));
    } else {
        printf("%s: ok, value %"PRIu64"%s%s\n", what, r->value,
               r->detail ? ", " : "", r->detail ? r->detail : "");
    }
}

/* Runs the client for 'ms' without sending anything of our own. */
static void
control_sleep(struct transport_client *c, long long int ms)
{
    long long int deadline = time_msec() + ms;

    while (time_msec() < deadline) {
        transport_client_run(c);
        if (transport_client_status(c)) {
            return;
        }
        transport_client_wait(c);
        poll_timer_wait_until(deadline);
        poll_block();
    }
}

static void
control_one(struct transport_client *c, const char *cmd, uint64_t *fence_gen)
{
    struct transport_ctl_reply reply;
    struct transport_ctl ctl;
    char *error;

    if (!strncmp(cmd, "sleep:", 6)) {
        control_sleep(c, atoll(cmd + 6));
        printf("%s: %s\n", cmd, transport_client_status(c)
               ? client_error_text(c, transport_client_error(c))
               : "session up");
        return;
    }
    if (!strcmp(cmd, "auto")) {
        /* The default keepalives: a third of the lease. */
        transport_client_set_keepalive(c, transport_client_lease_ms(c) / 3);
        return;
    }
    if (!strcmp(cmd, "dir")) {
        error = transport_client_refresh_block(c, TIMEOUT_MS);
        if (error) {
            test_error_exit(error);
        }
        for (size_t i = 0; i < transport_client_n_regions(c); i++) {
            const struct transport_region_info *info
                = transport_client_region(c, i);
            printf("dir: region %"PRIu32" %s size %"PRIu64" generation %"
                   PRIu64"\n", info->id, info->name, info->size,
                   info->generation);
        }
        return;
    }

    memset(&ctl, 0, sizeof ctl);
    if (!strcmp(cmd, "fence")) {
        ctl.type = TRANSPORT_CTL_FENCE;
    } else if (!strcmp(cmd, "confirm")) {
        ctl.type = TRANSPORT_CTL_CONFIRM;
        ctl.arg = *fence_gen;
    } else if (!strncmp(cmd, "confirm:", 8)) {
        ctl.type = TRANSPORT_CTL_CONFIRM;
        ctl.arg = strtoull(cmd + 8, NULL, 10);
    } else if (!strcmp(cmd, "abort")) {
        ctl.type = TRANSPORT_CTL_ABORT;
    } else if (!strcmp(cmd, "keepalive")) {
        ctl.type = TRANSPORT_CTL_KEEPALIVE;
    } else if (!strncmp(cmd, "type:", 5)) {
        ctl.type = atoi(cmd + 5);
    } else {
        ovs_fatal(0, "%s: unknown command", cmd);
    }

    error = transport_client_control_block(c, &ctl, TIMEOUT_MS, &reply);
    if (error) {
        printf("%s: %s\n", cmd, client_error_text(c, error));
        free(error);
        return;
    }
    if (ctl.type == TRANSPORT_CTL_FENCE && !reply.error) {
        *fence_gen = reply.value;
    }
    control_print_reply(cmd, &reply);
    transport_ctl_reply_destroy(&reply);
}

static void
test_control(struct ovs_cmdl_context *ctx)
{
    struct transport_token token = parse_token(ctx->argv[2]);
    struct transport_client *c;
    uint64_t fence_gen = 0;
    char *error;

    error = transport_client_open_block(ctx->argv[1], &token, TIMEOUT_MS, &c);
    if (error) {
        printf("error: %s\n", error + strlen(ctx->argv[1]) + 2);
        exit(1);
    }
    printf("session up, lease %lld ms\n", transport_client_lease_ms(c));
    /* Only the keepalives the commands ask for. */
    transport_client_set_keepalive(c, 0);
    for (int i = 3; i < ctx->argc; i++) {
        control_one(c, ctx->argv[i], &fence_gen);
        if (transport_client_status(c)) {
            break;
        }
    }
    /* Whatever the server said last, say, the ERROR after the reply to a
     * confirm that released the export. */
    transport_client_run(c);
    int status = transport_client_status(c);
    if (status) {
        printf("session ended: %s\n",
               client_error_text(c, transport_client_error(c)));
    }
    transport_client_close(c);
    exit(status ? 1 : 0);
}

/* "raw ENDPOINT MESSAGE...": a plain socket, so that nothing of the library
 * tidies up what we send.  MESSAGE is one of:
 *
 *   hello[:TOKEN]        HELLO, empty without a token
 *   dir                  DIR_REQUEST
 *   read:R:OFF:LEN       READ
 *   control:TYPE:ARG     CONTROL
 *   header:TYPE:LEN      a bare header with that type and length field
 *   magic:HEX8           a header with that magic and length 0 (type DIR)
 *   version:V            a DIR_REQUEST header with that version
 *   text:STRING          these bytes
 *   garbage:N            N random bytes (fixed seed)
 *   cut:N                drops the last N bytes queued so far
 *   hold:MS              sends what is queued so far and waits
 *
 * Then it shuts its sending side (the server sees the end after our last
 * byte) and prints every reply until the server closes. */

static int
raw_connect(const char *endpoint)
{
    struct sockaddr_storage ss;
    int fd;

    if (strncmp(endpoint, "tcp:", 4)
        || !inet_parse_active(endpoint + 4, 0, &ss, false, NULL)) {
        ovs_fatal(0, "%s: bad endpoint", endpoint);
    }
    fd = socket(ss.ss_family, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *) &ss, ss_length(&ss))) {
        ovs_fatal(errno, "%s: connect failed", endpoint);
    }
    return fd;
}

static void
raw_flush(int fd, struct ofpbuf *out)
{
    size_t n;

    if (out->size && write_fully(fd, out->data, out->size, &n)) {
        printf("send failed after %"PRIuSIZE" bytes\n", n);
    }
    ofpbuf_clear(out);
}

static void
raw_compose(int fd, struct ofpbuf *out, const char *msg, uint32_t *xid)
{
    unsigned long long a, b, c;
    char s[64];

    if (!strcmp(msg, "hello")) {
        tw_put_hello(out, (*xid)++, NULL);
    } else if (!strncmp(msg, "hello:", 6)) {
        struct transport_token token = parse_token(msg + 6);
        tw_put_hello(out, (*xid)++, &token);
    } else if (!strcmp(msg, "dir")) {
        tw_put_header(out, TW_DIR_REQUEST, (*xid)++, 0);
    } else if (sscanf(msg, "read:%llu:%llu:%llu", &a, &b, &c) == 3) {
        tw_put_read(out, (*xid)++, a, b, c);
    } else if (sscanf(msg, "control:%llu:%llu", &a, &b) == 2) {
        struct transport_ctl ctl = { .type = a, .arg = b };
        tw_put_control(out, (*xid)++, &ctl);
    } else if (sscanf(msg, "header:%llu:%llu", &a, &b) == 2) {
        tw_put_header(out, a, (*xid)++, b);
    } else if (sscanf(msg, "magic:%llx", &a) == 1) {
        tw_put_header(out, TW_DIR_REQUEST, (*xid)++, 0);
        ovs_be32 magic = htonl(a);
        memcpy((uint8_t *) ofpbuf_tail(out) - TW_HEADER_LEN, &magic, 4);
    } else if (sscanf(msg, "version:%llu", &a) == 1) {
        tw_put_header(out, TW_DIR_REQUEST, (*xid)++, 0);
        ((uint8_t *) ofpbuf_tail(out))[4 - TW_HEADER_LEN] = a;
    } else if (!strncmp(msg, "text:", 5)) {
        ofpbuf_put(out, msg + 5, strlen(msg + 5));
    } else if (sscanf(msg, "garbage:%llu", &a) == 1) {
        random_set_seed(0x5eed);
        for (size_t i = 0; i < a; i++) {
            ofpbuf_put(out, &(uint8_t) { random_uint32() }, 1);
        }
    } else if (sscanf(msg, "cut:%llu", &a) == 1) {
        out->size -= MIN(a, out->size);
    } else if (sscanf(msg, "hold:%llu", &a) == 1) {
        raw_flush(fd, out);
        xnanosleep(a * 1000 * 1000);
    } else if (sscanf(msg, "%63s", s) == 1) {
        ovs_fatal(0, "%s: unknown message", msg);
    }
}

/* Reads exactly 'n' bytes, waiting up to TIMEOUT_MS in all.  Returns 0,
 * EOF, or an errno value. */
static int
raw_read(int fd, void *buf, size_t n, long long int deadline)
{
    size_t have = 0;

    while (have < n) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        int timeout = MAX(0, deadline - time_msec());

        if (poll(&pfd, 1, timeout) == 0) {
            return ETIMEDOUT;
        }
        ssize_t r = read(fd, (char *) buf + have, n - have);
        if (r < 0 && errno == EINTR) {
            continue;
        } else if (r < 0) {
            return errno;
        } else if (!r) {
            return have ? EPROTO : EOF;
        }
        have += r;
    }
    return 0;
}

static void
raw_print_reply(const struct tw_header *h, const uint8_t *payload,
                size_t len)
{
    uint32_t xid = ntohl(h->xid);

    switch (h->type) {
    case TW_ERROR: {
        uint32_t code;
        char *text;
        char *error = tw_parse_error(payload, len, &code, &text);

        ovs_assert(!error);
        printf("ERROR xid %"PRIu32" code %"PRIu32": %s\n", xid, code, text);
        free(text);
        break;
    }
    case TW_CONTROL_REPLY: {
        struct transport_ctl_reply r;
        uint16_t type;
        char *error = tw_parse_control_reply(payload, len, &type, &r);

        ovs_assert(!error);
        printf("CONTROL_REPLY xid %"PRIu32" %s: error %d value %"PRIu64"\n",
               xid, transport_ctl_type_name(type), r.error, r.value);
        transport_ctl_reply_destroy(&r);
        break;
    }
    case TW_DIRECTORY: {
        struct transport_region_info *regions;
        size_t n;
        char *error = tw_parse_directory(payload, len, &regions, &n);

        ovs_assert(!error);
        printf("DIRECTORY xid %"PRIu32": %"PRIuSIZE" regions\n", xid, n);
        free(regions);
        break;
    }
    default:
        printf("%s xid %"PRIu32": %"PRIuSIZE" bytes\n", tw_type_name(h->type),
               xid, len);
        break;
    }
}

static void
raw_print_replies(int fd)
{
    long long int deadline = time_msec() + TIMEOUT_MS;
    uint8_t *payload = xmalloc(TRANSPORT_MAX_READ_LIMIT);

    for (;;) {
        struct tw_header h;
        int error = raw_read(fd, &h, sizeof h, deadline);

        if (!error) {
            char *msg = tw_check_header(&h, false);
            if (msg) {
                printf("bad reply: %s\n", msg);
                exit(1);
            }
            size_t len = ntohl(h.length);
            if (len > TRANSPORT_MAX_READ_LIMIT) {
                printf("bad reply: length %"PRIuSIZE"\n", len);
                exit(1);
            }
            error = raw_read(fd, payload, len, deadline);
            if (!error) {
                raw_print_reply(&h, payload, len);
                continue;
            }
        }
        printf("%s\n", error == EOF ? "closed by server"
               : error == ECONNRESET ? "reset by server"
               : ovs_strerror(error));
        break;
    }
    free(payload);
}

static void
test_raw(struct ovs_cmdl_context *ctx)
{
    int fd = raw_connect(ctx->argv[1]);
    struct ofpbuf out;
    uint32_t xid = 1;

    ofpbuf_init(&out, 0);
    for (int i = 2; i < ctx->argc; i++) {
        raw_compose(fd, &out, ctx->argv[i], &xid);
    }
    raw_flush(fd, &out);
    ofpbuf_uninit(&out);
    shutdown(fd, SHUT_WR);
    raw_print_replies(fd);
    close(fd);
}

/* "stall ENDPOINT TOKEN|- N READYFILE": shows the token ("-": none) and
 * sends N reads of 256 KiB of region 1 as fast as the server takes them,
 * never reading a reply; then creates READYFILE and waits to be killed. */
static void
test_stall(struct ovs_cmdl_context *ctx)
{
    int fd = raw_connect(ctx->argv[1]);
    int n = atoi(ctx->argv[3]);
    struct ofpbuf out;
    size_t sent = 0;

    ofpbuf_init(&out, 0);
    if (strcmp(ctx->argv[2], "-")) {
        struct transport_token token = parse_token(ctx->argv[2]);
        tw_put_hello(&out, 1, &token);
    }
    for (int i = 0; i < n; i++) {
        tw_put_read(&out, i + 2, 1, 0, 256 * 1024);
    }
    while (sent < out.size) {
        ssize_t r = send(fd, (char *) out.data + sent, out.size - sent,
                         MSG_DONTWAIT);
        if (r <= 0) {
            break;
        }
        sent += r;
    }
    printf("sent %"PRIuSIZE" of %"PRIu32" bytes\n", sent, out.size);
    fflush(stdout);
    ofpbuf_uninit(&out);

    int rfd = open(ctx->argv[4], O_WRONLY | O_CREAT, 0600);
    ovs_assert(rfd >= 0);
    close(rfd);
    for (;;) {
        pause();
    }
}

/* "client CASE...": the client against a fake server in this process. */

struct fake {
    struct pstream *pstream;
    struct stream *stream;      /* The accepted connection. */
    struct transport_client *client;
    struct ofpbuf out;
};

/* Runs the client and the fake server's side until 'n' bytes have arrived
 * from the client into 'buf', or fails. */
static void
fake_recv(struct fake *f, void *buf, size_t n)
{
    long long int deadline = time_msec() + TIMEOUT_MS;
    size_t have = 0;

    while (have < n) {
        transport_client_run(f->client);
        int error = stream_recv(f->stream, (char *) buf + have, n - have);
        if (error > 0) {
            have += error;
            continue;
        }
        ovs_assert(error == -EAGAIN && time_msec() < deadline);
        transport_client_wait(f->client);
        stream_recv_wait(f->stream);
        poll_timer_wait_until(deadline);
        poll_block();
    }
}

/* Receives one message from the client; returns its xid. */
static uint32_t
fake_recv_msg(struct fake *f, uint8_t *type)
{
    struct tw_header h;
    uint8_t payload[TW_MAX_REQUEST_LEN];

    fake_recv(f, &h, sizeof h);
    ovs_assert(ntohl(h.length) <= sizeof payload);
    fake_recv(f, payload, ntohl(h.length));
    *type = h.type;
    return ntohl(h.xid);
}

static void
fake_send(struct fake *f)
{
    long long int deadline = time_msec() + TIMEOUT_MS;
    size_t sent = 0;

    while (sent < f->out.size) {
        int n = stream_send(f->stream, (char *) f->out.data + sent,
                            f->out.size - sent);
        if (n > 0) {
            sent += n;
            continue;
        }
        ovs_assert(n == -EAGAIN && time_msec() < deadline);
        stream_send_wait(f->stream);
        poll_timer_wait_until(deadline);
        poll_block();
    }
    ofpbuf_clear(&f->out);
}

static const struct transport_token fake_token = { {
    0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
    0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
} };

/* Listens, starts a client towards it, and accepts its connection. */
static void
fake_open(struct fake *f)
{
    long long int deadline = time_msec() + TIMEOUT_MS;
    int error;

    memset(f, 0, sizeof *f);
    ofpbuf_init(&f->out, 0);
    error = pstream_open("ptcp:0:127.0.0.1", &f->pstream, DSCP_DEFAULT);
    ovs_assert(!error);

    char *endpoint = xasprintf("tcp:127.0.0.1:%"PRIu16,
                               ntohs(pstream_get_bound_port(f->pstream)));
    ovs_assert(!transport_client_open(endpoint, &fake_token, &f->client));
    free(endpoint);

    while ((error = pstream_accept(f->pstream, &f->stream)) == EAGAIN) {
        ovs_assert(time_msec() < deadline);
        transport_client_run(f->client);
        transport_client_wait(f->client);
        pstream_wait(f->pstream);
        poll_timer_wait_until(deadline);
        poll_block();
    }
    ovs_assert(!error);
}

static void
fake_close(struct fake *f)
{
    transport_client_close(f->client);
    stream_close(f->stream);
    pstream_close(f->pstream);
    ofpbuf_uninit(&f->out);
}

/* Takes the client's HELLO and DIR_REQUEST; queues the WELCOME and, if
 * 'dir', a directory of one region of 8192 bytes. */
static void
fake_handshake(struct fake *f, bool dir)
{
    uint8_t type;
    uint32_t hello_xid = fake_recv_msg(f, &type);
    ovs_assert(type == TW_HELLO);
    uint32_t dir_xid = fake_recv_msg(f, &type);
    ovs_assert(type == TW_DIR_REQUEST);

    tw_put_welcome(&f->out, hello_xid, 60000, 4096, 4);
    if (dir) {
        struct transport_region_info r = {
            .id = 1, .page_size = 4096, .size = 8192, .generation = 5,
            .name = "r",
        };
        tw_put_directory(&f->out, dir_xid, &r, 1);
    }
}

/* Runs the client until it is up ('up') or has failed. */
static void
fake_run_client(struct fake *f, bool up)
{
    long long int deadline = time_msec() + TIMEOUT_MS;

    for (;;) {
        int status;

        transport_client_run(f->client);
        status = transport_client_status(f->client);
        if (up ? status != EAGAIN : status && status != EAGAIN) {
            return;
        }
        ovs_assert(time_msec() < deadline);
        transport_client_wait(f->client);
        poll_timer_wait_until(deadline);
        poll_block();
    }
}

static void
print_client_error(const char *what, const struct transport_client *c,
                   const char *error, int status)
{
    printf("%s: %s (%s)\n", what, client_error_text(c, error),
           ovs_strerror(status));
}

static void
fake_finish(struct fake *f, const char *what)
{
    fake_run_client(f, false);
    print_client_error(what, f->client, transport_client_error(f->client),
                       transport_client_status(f->client));
}

/* Each case sets up what the fake server says; fake_finish() then prints
 * how the client took it. */

static void
client_refused(void)
{
    struct transport_client *c;
    struct pstream *pstream;
    char *endpoint;

    /* A port that was free a moment ago. */
    ovs_assert(!pstream_open("ptcp:0:127.0.0.1", &pstream, DSCP_DEFAULT));
    endpoint = xasprintf("tcp:127.0.0.1:%"PRIu16,
                         ntohs(pstream_get_bound_port(pstream)));
    pstream_close(pstream);

    char *error = transport_client_open_block(endpoint, &fake_token,
                                              TIMEOUT_MS, &c);
    printf("refused: %s\n", error + strlen(endpoint) + 2);
    free(error);
    free(endpoint);
}

static void
client_close(struct fake *f)
{
    fake_handshake(f, true);
    ofpbuf_clear(&f->out);
    stream_close(f->stream);
    f->stream = NULL;
}

static void
client_mid_message(struct fake *f)
{
    fake_handshake(f, true);
    f->out.size = 10;
    fake_send(f);
    stream_close(f->stream);
    f->stream = NULL;
}

static void
client_bad_token(struct fake *f)
{
    fake_handshake(f, false);
    ofpbuf_clear(&f->out);
    tw_put_error(&f->out, 1, TW_ERR_BAD_TOKEN, "bad token");
    fake_send(f);
}

static void
client_huge(struct fake *f)
{
    fake_handshake(f, false);
    ofpbuf_clear(&f->out);
    tw_put_header(&f->out, TW_WELCOME, 1, UINT32_MAX);
    fake_send(f);
}

static void
client_garbage(struct fake *f)
{
    fake_handshake(f, false);
    ofpbuf_clear(&f->out);
    ofpbuf_put(&f->out, "HTTP/1.1 400 Bad Request\r\n\r\n", 28);
    fake_send(f);
}

static void
client_request(struct fake *f)
{
    fake_handshake(f, false);
    ofpbuf_clear(&f->out);
    tw_put_read(&f->out, 1, 1, 0, 16);
    fake_send(f);
}

static void
client_welcome_twice(struct fake *f)
{
    fake_handshake(f, true);
    tw_put_welcome(&f->out, 1, 60000, 4096, 4);
    fake_send(f);
}

static void
client_directory(struct fake *f)
{
    fake_handshake(f, false);
    tw_put_header(&f->out, TW_DIRECTORY, 2, 8);
    ovs_be32 n = htonl(1000);
    ofpbuf_put(&f->out, &n, 4);
    ofpbuf_put_zeros(&f->out, 4);
    fake_send(f);
}

static void
client_data_unknown(struct fake *f)
{
    fake_handshake(f, true);
    tw_put_header(&f->out, TW_DATA, 999, 4);
    ofpbuf_put_zeros(&f->out, 4);
    fake_send(f);
}

static uint8_t client_buf[8192];

/* Up, with a read of the whole region in flight; returns the first READ's
 * xid. */
static uint32_t
fake_up_and_read(struct fake *f)
{
    uint8_t type;

    fake_handshake(f, true);
    fake_send(f);
    fake_run_client(f, true);
    ovs_assert(!transport_client_status(f->client));
    ovs_assert(!transport_client_read(f->client, 1, 0, client_buf,
                                      sizeof client_buf, 42));
    uint32_t xid = fake_recv_msg(f, &type);
    ovs_assert(type == TW_READ);
    return xid;
}

static void
client_data_length(struct fake *f)
{
    uint32_t xid = fake_up_and_read(f);

    tw_put_header(&f->out, TW_DATA, xid, 4097);
    fake_send(f);
}

/* A DATA whose DATA_SUM does not match it: a byte changed on the way. */
static void
client_data_sum(struct fake *f)
{
    uint32_t xid = fake_up_and_read(f);
    uint8_t bytes[4096];

    memset(bytes, 0xa5, sizeof bytes);
    tw_put_header(&f->out, TW_DATA, xid, sizeof bytes);
    ofpbuf_put(&f->out, bytes, sizeof bytes);
    bytes[100] ^= 1;
    tw_put_data_sum(&f->out, xid, crc32c_hw(bytes, sizeof bytes));
    fake_send(f);
}

/* A DATA_SUM with no DATA before it. */
static void
client_data_sum_alone(struct fake *f)
{
    uint32_t xid = fake_up_and_read(f);

    tw_put_data_sum(&f->out, xid, 0);
    fake_send(f);
}

/* The first of two wire reads arrives whole, the second half: the read
 * completes with the session's error. */
static void
client_data_cut(struct fake *f)
{
    struct transport_completion comp;
    uint8_t type;
    uint32_t xid1 = fake_up_and_read(f);
    uint32_t xid2 = fake_recv_msg(f, &type);

    static const uint8_t zeros[4096];

    tw_put_header(&f->out, TW_DATA, xid1, sizeof zeros);
    ofpbuf_put(&f->out, zeros, sizeof zeros);
    tw_put_data_sum(&f->out, xid1, crc32c_hw(zeros, sizeof zeros));
    tw_put_header(&f->out, TW_DATA, xid2, 4096);
    ofpbuf_put_zeros(&f->out, 100);
    fake_send(f);
    stream_close(f->stream);
    f->stream = NULL;
    fake_run_client(f, false);
    ovs_assert(transport_client_poll(f->client, &comp));
    printf("completion: cookie %"PRIu64", %s\n", comp.cookie,
           ovs_strerror(comp.error));
}

static void
client_control_unknown(struct fake *f)
{
    struct transport_ctl_reply r = { .value = 7 };

    fake_handshake(f, true);
    tw_put_control_reply(&f->out, 12345, TRANSPORT_CTL_FENCE, &r);
    fake_send(f);
}

static void
client_timeout(struct fake *f)
{
    struct transport_completion comp;

    fake_handshake(f, true);
    fake_send(f);
    fake_run_client(f, true);

    char *error = transport_client_read_all(f->client, 1, 0, client_buf,
                                            sizeof client_buf, 200);
    print_client_error("read_all", f->client, error,
                       transport_client_status(f->client));
    free(error);
    ovs_assert(!transport_client_poll(f->client, &comp));
    ovs_assert(!transport_client_n_pending(f->client));
}

/* Reads the client refuses before anything goes on the wire. */
static void
client_local(struct fake *f)
{
    struct transport_token token;

    fake_handshake(f, true);
    fake_send(f);
    fake_run_client(f, true);

    char *error = transport_client_read(f->client, 7, 0, client_buf, 16, 0);
    printf("local: %s\n", error);
    free(error);
    error = transport_client_read(f->client, 1, 8000, client_buf, 400, 0);
    printf("local: %s\n", error);
    free(error);
    error = transport_token_parse("abc", &token);
    printf("local: %s\n", error);
    free(error);
    error = transport_token_parse("0123456789abcdef0123456789abcdeg",
                                  &token);
    printf("local: %s\n", error);
    free(error);
}

static void
test_client(struct ovs_cmdl_context *ctx)
{
    static const struct {
        const char *name;
        void (*setup)(struct fake *);
        bool prints;            /* Prints its own outcome. */
    } cases[] = {
        {"close", client_close, false},
        {"mid-message", client_mid_message, false},
        {"bad-token", client_bad_token, false},
        {"huge", client_huge, false},
        {"garbage", client_garbage, false},
        {"request", client_request, false},
        {"welcome-twice", client_welcome_twice, false},
        {"directory", client_directory, false},
        {"data-unknown", client_data_unknown, false},
        {"data-length", client_data_length, false},
        {"data-sum", client_data_sum, false},
        {"data-sum-alone", client_data_sum_alone, false},
        {"data-cut", client_data_cut, false},
        {"control-unknown", client_control_unknown, false},
        {"timeout", client_timeout, true},
        {"local", client_local, true},
    };

    for (int i = 1; i < ctx->argc; i++) {
        const char *name = ctx->argv[i];
        bool found = false;

        if (!strcmp(name, "refused")) {
            client_refused();
            continue;
        }
        for (size_t j = 0; j < ARRAY_SIZE(cases); j++) {
            if (!strcmp(name, cases[j].name)) {
                struct fake f;

                fake_open(&f);
                cases[j].setup(&f);
                if (!cases[j].prints) {
                    if (f.out.size) {
                        fake_send(&f);
                    }
                    fake_finish(&f, name);
                }
                fake_close(&f);
                found = true;
            }
        }
        if (!found) {
            ovs_fatal(0, "%s: unknown case", name);
        }
    }
}

static void
test_transport_main(int argc, char *argv[])
{
    static const struct ovs_cmdl_command commands[] = {
        {"serve", "[OPTIONS]", 0, INT_MAX, test_serve, OVS_RO},
        {"pull", "ENDPOINT TOKEN [CHUNK|blocking]", 2, 3, test_pull, OVS_RO},
        {"control", "ENDPOINT TOKEN COMMAND...", 2, INT_MAX, test_control,
         OVS_RO},
        {"raw", "ENDPOINT MESSAGE...", 1, INT_MAX, test_raw, OVS_RO},
        {"stall", "ENDPOINT TOKEN|- N READYFILE", 4, 4, test_stall, OVS_RO},
        {"client", "CASE...", 1, INT_MAX, test_client, OVS_RO},
        {NULL, NULL, 0, 0, NULL, OVS_RO},
    };
    struct ovs_cmdl_context ctx = { .argc = argc - 1, .argv = argv + 1 };

    set_program_name(argv[0]);
    fatal_ignore_sigpipe();
    ovs_cmdl_run_command(&ctx, commands);
}

OVSTEST_REGISTER("test-transport", test_transport_main);
