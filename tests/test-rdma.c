/*
 * Tests for the rdma: backend (tests/system-rdma-transport.at drives them,
 * inside a guest with Soft-RoCE).
 *
 *   serve LISTEN SIZE   a transport server listening on LISTEN
 *                       ("prdma:7800:192.0.2.1") with one export of one
 *                       SIZE-byte region, "pattern", whose byte i is
 *                       test_pattern_byte(i).  Prints the export's token on
 *                       stdout, flushed, then serves until killed.
 *                       --lease=MS sets the export's lease (no keepalives
 *                       come: one-sided reads do not renew it);
 *                       --withdraw-after=MS withdraws the export MS after
 *                       its first connection; --pidfile as in OVS.
 *
 *   pull ENDPOINT TOKEN connects to ENDPOINT ("rdma:192.0.2.1:7800"), reads
 *                       the whole advertised region with chunked, pipelined
 *                       READs, checks every byte and prints "pulled N bytes
 *                       in T ms (R MB/s)".  --rounds=N --pause=MS pulls N
 *                       times, MS apart; --chunk=N sets the READ size;
 *                       --region=N asks for region N; --bad-offset first
 *                       tries reads beyond the advert, which must be
 *                       refused; --repeat=N connects N times (going on
 *                       after a failure but the last) and fails if a
 *                       connection leaves an fd behind.  A failure prints
 *                       "error: ..." and exits 1.
 *
 *   pull-async ENDPOINT TOKEN
 *                       the same pull with the non-blocking API only, in a
 *                       poll loop of its own: connects, then queues
 *                       --reads=N (default 4) reads of consecutive ranges
 *                       of the region, all at once, each into a buffer of
 *                       its own (the first half of them inside areas it
 *                       registers with rdma_client_register(), the others
 *                       registered by the client per read), checks every
 *                       byte of each as its completion comes, and prints
 *                       "pulled-async N bytes in K reads in T ms (P passes
 *                       of the loop)".  --chunk=N as for pull.  A failure
 *                       prints "error: ...", "status: ERRNO-NAME" and
 *                       "fallback: yes" or "fallback: no"
 *                       (rdma_client_may_fall_back()), and exits 1.
 */
#include <config.h>
#undef NDEBUG
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "command-line.h"
#include "daemon.h"
#include "fatal-signal.h"
#include "openvswitch/poll-loop.h"
#include "openvswitch/vlog.h"
#include "ovstest.h"
#include "test-common.h"
#include "rdma-client.h"
#include "timeval.h"
#include "transport.h"
#include "util.h"

#define TIMEOUT_MS 30000

/* "serve". */

static uint8_t *pattern;
static uint64_t pattern_size;

static void
pattern_get(void *aux OVS_UNUSED, struct transport_region_view *view)
{
    view->base = pattern;
    view->size = pattern_size;
    view->generation = 1;
}

