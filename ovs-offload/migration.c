/*
 * The migration engine (stop-copy).
 */
#include <config.h>
#include "migration.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "ct-engine.h"
#include "datapath.h"
#include "fdb.h"
#include "flow-store.h"
#include "hash.h"
#include "neigh.h"
#include "openvswitch/dynamic-string.h"
#include "openvswitch/hmap.h"
#include "openvswitch/json.h"
#include "openvswitch/poll-loop.h"
#include "openvswitch/vlog.h"
#include "state-region.h"
#include "timeval.h"
#include "transport.h"
#include "util.h"
#include "vif-replica.h"
#include "vif-store.h"
#include "vif.h"

VLOG_DEFINE_THIS_MODULE(migration);


/* The name of the one region a VIF exports. */
#define REGION_NAME "vif"

/* Pages a read of the pass asks for, and reads in flight at once. */
#define CHUNK_PAGES 256
#define N_CHUNKS 8

/* Where a destination's pass is. */
enum migration_step {
    STEP_IDLE,                  /* Between passes. */
    STEP_HEADER,                /* Keepalive, directory and the header page
                                 * asked for. */
    STEP_GENS,                  /* The generation array is being read. */
    STEP_PAGES,                 /* Changed pages are being read. */
};

struct migration_chunk {
    uint8_t *buf;               /* CHUNK_PAGES pages. */
    uint64_t offset;
    uint32_t n_pages;
    bool busy;
};

struct migration {
    struct hmap_node node;          /* In engine's 'migrations', by id. */
    struct migration_engine *engine;
    char *iface_id;
    bool source;
    const char *phase;              /* A fixed word (see migrate/status). */
    char *error;
    long long started;
    long long triggered;            /* Destination: the switch-over began, */
    long long activated;            /* and ended; these and 'started' are in
                                     * microseconds. */

    /* Source. */
    struct transport_export *export;
    uint64_t final_generation;
    bool release_pending;           /* Confirmed: delete the VIF in run(). */

    /* Destination. */
    struct transport_client *client;
    char *endpoint;
    struct migration_options options;
    bool created;                   /* The standby was made for this. */
    bool standby;                   /* The VIF is our standby now. */
    struct vif_replica *replica;
    long long clock_offset;         /* This host's clock minus the source's. */
    bool have_offset;
    long long deadline;             /* Fail without progress by then. */

    /* Passes. */
    enum migration_step step;
    bool final_pass;                /* The current or last pass is final. */
    long long pass_started;
    long long next_pass;
    uint32_t ka_id;                 /* The pass's keepalive. */
    long long ka_sent;
    uint64_t dir_seq;
    uint8_t header[OOR_PAGE_SIZE];
    struct migration_chunk chunks[N_CHUNKS];
    unsigned int n_busy;
    unsigned int passes;
    uint32_t last_delta;            /* Pages of the last pass. */
    bool converged;
    long long converged_at;

    /* Switch-over. */
    bool trigger_pending;
    bool fence_sent;
    uint32_t fence_id;
    bool fenced;                    /* The fence's answer is in. */
    bool final_done;                /* The final pass is in. */

    uint64_t entries;
    uint64_t bytes;
    uint64_t generation;
};

struct migration_engine {
    struct vif_store *vifs;
    struct datapath *dp;
    struct transport_server *server;
    struct hmap migrations;         /* Contains struct migration. */
};

static const char *const PHASE_PREPARE = "prepare";
static const char *const PHASE_PRECOPY = "precopy";
static const char *const PHASE_SWITCHOVER = "switchover";
static const char *const PHASE_DONE = "done";
static const char *const PHASE_ABORTED = "aborted";
static const char *const PHASE_FAILED = "failed";
static const char *const PHASE_EXPORTING = "exporting";
static const char *const PHASE_FENCED = "fenced";
static const char *const PHASE_RELEASED = "released";

static struct migration *
find_migration(const struct migration_engine *e, const char *iface_id)
{
    struct migration *m;

    HMAP_FOR_EACH_WITH_HASH (m, node, hash_string(iface_id, 0),
                             &e->migrations) {
        if (!strcmp(m->iface_id, iface_id)) {
            return m;
        }
    }
    return NULL;
}

static bool
is_live(const struct migration *m)
{
    return (m->phase == PHASE_PREPARE || m->phase == PHASE_PRECOPY
            || m->phase == PHASE_SWITCHOVER
            || m->phase == PHASE_EXPORTING || m->phase == PHASE_FENCED);
}

static void
free_migration(struct migration *m)
{
    if (m->export) {
        transport_export_withdraw(m->export);
    }
    transport_client_close(m->client);
    vif_replica_destroy(m->replica);
    for (int i = 0; i < N_CHUNKS; i++) {
        free(m->chunks[i].buf);
    }
    free(m->iface_id);
    free(m->endpoint);
    free(m->error);
    free(m);
}

