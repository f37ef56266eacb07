/*
 * State images with many established TCP connections, for benchmarks:
 *
 *   test-image-fill FILE N_CONNS IFACE_ID MAC [ip=ADDR] [policy=P] [allow=..]
 *       Writes to FILE the state image of VIF IFACE_ID (defined as
 *       offload/add-vif defines it; its first ip= is the VM's address,
 *       10.0.0.1 if none) holding N_CONNS established TCP connections from
 *       the VM, ready for "offload/import FILE".
 *
 * Every entry is made by the conntrack engine itself, from packets: each
 * connection is a three-way handshake with the options Linux sends (MSS,
 * SACK permitted, timestamps, window scale 7), then a segment of data each
 * way and the last ACK, run through ct_table_execute() as the VIF's
 * firewall would (from the VM: commit; to it: never commit).  So each entry
 * has what a real one has: both directions' seqlo, seqhi, max_win, wscale
 * and state, counters, and the deadline of an established connection.  A
 * packet that the engine does not answer as expected (+new for the SYN,
 * +est after it) stops the program.
 *
 * Connection i goes from the VM's address, port 1024 + i % 64000, to
 * 198.18.0.0 + 1 + i / 64000 (RFC 2544's benchmark range), port 443, with
 * initial sequence numbers derived from i.
 *
 * Prints "image: FILE entries=N bytes=B fill_ms=T export_ms=T".
 */
#include <config.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "command-line.h"
#include "csum.h"
#include "ct-engine.h"
#include "dp-packet.h"
#include "flow.h"
#include "hash.h"
#include "ovstest.h"
#include "packets.h"
#include "region-format.h"
#include "state-region.h"
#include "timeval.h"
#include "util.h"
#include "vif.h"

#define PORTS_PER_ADDR 64000
#define SEAL_EVERY 4096         /* Connections between seals, as the daemon
                                 * seals once per turn of its loop. */
#define WSCALE 7

struct conn_addrs {
    struct eth_addr vm_mac, gw_mac;
    ovs_be32 vm_ip, peer_ip;
    ovs_be16 vm_port, peer_port;
};

/* TCP options as Linux sends them: on a SYN, MSS, SACK permitted,
 * timestamps, NOP, window scale (20 bytes); otherwise NOP, NOP, timestamps
 * (12 bytes). */
static size_t
put_options(uint8_t *p, bool syn, uint32_t tsval, uint32_t tsecr)
{
    uint8_t *start = p;
    ovs_be32 v;

    if (syn) {
        *p++ = 2; *p++ = 4; *p++ = 1460 >> 8; *p++ = 1460 & 0xff;
        *p++ = 4; *p++ = 2;
    } else {
        *p++ = 1; *p++ = 1;
    }
    *p++ = 8; *p++ = 10;
    v = htonl(tsval);
    memcpy(p, &v, 4);
    p += 4;
    v = htonl(tsecr);
    memcpy(p, &v, 4);
    p += 4;
    if (syn) {
        *p++ = 1;
        *p++ = 3; *p++ = 3; *p++ = WSCALE;
    }
    return p - start;
}

/* Rebuilds 'pkt' as one segment with correct checksums, and extracts it so
 * that its L3 and L4 offsets are set. */
