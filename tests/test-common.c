/*
 * Helpers that several of the C test programs share.
 */
#include <config.h>
#include "test-common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include "socket-util.h"
#include "util.h"

uint8_t *
test_read_file(const char *file, size_t *lenp)
{
    struct stat st;
    uint8_t *buf;
    size_t n;
    int fd;

    fd = open(file, O_RDONLY);
    if (fd < 0 || fstat(fd, &st)) {
        ovs_fatal(errno, "%s", file);
    }
    buf = xmalloc(st.st_size + 1);
    if (read_fully(fd, buf, st.st_size, &n)) {
        ovs_fatal(0, "%s: read failed", file);
    }
    close(fd);
    *lenp = st.st_size;
    return buf;
}

void
test_error_exit(char *error)
{
    printf("error: %s\n", error);
    fflush(stdout);
    free(error);
    exit(1);
}
