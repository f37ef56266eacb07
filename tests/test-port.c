/*
 * Tests of the port layer (ovs-offload/port*.h):
 *
 *   test-port wire DEV1 DEV2 [--seconds=N] [--no-vnet] [--soft]
 *       Forwards every frame between two netdevs both ways through the port
 *       layer, a wire in userspace, until killed or for N seconds; then
 *       prints each port's list-ports line.  --no-vnet reads and writes
 *       without a vnet header (the offload handling off); --soft finishes
 *       checksums and segments GSO frames in userspace.
 *
 *   test-port tcp-sink ADDR PORT BYTES [--timeout=S]
 *   test-port tcp-source ADDR PORT BYTES [--timeout=S]
 *       Send and receive BYTES of a deterministic pattern over one TCP
 *       connection; the sink checks every byte.  Either gives up, failing,
 *       after S seconds (default 10) without progress.
 *
 *   test-port ping ADDR [--count=N] [--timeout=S]
 *       Sends N (default 3) ICMP or ICMPv6 echo requests, one at a time,
 *       and fails unless each is answered within S seconds (default 5).
 *
 *   test-port tap-peer TAP1 TAP2 [--netns=NS] [--offloads=on|off]
 *       Plays QEMU with a virtio NIC: attaches to the existing tap TAP1 with
 *       a vnet header and the offloads QEMU asks for, creates TAP2 (in
 *       network namespace NS) as the "guest" NIC, and relays frames with
 *       their vnet headers between the two.
 *
 *   test-port port-set DIR COMMAND...
 *       Opens the port set in DIR, runs each COMMAND ("add NAME [uplink]",
 *       "del NAME", "reopen", "list", "wait NAME open|missing") and prints
 *       the results.  "wait" runs the set as a main loop does until the
 *       port is open or missing.
 *
 *   test-port offload
 *       Unit tests of port-offload.h on built frames.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <unistd.h>
#include "command-line.h"
#include "csum.h"
#include "dp-packet.h"
#include "fatal-signal.h"
#include "flow.h"
#include "netdev.h"
#include "openvswitch/dynamic-string.h"
#include "openvswitch/poll-loop.h"
#include "ovstest.h"
#include "packets.h"
#include "port-offload.h"
#include "port-set.h"
#include "port.h"
#include "timeval.h"
#include "util.h"

/* Options of a subcommand: "--NAME" or "--NAME=VALUE" after its
 * positional arguments. */
static const char *
find_option(const struct ovs_cmdl_context *ctx, const char *name)
{
    size_t len = strlen(name);

    for (int i = 1; i < ctx->argc; i++) {
        const char *arg = ctx->argv[i];

        if (!strncmp(arg, "--", 2) && !strncmp(arg + 2, name, len)
            && (arg[2 + len] == '\0' || arg[2 + len] == '=')) {
            return arg[2 + len] == '=' ? arg + 3 + len : "";
        }
    }
    return NULL;
}

static int
int_option(const struct ovs_cmdl_context *ctx, const char *name, int dflt)
{
    const char *value = find_option(ctx, name);
    int n;

    if (!value) {
        return dflt;
    }
    if (!str_to_int(value, 10, &n) || n < 0) {
        ovs_fatal(0, "--%s=%s: expected a non-negative integer", name, value);
    }
    return n;
}

/* wire. */

static void
wire_report(void *ports_)
{
    struct port **ports = ports_;
    struct ds s = DS_EMPTY_INITIALIZER;

    for (int i = 0; i < 2; i++) {
        port_format(ports[i], &s);
        ds_put_char(&s, '\n');
    }
    fputs(ds_cstr(&s), stdout);
    fflush(stdout);
    ds_destroy(&s);
}

/* Moves what 'from' has received to 'to'; returns true if there was any. */
static bool
wire_forward(struct port *from, struct port *to)
{
    struct dp_packet_batch batch;

    if (port_recv(from, &batch) || dp_packet_batch_is_empty(&batch)) {
        return false;
    }
    port_send(to, &batch);
    return true;
}