/* A new record for 'iface_id', replacing the last attempt's. */
static struct migration *
new_migration(struct migration_engine *e, const char *iface_id, bool source)
{
    struct migration *m = find_migration(e, iface_id);

    if (m) {
        hmap_remove(&e->migrations, &m->node);
        free_migration(m);
    }
    m = xzalloc(sizeof *m);
    m->engine = e;
    m->iface_id = xstrdup(iface_id);
    m->source = source;
    m->started = time_usec();
    hmap_insert(&e->migrations, &m->node, hash_string(iface_id, 0));
    return m;
}

static void
set_mode(struct migration *m, struct vif *vif, enum vif_mode mode)
{
    char *error = vif_store_set_mode(m->engine->vifs, vif, mode,
                                     m->created);
    if (error) {
        VLOG_ERR("%s", error);
        free(error);
    }
}

/* Source. */

static void
get_region(void *m_, struct transport_region_view *view)
{
    struct migration *m = m_;
    struct vif *vif = vif_store_find(m->engine->vifs, m->iface_id);

    if (vif) {
        view->base = state_region_base(vif->region);
        view->size = state_region_size(vif->region);
        view->generation = state_region_header(vif->region)->generation;
    } else {
        memset(view, 0, sizeof *view);
    }
}

/* The source stops: the VM is paused, so nothing may change its state. */
static void
fence(struct migration *m, struct transport_ctl_reply *reply)
{
    struct vif *vif = vif_store_find(m->engine->vifs, m->iface_id);

    if (!vif) {
        reply->error = ENOENT;
        reply->detail = xasprintf("no VIF %s", m->iface_id);
        return;
    }
    if (m->phase != PHASE_EXPORTING) {
        /* One destination fences, once: a second one that holds the token
         * must not pull a copy to activate too. */
        reply->error = EBUSY;
        reply->detail = xasprintf("VIF %s is %s already", m->iface_id,
                                  m->phase);
        return;
    }
    set_mode(m, vif, VIF_FENCED);
    state_region_seal(vif->region, time_msec());
    m->final_generation = state_region_header(vif->region)->generation;
    m->phase = PHASE_FENCED;
    reply->value = m->final_generation;
    VLOG_INFO("VIF %s: fenced at generation %"PRIu64, m->iface_id,
              m->final_generation);
}

/* The source takes the VIF back: the migration did not happen. */
static void
unfence_vif(struct migration_engine *e, struct vif *vif, const char *why)
{
    if (vif && vif->mode == VIF_FENCED) {
        char *error = vif_store_set_mode(e->vifs, vif, VIF_ACTIVE, false);
        if (error) {
            VLOG_ERR("%s", error);
            free(error);
        }
        VLOG_INFO("VIF %s: unfenced (%s)", vif->def.iface_id, why);
    }
}

static void
unfence(struct migration *m, const char *why)
{
    unfence_vif(m->engine, vif_store_find(m->engine->vifs, m->iface_id),
                why);
}

static void
end_export(struct migration *m, const char *phase)
{
    if (m->export) {
        transport_export_withdraw(m->export);
        m->export = NULL;
    }
    m->phase = phase;
}

static void
source_control(void *m_, const struct transport_ctl *ctl,
               struct transport_ctl_reply *reply)
{
    struct migration *m = m_;

    switch (ctl->type) {
    case TRANSPORT_CTL_KEEPALIVE:
        /* The destination learns the offset of its clock from ours. */
        reply->value = time_msec();
        break;
    case TRANSPORT_CTL_FENCE:
        fence(m, reply);
        break;
    case TRANSPORT_CTL_CONFIRM:
        /* The VIF goes in migration_engine_run(), not under the transport's
         * feet. */
        m->generation = ctl->arg;
        m->release_pending = true;
        break;
    case TRANSPORT_CTL_ABORT:
        unfence(m, "the destination aborted");
        end_export(m, PHASE_ABORTED);
        break;
    default:
        reply->error = EOPNOTSUPP;
        break;
    }
}

static void
source_expired(void *m_)
{
    struct migration *m = m_;

    /* A fenced source keeps its copy until it learns the VM has left. */
    m->export = NULL;
    if (m->phase == PHASE_EXPORTING) {
        m->phase = PHASE_ABORTED;
        free(m->error);
        m->error = xstrdup("the export's lease ran out");
    }
}

static const struct transport_owner source_owner = {
    .control = source_control,
    .expired = source_expired,
};

