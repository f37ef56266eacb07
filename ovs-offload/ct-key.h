/*
 * From a packet to the conntrack tuple that identifies its connection.
 *
 * The packet's offsets come from OVS's flow_extract(); this module only reads
 * the L3 and L4 headers that those offsets point at, checks what conntrack
 * must check (checksums, fragments, header lengths) and, for ICMP errors,
 * the packet they quote.
 */
#ifndef OFFLOAD_CT_KEY_H
#define OFFLOAD_CT_KEY_H 1

#include <stdbool.h>
#include "ct-entry.h"

struct dp_packet;

enum ct_key_kind {
    CT_KEY_INVALID,             /* Conntrack can't track it: +inv. */
    CT_KEY_CONN,                /* Its own connection: 'key' names it. */
    CT_KEY_RELATED,             /* An ICMP error: 'key' names the quoted
                                 * connection as seen from the error's
                                 * direction. */
};

/* Extracts the key of 'pkt'.  Checksums are verified unless the packet's
 * offload flags already vouch for them. */
enum ct_key_kind ct_key_extract(const struct dp_packet *pkt,
                                struct ct_tuple *key);

/* Is 'pkt' IP at all?  ARP and other non-IP frames are not for conntrack. */
bool ct_key_is_ip(const struct dp_packet *pkt);

#endif /* ct-key.h */