static void
wire_cmd(struct ovs_cmdl_context *ctx)
{
    int seconds = int_option(ctx, "seconds", 0);
    long long int deadline = seconds ? time_msec() + seconds * 1000LL
                                     : LLONG_MAX;
    static struct port *ports[2];

    port_offloads_init(!find_option(ctx, "no-vnet"));
    for (int i = 0; i < 2; i++) {
        ports[i] = port_create(ctx->argv[i + 1], u16_to_ofp(i + 1), false);
        char *error = port_open(ports[i]);
        if (error) {
            ovs_fatal(0, "%s", error);
        }
        port_set_soft_offload(ports[i], find_option(ctx, "soft") != NULL);
    }
    fatal_signal_add_hook(wire_report, NULL, ports, false);

    while (time_msec() < deadline) {
        /* Drain a few batches before polling again: a stream keeps both
         * sides busy, and poll() per batch would cost more than the copy. */
        bool busy = true;
        for (int round = 0; busy && round < 16; round++) {
            busy = wire_forward(ports[0], ports[1]);
            busy = wire_forward(ports[1], ports[0]) || busy;
        }
        netdev_run();

        if (busy) {
            poll_immediate_wake();
        }
        port_wait(ports[0]);
        port_wait(ports[1]);
        netdev_wait();
        if (deadline != LLONG_MAX) {
            poll_timer_wait_until(deadline);
        }
        poll_block();
    }

    wire_report(ports);
    for (int i = 0; i < 2; i++) {
        port_destroy(ports[i]);
    }
}

/* tcp-sink and tcp-source. */

/* Byte 'offset' of the stream: a 64-bit multiplicative hash of the word it
 * falls in, so that a lost, repeated or misplaced block shows. */
static inline uint64_t
pattern_word(uint64_t word)
{
    uint64_t x = (word + 1) * UINT64_C(0x9e3779b97f4a7c15);

    return x ^ (x >> 29);
}

static void
pattern_fill(uint8_t *buf, uint64_t offset, size_t n)
{
    uint64_t word = pattern_word(offset >> 3);

    for (size_t i = 0; i < n; i++) {
        uint64_t o = offset + i;

        if (!(o & 7) && i) {
            word = pattern_word(o >> 3);
        }
        buf[i] = word >> ((o & 7) * 8);
    }
}

static void
parse_sockaddr(const char *addr, const char *port,
               struct sockaddr_storage *ss, socklen_t *len)
{
    struct sockaddr_in *sin = (struct sockaddr_in *) ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *) ss;
    int n;

    memset(ss, 0, sizeof *ss);
    if (!str_to_int(port, 10, &n) || n <= 0 || n > 65535) {
        ovs_fatal(0, "%s: bad port", port);
    }
    if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons(n);
        *len = sizeof *sin;
    } else if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(n);
        *len = sizeof *sin6;
    } else {
        ovs_fatal(0, "%s: not an IPv4 or IPv6 address", addr);
    }
}

static uint64_t
parse_bytes(const char *s)
{
    unsigned long long int n;

    if (!str_to_ullong(s, 10, &n)) {
        ovs_fatal(0, "%s: expected a byte count", s);
    }
    return n;
}

static void
set_timeouts(int fd, int seconds)
{
    struct timeval tv = { .tv_sec = seconds };

    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv)
        || setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv)) {
        ovs_fatal(errno, "setsockopt");
    }
}

/* Prints "WHAT N bytes... in T s (R MB/s)". */
static void
print_rate(const char *what, uint64_t bytes, const char *how,
           long long int start)
{
    double secs = MAX(time_msec() - start, 1) / 1000.0;

    printf("%s %"PRIu64" bytes%s in %.1f s (%.0f MB/s)\n", what, bytes, how,
           secs, bytes / secs / 1e6);
}

#define STREAM_BUF (256 * 1024)

/* Checks 'n' received bytes at stream offset 'offset'; dies naming the
 * first wrong byte. */
static void
pattern_check(const uint8_t *buf, uint64_t offset, size_t n)
{
    static uint8_t expected[STREAM_BUF];

    pattern_fill(expected, offset, n);
    if (memcmp(buf, expected, n)) {
        for (size_t i = 0; i < n; i++) {
            if (buf[i] != expected[i]) {
                ovs_fatal(0, "byte %"PRIu64": expected 0x%02x, got 0x%02x: "
                          "stream corrupted", offset + i, expected[i],
                          buf[i]);
            }
        }
    }
}

static int
accept_one(int listener, int timeout)
{
    struct pollfd pfd = { .fd = listener, .events = POLLIN };

    if (poll(&pfd, 1, timeout * 1000) != 1) {
        ovs_fatal(0, "no connection within %d s", timeout);
    }
    int fd = accept(listener, NULL, NULL);
    if (fd < 0) {
        ovs_fatal(errno, "accept");
    }
    return fd;
}

