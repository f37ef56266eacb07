/*
 * Writes packet captures for the tests, so that a test reads like the
 * traffic it sends:
 *
 *   ovstest-offload test-pcap pcap-write FILE < PACKETS
 *
 * reads one frame per line in packet-compose.h's syntax, ovs-ofctl flow
 * syntax plus TCP extras ("tcp,...,tcp_flags=syn seq=1000 win=64240");
 * lines starting with '#' are comments.
 *
 *   ovstest-offload test-pcap pcap-udp-flows FILE N SRC_MAC DST_MAC
 *
 * writes N UDP frames of N distinct connections from 10.x.y.z to 192.0.2.1.
 *
 *   ovstest-offload test-pcap send DEV < PACKETS
 *
 * sends the frames, as pcap-write reads them, out of DEV through a packet
 * socket: what a system test injects, such as a forged or out-of-window
 * segment.
 */
#include <config.h>

#include <errno.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>
#include <string.h>
#include "dp-packet.h"
#include "flow.h"
#include "ovstest.h"
#include "packet-compose.h"
#include "packets.h"
#include "pcap-file.h"
#include "util.h"

static void
pcap_write_cmd(struct ovs_cmdl_context *ctx)
{
    struct pcap_file *pcap = ovs_pcap_open(ctx->argv[1], "wb");
    char line[4096];

    if (!pcap) {
        ovs_fatal(errno, "%s: open failed", ctx->argv[1]);
    }
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\n")] = '\0';
        if (line[0] && line[0] != '#') {
            struct dp_packet *p = packet_compose(line);
            ovs_pcap_write(pcap, p);
            dp_packet_delete(p);
        }
    }
    ovs_pcap_close(pcap);
}

static void
pcap_udp_flows_cmd(struct ovs_cmdl_context *ctx)
{
    unsigned int n = strtoul(ctx->argv[2], NULL, 10);
    struct pcap_file *pcap = ovs_pcap_open(ctx->argv[1], "wb");
    if (!pcap) {
        ovs_fatal(errno, "%s: open failed", ctx->argv[1]);
    }
    for (unsigned int i = 0; i < n; i++) {
        char *spec = xasprintf("udp,dl_src=%s,dl_dst=%s,nw_src=10.%u.%u.%u,"
                               "nw_dst=192.0.2.1,nw_ttl=64,udp_src=%u,"
                               "udp_dst=53", ctx->argv[3], ctx->argv[4],
                               (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff,
                               1024 + i % 50000);
        struct dp_packet *p = packet_compose(spec);
        ovs_pcap_write(pcap, p);
        dp_packet_delete(p);
        free(spec);
    }
    ovs_pcap_close(pcap);
}

static void
send_cmd(struct ovs_cmdl_context *ctx)
{
    const char *dev = ctx->argv[1];
    struct sockaddr_ll sll;
    char line[4096];
    int fd;

    memset(&sll, 0, sizeof sll);
    sll.sll_family = AF_PACKET;
    sll.sll_ifindex = if_nametoindex(dev);
    if (!sll.sll_ifindex) {
        ovs_fatal(errno, "%s: no such device", dev);
    }
    fd = socket(AF_PACKET, SOCK_RAW, 0);
    if (fd < 0) {
        ovs_fatal(errno, "packet socket");
    }
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\n")] = '\0';
        if (line[0] && line[0] != '#') {
            struct dp_packet *p = packet_compose(line);

            if (sendto(fd, dp_packet_data(p), dp_packet_size(p), 0,
                       (struct sockaddr *) &sll, sizeof sll) < 0) {
                ovs_fatal(errno, "%s: send failed", dev);
            }
            dp_packet_delete(p);
        }
    }
    close(fd);
}

static void
test_pcap_main(int argc, char *argv[])
{
    static const struct ovs_cmdl_command commands[] = {
        {"pcap-write", "FILE < PACKETS", 1, 1, pcap_write_cmd, OVS_RO},
        {"pcap-udp-flows", "FILE N SRC_MAC DST_MAC", 4, 4,
         pcap_udp_flows_cmd, OVS_RO},
        {"send", "DEV < PACKETS", 1, 1, send_cmd, OVS_RO},
        {NULL, NULL, 0, 0, NULL, OVS_RO},
    };
    struct ovs_cmdl_context ctx = { .argc = argc - 1, .argv = argv + 1 };

    set_program_name(argv[0]);
    ovs_cmdl_run_command(&ctx, commands);
}

OVSTEST_REGISTER("test-pcap", test_pcap_main);
