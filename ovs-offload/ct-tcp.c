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

/* pf's TCP window tracking (Guido van Rooij's "Real Stateful TCP Packet
 * Filtering in IP Filter"), with the acceptance rules of OVS's userspace
 * conntrack, which is itself pf's.  The arithmetic follows OVS's types
 * exactly where they matter to a verdict: 'max_win' never exceeds 16 bits,
 * and sequence comparisons are modulo 2**32. */

#include <config.h>
#include "ct-tcp.h"

#include <string.h>
#include "ct-dpif.h"
#include "dp-packet.h"
#include "packets.h"
#include "util.h"

BUILD_ASSERT_DECL(sizeof(struct ct_tcp_peer) == 16);

/* How far an ACK may run ahead of what the other side sent, and the base of
 * how far behind it may lag: one maximal unscaled window plus a fragment's
 * worth of fudge, as pf has it. */
#define CT_TCP_ACK_SLACK (0xffff + 1500)

enum {
    CT_TCP_OPT_EOL = 0,
    CT_TCP_OPT_NOP = 1,
    CT_TCP_OPT_WSCALE = 3,
};

/* One segment as the tracker sees it.  'seq' and 'end' bound the sequence
 * space it occupies; 'ack' and 'win' may be adjusted before use, and the
 * shifts are settled per segment. */
struct tcp_seg {
    uint16_t flags;             /* TCP_SYN, TCP_ACK, ... */
    uint32_t seq_sent;          /* The sequence number as sent. */
    uint32_t seq;
    uint32_t end;               /* seq + payload + SYN + FIN. */
    uint32_t ack;
    uint32_t win;               /* Advertised window, unscaled, 16 bits. */
    uint8_t sws;                /* Sender's window scale shift. */
    uint8_t dws;                /* Receiver's. */
};

/* Sequence number comparisons, modulo 2**32. */
static inline bool
seq_gt(uint32_t a, uint32_t b)
{
    return (int32_t) (a - b) > 0;
}

static inline bool
seq_geq(uint32_t a, uint32_t b)
{
    return (int32_t) (a - b) >= 0;
}

/* Flag combinations no stack sends.  pf checks these only when scrubbing,
 * OVS always, and so do we: a packet like this is never valid. */
static bool
tcp_flags_invalid(uint16_t flags)
{
    if (flags & TCP_SYN) {
        if (flags & (TCP_RST | TCP_FIN)) {
            return true;
        }
    } else if (!(flags & (TCP_ACK | TCP_RST))) {
        return true;
    }
    return !(flags & TCP_ACK) && flags & (TCP_FIN | TCP_PSH | TCP_URG);
}

/* Returns the window scale option of the segment in 'pkt' as a
 * ct_tcp_peer.wscale value: 0 if there is none.  The walk is pf's, so that
 * odd option lists read the same as in OVS: it stops at EOL, steps over
 * NOPs, looks only at options with 3 bytes left for them, takes the last
 * window scale option whatever its length byte says, and steps over
 * anything else by its length byte (at least 2).  Unlike OVS it never reads
 * beyond the packet, even if the data offset claims more. */
static uint8_t
tcp_opt_wscale(const struct dp_packet *pkt)
{
    const struct tcp_header *tcp = dp_packet_l4(pkt);
    const uint8_t *opt = (const uint8_t *) (tcp + 1);
    int hdr_len = MIN(TCP_OFFSET(tcp->tcp_ctl) * 4,
                      (int) dp_packet_l4_size(pkt));
    int len = hdr_len - TCP_HEADER_LEN;
    uint8_t wscale = 0;
    int i = 0;

    while (len - i >= 3) {
        uint8_t kind = opt[i];

        if (kind == CT_TCP_OPT_EOL) {
            break;
        } else if (kind == CT_TCP_OPT_NOP) {
            i++;
            continue;
        } else if (kind == CT_TCP_OPT_WSCALE) {
            wscale = CT_TCP_WSCALE_FLAG | MIN(opt[i + 2], CT_TCP_MAX_WSCALE);
        }
        i += MAX(opt[i + 1], 2);
    }
    return wscale;
}