static void
tcp_sink_cmd(struct ovs_cmdl_context *ctx)
{
    int timeout = int_option(ctx, "timeout", 10);
    uint64_t total = parse_bytes(ctx->argv[3]);
    struct sockaddr_storage ss;
    socklen_t len;
    int one = 1;

    parse_sockaddr(ctx->argv[1], ctx->argv[2], &ss, &len);
    int listener = socket(ss.ss_family, SOCK_STREAM, 0);
    if (listener < 0
        || setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one)
        || bind(listener, (struct sockaddr *) &ss, len)
        || listen(listener, 1)) {
        ovs_fatal(errno, "%s port %s: cannot listen", ctx->argv[1],
                  ctx->argv[2]);
    }
    printf("listening\n");
    fflush(stdout);

    int fd = accept_one(listener, timeout);
    set_timeouts(fd, timeout);

    static uint8_t buf[STREAM_BUF];
    long long int start = time_msec();
    uint64_t got = 0;
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);

        if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0) {
            ovs_fatal(errno, "stalled after %"PRIu64" of %"PRIu64" bytes",
                      got, total);
        } else if (!n) {
            break;
        } else if (got + n > total) {
            ovs_fatal(0, "more than %"PRIu64" bytes", total);
        }
        pattern_check(buf, got, n);
        got += n;
    }
    if (got != total) {
        ovs_fatal(0, "connection closed after %"PRIu64" of %"PRIu64" bytes",
                  got, total);
    }
    print_rate("received", got, " intact", start);
    close(fd);
    close(listener);
}

/* Connects to 'ss', retrying while nobody listens yet, for up to
 * 'timeout' seconds. */
static int
connect_retry(const struct sockaddr_storage *ss, socklen_t len, int timeout)
{
    long long int deadline = time_msec() + timeout * 1000LL;

    for (;;) {
        int fd = socket(ss->ss_family, SOCK_STREAM, 0);
        if (fd < 0) {
            ovs_fatal(errno, "socket");
        }
        set_timeouts(fd, timeout);
        if (!connect(fd, (const struct sockaddr *) ss, len)) {
            return fd;
        }

        int error = errno;
        close(fd);
        if (error == EINPROGRESS || error == ETIMEDOUT) {
            ovs_fatal(0, "connect: no answer within %d s", timeout);
        } else if (error != ECONNREFUSED || time_msec() >= deadline) {
            ovs_fatal(error, "connect failed");
        }
        usleep(100 * 1000);
    }
}

static void
tcp_source_cmd(struct ovs_cmdl_context *ctx)
{
    int timeout = int_option(ctx, "timeout", 10);
    uint64_t total = parse_bytes(ctx->argv[3]);
    struct sockaddr_storage ss;
    socklen_t len;

    parse_sockaddr(ctx->argv[1], ctx->argv[2], &ss, &len);
    int fd = connect_retry(&ss, len, timeout);

    static uint8_t buf[STREAM_BUF];
    long long int start = time_msec();
    uint64_t sent = 0;
    while (sent < total) {
        size_t chunk = MIN(sizeof buf, total - sent);

        pattern_fill(buf, sent, chunk);
        for (size_t done = 0; done < chunk; ) {
            ssize_t n = send(fd, buf + done, chunk - done, MSG_NOSIGNAL);
            if (n < 0 && errno == EINTR) {
                continue;
            } else if (n < 0) {
                ovs_fatal(errno, "stalled after %"PRIu64" of %"PRIu64
                          " bytes", sent + done, total);
            }
            done += n;
        }
        sent += chunk;
    }

    /* The sink closes once it has checked everything. */
    shutdown(fd, SHUT_WR);
    char c;
    if (recv(fd, &c, 1, 0) < 0) {
        ovs_fatal(errno, "no close from the sink after %"PRIu64" bytes",
                  total);
    }
    print_rate("sent", sent, "", start);
    close(fd);
}

/* ping. */

/* Sends ICMP or ICMPv6 echo request 'seq' with 'id' to 'ss' on raw socket
 * 'fd'. */
static void
ping_send(int fd, const struct sockaddr_storage *ss, socklen_t len,
          uint16_t id, uint16_t seq)
{
    uint8_t msg[64];
    struct icmp_header *icmp = (struct icmp_header *) msg;

    memset(msg, 0, sizeof msg);
    icmp->icmp_type = ss->ss_family == AF_INET ? ICMP4_ECHO_REQUEST
                                               : ICMP6_ECHO_REQUEST;
    icmp->icmp_fields.echo.id = htons(id);
    icmp->icmp_fields.echo.seq = htons(seq);
    for (size_t i = sizeof *icmp; i < sizeof msg; i++) {
        msg[i] = i;
    }
    if (ss->ss_family == AF_INET) {
        /* The kernel sums ICMPv6 itself, but not ICMP. */
        icmp->icmp_csum = csum(msg, sizeof msg);
    }
    if (sendto(fd, msg, sizeof msg, 0, (const struct sockaddr *) ss,
               len) != sizeof msg) {
        ovs_fatal(errno, "sendto");
    }
}

/* True if 'msg', 'n' bytes read from the raw socket, is the echo reply to
 * 'id' and 'seq'.  An IPv4 raw socket hands over the IP header too. */