char *
migration_export(struct migration_engine *e, const char *iface_id,
                 unsigned int lease_ms, char **tokenp)
{
    struct vif *vif = vif_store_find(e->vifs, iface_id);
    char *error;

    if (!vif) {
        return xasprintf("no VIF %s", iface_id);
    }
    if (vif->mode != VIF_ACTIVE) {
        return xasprintf("VIF %s is not active here%s", iface_id,
                         (vif->mode == VIF_FENCED
                          ? " (fenced: migrate/abort takes it back)" : ""));
    }

    /* An export whose destination went away gives way to a new one. */
    struct migration *m = find_migration(e, iface_id);
    if (m && is_live(m)
        && (m->phase != PHASE_EXPORTING || !m->export
            || transport_export_n_peers(m->export))) {
        return xasprintf("VIF %s is already migrating (phase %s)", iface_id,
                         m->phase);
    }

    m = new_migration(e, iface_id, true);
    m->export = transport_export_create(e->server, iface_id, &source_owner,
                                        m, NULL, &error);
    if (!m->export) {
        m->phase = PHASE_FAILED;
        m->error = xstrdup(error);
        return error;
    }
    uint32_t region_id;
    error = transport_export_add_region(m->export, REGION_NAME, OOR_PAGE_SIZE,
                                        get_region, m, &region_id);
    if (error) {
        end_export(m, PHASE_FAILED);
        m->error = xstrdup(error);
        return error;
    }
    if (lease_ms) {
        transport_export_set_lease(m->export, lease_ms);
    }
    m->phase = PHASE_EXPORTING;

    char hex[TRANSPORT_TOKEN_HEX_LEN + 1];
    transport_token_format(transport_export_token(m->export), hex);
    *tokenp = xstrdup(hex);
    return NULL;
}

static void
release(struct migration *m)
{
    struct vif *vif = vif_store_find(m->engine->vifs, m->iface_id);

    m->release_pending = false;
    end_export(m, PHASE_RELEASED);
    if (vif) {
        datapath_discard(m->engine->dp, vif);
        vif_store_del(m->engine->vifs, vif);
    }
    VLOG_INFO("VIF %s: released; the destination imported generation %"
              PRIu64, m->iface_id, m->generation);
}

/* The VM sent a frame on the source's own port: it runs here again. */
static void
resumed(struct vif *vif, void *e_)
{
    struct migration_engine *e = e_;
    struct migration *m = find_migration(e, vif->def.iface_id);

    if (m && m->source && m->phase == PHASE_FENCED) {
        unfence(m, "the VM resumed here");
        end_export(m, PHASE_ABORTED);
        free(m->error);
        m->error = xstrdup("the VM resumed on the source");
    } else if (!m || !is_live(m)) {
        /* Fenced before a restart, which lost the migration's record. */
        unfence_vif(e, vif, "the VM resumed here");
    }
}

/* Destination. */

/* Ends the pass machinery: no read is pending after this. */
static void
stop_passes(struct migration *m)
{
    transport_client_close(m->client);
    m->client = NULL;
    vif_replica_destroy(m->replica);
    m->replica = NULL;
    m->step = STEP_IDLE;
}

static void
fail(struct migration *m, char *error)
{
    struct migration_engine *e = m->engine;
    struct vif *vif = vif_store_find(e->vifs, m->iface_id);

    VLOG_WARN("VIF %s: migration failed: %s", m->iface_id, error);
    free(m->error);
    m->error = error;
    m->phase = PHASE_FAILED;

    /* Tell the source to take the VIF back, then empty the standby. */
    if (m->client && !transport_client_status(m->client)) {
        struct transport_ctl ctl = { .type = TRANSPORT_CTL_ABORT };
        uint32_t id;
        free(transport_client_control(m->client, &ctl, &id));
        transport_client_run(m->client);
    }
    stop_passes(m);
    if (vif && m->standby) {
        datapath_discard(e->dp, vif);
        if (m->created) {
            vif_store_del(e->vifs, vif);
        } else {
            vif_replica_empty(vif);
            set_mode(m, vif, VIF_ACTIVE);
        }
    }
    m->standby = false;
}

/* Makes the standby: the operator's VIF, if it holds no state, or one made
 * from the definition in the source's region header. */
static char *
make_standby(struct migration *m, const struct oor_header *h)
{
    struct migration_engine *e = m->engine;
    struct vif *vif = vif_store_find(e->vifs, m->iface_id);

    if (strcmp(h->vif.iface_id, m->iface_id)) {
        return xasprintf("the source exports VIF %s", h->vif.iface_id);
    }
    if (vif && state_region_n_used(vif->region)) {
        return xasprintf("VIF %s holds state here; a migration needs an "
                         "empty one", m->iface_id);
    }
    if (!vif) {
        char *error = vif_store_add(e->vifs, &h->vif, NULL, 0, time_msec(),
                                    &vif);
        if (error) {
            return error;
        }
        m->created = true;
    }
    set_mode(m, vif, VIF_STANDBY);
    m->standby = true;
    m->replica = vif_replica_create(e->vifs, vif, m->clock_offset);
    return NULL;
}

