/*
 * Files in --state-dir that are rewritten whole: a crash leaves either the
 * old file or the new one, never a mix.
 */
#ifndef OFFLOAD_ATOMIC_FILE_H
#define OFFLOAD_ATOMIC_FILE_H 1

#include "openvswitch/compiler.h"

struct json;

/* Writes 'text' to 'path' through a temporary file beside it, synced and
 * renamed over 'path'.  Returns NULL, or a malloc'd message naming the path
 * and the fault; on failure 'path' is as it was. */
char *atomic_file_write(const char *path, const char *text)
    OVS_WARN_UNUSED_RESULT;

/* The same for 'json', as one line. */
char *atomic_file_write_json(const char *path, const struct json *)
    OVS_WARN_UNUSED_RESULT;

#endif /* atomic-file.h */
