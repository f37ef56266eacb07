/*
 * The wire codec: builds and checks the messages that transport-wire.h
 * defines.  Every parser checks a payload's length against the message's
 * structure before it looks inside, and cleans any text it passes on.
 */
#include <config.h>

#include "transport-wire.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "byte-order.h"
#include "openvswitch/ofpbuf.h"
#include "util.h"

const char *
tw_type_name(uint8_t type)
{
    switch (type) {
    case TW_HELLO: return "HELLO";
    case TW_DIR_REQUEST: return "DIR_REQUEST";
    case TW_READ: return "READ";
    case TW_CONTROL: return "CONTROL";
    case TW_WELCOME: return "WELCOME";
    case TW_DIRECTORY: return "DIRECTORY";
    case TW_DATA: return "DATA";
    case TW_CONTROL_REPLY: return "CONTROL_REPLY";
    case TW_ERROR: return "ERROR";
    case TW_DATA_SUM: return "DATA_SUM";
    default: return NULL;
    }
}

static bool
tw_is_request(uint8_t type)
{
    return type == TW_HELLO || type == TW_DIR_REQUEST || type == TW_READ
           || type == TW_CONTROL;
}

/* The builders fill each struct on the stack and append a copy: the
 * messages follow one another in a buffer at any alignment. */

void
tw_put_header(struct ofpbuf *b, enum tw_type type, uint32_t xid,
              uint32_t length)
{
    struct tw_header h = {
        .magic = htonl(TW_MAGIC),
        .version = TW_VERSION,
        .type = type,
        .flags = htons(0),
        .xid = htonl(xid),
        .length = htonl(length),
    };

    ofpbuf_put(b, &h, sizeof h);
}

/* Checks what every header must satisfy, whichever its type: a server
 * checks headers 'from_client', a client those from the server.  Lengths
 * that depend on the type are the receiver's to check. */
char *
tw_check_header(const struct tw_header *h, bool from_client)
{
    uint32_t magic = ntohl(h->magic);

    if (magic != TW_MAGIC) {
        return xasprintf("bad magic 0x%08"PRIx32" (not a transport peer)",
                         magic);
    }
    if (h->version != TW_VERSION) {
        return xasprintf("unsupported protocol version %"PRIu8
                         " (this side speaks %d)", h->version, TW_VERSION);
    }
    if (!tw_type_name(h->type) || tw_is_request(h->type) != from_client) {
        return xasprintf("unknown message type 0x%02"PRIx8, h->type);
    }
    if (h->flags) {
        return xasprintf("%s with nonzero flags 0x%04"PRIx16,
                         tw_type_name(h->type), ntohs(h->flags));
    }
    return NULL;
}

/* A server's check of a request's length, which it makes before it reads
 * the payload. */
char *
tw_check_request_length(const struct tw_header *h)
{
    uint32_t len = ntohl(h->length);
    uint32_t expected;

    if (len > TW_MAX_REQUEST_LEN) {
        return xasprintf("message length %"PRIu32" exceeds the limit %d",
                         len, TW_MAX_REQUEST_LEN);
    }
    switch (h->type) {
    case TW_HELLO:
        /* An empty HELLO is how a peer without a token says so. */
        expected = len ? TRANSPORT_TOKEN_LEN : 0;
        break;
    case TW_DIR_REQUEST:
        expected = 0;
        break;
    case TW_READ:
        expected = sizeof(struct tw_read);
        break;
    case TW_CONTROL:
        expected = sizeof(struct tw_control);
        break;
    default:
        OVS_NOT_REACHED();
    }
    if (len != expected) {
        return xasprintf("%s length %"PRIu32", expected %"PRIu32,
                         tw_type_name(h->type), len, expected);
    }
    return NULL;
}

int
tw_error_to_errno(uint32_t code)
{
    switch (code) {
    case TW_ERR_NO_TOKEN:
    case TW_ERR_BAD_TOKEN:
        return EACCES;
    case TW_ERR_BUSY:
        return EBUSY;
    case TW_ERR_TIMEOUT:
        return ETIMEDOUT;
    case TW_ERR_WITHDRAWN:
    case TW_ERR_SHUTDOWN:
        return ECONNABORTED;
    case TW_ERR_UNKNOWN_REGION:
    case TW_ERR_BEYOND_REGION:
    case TW_ERR_LIMIT:
    case TW_ERR_PROTOCOL:
    default:
        return EPROTO;
    }
}

void
tw_put_error(struct ofpbuf *b, uint32_t xid, enum tw_error_code code,
             const char *text)
{
    size_t len = MIN(strlen(text), TW_MAX_ERROR_TEXT);
    struct tw_error e = { .code = htonl(code) };

    tw_put_header(b, TW_ERROR, xid, sizeof e + len);
    ofpbuf_put(b, &e, sizeof e);
    ofpbuf_put(b, text, len);
}