/* Parses the unsigned decimal 'value' into '*n' in [min, max]. */
static char *
parse_uint(const char *key, const char *value, unsigned int min,
           unsigned int max, unsigned int *n)
{
    char *end;
    unsigned long v;

    errno = 0;
    v = strtoul(value, &end, 10);
    if (!*value || *end || errno || v < min || v > max
        || !isdigit((unsigned char) *value)) {
        return xasprintf("%s=%s: expected a number from %u to %u", key,
                         value, min, max);
    }
    *n = v;
    return NULL;
}

char *
migration_options_parse(struct migration_options *o, const char *arg)
{
    const char *eq = strchr(arg, '=');

    if (!eq) {
        return xasprintf("\"%s\": expected KEY=VALUE", arg);
    }

    const char *value = eq + 1;
    size_t klen = eq - arg;
    if (klen == 4 && !strncmp(arg, "mode", 4)) {
        if (!strcmp(value, "precopy")) {
            o->precopy = true;
        } else if (!strcmp(value, "stop-copy")) {
            o->precopy = false;
        } else {
            return xasprintf("unknown mode \"%s\" (precopy or stop-copy)",
                             value);
        }
        return NULL;
    } else if (klen == 6 && !strncmp(arg, "passes", 6)) {
        return parse_uint("passes", value, 1, 1000, &o->max_passes);
    } else if (klen == 9 && !strncmp(arg, "threshold", 9)) {
        return parse_uint("threshold", value, 0, 1u << 24, &o->threshold);
    } else if (klen == 8 && !strncmp(arg, "interval", 8)) {
        return parse_uint("interval", value, 1, 60000, &o->interval_ms);
    } else if (klen == 7 && !strncmp(arg, "timeout", 7)) {
        return parse_uint("timeout", value, 100, 600000, &o->timeout_ms);
    }
    return xasprintf("unknown argument \"%s\"", arg);
}

char *
migration_lease_parse(const char *arg, unsigned int *lease_ms)
{
    if (strncmp(arg, "lease=", 6)) {
        return xasprintf("unknown argument \"%s\"", arg);
    }
    return parse_uint("lease", arg + 6, 100, 3600000, lease_ms);
}

char *
migration_start(struct migration_engine *e, const char *iface_id,
                const char *endpoint, const char *token_hex,
                const struct migration_options *options)
{
    struct transport_token token;
    struct vif *vif = vif_store_find(e->vifs, iface_id);
    char *error;

    error = transport_token_parse(token_hex, &token);
    if (error) {
        return error;
    }
    struct migration *m = find_migration(e, iface_id);
    if (m && is_live(m)) {
        return xasprintf("VIF %s is already migrating (phase %s)", iface_id,
                         m->phase);
    }
    if (vif && state_region_n_used(vif->region)) {
        return xasprintf("VIF %s holds state here; a migration needs an "
                         "empty one", iface_id);
    }
    if (vif && vif->mode != VIF_ACTIVE) {
        return xasprintf("VIF %s is not active here", iface_id);
    }

    struct transport_client *client;
    error = transport_client_open(endpoint, &token, &client);
    if (error) {
        return error;
    }
    m = new_migration(e, iface_id, false);
    m->client = client;
    m->endpoint = xstrdup(endpoint);
    m->options = *options;
    m->phase = options->precopy ? PHASE_PRECOPY : PHASE_PREPARE;
    m->deadline = time_msec() + m->options.timeout_ms;
    return NULL;
}

/* The pass machinery.  A pass: a keepalive (whose answer is the source's
 * clock) and a fresh directory, then the header page, then the generation
 * array, then the changed pages, CHUNK_PAGES at a time, up to N_CHUNKS
 * reads in flight.  Nothing blocks: each step issues its reads and returns
 * to the loop. */

enum {
    COOKIE_HEADER = 1,
    COOKIE_GENS = 2,
    COOKIE_CHUNK = 16,          /* + the chunk's index. */
};

static void
progress(struct migration *m)
{
    m->deadline = time_msec() + m->options.timeout_ms;
}

static const struct transport_region_info *
region_info(const struct migration *m)
{
    return transport_client_find_region_by_name(m->client, REGION_NAME);
}

/* Starts a pass: a keepalive, a fresh directory and the header page, all at
 * once.  The source answers a connection's requests in order, so a pass
 * begun after the fence was sent reads the fenced region: that pass is the
 * final one, with no wait for the fence's answer. */
static char *
start_pass(struct migration *m)
{
    struct transport_ctl ka = { .type = TRANSPORT_CTL_KEEPALIVE };
    const struct transport_region_info *info = region_info(m);
    char *error;

    if (!info) {
        return xstrdup("the source exports no VIF region");
    }
    error = transport_client_control(m->client, &ka, &m->ka_id);
    if (error) {
        return error;
    }
    m->dir_seq = transport_client_dir_seq(m->client);
    transport_client_refresh(m->client);
    m->ka_sent = time_msec();
    m->pass_started = time_msec();
    m->final_pass = m->fence_sent;
    m->step = STEP_HEADER;
    progress(m);
    return transport_client_read(m->client, info->id, 0, m->header,
                                 OOR_PAGE_SIZE, COOKIE_HEADER);
}

