/*
 * The transport's generic part: tokens, control message names, and the
 * server core (exports, tokens, leases, peer counts) that the backends'
 * listeners share.
 */
#include <config.h>

#include "transport.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "openvswitch/dynamic-string.h"
#include "openvswitch/poll-loop.h"
#include "openvswitch/vlog.h"
#include "random.h"
#include "timeval.h"
#include "transport-provider.h"
#include "transport-wire.h"
#include "util.h"

VLOG_DEFINE_THIS_MODULE(transport);

/* Tokens. */

void
transport_token_random(struct transport_token *token)
{
    random_bytes(token->bytes, sizeof token->bytes);
}

void
transport_token_format(const struct transport_token *token,
                       char hex[TRANSPORT_TOKEN_HEX_LEN + 1])
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < TRANSPORT_TOKEN_LEN; i++) {
        hex[2 * i] = digits[token->bytes[i] >> 4];
        hex[2 * i + 1] = digits[token->bytes[i] & 15];
    }
    hex[TRANSPORT_TOKEN_HEX_LEN] = '\0';
}

char *
transport_token_parse(const char *hex, struct transport_token *token)
{
    size_t len = strlen(hex);

    if (len != TRANSPORT_TOKEN_HEX_LEN) {
        return xasprintf("token has %"PRIuSIZE" characters, expected %d "
                         "hexadecimal digits", len, TRANSPORT_TOKEN_HEX_LEN);
    }
    for (size_t i = 0; i < TRANSPORT_TOKEN_LEN; i++) {
        if (!isxdigit((unsigned char) hex[2 * i])
            || !isxdigit((unsigned char) hex[2 * i + 1])) {
            return xasprintf("token \"%s\" is not %d hexadecimal digits",
                             hex, TRANSPORT_TOKEN_HEX_LEN);
        }
        token->bytes[i] = hexit_value(hex[2 * i]) << 4
                          | hexit_value(hex[2 * i + 1]);
    }
    return NULL;
}

/* Constant time, so that timing tells a guesser nothing about how much of a
 * token it got right. */
bool
transport_token_equals(const struct transport_token *a,
                       const struct transport_token *b)
{
    uint8_t diff = 0;

    for (size_t i = 0; i < TRANSPORT_TOKEN_LEN; i++) {
        diff |= a->bytes[i] ^ b->bytes[i];
    }
    return !diff;
}

/* Control messages. */

const char *
transport_ctl_type_name(uint16_t type)
{
    static char buf[16];

    switch (type) {
    case TRANSPORT_CTL_KEEPALIVE: return "keepalive";
    case TRANSPORT_CTL_FENCE: return "fence";
    case TRANSPORT_CTL_CONFIRM: return "confirm";
    case TRANSPORT_CTL_ABORT: return "abort";
    default:
        snprintf(buf, sizeof buf, "type %"PRIu16, type);
        return buf;
    }
}

void
transport_ctl_reply_destroy(struct transport_ctl_reply *reply)
{
    if (reply) {
        free(reply->detail);
        reply->detail = NULL;
    }
}

/* The server core. */

struct export_region {
    uint32_t id;
    uint32_t page_size;
    char name[TRANSPORT_REGION_NAME_LEN + 1];
    transport_region_get_func *get;
    void *aux;
};

struct transport_export {
    struct ovs_list node;       /* In the server's 'exports'. */
    struct transport_server *server;
    char *name;
    struct transport_token token;
    struct transport_owner owner;
    void *aux;

    long long int lease_ms;
    long long int expires;      /* time_msec() at which the lease ends. */

    struct export_region regions[TRANSPORT_MAX_REGIONS];
    size_t n_regions;

    struct ovs_list sessions;   /* struct transport_session. */
    unsigned int n_sessions;
};

struct transport_server {
    struct transport_server_limits limits;
    struct ovs_list listeners;  /* struct transport_listener. */
    struct ovs_list exports;    /* struct transport_export. */
    unsigned int n_peers;       /* Admitted, with a token or not. */
    unsigned int n_unauth;      /* Admitted, without a token yet. */
};

static const struct transport_listener_class *listener_classes[] = {
    &transport_tcp_listener_class,
    &transport_rdma_listener_class,
};

static void export_end(struct transport_export *, enum tw_error_code,
                       const char *why);

