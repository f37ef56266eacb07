/*
 * One conntrack entry as it sits in a state-region slot (OOR_SLOT_CT), its
 * validator, and its dump-conntrack line.
 *
 * The layout is part of the state image (schemas/state-image.md): integers
 * little-endian, addresses struct in6_addr with IPv4 v4-mapped.  Times are the
 * writer's monotonic clock in milliseconds; the region header carries that
 * clock, so an importer turns deadlines into time remaining.
 */
#ifndef OFFLOAD_CT_ENTRY_H
#define OFFLOAD_CT_ENTRY_H 1

#include <netinet/in.h>
#include <stdint.h>
#include "ct-tcp.h"
#include "region-format.h"

struct ds;

/* A tuple.  For ICMP and ICMPv6, 'sport' is the echo id, and 'dport' is
 * (type << 8) | code. */
struct ct_tuple {
    struct in6_addr src;
    struct in6_addr dst;
    uint16_t sport;             /* Host byte order. */
    uint16_t dport;             /* Host byte order. */
    uint8_t proto;              /* IPPROTO_TCP, _UDP, _ICMP, _ICMPV6. */
    uint8_t family;             /* 4 or 6. */
    uint16_t pad;
};

/* ct_entry.status bits. */
enum {
    CT_ENTRY_SEEN_REPLY = 1 << 0,
    CT_ENTRY_SNAT = 1 << 1,
    CT_ENTRY_DNAT = 1 << 2,
};

/* ct_entry.proto_state for UDP and ICMP; TCP's lives in the peers. */
enum {
    CT_OTHER_FIRST = 0,         /* Seen in one direction only. */
    CT_OTHER_MULTIPLE = 1,      /* Seen both ways. */
};

struct ct_entry {
    struct ct_tuple orig;       /* As the first packet had it. */
    struct ct_tuple reply;      /* As replies have it: NAT shows here. */
    struct ct_tcp_peer peer[2]; /* TCP only; zero otherwise. */
    uint64_t expiration;        /* Writer's monotonic ms. */
    uint64_t packets[2];        /* [0] original direction, [1] reply. */
    uint64_t bytes[2];
    uint64_t label[2];          /* 128-bit label: [0] low, [1] high half. */
    uint32_t mark;
    uint8_t status;             /* CT_ENTRY_*. */
    uint8_t proto_state;        /* CT_OTHER_* for UDP and ICMP. */
    uint16_t pad;
};

_Static_assert(sizeof(struct ct_entry) == OOR_SLOT_CT_LEN,
               "a conntrack entry is what the region format says it is");

/* The region validator for every slot type this provider stores. */
char *ct_entry_check_slot(uint16_t type, const void *payload, size_t len);
char *ct_entry_check(const struct ct_entry *);

/* Appends the dump-conntrack line for 'e' in 'zone', without a newline.
 * Deadlines are shown as seconds left from 'now'. */
void ct_entry_format(struct ds *, const struct ct_entry *, uint16_t zone,
                     long long now, bool stats);

/* Tuple helpers. */
void ct_tuple_reverse(struct ct_tuple *dst, const struct ct_tuple *src);
uint32_t ct_tuple_hash(const struct ct_tuple *, uint32_t basis);
bool ct_tuple_equal(const struct ct_tuple *, const struct ct_tuple *);

#endif /* ct-entry.h */
