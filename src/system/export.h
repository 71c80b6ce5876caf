/* export.h - a running machine's disks over NBD: the QMP and HMP commands
 * (nbd-server-start/-add/-remove/-stop, block-export-add/-del,
 * query-block-exports, query-named-block-nodes; nbd_server_* in HMP).
 *
 * The NBD server (nbd/nbd.h) runs on the machine's loop and worker pool.
 * A disk the guest may write is exported as a point-in-time view
 * (lib/block/cbw.h): the export shows the disk exactly as it was when it
 * was added, while the guest goes on writing.  Read-only disks and the
 * images of a backing chain (which nothing writes) are exported as they
 * are.  Exports are read-only.
 *
 * Node names: a drive's top node is its id (-drive id=, -blockdev
 * node-name=), as query-block reports it; the images of its backing chain
 * are ID-backing1 (its backing file), ID-backing2 (that one's), and so
 * on; query-named-block-nodes lists them all.
 *
 * Everything runs in the loop thread, as every monitor command does.
 */
#ifndef EMU_SYSTEM_EXPORT_H
#define EMU_SYSTEM_EXPORT_H

#include "hmp.h"
#include "qmp.h"

/* QMP commands, for monitor.c's table. */
qmp_fn export_qmp_nbd_server_start;
qmp_fn export_qmp_nbd_server_add;
qmp_fn export_qmp_nbd_server_remove;
qmp_fn export_qmp_nbd_server_stop;
qmp_fn export_qmp_block_export_add;
qmp_fn export_qmp_block_export_del;
qmp_fn export_qmp_query_block_exports;
qmp_fn export_qmp_query_named_block_nodes;
extern const struct qmp_arg export_nbd_server_start_args[];
extern const struct qmp_arg export_nbd_server_add_args[];
extern const struct qmp_arg export_nbd_server_remove_args[];
extern const struct qmp_arg export_block_export_add_args[];
extern const struct qmp_arg export_block_export_del_args[];
extern const struct qmp_arg export_query_named_block_nodes_args[];

/* HMP commands, for hmp.c's table. */
hmp_fn hmp_nbd_server_start;    /* [-a] [-w] host:port | unix:PATH */
hmp_fn hmp_nbd_server_add;      /* [-w] device [name] */
hmp_fn hmp_nbd_server_remove;   /* [-f] name */
hmp_fn hmp_nbd_server_stop;

/* Whether point-in-time exports of running disks exist: whatever changes
 * a disk behind the block layer's write paths (loadvm reverting it to an
 * internal snapshot) must refuse then, or the views would show the change. */
bool export_has_views(void);

/* At exit, before the monitor, the pool and the drives go: end the
 * server and every export at once. */
void export_cleanup(void);

#endif