/* OVS's conntrack refuses a segment whose header does not fit in the packet
 * before it looks at the connection; so do we, in case the caller has not. */
static bool
tcp_header_fits(const struct dp_packet *pkt)
{
    size_t l4_size = dp_packet_l4_size(pkt);
    if (l4_size < TCP_HEADER_LEN) {
        return false;
    }

    const struct tcp_header *tcp = dp_packet_l4(pkt);
    size_t hdr_len = TCP_OFFSET(tcp->tcp_ctl) * 4;
    return hdr_len >= TCP_HEADER_LEN && hdr_len <= l4_size;
}

static void
tcp_seg_parse(const struct dp_packet *pkt, struct tcp_seg *seg)
{
    const struct tcp_header *tcp = dp_packet_l4(pkt);

    seg->flags = TCP_FLAGS(tcp->tcp_ctl);
    seg->seq_sent = seg->seq = ntohl(get_16aligned_be32(&tcp->tcp_seq));
    seg->ack = ntohl(get_16aligned_be32(&tcp->tcp_ack));
    seg->win = ntohs(tcp->tcp_winsz);
    /* SYN and FIN each take a sequence number of their own. */
    seg->end = (seg->seq + dp_packet_get_tcp_payload_length(pkt)
                + !!(seg->flags & TCP_SYN) + !!(seg->flags & TCP_FIN));
    seg->sws = seg->dws = 0;
}

bool
ct_tcp_valid_new(const struct tcp_header *tcp, bool pickup)
{
    uint16_t flags = TCP_FLAGS(tcp->tcp_ctl);

    if (tcp_flags_invalid(flags)) {
        return false;
    }
    if (!pickup) {
        return (flags & (TCP_SYN | TCP_ACK)) == TCP_SYN;
    }
    /* A SYN+ACK would be a connection half open already, whose start we
     * missed; anything else is either a fresh SYN or mid-stream. */
    return (flags & (TCP_SYN | TCP_ACK)) != (TCP_SYN | TCP_ACK);
}

void
ct_tcp_init(struct ct_tcp_peer peer[2], const struct dp_packet *pkt)
{
    struct ct_tcp_peer *src = &peer[0];
    struct ct_tcp_peer *dst = &peer[1];
    struct tcp_seg seg;

    tcp_seg_parse(pkt, &seg);
    memset(peer, 0, 2 * sizeof *peer);

    /* pf leaves room for one more sequence number past the segment. */
    src->seqlo = seg.seq;
    src->seqhi = seg.end + 1;

    if (seg.flags & TCP_SYN) {
        src->wscale = tcp_opt_wscale(pkt);
    } else {
        /* Picked up mid-stream: the scales were in SYNs we never saw. */
        src->wscale = dst->wscale = CT_TCP_WSCALE_UNKNOWN;
    }
    /* The window in a SYN is in bytes, never scaled, but 'max_win' is kept
     * in the sender's scaled units, so that shifting it gives bytes. */
    src->max_win = DIV_ROUND_UP(MAX(seg.win, 1),
                                1u << (src->wscale & CT_TCP_WSCALE_MASK));
    src->state = CT_DPIF_TCPS_SYN_SENT;

    /* seqhi == 1 marks "the reply side's window is not known yet". */
    dst->seqhi = 1;
    dst->max_win = 1;
    dst->state = CT_DPIF_TCPS_CLOSED;
}

static bool
tcp_peer_closed(const struct ct_tcp_peer *peer)
{
    return peer->state >= CT_DPIF_TCPS_FIN_WAIT_2;
}

/* Window scaling is in force only once both SYNs carried the option, and
 * never for a SYN itself.  When we picked the connection up mid-stream, the
 * scales are unknown, so assume the largest: that loosens the checks rather
 * than refusing a connection we cannot judge. */