static void
limits_fill(struct transport_server_limits *l,
            const struct transport_server_limits *given)
{
    static const struct transport_server_limits defaults = {
        .max_peers = 64,
        .max_unauth_peers = 16,
        .max_peers_per_export = 4,
        .hello_timeout_ms = 10000,
        .max_read = 256 * 1024,
        .max_outstanding = 64,
        .max_buffered = 1024 * 1024,
    };

    *l = given ? *given : defaults;
#define DEFAULT(FIELD) if (!l->FIELD) { l->FIELD = defaults.FIELD; }
    DEFAULT(max_peers);
    DEFAULT(max_unauth_peers);
    DEFAULT(max_peers_per_export);
    DEFAULT(hello_timeout_ms);
    DEFAULT(max_read);
    DEFAULT(max_outstanding);
    DEFAULT(max_buffered);
#undef DEFAULT
    l->max_read = MIN(l->max_read, TRANSPORT_MAX_READ_LIMIT);
}

struct transport_server *
transport_server_create(const struct transport_server_limits *limits)
{
    struct transport_server *server = xzalloc(sizeof *server);

    limits_fill(&server->limits, limits);
    ovs_list_init(&server->listeners);
    ovs_list_init(&server->exports);
    return server;
}

void
transport_server_destroy(struct transport_server *server)
{
    if (!server) {
        return;
    }

    struct transport_export *export;
    LIST_FOR_EACH_SAFE (export, node, &server->exports) {
        export_end(export, TW_ERR_SHUTDOWN, "server shutting down");
    }

    struct transport_listener *l;
    LIST_FOR_EACH_SAFE (l, node, &server->listeners) {
        l->class->close(l);
    }
    free(server);
}

char *
transport_server_listen(struct transport_server *server, const char *name,
                        uint16_t *port)
{
    uint16_t dummy;

    port = port ? port : &dummy;
    *port = 0;
    for (size_t i = 0; i < ARRAY_SIZE(listener_classes); i++) {
        const struct transport_listener_class *class = listener_classes[i];

        if (class->handles(name)) {
            struct transport_listener *l;
            char *error = class->open(server, name, &l, port);
            if (!error) {
                VLOG_INFO("listening on %s", l->name);
            }
            return error;
        }
    }
    return xasprintf("%s: not a listener this server can open (try "
                     "ptcp:PORT[:IP], pssl:PORT[:IP] or punix:PATH)", name);
}

void
transport_listener_init(struct transport_listener *l,
                        const struct transport_listener_class *class,
                        struct transport_server *server, const char *name)
{
    l->class = class;
    l->server = server;
    l->name = xstrdup(name);
    ovs_list_push_back(&server->listeners, &l->node);
}

void
transport_listener_uninit(struct transport_listener *l)
{
    ovs_list_remove(&l->node);
    free(l->name);
}

const struct transport_server_limits *
transport_server_limits(const struct transport_server *server)
{
    return &server->limits;
}

/* Ends the first export whose lease has run out; returns false if there
 * was none. */
static bool
expire_one_lease(struct transport_server *server, long long int now)
{
    struct transport_export *export;

    LIST_FOR_EACH (export, node, &server->exports) {
        if (now >= export->expires) {
            struct transport_owner owner = export->owner;
            void *aux = export->aux;

            VLOG_WARN("export %s: lease of %lld ms expired; withdrawn",
                      export->name, export->lease_ms);
            export_end(export, TW_ERR_WITHDRAWN, "lease expired");
            if (owner.expired) {
                owner.expired(aux);
            }
            return true;
        }
    }
    return false;
}

void
transport_server_run(struct transport_server *server)
{
    struct transport_listener *l;

    /* Leases first, so that the listeners close the sessions they end in
     * this same pass.  One at a time, because an owner's 'expired' may
     * withdraw other exports. */
    long long int now = time_msec();
    while (expire_one_lease(server, now)) {
        continue;
    }
    LIST_FOR_EACH_SAFE (l, node, &server->listeners) {
        l->class->run(l);
    }
}

void
transport_server_wait(struct transport_server *server)
{
    struct transport_listener *l;
    struct transport_export *export;

    LIST_FOR_EACH (l, node, &server->listeners) {
        l->class->wait(l);
    }
    LIST_FOR_EACH (export, node, &server->exports) {
        poll_timer_wait_until(export->expires);
    }
}

