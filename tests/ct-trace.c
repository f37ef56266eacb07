/*
 * Deterministic packet traces for conntrack tests: see ct-trace.h.
 *
 * The generator models hosts, not packets: a connection knows each side's
 * next sequence number, window and window scale, and the helpers below send
 * what a real stack would (a handshake, data and its ACKs, a close).  Loss,
 * reordering and attacks are then expressed as deviations from that model,
 * so every "normal" packet is one a correct tracker must accept and every
 * attack packet is placed relative to the real windows.
 */
#include <config.h>
#include "ct-trace.h"

#include <errno.h>
#include <string.h>
#include "csum.h"
#include "dp-packet.h"
#include "flow.h"
#include "openvswitch/dynamic-string.h"
#include "openvswitch/util.h"
#include "packets.h"
#include "pcap-file.h"
#include "util.h"

#define TR_MSS 1440

/* ICMPv6 types the generator sends. */
#define TR_ICMP6_DST_UNREACH 1
#define TR_ICMP6_PACKET_TOO_BIG 2
#define TR_ICMP6_TIME_EXCEEDED 3
#define TR_ICMP6_ECHO_REQUEST 128
#define TR_ICMP6_ECHO_REPLY 129
#define TR_ND_NEIGHBOR_SOLICIT 135
#define TR_ND_NEIGHBOR_ADVERT 136

/* A small, fast, seedable PRNG (xorshift64*): the traces must not depend on
 * the C library's or OVS's generator, which may change or be reseeded. */
struct tr_rng {
    uint64_t s;
};

static uint64_t
rng_u64(struct tr_rng *r)
{
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * UINT64_C(0x2545f4914f6cdd1d);
}

static uint32_t
rng_u32(struct tr_rng *r)
{
    return rng_u64(r) >> 32;
}

static uint32_t
rng_below(struct tr_rng *r, uint32_t n)
{
    return n ? rng_u32(r) % n : 0;
}

static uint32_t
rng_between(struct tr_rng *r, uint32_t lo, uint32_t hi)
{
    return lo + rng_below(r, hi - lo + 1);
}

static bool
rng_pct(struct tr_rng *r, unsigned int pct)
{
    return rng_below(r, 100) < pct;
}

/* Addresses. */
static struct in6_addr
ip4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
    return in6_addr_mapped_ipv4(htonl(((uint32_t) a << 24) | (b << 16)
                                      | (c << 8) | d));
}

static struct in6_addr
ip4_u32(uint32_t addr)
{
    return in6_addr_mapped_ipv4(htonl(addr));
}

/* 2001:db8:'net'::'host'. */
static struct in6_addr
ip6(uint16_t net, uint32_t host)
{
    struct in6_addr a;

    memset(&a, 0, sizeof a);
    a.s6_addr[0] = 0x20;
    a.s6_addr[1] = 0x01;
    a.s6_addr[2] = 0x0d;
    a.s6_addr[3] = 0xb8;
    a.s6_addr[4] = net >> 8;
    a.s6_addr[5] = net;
    a.s6_addr[12] = host >> 24;
    a.s6_addr[13] = host >> 16;
    a.s6_addr[14] = host >> 8;
    a.s6_addr[15] = host;
    return a;
}

static bool
is_v4(const struct in6_addr *a)
{
    return IN6_IS_ADDR_V4MAPPED(a);
}

/* Each host's MAC is derived from its address, so that frames look like
 * they come from one consistent set of hosts. */
static struct eth_addr
mac_of(const struct in6_addr *a)
{
    struct eth_addr mac;

    mac.ea[0] = 0x02;
    mac.ea[1] = a->s6_addr[11] ^ a->s6_addr[5];
    memcpy(&mac.ea[2], &a->s6_addr[12], 4);
    return mac;
}

/* Checksums. */

static bool
icmp4_is_error(uint8_t type)
{
    return (type == ICMP4_DST_UNREACH || type == ICMP4_SOURCEQUENCH
            || type == ICMP4_REDIRECT || type == ICMP4_TIME_EXCEEDED
            || type == ICMP4_PARAM_PROB);
}

static bool
icmp6_is_error(uint8_t type)
{
    return type >= 1 && type <= 4;
}

/* A parsed view of a frame built here: Ethernet, then IPv4 without options
 * or IPv6 without extension headers. */
struct tr_view {
    bool v6;
    void *l3;
    uint8_t proto;
    void *l4;
    size_t l4_len;      /* From the IP length, so without Ethernet padding. */
};

static bool
tr_view_l3(void *l3, size_t avail, bool v6, struct tr_view *v)
{
    v->v6 = v6;
    v->l3 = l3;
    if (!v6) {
        struct ip_header *ip = l3;
        size_t ihl;

        if (avail < IP_HEADER_LEN || IP_VER(ip->ip_ihl_ver) != 4) {
            return false;
        }
        ihl = IP_IHL(ip->ip_ihl_ver) * 4;
        if (ihl < IP_HEADER_LEN || avail < ihl) {
            return false;
        }
        v->proto = ip->ip_proto;
        v->l4 = (char *) l3 + ihl;
        v->l4_len = MIN(avail, ntohs(ip->ip_tot_len));
        v->l4_len = v->l4_len > ihl ? v->l4_len - ihl : 0;
    } else {
        struct ovs_16aligned_ip6_hdr *ip6 = l3;

        if (avail < IPV6_HEADER_LEN) {
            return false;
        }
        v->proto = ip6->ip6_ctlun.ip6_un1.ip6_un1_nxt;
        v->l4 = ip6 + 1;
        v->l4_len = MIN(avail - IPV6_HEADER_LEN,
                        ntohs(ip6->ip6_ctlun.ip6_un1.ip6_un1_plen));
    }
    return true;
}

static bool
tr_view_outer(const struct dp_packet *pkt, struct tr_view *v)
{
    const struct eth_header *eth = dp_packet_data(pkt);
    size_t size = dp_packet_size(pkt);

    if (size < ETH_HEADER_LEN) {
        return false;
    }
    if (eth->eth_type == htons(ETH_TYPE_IP)) {
        return tr_view_l3(CONST_CAST(struct eth_header *, eth) + 1,
                          size - ETH_HEADER_LEN, false, v);
    } else if (eth->eth_type == htons(ETH_TYPE_IPV6)) {
        return tr_view_l3(CONST_CAST(struct eth_header *, eth) + 1,
                          size - ETH_HEADER_LEN, true, v);
    }
    return false;
}

/* The packet an ICMP or ICMPv6 error quotes; its 'l4_len' is what the quote
 * holds, which may be less than its IP length says. */
static bool
tr_view_inner(const struct tr_view *outer, struct tr_view *in)
{
    const uint8_t *l4 = outer->l4;

    if (outer->l4_len < 8) {
        return false;
    }
    if (!outer->v6) {
        if (outer->proto != IPPROTO_ICMP || !icmp4_is_error(l4[0])) {
            return false;
        }
    } else if (outer->proto != IPPROTO_ICMPV6 || !icmp6_is_error(l4[0])) {
        return false;
    }
    if (!tr_view_l3(CONST_CAST(uint8_t *, l4) + 8, outer->l4_len - 8,
                    outer->v6, in)) {
        return false;
    }
    size_t l3_len = (char *) in->l4 - (char *) in->l3;
    in->l4_len = outer->l4_len - 8 - l3_len;
    return true;
}

static void
tr_l4_csum(const struct tr_view *v)
{
    ovs_be16 *field;

    switch (v->proto) {
    case IPPROTO_TCP:
        field = &((struct tcp_header *) v->l4)->tcp_csum;
        break;
    case IPPROTO_UDP:
        field = &((struct udp_header *) v->l4)->udp_csum;
        break;
    case IPPROTO_ICMP:
        field = &((struct icmp_header *) v->l4)->icmp_csum;
        break;
    case IPPROTO_ICMPV6:
        field = &((struct icmp6_header *) v->l4)->icmp6_cksum;
        break;
    default:
        return;
    }

    *field = 0;
    if (v->v6) {
        *field = packet_csum_upperlayer6(v->l3, v->l4, v->proto, v->l4_len);
    } else if (v->proto == IPPROTO_ICMP) {
        *field = csum(v->l4, v->l4_len);
    } else {
        uint32_t partial = packet_csum_pseudoheader(v->l3);
        *field = csum_finish(csum_continue(partial, v->l4, v->l4_len));
    }
    if (v->proto == IPPROTO_UDP && !*field) {
        *field = htons(0xffff);
    }
}

static void
tr_ip4_csum(void *l3)
{
    struct ip_header *ip = l3;

    ip->ip_csum = 0;
    ip->ip_csum = csum(ip, IP_IHL(ip->ip_ihl_ver) * 4);
}

/* Recomputes every checksum of a frame: the IPv4 header, the quoted IPv4
 * header of an ICMP error, and the L4 checksum. */
static void
tr_fix_csums(struct dp_packet *pkt)
{
    struct tr_view v, in;

    if (!tr_view_outer(pkt, &v)) {
        return;
    }
    if (!v.v6) {
        tr_ip4_csum(v.l3);
        if (tr_view_inner(&v, &in)) {
            tr_ip4_csum(in.l3);
        }
    }
    tr_l4_csum(&v);
}

static void
tr_extract(struct dp_packet *pkt)
{
    struct flow flow;

    pkt_metadata_init(&pkt->md, 0);
    flow_extract(pkt, &flow);
}

/* Builds a frame from 'src' to 'dst' carrying 'l4_len' bytes of 'proto' at
 * 'l4', fixes all its checksums and pads it to the Ethernet minimum. */
static struct dp_packet *
tr_build(const struct in6_addr *src, const struct in6_addr *dst, uint8_t ttl,
         uint16_t ip_id, uint8_t proto, const void *l4, size_t l4_len)
{
    bool v6 = !is_v4(src);
    size_t l3_len = v6 ? IPV6_HEADER_LEN : IP_HEADER_LEN;
    size_t size = ETH_HEADER_LEN + l3_len + l4_len;
    size_t pad = size < ETH_TOTAL_MIN ? ETH_TOTAL_MIN - size : 0;
    struct dp_packet *pkt = dp_packet_new(size + pad);
    struct eth_header *eth;

    ovs_assert(v6 == !is_v4(dst));

    eth = dp_packet_put_zeros(pkt, ETH_HEADER_LEN);
    eth->eth_dst = mac_of(dst);
    eth->eth_src = mac_of(src);
    eth->eth_type = htons(v6 ? ETH_TYPE_IPV6 : ETH_TYPE_IP);

    if (!v6) {
        struct ip_header *ip = dp_packet_put_zeros(pkt, IP_HEADER_LEN);

        ip->ip_ihl_ver = IP_IHL_VER(5, IP_VERSION);
        ip->ip_tot_len = htons(IP_HEADER_LEN + l4_len);
        ip->ip_id = htons(ip_id);
        ip->ip_frag_off = htons(IP_DONT_FRAGMENT);
        ip->ip_ttl = ttl;
        ip->ip_proto = proto;
        put_16aligned_be32(&ip->ip_src, in6_addr_get_mapped_ipv4(src));
        put_16aligned_be32(&ip->ip_dst, in6_addr_get_mapped_ipv4(dst));
    } else {
        struct ovs_16aligned_ip6_hdr *ip6;

        ip6 = dp_packet_put_zeros(pkt, IPV6_HEADER_LEN);
        put_16aligned_be32(&ip6->ip6_ctlun.ip6_un1.ip6_un1_flow,
                           htonl(UINT32_C(6) << 28 | ip_id));
        ip6->ip6_ctlun.ip6_un1.ip6_un1_plen = htons(l4_len);
        ip6->ip6_ctlun.ip6_un1.ip6_un1_nxt = proto;
        ip6->ip6_ctlun.ip6_un1.ip6_un1_hlim = ttl;
        memcpy(&ip6->ip6_src, src, sizeof ip6->ip6_src);
        memcpy(&ip6->ip6_dst, dst, sizeof ip6->ip6_dst);
    }
    dp_packet_put(pkt, l4, l4_len);
    if (pad) {
        dp_packet_put_zeros(pkt, pad);
    }
    tr_fix_csums(pkt);
    tr_extract(pkt);
    return pkt;
}

