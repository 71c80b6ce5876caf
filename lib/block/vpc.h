/* vpc.h - what vpc.c shares with the anonymize walker (vpc-anon.c). */
#ifndef EMU_BLOCK_VPC_H
#define EMU_BLOCK_VPC_H

#include <stddef.h>
#include <stdint.h>

/* The one's complement of the byte sum of buf[0..len), skipping the 4-byte
 * checksum field at csum_off: the footer's and dynamic header's checksum. */
uint32_t vpc_checksum(const uint8_t *buf, size_t len, size_t csum_off);

#endif
