/*
 * Copyright (c) 2026 OVS Offload Migration authors.
 *
 * Licensed under the Apache License, Version 2.0 (the "License");
 * you may not use this file except in compliance with the License.
 * You may obtain a copy of the License at:
 *
 *     http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS,
 * WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 * See the License for the specific language governing permissions and
 * limitations under the License.
 */

/* Unit tests for the TCP tracker (ct-tcp.c), driven from tests/ct-tcp.at.
 *
 *   test-ct-tcp trace [--strict]
 *       Reads a trace of segments on stdin and prints one line per segment:
 *       its ct_state verdict and the connection's state after it.  A trace
 *       line is
 *           DIR FLAGS [seq=N] [ack=N] [win=N] [len=N] [ws=N] [opts=HEX]
 *                     [off=N]
 *       DIR is '>' for the originating direction and '<' for replies; FLAGS
 *       is letters from SAFRPU (SYN ACK FIN RST PSH URG), or '-' for none;
 *       'ws' adds a window scale option, 'opts' gives the option bytes
 *       instead, 'off' overrides the data offset.  A line "peers" prints
 *       both peers.  '#' starts a comment.  The first segment opens the
 *       connection if ct_tcp_valid_new() allows it, with pickup unless
 *       --strict; a RESTART verdict does the same anew, as the engine does.
 *
 *   test-ct-tcp valid-new    ct_tcp_valid_new() for flag combinations.
 *   test-ct-tcp states       connection state names and timeouts.
 *   test-ct-tcp check        ct_tcp_check() on good and damaged peers.
 */

#include <config.h>
#undef NDEBUG
#include "ct-tcp.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "command-line.h"
#include "csum.h"
#include "ct-dpif.h"
#include "dp-packet.h"
#include "flow.h"
#include "openvswitch/dynamic-string.h"
#include "openvswitch/ofpbuf.h"
#include "openvswitch/util.h"
#include "ovstest.h"
#include "packets.h"
#include "util.h"

/* One segment of a trace. */
struct tcp_test_seg {
    bool reply;                 /* From '<'? */
    uint16_t flags;
    uint32_t seq, ack;
    uint16_t win;
    uint16_t len;               /* Payload bytes. */
    uint8_t opts[40];           /* TCP options, padded with EOL. */
    size_t n_opts;
    int off;                    /* Data offset in words; -1 for correct. */
};

static const char tcp_test_flag_chars[] = "FSRPAU";

static uint16_t
tcp_test_parse_flags(const char *s, int line)
{
    uint16_t flags = 0;

    if (!strcmp(s, "-")) {
        return 0;
    }
    for (; *s; s++) {
        const char *p = strchr(tcp_test_flag_chars, *s);
        if (!p) {
            ovs_fatal(0, "line %d: unknown TCP flag '%c'", line, *s);
        }
        flags |= 1 << (p - tcp_test_flag_chars);   /* TCP_FIN is bit 0. */
    }
    return flags;
}

static void
tcp_test_format_flags(struct ds *s, uint16_t flags)
{
    /* Print in the conventional order, SYN first. */
    static const struct {
        uint16_t flag;
        char c;
    } order[] = {
        { TCP_SYN, 'S' }, { TCP_FIN, 'F' }, { TCP_RST, 'R' },
        { TCP_PSH, 'P' }, { TCP_ACK, 'A' }, { TCP_URG, 'U' },
    };

    if (!flags) {
        ds_put_char(s, '-');
    }
    for (size_t i = 0; i < ARRAY_SIZE(order); i++) {
        if (flags & order[i].flag) {
            ds_put_char(s, order[i].c);
        }
    }
}

static unsigned long long
tcp_test_parse_uint(const char *key, const char *value, unsigned long long max,
                    int line)
{
    char *end;

    errno = 0;
    unsigned long long x = strtoull(value, &end, 0);
    if (errno || end == value || *end || x > max) {
        ovs_fatal(0, "line %d: bad %s=%s", line, key, value);
    }
    return x;
}