/* The header is in, so the keepalive's answer and the directory, asked for
 * before it, are too. */
static char *
take_meta(struct migration *m)
{
    struct transport_ctl_reply reply;

    if (!transport_client_control_reply(m->client, m->ka_id, &reply)
        || transport_client_dir_seq(m->client) == m->dir_seq) {
        return xstrdup("the source answered out of order");
    }
    if (!m->have_offset) {
        /* Both clocks at about the same instant, half a round trip. */
        long long now = time_msec();
        m->clock_offset = (now + m->ka_sent) / 2 - (long long) reply.value;
        m->have_offset = true;
    }
    transport_ctl_reply_destroy(&reply);
    return NULL;
}

static char *begin_pages(struct migration *);

/* The header is in: the standby, if there is none yet, then the ranges of
 * the generation array whose summary rose, all at once. */
static char *
read_gens(struct migration *m)
{
    const struct oor_header *h = (const struct oor_header *) m->header;
    char *error = take_meta(m);

    if (!error) {
        error = state_region_check_header(h, OOR_PAGE_SIZE);
    }
    if (!error && !m->standby) {
        error = make_standby(m, h);
    }
    if (error) {
        return error;
    }
    m->bytes += OOR_PAGE_SIZE;
    if (!m->options.precopy && !m->final_pass) {
        /* Stop-copy: the standby waits for the trigger. */
        m->step = STEP_IDLE;
        return NULL;
    }

    error = vif_replica_begin_pass(m->replica, m->header, m->final_pass);
    m->step = STEP_GENS;

    uint64_t offset;
    size_t len;
    void *buf;
    while (!error && vif_replica_next_gens(m->replica, &offset, &buf, &len)) {
        error = transport_client_read(m->client, region_info(m)->id, offset,
                                      buf, len, COOKIE_GENS);
        m->n_busy++;
        m->bytes += len;
    }
    if (!error && !m->n_busy) {
        error = begin_pages(m);     /* No range rose. */
    }
    return error;
}

/* Keeps up to N_CHUNKS reads of changed pages in flight. */
static char *
issue_chunks(struct migration *m)
{
    for (int i = 0; i < N_CHUNKS; i++) {
        struct migration_chunk *c = &m->chunks[i];
        char *error;

        if (c->busy) {
            continue;
        }
        if (!vif_replica_next_run(m->replica, CHUNK_PAGES, &c->offset,
                                  &c->n_pages)) {
            break;
        }
        if (!c->buf) {
            c->buf = xmalloc((size_t) CHUNK_PAGES * OOR_PAGE_SIZE);
        }
        error = transport_client_read(m->client, region_info(m)->id,
                                      c->offset, c->buf,
                                      (size_t) c->n_pages * OOR_PAGE_SIZE,
                                      COOKIE_CHUNK + i);
        if (error) {
            return error;
        }
        c->busy = true;
        m->n_busy++;
    }
    return NULL;
}

static char *end_pass(struct migration *);
static char *maybe_activate(struct migration *);

static char *
begin_pages(struct migration *m)
{
    char *error = vif_replica_gens_done(m->replica);

    if (!error) {
        m->step = STEP_PAGES;
        error = issue_chunks(m);
    }
    if (!error && !m->n_busy) {
        error = end_pass(m);    /* Nothing changed. */
    }
    return error;
}

static void activate(struct migration *);

static char *
end_pass(struct migration *m)
{
    struct vif_replica_stats stats;
    long long now = time_msec();
    char *error = vif_replica_end_pass(m->replica, now, &stats);

    if (error) {
        return error;
    }
    m->passes++;
    m->last_delta = stats.pages;
    m->generation = ((const struct oor_header *) m->header)->generation;
    m->step = STEP_IDLE;
    VLOG_DBG("VIF %s: pass %u: %"PRIu32" pages, %"PRIu32" slots changed, %"
             PRIu32" to read again, %lld ms", m->iface_id, m->passes,
             stats.pages, stats.slots, stats.retries, now - m->pass_started);

    if (m->final_pass) {
        m->final_done = true;
        return maybe_activate(m);
    }
    if (!m->converged
        && ((m->passes > 1 && stats.pages < m->options.threshold)
            || m->passes >= m->options.max_passes)) {
        m->converged = true;
        m->converged_at = time_usec();
        VLOG_INFO("VIF %s: pre-copy converged after %u passes (last delta "
                  "%"PRIu32" pages)", m->iface_id, m->passes, stats.pages);
    }
    /* Pass after pass while there is something to pull; otherwise, and
     * once converged, at the interval. */
    m->next_pass = now + (m->converged || !stats.pages
                          ? m->options.interval_ms : 0);
    return NULL;
}

