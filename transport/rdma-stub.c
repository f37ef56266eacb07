/*
 * The rdma: backend in a build without librdmacm and libibverbs: the
 * prdma: listener class and the rdma: client exist, and say so.
 */
#include <config.h>

#include <errno.h>
#include <string.h>
#include "rdma-client.h"
#include "transport-provider.h"
#include "util.h"

#define NO_RDMA "this build has no RDMA support (it was configured " \
    "without librdmacm and libibverbs: install librdmacm-dev and " \
    "libibverbs-dev and run configure again)"

static bool
rdma_handles(const char *name)
{
    return !strncmp(name, "prdma:", 6);
}

static char *
rdma_open(struct transport_server *server OVS_UNUSED, const char *name,
          struct transport_listener **lp OVS_UNUSED,
          uint16_t *port OVS_UNUSED)
{
    return xasprintf("%s: %s", name, NO_RDMA);
}

const struct transport_listener_class transport_rdma_listener_class = {
    .handles = rdma_handles,
    .open = rdma_open,
};

bool
rdma_client_supported(void)
{
    return false;
}

bool
rdma_client_may_fall_back(int status)
{
    return status == EAFNOSUPPORT;
}

void
rdma_fork_init(void)
{
}

char *
rdma_client_connect(const char *endpoint,
                    const struct transport_token *token OVS_UNUSED,
                    uint32_t region OVS_UNUSED,
                    long long int timeout_ms OVS_UNUSED,
                    struct rdma_client **clientp)
{
    *clientp = NULL;
    return xasprintf("%s: %s", endpoint, NO_RDMA);
}

void
rdma_client_run(struct rdma_client *c OVS_UNUSED)
{
    OVS_NOT_REACHED();
}

void
rdma_client_wait(struct rdma_client *c OVS_UNUSED)
{
    OVS_NOT_REACHED();
}

char *
rdma_client_open(const char *endpoint,
                 const struct transport_token *token OVS_UNUSED,
                 uint32_t region OVS_UNUSED,
                 long long int timeout_ms OVS_UNUSED,
                 struct rdma_client **clientp, int *statusp)
{
    *clientp = NULL;
    if (statusp) {
        *statusp = EAFNOSUPPORT;
    }
    return xasprintf("%s: %s", endpoint, NO_RDMA);
}

void
rdma_client_close(struct rdma_client *c)
{
    ovs_assert(!c);
}

const struct rdma_client_advert *
rdma_client_advert(const struct rdma_client *c OVS_UNUSED)
{
    OVS_NOT_REACHED();
}

const char *
rdma_client_name(const struct rdma_client *c OVS_UNUSED)
{
    OVS_NOT_REACHED();
}

unsigned int
rdma_client_window(const struct rdma_client *c OVS_UNUSED)
{
    OVS_NOT_REACHED();
}

uint32_t
rdma_client_chunk(const struct rdma_client *c OVS_UNUSED)
{
    OVS_NOT_REACHED();
}

void
rdma_client_set_chunk(struct rdma_client *c OVS_UNUSED,
                      uint32_t chunk OVS_UNUSED)
{
    OVS_NOT_REACHED();
}

char *
rdma_client_read(struct rdma_client *c OVS_UNUSED,
                 uint64_t offset OVS_UNUSED, void *buf OVS_UNUSED,
                 size_t len OVS_UNUSED, uint64_t cookie OVS_UNUSED)
{
    OVS_NOT_REACHED();
}

bool
rdma_client_poll(struct rdma_client *c OVS_UNUSED,
                 struct rdma_completion *completion OVS_UNUSED)
{
    OVS_NOT_REACHED();
}

size_t
rdma_client_n_pending(const struct rdma_client *c OVS_UNUSED)
{
    OVS_NOT_REACHED();
}

char *
rdma_client_read_all(struct rdma_client *c OVS_UNUSED,
                     uint64_t offset OVS_UNUSED, void *buf OVS_UNUSED,
                     size_t len OVS_UNUSED,
                     long long int timeout_ms OVS_UNUSED)
{
    OVS_NOT_REACHED();
}

char *
rdma_client_register(struct rdma_client *c OVS_UNUSED,
                     void *base OVS_UNUSED, size_t len OVS_UNUSED)
{
    OVS_NOT_REACHED();
}

void
rdma_client_unregister(struct rdma_client *c OVS_UNUSED,
                       void *base OVS_UNUSED)
{
    OVS_NOT_REACHED();
}

int
rdma_client_status(const struct rdma_client *c OVS_UNUSED)
{
    OVS_NOT_REACHED();
}

const char *
rdma_client_error(const struct rdma_client *c OVS_UNUSED)
{
    OVS_NOT_REACHED();
}
