/*
 * The state-region layout, version 1.  schemas/state-image.md documents it and
 * refers to this file; code and documentation share these definitions.
 *
 * A region holds all the offloaded state of one VIF.  It is one shared-memory
 * file, mapped contiguously, and it is laid out for one-sided remote reads:
 *
 *     page 0                  header (struct oor_header), zero-padded, and
 *                             at OOR_SUMMARY_OFFSET the generation summary
 *     pages 1 .. G            page-generation array: uint64_t gen[1 + S]
 *                             gen[0] is the header's, gen[1 + k] is slot page k
 *     pages G+1 .. G+S        slot pages, OOR_SLOTS_PER_PAGE slots each
 *
 * G = n_gen_pages, S = n_slot_pages.  All integers are little-endian, the byte
 * order of every host this runs on (configure refuses big-endian hosts).
 * Addresses are struct in6_addr, IPv4 as v4-mapped (::ffff:a.b.c.d).
 *
 * Slot k of the region is at byte slot_offset + k * OOR_SLOT_SIZE, so slot
 * numbers stay the same when the region grows and the slot pages move.
 *
 * Writers: every change to a slot stores a new version and crc32c in it and
 * raises the generation of its page to the region's new generation, and the
 * summary entry over that generation (below).  A reader that saw generation G
 * re-reads only pages whose generation is above G, and only the parts of the
 * generation array whose summary entry is above G.
 *
 * The generation summary: uint64_t summary[OOR_SUMMARY_MAX] in the header
 * page.  Entry i is the highest generation among gen[i * span *
 * OOR_GENS_PER_PAGE] up to the next entry's, where span =
 * oor_summary_span(G) generation pages; entries past the last are zero.  So a
 * pass after a few writes reads a few generation pages, not all of them (at
 * 1M connections the array is 500 KB).
 *
 * An exported image is the region itself, all n_pages pages, followed by a
 * struct oor_trailer whose crc covers everything before it.
 */
#ifndef OFFLOAD_REGION_FORMAT_H
#define OFFLOAD_REGION_FORMAT_H 1

#include <netinet/in.h>
#include <stdint.h>

#define OOR_MAGIC        UINT64_C(0x3147455246464f4f)  /* "OOFFREG1" */
#define OOR_TRAILER_MAGIC UINT64_C(0x444e454646464f4f) /* "OOFFFEND" */
#define OOR_VERSION      1
#define OOR_PAGE_SIZE    4096
#define OOR_SLOT_SIZE    256
#define OOR_SLOTS_PER_PAGE (OOR_PAGE_SIZE / OOR_SLOT_SIZE)
#define OOR_GENS_PER_PAGE (OOR_PAGE_SIZE / 8)

/* Bounds every reader enforces before it trusts a header. */
#define OOR_MAX_SLOT_PAGES (UINT32_C(1) << 22)   /* 64M slots, 16 GiB */
#define OOR_MAX_GEN_PAGES                        /* Enough for 1 + that. */ \
    ((1 + OOR_MAX_SLOT_PAGES + OOR_GENS_PER_PAGE - 1) / OOR_GENS_PER_PAGE)
#define OOR_IFACE_ID_LEN 64
#define OOR_MAX_IPS      8
#define OOR_SUMMARY_OFFSET 2048                 /* In the header page. */
#define OOR_SUMMARY_MAX  256

/* How many generation pages one summary entry covers, and how many entries
 * a region of 'n_gen_pages' uses. */
static inline uint32_t
oor_summary_span(uint32_t n_gen_pages)
{
    return (n_gen_pages + OOR_SUMMARY_MAX - 1) / OOR_SUMMARY_MAX;
}

static inline uint32_t
oor_summary_entries(uint32_t n_gen_pages)
{
    uint32_t span = oor_summary_span(n_gen_pages);
    return span ? (n_gen_pages + span - 1) / span : 0;
}
#define OOR_MAX_ALLOW    16

/* VIF firewall policies (oor_vif_def.policy). */
enum oor_policy {
    OOR_POLICY_STATEFUL = 0,    /* Strict TCP, inbound only what 'allow' opens. */
    OOR_POLICY_LOOSE = 1,       /* Same, but TCP is picked up mid-stream. */
    OOR_POLICY_OPEN = 2,        /* No conntrack; everything passes. */
    OOR_N_POLICIES
};

/* One inbound opening: 'proto' is IPPROTO_TCP or IPPROTO_UDP with a
 * nonzero 'port', or IPPROTO_ICMP or IPPROTO_ICMPV6 with 'port' zero (echo
 * requests, i.e. ping). */
struct oor_allow {
    uint8_t proto;
    uint8_t pad;
    uint16_t port;              /* Host byte order (little-endian). */
};