/* The generator. */

/* Packets of one connection, before they are interleaved with others';
 * 'time' is the delay before each, not yet a time of day. */
struct tr_buf {
    struct ct_trace_pkt *pkts;
    size_t n;
    size_t allocated;
};

struct tr_gen {
    struct ct_trace *t;
    struct tr_rng rng;
    struct tr_buf *out;         /* NULL: straight into the trace. */
    long long clock;
    long long pending_delay;
    unsigned int pace;          /* Packets per millisecond. */
    unsigned int in_ms;
    uint16_t ip_id;
    uint32_t next_client;       /* For unique client ports and addresses. */
};

static void
tr_append(struct tr_gen *g, struct ct_trace_pkt p)
{
    struct ct_trace *t = g->t;

    g->clock += p.time;
    if (++g->in_ms >= g->pace) {
        g->clock++;
        g->in_ms = 0;
    }
    p.time = g->clock;
    if (t->n_pkts >= t->allocated) {
        t->pkts = x2nrealloc(t->pkts, &t->allocated, sizeof *t->pkts);
    }
    t->pkts[t->n_pkts++] = p;
}

static void
tr_emit(struct tr_gen *g, struct dp_packet *pkt, uint32_t conn, bool reply,
        bool icmp_error)
{
    struct ct_trace_pkt p = {
        .pkt = pkt,
        .time = g->pending_delay,
        .conn = conn,
        .reply = reply,
        .icmp_error = icmp_error,
    };

    g->pending_delay = 0;
    if (g->out) {
        struct tr_buf *b = g->out;

        if (b->n >= b->allocated) {
            b->pkts = x2nrealloc(b->pkts, &b->allocated, sizeof *b->pkts);
        }
        b->pkts[b->n++] = p;
    } else {
        tr_append(g, p);
    }
}

static void
tr_wait(struct tr_gen *g, long long ms)
{
    g->pending_delay += ms;
}

/* Interleaves the packets of 'n' buffers into the trace, keeping each
 * buffer's order, with at most 'max_active' buffers under way at once: a
 * buffer starts when another finishes, as connections come and go. */
static void
tr_interleave(struct tr_gen *g, struct tr_buf *bufs, size_t n,
              size_t max_active)
{
    size_t *active = xmalloc(MAX(n, 1) * sizeof *active);
    size_t *pos = xcalloc(MAX(n, 1), sizeof *pos);
    size_t n_active = 0, next = 0;

    ovs_assert(!g->out);
    for (;;) {
        while (n_active < max_active && next < n) {
            if (bufs[next].n) {
                active[n_active++] = next;
            }
            next++;
        }
        if (!n_active) {
            break;
        }

        size_t k = rng_below(&g->rng, n_active);
        struct tr_buf *b = &bufs[active[k]];

        tr_append(g, b->pkts[pos[active[k]]++]);
        if (pos[active[k]] >= b->n) {
            active[k] = active[--n_active];
        }
    }
    for (size_t i = 0; i < n; i++) {
        free(bufs[i].pkts);
    }
    free(pos);
    free(active);
}

/* A connection between an originator ('0', the client) and a responder
 * ('1').  For ICMP echo, 'port[]' both hold the echo id. */
struct tr_conn {
    uint32_t id;
    uint8_t proto;
    struct in6_addr ip[2];
    uint16_t port[2];
    uint8_t ttl[2];
    /* TCP. */
    uint32_t isn[2];
    uint32_t nxt[2];            /* Next sequence number each side sends. */
    uint32_t win[2];            /* Receive window each side offers, bytes. */
    int ws[2];                  /* Window scale each side offers, or -1. */
    bool ws_on;                 /* Both offered: scaling is in use. */
    /* ICMP echo. */
    uint16_t icmp_seq;
};

static void
tr_conn_init(struct tr_gen *g, struct tr_conn *c, uint8_t proto,
             struct in6_addr client, uint16_t cport,
             struct in6_addr server, uint16_t sport)
{
    memset(c, 0, sizeof *c);
    c->id = g->t->n_conns++;
    c->proto = proto;
    c->ip[0] = client;
    c->ip[1] = server;
    c->port[0] = cport;
    c->port[1] = sport;
    c->ttl[0] = 64;
    c->ttl[1] = 64;
    c->isn[0] = rng_u32(&g->rng);
    c->isn[1] = rng_u32(&g->rng);
    c->nxt[0] = c->isn[0];
    c->nxt[1] = c->isn[1];
    c->win[0] = 64240;
    c->win[1] = 65160;
    c->ws[0] = c->ws[1] = -1;
}

/* A new client endpoint: a distinct (address, port) every call. */
static void
tr_client(struct tr_gen *g, bool v6, struct in6_addr *ip, uint16_t *port)
{
    uint32_t n = g->next_client++;

    *ip = v6 ? ip6(1, 0x100 + n / 20000) : ip4(10, 0, n / 20000 / 250,
                                                1 + n / 20000 % 250);
    *port = 32768 + n % 20000;
}

static struct in6_addr
tr_server(bool v6, unsigned int n)
{
    return v6 ? ip6(2, 1 + n) : ip4(192, 168, 1, 1 + n);
}

/* TCP. */

static uint16_t
c_winfield(const struct tr_conn *c, int dir, bool syn)
{
    uint32_t w = c->win[dir];

    if (!syn && c->ws_on) {
        w >>= MIN(c->ws[dir], 14);
    }
    return MIN(w, 65535);
}

/* The window 'dir' offers, in bytes, as its peer understands it. */
static uint32_t
c_rwnd(const struct tr_conn *c, int dir)
{
    if (c->ws_on) {
        int ws = MIN(c->ws[dir], 14);
        return (uint32_t) c_winfield(c, dir, false) << ws;
    }
    return MIN(c->win[dir], 65535);
}

static struct dp_packet *
tr_tcp_pkt(struct tr_gen *g, const struct tr_conn *c, int dir,
           uint16_t flags, uint32_t seq, uint32_t ack, uint16_t win,
           size_t len, bool syn_opts, bool with_ws)
{
    uint8_t buf[60 + TR_MSS];
    struct tcp_header *tcp = (struct tcp_header *) buf;
    size_t hlen = TCP_HEADER_LEN;

    ovs_assert(len <= TR_MSS);
    memset(buf, 0, sizeof buf);
    if (syn_opts) {
        uint8_t *o = buf + hlen;

        o[0] = 2;               /* MSS. */
        o[1] = 4;
        o[2] = TR_MSS >> 8;
        o[3] = TR_MSS & 0xff;
        hlen += 4;
        if (with_ws) {
            o[4] = 1;           /* NOP, then window scale. */
            o[5] = 3;
            o[6] = 3;
            o[7] = c->ws[dir];
            hlen += 4;
        }
    }
    tcp->tcp_src = htons(c->port[dir]);
    tcp->tcp_dst = htons(c->port[!dir]);
    put_16aligned_be32(&tcp->tcp_seq, htonl(seq));
    put_16aligned_be32(&tcp->tcp_ack, htonl(flags & TCP_ACK ? ack : 0));
    tcp->tcp_ctl = TCP_CTL(flags, hlen / 4);
    tcp->tcp_winsz = htons(win);
    for (size_t i = 0; i < len; i++) {
        buf[hlen + i] = seq + i;
    }
    return tr_build(&c->ip[dir], &c->ip[!dir], c->ttl[dir], g->ip_id++,
                    IPPROTO_TCP, buf, hlen + len);
}

/* Sends one segment from 'dir' with 'flags', as the model's host would but
 * with the given sequence and acknowledgement numbers. */
static void
c_seg(struct tr_gen *g, const struct tr_conn *c, int dir, uint16_t flags,
      uint32_t seq, uint32_t ack, size_t len)
{
    bool syn = flags & TCP_SYN;
    bool with_ws = (syn && c->ws[dir] >= 0
                    && (!(flags & TCP_ACK) || c->ws[!dir] >= 0));
    struct dp_packet *pkt;

    pkt = tr_tcp_pkt(g, c, dir, flags, seq, ack, c_winfield(c, dir, syn),
                     len, syn, with_ws);
    tr_emit(g, pkt, c->id, dir == 1, false);
}

static void
c_syn(struct tr_gen *g, struct tr_conn *c)
{
    c->ws_on = false;
    c_seg(g, c, 0, TCP_SYN, c->isn[0], 0, 0);
    c->nxt[0] = c->isn[0] + 1;
}

static void
c_synack(struct tr_gen *g, struct tr_conn *c)
{
    c_seg(g, c, 1, TCP_SYN | TCP_ACK, c->isn[1], c->nxt[0], 0);
    c->nxt[1] = c->isn[1] + 1;
    c->ws_on = c->ws[0] >= 0 && c->ws[1] >= 0;
}

static void
c_ack(struct tr_gen *g, struct tr_conn *c, int dir)
{
    c_seg(g, c, dir, TCP_ACK, c->nxt[dir], c->nxt[!dir], 0);
}

static void
c_data(struct tr_gen *g, struct tr_conn *c, int dir, size_t len)
{
    c_seg(g, c, dir, TCP_ACK | TCP_PSH, c->nxt[dir], c->nxt[!dir], len);
    c->nxt[dir] += len;
}

static void
c_fin(struct tr_gen *g, struct tr_conn *c, int dir)
{
    c_seg(g, c, dir, TCP_FIN | TCP_ACK, c->nxt[dir], c->nxt[!dir], 0);
    c->nxt[dir]++;
}

static void
c_rst(struct tr_gen *g, struct tr_conn *c, int dir, uint32_t seq, bool ack)
{
    c_seg(g, c, dir, TCP_RST | (ack ? TCP_ACK : 0), seq, c->nxt[!dir], 0);
}

static void
c_handshake(struct tr_gen *g, struct tr_conn *c)
{
    c_syn(g, c);
    c_synack(g, c);
    c_ack(g, c, 0);
}

