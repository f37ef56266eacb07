/*
 * The rdma: client: one-sided RDMA READs of one exported region.
 *
 * A client connects to a server's prdma: listener ("rdma:IP:PORT"),
 * presenting an export's token and the id of the region it wants (0: the
 * export's first) in rdma_connect()'s private data.  The server registers
 * that region for remote reads only and answers with an advert {addr, rkey,
 * len, generation} (transport/README.md), or rejects the connection with a
 * reason.  The client then reads (offset, length) ranges of the region
 * straight into its own buffers: chunked, pipelined RDMA READs with as many
 * in flight as min(the device's max_qp_rd_atom and max_qp_init_rd_atom, the
 * server's responder_resources, 16) allow, completions matched by wr_id.
 *
 * The advert is per connection: it describes the region as it was when the
 * server accepted.  A region that has since grown needs a new connection to
 * be read past its old length; one that moved (remapped) is still read
 * right, because the server registered the memory it then had, which stays
 * pinned for as long as the connection lives.
 *
 * This first slice is blocking: rdma_client_open() and rdma_client_read()
 * run until they are done, fail, or their timeout passes, and stall the
 * caller's loop meanwhile (like transport_client's *_block() helpers).  A
 * timeout fails the client, so that nothing still in flight can land in the
 * caller's buffer afterward.
 *
 * Errors are one malloc'd line naming the endpoint and the fault, which the
 * caller frees.  A client that failed stays failed: every later read fails
 * at once with the first error.  rdma_client_status() gives its errno:
 * EACCES for a refused token (never fall back), ECONNABORTED when the server
 * ended the connection (the export was withdrawn or its lease expired),
 * EREMOTEIO for a READ the remote side refused (its rkey was revoked),
 * ECONNREFUSED and the like when the connection never came up, ETIMEDOUT.
 *
 * Not thread-safe.
 */
#ifndef RDMA_CLIENT_H
#define RDMA_CLIENT_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "openvswitch/compiler.h"
#include "transport.h"

struct rdma_client;

/* What the server advertised at accept. */
struct rdma_client_advert {
    uint32_t region;            /* Region id. */
    uint64_t len;               /* Bytes readable. */
    uint64_t generation;        /* The region's generation at accept. */
    uint64_t addr;              /* Remote address and key, for logs. */
    uint32_t rkey;
    unsigned int responder_resources;
};

/* Whether this build has the rdma: backend at all. */
bool rdma_client_supported(void);

/* Connects to 'endpoint' ("rdma:IP:PORT") for region 'region' (0: the
 * export's first) of the export whose token is 'token', and waits until the
 * server accepts or rejects, or 'timeout_ms' passes.  On success stores the
 * client in '*clientp'; on failure stores NULL there and returns the error
 * (its errno in '*statusp', if nonnull). */
char *rdma_client_open(const char *endpoint, const struct transport_token *,
                       uint32_t region, long long int timeout_ms,
                       struct rdma_client **clientp, int *statusp)
    OVS_WARN_UNUSED_RESULT;

/* Disconnects and frees everything: QP, CQ, completion channel, PD, MRs,
 * the CM id and the event channel. */
void rdma_client_close(struct rdma_client *);

const struct rdma_client_advert *rdma_client_advert(
    const struct rdma_client *);
const char *rdma_client_name(const struct rdma_client *);

/* The READs kept in flight at once, and the most bytes one READ asks for.
 * rdma_client_set_chunk() sets the latter (rounded to at least 4096 bytes,
 * and at most the device's limit); the default is 1 MiB. */
unsigned int rdma_client_window(const struct rdma_client *);
uint32_t rdma_client_chunk(const struct rdma_client *);
void rdma_client_set_chunk(struct rdma_client *, uint32_t chunk);

/* Reads 'len' bytes of the region from 'offset' into 'buf', as chunked,
 * pipelined RDMA READs, and waits for all of them, at most 'timeout_ms'.  A
 * range outside the advert is refused here, without touching the wire or
 * the client's health ("read beyond the advertised region: ...").  Any
 * other failure fails the client. */
char *rdma_client_read(struct rdma_client *, uint64_t offset, void *buf,
                       size_t len, long long int timeout_ms)
    OVS_WARN_UNUSED_RESULT;

/* 0 while the client is healthy, else the errno of its first failure,
 * which rdma_client_error() names. */
int rdma_client_status(const struct rdma_client *);
const char *rdma_client_error(const struct rdma_client *);

/* Calls ibv_fork_init() once per process, before the first use of verbs,
 * so that a later fork() cannot corrupt registered memory (see
 * transport/README.md).  Both sides call it themselves; a daemon that
 * forks may call it earlier. */
void rdma_fork_init(void);

#endif /* rdma-client.h */