void
transport_server_format(const struct transport_server *server, struct ds *s)
{
    const struct transport_listener *l;
    const struct transport_export *export;
    long long int now = time_msec();

    ds_put_format(s, "peers: %u (%u without a token), limits: %u, %u "
                  "without a token, %u per export\n",
                  server->n_peers, server->n_unauth, server->limits.max_peers,
                  server->limits.max_unauth_peers,
                  server->limits.max_peers_per_export);
    LIST_FOR_EACH (export, node, &server->exports) {
        ds_put_format(s, "export %s: %"PRIuSIZE" regions, %u peers, lease "
                      "%lld ms, %lld ms left\n", export->name,
                      export->n_regions, export->n_sessions,
                      export->lease_ms, MAX(0, export->expires - now));
    }
    LIST_FOR_EACH (l, node, &server->listeners) {
        l->class->format(l, s);
    }
}

/* Exports. */

static struct transport_export *
find_export(const struct transport_server *server,
            const struct transport_token *token)
{
    struct transport_export *export, *found = NULL;

    /* No early exit: the time taken does not depend on which export, if any,
     * holds the token. */
    LIST_FOR_EACH (export, node, &server->exports) {
        if (transport_token_equals(&export->token, token)) {
            found = export;
        }
    }
    return found;
}

static void
export_renew(struct transport_export *export)
{
    export->expires = time_msec() + export->lease_ms;
}

struct transport_export *
transport_export_create(struct transport_server *server, const char *name,
                        const struct transport_owner *owner, void *aux,
                        const struct transport_token *token, char **errorp)
{
    struct transport_token fresh;

    *errorp = NULL;
    if (token && find_export(server, token)) {
        *errorp = xasprintf("export %s: token already in use by export %s",
                            name, find_export(server, token)->name);
        return NULL;
    }
    if (!token) {
        do {
            transport_token_random(&fresh);
        } while (find_export(server, &fresh));
        token = &fresh;
    }

    struct transport_export *export = xzalloc(sizeof *export);
    export->server = server;
    export->name = xstrdup(name);
    export->token = *token;
    if (owner) {
        export->owner = *owner;
    }
    export->aux = aux;
    export->lease_ms = TRANSPORT_DEFAULT_LEASE_MS;
    export_renew(export);
    ovs_list_init(&export->sessions);
    ovs_list_push_back(&server->exports, &export->node);
    VLOG_INFO("export %s: open, lease %lld ms", name, export->lease_ms);
    return export;
}

char *
transport_export_add_region(struct transport_export *export, const char *name,
                            uint32_t page_size,
                            transport_region_get_func *get, void *aux,
                            uint32_t *idp)
{
    if (export->n_regions >= TRANSPORT_MAX_REGIONS) {
        return xasprintf("export %s: already has %d regions", export->name,
                         TRANSPORT_MAX_REGIONS);
    }
    if (strlen(name) > TRANSPORT_REGION_NAME_LEN) {
        return xasprintf("export %s: region name \"%s\" is longer than %d "
                         "bytes", export->name, name,
                         TRANSPORT_REGION_NAME_LEN);
    }
    if (!page_size) {
        return xasprintf("export %s: region %s has page size 0",
                         export->name, name);
    }

    struct export_region *r = &export->regions[export->n_regions++];
    r->id = export->n_regions;
    r->page_size = page_size;
    ovs_strlcpy(r->name, name, sizeof r->name);
    r->get = get;
    r->aux = aux;
    *idp = r->id;
    return NULL;
}

void
transport_export_set_lease(struct transport_export *export,
                           long long int lease_ms)
{
    ovs_assert(lease_ms > 0);
    export->lease_ms = lease_ms;
    export_renew(export);
}

/* Ends 'export': every session learns why, and the listeners close them. */
static void
export_end(struct transport_export *export, enum tw_error_code code,
           const char *why)
{
    struct transport_session *s;

    LIST_FOR_EACH_POP (s, node, &export->sessions) {
        s->export = NULL;
        s->code = code;
        s->why = why;
        ovs_list_init(&s->node);
    }
    ovs_list_remove(&export->node);
    free(export->name);
    free(export);
}

void
transport_export_withdraw(struct transport_export *export)
{
    if (export) {
        VLOG_INFO("export %s: withdrawn", export->name);
        export_end(export, TW_ERR_WITHDRAWN, "export withdrawn");
    }
}