static bool
ping_is_reply(const uint8_t *msg, ssize_t n, int family, uint16_t id,
              uint16_t seq)
{
    if (family == AF_INET) {
        if (n < IP_HEADER_LEN) {
            return false;
        }
        size_t ihl = IP_IHL(msg[0]) * 4;
        msg += ihl;
        n -= ihl;
    }

    const struct icmp_header *icmp = (const struct icmp_header *) msg;
    return (n >= (ssize_t) sizeof *icmp
            && icmp->icmp_type == (family == AF_INET ? ICMP4_ECHO_REPLY
                                                     : ICMP6_ECHO_REPLY)
            && ntohs(icmp->icmp_fields.echo.id) == id
            && ntohs(icmp->icmp_fields.echo.seq) == seq);
}

/* Waits up to 'deadline' for the reply to 'id' and 'seq'. */
static bool
ping_wait_reply(int fd, int family, uint16_t id, uint16_t seq,
                long long int deadline)
{
    for (;;) {
        long long int left = deadline - time_msec();
        struct pollfd pfd = { .fd = fd, .events = POLLIN };

        if (left <= 0 || poll(&pfd, 1, left) <= 0) {
            return false;
        }

        uint8_t msg[2048];
        ssize_t n = recv(fd, msg, sizeof msg, 0);
        if (n > 0 && ping_is_reply(msg, n, family, id, seq)) {
            return true;
        }
    }
}

static void
ping_cmd(struct ovs_cmdl_context *ctx)
{
    int count = int_option(ctx, "count", 3);
    int timeout = int_option(ctx, "timeout", 5);
    struct sockaddr_storage ss;
    socklen_t len;

    parse_sockaddr(ctx->argv[1], "1", &ss, &len);
    ((struct sockaddr_in *) &ss)->sin_port = 0;
    if (ss.ss_family == AF_INET6) {
        ((struct sockaddr_in6 *) &ss)->sin6_port = 0;
    }

    int fd = socket(ss.ss_family, SOCK_RAW,
                    ss.ss_family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6);
    if (fd < 0) {
        ovs_fatal(errno, "raw socket");
    }

    uint16_t id = getpid();
    int replies = 0;
    for (int seq = 1; seq <= count; seq++) {
        ping_send(fd, &ss, len, id, seq);
        replies += ping_wait_reply(fd, ss.ss_family, id, seq,
                                   time_msec() + timeout * 1000LL);
    }
    printf("%d/%d replies from %s\n", replies, count, ctx->argv[1]);
    close(fd);
    if (replies != count) {
        exit(EXIT_FAILURE);
    }
}

/* tap-peer. */

/* Attaches to (or creates) tap 'name' the way QEMU does: no packet info, a
 * vnet header, and the offloads a virtio guest with TSO asks for. */
static int
tap_attach(const char *name, bool offloads)
{
    struct ifreq ifr;
    int fd = open("/dev/net/tun", O_RDWR);

    if (fd < 0) {
        ovs_fatal(errno, "/dev/net/tun");
    }
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
    ovs_strzcpy(ifr.ifr_name, name, sizeof ifr.ifr_name);
    if (ioctl(fd, TUNSETIFF, &ifr)) {
        ovs_fatal(errno, "%s: TUNSETIFF", name);
    }

    unsigned long flags = offloads ? TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6
                                   : 0;
    if (ioctl(fd, TUNSETOFFLOAD, flags)) {
        ovs_fatal(errno, "%s: TUNSETOFFLOAD", name);
    }
    return fd;
}

static void
enter_netns(const char *ns)
{
    char *path = xasprintf("/run/netns/%s", ns);
    int fd = open(path, O_RDONLY);

    if (fd < 0 || setns(fd, CLONE_NEWNET)) {
        ovs_fatal(errno, "%s: cannot enter network namespace", path);
    }
    close(fd);
    free(path);
}

/* Copies one frame, vnet header included, from 'from' to 'to'. */
static void
tap_relay_one(int from, int to)
{
    static uint8_t buf[sizeof(struct virtio_net_hdr) + 65536 + 64];
    ssize_t n = read(from, buf, sizeof buf);

    if (n < 0) {
        if (errno != EAGAIN && errno != EINTR) {
            ovs_fatal(errno, "read from tap");
        }
        return;
    }
    /* A "guest" that cannot take a frame loses it, as a NIC would. */
    ignore(write(to, buf, n));
}