void
tw_put_welcome(struct ofpbuf *b, uint32_t xid, uint32_t lease_ms,
               uint32_t max_read, uint32_t max_outstanding)
{
    struct tw_welcome w = {
        .lease_ms = htonl(lease_ms),
        .max_read = htonl(max_read),
        .max_outstanding = htonl(max_outstanding),
    };

    tw_put_header(b, TW_WELCOME, xid, sizeof w);
    ofpbuf_put(b, &w, sizeof w);
}

void
tw_put_directory(struct ofpbuf *b, uint32_t xid,
                 const struct transport_region_info *regions, size_t n)
{
    struct tw_dir_header dh = { .n_regions = htonl(n) };

    ovs_assert(n <= TRANSPORT_MAX_REGIONS);
    tw_put_header(b, TW_DIRECTORY, xid,
                  sizeof dh + n * sizeof(struct tw_dir_entry));
    ofpbuf_put(b, &dh, sizeof dh);
    for (size_t i = 0; i < n; i++) {
        struct tw_dir_entry e = {
            .id = htonl(regions[i].id),
            .page_size = htonl(regions[i].page_size),
            .size = htonll(regions[i].size),
            .generation = htonll(regions[i].generation),
        };

        ovs_strzcpy(e.name, regions[i].name, sizeof e.name);
        ofpbuf_put(b, &e, sizeof e);
    }
}

/* The detail is cut at TRANSPORT_MAX_DETAIL bytes and at its first line
 * break, so that it stays one line. */
void
tw_put_control_reply(struct ofpbuf *b, uint32_t xid, uint16_t type,
                     const struct transport_ctl_reply *reply)
{
    const char *detail = reply->detail ? reply->detail : "";
    size_t len = MIN(strcspn(detail, "\r\n"), TRANSPORT_MAX_DETAIL);
    struct tw_control_reply r = {
        .error = htonl(reply->error),
        .type = htons(type),
        .detail_len = htons(len),
        .value = htonll(reply->value),
    };

    tw_put_header(b, TW_CONTROL_REPLY, xid, sizeof r + len);
    ofpbuf_put(b, &r, sizeof r);
    ofpbuf_put(b, detail, len);
}

void
tw_put_data_sum(struct ofpbuf *b, uint32_t xid, uint32_t crc)
{
    struct tw_data_sum s = { .crc = htonl(crc), .pad = htonl(0) };

    tw_put_header(b, TW_DATA_SUM, xid, sizeof s);
    ofpbuf_put(b, &s, sizeof s);
}

void
tw_put_control(struct ofpbuf *b, uint32_t xid, const struct transport_ctl *ctl)
{
    struct tw_control c = {
        .type = htons(ctl->type),
        .arg = htonll(ctl->arg),
    };

    tw_put_header(b, TW_CONTROL, xid, sizeof c);
    ofpbuf_put(b, &c, sizeof c);
}

void
tw_put_read(struct ofpbuf *b, uint32_t xid, uint32_t region, uint64_t offset,
            uint32_t length)
{
    struct tw_read r = {
        .region = htonl(region),
        .length = htonl(length),
        .offset = htonll(offset),
    };

    tw_put_header(b, TW_READ, xid, sizeof r);
    ofpbuf_put(b, &r, sizeof r);
}

void
tw_put_hello(struct ofpbuf *b, uint32_t xid,
             const struct transport_token *token)
{
    tw_put_header(b, TW_HELLO, xid, token ? TRANSPORT_TOKEN_LEN : 0);
    if (token) {
        ofpbuf_put(b, token->bytes, TRANSPORT_TOKEN_LEN);
    }
}

/* The parsers take a payload whose length the header gave; each checks that
 * length against the message's own structure before it looks inside.  The
 * payload need not be aligned. */

char *
tw_parse_welcome(const void *p, size_t len, uint32_t *lease_ms,
                 uint32_t *max_read, uint32_t *max_outstanding)
{
    struct tw_welcome w;

    if (len != sizeof w) {
        return xasprintf("WELCOME length %"PRIuSIZE", expected %"PRIuSIZE,
                         len, sizeof w);
    }
    memcpy(&w, p, sizeof w);
    *lease_ms = ntohl(w.lease_ms);
    *max_read = ntohl(w.max_read);
    *max_outstanding = ntohl(w.max_outstanding);
    if (!*lease_ms) {
        return xstrdup("WELCOME with a zero lease");
    }
    if (!*max_read || *max_read > TRANSPORT_MAX_READ_LIMIT) {
        return xasprintf("WELCOME with max_read %"PRIu32" outside 1..%u",
                         *max_read, TRANSPORT_MAX_READ_LIMIT);
    }
    if (!*max_outstanding) {
        return xstrdup("WELCOME with max_outstanding 0");
    }
    return NULL;
}

