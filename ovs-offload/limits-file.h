/*
 * The conntrack limits set with offload/ct-set-limit, kept in
 * --state-dir/limits.json so that a restarted daemon keeps them.
 */
#ifndef OFFLOAD_LIMITS_FILE_H
#define OFFLOAD_LIMITS_FILE_H 1

#include "openvswitch/compiler.h"

struct ct_engine;

/* Writes the engine's limits to 'dir' atomically. */
char *limits_file_save(const char *dir, const struct ct_engine *)
    OVS_WARN_UNUSED_RESULT;

/* Applies the limits saved in 'dir', if any, to the engine.  A damaged file
 * is an error and applies nothing. */
char *limits_file_load(const char *dir, struct ct_engine *)
    OVS_WARN_UNUSED_RESULT;

#endif /* limits-file.h */