static void
tcp_test_parse_opts(struct tcp_test_seg *seg, const char *hex, int line)
{
    struct ofpbuf b;

    ofpbuf_init(&b, 0);
    if (ofpbuf_put_hex(&b, hex, NULL)[0] != '\0' || b.size > 40) {
        ovs_fatal(0, "line %d: bad opts=%s", line, hex);
    }
    memcpy(seg->opts, b.data, b.size);
    seg->n_opts = b.size;
    ofpbuf_uninit(&b);
}

/* Parses 'line' (already split into 'tokens') into 'seg'. */
static void
tcp_test_parse_seg(char *tokens[], int n, struct tcp_test_seg *seg, int line)
{
    memset(seg, 0, sizeof *seg);
    seg->reply = !strcmp(tokens[0], "<");
    seg->win = 65535;
    seg->off = -1;
    if (n < 2) {
        ovs_fatal(0, "line %d: flags missing", line);
    }
    seg->flags = tcp_test_parse_flags(tokens[1], line);

    for (int i = 2; i < n; i++) {
        char *key = tokens[i];
        char *value = strchr(key, '=');
        if (!value) {
            ovs_fatal(0, "line %d: %s: KEY=VALUE expected", line, key);
        }
        *value++ = '\0';

        if (!strcmp(key, "seq")) {
            seg->seq = tcp_test_parse_uint(key, value, UINT32_MAX, line);
        } else if (!strcmp(key, "ack")) {
            seg->ack = tcp_test_parse_uint(key, value, UINT32_MAX, line);
        } else if (!strcmp(key, "win")) {
            seg->win = tcp_test_parse_uint(key, value, UINT16_MAX, line);
        } else if (!strcmp(key, "len")) {
            seg->len = tcp_test_parse_uint(key, value, 1400, line);
        } else if (!strcmp(key, "ws")) {
            /* NOP, then window scale: kind 3, length 3, shift. */
            seg->opts[0] = 1;
            seg->opts[1] = 3;
            seg->opts[2] = 3;
            seg->opts[3] = tcp_test_parse_uint(key, value, UINT8_MAX, line);
            seg->n_opts = 4;
        } else if (!strcmp(key, "opts")) {
            tcp_test_parse_opts(seg, value, line);
        } else if (!strcmp(key, "off")) {
            seg->off = tcp_test_parse_uint(key, value, 15, line);
        } else {
            ovs_fatal(0, "line %d: unknown key %s", line, key);
        }
    }
}

/* Builds an Ethernet + IPv4 + TCP packet for 'seg' and runs flow_extract()
 * on it, so that its L3 and L4 offsets are set as the datapath sets them. */