static char *
tw_parse_dir_entry(const struct tw_dir_entry *e,
                   const struct transport_region_info *prev, size_t n_prev,
                   struct transport_region_info *info)
{
    info->id = ntohl(e->id);
    info->page_size = ntohl(e->page_size);
    info->size = ntohll(e->size);
    info->generation = ntohll(e->generation);
    if (!info->id) {
        return xstrdup("directory entry with region id 0");
    }
    if (!info->page_size) {
        return xasprintf("region %"PRIu32" has page size 0", info->id);
    }
    if (!memchr(e->name, '\0', sizeof e->name)) {
        return xasprintf("region %"PRIu32" has an unterminated name",
                         info->id);
    }
    for (size_t i = 0; i < n_prev; i++) {
        if (prev[i].id == info->id) {
            return xasprintf("region %"PRIu32" appears twice in the "
                             "directory", info->id);
        }
    }
    ovs_strlcpy(info->name, e->name, sizeof info->name);
    return NULL;
}

char *
tw_parse_directory(const void *p, size_t len,
                   struct transport_region_info **regionsp, size_t *np)
{
    const uint8_t *bytes = p;
    struct tw_dir_header dh;
    uint32_t n;

    *regionsp = NULL;
    *np = 0;
    if (len < sizeof dh) {
        return xasprintf("DIRECTORY length %"PRIuSIZE" is too short", len);
    }
    memcpy(&dh, bytes, sizeof dh);
    n = ntohl(dh.n_regions);
    if (n > TRANSPORT_MAX_REGIONS) {
        return xasprintf("DIRECTORY of %"PRIu32" regions exceeds the "
                         "limit %d", n, TRANSPORT_MAX_REGIONS);
    }
    if (len != sizeof dh + n * sizeof(struct tw_dir_entry)) {
        return xasprintf("DIRECTORY length %"PRIuSIZE" does not fit %"PRIu32
                         " regions", len, n);
    }

    struct transport_region_info *regions = xcalloc(MAX(n, 1),
                                                    sizeof *regions);
    for (size_t i = 0; i < n; i++) {
        struct tw_dir_entry e;

        memcpy(&e, bytes + sizeof dh + i * sizeof e, sizeof e);
        char *error = tw_parse_dir_entry(&e, regions, i, &regions[i]);
        if (error) {
            free(regions);
            return error;
        }
    }
    *regionsp = regions;
    *np = n;
    return NULL;
}

/* Keeps only printable ASCII, so that a peer's text cannot forge log lines
 * or terminal escapes. */
static char *
tw_sanitize(const uint8_t *text, size_t len)
{
    char *s = xmalloc(len + 1);

    for (size_t i = 0; i < len; i++) {
        s[i] = text[i] >= 0x20 && text[i] < 0x7f ? text[i] : '?';
    }
    s[len] = '\0';
    return s;
}

char *
tw_parse_control_reply(const void *p, size_t len, uint16_t *type,
                       struct transport_ctl_reply *reply)
{
    struct tw_control_reply r;
    size_t detail_len;

    memset(reply, 0, sizeof *reply);
    if (len < sizeof r) {
        return xasprintf("CONTROL_REPLY length %"PRIuSIZE" is too short",
                         len);
    }
    memcpy(&r, p, sizeof r);
    detail_len = ntohs(r.detail_len);
    if (detail_len > TRANSPORT_MAX_DETAIL || len != sizeof r + detail_len) {
        return xasprintf("CONTROL_REPLY length %"PRIuSIZE" with a detail of "
                         "%"PRIuSIZE" bytes", len, detail_len);
    }
    reply->error = ntohl(r.error);
    if (reply->error < 0 || reply->error > 4095) {
        int error = reply->error;

        reply->error = 0;
        return xasprintf("CONTROL_REPLY with error %d out of range", error);
    }
    *type = ntohs(r.type);
    reply->value = ntohll(r.value);
    if (detail_len) {
        reply->detail = tw_sanitize((const uint8_t *) p + sizeof r,
                                    detail_len);
    }
    return NULL;
}

char *
tw_parse_error(const void *p, size_t len, uint32_t *code, char **text)
{
    struct tw_error e;

    *text = NULL;
    if (len < sizeof e || len > sizeof e + TW_MAX_ERROR_TEXT) {
        return xasprintf("ERROR length %"PRIuSIZE" outside %"PRIuSIZE
                         "..%"PRIuSIZE, len, sizeof e,
                         sizeof e + TW_MAX_ERROR_TEXT);
    }
    memcpy(&e, p, sizeof e);
    *code = ntohl(e.code);
    *text = tw_sanitize((const uint8_t *) p + sizeof e, len - sizeof e);
    return NULL;
}
