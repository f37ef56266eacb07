/*
 * What the transport's server core (transport.c) offers its backends
 * (tcp.c; later rdma), and what a backend provides: a listener class.
 * Internal to transport/.
 *
 * The core owns exports, tokens, leases and the peer counts; a backend owns
 * its listeners and their peers, and asks the core before it takes a peer on
 * and when the peer shows a token.
 */
#ifndef TRANSPORT_PROVIDER_H
#define TRANSPORT_PROVIDER_H 1

#include <stdbool.h>
#include <stdint.h>
#include "openvswitch/list.h"
#include "transport.h"
#include "transport-wire.h"

struct ds;

struct transport_listener {
    const struct transport_listener_class *class;
    struct transport_server *server;
    struct ovs_list node;       /* In the server's list. */
    char *name;
};

struct transport_listener_class {
    /* Whether this class serves listener 'name'. */
    bool (*handles)(const char *name);
    char *(*open)(struct transport_server *, const char *name,
                  struct transport_listener **, uint16_t *port);
    void (*close)(struct transport_listener *);   /* Closes its peers too. */
    void (*run)(struct transport_listener *);
    void (*wait)(struct transport_listener *);
    void (*format)(const struct transport_listener *, struct ds *);
};

extern const struct transport_listener_class transport_tcp_listener_class;
/* prdma: (rdma-server.c, or rdma-stub.c in a build without RDMA). */
extern const struct transport_listener_class transport_rdma_listener_class;

void transport_listener_init(struct transport_listener *,
                             const struct transport_listener_class *,
                             struct transport_server *, const char *name);
void transport_listener_uninit(struct transport_listener *);

const struct transport_server_limits *transport_server_limits(
    const struct transport_server *);

/* One peer's session, embedded in the backend's peer, from accept to close.
 *
 * transport_session_admit() counts a new peer as one without a token, or
 * returns why it may not come in (the limits; the code is TW_ERR_BUSY), in
 * which case the backend drops it without a call to detach.
 *
 * transport_session_attach() finds the export whose token is 'token' and
 * joins it.  On failure it returns an error code (TW_ERR_BAD_TOKEN,
 * TW_ERR_BUSY) and a malloc'd message, and the peer stays one without a
 * token.
 *
 * When the export ends, 'export' becomes NULL and 'code' and 'why' say why
 * (TW_ERR_WITHDRAWN, "export withdrawn"): the backend then sends the peer an
 * ERROR and closes it at its next run; transport_session_ended() tells.
 *
 * transport_session_leave() gives up the peer's place in its export (so
 * that, while a failed peer lingers to deliver its ERROR, its place is free
 * for a new session) but keeps it counted in the server's limits.
 * transport_session_detach() uncounts the peer, attached or not. */
struct transport_session {
    struct ovs_list node;       /* In the export's list. */
    struct transport_server *server;
    struct transport_export *export;
    enum tw_error_code code;
    const char *why;
    bool attached;
};

char *transport_session_admit(struct transport_session *,
                              struct transport_server *)
    OVS_WARN_UNUSED_RESULT;
enum tw_error_code transport_session_attach(struct transport_session *,
                                            const struct transport_token *,
                                            char **errorp);
void transport_session_leave(struct transport_session *);
void transport_session_detach(struct transport_session *);
static inline bool
transport_session_ended(const struct transport_session *s)
{
    return s->attached && !s->export;
}

/* For an attached session whose export lives.  The owner's control callback
 * may end the export, so check transport_session_ended() after
 * transport_session_control(). */
const char *transport_session_export_name(const struct transport_session *);
long long int transport_session_lease_ms(const struct transport_session *);
bool transport_session_region(const struct transport_session *, uint32_t id,
                              struct transport_region_view *);
size_t transport_session_directory(const struct transport_session *,
                                   struct transport_region_info *);
void transport_session_control(struct transport_session *,
                               const struct transport_ctl *,
                               struct transport_ctl_reply *);

#endif /* transport-provider.h */
