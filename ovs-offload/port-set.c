/*
 * The set of ports, persisted in --state-dir/ports.json.  See port-set.h.
 */
#include <config.h>
#include "port-set.h"

#include "atomic-file.h"

#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "flow.h"
#include "hash.h"
#include "netdev.h"
#include "openflow/openflow.h"
#include "openvswitch/dynamic-string.h"
#include "openvswitch/json.h"
#include "openvswitch/poll-loop.h"
#include "openvswitch/shash.h"
#include "openvswitch/vlog.h"
#include "timeval.h"
#include "util.h"

VLOG_DEFINE_THIS_MODULE(port_set);

#define PORTS_FILE "ports.json"

static uint32_t
hash_port_no(ofp_port_t port_no)
{
    return hash_int(ofp_to_u16(port_no), 0);
}

struct port *
port_set_find(const struct port_set *set, const char *name)
{
    struct port *port;

    HMAP_FOR_EACH_WITH_HASH (port, name_node, hash_string(name, 0),
                             &set->by_name) {
        if (!strcmp(port->name, name)) {
            return port;
        }
    }
    return NULL;
}

struct port *
port_set_find_by_number(const struct port_set *set, ofp_port_t port_no)
{
    struct port *port;

    HMAP_FOR_EACH_WITH_HASH (port, no_node, hash_port_no(port_no),
                             &set->by_no) {
        if (port->port_no == port_no) {
            return port;
        }
    }
    return NULL;
}

size_t
port_set_count(const struct port_set *set)
{
    return hmap_count(&set->by_no);
}

static int
compare_ports(const void *a_, const void *b_)
{
    const struct port *const *a = a_;
    const struct port *const *b = b_;
    uint16_t na = ofp_to_u16((*a)->port_no);
    uint16_t nb = ofp_to_u16((*b)->port_no);

    return na < nb ? -1 : na > nb;
}

struct port **
port_set_list(const struct port_set *set, size_t *n)
{
    struct port **list = xmalloc((port_set_count(set) + 1) * sizeof *list);
    struct port *port;

    *n = 0;
    PORT_SET_FOR_EACH (port, set) {
        list[(*n)++] = port;
    }
    qsort(list, *n, sizeof *list, compare_ports);
    return list;
}

static void
insert_port(struct port_set *set, struct port *port)
{
    hmap_insert(&set->by_name, &port->name_node, hash_string(port->name, 0));
    hmap_insert(&set->by_no, &port->no_node, hash_port_no(port->port_no));
}

static void
remove_port(struct port_set *set, struct port *port)
{
    hmap_remove(&set->by_name, &port->name_node);
    hmap_remove(&set->by_no, &port->no_node);
}

/* Returns NULL if 'name' can name a Linux netdev, otherwise why not. */
static char *
check_name(const char *name)
{
    size_t len = strlen(name);

    if (!len || len >= IFNAMSIZ || !strcmp(name, ".") || !strcmp(name, "..")
        || strcspn(name, "/: \t\n") != len) {
        return xasprintf("\"%s\": invalid network device name", name);
    }
    return NULL;
}

static bool
valid_port_no(long long int n)
{
    return n >= 1 && n < ofp_to_u16(OFPP_MAX);
}

static ofp_port_t
free_port_no(const struct port_set *set)
{
    for (uint16_t n = 1; valid_port_no(n); n++) {
        if (!port_set_find_by_number(set, u16_to_ofp(n))) {
            return u16_to_ofp(n);
        }
    }
    return OFPP_NONE;
}

static struct json *
set_to_json(const struct port_set *set)
{
    struct json *ports = json_array_create_empty();
    size_t n;
    struct port **list = port_set_list(set, &n);

    for (size_t i = 0; i < n; i++) {
        struct json *p = json_object_create();

        json_object_put_string(p, "name", list[i]->name);
        json_object_put(p, "number",
                        json_integer_create(ofp_to_u16(list[i]->port_no)));
        json_object_put(p, "uplink", json_boolean_create(list[i]->uplink));
        json_array_add(ports, p);
    }
    free(list);

    struct json *json = json_object_create();
    json_object_put(json, "ports", ports);
    return json;
}

/* Writes 'set' to its file atomically: a reader, or a restart after a
 * crash, sees the old set or the new one, never a mix. */
static char *
write_set(const struct port_set *set)
{
    struct json *json = set_to_json(set);
    char *text = json_to_string(json, JSSF_PRETTY);
    char *line = xasprintf("%s\n", text);
    char *error = atomic_file_write(set->file, line);

    json_destroy(json);
    free(line);
    free(text);
    return error;
}

