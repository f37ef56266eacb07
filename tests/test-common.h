/*
 * Helpers that several of the C test programs (tests/test-*.c) share.
 */
#ifndef TESTS_TEST_COMMON_H
#define TESTS_TEST_COMMON_H 1

#include <stddef.h>
#include <stdint.h>
#include "openvswitch/compiler.h"

/* Reads all of 'file' into a malloc'd buffer (one byte longer than
 * '*lenp', for a terminator if the caller wants one); dies on error. */
uint8_t *test_read_file(const char *file, size_t *lenp);

/* The byte at offset 'i' of the pattern that the transport tests serve and
 * check; it depends on the page too, so a page in the wrong place shows. */
static inline uint8_t
test_pattern_byte(uint64_t i)
{
    return (i * 131 + (i >> 12) * 7 + 0x5a) & 0xff;
}

/* Prints "error: ERROR" on stdout, frees 'error' and exits with status 1. */
void test_error_exit(char *error) OVS_NO_RETURN;

#endif /* tests/test-common.h */