/* Activates once the final pass is in and the fence's answer too. */
static char *
maybe_activate(struct migration *m)
{
    if (!m->final_done || !m->fenced) {
        return NULL;
    }
    if (m->generation < m->final_generation) {
        return xasprintf("pulled generation %"PRIu64" is older than the "
                         "fence's %"PRIu64, m->generation,
                         m->final_generation);
    }
    activate(m);
    return NULL;
}

static char *
handle_completion(struct migration *m, const struct transport_completion *c)
{
    if (c->error) {
        return xstrdup(transport_client_error(m->client));
    }
    progress(m);
    if (c->cookie == COOKIE_HEADER) {
        return read_gens(m);
    } else if (c->cookie == COOKIE_GENS) {
        return --m->n_busy ? NULL : begin_pages(m);
    } else if (c->cookie >= COOKIE_CHUNK
               && c->cookie < COOKIE_CHUNK + N_CHUNKS) {
        struct migration_chunk *chunk = &m->chunks[c->cookie - COOKIE_CHUNK];
        char *error = vif_replica_apply(m->replica, chunk->offset, chunk->buf,
                                        chunk->n_pages);

        chunk->busy = false;
        m->n_busy--;
        m->bytes += (uint64_t) chunk->n_pages * OOR_PAGE_SIZE;
        if (!error) {
            error = issue_chunks(m);
        }
        if (!error && !m->n_busy) {
            error = end_pass(m);
        }
        return error;
    }
    return xasprintf("unexpected completion %"PRIu64, c->cookie);
}

/* The switch-over begins: the source stops, and answers with its final
 * generation; the pass after that is the last. */
static char *
send_fence(struct migration *m)
{
    struct transport_ctl fence_ctl = { .type = TRANSPORT_CTL_FENCE };

    m->trigger_pending = false;
    m->fence_sent = true;
    m->phase = PHASE_SWITCHOVER;
    m->triggered = time_usec();
    progress(m);
    return transport_client_control(m->client, &fence_ctl, &m->fence_id);
}

static char *
check_fence(struct migration *m)
{
    struct transport_ctl_reply reply;
    char *error = NULL;

    if (!transport_client_control_reply(m->client, m->fence_id, &reply)) {
        return NULL;
    }
    if (reply.error) {
        error = xasprintf("the source refused the fence: %s",
                          reply.detail ? reply.detail
                          : ovs_strerror(reply.error));
    } else {
        m->fenced = true;
        m->final_generation = reply.value;
    }
    transport_ctl_reply_destroy(&reply);
    return error;
}

/* Activates the complete replica: from here on this side forwards for the
 * VIF, and the source may let go. */
static void
activate(struct migration *m)
{
    struct migration_engine *e = m->engine;
    struct vif *vif = vif_store_find(e->vifs, m->iface_id);
    long long now = time_msec();

    vif_replica_commit(m->replica, now);
    m->entries = ct_table_count(vif->ct);
    set_mode(m, vif, VIF_ACTIVE);
    m->standby = false;
    datapath_release(e->dp, vif);
    m->activated = time_usec();
    m->phase = PHASE_DONE;

    struct transport_ctl confirm = { .type = TRANSPORT_CTL_CONFIRM,
                                     .arg = m->generation };
    struct transport_ctl_reply reply;
    char *error = transport_client_control_block(m->client, &confirm,
                                                 m->options.timeout_ms,
                                                 &reply);
    if (error || reply.error) {
        /* Activated all the same: the source keeps a fenced copy until it
         * learns that the VM left. */
        VLOG_WARN("VIF %s: the source did not confirm the release: %s",
                  m->iface_id, error ? error : ovs_strerror(reply.error));
    }
    if (!error) {
        transport_ctl_reply_destroy(&reply);
    }
    free(error);
    stop_passes(m);
    VLOG_INFO("VIF %s: activated: %"PRIu64" conntrack entries, %"PRIu64
              " bytes in %u passes, blackout %lld ms", m->iface_id,
              m->entries, m->bytes, m->passes,
              (m->activated - m->triggered) / 1000);
}

static void
trigger(struct vif *vif, void *e_)
{
    struct migration *m = find_migration(e_, vif->def.iface_id);

    if (m && !m->source && is_live(m) && !m->fence_sent) {
        m->trigger_pending = true;
        poll_immediate_wake();
    }
}

char *
migration_activate(struct migration_engine *e, const char *iface_id)
{
    struct migration *m = find_migration(e, iface_id);

    if (!m || m->source || !is_live(m)) {
        return xasprintf("VIF %s has no incoming migration here", iface_id);
    }
    if (!m->fence_sent) {
        m->trigger_pending = true;
        poll_immediate_wake();
    }
    return NULL;
}

