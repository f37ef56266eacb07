/*
 * The migration engine (stop-copy).
 */
#include <config.h>
#include "migration.h"

#include <errno.h>
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
#include "vif-store.h"
#include "vif.h"

VLOG_DEFINE_THIS_MODULE(migration);

/* How long the destination waits for the source at each step. */
#define MIGRATION_TIMEOUT_MS 10000

/* The name of the one region a VIF exports. */
#define REGION_NAME "vif"

struct migration {
    struct hmap_node node;          /* In engine's 'migrations', by id. */
    struct migration_engine *engine;
    char *iface_id;
    bool source;
    const char *phase;              /* A fixed word (see migrate/status). */
    char *error;
    long long started;
    long long triggered;            /* Destination: the switch-over began. */
    long long activated;

    /* Source. */
    struct transport_export *export;
    uint64_t final_generation;
    bool release_pending;           /* Confirmed: delete the VIF in run(). */

    /* Destination. */
    struct transport_client *client;
    char *endpoint;
    bool created;                   /* The standby was made for this. */
    bool standby;                   /* The VIF is our standby now. */
    bool trigger_pending;
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
    return (m->phase == PHASE_PREPARE || m->phase == PHASE_SWITCHOVER
            || m->phase == PHASE_EXPORTING || m->phase == PHASE_FENCED);
}

static void
free_migration(struct migration *m)
{
    if (m->export) {
        transport_export_withdraw(m->export);
    }
    transport_client_close(m->client);
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
    m->started = time_msec();
    hmap_insert(&e->migrations, &m->node, hash_string(iface_id, 0));
    return m;
}

static void
set_mode(struct vif *vif, enum vif_mode mode)
{
    bool frozen = mode != VIF_ACTIVE;

    vif->mode = mode;
    ct_table_set_frozen(vif->ct, frozen);
    fdb_vif_set_frozen(vif->fdb, frozen);
    neigh_vif_set_frozen(vif->neigh, frozen);
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
    set_mode(vif, VIF_FENCED);
    state_region_seal(vif->region, time_msec());
    m->final_generation = state_region_header(vif->region)->generation;
    m->phase = PHASE_FENCED;
    reply->value = m->final_generation;
    VLOG_INFO("VIF %s: fenced at generation %"PRIu64, m->iface_id,
              m->final_generation);
}

