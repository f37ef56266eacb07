/*
 * The set of ports of one ovs-offloadd, persisted in --state-dir.
 *
 * Each port has a name (its netdev's) and a number, the lowest free one
 * from 1 when it is added, which it keeps across restarts: the set is
 * written to DIR/ports.json atomically on every change, and
 * port_set_open() reads it back and reopens every port.
 *
 * A port whose netdev is missing (a VM's tap not created yet, a veth
 * deleted) stays defined but closed.  port_set_run() retries it, and also
 * closes and reopens ports whose netdev disappeared or was recreated, so
 * the main loop only has to call port_set_run() and port_set_wait().
 *
 * Not thread-safe.
 */
#ifndef PORT_SET_H
#define PORT_SET_H 1

#include <stdbool.h>
#include <stddef.h>
#include "openvswitch/compiler.h"
#include "openvswitch/hmap.h"
#include "openvswitch/types.h"
#include "port.h"

struct ds;

/* How often port_set_run() looks for missing netdevs, in ms. */
#define PORT_SET_CHECK_INTERVAL 1000

struct port_set {
    char *file;                 /* DIR/ports.json. */
    struct hmap by_name;        /* Contains struct port, by name_node. */
    struct hmap by_no;          /* Contains struct port, by no_node. */
    long long int next_check;   /* When port_set_run() next checks. */
};

/* Reads DIR/ports.json, if any, and opens every port it defines; a port
 * whose netdev is missing stays closed, with a warning.  Call
 * port_offloads_init() before.  Returns the set,
 * or NULL with '*errorp' naming the first fault of an unreadable or invalid
 * file (nothing of which is applied). */
struct port_set *port_set_open(const char *dir, char **errorp);

/* Closes every port's netdev and frees the set.  ports.json stays. */
void port_set_close(struct port_set *);

/* Adds the port on netdev 'name' and opens it, persisting the new set.
 * Adding a port that exists with the same 'uplink' succeeds and changes
 * nothing (if it is missing, its netdev is tried again).  Returns NULL and
 * the port in '*portp' (if nonnull), or an error with nothing changed: a
 * bad name, a netdev that cannot be opened, a port that exists with the
 * other 'uplink', no free number, or a failed write. */
char *port_set_add(struct port_set *, const char *name, bool uplink,
                   struct port **portp) OVS_WARN_UNUSED_RESULT;

/* Removes and destroys the port on netdev 'name', persisting the new set.
 * Pointers to the port are invalid afterward.  Returns NULL, or an error
 * with nothing changed. */
char *port_set_del(struct port_set *, const char *name)
    OVS_WARN_UNUSED_RESULT;

struct port *port_set_find(const struct port_set *, const char *name);
struct port *port_set_find_by_number(const struct port_set *, ofp_port_t);
size_t port_set_count(const struct port_set *);

/* Returns the ports sorted by number, in an array of '*n' that the caller
 * frees (the ports stay owned by the set). */
struct port **port_set_list(const struct port_set *, size_t *n);

/* Iterates over the ports in no particular order, e.g. to poll them. */
#define PORT_SET_FOR_EACH(PORT, SET) \
    HMAP_FOR_EACH (PORT, no_node, &(SET)->by_no)

/* Runs the netdev layer and, every PORT_SET_CHECK_INTERVAL ms, the same as
 * port_set_reopen(). */
void port_set_run(struct port_set *);

/* Wakes the poll loop for port_set_run(), and when any open port has
 * frames to receive. */
void port_set_wait(const struct port_set *);

/* Tries to open every missing port, and closes and reopens every open
 * port whose netdev has disappeared or been recreated.  Returns the number
 * of ports that changed between open and missing. */
size_t port_set_reopen(struct port_set *);

/* Appends one line per port, by number, for offload/list-ports. */
void port_set_format(const struct port_set *, struct ds *);

#endif /* port-set.h */
