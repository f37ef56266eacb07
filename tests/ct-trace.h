/*
 * Deterministic packet traces for conntrack tests.
 *
 * A trace is a named list of Ethernet frames, each with the direction it
 * travels in, the connection the generator built it for and the time it is
 * seen.  The same name and seed always give the same frames, byte for byte,
 * so that two conntrack implementations can be fed identical input and a
 * failing packet can be found again by its number.
 *
 * Every frame carries correct IPv4, TCP, UDP, ICMP and ICMPv6 checksums (a
 * conntrack that validates them must accept every frame) and has been through
 * flow_extract(), so its L3 and L4 offsets are set.  Frames shorter than the
 * Ethernet minimum are padded to it, as they are on a wire.
 *
 * Traces of NAT cases carry the NAT range to commit with.  Their reply-
 * direction packets are written as the untranslated mirror of the original
 * direction; ct_trace_nat_reply() turns one into what a host behind the NAT
 * actually sends, given how the conntrack under test translated the
 * connection's first packet.
 */
#ifndef OFFLOAD_CT_TRACE_H
#define OFFLOAD_CT_TRACE_H 1

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "ct-engine.h"
#include "openvswitch/compiler.h"

struct dp_packet;

#define CT_TRACE_NO_CONN UINT32_MAX

struct ct_trace_pkt {
    struct dp_packet *pkt;      /* flow_extract()ed; metadata zeroed. */
    long long time;             /* Milliseconds since the trace started. */
    uint32_t conn;              /* Generator's connection number, or
                                 * CT_TRACE_NO_CONN for a packet that belongs
                                 * to none (a scan probe, an injection). */
    bool reply;                 /* Sent by the connection's responder. */
    bool icmp_error;            /* An ICMP error quoting 'conn'. */
};

struct ct_trace {
    char *name;
    const char *descr;
    bool has_nat;
    struct ct_nat nat;          /* If 'has_nat': commit with this range. */
    struct ct_trace_pkt *pkts;
    size_t n_pkts;
    size_t allocated;
    uint32_t n_conns;           /* Connection numbers are below this. */
};

/* The kinds of trace, by name, for listing and for "all". */
size_t ct_trace_n_kinds(void);
const char *ct_trace_kind_name(size_t idx);
const char *ct_trace_kind_descr(size_t idx);

/* Builds the trace called 'name' from 'seed'; NULL if there is no such
 * kind.  The same arguments give the same trace. */
struct ct_trace *ct_trace_create(const char *name, uint64_t seed);
void ct_trace_destroy(struct ct_trace *);

/* Writes all the frames of 'trace' to a new pcap file 'file' (Ethernet link
 * type; ovs_pcap_write() stamps them with the time of writing).  Returns NULL
 * or a malloc'd error. */
char *ct_trace_write_pcap(const struct ct_trace *, const char *file)
    OVS_WARN_UNUSED_RESULT;

/* The addresses and ports of a TCP, UDP, ICMP or ICMPv6 packet: for an ICMP
 * echo, 'sport' and 'dport' are both the echo id.  IPv4 is v4-mapped. */
struct ct_trace_tuple {
    struct in6_addr src;
    struct in6_addr dst;
    uint16_t sport;             /* Host byte order. */
    uint16_t dport;
    uint8_t proto;
};

/* Reads the tuple of 'pkt' ('inner' false), or of the packet an ICMP error
 * quotes ('inner' true).  Returns false if there is none. */
bool ct_trace_get_tuple(const struct dp_packet *, bool inner,
                        struct ct_trace_tuple *);

/* Rewrites the tuple of 'pkt' or of the packet it quotes, recomputes every
 * checksum and re-extracts the offsets. */
void ct_trace_set_tuple(struct dp_packet *, bool inner,
                        const struct ct_trace_tuple *);

/* Recomputes every checksum of 'pkt' after its headers were edited. */
void ct_trace_fix_checksums(struct dp_packet *);

/* Turns 'pkt', a reply-direction packet of a NAT trace written untranslated,
 * into what the responder sends when the connection's first packet left the
 * conntrack as 'xlat' (its tuple after translation). */
void ct_trace_nat_reply(struct dp_packet *, bool icmp_error,
                        const struct ct_trace_tuple *xlat);

/* One of the packets test-conntrack's benchmark sends: UDP 10.1.1.1:1+'tid'
 * -> 10.1.1.2:2+'idx' (only with 'change'), checksum 0. */
struct dp_packet *ct_trace_bench_packet(unsigned tid, unsigned idx,
                                        bool change);

/* A UDP packet of connection 'n' out of 2^32, for filling tables. */
struct dp_packet *ct_trace_fill_packet(uint32_t n);

/* Formats "tcp 10.0.0.1:1000 > 10.0.0.2:80 [S.] seq 1 ack 2 win 3 len 4"
 * style one-line summaries for diagnostics. */
struct ds;
void ct_trace_format_packet(struct ds *, const struct dp_packet *);

#endif /* ct-trace.h */