static struct dp_packet *
tcp_test_build(const struct tcp_test_seg *seg)
{
    size_t tcp_len = TCP_HEADER_LEN + ROUND_UP(seg->n_opts, 4);
    size_t ip_len = IP_HEADER_LEN + tcp_len + seg->len;
    struct dp_packet *pkt = dp_packet_new(ETH_HEADER_LEN + ip_len);
    ovs_be32 a = htonl(0x0a000001), b = htonl(0x0a000002);
    ovs_be16 pa = htons(33333), pb = htons(80);

    struct eth_header *eth = dp_packet_put_zeros(pkt, sizeof *eth);
    eth->eth_src = (struct eth_addr) ETH_ADDR_C(50, 54, 00, 00, 00, 01);
    eth->eth_dst = (struct eth_addr) ETH_ADDR_C(50, 54, 00, 00, 00, 02);
    eth->eth_type = htons(ETH_TYPE_IP);

    struct ip_header *ip = dp_packet_put_zeros(pkt, sizeof *ip);
    ip->ip_ihl_ver = IP_IHL_VER(5, IP_VERSION);
    ip->ip_tot_len = htons(ip_len);
    ip->ip_ttl = 64;
    ip->ip_proto = IPPROTO_TCP;
    put_16aligned_be32(&ip->ip_src, seg->reply ? b : a);
    put_16aligned_be32(&ip->ip_dst, seg->reply ? a : b);
    ip->ip_csum = csum(ip, sizeof *ip);

    struct tcp_header *tcp = dp_packet_put_zeros(pkt, sizeof *tcp);
    tcp->tcp_src = seg->reply ? pb : pa;
    tcp->tcp_dst = seg->reply ? pa : pb;
    put_16aligned_be32(&tcp->tcp_seq, htonl(seg->seq));
    put_16aligned_be32(&tcp->tcp_ack, htonl(seg->ack));
    int off = seg->off >= 0 ? seg->off : (int) (tcp_len / 4);
    tcp->tcp_ctl = TCP_CTL(seg->flags, off);
    tcp->tcp_winsz = htons(seg->win);

    uint8_t *opts = dp_packet_put_zeros(pkt, tcp_len - TCP_HEADER_LEN);
    memcpy(opts, seg->opts, seg->n_opts);
    dp_packet_put_zeros(pkt, seg->len);

    struct flow flow;
    flow_extract(pkt, &flow);
    ovs_assert(dp_packet_l4(pkt));

    /* OVS's conntrack validates the checksum; the tracker does not, but the
     * packets should be good ones. */
    tcp = dp_packet_l4(pkt);
    tcp->tcp_csum = csum_finish(csum_continue(
        packet_csum_pseudoheader(dp_packet_l3(pkt)), tcp,
        dp_packet_l4_size(pkt)));
    return pkt;
}

/* A connection as the engine keeps it, reduced to what the tracker sees. */
struct tcp_test_conn {
    bool exists;
    bool orig_reply;            /* Was it opened by a '<' segment? */
    bool pickup;
    struct ct_tcp_peer peer[2];
};

static void
tcp_test_format_wscale(struct ds *s, uint8_t wscale)
{
    if (wscale & CT_TCP_WSCALE_FLAG) {
        ds_put_format(s, "ws=%d", wscale & CT_TCP_WSCALE_MASK);
    } else if (wscale & CT_TCP_WSCALE_UNKNOWN) {
        ds_put_cstr(s, "ws=unknown");
    } else {
        ds_put_cstr(s, "ws=none");
    }
}

static void
tcp_test_print_peers(const struct tcp_test_conn *conn)
{
    if (!conn->exists) {
        printf("  no connection\n");
        return;
    }
    for (int i = 0; i < 2; i++) {
        const struct ct_tcp_peer *p = &conn->peer[i];
        struct ds s = DS_EMPTY_INITIALIZER;

        ds_put_format(&s, "  %-5s %-11s seqlo=%"PRIu32" seqhi=%"PRIu32
                      " max_win=%"PRIu32" ", i ? "reply" : "orig",
                      p->state < CT_DPIF_TCPS_MAX_NUM
                      ? ct_dpif_tcp_state_string[p->state] : "?",
                      p->seqlo, p->seqhi, p->max_win);
        tcp_test_format_wscale(&s, p->wscale);
        puts(ds_cstr(&s));
        ds_destroy(&s);
    }
}

/* Opens 'conn' with 'pkt' if it may; returns the verdict. */
static const char *
tcp_test_open(struct tcp_test_conn *conn, const struct dp_packet *pkt,
              bool reply)
{
    if (!ct_tcp_valid_new(dp_packet_l4(pkt), conn->pickup)) {
        conn->exists = false;
        return "+inv";
    }
    ct_tcp_init(conn->peer, pkt);
    conn->exists = true;
    conn->orig_reply = reply;
    return "+new";
}

