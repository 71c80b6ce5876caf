/* vmstate.h - the machine-state stream of savevm/loadvm: sections of
 * typed fields, versioned per section.
 *
 * A machine saves itself as a sequence of sections, one per device, hart
 * and RAM region.  A section has a name ("uart16550"), an instance id
 * (0, 1, ... among sections of one name) and a version, the version of
 * that device's save code; its body is a sequence of typed fields.  The
 * loader finds the device for each section by name and instance and
 * hands it the body with the version it was written with, so code of
 * version N reads what versions 1..N wrote; a section newer than the
 * code is refused.  See doc/design.md ("The VM state") for the layout.
 *
 * The stream a loader reads is untrusted input (an image from anywhere):
 * every read is bounded by the stream's size and by its section's
 * length, every field's type is checked, and devices check every value
 * they use as an index or size (vms_check).  Errors are sticky: after
 * the first, getters return zeros and nothing more is read, so a device's
 * load reads all its fields straight through and the caller looks once
 * at the end (vms_section_finish).  Writers are sticky the same way.
 *
 * The stream reaches its storage through one positioned callback each
 * way (a qcow2 image's VM state area, a buffer in the unit tests).
 */
#ifndef EMU_VMSTATE_H
#define EMU_VMSTATE_H

#include "common.h"
#include "error.h"

#define VMS_MAGIC "EMU-VMS\n"        /* 8 bytes at offset 0 */
#define VMS_FORMAT 1                  /* of the stream's framing, not of sections */
#define VMS_NAME_MAX 63

/* Write LEN bytes at POS / read LEN bytes at POS; 0 or -errno. */
typedef int vms_write_fn(void *opaque, uint64_t pos, const void *buf, size_t len);
typedef int vms_read_fn(void *opaque, uint64_t pos, void *buf, size_t len);

/* ---- writing ---- */
struct vms_out;
int vms_out_new(struct vms_out **out, vms_write_fn *fn, void *opaque, struct error **errp);
/* Start a section (the previous one must be ended). */
void vms_section_begin(struct vms_out *f, const char *name, uint32_t instance,
                       uint32_t version);
void vms_section_end(struct vms_out *f);
void vms_put_u8(struct vms_out *f, uint8_t v);
void vms_put_u16(struct vms_out *f, uint16_t v);
void vms_put_u32(struct vms_out *f, uint32_t v);
void vms_put_u64(struct vms_out *f, uint64_t v);
void vms_put_bool(struct vms_out *f, bool v);
void vms_put_bytes(struct vms_out *f, const void *p, size_t len);
/* End the stream and write out what is buffered: 0 with *size (the
 * stream's length) or the first error of the writer. */
int vms_out_finish(struct vms_out *f, uint64_t *size, struct error **errp);
void vms_out_free(struct vms_out *f);

/* ---- reading ---- */
struct vms_in;
/* A stream of SIZE bytes; checks the magic and the framing version. */
int vms_in_new(struct vms_in **out, vms_read_fn *fn, void *opaque, uint64_t size,
               struct error **errp);
/* The next section's header: 1 (name, instance, version set), 0 at the
 * end of the stream, -errno with a message. */
int vms_in_section(struct vms_in *f, char name[VMS_NAME_MAX + 1], uint32_t *instance,
                   uint32_t *version, struct error **errp);
/* Skip the rest of the current section (a section the caller does not
 * want); 0 or -errno. */
int vms_in_skip(struct vms_in *f, struct error **errp);
uint8_t vms_get_u8(struct vms_in *f);
uint16_t vms_get_u16(struct vms_in *f);
uint32_t vms_get_u32(struct vms_in *f);
uint64_t vms_get_u64(struct vms_in *f);
bool vms_get_bool(struct vms_in *f);
/* A bytes field of exactly LEN bytes. */
void vms_get_bytes(struct vms_in *f, void *p, size_t len);
/* A bytes field of at most MAX bytes: its length (0 after an error). */
size_t vms_get_blob(struct vms_in *f, void *p, size_t max);
/* A bytes field of printable ASCII, at most CAP - 1 bytes: into BUF,
 * terminated (empty after an error).  For names the loader compares
 * and may print. */
void vms_get_str(struct vms_in *f, char *buf, size_t cap);
/* Fail the section with "WHAT out of range" unless OK; returns OK (and
 * false after any earlier error). */
bool vms_check(struct vms_in *f, bool ok, const char *what);
void vms_fail(struct vms_in *f, const char *fmt, ...) EMU_PRINTF(2, 3);
bool vms_failed(const struct vms_in *f);
/* After a device read its section: the first error, or an error if it
 * did not read the whole body; 0 when all is well.  The message names
 * the section. */
int vms_section_finish(struct vms_in *f, struct error **errp);
void vms_in_free(struct vms_in *f);

#endif