static void
tcp_seg_set_shifts(struct tcp_seg *seg, const struct ct_tcp_peer *src,
                   const struct ct_tcp_peer *dst)
{
    if (seg->flags & TCP_SYN) {
        return;
    }
    if (src->wscale & dst->wscale & CT_TCP_WSCALE_FLAG) {
        seg->sws = src->wscale & CT_TCP_WSCALE_MASK;
        seg->dws = dst->wscale & CT_TCP_WSCALE_MASK;
    } else if (src->wscale & dst->wscale & CT_TCP_WSCALE_UNKNOWN) {
        seg->sws = seg->dws = CT_TCP_MAX_WSCALE;
    }
}

/* 'src' answers 'dst's SYN, which offered window scaling, with a SYN of its
 * own ('seg').  Scaling is on if 'src' offers it too, and then the SYN's
 * window is stored unscaled like every later one.  If 'src' does not,
 * scaling is off for both, so 'dst's window, stored unscaled, becomes the
 * real one; like pf and OVS we keep it to 16 bits. */
static void
tcp_negotiate_wscale(struct ct_tcp_peer *src, struct ct_tcp_peer *dst,
                     const struct dp_packet *pkt, struct tcp_seg *seg)
{
    src->wscale = tcp_opt_wscale(pkt);
    if (src->wscale & CT_TCP_WSCALE_FLAG) {
        seg->sws = src->wscale & CT_TCP_WSCALE_MASK;
        seg->dws = dst->wscale & CT_TCP_WSCALE_MASK;
        seg->win = DIV_ROUND_UP(seg->win, 1u << seg->sws);
    } else {
        dst->max_win = (uint16_t) (dst->max_win
                                   << (dst->wscale & CT_TCP_WSCALE_MASK));
        dst->wscale = 0;
    }
}

/* The first segment from 'src': the reply side's first, usually its
 * SYN+ACK, since the originating side starts in ct_tcp_init().  We trust it
 * for where 'src' starts.  Returns true if that slid 'src's window forward:
 * then we may have joined a stream in progress (or 'src' never had a
 * window), so its ACK is not held against what we saw 'dst' send. */
static bool
tcp_peer_start(struct ct_tcp_peer *src, struct ct_tcp_peer *dst,
               const struct dp_packet *pkt, struct tcp_seg *seg)
{
    if (seg->flags & TCP_SYN && dst->wscale & CT_TCP_WSCALE_FLAG) {
        tcp_negotiate_wscale(src, dst, pkt, seg);
    }

    src->seqlo = seg->seq;
    src->state = CT_DPIF_TCPS_SYN_SENT;

    uint32_t seqhi = seg->end + MAX(1, dst->max_win << seg->dws);
    bool slide = src->seqhi == 1 || seq_geq(seqhi, src->seqhi);
    if (slide) {
        src->seqhi = seqhi;
    }
    if (seg->win > src->max_win) {
        src->max_win = seg->win;
    }
    return slide;
}

/* Is 'seg' inside the window?  'ackskew' is how far its ACK lags behind
 * what 'dst' has sent. */
static bool
tcp_in_window(const struct ct_tcp_peer *src, const struct ct_tcp_peer *dst,
              const struct tcp_seg *seg, int32_t ackskew)
{
    /* A reset must hit the sender's edge, give or take one, so that a blind
     * attacker cannot reset the connection with any in-window guess. */
    bool rst_ok = (!(seg->flags & TCP_RST)
                   || seg->seq_sent == src->seqlo
                   || seg->seq_sent == src->seqlo + 1
                   || seg->seq_sent + 1 == src->seqlo);

    /* Its last byte must fit in what 'dst' offered; it may start up to a
     * window back (a retransmission); its ACK may lag by up to a scaled
     * window and run ahead by no more than the slack. */
    return (seq_geq(src->seqhi, seg->end)
            && seq_geq(seg->seq, src->seqlo - (dst->max_win << seg->dws))
            && ackskew >= -CT_TCP_ACK_SLACK
            && ackskew <= (CT_TCP_ACK_SLACK << seg->sws)
            && rst_ok);
}