static void
tap_peer_cmd(struct ovs_cmdl_context *ctx)
{
    const char *offloads = find_option(ctx, "offloads");
    bool on = !offloads || strcmp(offloads, "off");
    const char *ns = find_option(ctx, "netns");

    int fds[2];
    fds[0] = tap_attach(ctx->argv[1], on);
    if (ns) {
        enter_netns(ns);
    }
    fds[1] = tap_attach(ctx->argv[2], on);
    printf("attached\n");
    fflush(stdout);

    for (;;) {
        struct pollfd pfds[2] = {
            { .fd = fds[0], .events = POLLIN },
            { .fd = fds[1], .events = POLLIN },
        };

        if (poll(pfds, 2, -1) < 0 && errno != EINTR) {
            ovs_fatal(errno, "poll");
        }
        for (int i = 0; i < 2; i++) {
            if (pfds[i].revents & POLLIN) {
                tap_relay_one(fds[i], fds[!i]);
            }
        }
    }
}

/* port-set. */

static void
print_error(const char *command, char *error)
{
    printf("%s: %s\n", command, error ? error : "ok");
    free(error);
}

/* Runs 'set' as a main loop would until port 'name' is open (or not), for
 * up to 10 s. */
static void
port_set_wait_for(struct port_set *set, const char *name, bool open)
{
    long long int deadline = time_msec() + 10 * 1000;
    struct port *port = port_set_find(set, name);

    if (!port) {
        ovs_fatal(0, "%s: no such port", name);
    }
    while (port_is_open(port) != open) {
        if (time_msec() >= deadline) {
            ovs_fatal(0, "%s: still %s after 10 s", name,
                      open ? "missing" : "open");
        }

        /* Frames that arrive meanwhile are not this test's business. */
        struct port *p;
        PORT_SET_FOR_EACH (p, set) {
            struct dp_packet_batch batch;
            if (!port_recv(p, &batch)) {
                dp_packet_delete_batch(&batch, true);
            }
        }
        port_set_run(set);
        port_set_wait(set);
        poll_timer_wait_until(deadline);
        poll_block();
    }
    printf("wait: %s %s\n", name, open ? "open" : "missing");
}

static int
port_set_command(struct port_set *set, int argc, char *argv[])
{
    const char *cmd = argv[0];

    if (!strcmp(cmd, "add") && argc >= 2) {
        bool uplink = argc >= 3 && !strcmp(argv[2], "uplink");
        print_error("add", port_set_add(set, argv[1], uplink, NULL));
        return uplink ? 3 : 2;
    } else if (!strcmp(cmd, "del") && argc >= 2) {
        print_error("del", port_set_del(set, argv[1]));
        return 2;
    } else if (!strcmp(cmd, "wait") && argc >= 3) {
        port_set_wait_for(set, argv[1], !strcmp(argv[2], "open"));
        return 3;
    } else if (!strcmp(cmd, "reopen")) {
        printf("reopen: %"PRIuSIZE" changed\n", port_set_reopen(set));
        return 1;
    } else if (!strcmp(cmd, "list")) {
        struct ds s = DS_EMPTY_INITIALIZER;

        port_set_format(set, &s);
        fputs(ds_cstr(&s), stdout);
        ds_destroy(&s);
        return 1;
    }
    ovs_fatal(0, "%s: unknown command or missing argument", cmd);
}

static void
port_set_cmd(struct ovs_cmdl_context *ctx)
{
    char *error;

    port_offloads_init(true);
    struct port_set *set = port_set_open(ctx->argv[1], &error);
    if (!set) {
        printf("open: %s\n", error);
        free(error);
        exit(EXIT_FAILURE);
    }
    for (int i = 2; i < ctx->argc; ) {
        i += port_set_command(set, ctx->argc - i, ctx->argv + i);
        fflush(stdout);     /* A test may be waiting for each answer. */
    }
    port_set_close(set);
}

/* offload: unit tests. */

