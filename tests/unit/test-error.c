/* test-error.c - the error convention: codes, messages, prefix, propagate. */
#include <config.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include "error.h"
#include "msg.h"
#include "unit.h"

static int fail_open(const char *path, struct error **errp)
{
    return err_set_errno(errp, ENOENT, "cannot open '%s'", path);
}

int main(void)
{
    struct error *err = NULL;

    CHECK(fail_open("disk.qcow2", &err) == -ENOENT);
    CHECK(err != NULL);
    CHECK(err_code(err) == ENOENT);
    CHECK_CONTAINS(err_msg(err), "cannot open 'disk.qcow2'");
    CHECK_CONTAINS(err_msg(err), strerror(ENOENT));

    /* The first message wins; the second is dropped without a leak. */
    CHECK(err_set(&err, EINVAL, "second") == -EINVAL);
    CHECK(err_code(err) == ENOENT);

    err_prefix(&err, "opening backing file of '%s'", "top.qcow2");
    CHECK_CONTAINS(err_msg(err), "opening backing file of 'top.qcow2': cannot open");

    /* NULL errp: still returns the code. */
    CHECK(fail_open("x", NULL) == -ENOENT);
    err_prefix(NULL, "nothing");

    /* Propagate into an empty slot, and into a full one (frees src). */
    struct error *dst = NULL, *other = NULL;
    err_propagate(&dst, err);
    CHECK(dst == err);
    err_set(&other, EIO, "other");
    err_propagate(&dst, other);
    CHECK(dst == err);
    err_propagate(NULL, NULL);

    /* A zero code still yields a failure class. */
    struct error *z = NULL;
    CHECK(err_set(&z, 0, "no code") == -EIO);
    err_free(z);

    /* err_report prints one line "prog: message" on the message channel. */
    char buf[512] = "";
    FILE *fp = fmemopen(buf, sizeof(buf), "w");
    msg_set_progname("/usr/bin/emu-test");
    msg_set_stream(fp);
    err_report(dst);
    msg_set_stream(NULL);
    fclose(fp);
    CHECK_CONTAINS(buf, "emu-test: opening backing file of 'top.qcow2': cannot open 'disk.qcow2'");
    CHECK(strchr(buf, '\n') == buf + strlen(buf) - 1);
    return unit_result();
}