/* pf's second chance for a segment outside the window, while 'dst' has not
 * spoken yet (SYNs sent in a burst, or a connection picked up after it was
 * established) or after a side has closed (stray FIN+ACKs and resets): it
 * passes if it is within the slack of the window's edges.  Such a segment
 * advances the window but not the state, except for FIN and RST. */
static bool
tcp_near_window(const struct ct_tcp_peer *src, const struct ct_tcp_peer *dst,
                const struct tcp_seg *seg)
{
    bool lenient = (dst->state < CT_DPIF_TCPS_SYN_SENT
                    || tcp_peer_closed(dst) || tcp_peer_closed(src));

    return (lenient
            && seq_geq(src->seqhi + CT_TCP_ACK_SLACK, seg->end)
            && seq_geq(seg->seq, src->seqlo - CT_TCP_ACK_SLACK));
}

/* Records an accepted segment: the largest window 'src' offered, how far it
 * has sent, and how far 'dst' may now send. */
static void
tcp_advance(struct ct_tcp_peer *src, struct ct_tcp_peer *dst,
            const struct tcp_seg *seg)
{
    uint32_t win = seg->win << seg->sws;

    if (src->max_win < seg->win) {
        src->max_win = seg->win;
    }
    if (seq_gt(seg->end, src->seqlo)) {
        src->seqlo = seg->end;
    }
    if (seq_geq(seg->ack + win, dst->seqhi)) {
        dst->seqhi = seg->ack + MAX(win, 1);
    }
}

/* An ACK moves 'dst' on: its SYN or its FIN has been answered.  pf does not
 * check that the ACK covers the SYN or FIN, and neither do we. */
static void
tcp_track_ack(struct ct_tcp_peer *dst, uint16_t flags)
{
    if (!(flags & TCP_ACK)) {
        return;
    }
    if (dst->state == CT_DPIF_TCPS_SYN_SENT) {
        dst->state = CT_DPIF_TCPS_ESTABLISHED;
    } else if (dst->state == CT_DPIF_TCPS_CLOSING) {
        dst->state = CT_DPIF_TCPS_FIN_WAIT_2;
    }
}

static void
tcp_track_close(struct ct_tcp_peer *src, struct ct_tcp_peer *dst,
                uint16_t flags)
{
    if (flags & TCP_FIN && src->state < CT_DPIF_TCPS_CLOSING) {
        src->state = CT_DPIF_TCPS_CLOSING;
    }
    if (flags & TCP_RST) {
        src->state = dst->state = CT_DPIF_TCPS_TIME_WAIT;
    }
}