/* Request/response rounds, as an interactive protocol does. */
static void
c_exchange(struct tr_gen *g, struct tr_conn *c, unsigned int rounds)
{
    for (unsigned int i = 0; i < rounds; i++) {
        c_data(g, c, 0, rng_between(&g->rng, 1, 600));
        if (rng_pct(&g->rng, 40)) {
            c_ack(g, c, 1);
        }
        unsigned int n_resp = rng_between(&g->rng, 1, 3);
        for (unsigned int j = 0; j < n_resp; j++) {
            c_data(g, c, 1, rng_between(&g->rng, 1, TR_MSS));
        }
        c_ack(g, c, 0);
    }
}

/* An orderly close started by 'first'; sometimes the other side's FIN
 * carries its ACK, sometimes both FINs cross. */
static void
c_close(struct tr_gen *g, struct tr_conn *c, int first)
{
    switch (rng_below(&g->rng, 3)) {
    case 0:
        c_fin(g, c, first);
        c_ack(g, c, !first);
        c_fin(g, c, !first);
        c_ack(g, c, first);
        break;
    case 1:
        c_fin(g, c, first);
        c_fin(g, c, !first);
        c_ack(g, c, first);
        break;
    default: {
        /* Simultaneous close: both FINs before either is acked. */
        uint32_t ack_first = c->nxt[!first], ack_other = c->nxt[first];

        c_seg(g, c, first, TCP_FIN | TCP_ACK, c->nxt[first], ack_first, 0);
        c_seg(g, c, !first, TCP_FIN | TCP_ACK, c->nxt[!first], ack_other,
              0);
        c->nxt[0]++;
        c->nxt[1]++;
        c_ack(g, c, first);
        c_ack(g, c, !first);
        break;
    }
    }
}

/* A bulk transfer of 'total' bytes from 'dir', with the given percentages
 * of segments lost before the switch (never seen, retransmitted later),
 * lost after it (seen, then seen again when retransmitted), and swapped
 * with their neighbour.  The receiver acks each burst cumulatively and
 * sends duplicate ACKs for a hole. */
struct tr_bulk {
    size_t total;
    unsigned int burst;         /* Segments per burst, at most. */
    unsigned int loss_before;
    unsigned int loss_after;
    unsigned int reorder;
    unsigned int dup_acks;
};

static void
c_bulk(struct tr_gen *g, struct tr_conn *c, int dir, const struct tr_bulk *b)
{
    struct seg {
        uint32_t seq;
        uint16_t len;
        bool delivered;
    };
    size_t n = DIV_ROUND_UP(b->total, TR_MSS);
    struct seg *segs = xcalloc(MAX(n, 1), sizeof *segs);
    uint32_t base = c->nxt[dir];
    uint32_t rwnd = c_rwnd(c, !dir);
    size_t una = 0, next = 0;
    unsigned int rounds = 0;

    for (size_t i = 0; i < n; i++) {
        segs[i].seq = base + i * TR_MSS;
        segs[i].len = MIN(TR_MSS, b->total - i * TR_MSS);
    }

    while (una < n) {
        size_t burst[512];
        size_t nb = 0;

        /* Retransmissions first, then new data the window allows. */
        for (size_t i = una; i < next && nb < ARRAY_SIZE(burst); i++) {
            if (!segs[i].delivered) {
                burst[nb++] = i;
            }
        }
        while (next < n && nb < MIN(b->burst, ARRAY_SIZE(burst))
               && segs[next].seq + segs[next].len - segs[una].seq <= rwnd) {
            burst[nb++] = next++;
        }
        for (size_t k = 0; k + 1 < nb; k++) {
            if (rng_pct(&g->rng, b->reorder)) {
                size_t tmp = burst[k];
                burst[k] = burst[k + 1];
                burst[k + 1] = tmp;
                k++;
            }
        }

        bool force = ++rounds > 40;
        for (size_t k = 0; k < nb; k++) {
            struct seg *s = &segs[burst[k]];
            unsigned int r = rng_below(&g->rng, 100);

            if (!force && r < b->loss_before) {
                continue;
            }
            c_seg(g, c, dir, TCP_ACK | (k + 1 == nb ? TCP_PSH : 0),
                  s->seq, c->nxt[!dir], s->len);
            if (force || r >= b->loss_before + b->loss_after) {
                s->delivered = true;
            }
        }

        size_t new_una = una;
        while (new_una < n && segs[new_una].delivered) {
            new_una++;
        }
        uint32_t ackno = new_una < n ? segs[new_una].seq : base + b->total;
        bool hole = false;
        for (size_t i = new_una; i < next; i++) {
            hole |= segs[i].delivered;
        }
        una = new_una;
        c_seg(g, c, !dir, TCP_ACK, c->nxt[!dir], ackno, 0);
        for (unsigned int i = 0; hole && i < b->dup_acks; i++) {
            c_seg(g, c, !dir, TCP_ACK, c->nxt[!dir], ackno, 0);
        }
    }
    c->nxt[dir] = base + b->total;
    free(segs);
}

/* UDP. */

static struct dp_packet *
tr_udp_pkt(struct tr_gen *g, const struct tr_conn *c, int dir, size_t len)
{
    uint8_t buf[UDP_HEADER_LEN + 1472];
    struct udp_header *udp = (struct udp_header *) buf;

    ovs_assert(len <= 1472);
    memset(buf, 0, UDP_HEADER_LEN);
    udp->udp_src = htons(c->port[dir]);
    udp->udp_dst = htons(c->port[!dir]);
    udp->udp_len = htons(UDP_HEADER_LEN + len);
    for (size_t i = 0; i < len; i++) {
        buf[UDP_HEADER_LEN + i] = i * 7 + dir;
    }
    return tr_build(&c->ip[dir], &c->ip[!dir], c->ttl[dir], g->ip_id++,
                    IPPROTO_UDP, buf, UDP_HEADER_LEN + len);
}

static void
u_send(struct tr_gen *g, struct tr_conn *c, int dir, size_t len)
{
    tr_emit(g, tr_udp_pkt(g, c, dir, len), c->id, dir == 1, false);
}

/* ICMP echo.  'dir' 0 sends requests, 1 replies. */
static struct dp_packet *
tr_echo_pkt(struct tr_gen *g, const struct tr_conn *c, int dir,
            uint8_t type)
{
    uint8_t buf[8 + 56];
    bool v6 = !is_v4(&c->ip[0]);

    memset(buf, 0, sizeof buf);
    buf[0] = type;
    buf[4] = c->port[0] >> 8;
    buf[5] = c->port[0];
    buf[6] = c->icmp_seq >> 8;
    buf[7] = c->icmp_seq;
    for (size_t i = 8; i < sizeof buf; i++) {
        buf[i] = i;
    }
    return tr_build(&c->ip[dir], &c->ip[!dir], c->ttl[dir], g->ip_id++,
                    v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP, buf, sizeof buf);
}

static void
i_echo(struct tr_gen *g, struct tr_conn *c, int dir)
{
    bool v6 = !is_v4(&c->ip[0]);
    uint8_t type = (dir == 0
                    ? (v6 ? TR_ICMP6_ECHO_REQUEST : ICMP4_ECHO_REQUEST)
                    : (v6 ? TR_ICMP6_ECHO_REPLY : ICMP4_ECHO_REPLY));

    tr_emit(g, tr_echo_pkt(g, c, dir, type), c->id, dir == 1, false);
}

static void
i_ping(struct tr_gen *g, struct tr_conn *c, unsigned int count, bool replies)
{
    for (unsigned int i = 0; i < count; i++) {
        c->icmp_seq++;
        i_echo(g, c, 0);
        if (replies) {
            i_echo(g, c, 1);
        }
    }
}

/* An ICMP error from 'from' to 'to' quoting 'quoted' (which is freed): its
 * IP header and 'quote_l4' bytes of what follows (SIZE_MAX: all of it).
 * 'conn' and 'reply' say which connection it relates to and which way. */
static void
i_error(struct tr_gen *g, const struct in6_addr *from,
        const struct in6_addr *to, uint8_t type, uint8_t code, uint32_t info,
        struct dp_packet *quoted, size_t quote_l4, uint32_t conn, bool reply)
{
    struct tr_view q;
    uint8_t buf[8 + 1280];
    size_t len = 8;

    ovs_assert(tr_view_outer(quoted, &q));
    size_t l3_len = (char *) q.l4 - (char *) q.l3;
    size_t qlen = l3_len + MIN(quote_l4, q.l4_len);
    qlen = MIN(qlen, sizeof buf - 8);

    memset(buf, 0, 8);
    buf[0] = type;
    buf[1] = code;
    buf[4] = info >> 24;
    buf[5] = info >> 16;
    buf[6] = info >> 8;
    buf[7] = info;
    memcpy(buf + 8, q.l3, qlen);
    len += qlen;
    dp_packet_delete(quoted);

    tr_emit(g, tr_build(from, to, 64, g->ip_id++,
                        is_v4(from) ? IPPROTO_ICMP : IPPROTO_ICMPV6,
                        buf, len),
            conn, reply, conn != CT_TRACE_NO_CONN);
}

/* Port unreachable from the responder of UDP connection 'c', quoting the
 * originator's last datagram. */
static void
i_port_unreach(struct tr_gen *g, struct tr_conn *c, size_t quote_l4)
{
    bool v6 = !is_v4(&c->ip[0]);

    i_error(g, &c->ip[1], &c->ip[0],
            v6 ? TR_ICMP6_DST_UNREACH : ICMP4_DST_UNREACH, v6 ? 4 : 3, 0,
            tr_udp_pkt(g, c, 0, 32), quote_l4, c->id, true);
}

/* Time exceeded from 'router', for a packet 'dir' sent of connection 'c'. */
static void
i_time_exceeded(struct tr_gen *g, struct tr_conn *c, int dir,
                const struct in6_addr *router, struct dp_packet *quoted,
                size_t quote_l4)
{
    bool v6 = !is_v4(&c->ip[0]);

    i_error(g, router, &c->ip[dir],
            v6 ? TR_ICMP6_TIME_EXCEEDED : ICMP4_TIME_EXCEEDED, 0, 0,
            quoted, quote_l4, c->id, dir == 0);
}

/* "Fragmentation needed" / "packet too big" from 'router' towards the
 * sender 'dir' of a TCP segment of 'c', quoting 'quote_l4' bytes of its L4
 * (IPv4; IPv6 quotes all of it). */
static void
i_too_big(struct tr_gen *g, struct tr_conn *c, int dir,
          const struct in6_addr *router, size_t quote_l4)
{
    bool v6 = !is_v4(&c->ip[0]);
    struct dp_packet *q = tr_tcp_pkt(g, c, dir, TCP_ACK, c->nxt[dir],
                                     c->nxt[!dir], c_winfield(c, dir, false),
                                     TR_MSS, false, false);

    if (v6) {
        i_error(g, router, &c->ip[dir], TR_ICMP6_PACKET_TOO_BIG, 0, 1280, q,
                SIZE_MAX, c->id, dir == 0);
    } else {
        i_error(g, router, &c->ip[dir], ICMP4_DST_UNREACH, 4, 1400, q,
                quote_l4, c->id, dir == 0);
    }
}

/* Trace kinds. */

/* Normal TCP: handshakes, request/response data, orderly closes from
 * either side, a few connections at a time. */
