/* jobs.h - QMP's snapshot jobs (snapshot-save, -load, -delete), query-jobs
 * and job-dismiss, with JOB_STATUS_CHANGE events; see jobs.c. */
#ifndef EMU_SYSTEM_JOBS_H
#define EMU_SYSTEM_JOBS_H

#include "loop.h"
#include "qmp.h"

/* Jobs run from bottom halves of LOOP (before the monitors start). */
void jobs_init(struct loop *loop);
void jobs_free(void);

qmp_fn jobs_qmp_snapshot_save, jobs_qmp_snapshot_load, jobs_qmp_snapshot_delete;
qmp_fn jobs_qmp_query_jobs, jobs_qmp_job_dismiss;
extern const struct qmp_arg jobs_snapshot_args[];          /* save and load */
extern const struct qmp_arg jobs_snapshot_delete_args[];
extern const struct qmp_arg jobs_id_args[];                /* job-dismiss */

#endif
