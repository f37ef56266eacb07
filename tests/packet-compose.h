/*
 * Test frames from flow syntax; see packet-compose.c.
 */
#ifndef TESTS_PACKET_COMPOSE_H
#define TESTS_PACKET_COMPOSE_H 1

struct dp_packet;

/* Returns a new frame for 'spec', "FLOW [seq=N] [ack=N] [win=N] [len=N]"
 * or, for an ICMP error, "ICMP_FLOW ; QUOTED_SPEC";
 * dies with a message naming the fault if 'spec' is bad. */
struct dp_packet *packet_compose(const char *spec);

#endif /* packet-compose.h */