static void
gen_tcp_conns(struct tr_gen *g, bool v6, size_t n_conns)
{
    struct tr_buf *bufs = xcalloc(n_conns, sizeof *bufs);

    for (size_t i = 0; i < n_conns; i++) {
        struct tr_conn c;
        struct in6_addr cip;
        uint16_t cport;

        g->out = &bufs[i];
        tr_client(g, v6, &cip, &cport);
        tr_conn_init(g, &c, IPPROTO_TCP, cip, cport,
                     tr_server(v6, i % 4), i % 3 ? 443 : 22);
        c_handshake(g, &c);
        c_exchange(g, &c, rng_between(&g->rng, 0, 12));
        c_close(g, &c, rng_below(&g->rng, 2));
    }
    g->out = NULL;
    tr_interleave(g, bufs, n_conns, 4);
    free(bufs);
}

static void
gen_tcp_normal(struct tr_gen *g)
{
    gen_tcp_conns(g, false, 120);
}

static void
gen_tcp6_normal(struct tr_gen *g)
{
    gen_tcp_conns(g, true, 80);
}

/* Bulk transfers with loss and reordering, plus lost and retransmitted
 * handshake segments. */
static void
gen_tcp_lossy(struct tr_gen *g, bool v6, size_t n_conns,
              unsigned int loss, unsigned int reorder)
{
    struct tr_buf *bufs = xcalloc(n_conns, sizeof *bufs);

    for (size_t i = 0; i < n_conns; i++) {
        struct tr_conn c;
        struct in6_addr cip;
        uint16_t cport;

        g->out = &bufs[i];
        tr_client(g, v6, &cip, &cport);
        tr_conn_init(g, &c, IPPROTO_TCP, cip, cport, tr_server(v6, i % 3),
                     80);

        /* Handshake, with a retransmitted SYN or SYN+ACK now and then, or
         * a lost final ACK, so that the first data segment completes it. */
        switch (rng_below(&g->rng, 4)) {
        case 0:
            c_syn(g, &c);
            tr_wait(g, 1);
            c_syn(g, &c);
            c_synack(g, &c);
            c_ack(g, &c, 0);
            break;
        case 1:
            c_syn(g, &c);
            c_synack(g, &c);
            c_synack(g, &c);
            c_ack(g, &c, 0);
            c_ack(g, &c, 0);
            break;
        case 2:
            c_syn(g, &c);
            c_synack(g, &c);
            break;
        default:
            c_handshake(g, &c);
            break;
        }

        c_data(g, &c, 0, rng_between(&g->rng, 20, 400));
        struct tr_bulk b = {
            .total = rng_between(&g->rng, 20000, 200000),
            .burst = rng_between(&g->rng, 4, 20),
            .loss_before = loss,
            .loss_after = loss,
            .reorder = reorder,
            .dup_acks = loss ? 3 : 0,
        };
        c_bulk(g, &c, 1, &b);
        if (rng_pct(&g->rng, 30)) {
            b.total /= 4;
            c_bulk(g, &c, 0, &b);
        }

        /* A FIN lost after the switch is sent again. */
        if (loss && rng_pct(&g->rng, 30)) {
            c_fin(g, &c, 1);
            c.nxt[1]--;
            c_fin(g, &c, 1);
            c_ack(g, &c, 0);
            c_fin(g, &c, 0);
            c_ack(g, &c, 1);
        } else {
            c_close(g, &c, 1);
        }
    }
    g->out = NULL;
    tr_interleave(g, bufs, n_conns, 3);
    free(bufs);
}

static void
gen_tcp_loss(struct tr_gen *g)
{
    gen_tcp_lossy(g, false, 30, 8, 0);
}

static void
gen_tcp_reorder(struct tr_gen *g)
{
    gen_tcp_lossy(g, false, 30, 0, 35);
}

static void
gen_tcp6_lossy(struct tr_gen *g)
{
    gen_tcp_lossy(g, true, 20, 6, 20);
}

/* Window scaling: in-flight data far beyond 64 kB, which only a tracker
 * that applies the scale accepts; scaling offered by one side only (so not
 * used); the largest scale and an out-of-range one. */
static void
gen_tcp_wscale(struct tr_gen *g)
{
    static const int scales[][2] = {
        { 7, 7 }, { 7, 9 }, { 2, 14 }, { 14, 14 }, { 15, 8 },
        { 7, -1 }, { -1, 7 }, { 0, 0 }, { 4, 11 },
    };
    size_t n = 3 * ARRAY_SIZE(scales);
    struct tr_buf *bufs = xcalloc(n, sizeof *bufs);

    for (size_t i = 0; i < n; i++) {
        const int *ws = scales[i % ARRAY_SIZE(scales)];
        struct tr_conn c;
        struct in6_addr cip;
        uint16_t cport;

        g->out = &bufs[i];
        tr_client(g, false, &cip, &cport);
        tr_conn_init(g, &c, IPPROTO_TCP, cip, cport, tr_server(false, 9),
                     5001);
        c.ws[0] = ws[0];
        c.ws[1] = ws[1];
        c.win[0] = ws[0] >= 0 ? 3u << 20 : 65535;
        c.win[1] = ws[1] >= 0 ? 6u << 20 : 65535;
        if (ws[0] >= 14 || ws[1] >= 14) {
            /* Keep the scaled window field non-zero. */
            c.win[0] = MAX(c.win[0], 1u << 24);
            c.win[1] = MAX(c.win[1], 1u << 24);
        }
        c_handshake(g, &c);
        c_data(g, &c, 0, 100);
        struct tr_bulk b = {
            .total = rng_between(&g->rng, 300000, 900000),
            .burst = 120,
            .reorder = 5,
        };
        c_bulk(g, &c, 1, &b);
        c_close(g, &c, 0);
    }
    g->out = NULL;
    tr_interleave(g, bufs, n, 2);
    free(bufs);
}

/* Established connections under RST attack: RSTs out of window, in window
 * but not at the expected sequence number, off by one, and exact ones that
 * do end the connection, followed by traffic from the unaware side. */
static void
gen_tcp_rst_attack(struct tr_gen *g)
{
    size_t n = 40;
    struct tr_buf *bufs = xcalloc(n, sizeof *bufs);

    for (size_t i = 0; i < n; i++) {
        struct tr_conn c;
        struct in6_addr cip;
        uint16_t cport;
        int victim = i % 2;     /* The side whose address is spoofed. */

        g->out = &bufs[i];
        tr_client(g, false, &cip, &cport);
        tr_conn_init(g, &c, IPPROTO_TCP, cip, cport, tr_server(false, 1),
                     179);
        c_handshake(g, &c);
        c_exchange(g, &c, 3);

        c_rst(g, &c, victim, c.nxt[victim] + 0x40000000, false);
        c_rst(g, &c, victim, c.nxt[victim] - 0x10000000, true);
        c_rst(g, &c, victim, c.nxt[victim] + c_rwnd(&c, !victim) / 2, false);
        c_rst(g, &c, victim, c.nxt[victim] + 7, true);
        c_exchange(g, &c, 2);

        switch (i % 4) {
        case 0:
            c_rst(g, &c, victim, c.nxt[victim], false);
            break;
        case 1:
            c_rst(g, &c, victim, c.nxt[victim] + 1, true);
            break;
        case 2:
            c_rst(g, &c, victim, c.nxt[victim] - 1, true);
            break;
        default:
            /* No successful reset: close normally. */
            c_close(g, &c, victim);
            continue;
        }
        /* The other side did not see the reset and keeps talking. */
        tr_wait(g, 1);
        c_data(g, &c, !victim, 200);
        c_ack(g, &c, victim);
        c_rst(g, &c, victim, c.nxt[victim], false);
    }
    g->out = NULL;
    tr_interleave(g, bufs, n, 6);
    free(bufs);
}

/* Blind injection into established connections: data far outside the
 * window, data with a wild acknowledgement, data more than a window behind;
 * the real traffic goes on around it. */
static void
gen_tcp_inject(struct tr_gen *g)
{
    size_t n = 40;
    struct tr_buf *bufs = xcalloc(n, sizeof *bufs);

    for (size_t i = 0; i < n; i++) {
        struct tr_conn c;
        struct in6_addr cip;
        uint16_t cport;
        int d = i % 2;

        g->out = &bufs[i];
        tr_client(g, false, &cip, &cport);
        tr_conn_init(g, &c, IPPROTO_TCP, cip, cport, tr_server(false, 2),
                     23);
        c_handshake(g, &c);
        c_exchange(g, &c, 4);

        c_seg(g, &c, d, TCP_ACK | TCP_PSH, c.nxt[d] + 0x7fff0000,
              c.nxt[!d], 100);
        c_exchange(g, &c, 1);
        c_seg(g, &c, d, TCP_ACK | TCP_PSH, c.nxt[d] + 0x10000000,
              c.nxt[!d] + 0x10000000, 500);
        c_seg(g, &c, d, TCP_ACK | TCP_PSH, c.nxt[d],
              c.nxt[!d] + 0x20000000, 50);
        c_seg(g, &c, d, TCP_ACK | TCP_PSH, c.nxt[d],
              c.nxt[!d] - 0x20000000, 50);
        c_seg(g, &c, d, TCP_ACK | TCP_PSH,
              c.nxt[d] - 4 * c_rwnd(&c, !d) - 600, c.nxt[!d], 300);
        c_seg(g, &c, d, TCP_ACK | TCP_PSH, c.nxt[d] + 3 * c_rwnd(&c, !d),
              c.nxt[!d], 300);
        c_exchange(g, &c, 3);
        c_close(g, &c, d);
    }
    g->out = NULL;
    tr_interleave(g, bufs, n, 8);
    free(bufs);
}

/* A SYN flood from spoofed sources at one server, answered now and then;
 * the spoofed hosts reset the answers they did not ask for.  A few real
 * clients connect through it. */
static void
gen_tcp_syn_flood(struct tr_gen *g)
{
    struct in6_addr server = tr_server(false, 7);

    g->pace = 24;
    for (size_t i = 0; i < 20000; i++) {
        struct tr_conn c;
        uint32_t src = (100u << 24) | (64u << 16) | rng_below(&g->rng,
                                                              1u << 22);

        tr_conn_init(g, &c, IPPROTO_TCP, ip4_u32(src),
                     rng_between(&g->rng, 1024, 65535), server, 80);
        c_syn(g, &c);
        if (i % 40 == 0) {
            /* The same tuple, a new ISN: a retried flood packet. */
            c.isn[0] += 1000;
            c_syn(g, &c);
        }
        if (i % 25 == 0) {
            c_synack(g, &c);
            if (i % 50 == 0) {
                c_rst(g, &c, 0, c.nxt[0], false);
            } else {
                c_synack(g, &c);
            }
        }
        if (i % 2000 == 0) {
            struct tr_conn r;
            struct in6_addr cip;
            uint16_t cport;

            tr_client(g, false, &cip, &cport);
            tr_conn_init(g, &r, IPPROTO_TCP, cip, cport, server, 80);
            c_handshake(g, &r);
            c_exchange(g, &r, 2);
            c_close(g, &r, 0);
        }
    }
}

/* ACK scans and stray mid-stream segments that match no connection, and the
 * RSTs the targets send back. */