static void
test_serve(struct ovs_cmdl_context *ctx)
{
    enum {
        OPT_LEASE = UCHAR_MAX + 1,
        OPT_WITHDRAW_AFTER,
        DAEMON_OPTION_ENUMS,
        VLOG_OPTION_ENUMS,
    };
    static const struct option long_options[] = {
        {"lease", required_argument, NULL, OPT_LEASE},
        {"withdraw-after", required_argument, NULL, OPT_WITHDRAW_AFTER},
        DAEMON_LONG_OPTIONS,
        VLOG_LONG_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    char *short_options = ovs_cmdl_long_options_to_short_options(long_options);
    long long int lease_ms = 0;
    long long int withdraw_after = -1;

    for (;;) {
        int c = getopt_long(ctx->argc, ctx->argv, short_options,
                            long_options, NULL);
        if (c == -1) {
            break;
        }
        switch (c) {
        case OPT_LEASE: lease_ms = atoll(optarg); break;
        case OPT_WITHDRAW_AFTER: withdraw_after = atoll(optarg); break;
        DAEMON_OPTION_HANDLERS
        VLOG_OPTION_HANDLERS
        case '?':
            exit(EXIT_FAILURE);
        default:
            abort();
        }
    }
    free(short_options);
    if (ctx->argc - optind != 2) {
        ovs_fatal(0, "usage: serve [OPTIONS] LISTEN SIZE");
    }
    const char *listen = ctx->argv[optind];
    pattern_size = strtoull(ctx->argv[optind + 1], NULL, 0);
    if (!pattern_size) {
        ovs_fatal(0, "%s: bad size", ctx->argv[optind + 1]);
    }

    pattern = xmalloc_pagealign(pattern_size);
    for (uint64_t i = 0; i < pattern_size; i++) {
        pattern[i] = test_pattern_byte(i);
    }

    struct transport_server *server = transport_server_create(NULL);
    char *error = transport_server_listen(server, listen, NULL);
    if (error) {
        ovs_fatal(0, "%s", error);
    }

    struct transport_export *export;
    export = transport_export_create(server, "test", NULL, NULL, NULL,
                                     &error);
    ovs_assert(export);
    if (lease_ms > 0) {
        transport_export_set_lease(export, lease_ms);
    }
    uint32_t id;
    error = transport_export_add_region(export, "pattern", 4096, pattern_get,
                                        NULL, &id);
    ovs_assert(!error);

    char hex[TRANSPORT_TOKEN_HEX_LEN + 1];
    transport_token_format(transport_export_token(export), hex);
    daemonize_start(false);
    printf("%s\n", hex);
    fflush(stdout);
    daemonize_complete();

    long long int withdraw_at = LLONG_MAX;
    for (;;) {
        transport_server_run(server);
        if (export && withdraw_after >= 0) {
            if (withdraw_at == LLONG_MAX && transport_export_n_peers(export)) {
                withdraw_at = time_msec() + withdraw_after;
            }
            if (time_msec() >= withdraw_at) {
                transport_export_withdraw(export);
                export = NULL;
                printf("export withdrawn\n");
                fflush(stdout);
            }
        }

        transport_server_wait(server);
        if (export && withdraw_after >= 0) {
            if (withdraw_at == LLONG_MAX) {
                /* Look for the first connection now and then. */
                poll_timer_wait(10);
            } else {
                poll_timer_wait_until(withdraw_at);
            }
        }
        poll_block();
    }
}

/* "pull". */

static void
check_bytes(const uint8_t *buf, uint64_t offset, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (buf[i] != test_pattern_byte(offset + i)) {
            test_error_exit(xasprintf("byte %"PRIu64" is %#x, not %#x",
                                       offset + i, buf[i],
                                       test_pattern_byte(offset + i)));
        }
    }
}

static void
try_bad_read(struct rdma_client *c, uint64_t offset, size_t len)
{
    uint8_t *buf = xmalloc(len);
    char *error = rdma_client_read_all(c, offset, buf, len, TIMEOUT_MS);

    if (!error) {
        test_error_exit(xasprintf("a read of %"PRIuSIZE" bytes at offset "
                                   "%"PRIu64" beyond the advert was not "
                                   "refused", len, offset));
    }
    printf("refused: %s\n", error);
    free(error);
    free(buf);
}

static int
count_fds(void)
{
    struct dirent *de;
    int n = 0;
    DIR *dir = opendir("/proc/self/fd");

    if (!dir) {
        return 0;
    }
    while ((de = readdir(dir)) != NULL) {
        n += de->d_name[0] != '.';
    }
    closedir(dir);
    return n;
}

/* Connects, pulls the region 'rounds' times, closes.  Returns an error, or
 * NULL. */
