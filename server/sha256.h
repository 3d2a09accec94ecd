/* sha256.h - SHA-256 of a byte buffer (for outputs.json, matching the golden files' sha256 fields). */
#ifndef LITESERVE_SHA256_H
#define LITESERVE_SHA256_H

#include <stddef.h>
#include <stdint.h>

/* Writes 64 lowercase hex digits and a NUL into hex (65 bytes). */
void ls_sha256_hex(const void *data, size_t len, char hex[65]);

#endif