/* Reads entry 'i' of the "ports" array, 'j', into a new closed port in
 * '*portp', or returns why it is invalid. */
static char *
parse_port(const struct json *j, size_t i, struct port **portp)
{
    if (j->type != JSON_OBJECT) {
        return xasprintf("ports[%"PRIuSIZE"]: not an object", i);
    }

    const struct shash *obj = json_object(j);
    const struct json *name = shash_find_data(obj, "name");
    const struct json *number = shash_find_data(obj, "number");
    const struct json *uplink = shash_find_data(obj, "uplink");
    if (!name || name->type != JSON_STRING) {
        return xasprintf("ports[%"PRIuSIZE"]: \"name\" missing or not a "
                         "string", i);
    }
    char *error = check_name(json_string(name));
    if (error) {
        char *e = xasprintf("ports[%"PRIuSIZE"]: %s", i, error);
        free(error);
        return e;
    }
    if (!number || number->type != JSON_INTEGER
        || !valid_port_no(json_integer(number))) {
        return xasprintf("ports[%"PRIuSIZE"]: \"number\" missing or not an "
                         "integer from 1 to %d", i,
                         ofp_to_u16(OFPP_MAX) - 1);
    }
    if (!uplink || (uplink->type != JSON_TRUE
                    && uplink->type != JSON_FALSE)) {
        return xasprintf("ports[%"PRIuSIZE"]: \"uplink\" missing or not a "
                         "boolean", i);
    }
    if (shash_count(obj) != 3) {
        return xasprintf("ports[%"PRIuSIZE"]: unknown member", i);
    }
    *portp = port_create(json_string(name),
                         u16_to_ofp(json_integer(number)),
                         uplink->type == JSON_TRUE);
    return NULL;
}

/* Fills empty 'set' from 'json', the whole file, or returns the first fault
 * with 'set' left empty. */
static char *
parse_set(struct port_set *set, const struct json *json)
{
    const struct json *ports = (json->type == JSON_OBJECT
                                ? shash_find_data(json_object(json), "ports")
                                : NULL);
    if (!ports || ports->type != JSON_ARRAY
        || shash_count(json_object(json)) != 1) {
        return xstrdup("expected an object with only a \"ports\" array");
    }

    char *error = NULL;
    for (size_t i = 0; !error && i < json_array(ports)->n; i++) {
        struct port *port = NULL;

        error = parse_port(json_array(ports)->elems[i], i, &port);
        if (error) {
            break;
        }
        if (port_set_find(set, port->name)) {
            error = xasprintf("ports[%"PRIuSIZE"]: port %s listed twice", i,
                              port->name);
        } else if (port_set_find_by_number(set, port->port_no)) {
            error = xasprintf("ports[%"PRIuSIZE"]: number %"PRIu16" used "
                              "twice", i, ofp_to_u16(port->port_no));
        }
        if (error) {
            port_destroy(port);
        } else {
            insert_port(set, port);
        }
    }

    if (error) {
        struct port *port;
        HMAP_FOR_EACH_SAFE (port, no_node, &set->by_no) {
            remove_port(set, port);
            port_destroy(port);
        }
    }
    return error;
}

/* Loads the file of 'set', if it exists. */
static char *
load_set(struct port_set *set)
{
    if (access(set->file, F_OK) && errno == ENOENT) {
        return NULL;
    }

    struct json *json = json_from_file(set->file);
    char *error = (json->type == JSON_STRING
                   ? xstrdup(json_string(json))
                   : parse_set(set, json));
    json_destroy(json);
    if (error) {
        char *e = xasprintf("%s: %s", set->file, error);
        free(error);
        return e;
    }
    return NULL;
}

struct port_set *
port_set_open(const char *dir, char **errorp)
{
    struct port_set *set = xzalloc(sizeof *set);

    set->file = xasprintf("%s/%s", dir, PORTS_FILE);
    hmap_init(&set->by_name);
    hmap_init(&set->by_no);

    *errorp = load_set(set);
    if (*errorp) {
        port_set_close(set);
        return NULL;
    }

    size_t n;
    struct port **list = port_set_list(set, &n);
    for (size_t i = 0; i < n; i++) {
        char *error = port_open(list[i]);

        if (error) {
            VLOG_WARN("%s; port %"PRIu16" stays defined, closed until the "
                      "network device appears", error,
                      ofp_to_u16(list[i]->port_no));
            free(error);
        } else {
            VLOG_INFO("%s: port %"PRIu16" open", list[i]->name,
                      ofp_to_u16(list[i]->port_no));
        }
    }
    free(list);
    set->next_check = time_msec() + PORT_SET_CHECK_INTERVAL;
    return set;
}

