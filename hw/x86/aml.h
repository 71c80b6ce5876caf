/* aml.h - an encoder for the small part of ACPI Machine Language the
 * microVM's DSDT needs (ACPI 6.x, chapter 20 "ACPI Machine Language
 * Specification", and 6.4 "Resource Data Types for ACPI").
 *
 * Only data is encoded: scopes, devices, named integers, strings,
 * packages and resource templates.  No methods: the guest's interpreter
 * then has nothing to execute, and we need no AML interpreter of our own
 * to trust what we emit.
 *
 * Usage:
 *
 *     struct aml a;
 *     aml_init(&a);
 *     size_t sb = aml_scope(&a, "\\_SB");
 *     size_t dev = aml_device(&a, "VR00");
 *     aml_name_string(&a, "_HID", "LNRO0005");
 *     size_t rt = aml_name_restemplate(&a, "_CRS");
 *     aml_res_memory32_fixed(&a, true, base, size);
 *     aml_restemplate_end(&a, rt);
 *     aml_end(&a, dev);
 *     aml_end(&a, sb);
 *     if (a.err) ...   (negative errno: ENOMEM, or EINVAL for a bad name)
 *
 * Objects with a PkgLength (Scope, Device, Package, Buffer) are opened by
 * a function that returns a mark and closed by aml_end(mark): the length
 * is only known then, so it is inserted in front of the contents in the
 * shortest of its four encodings.  Errors are sticky in a.err so that a
 * builder checks once at the end; after an error nothing more is written.
 */
#ifndef EMU_HW_X86_AML_H
#define EMU_HW_X86_AML_H

#include "common.h"

/* opcodes (ACPI 6.x, 20.3 "AML Byte Stream Byte Values") */
#define AML_ZERO 0x00
#define AML_ONE 0x01
#define AML_NAME 0x08
#define AML_BYTE_PREFIX 0x0a
#define AML_WORD_PREFIX 0x0b
#define AML_DWORD_PREFIX 0x0c
#define AML_STRING_PREFIX 0x0d
#define AML_QWORD_PREFIX 0x0e
#define AML_SCOPE 0x10
#define AML_BUFFER 0x11
#define AML_PACKAGE 0x12
#define AML_DUAL_NAME_PREFIX 0x2e
#define AML_MULTI_NAME_PREFIX 0x2f
#define AML_EXT_PREFIX 0x5b
#define AML_EXT_DEVICE 0x82            /* after AML_EXT_PREFIX */
#define AML_ROOT_CHAR 0x5c             /* '\\' */
#define AML_PARENT_CHAR 0x5e           /* '^' */
#define AML_ONES 0xff

#define AML_PKGLEN_MAX 0x0fffffff     /* 28 bits */

struct aml {
    uint8_t *buf;
    size_t len, cap;
    int err;            /* 0 or the first negative errno */
};

void aml_init(struct aml *a);
void aml_free(struct aml *a);

void aml_byte(struct aml *a, uint8_t b);
void aml_bytes(struct aml *a, const void *p, size_t n);
void aml_le(struct aml *a, uint64_t v, int n);     /* n bytes, little-endian */

/* A NameString: optional "\\" or "^"s, then 1..255 dot-separated
 * segments of up to 4 characters ('A'-'Z', '_', digits after the first),
 * padded with '_' to 4.  "" is the NullName. */
void aml_namestring(struct aml *a, const char *path);
/* An Integer in its shortest form (Zero, One, Ones, Byte..QWord). */
void aml_integer(struct aml *a, uint64_t v);
/* A String (ASCII 0x01..0x7f, NUL-terminated). */
void aml_string(struct aml *a, const char *s);
/* The 32-bit compressed EISA id of "PNP0501"-style names (7 characters:
 * three letters, four hex digits); 0 with a.err set if malformed. */
uint32_t aml_eisaid(struct aml *a, const char *id);

/* Opened objects: each returns the mark aml_end() needs. */
size_t aml_scope(struct aml *a, const char *path);
size_t aml_device(struct aml *a, const char *path);
size_t aml_package(struct aml *a, uint8_t n_elements);
void aml_end(struct aml *a, size_t mark);

/* Name (name, value) */
void aml_name_integer(struct aml *a, const char *name, uint64_t v);
void aml_name_string(struct aml *a, const char *name, const char *s);
void aml_name_eisaid(struct aml *a, const char *name, const char *id);

/* Name (name, ResourceTemplate () { ... }): a Buffer whose contents are
 * resource descriptors.  aml_restemplate_end() appends the End Tag with
 * the checksum of the whole template and inserts the BufferSize. */
size_t aml_name_restemplate(struct aml *a, const char *name);
void aml_restemplate_end(struct aml *a, size_t mark);

/* resource descriptors (ACPI 6.x, 6.4.2 small and 6.4.3 large items) */
void aml_res_io(struct aml *a, uint16_t min, uint16_t max, uint8_t align, uint8_t len);
void aml_res_irq_noflags(struct aml *a, uint16_t mask);
void aml_res_memory32_fixed(struct aml *a, bool rw, uint32_t base, uint32_t len);
#define AML_IRQ_CONSUMER 0x01
#define AML_IRQ_EDGE 0x02               /* 0: level */
#define AML_IRQ_ACTIVE_LOW 0x04         /* 0: active high */
#define AML_IRQ_SHARED 0x08             /* 0: exclusive */
void aml_res_interrupt(struct aml *a, uint8_t flags, uint32_t gsi);

/* Decode a PkgLength at p (n bytes available): returns how many bytes it
 * takes and stores the length it encodes, or -1 if it is malformed or
 * runs past n.  For tests and for checking what was built. */
int aml_pkglength_decode(const uint8_t *p, size_t n, uint32_t *len);

#endif
