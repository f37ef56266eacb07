/*
 * The rdma: backend's private data: what travels in rdma_connect(),
 * rdma_accept() and rdma_reject().  All integers are big-endian and every
 * struct is packed; transport/README.md documents them.  The CM may pad
 * private data with zeros up to its own limit, so a receiver checks the
 * magic and version and reads only the fixed fields.  Every message here is
 * at most 56 bytes, the smallest private-data limit (a REQ on RDMA_PS_TCP).
 */
#ifndef RDMA_WIRE_H
#define RDMA_WIRE_H 1

#include <stdint.h>
#include "openvswitch/types.h"
#include "util.h"
#include "transport.h"

#define RDMA_WIRE_VERSION 1
#define RDMA_WIRE_MAX_PRIVATE 56

/* Client to server, in rdma_connect(). */
#define RDMA_REQUEST_MAGIC 0x4f4f5251   /* "OORQ" */
struct rdma_request {
    ovs_be32 magic;
    uint8_t version;
    uint8_t pad[3];             /* Zero. */
    ovs_be32 region;            /* Region id; 0 for the export's first. */
    uint8_t token[TRANSPORT_TOKEN_LEN];
} __attribute__((packed));
BUILD_ASSERT_DECL(sizeof(struct rdma_request) == 28);

/* Server to client, in rdma_accept(): the advert. */
#define RDMA_ADVERT_MAGIC 0x4f4f5241    /* "OORA" */
struct rdma_advert {
    ovs_be32 magic;
    uint8_t version;
    uint8_t responder_resources; /* READs the server takes at once. */
    ovs_be16 pad;               /* Zero. */
    ovs_be32 region;            /* The region registered. */
    ovs_be32 rkey;
    ovs_be64 addr;              /* Remote address of the region's byte 0. */
    ovs_be64 len;               /* Bytes readable from 'addr'. */
    ovs_be64 generation;        /* The region's generation at accept. */
} __attribute__((packed));
BUILD_ASSERT_DECL(sizeof(struct rdma_advert) == 40);

/* Server to client, in rdma_reject(). */
#define RDMA_REJECT_MAGIC 0x4f4f524a    /* "OORJ" */
#define RDMA_REJECT_TEXT_LEN 48
struct rdma_reject {
    ovs_be32 magic;
    uint8_t version;
    uint8_t code;               /* enum tw_error_code. */
    ovs_be16 pad;               /* Zero. */
    char text[RDMA_REJECT_TEXT_LEN]; /* NUL-padded, maybe unterminated. */
} __attribute__((packed));
BUILD_ASSERT_DECL(sizeof(struct rdma_reject) == RDMA_WIRE_MAX_PRIVATE);

#endif /* rdma-wire.h */
