/*
 * The checksum that guards region bytes on the wire (transport/README.md):
 * CRC-32C, as the state region's slots use, computed with the CPU's crc32
 * instruction where there is one, since it runs over every byte a pull
 * moves.  Internal to transport/.
 */
#ifndef WIRE_CHECKSUM_H
#define WIRE_CHECKSUM_H 1

#include <stddef.h>
#include <stdint.h>

/* The CRC-32C of 'n' bytes at 'p'. */
uint32_t wire_checksum(const void *p, size_t n);

#endif /* wire-checksum.h */
