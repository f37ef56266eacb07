/*
 * The transport's wire protocol over a byte stream (tcp:, ssl:, unix:).
 * Internal to transport/; transport/README.md documents it for people.
 *
 * Every message is a 16-byte header and 'length' bytes of payload.  All
 * integers are big-endian (network order); region bytes in DATA travel as
 * they are in memory.  Each side checks every header before it reads the
 * payload, and every payload before it uses it, against the fixed bounds
 * below, so a length field never decides how much is allocated.
 */
#ifndef TRANSPORT_WIRE_H
#define TRANSPORT_WIRE_H 1

#include <stdbool.h>
#include <stdint.h>
#include "openvswitch/types.h"
#include "transport.h"

struct ofpbuf;

#define TW_MAGIC 0x4f4f5457     /* "OOTW": OVS Offload Transport Wire. */
#define TW_VERSION 1

struct tw_header {
    ovs_be32 magic;             /* TW_MAGIC. */
    uint8_t version;            /* TW_VERSION. */
    uint8_t type;               /* enum tw_type. */
    ovs_be16 flags;             /* Zero in version 1. */
    ovs_be32 xid;               /* Chosen by the client; replies echo it. */
    ovs_be32 length;            /* Payload bytes after the header. */
};
#define TW_HEADER_LEN 16

enum tw_type {
    /* Client to server. */
    TW_HELLO = 0x01,            /* The token: 16 bytes, or none at all. */
    TW_DIR_REQUEST = 0x02,      /* Empty. */
    TW_READ = 0x03,             /* struct tw_read. */
    TW_CONTROL = 0x04,          /* struct tw_control. */

    /* Server to client. */
    TW_WELCOME = 0x81,          /* struct tw_welcome: the token was good. */
    TW_DIRECTORY = 0x82,        /* struct tw_dir_header, then the entries. */
    TW_DATA = 0x83,             /* The bytes of one READ, exactly. */
    TW_CONTROL_REPLY = 0x84,    /* struct tw_control_reply, then the detail. */
    TW_ERROR = 0x85,            /* struct tw_error, then the text; the server
                                 * closes the connection after it. */
    TW_DATA_SUM = 0x86,         /* struct tw_data_sum: follows each DATA. */
};

struct tw_read {
    ovs_be32 region;
    ovs_be32 length;            /* 1 .. the server's max_read. */
    ovs_be64 offset;
};

struct tw_control {
    ovs_be16 type;              /* Nonzero. */
    ovs_be16 pad1;
    ovs_be32 pad2;
    ovs_be64 arg;
};

struct tw_welcome {
    ovs_be32 lease_ms;
    ovs_be32 max_read;
    ovs_be32 max_outstanding;
    ovs_be32 features;          /* Zero in version 1. */
};

struct tw_dir_header {
    ovs_be32 n_regions;         /* <= TRANSPORT_MAX_REGIONS. */
    ovs_be32 pad;
};

struct tw_dir_entry {
    ovs_be32 id;                /* Nonzero, unique. */
    ovs_be32 page_size;         /* Nonzero. */
    ovs_be64 size;
    ovs_be64 generation;
    char name[TRANSPORT_REGION_NAME_LEN + 1];  /* NUL-terminated, -padded. */
};

/* The CRC-32C (crc32c-hw.h) of the DATA just before it, with the same
 * xid: TCP's own checksum lets too much corruption through for state that
 * must arrive exactly. */
struct tw_data_sum {
    ovs_be32 crc;
    ovs_be32 pad;
};

struct tw_control_reply {
    ovs_be32 error;             /* 0 or an errno value. */
    ovs_be16 type;              /* The request's. */
    ovs_be16 detail_len;        /* <= TRANSPORT_MAX_DETAIL. */
    ovs_be64 value;
};