static const char *
tcp_test_step(struct tcp_test_conn *conn, const struct dp_packet *pkt,
              bool reply)
{
    if (!conn->exists) {
        return tcp_test_open(conn, pkt, reply);
    }

    switch (ct_tcp_update(conn->peer, pkt, reply != conn->orig_reply)) {
    case CT_TCP_VALID:
        return "+est";
    case CT_TCP_VALID_NEW:
        return "+new";
    case CT_TCP_INVALID:
        return "+inv";
    case CT_TCP_RESTART:
        return (!strcmp(tcp_test_open(conn, pkt, reply), "+new")
                ? "+new (restart)" : "+inv (restart)");
    }
    OVS_NOT_REACHED();
}

static void
test_trace(struct ovs_cmdl_context *ctx)
{
    struct tcp_test_conn conn = { .pickup = true };
    struct ds line = DS_EMPTY_INITIALIZER;
    int line_number = 0;
    int n_segs = 0;

    if (ctx->argc > 1) {
        if (strcmp(ctx->argv[1], "--strict")) {
            ovs_fatal(0, "unknown option %s", ctx->argv[1]);
        }
        conn.pickup = false;
    }

    while (!ds_get_preprocessed_line(&line, stdin, &line_number)) {
        char *tokens[16];
        char *save_ptr = NULL;
        int n = 0;

        for (char *t = strtok_r(ds_cstr(&line), " \t", &save_ptr); t;
             t = strtok_r(NULL, " \t", &save_ptr)) {
            if (n >= (int) ARRAY_SIZE(tokens)) {
                ovs_fatal(0, "line %d: too many fields", line_number);
            }
            tokens[n++] = t;
        }
        if (!strcmp(tokens[0], "peers")) {
            tcp_test_print_peers(&conn);
            continue;
        } else if (strcmp(tokens[0], ">") && strcmp(tokens[0], "<")) {
            ovs_fatal(0, "line %d: '>', '<' or 'peers' expected",
                      line_number);
        }

        struct tcp_test_seg seg;
        tcp_test_parse_seg(tokens, n, &seg, line_number);
        struct dp_packet *pkt = tcp_test_build(&seg);
        const char *verdict = tcp_test_step(&conn, pkt, seg.reply);
        dp_packet_delete(pkt);

        struct ds s = DS_EMPTY_INITIALIZER;
        ds_put_format(&s, "%d %c ", ++n_segs, seg.reply ? '<' : '>');
        tcp_test_format_flags(&s, seg.flags);
        ds_put_format(&s, ": %s %s", verdict,
                      conn.exists
                      ? ct_tcp_conn_state_name(ct_tcp_conn_state(conn.peer))
                      : "none");
        puts(ds_cstr(&s));
        ds_destroy(&s);
    }
    ds_destroy(&line);
}

static void
test_valid_new(struct ovs_cmdl_context *ctx OVS_UNUSED)
{
    /* Every combination of SYN, ACK, FIN and RST, then PSH and URG, which
     * need an ACK. */
    static const char *const cases[] = {
        "-", "S", "A", "F", "R", "SA", "SF", "SR", "FA", "RA", "FR",
        "SFA", "SRA", "FRA", "SFR", "SFRA",
        "P", "U", "SP", "PA", "UA", "SPA", "FPA",
    };

    printf("flags  strict pickup\n");
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct tcp_header tcp;

        memset(&tcp, 0, sizeof tcp);
        tcp.tcp_ctl = TCP_CTL(tcp_test_parse_flags(cases[i], 0), 5);
        printf("%-6s %-6s %s\n", cases[i],
               ct_tcp_valid_new(&tcp, false) ? "new" : "-",
               ct_tcp_valid_new(&tcp, true) ? "new" : "-");
    }
}

static void
test_states(struct ovs_cmdl_context *ctx OVS_UNUSED)
{
    for (int i = 0; i <= CT_TCP_N_CONN_STATES; i++) {
        printf("%d %s %lld\n", i, ct_tcp_conn_state_name(i),
               ct_tcp_timeout_ms(i));
    }
}

/* Sets up 'peer' as a tracked, established connection that negotiated
 * window scaling. */