enum ct_tcp_result
ct_tcp_update(struct ct_tcp_peer peer[2], const struct dp_packet *pkt,
              bool reply)
{
    struct ct_tcp_peer *src = &peer[reply];     /* Sent 'pkt'. */
    struct ct_tcp_peer *dst = &peer[!reply];    /* Receives it. */
    struct tcp_seg seg;

    if (!tcp_header_fits(pkt)) {
        return CT_TCP_INVALID;
    }
    tcp_seg_parse(pkt, &seg);
    if (tcp_flags_invalid(seg.flags)) {
        return CT_TCP_INVALID;
    }

    if ((seg.flags & (TCP_SYN | TCP_ACK)) == TCP_SYN) {
        if (tcp_peer_closed(src) && tcp_peer_closed(dst)) {
            /* Port reuse: a new connection on the old one's tuple. */
            return CT_TCP_RESTART;
        } else if (src->state <= CT_DPIF_TCPS_SYN_SENT) {
            /* Still opening, from this side: no window to judge it by. */
            src->state = CT_DPIF_TCPS_SYN_SENT;
            return CT_TCP_VALID_NEW;
        }
    }

    tcp_seg_set_shifts(&seg, src, dst);
    bool check_ackskew = (src->state >= CT_DPIF_TCPS_SYN_SENT
                          || !tcp_peer_start(src, dst, pkt, &seg));

    /* A segment without an ACK, or a RST+ACK whose ACK a broken stack left
     * zero, passes the ACK check as if it acknowledged all of 'dst'. */
    if (!(seg.flags & TCP_ACK)
        || (!seg.ack && seg.flags & TCP_RST)) {
        seg.ack = dst->seqlo;
    }
    /* A segment that takes no sequence space is judged at the edge. */
    if (seg.seq == seg.end) {
        seg.seq = seg.end = src->seqlo;
    }
    int32_t ackskew = check_ackskew ? (int32_t) (dst->seqlo - seg.ack) : 0;

    if (tcp_in_window(src, dst, &seg, ackskew)) {
        tcp_advance(src, dst, &seg);
        tcp_track_ack(dst, seg.flags);
        tcp_track_close(src, dst, seg.flags);
        return CT_TCP_VALID;
    } else if (tcp_near_window(src, dst, &seg)) {
        tcp_advance(src, dst, &seg);
        tcp_track_close(src, dst, seg.flags);
        return CT_TCP_VALID;
    }
    return CT_TCP_INVALID;
}

/* Linux's states, from pf's per-side ones: a side has sent (SYN_SENT), been
 * answered (ESTABLISHED), sent FIN (CLOSING), had its FIN acked
 * (FIN_WAIT_2), or reset (TIME_WAIT).  A connection picked up mid-stream
 * with one segment is SYN_SENT, not ESTABLISHED as in Linux, so that a
 * stray segment does not hold an entry for days; the reply makes it
 * SYN_RECV and the next segment ESTABLISHED. */
enum ct_tcp_conn_state
ct_tcp_conn_state(const struct ct_tcp_peer peer[2])
{
    uint8_t lo = MIN(peer[0].state, peer[1].state);
    uint8_t hi = MAX(peer[0].state, peer[1].state);

    if (hi >= CT_DPIF_TCPS_TIME_WAIT) {
        return CT_TCP_CLOSE;            /* Reset. */
    } else if (lo >= CT_DPIF_TCPS_FIN_WAIT_2) {
        return CT_TCP_TIME_WAIT;        /* Both FINs acknowledged. */
    } else if (lo >= CT_DPIF_TCPS_CLOSING) {
        return CT_TCP_LAST_ACK;         /* Both FINs sent, one unacked. */
    } else if (hi >= CT_DPIF_TCPS_FIN_WAIT_2) {
        return CT_TCP_CLOSE_WAIT;       /* One FIN, acknowledged. */
    } else if (hi >= CT_DPIF_TCPS_CLOSING) {
        return CT_TCP_FIN_WAIT;         /* One FIN, not yet acknowledged. */
    } else if (lo >= CT_DPIF_TCPS_ESTABLISHED) {
        return CT_TCP_ESTABLISHED;
    } else if (hi >= CT_DPIF_TCPS_ESTABLISHED) {
        return CT_TCP_SYN_RECV;         /* One SYN answered. */
    } else if (lo == CT_DPIF_TCPS_SYN_SENT) {
        return CT_TCP_SYN_SENT2;        /* Both sent, neither answered. */
    } else {
        return CT_TCP_SYN_SENT;
    }
}

static const struct {
    const char *name;
    long long timeout_s;
} conn_states[CT_TCP_N_CONN_STATES] = {
    [CT_TCP_SYN_SENT]    = { "SYN_SENT",    120 },
    [CT_TCP_SYN_SENT2]   = { "SYN_SENT2",   120 },
    [CT_TCP_SYN_RECV]    = { "SYN_RECV",    60 },
    [CT_TCP_ESTABLISHED] = { "ESTABLISHED", 5 * 24 * 3600 },
    [CT_TCP_FIN_WAIT]    = { "FIN_WAIT",    120 },
    [CT_TCP_CLOSE_WAIT]  = { "CLOSE_WAIT",  60 },
    [CT_TCP_LAST_ACK]    = { "LAST_ACK",    30 },
    [CT_TCP_TIME_WAIT]   = { "TIME_WAIT",   120 },
    [CT_TCP_CLOSE]       = { "CLOSE",       10 },
};