static void
gen_tcp_ack_scan(struct tr_gen *g)
{
    struct in6_addr scanner = ip4(198, 18, 0, 66);

    g->pace = 16;
    for (size_t i = 0; i < 2500; i++) {
        struct tr_conn c;
        bool stray = i % 5 == 0;

        tr_conn_init(g, &c, IPPROTO_TCP,
                     stray ? ip4(198, 18, 1 + i % 7, 1 + i % 200) : scanner,
                     rng_between(&g->rng, 1024, 65535),
                     tr_server(false, 20 + i % 5),
                     stray ? 443 : rng_between(&g->rng, 1, 1024));
        c.nxt[0] = rng_u32(&g->rng);
        c.nxt[1] = rng_u32(&g->rng);
        if (stray) {
            c_data(g, &c, 0, rng_between(&g->rng, 1, TR_MSS));
            c_data(g, &c, 0, rng_between(&g->rng, 1, TR_MSS));
            c_ack(g, &c, 1);
        } else {
            c_ack(g, &c, 0);
            /* RFC 793: a closed or open port resets an unexpected ACK with
             * seq = its ack number. */
            c_seg(g, &c, 1, TCP_RST, c.nxt[1], 0, 0);
        }
    }
}

/* FIN, NULL, Xmas, Maimon (FIN+ACK), RST and bad-flag scans, with the
 * answers closed ports give. */
static void
gen_tcp_fin_rst_scan(struct tr_gen *g)
{
    static const uint16_t probes[] = {
        TCP_FIN,
        0,
        TCP_FIN | TCP_PSH | TCP_URG,
        TCP_FIN | TCP_ACK,
        TCP_RST,
        TCP_RST | TCP_ACK,
        TCP_SYN | TCP_FIN,
        TCP_SYN | TCP_RST,
        TCP_PSH,
        TCP_URG | TCP_ACK,
    };
    struct in6_addr scanner = ip4(198, 18, 0, 99);

    g->pace = 16;
    for (size_t i = 0; i < 3000; i++) {
        uint16_t flags = probes[i % ARRAY_SIZE(probes)];
        bool v6 = i % 7 == 3;
        struct tr_conn c;

        tr_conn_init(g, &c, IPPROTO_TCP,
                     v6 ? ip6(9, 0x66) : scanner,
                     rng_between(&g->rng, 1024, 65535),
                     tr_server(v6, 30 + i % 3),
                     rng_between(&g->rng, 1, 1024));
        c.nxt[0] = rng_u32(&g->rng);
        c.nxt[1] = rng_u32(&g->rng);
        c_seg(g, &c, 0, flags, c.nxt[0], c.nxt[1], 0);

        bool closed_port = i % 3 != 0;
        if (closed_port && !(flags & TCP_RST)) {
            if (flags & TCP_ACK) {
                c_seg(g, &c, 1, TCP_RST, c.nxt[1], 0, 0);
            } else {
                c_seg(g, &c, 1, TCP_RST | TCP_ACK, 0,
                      c.nxt[0] + !!(flags & TCP_FIN)
                      + !!(flags & TCP_SYN), 0);
            }
        }
    }
}

/* Connections already established when the tracker first sees them: data
 * both ways, with window scaling in use that the tracker never saw
 * negotiated, then a close. */
static void
gen_tcp_midstream(struct tr_gen *g, bool v6, size_t n)
{
    struct tr_buf *bufs = xcalloc(n, sizeof *bufs);

    for (size_t i = 0; i < n; i++) {
        struct tr_conn c;
        struct in6_addr cip;
        uint16_t cport;

        g->out = &bufs[i];
        tr_client(g, v6, &cip, &cport);
        tr_conn_init(g, &c, IPPROTO_TCP, cip, cport, tr_server(v6, 3),
                     i % 2 ? 22 : 3306);
        if (i % 3 == 0) {
            c.ws[0] = 7;
            c.ws[1] = 7;
            c.ws_on = true;
            c.win[0] = 1u << 20;
            c.win[1] = 1u << 20;
        }
        switch (i % 4) {
        case 0:
            c_exchange(g, &c, rng_between(&g->rng, 2, 8));
            break;
        case 1:
            /* The server speaks first. */
            c_data(g, &c, 1, 300);
            c_ack(g, &c, 0);
            c_exchange(g, &c, 3);
            break;
        case 2:
            /* A bare ACK first, as keepalives are. */
            c_seg(g, &c, 0, TCP_ACK, c.nxt[0] - 1, c.nxt[1], 0);
            c_ack(g, &c, 1);
            c_exchange(g, &c, 3);
            break;
        default: {
            struct tr_bulk b = {
                .total = c.ws_on ? 400000 : 100000,
                .burst = c.ws_on ? 100 : 30,
            };
            c_bulk(g, &c, 1, &b);
            break;
        }
        }
        c_close(g, &c, i % 2);
    }
    g->out = NULL;
    tr_interleave(g, bufs, n, 5);
    free(bufs);
}

static void
gen_tcp_midstream4(struct tr_gen *g)
{
    gen_tcp_midstream(g, false, 60);
}

static void
gen_tcp6_midstream(struct tr_gen *g)
{
    gen_tcp_midstream(g, true, 30);
}

/* Simultaneous open: both ends send a SYN, then a SYN+ACK each. */
static void
gen_tcp_simultaneous(struct tr_gen *g)
{
    size_t n = 40;
    struct tr_buf *bufs = xcalloc(n, sizeof *bufs);

    for (size_t i = 0; i < n; i++) {
        struct tr_conn c;
        struct in6_addr cip;
        uint16_t cport;

        g->out = &bufs[i];
        tr_client(g, i % 4 == 3, &cip, &cport);
        tr_conn_init(g, &c, IPPROTO_TCP, cip, cport,
                     tr_server(i % 4 == 3, 5), 40000 + i);
        if (i % 2) {
            c.ws[0] = 6;
            c.ws[1] = 8;
            c.win[0] = c.win[1] = 1u << 19;
        }
        c_seg(g, &c, 0, TCP_SYN, c.isn[0], 0, 0);
        c_seg(g, &c, 1, TCP_SYN, c.isn[1], 0, 0);
        c.nxt[0] = c.isn[0] + 1;
        c.nxt[1] = c.isn[1] + 1;
        c_seg(g, &c, 0, TCP_SYN | TCP_ACK, c.isn[0], c.nxt[1], 0);
        c_seg(g, &c, 1, TCP_SYN | TCP_ACK, c.isn[1], c.nxt[0], 0);
        c.ws_on = c.ws[0] >= 0 && c.ws[1] >= 0;
        c_ack(g, &c, 0);
        c_ack(g, &c, 1);
        c_exchange(g, &c, 3);
        c_close(g, &c, i % 2);
    }
    g->out = NULL;
    tr_interleave(g, bufs, n, 3);
    free(bufs);
}

/* Reuse of a tuple: a fresh SYN after a full close (TIME_WAIT), after a
 * reset, and (not a reuse) while the connection is still open or half
 * closed. */
static void
gen_tcp_timewait_reuse(struct tr_gen *g)
{
    size_t n = 60;
    struct tr_buf *bufs = xcalloc(n, sizeof *bufs);

    for (size_t i = 0; i < n; i++) {
        struct tr_conn c;
        struct in6_addr cip;
        uint16_t cport;

        g->out = &bufs[i];
        tr_client(g, i % 5 == 4, &cip, &cport);
        tr_conn_init(g, &c, IPPROTO_TCP, cip, cport,
                     tr_server(i % 5 == 4, 6), 8080);
        c_handshake(g, &c);
        c_exchange(g, &c, 2);

        switch (i % 5) {
        case 0:
        case 4:
            c_close(g, &c, 0);
            break;
        case 1:
            c_close(g, &c, 1);
            break;
        case 2:
            c_rst(g, &c, 0, c.nxt[0], false);
            break;
        default:
            /* Half closed, then a SYN with a new ISN: not a reuse. */
            c_fin(g, &c, 0);
            c_ack(g, &c, 1);
            c_seg(g, &c, 0, TCP_SYN, c.nxt[0] + 100000, 0, 0);
            c_data(g, &c, 1, 100);
            c_ack(g, &c, 0);
            c_fin(g, &c, 1);
            c_ack(g, &c, 0);
            break;
        }

        tr_wait(g, 2);
        /* A new connection on the same tuple; Linux picks an ISN above the
         * old one, other stacks anything. */
        c.isn[0] = (i % 2 ? c.nxt[0] + 64000 : rng_u32(&g->rng));
        c.isn[1] = rng_u32(&g->rng);
        c_handshake(g, &c);
        c_exchange(g, &c, 2);
        c_close(g, &c, i % 2);
    }
    g->out = NULL;
    tr_interleave(g, bufs, n, 4);
    free(bufs);
}

/* Close variants: half close with data still flowing the other way,
 * retransmitted FINs, a RST after a FIN, a connection refused with a RST,
 * data after the FIN, and a keepalive. */
static void
gen_tcp_close_variants(struct tr_gen *g)
{
    size_t n = 60;
    struct tr_buf *bufs = xcalloc(n, sizeof *bufs);

    for (size_t i = 0; i < n; i++) {
        struct tr_conn c;
        struct in6_addr cip;
        uint16_t cport;

        g->out = &bufs[i];
        tr_client(g, false, &cip, &cport);
        tr_conn_init(g, &c, IPPROTO_TCP, cip, cport, tr_server(false, 8),
                     i % 6 == 3 ? 9 : 25);
        if (i % 6 == 3) {
            /* Refused. */
            c_syn(g, &c);
            c_seg(g, &c, 1, TCP_RST | TCP_ACK, 0, c.nxt[0], 0);
            tr_wait(g, 1);
            c_syn(g, &c);
            c_seg(g, &c, 1, TCP_RST | TCP_ACK, 0, c.nxt[0], 0);
            continue;
        }
        c_handshake(g, &c);
        c_exchange(g, &c, 2);
        switch (i % 6) {
        case 0:
            /* Half close; the server sends on. */
            c_fin(g, &c, 0);
            c_ack(g, &c, 1);
            for (int k = 0; k < 6; k++) {
                c_data(g, &c, 1, TR_MSS);
                c_ack(g, &c, 0);
            }
            c_fin(g, &c, 1);
            c_ack(g, &c, 0);
            break;
        case 1:
            /* Retransmitted FINs. */
            c_fin(g, &c, 1);
            c.nxt[1]--;
            c_fin(g, &c, 1);
            c.nxt[1]--;
            c_fin(g, &c, 1);
            c_ack(g, &c, 0);
            c_fin(g, &c, 0);
            c_ack(g, &c, 1);
            c_ack(g, &c, 1);
            break;
        case 2:
            /* RST after the FIN. */
            c_fin(g, &c, 0);
            c_ack(g, &c, 1);
            c_rst(g, &c, 1, c.nxt[1], true);
            break;
        case 4:
            /* Data after the peer's FIN, then keepalive, then close. */
            c_fin(g, &c, 1);
            c_data(g, &c, 0, 100);
            c_ack(g, &c, 1);
            c_seg(g, &c, 0, TCP_ACK, c.nxt[0] - 1, c.nxt[1], 0);
            c_fin(g, &c, 0);
            c_ack(g, &c, 1);
            break;
        default:
            /* Keepalives, then a normal close. */
            c_seg(g, &c, 0, TCP_ACK, c.nxt[0] - 1, c.nxt[1], 0);
            c_ack(g, &c, 1);
            c_seg(g, &c, 1, TCP_ACK, c.nxt[1] - 1, c.nxt[0], 0);
            c_ack(g, &c, 0);
            c_close(g, &c, 1);
            break;
        }
    }
    g->out = NULL;
    tr_interleave(g, bufs, n, 4);
    free(bufs);
}