/* Why the server ended a connection (struct tw_error's 'code'). */
enum tw_error_code {
    TW_ERR_PROTOCOL = 1,        /* Malformed or unexpected message. */
    TW_ERR_NO_TOKEN = 2,
    TW_ERR_BAD_TOKEN = 3,
    TW_ERR_UNKNOWN_REGION = 4,
    TW_ERR_BEYOND_REGION = 5,
    TW_ERR_LIMIT = 6,           /* A bound was exceeded. */
    TW_ERR_BUSY = 7,            /* Too many peers; try later. */
    TW_ERR_TIMEOUT = 8,
    TW_ERR_WITHDRAWN = 9,       /* The export ended. */
    TW_ERR_SHUTDOWN = 10,       /* The server is going away. */
};

struct tw_error {
    ovs_be32 code;              /* enum tw_error_code. */
    ovs_be32 pad;
};

BUILD_ASSERT_DECL(sizeof(struct tw_header) == TW_HEADER_LEN);
BUILD_ASSERT_DECL(sizeof(struct tw_read) == 16);
BUILD_ASSERT_DECL(sizeof(struct tw_control) == 16);
BUILD_ASSERT_DECL(sizeof(struct tw_welcome) == 16);
BUILD_ASSERT_DECL(sizeof(struct tw_dir_entry) == 88);
BUILD_ASSERT_DECL(sizeof(struct tw_control_reply) == 16);
BUILD_ASSERT_DECL(sizeof(struct tw_error) == 8);
BUILD_ASSERT_DECL(sizeof(struct tw_data_sum) == 8);

/* Bounds on payload lengths.  A client's messages are tiny; the server's
 * are small except DATA, which the client bounds by what it asked for. */
#define TW_MAX_REQUEST_LEN 256
#define TW_MAX_REPLY_LEN 4096
#define TW_MAX_ERROR_TEXT 512
#define TW_CLOSE_LINGER_MS 1000     /* After an ERROR, before the close. */

/* Codec (transport-wire.c). */
const char *tw_type_name(uint8_t type);
void tw_put_header(struct ofpbuf *, enum tw_type, uint32_t xid,
                   uint32_t length);
char *tw_check_header(const struct tw_header *, bool from_client)
    OVS_WARN_UNUSED_RESULT;
char *tw_check_request_length(const struct tw_header *)
    OVS_WARN_UNUSED_RESULT;
int tw_error_to_errno(uint32_t code);

void tw_put_error(struct ofpbuf *, uint32_t xid, enum tw_error_code,
                  const char *text);
void tw_put_welcome(struct ofpbuf *, uint32_t xid, uint32_t lease_ms,
                    uint32_t max_read, uint32_t max_outstanding);
void tw_put_directory(struct ofpbuf *, uint32_t xid,
                      const struct transport_region_info *, size_t n);
void tw_put_control_reply(struct ofpbuf *, uint32_t xid, uint16_t type,
                          const struct transport_ctl_reply *);
void tw_put_control(struct ofpbuf *, uint32_t xid,
                    const struct transport_ctl *);
void tw_put_read(struct ofpbuf *, uint32_t xid, uint32_t region,
                 uint64_t offset, uint32_t length);
void tw_put_hello(struct ofpbuf *, uint32_t xid,
                  const struct transport_token *);
void tw_put_data_sum(struct ofpbuf *, uint32_t xid, uint32_t crc);

char *tw_parse_welcome(const void *, size_t, uint32_t *lease_ms,
                       uint32_t *max_read, uint32_t *max_outstanding)
    OVS_WARN_UNUSED_RESULT;
char *tw_parse_directory(const void *, size_t,
                         struct transport_region_info **, size_t *n)
    OVS_WARN_UNUSED_RESULT;
char *tw_parse_control_reply(const void *, size_t, uint16_t *type,
                             struct transport_ctl_reply *)
    OVS_WARN_UNUSED_RESULT;
char *tw_parse_error(const void *, size_t, uint32_t *code, char **text)
    OVS_WARN_UNUSED_RESULT;

#endif /* transport-wire.h */