char *
migration_abort(struct migration_engine *e, const char *iface_id)
{
    struct migration *m = find_migration(e, iface_id);
    struct vif *vif = vif_store_find(e->vifs, iface_id);

    if ((!m || !is_live(m)) && vif && vif->mode == VIF_FENCED) {
        /* Fenced before a restart: the operator says the VM is here. */
        unfence_vif(e, vif, "aborted here");
        return NULL;
    }
    if (!m || !is_live(m)) {
        return xasprintf("VIF %s has no migration in progress", iface_id);
    }
    if (m->source) {
        unfence(m, "aborted here");
        end_export(m, PHASE_ABORTED);
    } else {
        fail(m, xstrdup("aborted here"));
        m->phase = PHASE_ABORTED;
    }
    return NULL;
}

/* One step of the destination's migration 'm'. */
static char *
run_destination__(struct migration *m)
{
    struct transport_completion c;
    int status;
    char *error;

    transport_client_run(m->client);
    status = transport_client_status(m->client);
    if (status == EAGAIN) {
        return time_msec() < m->deadline ? NULL
               : xasprintf("%s: no answer", m->endpoint);
    } else if (status) {
        return xstrdup(transport_client_error(m->client));
    }

    if (m->trigger_pending && m->standby) {
        error = send_fence(m);
        if (error) {
            return error;
        }
    }
    if (m->fence_sent && !m->fenced) {
        error = check_fence(m);
        if (!error) {
            error = maybe_activate(m);
        }
        if (error) {
            return error;
        }
    }
    while (m->client && transport_client_poll(m->client, &c)) {
        error = handle_completion(m, &c);
        if (error) {
            return error;
        }
    }
    if (!m->client) {
        return NULL;            /* Activated. */
    }

    if (m->step == STEP_IDLE) {
        bool due;

        if (!m->standby) {
            due = true;         /* The first pass makes the standby. */
        } else if (m->fence_sent) {
            due = !m->final_pass;
        } else {
            due = m->options.precopy && time_msec() >= m->next_pass;
        }
        if (due) {
            error = start_pass(m);
            if (error) {
                return error;
            }
            transport_client_run(m->client);
        } else if (!m->fence_sent) {
            progress(m);        /* Waiting for a trigger is no fault. */
        }
    }
    if (time_msec() >= m->deadline) {
        return xasprintf("%s: no progress for %u ms", m->endpoint,
                         m->options.timeout_ms);
    }
    return NULL;
}

static void
run_destination(struct migration *m)
{
    if (m->client) {
        char *error = run_destination__(m);
        if (error) {
            fail(m, error);
        }
    }
}

/* The engine. */

void
migration_engine_run(struct migration_engine *e)
{
    struct migration *m;

    HMAP_FOR_EACH_SAFE (m, node, &e->migrations) {
        if (m->source) {
            if (m->release_pending) {
                release(m);
            }
        } else if (is_live(m)) {
            run_destination(m);
        }
    }
}

void
migration_engine_wait(struct migration_engine *e)
{
    struct migration *m;

    HMAP_FOR_EACH (m, node, &e->migrations) {
        if (m->client) {
            transport_client_wait(m->client);
            poll_timer_wait_until(m->deadline);
            if (m->step == STEP_IDLE && m->standby && m->options.precopy
                && !m->fence_sent) {
                poll_timer_wait_until(m->next_pass);
            }
        }
        if (m->release_pending || m->trigger_pending) {
            poll_immediate_wake();
        }
    }
}

struct migration_engine *
migration_engine_create(struct vif_store *vifs, struct datapath *dp,
                        struct transport_server *server)
{
    struct migration_engine *e = xzalloc(sizeof *e);
    struct datapath_migration_ops ops = {
        .trigger = trigger,
        .resumed = resumed,
        .aux = e,
    };

    e->vifs = vifs;
    e->dp = dp;
    e->server = server;
    hmap_init(&e->migrations);
    datapath_set_migration_ops(dp, &ops);
    return e;
}

void
migration_engine_destroy(struct migration_engine *e)
{
    if (e) {
        struct migration *m;

        HMAP_FOR_EACH_POP (m, node, &e->migrations) {
            free_migration(m);
        }
        hmap_destroy(&e->migrations);
        free(e);
    }
}

/* Status. */

/* The figures of 'm' that both formats show, as name-value pairs. */
struct migration_figures {
    long long blackout_us;      /* Trigger to activation. */
    long long duration_us;      /* Start of the pull to activation. */
    long long precopy_us;       /* Start to convergence. */
};

static void
get_figures(const struct migration *m, struct migration_figures *f)
{
    f->blackout_us = m->activated ? m->activated - m->triggered : 0;
    f->duration_us = m->activated ? m->activated - m->started : 0;
    f->precopy_us = m->converged ? m->converged_at - m->started : 0;
}

/* The destination's transport: the scheme of the source's endpoint. */
static char *
transport_name(const struct migration *m)
{
    return (m->endpoint
            ? xmemdup0(m->endpoint, strcspn(m->endpoint, ":"))
            : xstrdup("-"));
}