/* The source takes the VIF back: the migration did not happen. */
static void
unfence(struct migration *m, const char *why)
{
    struct vif *vif = vif_store_find(m->engine->vifs, m->iface_id);

    if (vif && vif->mode == VIF_FENCED) {
        set_mode(vif, VIF_ACTIVE);
        VLOG_INFO("VIF %s: unfenced (%s)", m->iface_id, why);
    }
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
                 char **tokenp)
{
    struct vif *vif = vif_store_find(e->vifs, iface_id);
    char *error;

    if (!vif) {
        return xasprintf("no VIF %s", iface_id);
    }
    if (vif->mode != VIF_ACTIVE) {
        return xasprintf("VIF %s is not active here", iface_id);
    }

    struct migration *m = find_migration(e, iface_id);
    if (m && is_live(m)) {
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
    struct migration *m = find_migration(e_, vif->def.iface_id);

    if (m && m->source && m->phase == PHASE_FENCED) {
        unfence(m, "the VM resumed here");
        end_export(m, PHASE_ABORTED);
        free(m->error);
        m->error = xstrdup("the VM resumed on the source");
    }
}

/* Destination. */

static void
fail(struct migration *m, char *error)
{
    struct migration_engine *e = m->engine;
    struct vif *vif = vif_store_find(e->vifs, m->iface_id);

    VLOG_WARN("VIF %s: migration failed: %s", m->iface_id, error);
    free(m->error);
    m->error = error;
    m->phase = PHASE_FAILED;

    /* Empty the standby, and tell the source to take the VIF back. */
    if (vif && m->standby) {
        datapath_discard(e->dp, vif);
        if (m->created) {
            vif_store_del(e->vifs, vif);
        } else {
            set_mode(vif, VIF_ACTIVE);
            ct_table_flush(vif->ct);
        }
    }
    m->standby = false;
    if (m->client && !transport_client_status(m->client)) {
        struct transport_ctl ctl = { .type = TRANSPORT_CTL_ABORT };
        uint32_t id;
        free(transport_client_control(m->client, &ctl, &id));
        transport_client_run(m->client);
    }
}

/* Makes the standby: the operator's VIF, if it holds no state, or one made
 * from the definition in the source's region header. */
static char *
make_standby(struct migration *m)
{
    struct migration_engine *e = m->engine;
    struct vif *vif = vif_store_find(e->vifs, m->iface_id);

    if (!vif) {
        const struct transport_region_info *info
            = transport_client_find_region_by_name(m->client, REGION_NAME);
        union {
            struct oor_header h;
            uint8_t page[OOR_PAGE_SIZE];
        } hdr;
        char *error;

        if (!info) {
            return xstrdup("the source exports no VIF region");
        }
        error = transport_client_read_all(m->client, info->id, 0, &hdr,
                                          sizeof hdr, MIGRATION_TIMEOUT_MS);
        if (!error) {
            error = state_region_check_header(&hdr.h, sizeof hdr);
        }
        if (!error && strcmp(hdr.h.vif.iface_id, m->iface_id)) {
            error = xasprintf("the source exports VIF %s",
                              hdr.h.vif.iface_id);
        }
        if (!error) {
            error = vif_store_add(e->vifs, &hdr.h.vif, NULL, 0, time_msec(),
                                  &vif);
        }
        if (error) {
            return error;
        }
        m->created = true;
    }
    set_mode(vif, VIF_STANDBY);
    m->standby = true;
    return NULL;
}

char *
migration_start(struct migration_engine *e, const char *iface_id,
                const char *endpoint, const char *token_hex,
                const char *mode)
{
    struct transport_token token;
    struct vif *vif = vif_store_find(e->vifs, iface_id);
    char *error;

    if (mode && !strcmp(mode, "precopy")) {
        return xstrdup("mode=precopy is not yet supported; use "
                       "mode=stop-copy");
    } else if (mode && strcmp(mode, "stop-copy")) {
        return xasprintf("unknown mode \"%s\" (stop-copy)", mode);
    }
    error = transport_token_parse(token_hex, &token);
    if (error) {
        return error;
    }
    if (vif && (ct_table_count(vif->ct) || fdb_vif_count(vif->fdb))) {
        return xasprintf("VIF %s holds state here; a migration needs an "
                         "empty one", iface_id);
    }
    if (vif && vif->mode != VIF_ACTIVE) {
        return xasprintf("VIF %s is already migrating", iface_id);
    }

    struct migration *m = find_migration(e, iface_id);
    if (m && is_live(m)) {
        return xasprintf("VIF %s is already migrating (phase %s)", iface_id,
                         m->phase);
    }

    struct transport_client *client;
    error = transport_client_open(endpoint, &token, &client);
    if (error) {
        return error;
    }
    m = new_migration(e, iface_id, false);
    m->client = client;
    m->endpoint = xstrdup(endpoint);
    m->phase = PHASE_PREPARE;
    return NULL;
}

/* The destination's switch-over, once the session is up: fence, pull,
 * check, import, activate, confirm. */
static void
switch_over(struct migration *m)
{
    struct migration_engine *e = m->engine;
    struct transport_ctl fence_ctl = { .type = TRANSPORT_CTL_FENCE };
    struct transport_ctl_reply reply;
    char *error;

    m->trigger_pending = false;
    m->phase = PHASE_SWITCHOVER;
    m->triggered = time_msec();

    error = transport_client_control_block(m->client, &fence_ctl,
                                           MIGRATION_TIMEOUT_MS, &reply);
    if (!error && reply.error) {
        error = xasprintf("the source refused the fence: %s",
                          reply.detail ? reply.detail
                          : ovs_strerror(reply.error));
    }
    uint64_t generation = reply.value;
    transport_ctl_reply_destroy(&reply);
    if (error) {
        fail(m, error);
        return;
    }

    /* The region as it is now, after the fence. */
    error = transport_client_refresh_block(m->client, MIGRATION_TIMEOUT_MS);
    const struct transport_region_info *info = (error ? NULL
        : transport_client_find_region_by_name(m->client, REGION_NAME));
    if (!error && !info) {
        error = xstrdup("the source exports no VIF region");
    }
    if (error) {
        fail(m, error);
        return;
    }

    size_t len = info->size;
    void *image = xmalloc(MAX(len, 1));
    error = transport_client_read_all(m->client, info->id, 0, image, len,
                                      MIGRATION_TIMEOUT_MS);
    if (!error) {
        error = state_region_check(image, len, vif_check_slot);
    }
    if (!error && ((const struct oor_header *) image)->generation
                  < generation) {
        error = xasprintf("pulled generation %"PRIu64" is older than the "
                          "fence's %"PRIu64,
                          ((const struct oor_header *) image)->generation,
                          generation);
    }

    struct vif *vif = NULL;
    if (!error) {
        error = vif_store_import(e->vifs, image, len, true, time_msec(),
                                 &vif);
    }
    free(image);
    if (error) {
        fail(m, error);
        return;
    }

    /* Activate: from here on this side forwards for the VIF. */
    m->generation = generation;
    m->entries = ct_table_count(vif->ct);
    m->bytes = len;
    set_mode(vif, VIF_ACTIVE);
    m->standby = false;
    datapath_release(e->dp, vif);
    m->activated = time_msec();
    m->phase = PHASE_DONE;

    struct transport_ctl confirm = { .type = TRANSPORT_CTL_CONFIRM,
                                     .arg = generation };
    error = transport_client_control_block(m->client, &confirm,
                                           MIGRATION_TIMEOUT_MS, &reply);
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
    transport_client_close(m->client);
    m->client = NULL;
    VLOG_INFO("VIF %s: activated: %"PRIu64" conntrack entries, %"PRIu64
              " bytes, blackout %lld ms", m->iface_id, m->entries, m->bytes,
              m->activated - m->triggered);
}

static void
trigger(struct vif *vif, void *e_)
{
    struct migration *m = find_migration(e_, vif->def.iface_id);

    if (m && !m->source && m->phase == PHASE_PREPARE) {
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
    m->trigger_pending = true;
    poll_immediate_wake();
    return NULL;
}

char *
migration_abort(struct migration_engine *e, const char *iface_id)
{
    struct migration *m = find_migration(e, iface_id);

    if (!m || !is_live(m)) {
        return xasprintf("VIF %s has no migration in progress", iface_id);
    }
    if (m->source) {
        unfence(m, "aborted here");
        end_export(m, PHASE_ABORTED);
    } else if (m->phase == PHASE_DONE) {
        return xasprintf("VIF %s is already active here", iface_id);
    } else {
        fail(m, xstrdup("aborted here"));
        m->phase = PHASE_ABORTED;
    }
    return NULL;
}

/* The engine. */

static void
run_destination(struct migration *m)
{
    int status;

    if (!m->client) {
        return;
    }
    transport_client_run(m->client);
    status = transport_client_status(m->client);
    if (status == EAGAIN) {
        return;
    } else if (status) {
        fail(m, xasprintf("%s: %s", m->endpoint,
                          transport_client_error(m->client)));
        return;
    }
    if (!m->standby) {
        char *error = make_standby(m);
        if (error) {
            fail(m, error);
            return;
        }
    }
    if (m->trigger_pending) {
        switch_over(m);
    }
}

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

static void
format_one(const struct migration *m, const struct datapath_hold_stats *hs,
           struct ds *s)
{
    ds_put_format(s, "%s phase=%s\n", m->iface_id, m->phase);
    ds_put_format(s, "  role=%s", m->source ? "source" : "destination");
    if (m->endpoint) {
        ds_put_format(s, " source=%s", m->endpoint);
    }
    ds_put_format(s, " mode=stop-copy transport=tcp\n");
    if (!m->source && m->activated) {
        long long blackout = m->activated - m->triggered;
        ds_put_format(s, "  entries=%"PRIu64" bytes=%"PRIu64" passes=1 "
                      "rate=%.1f MB/s blackout_ms=%lld generation=%"PRIu64
                      "\n", m->entries, m->bytes,
                      blackout ? m->bytes / 1000.0 / blackout : 0.0,
                      blackout, m->generation);
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

    json_object_put_string(j, "iface_id", m->iface_id);
    json_object_put_string(j, "phase", m->phase);
    json_object_put_string(j, "role", m->source ? "source" : "destination");
    json_object_put_string(j, "mode", "stop-copy");
    json_object_put_string(j, "transport", "tcp");
    json_object_put(j, "entries", json_integer_create(m->entries));
    json_object_put(j, "bytes", json_integer_create(m->bytes));
    json_object_put(j, "passes", json_integer_create(m->activated ? 1 : 0));
    json_object_put(j, "blackout_ms",
                    json_integer_create(m->activated
                                        ? m->activated - m->triggered : 0));
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
