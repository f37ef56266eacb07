/*
 * CRC-32C, the checksum of the state region's slots and of region bytes on
 * the wire, computed with the CPU's crc32 instruction where there is one:
 * it runs over every byte that a migration moves, twice.  The value is the
 * one OVS's crc32c() gives, read as a host integer on a little-endian
 * machine, so regions and images stay as they were.
 */
#ifndef CRC32C_HW_H
#define CRC32C_HW_H 1

#include <stddef.h>
#include <stdint.h>

uint32_t crc32c_hw(const void *p, size_t n);

#endif /* crc32c-hw.h */
