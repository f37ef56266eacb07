/*
 * CRC-32C with the SSE4.2 crc32 instruction where the CPU has it, else with
 * OVS's table-driven crc32c().
 */
#include <config.h>
#include "crc32c-hw.h"

#include <string.h>
#include "crc32c.h"
#include "openvswitch/types.h"

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("sse4.2")))
static uint32_t
crc32c_sse42(const uint8_t *p, size_t n)
{
    uint64_t crc = 0xffffffff;

    for (; n >= 8; p += 8, n -= 8) {
        uint64_t word;

        memcpy(&word, p, sizeof word);
        crc = __builtin_ia32_crc32di(crc, word);
    }
    for (; n; p++, n--) {
        crc = __builtin_ia32_crc32qi(crc, *p);
    }
    return ~crc;
}

static bool
have_sse42(void)
{
    static int have = -1;

    if (have < 0) {
        __builtin_cpu_init();
        have = __builtin_cpu_supports("sse4.2");
    }
    return have;
}
#endif

uint32_t
crc32c_hw(const void *p, size_t n)
{
#if defined(__x86_64__) && defined(__GNUC__)
    if (have_sse42()) {
        return crc32c_sse42(p, n);
    }
#endif
    /* On a little-endian machine, as x86 is, crc32c()'s value read as a
     * host integer is the CRC itself. */
    return (OVS_FORCE uint32_t) crc32c(p, n);
}
