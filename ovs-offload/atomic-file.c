/*
 * Whole-file rewrites by temporary file and rename.
 */
#include <config.h>
#include "atomic-file.h"

#include <errno.h>
#include <stdio.h>
#include <unistd.h>
#include "openvswitch/json.h"
#include "util.h"

char *
atomic_file_write(const char *path, const char *text)
{
    char *tmp = xasprintf("%s.tmp", path);
    char *error = NULL;
    FILE *f = fopen(tmp, "w");
    bool ok = (f && fputs(text, f) >= 0 && !fflush(f)
               && !fsync(fileno(f)));

    if (f && fclose(f)) {
        ok = false;
    }
    if (!ok || rename(tmp, path)) {
        error = xasprintf("%s: cannot write (%s)", path,
                          ovs_strerror(errno));
        unlink(tmp);
    }
    free(tmp);
    return error;
}

char *
atomic_file_write_json(const char *path, const struct json *json)
{
    char *text = json_to_string(json, 0);
    char *line = xasprintf("%s\n", text);
    char *error = atomic_file_write(path, line);

    free(line);
    free(text);
    return error;
}