static void
build_segment(struct dp_packet *pkt, const struct conn_addrs *a, bool from_vm,
              uint16_t flags, uint32_t seq, uint32_t ack, uint16_t win,
              size_t payload, uint32_t tsval, uint32_t tsecr)
{
    uint8_t opts[20];
    size_t opts_len = put_options(opts, flags & TCP_SYN, tsval, tsecr);
    size_t l4_len = TCP_HEADER_LEN + opts_len + payload;

    /* One put, so that the header pointers stay valid. */
    dp_packet_clear(pkt);
    struct eth_header *eth = dp_packet_put_zeros(pkt, ETH_HEADER_LEN
                                                 + IP_HEADER_LEN + l4_len);
    struct ip_header *ip = (struct ip_header *) (eth + 1);
    struct tcp_header *tcp = (struct tcp_header *) (ip + 1);
    uint8_t *data = (uint8_t *) (tcp + 1) + opts_len;

    eth->eth_src = from_vm ? a->vm_mac : a->gw_mac;
    eth->eth_dst = from_vm ? a->gw_mac : a->vm_mac;
    eth->eth_type = htons(ETH_TYPE_IP);

    ip->ip_ihl_ver = IP_IHL_VER(5, 4);
    ip->ip_tot_len = htons(IP_HEADER_LEN + l4_len);
    ip->ip_frag_off = htons(IP_DONT_FRAGMENT);
    ip->ip_ttl = 64;
    ip->ip_proto = IPPROTO_TCP;
    put_16aligned_be32(&ip->ip_src, from_vm ? a->vm_ip : a->peer_ip);
    put_16aligned_be32(&ip->ip_dst, from_vm ? a->peer_ip : a->vm_ip);
    ip->ip_csum = csum(ip, sizeof *ip);

    tcp->tcp_src = from_vm ? a->vm_port : a->peer_port;
    tcp->tcp_dst = from_vm ? a->peer_port : a->vm_port;
    put_16aligned_be32(&tcp->tcp_seq, htonl(seq));
    put_16aligned_be32(&tcp->tcp_ack, htonl(ack));
    tcp->tcp_ctl = TCP_CTL(flags, (TCP_HEADER_LEN + opts_len) / 4);
    tcp->tcp_winsz = htons(win);
    memcpy(tcp + 1, opts, opts_len);
    for (size_t i = 0; i < payload; i++) {
        data[i] = 'a' + i % 26;
    }

    uint32_t partial = packet_csum_pseudoheader(ip);
    tcp->tcp_csum = csum_finish(csum_continue(partial, tcp, l4_len));

    struct flow flow;
    pkt->packet_type = htonl(PT_ETH);
    flow_extract(pkt, &flow);
}

static void
check_verdict(uint32_t conn, int step, struct ct_exec_result r,
              uint32_t want)
{
    if (r.refused || (r.ct_state & (CS_INVALID | want)) != want) {
        ovs_fatal(0, "connection %"PRIu32", segment %d: ct_state %#"PRIx32
                  " (refused %d), expected %#"PRIx32, conn, step,
                  r.ct_state, r.refused, want);
    }
}

/* One connection: handshake, a segment of data each way, the last ACK. */
static void
fill_one(struct ct_table *t, struct dp_packet *pkt, const struct conn_addrs *a,
         uint32_t i, long long now)
{
    const struct ct_exec out = { .commit = true };
    const struct ct_exec in = { .commit = false };
    uint32_t c = hash_int(i, 0x5eed);         /* The VM's ISN. */
    uint32_t s = hash_int(i, 0xc0de);         /* The peer's. */
    uint32_t ts = (uint32_t) now;
    const size_t c_data = 120, s_data = 240;
    const uint32_t new = CS_TRACKED | CS_NEW;
    const uint32_t est = CS_TRACKED | CS_ESTABLISHED;

    build_segment(pkt, a, true, TCP_SYN, c, 0, 64240, 0, ts, 0);
    check_verdict(i, 1, ct_table_execute(t, pkt, &out, now), new);
    build_segment(pkt, a, false, TCP_SYN | TCP_ACK, s, c + 1, 65160, 0,
                  ts + 1, ts);
    check_verdict(i, 2, ct_table_execute(t, pkt, &in, now), est);
    build_segment(pkt, a, true, TCP_ACK, c + 1, s + 1, 502, 0, ts + 2,
                  ts + 1);
    check_verdict(i, 3, ct_table_execute(t, pkt, &out, now), est);
    build_segment(pkt, a, true, TCP_ACK | TCP_PSH, c + 1, s + 1, 502,
                  c_data, ts + 3, ts + 1);
    check_verdict(i, 4, ct_table_execute(t, pkt, &out, now), est);
    build_segment(pkt, a, false, TCP_ACK | TCP_PSH, s + 1, c + 1 + c_data,
                  509, s_data, ts + 4, ts + 3);
    check_verdict(i, 5, ct_table_execute(t, pkt, &in, now), est);
    build_segment(pkt, a, true, TCP_ACK, c + 1 + c_data, s + 1 + s_data, 501,
                  0, ts + 5, ts + 4);
    check_verdict(i, 6, ct_table_execute(t, pkt, &out, now), est);
}

