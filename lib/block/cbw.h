/* cbw.h - point-in-time views of a node that goes on being written
 * (copy-before-write).
 *
 * cbw_open() makes a read-only node that shows SRC exactly as it is when
 * the call returns, however SRC is written afterwards:
 *
 *     struct blk *view;
 *     cbw_open(&view, drive->bs, "disk0", &err);   // the moment
 *     ... the guest goes on writing drive->bs; NBD reads view ...
 *     blk_close(view);                              // SRC is left alone
 *
 * Before a write (write-zeroes, discard) reaches a cluster of SRC that is
 * not preserved yet, a before-write hook on SRC (blk_add_write_hook)
 * copies the cluster's old content into a temporary store (an unlinked
 * sparse file in $TMPDIR, at the cluster's own offset) and marks it in a
 * bitmap.  Reads of the view take preserved clusters from the store and
 * the others from SRC.
 *
 * The lock: one mutex per view, held by the hook while it checks and
 * copies, and by a read while it reads clusters not yet preserved from
 * SRC (and while block status looks at them).  So a cluster a read finds
 * unpreserved cannot change under it: the writer waits in the hook.  A
 * preserved cluster's copy never changes again, so reads take those from
 * the store after letting go of the lock.
 * Writes in flight when the view is made are waited for (the attach takes
 * SRC's hook_lock for writing).  Lock order: SRC's hook_lock (read, in
 * writers) -> the view's mutex -> SRC's own driver lock.
 *
 * A copy that fails (the store's file system is full, a read error)
 * breaks the view, not the guest: the write goes on, and reads of the
 * view fail with the copy's error from then on (qemu's
 * on-cbw-error=break-snapshot).
 *
 * SRC must stay open until the view is closed, and its size must not
 * change meanwhile (nothing resizes a running disk today); writes that
 * bypass SRC's write paths (loading an internal snapshot into it) are not
 * seen: close the views first.
 */
#ifndef EMU_BLOCK_CBW_H
#define EMU_BLOCK_CBW_H

#include "block.h"

/* Open a view of SRC named NAME (for messages).  Waits for SRC's writes
 * in flight; never call it from a thread that is inside a write of SRC.
 * Returns 0 or -errno with *errp set. */
int cbw_open(struct blk **out, struct blk *src, const char *name, struct error **errp);

/* What a view holds, for the monitor and tests. */
struct cbw_stats {
    uint64_t cluster_size;
    uint64_t preserved;         /* clusters copied into the store (or zero) */
    int err;                    /* 0, or the -errno that broke the view */
};
void cbw_get_stats(struct blk *view, struct cbw_stats *st);

#endif