#define CHECK(COND)                                                 \
    do {                                                            \
        if (!(COND)) {                                              \
            ovs_fatal(0, "%s:%d: check failed: %s", __FILE__,       \
                      __LINE__, #COND);                             \
        }                                                           \
    } while (0)

struct frame_spec {
    bool ipv6;
    bool vlan;
    uint8_t proto;              /* IPPROTO_TCP or IPPROTO_UDP. */
    size_t tcp_options;         /* Multiple of 4. */
    size_t payload;
    uint16_t tcp_flags;
};

static const uint32_t SEQ0 = 0xfffff000;   /* Wraps within a frame. */
static const uint16_t IP_ID0 = 0xfffe;      /* Wraps too. */

static void
put_eth(struct dp_packet *p, const struct frame_spec *f)
{
    static const uint8_t macs[12] = { 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 1 };
    ovs_be16 type = htons(f->ipv6 ? ETH_TYPE_IPV6 : ETH_TYPE_IP);

    dp_packet_put(p, macs, sizeof macs);
    if (f->vlan) {
        ovs_be16 tag[2] = { htons(ETH_TYPE_VLAN), htons(5) };
        dp_packet_put(p, tag, sizeof tag);
    }
    dp_packet_put(p, &type, sizeof type);
}

static void
put_ip(struct dp_packet *p, const struct frame_spec *f, size_t l4_size)
{
    if (f->ipv6) {
        struct ovs_16aligned_ip6_hdr *ip6 = dp_packet_put_zeros(p,
                                                            sizeof *ip6);

        struct ovs_16aligned_ip6_hdrctl *ctl = &ip6->ip6_ctlun.ip6_un1;

        put_16aligned_be32(&ctl->ip6_un1_flow, htonl(6 << 28));
        ctl->ip6_un1_plen = htons(l4_size);
        ctl->ip6_un1_nxt = f->proto;
        ctl->ip6_un1_hlim = 64;
        inet_pton(AF_INET6, "fc00::1", &ip6->ip6_src);
        inet_pton(AF_INET6, "fc00::2", &ip6->ip6_dst);
    } else {
        struct ip_header *ip = dp_packet_put_zeros(p, sizeof *ip);

        ip->ip_ihl_ver = IP_IHL_VER(5, 4);
        ip->ip_tot_len = htons(sizeof *ip + l4_size);
        ip->ip_id = htons(IP_ID0);
        ip->ip_frag_off = htons(IP_DONT_FRAGMENT);
        ip->ip_ttl = 64;
        ip->ip_proto = f->proto;
        put_16aligned_be32(&ip->ip_src, htonl(0x0a000001));
        put_16aligned_be32(&ip->ip_dst, htonl(0x0a000002));
        ip->ip_csum = csum(ip, sizeof *ip);
    }
}

/* The full checksum of the L4 header and payload of 'p', field included:
 * 0 if the field is right. */
static ovs_be16
l4_verify(const struct dp_packet *p, uint8_t proto)
{
    const void *l3 = dp_packet_l3(p);
    const void *l4 = dp_packet_l4(p);
    size_t n = dp_packet_l4_size(p);

    if (IP_VER(*(const uint8_t *) l3) == 4) {
        return csum_finish(csum_continue(packet_csum_pseudoheader(l3), l4, n));
    }
    return packet_csum_upperlayer6(l3, l4, proto, n);
}

/* Builds a frame with complete checksums, as a NIC would send it. */
static struct dp_packet *
build_frame(const struct frame_spec *f)
{
    size_t l4_hlen = (f->proto == IPPROTO_TCP
                      ? TCP_HEADER_LEN + f->tcp_options : UDP_HEADER_LEN);
    size_t l4_size = l4_hlen + f->payload;
    struct dp_packet *p = dp_packet_new(128 + l4_size);

    put_eth(p, f);
    p->l3_ofs = dp_packet_size(p);
    put_ip(p, f, l4_size);
    p->l4_ofs = dp_packet_size(p);

    uint8_t *l4 = dp_packet_put_zeros(p, l4_size);
    if (f->proto == IPPROTO_TCP) {
        struct tcp_header *tcp = (struct tcp_header *) l4;

        tcp->tcp_src = htons(1000);
        tcp->tcp_dst = htons(2000);
        put_16aligned_be32(&tcp->tcp_seq, htonl(SEQ0));
        put_16aligned_be32(&tcp->tcp_ack, htonl(1));
        tcp->tcp_ctl = TCP_CTL(f->tcp_flags, l4_hlen / 4);
        tcp->tcp_winsz = htons(65535);
        memset(l4 + TCP_HEADER_LEN, 1, f->tcp_options);   /* NOPs. */
    } else {
        struct udp_header *udp = (struct udp_header *) l4;

        udp->udp_src = htons(1000);
        udp->udp_dst = htons(2000);
        udp->udp_len = htons(l4_size);
    }
    for (size_t i = 0; i < f->payload; i++) {
        l4[l4_hlen + i] = i * 7 + (i >> 8);
    }

    ovs_be16 *field = (f->proto == IPPROTO_TCP
                       ? &((struct tcp_header *) l4)->tcp_csum
                       : &((struct udp_header *) l4)->udp_csum);
    *field = l4_verify(p, f->proto);
    return p;
}

/* Turns 'p' into what netdev-linux hands over for a frame the kernel left
 * unfinished: the checksum field holds the pseudo-header seed, the marks
 * say so, and the offsets are unset. */
static void
make_partial(struct dp_packet *p, const struct frame_spec *f, bool gso)
{
    if (f->ipv6) {
        dp_packet_hwol_set_tx_ipv6(p);
    } else {
        dp_packet_hwol_set_tx_ipv4(p);
    }
    if (f->proto == IPPROTO_TCP) {
        dp_packet_hwol_set_csum_tcp(p);
    } else {
        dp_packet_hwol_set_csum_udp(p);
    }
    if (gso) {
        dp_packet_hwol_set_tcp_seg(p);
    }
    port_packet_csum_refresh(p);
    dp_packet_reset_offsets(p);
}

/* What the kernel does with a partial checksum: sums from the L4 header on,
 * seed included, and stores the result. */
static void
kernel_finish(struct dp_packet *p, uint8_t proto)
{
    void *l4 = dp_packet_l4(p);
    ovs_be16 *field = (proto == IPPROTO_TCP
                       ? &((struct tcp_header *) l4)->tcp_csum
                       : &((struct udp_header *) l4)->udp_csum);

    *field = csum(l4, dp_packet_l4_size(p));
}

static void
check_segments(const struct dp_packet *orig, const struct frame_spec *f,
               struct dp_packet **segs, size_t n, int mtu)
{
    const struct tcp_header *otcp = dp_packet_l4(orig);
    size_t hlen = TCP_HEADER_LEN + f->tcp_options;
    const uint8_t *opayload = (const uint8_t *) otcp + hlen;
    size_t offset = 0;

    for (size_t i = 0; i < n; i++) {
        const struct dp_packet *s = segs[i];
        const struct tcp_header *tcp = dp_packet_l4(s);
        size_t len = dp_packet_l4_size(s) - hlen;
        size_t l3_size = dp_packet_size(s) - s->l3_ofs;
        uint16_t flags = TCP_FLAGS(tcp->tcp_ctl);

        CHECK(!port_packet_is_offloaded(s));
        CHECK(l3_size <= mtu);
        CHECK(!l4_verify(s, IPPROTO_TCP));
        CHECK(ntohl(get_16aligned_be32(&tcp->tcp_seq))
              == (uint32_t) (SEQ0 + offset));
        CHECK(!memcmp((const uint8_t *) tcp + hlen, opayload + offset, len));
        CHECK(!!(flags & (TCP_FIN | TCP_PSH)) == (i == n - 1));
        CHECK(!!(flags & TCP_CWR) == (i == 0));
        if (f->ipv6) {
            const struct ovs_16aligned_ip6_hdr *ip6 = dp_packet_l3(s);
            CHECK(ntohs(ip6->ip6_ctlun.ip6_un1.ip6_un1_plen)
                  == l3_size - IPV6_HEADER_LEN);
        } else {
            const struct ip_header *ip = dp_packet_l3(s);
            CHECK(ntohs(ip->ip_tot_len) == l3_size);
            CHECK(!csum(ip, IP_HEADER_LEN));
            CHECK(ntohs(ip->ip_id) == (uint16_t) (IP_ID0 + i));
        }
        offset += len;
    }
    CHECK(offset == f->payload);
}

static void
test_segment(bool ipv6, bool vlan, size_t options, size_t payload, int mtu)
{
    struct frame_spec f = {
        .ipv6 = ipv6, .vlan = vlan, .proto = IPPROTO_TCP,
        .tcp_options = options, .payload = payload,
        .tcp_flags = TCP_ACK | TCP_PSH | TCP_FIN | TCP_CWR,
    };
    struct dp_packet *p = build_frame(&f);
    struct dp_packet *segs[PORT_MAX_SEGMENTS];

    make_partial(p, &f, true);
    CHECK(port_packet_parse_offloaded(p));
    size_t n = port_packet_segment(p, mtu, segs);
    size_t mss = mtu - (ipv6 ? IPV6_HEADER_LEN : IP_HEADER_LEN)
                 - TCP_HEADER_LEN - options;
    CHECK(n == (payload ? DIV_ROUND_UP(payload, mss) : 1));
    check_segments(p, &f, segs, n, mtu);
    CHECK(port_packet_gso_overshoots(p) == (options > (vlan ? 18 : 14)));

    printf("segment %s%s, %"PRIuSIZE"-byte options, %"PRIuSIZE" bytes, "
           "MTU %d: %"PRIuSIZE" segments ok\n", ipv6 ? "IPv6" : "IPv4",
           vlan ? " VLAN" : "", options, payload, mtu, n);
    for (size_t i = 0; i < n; i++) {
        dp_packet_delete(segs[i]);
    }
    dp_packet_delete(p);
}

static void
test_csum_finish(bool ipv6, uint8_t proto)
{
    struct frame_spec f = { .ipv6 = ipv6, .proto = proto, .payload = 1001,
                            .tcp_flags = TCP_ACK };
    struct dp_packet *p = build_frame(&f);
    ovs_be16 good = (proto == IPPROTO_TCP
                     ? ((struct tcp_header *) dp_packet_l4(p))->tcp_csum
                     : ((struct udp_header *) dp_packet_l4(p))->udp_csum);

    make_partial(p, &f, false);
    CHECK(port_packet_csum_partial(p));
    CHECK(port_packet_parse_offloaded(p));
    CHECK(port_packet_csum_finish(p));
    CHECK(!port_packet_is_offloaded(p));
    CHECK(!l4_verify(p, proto));
    ovs_be16 now = (proto == IPPROTO_TCP
                    ? ((struct tcp_header *) dp_packet_l4(p))->tcp_csum
                    : ((struct udp_header *) dp_packet_l4(p))->udp_csum);
    CHECK(now == good);
    printf("finish %s %s checksum ok\n", ipv6 ? "IPv6" : "IPv4",
           proto == IPPROTO_TCP ? "TCP" : "UDP");
    dp_packet_delete(p);
}

/* A rewrite by OVS's packet_set_*() of a frame with a partial checksum,
 * then the kernel's finish: right only with port_packet_csum_refresh(). */
static bool
rewrite_then_finish(uint8_t proto, bool refresh)
{
    struct frame_spec f = { .proto = proto, .payload = 500,
                            .tcp_flags = TCP_ACK };
    struct dp_packet *p = build_frame(&f);

    make_partial(p, &f, false);
    CHECK(port_packet_parse_offloaded(p));
    packet_set_ipv4(p, htonl(0xc0a80101), htonl(0x0a000002), 0, 64);
    if (proto == IPPROTO_TCP) {
        packet_set_tcp_port(p, htons(4321), htons(2000));
    } else {
        packet_set_udp_port(p, htons(4321), htons(2000));
    }
    if (refresh) {
        port_packet_csum_refresh(p);
    }
    kernel_finish(p, proto);

    bool ok = !l4_verify(p, proto);
    dp_packet_delete(p);
    return ok;
}

static void
test_refresh(uint8_t proto)
{
    const char *name = proto == IPPROTO_TCP ? "TCP" : "UDP";

    CHECK(rewrite_then_finish(proto, true));
    CHECK(!rewrite_then_finish(proto, false));
    printf("NAT rewrite of a partial %s checksum: right with refresh, "
           "wrong without\n", name);
}

static void
test_invalid(void)
{
    struct dp_packet *p = dp_packet_new(64);

    dp_packet_put_zeros(p, 60);
    ((struct eth_header *) dp_packet_data(p))->eth_type = htons(ETH_TYPE_ARP);
    dp_packet_hwol_set_csum_tcp(p);
    CHECK(!port_packet_parse_offloaded(p));
    printf("offloaded non-IP frame refused\n");
    dp_packet_delete(p);
}

static void
offload_cmd(struct ovs_cmdl_context *ctx OVS_UNUSED)
{
    test_segment(false, false, 12, 65000, 1500);
    test_segment(false, true, 12, 65000, 1500);
    test_segment(true, false, 12, 64000, 1500);
    test_segment(false, false, 32, 30000, 1500);
    test_segment(true, true, 40, 9000, 1280);
    test_segment(false, false, 0, 1448 * 3, 1500);
    test_segment(false, false, 0, 100, 576);
    test_segment(false, false, 12, 0, 1500);
    test_csum_finish(false, IPPROTO_TCP);
    test_csum_finish(true, IPPROTO_TCP);
    test_csum_finish(false, IPPROTO_UDP);
    test_csum_finish(true, IPPROTO_UDP);
    test_refresh(IPPROTO_TCP);
    test_refresh(IPPROTO_UDP);
    test_invalid();
}

static void
test_port_main(int argc, char *argv[])
{
    static const struct ovs_cmdl_command commands[] = {
        {"wire", "DEV1 DEV2 [--seconds=N] [--no-vnet] [--soft]", 2, 5,
         wire_cmd, OVS_RO},
        {"tcp-sink", "ADDR PORT BYTES [--timeout=S]", 3, 4, tcp_sink_cmd,
         OVS_RO},
        {"tcp-source", "ADDR PORT BYTES [--timeout=S]", 3, 4,
         tcp_source_cmd, OVS_RO},
        {"ping", "ADDR [--count=N] [--timeout=S]", 1, 3, ping_cmd, OVS_RO},
        {"tap-peer", "TAP1 TAP2 [--netns=NS] [--offloads=on|off]", 2, 4,
         tap_peer_cmd, OVS_RO},
        {"port-set", "DIR COMMAND...", 1, INT_MAX, port_set_cmd, OVS_RO},
        {"offload", "", 0, 0, offload_cmd, OVS_RO},
        {NULL, NULL, 0, 0, NULL, OVS_RO},
    };
    struct ovs_cmdl_context ctx = { .argc = argc - 1, .argv = argv + 1 };

    set_program_name(argv[0]);
    ovs_cmdl_run_command(&ctx, commands);
}

OVSTEST_REGISTER("test-port", test_port_main);
