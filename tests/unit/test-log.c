/* test-log.c - categories, -d parsing, EMU_LOG, output format. */
#include <config.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include "log.h"
#include "unit.h"

int main(void)
{
    struct error *err = NULL;
    CHECK(!log_on(LOG_LOOP));
    CHECK(log_enable("loop,nbd", &err) == 0);
    CHECK(log_on(LOG_LOOP));
    CHECK(log_on(LOG_NBD));
    CHECK(!log_on(LOG_BLOCK));

    CHECK(log_enable("loop,bogus", &err) == -EINVAL);
    CHECK_CONTAINS(err_msg(err), "unknown log category 'bogus'");
    err_free(err);
    err = NULL;
    CHECK(!log_on(LOG_POOL)); /* a failed spec changes nothing */

    log_mask = 0;
    setenv("EMU_LOG", "block,in_asm", 1);
    char path[] = "/tmp/emu-test-log-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    setenv("EMU_LOG_FILE", path, 1);
    CHECK(log_init_from_env(&err) == 0);
    CHECK(log_on(LOG_BLOCK) && log_on(LOG_IN_ASM) && !log_on(LOG_LOOP));
    log_msg(LOG_BLOCK, "read %d bytes", 4096);
    log_close();
    char buf[256] = "";
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    CHECK(n > 0);
    CHECK(strcmp(buf, "[block] read 4096 bytes\n") == 0);
    close(fd);
    unlink(path);

    setenv("EMU_LOG", "nope", 1);
    unsetenv("EMU_LOG_FILE");
    CHECK(log_init_from_env(&err) == -EINVAL);
    CHECK_CONTAINS(err_msg(err), "EMU_LOG: unknown log category 'nope'");
    err_free(err);

    log_mask = 0;
    CHECK(log_enable("all", NULL) == 0);
    for (int i = 0; i < LOG_CATEGORY_COUNT; i++)
        CHECK(log_on((enum log_category)i));
    return unit_result();
}
