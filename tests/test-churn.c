/*
 * Connection churn for the migration tests:
 *
 *   test-churn udp ADDR PORT FIRST_PORT COUNT RATE
 *
 * sends one UDP datagram from each local port FIRST_PORT ..
 * FIRST_PORT + COUNT - 1 in turn to ADDR PORT, RATE new flows a second,
 * each a new connection for a stateful firewall on the way.  Prints each
 * source port it sent from, one a line, as it goes (the test's ground
 * truth), and then "sent N flows in S s (R/s)" on stderr.  A port it cannot
 * bind is an error: the ground truth must be exact.
 */
#include <config.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "command-line.h"
#include "ovstest.h"
#include "timeval.h"
#include "util.h"

static unsigned int
parse_count(const char *s, unsigned int max, const char *what)
{
    unsigned int n;

    if (!str_to_uint(s, 10, &n) || !n || n > max) {
        ovs_fatal(0, "%s: bad %s (1 to %u)", s, what, max);
    }
    return n;
}

static void
send_one(const struct sockaddr_in *dst, uint16_t sport)
{
    struct sockaddr_in src = {
        .sin_family = AF_INET,
        .sin_port = htons(sport),
    };
    int fd = socket(AF_INET, SOCK_DGRAM, 0);

    if (fd < 0) {
        ovs_fatal(errno, "socket");
    }
    if (bind(fd, (struct sockaddr *) &src, sizeof src)) {
        ovs_fatal(errno, "bind to port %"PRIu16, sport);
    }
    if (sendto(fd, "churn", 5, 0, (const struct sockaddr *) dst,
               sizeof *dst) != 5) {
        ovs_fatal(errno, "send from port %"PRIu16, sport);
    }
    close(fd);
}

static void
udp_cmd(struct ovs_cmdl_context *ctx)
{
    struct sockaddr_in dst = { .sin_family = AF_INET };
    unsigned int first = parse_count(ctx->argv[3], 65535, "first port");
    unsigned int count = parse_count(ctx->argv[4], 65536 - first, "count");
    unsigned int rate = parse_count(ctx->argv[5], 1000000, "rate");

    if (inet_pton(AF_INET, ctx->argv[1], &dst.sin_addr) != 1) {
        ovs_fatal(0, "%s: not an IPv4 address", ctx->argv[1]);
    }
    dst.sin_port = htons(parse_count(ctx->argv[2], 65535, "port"));

    /* Paced against the start, so that a slow moment is made up. */
    long long start = time_msec();
    for (unsigned int i = 0; i < count; i++) {
        long long due = start + (long long) i * 1000 / rate;
        long long now = time_msec();

        if (now < due) {
            usleep((due - now) * 1000);
        }
        send_one(&dst, first + i);
        printf("%u\n", first + i);
    }
    fflush(stdout);

    long long ms = MAX(time_msec() - start, 1);
    fprintf(stderr, "sent %u flows in %.3f s (%.0f/s)\n", count, ms / 1000.0,
            count * 1000.0 / ms);
}

static void
test_churn_main(int argc, char *argv[])
{
    static const struct ovs_cmdl_command commands[] = {
        {"udp", "ADDR PORT FIRST_PORT COUNT RATE", 5, 5, udp_cmd, OVS_RO},
        {NULL, NULL, 0, 0, NULL, OVS_RO},
    };
    struct ovs_cmdl_context ctx = { .argc = argc - 1, .argv = argv + 1 };

    set_program_name(argv[0]);
    ovs_cmdl_run_command(&ctx, commands);
}

OVSTEST_REGISTER("test-churn", test_churn_main);