const struct transport_token *
transport_export_token(const struct transport_export *export)
{
    return &export->token;
}

const char *
transport_export_name(const struct transport_export *export)
{
    return export->name;
}

unsigned int
transport_export_n_peers(const struct transport_export *export)
{
    return export->n_sessions;
}

/* Sessions. */

char *
transport_session_admit(struct transport_session *s,
                        struct transport_server *server)
{
    if (server->n_peers >= server->limits.max_peers) {
        return xasprintf("too many peers (%u)", server->limits.max_peers);
    }
    if (server->n_unauth >= server->limits.max_unauth_peers) {
        return xasprintf("too many peers without a token (%u)",
                         server->limits.max_unauth_peers);
    }
    server->n_peers++;
    server->n_unauth++;
    memset(s, 0, sizeof *s);
    s->server = server;
    ovs_list_init(&s->node);
    return NULL;
}

enum tw_error_code
transport_session_attach(struct transport_session *s,
                         const struct transport_token *token, char **errorp)
{
    struct transport_server *server = s->server;
    struct transport_export *export = find_export(server, token);

    ovs_assert(!s->attached);
    if (!export) {
        *errorp = xstrdup("bad token");
        return TW_ERR_BAD_TOKEN;
    }
    if (export->n_sessions >= server->limits.max_peers_per_export) {
        *errorp = xasprintf("export %s already has %u peers", export->name,
                            export->n_sessions);
        return TW_ERR_BUSY;
    }

    s->export = export;
    s->attached = true;
    ovs_list_push_back(&export->sessions, &s->node);
    export->n_sessions++;
    server->n_unauth--;
    /* A new session is a sign of life, as a keepalive is. */
    export_renew(export);
    *errorp = NULL;
    return 0;
}

void
transport_session_leave(struct transport_session *s)
{
    if (s->export) {
        ovs_list_remove(&s->node);
        ovs_list_init(&s->node);
        s->export->n_sessions--;
        s->export = NULL;
    }
}

void
transport_session_detach(struct transport_session *s)
{
    struct transport_server *server = s->server;

    if (!server) {
        return;
    }
    if (s->attached) {
        if (s->export) {
            ovs_list_remove(&s->node);
            s->export->n_sessions--;
        }
        server->n_peers--;
    } else {
        server->n_peers--;
        server->n_unauth--;
    }
    s->server = NULL;
    s->export = NULL;
    s->attached = false;
}

const char *
transport_session_export_name(const struct transport_session *s)
{
    return s->export ? s->export->name : "(ended)";
}

long long int
transport_session_lease_ms(const struct transport_session *s)
{
    return s->export->lease_ms;
}

bool
transport_session_region(const struct transport_session *s, uint32_t id,
                         struct transport_region_view *view)
{
    const struct transport_export *export = s->export;

    if (!export || !id || id > export->n_regions) {
        return false;
    }

    const struct export_region *r = &export->regions[id - 1];
    memset(view, 0, sizeof *view);
    r->get(r->aux, view);
    return true;
}

size_t
transport_session_directory(const struct transport_session *s,
                            struct transport_region_info *infos)
{
    const struct transport_export *export = s->export;

    for (size_t i = 0; i < export->n_regions; i++) {
        const struct export_region *r = &export->regions[i];
        struct transport_region_view view;

        memset(&view, 0, sizeof view);
        r->get(r->aux, &view);
        infos[i] = (struct transport_region_info) {
            .id = r->id,
            .page_size = r->page_size,
            .size = view.size,
            .generation = view.generation,
        };
        ovs_strlcpy(infos[i].name, r->name, sizeof infos[i].name);
    }
    return export->n_regions;
}

void
transport_session_control(struct transport_session *s,
                          const struct transport_ctl *ctl,
                          struct transport_ctl_reply *reply)
{
    struct transport_export *export = s->export;

    memset(reply, 0, sizeof *reply);
    if (ctl->type == TRANSPORT_CTL_KEEPALIVE) {
        export_renew(export);
    }
    if (export->owner.control) {
        /* The owner may withdraw 'export' in here. */
        export->owner.control(export->aux, ctl, reply);
    } else if (ctl->type != TRANSPORT_CTL_KEEPALIVE) {
        reply->error = EOPNOTSUPP;
        reply->detail = xasprintf("%s is not supported",
                                  transport_ctl_type_name(ctl->type));
    }
}
