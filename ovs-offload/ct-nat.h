/*
 * NAT for the conntrack engine: choosing a translation that collides with no
 * other connection, and rewriting packets to it.
 *
 * A connection's translation lives only in its tuples: the reply tuple of a
 * NATed connection is not the reverse of the original one.  A packet in
 * either direction is rewritten to the reverse of the other direction's
 * tuple, which covers SNAT, DNAT and both at once with one rule.
 */
#ifndef OFFLOAD_CT_NAT_H
#define OFFLOAD_CT_NAT_H 1

#include <stdbool.h>
#include "ct-engine.h"
#include "ct-entry.h"

struct dp_packet;

/* Tells whether 'tuple' is already some connection's orig or reply tuple. */
typedef bool ct_nat_taken_func(const struct ct_tuple *tuple, void *aux);

/* Sets '*reply' to the reply tuple of a new connection 'orig' translated by
 * 'nat', choosing among the range's addresses and ports one for which
 * 'taken' is false.  Returns false if the range is exhausted. */
bool ct_nat_choose(const struct ct_nat *, const struct ct_tuple *orig,
                   struct ct_tuple *reply, ct_nat_taken_func *taken,
                   void *aux);

/* Rewrites the addresses and ports of 'pkt', whose key is 'key', to those of
 * 'target'. */
void ct_nat_rewrite(struct dp_packet *pkt, const struct ct_tuple *key,
                    const struct ct_tuple *target);

/* Rewrites the ICMP error 'pkt' whose quoted packet has key 'quoted' (as it
 * appears in the error) so that the quote reads 'target' and the outer
 * addresses follow it. */
void ct_nat_rewrite_related(struct dp_packet *pkt,
                            const struct ct_tuple *quoted,
                            const struct ct_tuple *target);

#endif /* ct-nat.h */
