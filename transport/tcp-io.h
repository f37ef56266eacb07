/*
 * Framing over an OVS stream, shared by the stream backend's server
 * (tcp-server.c) and client (tcp-client.c): a send queue and a receiver
 * that takes one message at a time.  Internal to transport/.
 */
#ifndef TRANSPORT_TCP_IO_H
#define TRANSPORT_TCP_IO_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "openvswitch/list.h"
#include "transport-wire.h"

struct ofpbuf;
struct stream;

/* A send queue: what a stream did not take yet, in order.  Small messages
 * share buffers; 'n_msgs' counts the messages not yet wholly sent.
 *
 * To queue a message, get a buffer with txq_buf(), append the message to it
 * (with the tw_put_*() functions), then txq_commit() with the size the
 * buffer had before.  txq_append() queues the rest of a message that went
 * partly straight to the stream (it counts as one message). */
struct txq {
    struct ovs_list bufs;       /* struct txbuf. */
    size_t bytes;
    unsigned int n_msgs;
};

void txq_init(struct txq *);
void txq_destroy(struct txq *);
static inline bool txq_is_empty(const struct txq *q) { return !q->bytes; }
struct ofpbuf *txq_buf(struct txq *, size_t size);
void txq_commit(struct txq *, struct ofpbuf *, size_t old_size);
void txq_append(struct txq *, const void *, size_t, const void *, size_t);

/* Sends what it can.  Returns 0 if all went or the stream is full (the rest
 * stays queued), else a positive errno value. */
int txq_flush(struct txq *, struct stream *);

/* Sends what the stream takes at once of 'n' bytes; returns how many went,
 * and in '*error' 0 or a positive errno value (not EAGAIN). */
size_t tcp_send_some(struct stream *, const void *, size_t n, int *error);

/* A receiver: the header first, then the payload into wherever the owner
 * points 'dst' once it has checked the header. */
struct rx {
    union {
        struct tw_header h;
        uint8_t bytes[TW_HEADER_LEN];
    } hdr;
    size_t hdr_have;
    bool in_payload;            /* The header is in and accepted. */
    uint8_t *dst;
    size_t len;                 /* Payload bytes expected... */
    size_t have;                /* ...and received. */
};

static inline void
rx_reset(struct rx *rx)
{
    rx->hdr_have = 0;
    rx->in_payload = false;
    rx->dst = NULL;
    rx->len = rx->have = 0;
}

static inline bool
rx_mid_message(const struct rx *rx)
{
    return rx->hdr_have || rx->in_payload;
}

/* Receives into 'buf' until it holds 'len' bytes ('*have' counts them).
 * Returns 0 once it does, EAGAIN if the stream has no more yet, EOF if the
 * peer closed it, else a positive errno value. */
int tcp_recv_into(struct stream *, void *buf, size_t len, size_t *have);

#endif /* tcp-io.h */