const char *
ct_tcp_conn_state_name(enum ct_tcp_conn_state state)
{
    return (unsigned int) state < CT_TCP_N_CONN_STATES
           ? conn_states[state].name : "UNKNOWN";
}

/* An unknown state gets CLOSE's timeout, the shortest: whatever it is, it
 * should not linger. */
long long
ct_tcp_timeout_ms(enum ct_tcp_conn_state state)
{
    if ((unsigned int) state >= CT_TCP_N_CONN_STATES) {
        state = CT_TCP_CLOSE;
    }
    return conn_states[state].timeout_s * 1000;
}

static char *
tcp_peer_check(const struct ct_tcp_peer *peer, const char *side)
{
    uint8_t shift = peer->wscale & CT_TCP_WSCALE_MASK;

    if (peer->state >= CT_DPIF_TCPS_MAX_NUM) {
        return xasprintf("TCP %s peer: state %"PRIu8" out of range",
                         side, peer->state);
    } else if (peer->wscale & ~(CT_TCP_WSCALE_FLAG | CT_TCP_WSCALE_UNKNOWN
                                | CT_TCP_WSCALE_MASK)) {
        return xasprintf("TCP %s peer: window scale 0x%02"PRIx8" has "
                         "unknown bits", side, peer->wscale);
    } else if (peer->wscale & CT_TCP_WSCALE_FLAG
               && peer->wscale & CT_TCP_WSCALE_UNKNOWN) {
        return xasprintf("TCP %s peer: window scale 0x%02"PRIx8" is both "
                         "known and unknown", side, peer->wscale);
    } else if (shift > CT_TCP_MAX_WSCALE) {
        return xasprintf("TCP %s peer: window scale %"PRIu8" exceeds %d",
                         side, shift, CT_TCP_MAX_WSCALE);
    } else if (shift && !(peer->wscale & CT_TCP_WSCALE_FLAG)) {
        return xasprintf("TCP %s peer: window scale %"PRIu8" without the "
                         "option flag", side, shift);
    } else if (peer->max_win > UINT16_MAX) {
        return xasprintf("TCP %s peer: max_win %"PRIu32" exceeds 65535",
                         side, peer->max_win);
    } else if (peer->pad) {
        return xasprintf("TCP %s peer: nonzero padding 0x%04"PRIx16,
                         side, peer->pad);
    }
    return NULL;
}

/* Besides each peer's fields, checks what the tracker always keeps true:
 * the originating side has sent, "unknown scale" is set on both sides or
 * neither, and the reply side scales only if the originating side does. */
char *
ct_tcp_check(const struct ct_tcp_peer peer[2])
{
    char *error = tcp_peer_check(&peer[0], "original");
    if (!error) {
        error = tcp_peer_check(&peer[1], "reply");
    }
    if (error) {
        return error;
    }

    if (peer[0].state < CT_DPIF_TCPS_SYN_SENT) {
        return xasprintf("TCP original peer: state %s, but the connection "
                         "started with a segment from it",
                         ct_dpif_tcp_state_string[peer[0].state]);
    } else if ((peer[0].wscale ^ peer[1].wscale) & CT_TCP_WSCALE_UNKNOWN) {
        return xstrdup("TCP peers: window scale unknown on one side only");
    } else if (peer[1].wscale & CT_TCP_WSCALE_FLAG
               && !(peer[0].wscale & CT_TCP_WSCALE_FLAG)) {
        return xstrdup("TCP peers: reply window scale without an original "
                       "one");
    }
    return NULL;
}
