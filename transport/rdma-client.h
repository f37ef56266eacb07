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
 * The client is non-blocking at heart and made for a daemon's poll loop,
 * with the stream client's read model (transport.h):
 *
 *   - rdma_client_connect() starts the connection and returns at once; the
 *     event channel is non-blocking, and rdma_client_run() drives address
 *     and route resolution and the connect from its rdma_cm events.
 *     rdma_client_status() is EAGAIN until the server accepted.
 *   - rdma_client_read() queues a read of (offset, len) into 'buf' with a
 *     caller's cookie.  rdma_client_run() posts its chunks, as many in
 *     flight as the window allows, more as completions come; completions
 *     are matched by wr_id and every status is checked.
 *   - rdma_client_poll() hands out {cookie, error} once a whole read
 *     completed (error 0) or failed (the client's status).
 *   - rdma_client_wait() waits on the event channel's and the completion
 *     channel's fds (poll_fd_wait()), and on the connect deadline.
 *
 * Call rdma_client_run() before rdma_client_poll() and rdma_client_wait()
 * in each pass of the loop.
 *
 * rdma_client_open() and rdma_client_read_all() are blocking helpers on top
 * of that core: they run until they are done, fail, or their timeout
 * passes, and stall the caller's loop meanwhile (like transport_client's
 * *_block() helpers).  A timeout fails the client, so that nothing still in
 * flight can land in the caller's buffer afterward.
 *
 * Buffers.  A READ lands only in registered memory.  rdma_client_register()
 * registers a whole destination area once (say, a migration's target
 * region), and every read that falls inside it uses that registration.  A
 * read outside every registered area registers its own buffer when queued
 * and deregisters it when it completes: one ibv_reg_mr() per read, which
 * pins and maps the pages each time.  Such registrations are not cached,
 * since a buffer freed and allocated again at the same address may be
 * other pages, which a cached MR would not see.
 *
 * Errors are one malloc'd line naming the endpoint and the fault, which the
 * caller frees.  A client that failed stays failed: every pending read
 * completes with its error, as a flushed work request does, and every later
 * read fails at once with the first error.  rdma_client_status() gives its
 * errno: EAGAIN while connecting, 0 while healthy, EACCES for a refused
 * token (never fall back), ECONNABORTED when the server ended the
 * connection (the export was withdrawn or its lease expired), EREMOTEIO for
 * a READ the remote side refused (its rkey was revoked), ECONNREFUSED,
 * EHOSTUNREACH, ENODEV and the like when the connection never came up,
 * ETIMEDOUT.  rdma_client_may_fall_back() says which of these allow a
 * fallback to the stream backend, before the first READ.
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

/* What the server advertised at accept (valid once rdma_client_status()
 * is 0). */
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

/* Starts connecting to 'endpoint' ("rdma:IP:PORT") for region 'region' (0:
 * the export's first) of the export whose token is 'token', and stores the
 * new client in '*clientp' at once; rdma_client_run() goes on with it.  If
 * the server neither accepts nor rejects within 'timeout_ms' (negative: no
 * limit but the CM's own), the client fails with ETIMEDOUT.  Returns an
 * error, and stores NULL, only for an endpoint that is not rdma:IP:PORT or
 * in a build without RDMA (rdma_client_supported() false, the status
 * EAFNOSUPPORT, which may fall back); every other failure shows in
 * rdma_client_status(). */
char *rdma_client_connect(const char *endpoint, const struct transport_token *,
                          uint32_t region, long long int timeout_ms,
                          struct rdma_client **clientp)
    OVS_WARN_UNUSED_RESULT;

/* Blocking: connects as rdma_client_connect() and waits until the server
 * accepts or rejects, or 'timeout_ms' passes.  On success stores the client
 * in '*clientp'; on failure stores NULL there and returns the error (its
 * errno in '*statusp', if nonnull). */
char *rdma_client_open(const char *endpoint, const struct transport_token *,
                       uint32_t region, long long int timeout_ms,
                       struct rdma_client **clientp, int *statusp)
    OVS_WARN_UNUSED_RESULT;

void rdma_client_run(struct rdma_client *);
void rdma_client_wait(struct rdma_client *);

/* Disconnects and frees everything: QP, CQ, completion channel, PD, MRs,
 * the CM id and the event channel.  Pending reads are dropped without a
 * completion; nothing lands in their buffers afterward. */
void rdma_client_close(struct rdma_client *);

const struct rdma_client_advert *rdma_client_advert(
    const struct rdma_client *);
const char *rdma_client_name(const struct rdma_client *);

/* The READs kept in flight at once, and the most bytes one READ asks for.
 * rdma_client_set_chunk() sets the latter (rounded to at least 4096 bytes,
 * and at most the device's limit); the default is 1 MiB.  They are known
 * once the client is connected; a new chunk applies to READs posted after. */
unsigned int rdma_client_window(const struct rdma_client *);
uint32_t rdma_client_chunk(const struct rdma_client *);
void rdma_client_set_chunk(struct rdma_client *, uint32_t chunk);

/* Reads.
 *
 * rdma_client_read() queues a read of 'len' bytes of the region from
 * 'offset' into 'buf', which must stay valid, and untouched, until its
 * completion.  The client must be connected (rdma_client_status() 0).  A
 * range outside the advert is refused here, without touching the wire or
 * the client's health ("read beyond the advertised region: ..."), and so is
 * a buffer that cannot be registered.  Any later failure fails the client,
 * and with it every pending read.
 *
 * rdma_client_poll() hands out one completion, if any: 'error' is 0 when all
 * the bytes arrived, else the client's status.  rdma_client_n_pending()
 * counts the reads queued and not yet handed out.
 *
 * rdma_client_read_all() reads synchronously, pipelined, and waits at most
 * 'timeout_ms'; it needs no other reads pending. */
struct rdma_completion {
    uint64_t cookie;
    int error;
};

char *rdma_client_read(struct rdma_client *, uint64_t offset, void *buf,
                       size_t len, uint64_t cookie) OVS_WARN_UNUSED_RESULT;
bool rdma_client_poll(struct rdma_client *, struct rdma_completion *);
size_t rdma_client_n_pending(const struct rdma_client *);
char *rdma_client_read_all(struct rdma_client *, uint64_t offset, void *buf,
                           size_t len, long long int timeout_ms)
    OVS_WARN_UNUSED_RESULT;

/* Registers 'len' bytes at 'base' for READs to land in, until
 * rdma_client_unregister(c, base) or rdma_client_close(); reads into any part
 * of it then register nothing.  The client must be connected.  Unregister
 * only an area no pending read uses. */
char *rdma_client_register(struct rdma_client *, void *base, size_t len)
    OVS_WARN_UNUSED_RESULT;
void rdma_client_unregister(struct rdma_client *, void *base);

/* EAGAIN while connecting, 0 while healthy, else the errno of the first
 * failure, which rdma_client_error() names (NULL while connecting). */
int rdma_client_status(const struct rdma_client *);
const char *rdma_client_error(const struct rdma_client *);

/* Whether a client that failed with 'status' before its first READ may fall
 * back to the stream backend: only when the rdma: path is not there (no
 * support, no device, no route, no listener, no answer).  Never for EACCES:
 * a refused token is refused on every backend. */
bool rdma_client_may_fall_back(int status);

/* Calls ibv_fork_init() once per process, before the first use of verbs,
 * so that a later fork() cannot corrupt registered memory (see
 * transport/README.md).  Both sides call it themselves; a daemon that
 * forks may call it earlier. */
void rdma_fork_init(void);

#endif /* rdma-client.h */