/* The VIF's definition.  The netdev and the zone are local to a host and are
 * deliberately not here. */
struct oor_vif_def {
    char iface_id[OOR_IFACE_ID_LEN];   /* NUL-terminated, NUL-padded. */
    uint8_t mac[6];
    uint8_t policy;                    /* enum oor_policy. */
    uint8_t n_ips;                     /* <= OOR_MAX_IPS. */
    uint8_t n_allow;                   /* <= OOR_MAX_ALLOW. */
    uint8_t floating;                  /* Bit i set: ips[i] is a floating
                                        * (external) address, which the
                                        * provider NATs to and from the
                                        * VM's own; bits >= n_ips zero. */
    uint8_t pad[6];
    uint64_t cookie;                   /* Flow cookie owned by this VIF. */
    struct in6_addr ips[OOR_MAX_IPS];  /* Unused ones are zero. */
    struct oor_allow allow[OOR_MAX_ALLOW];
};

/* Page 0.  'header_crc' is crc32c over the struct with 'header_crc',
 * 'generation' and 'clock_ms' taken as zero: those two change on every write,
 * and a reader checks them against the generation array instead. */
struct oor_header {
    uint64_t magic;             /* OOR_MAGIC. */
    uint32_t version;           /* OOR_VERSION. */
    uint32_t header_crc;
    uint32_t page_size;         /* OOR_PAGE_SIZE. */
    uint32_t slot_size;         /* OOR_SLOT_SIZE. */
    uint32_t n_pages;           /* 1 + n_gen_pages + n_slot_pages. */
    uint32_t n_gen_pages;       /* Pages of the generation array. */
    uint32_t n_slot_pages;      /* Slot pages. */
    uint32_t gen_offset;        /* Byte offset of gen[]: page_size. */
    uint32_t slot_offset;       /* Byte offset of slot page 0. */
    uint32_t flags;             /* Zero in version 1. */
    uint64_t generation;        /* Highest generation of any page. */
    uint64_t clock_ms;          /* Writer's monotonic clock at 'generation'. */
    struct oor_vif_def vif;
};

/* Slot types.  A free slot is all zeros, 'crc' included. */
enum oor_slot_type {
    OOR_SLOT_FREE = 0,
    OOR_SLOT_CT = 1,            /* struct ct_entry (ct-entry.h). */
    OOR_SLOT_FDB = 2,           /* struct fdb_entry (fdb.h). */
    OOR_SLOT_NEIGH = 3,         /* struct neigh_entry (neigh.h). */
    OOR_SLOT_ROUTE = 4,         /* struct route_entry (route.h). */
    OOR_SLOT_FLOW = 5,          /* struct flow_slot (flow-store.h). */
    OOR_N_SLOT_TYPES
};

/* The payload length of each used slot type, which its slots carry in 'len'.
 * The typed module asserts that its struct has this size. */
#define OOR_SLOT_CT_LEN 176
#define OOR_SLOT_FDB_LEN 24
#define OOR_SLOT_NEIGH_LEN 32
#define OOR_SLOT_ROUTE_LEN 40
#define OOR_SLOT_FLOW_LEN 240

/* Every used slot starts with this.  'crc' is crc32c over the whole
 * OOR_SLOT_SIZE bytes of the slot with 'crc' taken as zero; bytes past the
 * payload are zero. */
struct oor_slot_hdr {
    uint32_t crc;
    uint16_t type;              /* enum oor_slot_type. */
    uint16_t len;               /* Payload bytes after this header. */
    uint64_t version;           /* Generation at which the slot was written. */
};

#define OOR_SLOT_PAYLOAD_MAX (OOR_SLOT_SIZE - sizeof(struct oor_slot_hdr))

/* Follows the last page of an exported image file. */
struct oor_trailer {
    uint64_t magic;             /* OOR_TRAILER_MAGIC. */
    uint64_t image_len;         /* Bytes before the trailer. */
    uint32_t crc;               /* crc32c of those bytes. */
    uint32_t pad;
};

_Static_assert(sizeof(struct oor_vif_def) == 280, "VIF definition");
_Static_assert(OOR_MAX_IPS <= 8, "oor_vif_def.floating has a bit per ips[]");
_Static_assert(sizeof(struct oor_header) <= OOR_SUMMARY_OFFSET,
               "header before the summary");
_Static_assert(OOR_SUMMARY_OFFSET + OOR_SUMMARY_MAX * 8 <= OOR_PAGE_SIZE,
               "summary in the header page");
_Static_assert(sizeof(struct oor_slot_hdr) == 16, "slot header");
_Static_assert(OOR_PAGE_SIZE % OOR_SLOT_SIZE == 0, "whole slots per page");
_Static_assert(sizeof(struct oor_trailer) == 24, "trailer");

#endif /* region-format.h */