/* UDP request/response flows, and flows a server starts towards a
 * client. */
static void
gen_udp_flows(struct tr_gen *g, bool v6, size_t n, bool oneway)
{
    struct tr_buf *bufs = xcalloc(n, sizeof *bufs);

    for (size_t i = 0; i < n; i++) {
        struct tr_conn c;
        struct in6_addr cip;
        uint16_t cport;

        g->out = &bufs[i];
        tr_client(g, v6, &cip, &cport);
        tr_conn_init(g, &c, IPPROTO_UDP, cip, cport, tr_server(v6, 10),
                     i % 2 ? 53 : 123);
        if (oneway) {
            /* Syslog- or RTP-like streams; one in five is answered at the
             * very end. */
            unsigned int count = rng_between(&g->rng, 5, 60);
            for (unsigned int k = 0; k < count; k++) {
                u_send(g, &c, 0, rng_between(&g->rng, 20, 1200));
            }
            if (i % 5 == 0) {
                u_send(g, &c, 1, 40);
                u_send(g, &c, 0, 40);
            }
        } else {
            unsigned int count = rng_between(&g->rng, 1, 8);
            for (unsigned int k = 0; k < count; k++) {
                u_send(g, &c, 0, rng_between(&g->rng, 20, 512));
                if (rng_pct(&g->rng, 20)) {
                    u_send(g, &c, 0, rng_between(&g->rng, 20, 512));
                }
                u_send(g, &c, 1, rng_between(&g->rng, 20, 1400));
            }
        }
    }
    g->out = NULL;
    tr_interleave(g, bufs, n, oneway ? 10 : 30);
    free(bufs);
}

static void
gen_udp_bidir(struct tr_gen *g)
{
    gen_udp_flows(g, false, 400, false);
}

static void
gen_udp_oneway(struct tr_gen *g)
{
    gen_udp_flows(g, false, 80, true);
}

static void
gen_udp6(struct tr_gen *g)
{
    gen_udp_flows(g, true, 150, false);
    gen_udp_flows(g, true, 30, true);
}

/* ICMP echo in both directions, and unanswered pings. */
static void
gen_icmp_echo_flows(struct tr_gen *g, bool v6, size_t n)
{
    struct tr_buf *bufs = xcalloc(n, sizeof *bufs);

    for (size_t i = 0; i < n; i++) {
        struct tr_conn c;
        struct in6_addr cip;
        uint16_t cport;
        uint16_t id = 0x1000 + i;

        g->out = &bufs[i];
        tr_client(g, v6, &cip, &cport);
        if (i % 3 == 1) {
            /* The server pings the client. */
            tr_conn_init(g, &c, v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP,
                         tr_server(v6, 11), id, cip, id);
        } else {
            tr_conn_init(g, &c, v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP,
                         cip, id, tr_server(v6, 11), id);
        }
        i_ping(g, &c, rng_between(&g->rng, 1, 8), i % 5 != 0);
    }
    g->out = NULL;
    tr_interleave(g, bufs, n, 10);
    free(bufs);
}

static void
gen_icmp_echo(struct tr_gen *g)
{
    gen_icmp_echo_flows(g, false, 300);
}

/* ICMP errors: quoting tracked UDP, TCP and echo flows, in either
 * direction, with 8 bytes or all of the quoted L4 header; quoting flows
 * nobody tracks; and quoting a tracked flow from a spoofed address that
 * does not match the quoted packet. */
static void
gen_icmp_errors(struct tr_gen *g, bool v6, size_t n)
{
    struct tr_buf *bufs = xcalloc(n, sizeof *bufs);
    struct in6_addr router = v6 ? ip6(3, 0xfe) : ip4(192, 168, 250, 254);

    for (size_t i = 0; i < n; i++) {
        struct tr_conn c;
        struct in6_addr cip;
        uint16_t cport;
        size_t quote = v6 || i % 2 ? SIZE_MAX : 8;

        g->out = &bufs[i];
        tr_client(g, v6, &cip, &cport);
        switch (i % 6) {
        case 0:
            /* UDP to a closed port. */
            tr_conn_init(g, &c, IPPROTO_UDP, cip, cport, tr_server(v6, 12),
                         33434 + i % 30);
            u_send(g, &c, 0, 32);
            i_port_unreach(g, &c, quote);
            u_send(g, &c, 0, 32);
            i_port_unreach(g, &c, quote);
            break;
        case 1:
            /* Traceroute-style time exceeded from a router. */
            tr_conn_init(g, &c, IPPROTO_UDP, cip, cport, tr_server(v6, 12),
                         53);
            u_send(g, &c, 0, 40);
            u_send(g, &c, 1, 80);
            i_time_exceeded(g, &c, 0, &router, tr_udp_pkt(g, &c, 0, 40),
                            quote);
            i_time_exceeded(g, &c, 1, &router, tr_udp_pkt(g, &c, 1, 80),
                            quote);
            break;
        case 2:
            /* PMTU discovery on a TCP connection, both ways. */
            tr_conn_init(g, &c, IPPROTO_TCP, cip, cport, tr_server(v6, 12),
                         443);
            c_handshake(g, &c);
            c_exchange(g, &c, 1);
            i_too_big(g, &c, 1, &router, 8);
            i_too_big(g, &c, 0, &router, 8);
            c_exchange(g, &c, 1);
            c_close(g, &c, 0);
            break;
        case 3: {
            /* Host unreachable for a ping. */
            tr_conn_init(g, &c, v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP,
                         cip, 0x2000 + i, tr_server(v6, 13), 0x2000 + i);
            i_ping(g, &c, 1, false);
            i_error(g, &router, &c.ip[0],
                    v6 ? TR_ICMP6_DST_UNREACH : ICMP4_DST_UNREACH,
                    v6 ? 3 : 1, 0,
                    tr_echo_pkt(g, &c, 0, v6 ? TR_ICMP6_ECHO_REQUEST
                                             : ICMP4_ECHO_REQUEST),
                    SIZE_MAX, c.id, true);
            break;
        }
        case 4: {
            /* Errors quoting flows that were never seen. */
            struct tr_conn ghost;

            tr_conn_init(g, &ghost, i % 12 == 4 ? IPPROTO_TCP : IPPROTO_UDP,
                         cip, cport, tr_server(v6, 14), 7000 + i);
            i_error(g, &router, &cip,
                    v6 ? TR_ICMP6_DST_UNREACH : ICMP4_DST_UNREACH,
                    v6 ? 0 : 1, 0,
                    (ghost.proto == IPPROTO_TCP
                     ? tr_tcp_pkt(g, &ghost, 0, TCP_SYN, ghost.isn[0], 0,
                                  1024, 0, true, false)
                     : tr_udp_pkt(g, &ghost, 0, 20)),
                    quote, CT_TRACE_NO_CONN, false);
            break;
        }
        default: {
            /* An error about a tracked flow, but sent to a host that is
             * not the quoted packet's source. */
            struct in6_addr other = v6 ? ip6(1, 0xbad) : ip4(10, 99, 0, 1);

            tr_conn_init(g, &c, IPPROTO_UDP, cip, cport, tr_server(v6, 12),
                         514);
            u_send(g, &c, 0, 60);
            i_error(g, &c.ip[1], &other,
                    v6 ? TR_ICMP6_DST_UNREACH : ICMP4_DST_UNREACH,
                    v6 ? 4 : 3, 0, tr_udp_pkt(g, &c, 0, 60), quote,
                    CT_TRACE_NO_CONN, false);
            u_send(g, &c, 1, 60);
            break;
        }
        }
    }
    g->out = NULL;
    tr_interleave(g, bufs, n, 6);
    free(bufs);
}

static void
gen_icmp_related(struct tr_gen *g)
{
    gen_icmp_errors(g, false, 240);
}

/* ICMPv6: echo both ways, errors, and neighbour discovery, which a
 * conntrack does not track. */
static void
gen_icmp6(struct tr_gen *g)
{
    gen_icmp_echo_flows(g, true, 150);
    gen_icmp_errors(g, true, 120);

    for (size_t i = 0; i < 40; i++) {
        struct in6_addr a = ip6(1, 0x100 + i), b = tr_server(true, 11);
        uint8_t buf[32];

        memset(buf, 0, sizeof buf);
        buf[0] = i % 2 ? TR_ND_NEIGHBOR_ADVERT : TR_ND_NEIGHBOR_SOLICIT;
        if (i % 2) {
            buf[4] = 0x60;      /* Solicited, override. */
        }
        memcpy(buf + 8, i % 2 ? &a : &b, 16);
        buf[24] = i % 2 ? 2 : 1;
        buf[25] = 1;
        struct eth_addr mac = mac_of(&a);
        memcpy(buf + 26, mac.ea, 6);
        tr_emit(g, tr_build(&a, &b, 255, g->ip_id++, IPPROTO_ICMPV6, buf,
                            sizeof buf),
                CT_TRACE_NO_CONN, false, false);
    }
}

/* One connection of any kind, for the concurrent trace. */
static void
gen_any_conn(struct tr_gen *g, unsigned int kind, bool v6)
{
    struct tr_conn c;
    struct in6_addr cip;
    uint16_t cport;

    tr_client(g, v6, &cip, &cport);
    switch (kind % 10) {
    case 0:
    case 1:
    case 2:
        tr_conn_init(g, &c, IPPROTO_TCP, cip, cport,
                     tr_server(v6, kind % 16), 443);
        c_handshake(g, &c);
        c_exchange(g, &c, rng_between(&g->rng, 1, 6));
        c_close(g, &c, kind % 2);
        break;
    case 3: {
        tr_conn_init(g, &c, IPPROTO_TCP, cip, cport,
                     tr_server(v6, kind % 16), 80);
        c.ws[0] = 7;
        c.ws[1] = 7;
        c.win[0] = c.win[1] = 1u << 20;
        c_handshake(g, &c);
        struct tr_bulk b = {
            .total = rng_between(&g->rng, 5000, 60000),
            .burst = 16,
            .loss_before = 2,
            .loss_after = 2,
            .reorder = 5,
            .dup_acks = 2,
        };
        c_data(g, &c, 0, 200);
        c_bulk(g, &c, 1, &b);
        c_close(g, &c, 1);
        break;
    }
    case 4:
    case 5:
    case 6:
        tr_conn_init(g, &c, IPPROTO_UDP, cip, cport,
                     tr_server(v6, kind % 16), 53);
        for (unsigned int k = rng_between(&g->rng, 1, 4); k; k--) {
            u_send(g, &c, 0, rng_between(&g->rng, 30, 300));
            u_send(g, &c, 1, rng_between(&g->rng, 30, 1000));
        }
        break;
    case 7:
        tr_conn_init(g, &c, v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP, cip,
                     cport, tr_server(v6, kind % 16), cport);
        i_ping(g, &c, rng_between(&g->rng, 1, 4), true);
        break;
    case 8:
        tr_conn_init(g, &c, IPPROTO_UDP, cip, cport,
                     tr_server(v6, kind % 16), 5060);
        u_send(g, &c, 0, 400);
        i_port_unreach(g, &c, v6 ? SIZE_MAX : 8);
        break;
    default:
        tr_conn_init(g, &c, IPPROTO_TCP, cip, cport,
                     tr_server(v6, kind % 16), 25);
        c_syn(g, &c);
        c_seg(g, &c, 1, TCP_RST | TCP_ACK, 0, c.nxt[0], 0);
        break;
    }
}

