/*
 * Framing over an OVS stream: the send queue and the receiver.
 */
#include <config.h>

#include "tcp-io.h"

#include <errno.h>
#include <stdlib.h>
#include "openvswitch/ofpbuf.h"
#include "stream.h"
#include "util.h"

/* Small messages share a buffer up to this size, so that a burst of small
 * replies goes out in few system calls. */
#define TXBUF_SHARE_MAX (64 * 1024)

struct txbuf {
    struct ovs_list node;       /* In struct txq's 'bufs'. */
    struct ofpbuf buf;
    unsigned int n_msgs;        /* Messages that end in this buffer. */
};

void
txq_init(struct txq *q)
{
    ovs_list_init(&q->bufs);
    q->bytes = 0;
    q->n_msgs = 0;
}

static void
txbuf_destroy(struct txbuf *tb)
{
    ofpbuf_uninit(&tb->buf);
    free(tb);
}

void
txq_destroy(struct txq *q)
{
    struct txbuf *tb;

    LIST_FOR_EACH_POP (tb, node, &q->bufs) {
        txbuf_destroy(tb);
    }
    q->bytes = 0;
    q->n_msgs = 0;
}

struct ofpbuf *
txq_buf(struct txq *q, size_t size)
{
    if (!ovs_list_is_empty(&q->bufs)) {
        struct txbuf *tail = CONTAINER_OF(ovs_list_back(&q->bufs),
                                          struct txbuf, node);
        if (tail->buf.size + size <= TXBUF_SHARE_MAX) {
            return &tail->buf;
        }
    }

    struct txbuf *tb = xmalloc(sizeof *tb);
    ofpbuf_init(&tb->buf, MAX(size, 256));
    tb->n_msgs = 0;
    ovs_list_push_back(&q->bufs, &tb->node);
    return &tb->buf;
}

void
txq_commit(struct txq *q, struct ofpbuf *b, size_t old_size)
{
    struct txbuf *tb = CONTAINER_OF(b, struct txbuf, buf);

    q->bytes += b->size - old_size;
    tb->n_msgs++;
    q->n_msgs++;
}

void
txq_append(struct txq *q, const void *a, size_t a_len,
           const void *b, size_t b_len)
{
    struct ofpbuf *buf = txq_buf(q, a_len + b_len);
    size_t old_size = buf->size;

    ofpbuf_put(buf, a, a_len);
    ofpbuf_put(buf, b, b_len);
    txq_commit(q, buf, old_size);
}

size_t
tcp_send_some(struct stream *stream, const void *data, size_t n, int *error)
{
    size_t sent = 0;

    *error = 0;
    while (sent < n) {
        int retval = stream_send(stream, (const char *) data + sent,
                                 n - sent);
        if (retval > 0) {
            sent += retval;
        } else {
            if (retval < 0 && retval != -EAGAIN) {
                *error = -retval;
            }
            break;
        }
    }
    return sent;
}

int
txq_flush(struct txq *q, struct stream *stream)
{
    while (!ovs_list_is_empty(&q->bufs)) {
        struct txbuf *head = CONTAINER_OF(ovs_list_front(&q->bufs),
                                          struct txbuf, node);
        int error;
        size_t n = tcp_send_some(stream, head->buf.data, head->buf.size,
                                 &error);

        ofpbuf_pull(&head->buf, n);
        q->bytes -= n;
        if (error) {
            return error;
        }
        if (head->buf.size) {
            break;              /* The stream is full. */
        }
        q->n_msgs -= head->n_msgs;
        ovs_list_remove(&head->node);
        txbuf_destroy(head);
    }
    return 0;
}

int
tcp_recv_into(struct stream *stream, void *buf, size_t len, size_t *have)
{
    while (*have < len) {
        int retval = stream_recv(stream, (char *) buf + *have, len - *have);

        if (retval > 0) {
            *have += retval;
        } else if (!retval) {
            return EOF;
        } else {
            return -retval;
        }
    }
    return 0;
}