static char *
pull_once(const char *endpoint, const struct transport_token *token,
          uint32_t region, uint32_t chunk, bool bad_offset, int rounds,
          long long int pause_ms)
{
    struct rdma_client *c;
    char *error = rdma_client_open(endpoint, token, region, TIMEOUT_MS, &c,
                                   NULL);
    if (error) {
        return error;
    }
    if (chunk) {
        rdma_client_set_chunk(c, chunk);
    }

    const struct rdma_client_advert *adv = rdma_client_advert(c);
    size_t len = adv->len;
    printf("advert: region %"PRIu32", %"PRIuSIZE" bytes, generation %"PRIu64
           "\n", adv->region, len, adv->generation);
    fprintf(stderr, "window %u (server responder_resources %u), chunk "
            "%"PRIu32"\n", rdma_client_window(c), adv->responder_resources,
            rdma_client_chunk(c));

    if (bad_offset) {
        try_bad_read(c, len - 8, 4096);
        try_bad_read(c, len + 4096, 1);
        try_bad_read(c, UINT64_MAX - 1, 4096);
    }

    uint8_t *buf = xmalloc_pagealign(len);
    for (int r = 1; r <= rounds && !error; r++) {
        memset(buf, 0, len);
        long long int start = time_msec();
        error = rdma_client_read_all(c, 0, buf, len, TIMEOUT_MS);
        if (error) {
            break;
        }
        long long int ms = MAX(1, time_msec() - start);
        check_bytes(buf, 0, len);
        printf("pulled %"PRIuSIZE" bytes in %lld ms (%.1f MB/s)\n", len, ms,
               len / 1e3 / ms);
        fflush(stdout);

        if (r < rounds && pause_ms > 0) {
            long long int until = time_msec() + pause_ms;
            while (time_msec() < until) {
                poll_timer_wait_until(until);
                poll_block();
            }
        }
    }
    free_pagealign(buf);
    rdma_client_close(c);
    return error;
}