static void
tcp_test_established(struct ct_tcp_peer peer[2])
{
    static const struct tcp_test_seg segs[] = {
        { .reply = false, .flags = TCP_SYN, .seq = 100, .win = 64240,
          .opts = { 1, 3, 3, 7 }, .n_opts = 4, .off = -1 },
        { .reply = true, .flags = TCP_SYN | TCP_ACK, .seq = 900, .ack = 101,
          .win = 65160, .opts = { 1, 3, 3, 7 }, .n_opts = 4, .off = -1 },
        { .reply = false, .flags = TCP_ACK, .seq = 101, .ack = 901,
          .win = 502, .off = -1 },
    };

    for (size_t i = 0; i < ARRAY_SIZE(segs); i++) {
        struct dp_packet *pkt = tcp_test_build(&segs[i]);
        if (!i) {
            ct_tcp_init(peer, pkt);
        } else {
            ovs_assert(ct_tcp_update(peer, pkt, segs[i].reply)
                       == CT_TCP_VALID);
        }
        dp_packet_delete(pkt);
    }
    ovs_assert(ct_tcp_conn_state(peer) == CT_TCP_ESTABLISHED);
}

static void
tcp_test_check_one(const char *what, const struct ct_tcp_peer peer[2])
{
    char *error = ct_tcp_check(peer);

    printf("%s: %s\n", what, error ? error : "ok");
    free(error);
}

static void
test_check(struct ovs_cmdl_context *ctx OVS_UNUSED)
{
    struct ct_tcp_peer good[2], p[2];

    tcp_test_established(good);
    tcp_test_check_one("established", good);

#define DAMAGE(WHAT, STMT)                      \
    do {                                        \
        memcpy(p, good, sizeof p);              \
        STMT;                                   \
        tcp_test_check_one(WHAT, p);            \
    } while (0)

    DAMAGE("reply state", p[1].state = CT_DPIF_TCPS_MAX_NUM);
    DAMAGE("orig state", p[0].state = 200);
    DAMAGE("orig closed", p[0].state = CT_DPIF_TCPS_CLOSED);
    DAMAGE("wscale 15", p[0].wscale = CT_TCP_WSCALE_FLAG | 15);
    DAMAGE("wscale 14", p[0].wscale = p[1].wscale = CT_TCP_WSCALE_FLAG | 14);
    DAMAGE("wscale bits", p[1].wscale |= 0x20);
    DAMAGE("wscale both", p[0].wscale |= CT_TCP_WSCALE_UNKNOWN);
    DAMAGE("wscale no flag", p[1].wscale = 7);
    DAMAGE("unknown one side",
           p[0].wscale = CT_TCP_WSCALE_UNKNOWN; p[1].wscale = 0);
    DAMAGE("unknown both",
           p[0].wscale = p[1].wscale = CT_TCP_WSCALE_UNKNOWN);
    DAMAGE("reply scale only", p[0].wscale = 0);
    DAMAGE("orig scale only", p[1].wscale = 0);
    DAMAGE("max_win", p[1].max_win = 65536);
    DAMAGE("pad", p[0].pad = 1);
#undef DAMAGE
}

static const struct ovs_cmdl_command commands[] = {
    { "trace", "[--strict]", 0, 1, test_trace, OVS_RO },
    { "valid-new", NULL, 0, 0, test_valid_new, OVS_RO },
    { "states", NULL, 0, 0, test_states, OVS_RO },
    { "check", NULL, 0, 0, test_check, OVS_RO },
    { NULL, NULL, 0, 0, NULL, OVS_RO },
};

static void
test_ct_tcp_main(int argc, char *argv[])
{
    struct ovs_cmdl_context ctx = {
        .argc = argc - 1,
        .argv = argv + 1,
    };

    set_program_name(argv[0]);
    ovs_cmdl_run_command(&ctx, commands);
}

OVSTEST_REGISTER("test-ct-tcp", test_ct_tcp_main);