void
port_set_close(struct port_set *set)
{
    if (set) {
        struct port *port;

        HMAP_FOR_EACH_SAFE (port, no_node, &set->by_no) {
            remove_port(set, port);
            port_destroy(port);
        }
        hmap_destroy(&set->by_name);
        hmap_destroy(&set->by_no);
        free(set->file);
        free(set);
    }
}

/* The answer to adding a port that exists already. */
static char *
add_existing(struct port *port, bool uplink, struct port **portp)
{
    if (port->uplink != uplink) {
        return xasprintf("%s: already port %"PRIu16" as %s; delete it "
                         "first to change that", port->name,
                         ofp_to_u16(port->port_no),
                         port->uplink ? "an uplink" : "a VIF port");
    }
    if (!port_is_open(port)) {
        free(port_open(port));  /* Still missing is no error here. */
    }
    if (portp) {
        *portp = port;
    }
    return NULL;
}

char *
port_set_add(struct port_set *set, const char *name, bool uplink,
             struct port **portp)
{
    struct port *port = port_set_find(set, name);
    if (port) {
        return add_existing(port, uplink, portp);
    }

    char *error = check_name(name);
    if (error) {
        return error;
    }
    ofp_port_t port_no = free_port_no(set);
    if (port_no == OFPP_NONE) {
        return xasprintf("%s: no free port number", name);
    }

    port = port_create(name, port_no, uplink);
    error = port_open(port);
    if (!error) {
        insert_port(set, port);
        error = write_set(set);
        if (error) {
            remove_port(set, port);
        }
    }
    if (error) {
        port_destroy(port);
        return error;
    }

    VLOG_INFO("%s: added as port %"PRIu16"%s", name, ofp_to_u16(port_no),
              uplink ? ", uplink" : "");
    if (portp) {
        *portp = port;
    }
    return NULL;
}

char *
port_set_del(struct port_set *set, const char *name)
{
    struct port *port = port_set_find(set, name);
    if (!port) {
        return xasprintf("%s: no such port", name);
    }

    remove_port(set, port);
    char *error = write_set(set);
    if (error) {
        insert_port(set, port);
        return error;
    }

    VLOG_INFO("%s: port %"PRIu16" deleted", name, ofp_to_u16(port->port_no));
    port_destroy(port);
    return NULL;
}

/* Brings 'port' in line with its netdev; returns true if it went from open
 * to missing or back. */
static bool
reopen_port(struct port *port)
{
    bool was_open = port_is_open(port);

    if (port_netdev_changed(port)) {
        VLOG_INFO("%s: network device disappeared or was recreated; "
                  "reopening port %"PRIu16, port->name,
                  ofp_to_u16(port->port_no));
        port_close(port);
    }
    if (!port_is_open(port)) {
        char *error = port_open(port);
        if (error && was_open) {
            VLOG_WARN("%s; port %"PRIu16" stays defined, closed until the "
                      "network device returns", error,
                      ofp_to_u16(port->port_no));
        }
        free(error);
    }

    bool is_open = port_is_open(port);
    if (is_open && !was_open) {
        VLOG_INFO("%s: network device appeared, port %"PRIu16" open",
                  port->name, ofp_to_u16(port->port_no));
    }
    return is_open != was_open;
}

size_t
port_set_reopen(struct port_set *set)
{
    size_t changed = 0;
    struct port *port;

    PORT_SET_FOR_EACH (port, set) {
        changed += reopen_port(port);
    }
    return changed;
}

void
port_set_run(struct port_set *set)
{
    netdev_run();
    if (time_msec() >= set->next_check) {
        port_set_reopen(set);
        set->next_check = time_msec() + PORT_SET_CHECK_INTERVAL;
    }
}

void
port_set_wait(const struct port_set *set)
{
    struct port *port;

    netdev_wait();
    PORT_SET_FOR_EACH (port, set) {
        port_wait(port);
    }
    poll_timer_wait_until(set->next_check);
}

void
port_set_format(const struct port_set *set, struct ds *s)
{
    size_t n;
    struct port **list = port_set_list(set, &n);

    for (size_t i = 0; i < n; i++) {
        port_format(list[i], s);
        ds_put_char(s, '\n');
    }
    free(list);
}