/* Many connections of every kind at once, interleaved. */
static void
gen_concurrent(struct tr_gen *g)
{
    size_t n = 4000;
    struct tr_buf *bufs = xcalloc(n, sizeof *bufs);

    g->pace = 16;
    for (size_t i = 0; i < n; i++) {
        g->out = &bufs[i];
        gen_any_conn(g, rng_below(&g->rng, 1000), i % 4 == 0);
    }
    g->out = NULL;
    tr_interleave(g, bufs, n, 300);
    free(bufs);
}

/* NAT.  Packets are written untranslated; see ct_trace_nat_reply(). */
static void
tr_set_nat(struct ct_trace *t, bool snat, struct in6_addr min,
           struct in6_addr max, uint16_t min_port, uint16_t max_port)
{
    t->has_nat = true;
    t->nat.snat = snat;
    t->nat.min_addr = min;
    t->nat.max_addr = max;
    t->nat.min_port = min_port;
    t->nat.max_port = max_port;
}

/* Connections of every kind through the NAT, from 'n_clients' clients
 * whose ports repeat, so that some translated tuples collide. */
static void
gen_nat_conns(struct tr_gen *g, bool v6, size_t n, bool dnat,
              const struct in6_addr *vip)
{
    struct tr_buf *bufs = xcalloc(n, sizeof *bufs);
    struct in6_addr router = v6 ? ip6(3, 0xfe) : ip4(198, 51, 100, 254);

    for (size_t i = 0; i < n; i++) {
        struct in6_addr cip = (v6 ? ip6(1, 0x10 + i % 16)
                               : ip4(10, 0, 0, 1 + i % 16));
        uint16_t cport = 40000 + i / 16;
        struct in6_addr sip = dnat ? *vip : (v6 ? ip6(2, 1 + i % 3)
                                             : ip4(198, 51, 100, 1 + i % 3));
        struct tr_conn c;

        g->out = &bufs[i];
        switch (i % 8) {
        case 0:
        case 1:
        case 2:
        case 3:
            tr_conn_init(g, &c, IPPROTO_TCP, cip, cport, sip, 80);
            c_handshake(g, &c);
            c_exchange(g, &c, rng_between(&g->rng, 1, 5));
            if (i % 8 == 2) {
                /* Out-of-window segments both ways through the NAT. */
                c_seg(g, &c, 1, TCP_ACK | TCP_PSH, c.nxt[1] + 0x40000000,
                      c.nxt[0], 100);
                c_seg(g, &c, 0, TCP_ACK | TCP_PSH, c.nxt[0] - 0x40000000,
                      c.nxt[1], 100);
                c_exchange(g, &c, 1);
            }
            if (i % 8 == 3) {
                /* Not a bare 8-byte quote: OVS 3.1's NAT of a quoted TCP
                 * header rewrites its checksum, past those 8 bytes. */
                i_too_big(g, &c, 1, &router, 64);
            }
            c_close(g, &c, i % 2);
            break;
        case 4:
        case 5:
            tr_conn_init(g, &c, IPPROTO_UDP, cip, cport, sip, 53);
            u_send(g, &c, 0, 40);
            u_send(g, &c, 1, 200);
            u_send(g, &c, 0, 40);
            u_send(g, &c, 1, 200);
            break;
        case 6:
            tr_conn_init(g, &c, IPPROTO_UDP, cip, cport, sip, 9);
            u_send(g, &c, 0, 40);
            i_port_unreach(g, &c, v6 ? SIZE_MAX : 8);
            if (!dnat) {
                i_time_exceeded(g, &c, 0, &router,
                                tr_udp_pkt(g, &c, 0, 40), SIZE_MAX);
            }
            break;
        default:
            tr_conn_init(g, &c, v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP, cip,
                         0x3000 + i, sip, 0x3000 + i);
            i_ping(g, &c, 3, true);
            break;
        }
    }
    g->out = NULL;
    tr_interleave(g, bufs, n, 12);
    free(bufs);
}

static void
gen_nat_snat(struct tr_gen *g)
{
    struct in6_addr a = ip4(203, 0, 113, 1);

    tr_set_nat(g->t, true, a, a, 0, 0);
    gen_nat_conns(g, false, 320, false, NULL);
}

static void
gen_nat_snat_range(struct tr_gen *g)
{
    tr_set_nat(g->t, true, ip4(203, 0, 113, 10), ip4(203, 0, 113, 13),
               30000, 30999);
    gen_nat_conns(g, false, 320, false, NULL);
}

static void
gen_nat_dnat(struct tr_gen *g)
{
    struct in6_addr vip = ip4(198, 51, 100, 100);

    tr_set_nat(g->t, false, ip4(172, 16, 0, 10), ip4(172, 16, 0, 12), 0, 0);
    gen_nat_conns(g, false, 240, true, &vip);
}

static void
gen_nat_dnat6(struct tr_gen *g)
{
    struct in6_addr vip = ip6(2, 0x100);
    struct in6_addr backend = ip6(0xff, 0x10);

    tr_set_nat(g->t, false, backend, backend, 8080, 8080);
    gen_nat_conns(g, true, 120, true, &vip);
}

struct tr_kind {
    const char *name;
    const char *descr;
    void (*gen)(struct tr_gen *);
};

static const struct tr_kind kinds[] = {
    { "tcp-normal", "TCP handshakes, data, FIN closes",
      gen_tcp_normal },
    { "tcp-loss", "TCP bulk data with loss and retransmissions",
      gen_tcp_loss },
    { "tcp-reorder", "TCP bulk data with reordered segments",
      gen_tcp_reorder },
    { "tcp-wscale", "TCP window scaling, in flight beyond 64 kB",
      gen_tcp_wscale },
    { "tcp-rst-attack", "RSTs in and out of window into established TCP",
      gen_tcp_rst_attack },
    { "tcp-inject", "blind TCP data injection with wrong seq/ack",
      gen_tcp_inject },
    { "tcp-syn-flood", "SYN flood from spoofed sources",
      gen_tcp_syn_flood },
    { "tcp-ack-scan", "ACK scan and mid-stream segments, no connection",
      gen_tcp_ack_scan },
    { "tcp-fin-rst-scan", "FIN/NULL/Xmas/RST scans and bad flags",
      gen_tcp_fin_rst_scan },
    { "tcp-midstream", "TCP picked up mid-stream, scaled windows",
      gen_tcp_midstream4 },
    { "tcp-simultaneous-open", "TCP simultaneous open",
      gen_tcp_simultaneous },
    { "tcp-timewait-reuse", "TCP tuple reuse after close and reset",
      gen_tcp_timewait_reuse },
    { "tcp-close-variants", "TCP half close, FIN retransmit, refused",
      gen_tcp_close_variants },
    { "udp-bidir", "UDP request/response flows", gen_udp_bidir },
    { "udp-oneway", "UDP one-way streams", gen_udp_oneway },
    { "icmp-echo", "ICMP echo both ways, unanswered pings",
      gen_icmp_echo },
    { "icmp-related", "ICMP errors quoting tracked and unknown flows",
      gen_icmp_related },
    { "tcp6-normal", "IPv6 TCP handshakes, data, closes",
      gen_tcp6_normal },
    { "tcp6-lossy", "IPv6 TCP with loss and reordering",
      gen_tcp6_lossy },
    { "tcp6-midstream", "IPv6 TCP picked up mid-stream",
      gen_tcp6_midstream },
    { "udp6", "IPv6 UDP both ways and one way", gen_udp6 },
    { "icmp6", "ICMPv6 echo, errors, neighbour discovery", gen_icmp6 },
    { "concurrent", "thousands of mixed connections interleaved",
      gen_concurrent },
    { "nat-snat", "SNAT to one address, colliding client ports",
      gen_nat_snat },
    { "nat-snat-range", "SNAT to an address and port range",
      gen_nat_snat_range },
    { "nat-dnat", "DNAT of a VIP to a range of backends", gen_nat_dnat },
    { "nat-dnat6", "IPv6 DNAT to one backend and port", gen_nat_dnat6 },
};

size_t
ct_trace_n_kinds(void)
{
    return ARRAY_SIZE(kinds);
}

const char *
ct_trace_kind_name(size_t idx)
{
    return idx < ARRAY_SIZE(kinds) ? kinds[idx].name : NULL;
}

const char *
ct_trace_kind_descr(size_t idx)
{
    return idx < ARRAY_SIZE(kinds) ? kinds[idx].descr : NULL;
}

static uint64_t
tr_seed(const char *name, uint64_t seed)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);

    for (const char *p = name; *p; p++) {
        h = (h ^ (uint8_t) *p) * UINT64_C(0x100000001b3);
    }
    h ^= seed * UINT64_C(0x9e3779b97f4a7c15);
    return h ? h : 1;
}

struct ct_trace *
ct_trace_create(const char *name, uint64_t seed)
{
    for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
        if (!strcmp(kinds[i].name, name)) {
            struct ct_trace *t = xzalloc(sizeof *t);
            struct tr_gen g = {
                .t = t,
                .rng = { tr_seed(name, seed) },
                .pace = 8,
                .ip_id = 1,
            };

            t->name = xstrdup(name);
            t->descr = kinds[i].descr;
            kinds[i].gen(&g);
            return t;
        }
    }
    return NULL;
}

void
ct_trace_destroy(struct ct_trace *t)
{
    if (t) {
        for (size_t i = 0; i < t->n_pkts; i++) {
            dp_packet_delete(t->pkts[i].pkt);
        }
        free(t->pkts);
        free(t->name);
        free(t);
    }
}

char *
ct_trace_write_pcap(const struct ct_trace *t, const char *file)
{
    struct pcap_file *p = ovs_pcap_open(file, "wb");

    if (!p) {
        return xasprintf("%s: cannot open for writing", file);
    }
    /* ovs_pcap_open() has written the file header already ("wb"). */
    for (size_t i = 0; i < t->n_pkts; i++) {
        ovs_pcap_write(p, t->pkts[i].pkt);
    }
    ovs_pcap_close(p);
    return NULL;
}

/* Tuples. */