static void
test_pull(struct ovs_cmdl_context *ctx)
{
    enum {
        OPT_BAD_OFFSET = UCHAR_MAX + 1,
        OPT_ROUNDS,
        OPT_PAUSE,
        OPT_CHUNK,
        OPT_REGION,
        OPT_REPEAT,
        VLOG_OPTION_ENUMS,
    };
    static const struct option long_options[] = {
        {"bad-offset", no_argument, NULL, OPT_BAD_OFFSET},
        {"rounds", required_argument, NULL, OPT_ROUNDS},
        {"pause", required_argument, NULL, OPT_PAUSE},
        {"chunk", required_argument, NULL, OPT_CHUNK},
        {"region", required_argument, NULL, OPT_REGION},
        {"repeat", required_argument, NULL, OPT_REPEAT},
        VLOG_LONG_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    char *short_options = ovs_cmdl_long_options_to_short_options(long_options);
    bool bad_offset = false;
    int rounds = 1;
    long long int pause_ms = 0;
    uint32_t chunk = 0;
    uint32_t region = 0;
    int repeat = 1;

    for (;;) {
        int c = getopt_long(ctx->argc, ctx->argv, short_options,
                            long_options, NULL);
        if (c == -1) {
            break;
        }
        switch (c) {
        case OPT_BAD_OFFSET: bad_offset = true; break;
        case OPT_ROUNDS: rounds = atoi(optarg); break;
        case OPT_PAUSE: pause_ms = atoll(optarg); break;
        case OPT_CHUNK: chunk = atoi(optarg); break;
        case OPT_REGION: region = atoi(optarg); break;
        case OPT_REPEAT: repeat = atoi(optarg); break;
        VLOG_OPTION_HANDLERS
        case '?':
            exit(EXIT_FAILURE);
        default:
            abort();
        }
    }
    free(short_options);
    if (ctx->argc - optind != 2) {
        ovs_fatal(0, "usage: pull [OPTIONS] ENDPOINT TOKEN");
    }
    const char *endpoint = ctx->argv[optind];
    struct transport_token token;
    char *error = transport_token_parse(ctx->argv[optind + 1], &token);
    if (error) {
        test_error_exit(error);
    }

    /* With --repeat, every connection after the first must leave the
     * process with as many fds as the first did: librdmacm keeps the
     * device open, everything else must go. */
    int fds = -1;
    for (int i = 1; i <= repeat; i++) {
        bool last = i == repeat;

        error = pull_once(endpoint, &token, region, chunk, bad_offset,
                          rounds, pause_ms);

        int n = count_fds();
        if (fds < 0) {
            fds = n;
        } else if (n != fds) {
            free(error);
            test_error_exit(xasprintf("%d fds open after connection %d, "
                                       "%d after the first", n, i, fds));
        }

        if (error && last) {
            test_error_exit(error);
        } else if (error) {
            printf("error: %s\n", error);
            free(error);
        }
    }
}

/* "pull-async". */

static const char *
errno_name(int error)
{
    switch (error) {
    case EACCES: return "EACCES";
    case EAGAIN: return "EAGAIN";
    case EBUSY: return "EBUSY";
    case ECONNABORTED: return "ECONNABORTED";
    case ECONNREFUSED: return "ECONNREFUSED";
    case EHOSTUNREACH: return "EHOSTUNREACH";
    case ENETUNREACH: return "ENETUNREACH";
    case ENODEV: return "ENODEV";
    case EPROTO: return "EPROTO";
    case EREMOTEIO: return "EREMOTEIO";
    case ETIMEDOUT: return "ETIMEDOUT";
    default: return "other";
    }
}

static void OVS_NO_RETURN
async_fail(struct rdma_client *c)
{
    int status = rdma_client_status(c);

    printf("error: %s\n", rdma_client_error(c));
    printf("status: %s (%s)\n", errno_name(status), ovs_strerror(status));
    printf("fallback: %s\n", rdma_client_may_fall_back(status) ? "yes" : "no");
    fflush(stdout);
    rdma_client_close(c);
    exit(1);
}

static void
test_pull_async(struct ovs_cmdl_context *ctx)
{
    enum {
        OPT_READS = UCHAR_MAX + 1,
        OPT_CHUNK,
        VLOG_OPTION_ENUMS,
    };
    static const struct option long_options[] = {
        {"reads", required_argument, NULL, OPT_READS},
        {"chunk", required_argument, NULL, OPT_CHUNK},
        VLOG_LONG_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    char *short_options = ovs_cmdl_long_options_to_short_options(long_options);
    int n_reads = 4;
    uint32_t chunk = 0;

    for (;;) {
        int c = getopt_long(ctx->argc, ctx->argv, short_options,
                            long_options, NULL);
        if (c == -1) {
            break;
        }
        switch (c) {
        case OPT_READS: n_reads = atoi(optarg); break;
        case OPT_CHUNK: chunk = atoi(optarg); break;
        VLOG_OPTION_HANDLERS
        case '?':
            exit(EXIT_FAILURE);
        default:
            abort();
        }
    }
    free(short_options);
    if (ctx->argc - optind != 2 || n_reads < 1) {
        ovs_fatal(0, "usage: pull-async [OPTIONS] ENDPOINT TOKEN");
    }
    const char *endpoint = ctx->argv[optind];
    struct transport_token token;
    char *error = transport_token_parse(ctx->argv[optind + 1], &token);
    if (error) {
        test_error_exit(error);
    }

    long long int start = time_msec();
    struct rdma_client *c;
    error = rdma_client_connect(endpoint, &token, 0, TIMEOUT_MS, &c);
    if (error) {
        test_error_exit(error);
    }

    /* Connecting: the loop never blocks but in poll_block(). */
    unsigned int passes = 0;
    for (;;) {
        rdma_client_run(c);
        if (rdma_client_status(c) != EAGAIN) {
            break;
        }
        rdma_client_wait(c);
        poll_block();
        passes++;
    }
    if (rdma_client_status(c)) {
        async_fail(c);
    }
    if (chunk) {
        rdma_client_set_chunk(c, chunk);
    }

    const struct rdma_client_advert *adv = rdma_client_advert(c);
    uint64_t size = adv->len;
    printf("advert: region %"PRIu32", %"PRIu64" bytes, generation %"PRIu64
           "\n", adv->region, size, adv->generation);
    fprintf(stderr, "window %u, chunk %"PRIu32", connected after %u "
            "passes\n", rdma_client_window(c), rdma_client_chunk(c), passes);

    /* Consecutive ranges, each into its own buffer. */
    uint8_t **bufs = xcalloc(n_reads, sizeof *bufs);
    uint64_t *offsets = xcalloc(n_reads, sizeof *offsets);
    size_t *lens = xcalloc(n_reads, sizeof *lens);
    bool *done = xcalloc(n_reads, sizeof *done);
    for (int i = 0; i < n_reads; i++) {
        offsets[i] = size / n_reads * i;
        lens[i] = (i == n_reads - 1 ? size - offsets[i] : size / n_reads);
        bufs[i] = xmalloc_pagealign(MAX(lens[i], 1));
        memset(bufs[i], 0, lens[i]);
        if (i < n_reads / 2) {
            error = rdma_client_register(c, bufs[i], MAX(lens[i], 1));
            if (error) {
                test_error_exit(error);
            }
        }
    }
    for (int i = 0; i < n_reads; i++) {
        error = rdma_client_read(c, offsets[i], bufs[i], lens[i], 1000 + i);
        if (error) {
            test_error_exit(error);
        }
    }
    if (rdma_client_n_pending(c) != n_reads) {
        test_error_exit(xasprintf("%"PRIuSIZE" reads pending, not %d",
                                   rdma_client_n_pending(c), n_reads));
    }

    int n_done = 0;
    passes = 0;
    while (n_done < n_reads) {
        struct rdma_completion comp;

        rdma_client_run(c);
        while (rdma_client_poll(c, &comp)) {
            int i = comp.cookie - 1000;
            if (comp.cookie < 1000 || i >= n_reads || done[i]) {
                test_error_exit(xasprintf("unexpected completion, cookie "
                                           "%"PRIu64, comp.cookie));
            }
            if (comp.error) {
                async_fail(c);
            }
            check_bytes(bufs[i], offsets[i], lens[i]);
            done[i] = true;
            n_done++;
        }
        if (n_done == n_reads) {
            break;
        }
        if (rdma_client_status(c)) {
            async_fail(c);
        }
        rdma_client_wait(c);
        poll_timer_wait_until(start + TIMEOUT_MS);
        poll_block();
        if (time_msec() >= start + TIMEOUT_MS) {
            test_error_exit(xasprintf("%d of %d reads done within %d ms",
                                       n_done, n_reads, TIMEOUT_MS));
        }
        passes++;
    }
    if (rdma_client_n_pending(c)) {
        test_error_exit(xasprintf("%"PRIuSIZE" reads still pending",
                                   rdma_client_n_pending(c)));
    }

    long long int ms = MAX(1, time_msec() - start);
    printf("pulled-async %"PRIu64" bytes in %d reads in %lld ms (%u passes "
           "of the loop)\n", size, n_reads, ms, passes);
    fflush(stdout);

    for (int i = 0; i < n_reads / 2; i++) {
        rdma_client_unregister(c, bufs[i]);
    }
    rdma_client_close(c);
    for (int i = 0; i < n_reads; i++) {
        free_pagealign(bufs[i]);
    }
    free(bufs);
    free(offsets);
    free(lens);
    free(done);
}

static void
test_rdma_main(int argc, char *argv[])
{
    static const struct ovs_cmdl_command commands[] = {
        {"serve", "[OPTIONS] LISTEN SIZE", 2, INT_MAX, test_serve, OVS_RO},
        {"pull", "[OPTIONS] ENDPOINT TOKEN", 2, INT_MAX, test_pull, OVS_RO},
        {"pull-async", "[OPTIONS] ENDPOINT TOKEN", 2, INT_MAX,
         test_pull_async, OVS_RO},
        {NULL, NULL, 0, 0, NULL, OVS_RO},
    };
    struct ovs_cmdl_context ctx = { .argc = argc - 1, .argv = argv + 1 };

    set_program_name(argv[0]);
    fatal_ignore_sigpipe();
    ovs_cmdl_run_command(&ctx, commands);
}

OVSTEST_REGISTER("test-rdma", test_rdma_main);
