/* savevm.h - internal snapshots of a running machine: savevm, loadvm,
 * delvm and "info snapshots" (HMP), blockdev-snapshot-internal-sync and
 * blockdev-snapshot-delete-internal-sync (QMP), -loadvm.
 *
 * As QEMU's: every writable disk gets a snapshot of the name, and the
 * first of them (in -drive order) also its VM state: the machine's RAM,
 * CPUs and devices (hw/machine-state.h) in the qcow2 image's VM state
 * area.  A writable disk that cannot keep snapshots stops the command.
 * The machine pauses while it is saved or loaded and runs on afterwards
 * if it ran before.  All of it in the loop thread.
 */
#ifndef EMU_SYSTEM_SAVEVM_H
#define EMU_SYSTEM_SAVEVM_H

#include "common.h"
#include "error.h"
#include "hmp.h"
#include "qmp.h"

struct monitor_host;

/* The machine of the commands: main's host side (set once, before the
 * monitors start; -loadvm needs it without any monitor). */
void savevm_set_host(struct monitor_host *h);

/* NAME "" or NULL: a name from the date, as QEMU makes it.  A snapshot
 * of that name is replaced. */
int savevm_save(const char *name, struct error **errp);
int savevm_load(const char *name, struct error **errp);
int savevm_delete(const char *name, struct error **errp);

hmp_fn hmp_savevm, hmp_loadvm, hmp_delvm, hmp_info_snapshots;

qmp_fn savevm_qmp_internal_snapshot, savevm_qmp_delete_internal_snapshot;
extern const struct qmp_arg savevm_internal_snapshot_args[];
extern const struct qmp_arg savevm_delete_internal_snapshot_args[];

#endif