static void
tr_get_addr(const struct tr_view *v, struct in6_addr *src,
            struct in6_addr *dst)
{
    if (!v->v6) {
        const struct ip_header *ip = v->l3;

        *src = in6_addr_mapped_ipv4(get_16aligned_be32(&ip->ip_src));
        *dst = in6_addr_mapped_ipv4(get_16aligned_be32(&ip->ip_dst));
    } else {
        const struct ovs_16aligned_ip6_hdr *ip6 = v->l3;

        memcpy(src, &ip6->ip6_src, sizeof *src);
        memcpy(dst, &ip6->ip6_dst, sizeof *dst);
    }
}

static void
tr_set_addr(const struct tr_view *v, const struct in6_addr *src,
            const struct in6_addr *dst)
{
    if (!v->v6) {
        struct ip_header *ip = v->l3;

        put_16aligned_be32(&ip->ip_src, in6_addr_get_mapped_ipv4(src));
        put_16aligned_be32(&ip->ip_dst, in6_addr_get_mapped_ipv4(dst));
    } else {
        struct ovs_16aligned_ip6_hdr *ip6 = v->l3;

        memcpy(&ip6->ip6_src, src, sizeof *src);
        memcpy(&ip6->ip6_dst, dst, sizeof *dst);
    }
}

static bool
tr_is_echo(const struct tr_view *v)
{
    const uint8_t *l4 = v->l4;

    if (v->l4_len < 8) {
        return false;
    }
    return (v->proto == IPPROTO_ICMP
            ? (l4[0] == ICMP4_ECHO_REQUEST || l4[0] == ICMP4_ECHO_REPLY)
            : v->proto == IPPROTO_ICMPV6
            && (l4[0] == TR_ICMP6_ECHO_REQUEST
                || l4[0] == TR_ICMP6_ECHO_REPLY));
}

bool
ct_trace_get_tuple(const struct dp_packet *pkt, bool inner,
                   struct ct_trace_tuple *tuple)
{
    struct tr_view v, in;

    memset(tuple, 0, sizeof *tuple);
    if (!tr_view_outer(pkt, &v)) {
        return false;
    }
    if (inner) {
        if (!tr_view_inner(&v, &in)) {
            return false;
        }
        v = in;
    }
    tr_get_addr(&v, &tuple->src, &tuple->dst);
    tuple->proto = v.proto;

    const uint8_t *l4 = v.l4;
    if ((v.proto == IPPROTO_TCP || v.proto == IPPROTO_UDP) && v.l4_len >= 4) {
        tuple->sport = (l4[0] << 8) | l4[1];
        tuple->dport = (l4[2] << 8) | l4[3];
    } else if (tr_is_echo(&v)) {
        tuple->sport = tuple->dport = (l4[4] << 8) | l4[5];
    }
    return true;
}

void
ct_trace_set_tuple(struct dp_packet *pkt, bool inner,
                   const struct ct_trace_tuple *tuple)
{
    struct tr_view v, in;

    if (!tr_view_outer(pkt, &v)) {
        return;
    }
    if (inner) {
        if (!tr_view_inner(&v, &in)) {
            return;
        }
        v = in;
    }
    tr_set_addr(&v, &tuple->src, &tuple->dst);

    uint8_t *l4 = v.l4;
    if ((v.proto == IPPROTO_TCP || v.proto == IPPROTO_UDP) && v.l4_len >= 4) {
        l4[0] = tuple->sport >> 8;
        l4[1] = tuple->sport;
        l4[2] = tuple->dport >> 8;
        l4[3] = tuple->dport;
    } else if (tr_is_echo(&v)) {
        l4[4] = tuple->sport >> 8;
        l4[5] = tuple->sport;
    }
    if (inner && !v.v6) {
        tr_ip4_csum(v.l3);
    }
    /* A quoted TCP or UDP header keeps its (now stale) checksum, as it
     * would through a NAT that does not rewrite it; nobody checks it. */
    tr_fix_csums(pkt);
    tr_extract(pkt);
}

void
ct_trace_fix_checksums(struct dp_packet *pkt)
{
    tr_fix_csums(pkt);
}

void
ct_trace_nat_reply(struct dp_packet *pkt, bool icmp_error,
                   const struct ct_trace_tuple *xlat)
{
    if (!icmp_error) {
        struct ct_trace_tuple r = {
            .src = xlat->dst,
            .dst = xlat->src,
            .sport = xlat->dport,
            .dport = xlat->sport,
            .proto = xlat->proto,
        };
        ct_trace_set_tuple(pkt, false, &r);
    } else {
        struct ct_trace_tuple outer, quoted;

        if (!ct_trace_get_tuple(pkt, false, &outer)
            || !ct_trace_get_tuple(pkt, true, &quoted)) {
            return;
        }
        /* The error is about the translated packet and goes to its
         * translated source; if the quoted packet's destination sent it, it
         * did so from its translated address. */
        if (ipv6_addr_equals(&outer.src, &quoted.dst)) {
            outer.src = xlat->dst;
        }
        outer.dst = xlat->src;
        struct ct_trace_tuple q = *xlat;
        q.proto = quoted.proto;
        ct_trace_set_tuple(pkt, true, &q);
        ct_trace_set_tuple(pkt, false, &outer);
    }
}

/* Packets for benchmarks and table fills. */

struct dp_packet *
ct_trace_bench_packet(unsigned tid, unsigned idx, bool change)
{
    /* Exactly the frame test-conntrack's benchmark builds: a 42-byte UDP
     * datagram with TTL 0, IP id 0, no DF bit and no UDP checksum. */
    struct in6_addr src = ip4(10, 1, 1, 1), dst = ip4(10, 1, 1, 2);
    struct udp_header udp = {
        .udp_src = htons(1 + tid),
        .udp_dst = htons(2 + (change ? idx : 0)),
        .udp_len = htons(UDP_HEADER_LEN),
    };
    struct dp_packet *pkt = dp_packet_new(ETH_HEADER_LEN + IP_HEADER_LEN
                                          + UDP_HEADER_LEN);
    struct eth_header *eth = dp_packet_put_zeros(pkt, ETH_HEADER_LEN);
    struct ip_header *ip = dp_packet_put_zeros(pkt, IP_HEADER_LEN);

    eth->eth_dst = (struct eth_addr) ETH_ADDR_C(50, 54, 00, 00, 00, 0a);
    eth->eth_src = (struct eth_addr) ETH_ADDR_C(50, 54, 00, 00, 00, 09);
    eth->eth_type = htons(ETH_TYPE_IP);
    ip->ip_ihl_ver = IP_IHL_VER(5, IP_VERSION);
    ip->ip_tot_len = htons(IP_HEADER_LEN + UDP_HEADER_LEN);
    ip->ip_proto = IPPROTO_UDP;
    put_16aligned_be32(&ip->ip_src, in6_addr_get_mapped_ipv4(&src));
    put_16aligned_be32(&ip->ip_dst, in6_addr_get_mapped_ipv4(&dst));
    tr_ip4_csum(ip);
    dp_packet_put(pkt, &udp, sizeof udp);
    tr_extract(pkt);
    return pkt;
}

struct dp_packet *
ct_trace_fill_packet(uint32_t n)
{
    struct in6_addr src = ip4_u32((10u << 24) | (n >> 10));
    struct in6_addr dst = ip4(192, 168, 0, 1);
    struct udp_header udp = {
        .udp_src = htons(1024 + (n & 1023)),
        .udp_dst = htons(53),
        .udp_len = htons(UDP_HEADER_LEN),
    };

    return tr_build(&src, &dst, 64, n, IPPROTO_UDP, &udp, sizeof udp);
}

/* Diagnostics. */

static void
tr_format_addr(struct ds *s, const struct in6_addr *a)
{
    if (is_v4(a)) {
        ds_put_format(s, IP_FMT, IP_ARGS(in6_addr_get_mapped_ipv4(a)));
    } else {
        ipv6_format_addr(a, s);
    }
}

static void
tr_format_view(struct ds *s, const struct tr_view *v, bool quoted)
{
    struct in6_addr src, dst;
    const uint8_t *l4 = v->l4;

    tr_get_addr(v, &src, &dst);
    if (v->proto == IPPROTO_TCP && v->l4_len >= 14) {
        const struct tcp_header *tcp = v->l4;
        uint16_t flags = TCP_FLAGS(tcp->tcp_ctl);
        static const char names[] = "FSRPAUEC";

        ds_put_format(s, "tcp%d ", v->v6 ? 6 : 4);
        tr_format_addr(s, &src);
        ds_put_format(s, ".%u > ", ntohs(tcp->tcp_src));
        tr_format_addr(s, &dst);
        ds_put_format(s, ".%u [", ntohs(tcp->tcp_dst));
        for (int i = 0; i < 8; i++) {
            if (flags & (1 << i)) {
                ds_put_char(s, names[i]);
            }
        }
        ds_put_format(s, "] seq %"PRIu32,
                      ntohl(get_16aligned_be32(&tcp->tcp_seq)));
        if (flags & TCP_ACK) {
            ds_put_format(s, " ack %"PRIu32,
                          ntohl(get_16aligned_be32(&tcp->tcp_ack)));
        }
        if (!quoted && v->l4_len >= TCP_HEADER_LEN) {
            size_t hlen = TCP_OFFSET(tcp->tcp_ctl) * 4;
            ds_put_format(s, " win %u len %"PRIuSIZE, ntohs(tcp->tcp_winsz),
                          v->l4_len > hlen ? v->l4_len - hlen : 0);
        }
    } else if (v->proto == IPPROTO_UDP && v->l4_len >= 4) {
        ds_put_format(s, "udp%d ", v->v6 ? 6 : 4);
        tr_format_addr(s, &src);
        ds_put_format(s, ".%u > ", (l4[0] << 8) | l4[1]);
        tr_format_addr(s, &dst);
        ds_put_format(s, ".%u", (l4[2] << 8) | l4[3]);
        if (!quoted) {
            ds_put_format(s, " len %"PRIuSIZE, v->l4_len - UDP_HEADER_LEN);
        }
    } else if ((v->proto == IPPROTO_ICMP || v->proto == IPPROTO_ICMPV6)
               && v->l4_len >= 4) {
        struct tr_view in;

        ds_put_format(s, "icmp%s ", v->v6 ? "6" : "");
        tr_format_addr(s, &src);
        ds_put_cstr(s, " > ");
        tr_format_addr(s, &dst);
        ds_put_format(s, " type %u code %u", l4[0], l4[1]);
        if (tr_is_echo(v)) {
            ds_put_format(s, " id %u seq %u", (l4[4] << 8) | l4[5],
                          (l4[6] << 8) | l4[7]);
        } else if (!quoted && tr_view_inner(v, &in)) {
            ds_put_cstr(s, " quoting (");
            tr_format_view(s, &in, true);
            ds_put_char(s, ')');
        }
    } else {
        ds_put_format(s, "proto %u ", v->proto);
        tr_format_addr(s, &src);
        ds_put_cstr(s, " > ");
        tr_format_addr(s, &dst);
    }
}

void
ct_trace_format_packet(struct ds *s, const struct dp_packet *pkt)
{
    struct tr_view v;

    if (tr_view_outer(pkt, &v)) {
        tr_format_view(s, &v, false);
    } else {
        ds_put_format(s, "non-IP frame of %"PRIu32" bytes",
                      dp_packet_size(pkt));
    }
}