static void
test_image_fill_main(int argc, char *argv[])
{
    unsigned long long n;
    struct oor_vif_def def;
    int zone = 0;

    set_program_name(argv[0]);
    if (argc < 5) {
        ovs_fatal(0, "usage: %s FILE N_CONNS IFACE_ID MAC [ip=ADDR] "
                  "[policy=P] [allow=...]", argv[0]);
    }
    const char *file = argv[1];
    if (!str_to_ullong(argv[2], 10, &n) || !n || n > UINT32_MAX) {
        ovs_fatal(0, "%s: N_CONNS must be between 1 and %"PRIu32, argv[2],
                  UINT32_MAX);
    }
    if (n / PORTS_PER_ADDR >= 131072 - 2) {
        ovs_fatal(0, "%llu connections do not fit in 198.18.0.0/15", n);
    }
    char *error = vif_def_parse(&def, &zone, argc - 3,
                                (const char **) argv + 3);
    if (error) {
        ovs_fatal(0, "%s", error);
    }

    struct conn_addrs a;
    memcpy(a.vm_mac.ea, def.mac, ETH_ADDR_LEN);
    a.gw_mac = (struct eth_addr) ETH_ADDR_C(02, 00, 00, 00, 00, fe);
    a.vm_ip = (def.n_ips && IN6_IS_ADDR_V4MAPPED(&def.ips[0])
               ? in6_addr_get_mapped_ipv4(&def.ips[0])
               : htonl(0x0a000001));
    a.peer_port = htons(443);

    const char *parent = access("/dev/shm", W_OK) ? "/tmp" : "/dev/shm";
    char *dir = xasprintf("%s/image-fill.XXXXXX", parent);
    if (!mkdtemp(dir)) {
        ovs_fatal(errno, "%s: mkdtemp", dir);
    }
    char *path = xasprintf("%s/region", dir);
    long long now = time_msec();
    struct state_region *r;
    error = state_region_create(path, &def, n, now, &r);
    if (error) {
        ovs_fatal(0, "%s", error);
    }
    struct ct_engine *e = ct_engine_create();
    ct_engine_set_limit(e, UINT32_MAX);
    struct ct_table *t = ct_table_open(e, 1, r, now, &error);
    if (!t) {
        ovs_fatal(0, "%s", error);
    }

    struct dp_packet *pkt = dp_packet_new(512);
    long long start = time_msec();
    for (uint32_t i = 0; i < n; i++) {
        a.vm_port = htons(1024 + i % PORTS_PER_ADDR);
        a.peer_ip = htonl((198u << 24) | (18u << 16)
                          | (1 + i / PORTS_PER_ADDR));
        fill_one(t, pkt, &a, i, now);
        if (i % SEAL_EVERY == SEAL_EVERY - 1) {
            now = time_msec();
            ct_engine_seal(e, now);
        }
    }
    long long filled = time_msec();
    if (ct_table_count(t) != n) {
        ovs_fatal(0, "%"PRIu32" entries for %llu connections",
                  ct_table_count(t), n);
    }

    error = state_region_export(r, file, time_msec());
    if (error) {
        ovs_fatal(0, "%s", error);
    }
    long long exported = time_msec();
    printf("image: %s entries=%"PRIu32" bytes=%"PRIuSIZE" fill_ms=%lld "
           "export_ms=%lld\n", file, ct_table_count(t), state_region_size(r),
           filled - start, exported - filled);

    dp_packet_delete(pkt);
    ct_table_close(t);
    state_region_destroy(r);
    ct_engine_destroy(e);
    rmdir(dir);
    free(path);
    free(dir);
}

OVSTEST_REGISTER("test-image-fill", test_image_fill_main);
