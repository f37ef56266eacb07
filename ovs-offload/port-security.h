/*
 * Port security: what a VM may send from its port.  It follows OVN's
 * port_security ("MAC IP...") for a logical switch port's ingress, with the
 * differences marked (*):
 *
 *   1. Every frame's Ethernet source must be the VIF's MAC.
 *
 *   If the VIF lists no addresses (no ip=), that, 3's sha rule and 5's
 *   option rule are all that is checked.  If it lists any:
 *
 *   2. IP sources.  An address family the VIF has no address of is not
 *      allowed at all.  Otherwise the source must be one of its addresses,
 *      except:
 *        - IPv4 0.0.0.0 to 255.255.255.255, UDP 68 to 67: DHCP discover and
 *          request before the VM has an address;
 *        - IPv6 :: to ff02::/16 as ICMPv6 MLD report (131, 143) or
 *          neighbour solicitation (135): duplicate address detection;
 *        - the IPv6 link-local address the VIF's MAC gives (EUI-64,
 *          fe80::/64), which every VM uses for neighbour discovery.  Other
 *          link-local addresses (RFC 7217 "stable privacy" ones) must be
 *          listed in ip=, as in OVN; all of fe80::/64 would let a VM speak
 *          for its neighbours' link-local addresses.
 *
 *   3. ARP (and RARP) must have sha = the VIF's MAC.  With addresses
 *      listed, an ARP's spa must be one of its IPv4 addresses; if it has
 *      none, all ARP is refused, as in OVN.  (*) spa 0.0.0.0, an RFC 5227
 *      probe, which claims nothing, is allowed too.  RARP (QEMU's
 *      announcement after migration) is held to sha alone.
 *
 *   4. (Rule 2 covers the IP source of neighbour discovery.)  A neighbour
 *      advertisement's target must be one of the VIF's IPv6 addresses or
 *      its link-local one.  A solicitation's target is what it asks about
 *      and is free.
 *
 *   5. (*) Every source or target link-layer address option of a neighbour
 *      solicitation or advertisement must be the VIF's MAC.  OVN checks the
 *      one option flow_extract() reports; a frame with two options hides
 *      them from flow_extract(), and a receiver believes the first, so the
 *      frame's options are read here.  An option that overruns the frame
 *      makes it forged.
 *
 * Router advertisements and other ICMPv6 are held to rule 2 only, as in
 * OVN.
 *
 * "Its addresses" are the VM's own (ip=).  The VIF's floating addresses
 * (fip=) are not the VM's: the provider translates to and from them, and a
 * frame from the VM with one as its IP source, ARP sender or advertised
 * target is spoofed or forged like any other address's.  (OVN's
 * dnat_and_snat addresses are not in a port's port_security either.)
 */
#ifndef OFFLOAD_PORT_SECURITY_H
#define OFFLOAD_PORT_SECURITY_H 1

struct dp_packet;
struct flow;
struct oor_vif_def;

enum port_sec_verdict {
    PORT_SEC_OK,
    PORT_SEC_SPOOFED_MAC,       /* "spoofed source MAC" */
    PORT_SEC_SPOOFED_IP,        /* "spoofed source IP" */
    PORT_SEC_FORGED_ARP,        /* "forged ARP" */
    PORT_SEC_FORGED_ND,         /* "forged ND" */
    PORT_SEC_N_VERDICTS
};

/* The reason as offload/show counts it, e.g. "spoofed source MAC"; "ok"
 * for PORT_SEC_OK. */
const char *port_sec_verdict_to_string(enum port_sec_verdict);

/* Checks 'pkt', a frame from the VM of 'def', whose fields flow_extract()
 * put in 'flow' (so its L3 and L4 offsets are set). */
enum port_sec_verdict port_security_check(const struct oor_vif_def *,
                                          const struct flow *,
                                          const struct dp_packet *pkt);

#endif /* port-security.h */