static const char *
mode_name(const struct migration *m)
{
    return m->source ? "-" : m->options.precopy ? "precopy" : "stop-copy";
}

static void
format_one(const struct migration *m, const struct datapath_hold_stats *hs,
           struct ds *s)
{
    struct migration_figures f;

    get_figures(m, &f);
    ds_put_format(s, "%s phase=%s\n", m->iface_id, m->phase);
    ds_put_format(s, "  role=%s", m->source ? "source" : "destination");
    if (m->endpoint) {
        ds_put_format(s, " source=%s", m->endpoint);
    }
    if (!m->source) {
        char *transport = transport_name(m);
        ds_put_format(s, " mode=%s transport=%s", mode_name(m), transport);
        free(transport);
    }
    ds_put_char(s, '\n');
    if (!m->source) {
        ds_put_format(s, "  passes=%u converged=%s last_delta_pages=%"PRIu32
                      " bytes=%"PRIu64"\n", m->passes,
                      m->converged ? "yes" : "no", m->last_delta, m->bytes);
    }
    if (!m->source && m->activated) {
        ds_put_format(s, "  entries=%"PRIu64" blackout_ms=%.3f "
                      "duration_ms=%.3f rate=%.1f MB/s generation=%"PRIu64
                      "\n", m->entries, f.blackout_us / 1000.0,
                      f.duration_us / 1000.0,
                      f.duration_us ? (double) m->bytes / f.duration_us : 0.0,
                      m->generation);
    } else if (m->source && m->final_generation) {
        ds_put_format(s, "  final_generation=%"PRIu64"\n",
                      m->final_generation);
    }
    if (!m->source) {
        ds_put_format(s, "  queue: held=%"PRIu64" released=%"PRIu64
                      " dropped=%"PRIu64"\n", hs->held, hs->released,
                      hs->dropped);
    }
    if (m->error) {
        ds_put_format(s, "  error: %s\n", m->error);
    }
}

static struct json *
json_one(const struct migration *m, const struct datapath_hold_stats *hs)
{
    struct json *j = json_object_create();
    struct migration_figures f;

    get_figures(m, &f);
    json_object_put_string(j, "iface_id", m->iface_id);
    json_object_put_string(j, "phase", m->phase);
    json_object_put_string(j, "role", m->source ? "source" : "destination");
    json_object_put_string(j, "mode", mode_name(m));
    if (!m->source) {
        json_object_put(j, "transport", json_string_create_nocopy(
                            transport_name(m)));
    }
    json_object_put(j, "entries", json_integer_create(m->entries));
    json_object_put(j, "bytes", json_integer_create(m->bytes));
    json_object_put(j, "passes", json_integer_create(m->passes));
    json_object_put(j, "converged", json_boolean_create(m->converged));
    json_object_put(j, "last_delta_pages",
                    json_integer_create(m->last_delta));
    json_object_put(j, "blackout_us", json_integer_create(f.blackout_us));
    json_object_put(j, "duration_us", json_integer_create(f.duration_us));
    json_object_put(j, "precopy_us", json_integer_create(f.precopy_us));
    json_object_put(j, "held", json_integer_create(hs->held));
    json_object_put(j, "released", json_integer_create(hs->released));
    json_object_put(j, "dropped", json_integer_create(hs->dropped));
    if (m->error) {
        json_object_put_string(j, "error", m->error);
    }
    return j;
}

static int
compare_migrations(const void *a_, const void *b_)
{
    const struct migration *const *a = a_;
    const struct migration *const *b = b_;

    return strcmp((*a)->iface_id, (*b)->iface_id);
}

char *
migration_status(const struct migration_engine *e, const char *iface_id,
                 bool json, struct ds *s)
{
    size_t n = 0;
    const struct migration **list = xmalloc((hmap_count(&e->migrations) + 1)
                                            * sizeof *list);
    const struct migration *m;

    HMAP_FOR_EACH (m, node, &e->migrations) {
        if (!iface_id || !strcmp(m->iface_id, iface_id)) {
            list[n++] = m;
        }
    }
    if (iface_id && !n) {
        free(list);
        return xasprintf("VIF %s has no migration record here", iface_id);
    }
    qsort(list, n, sizeof *list, compare_migrations);

    struct json *array = json ? json_array_create_empty() : NULL;
    for (size_t i = 0; i < n; i++) {
        struct vif *vif = vif_store_find(e->vifs, list[i]->iface_id);
        struct datapath_hold_stats hs;

        if (vif) {
            datapath_hold_stats(e->dp, vif, &hs);
        } else {
            memset(&hs, 0, sizeof hs);
        }
        if (json) {
            json_array_add(array, json_one(list[i], &hs));
        } else {
            format_one(list[i], &hs, s);
        }
    }
    if (json) {
        char *text = json_to_string(array, JSSF_SORT);
        ds_put_format(s, "%s\n", text);
        free(text);
        json_destroy(array);
    }
    free(list);
    return NULL;
}
