/* img.h - what the emu-img subcommands share: option helpers, image
 * opening with qemu-img's messages, the JSON writer and size printing. */
#ifndef EMU_IMG_H
#define EMU_IMG_H

#include <stdio.h>
#include "common.h"
#include "error.h"
#include "block/block.h"

/* Exit status for a failed command (qemu-img uses 1). */
#define IMG_FAIL 1

int img_create(int argc, char **argv);
int img_info(int argc, char **argv);
int img_check(int argc, char **argv);
int img_convert(int argc, char **argv);
int img_compare(int argc, char **argv);
int img_map(int argc, char **argv);
int img_measure(int argc, char **argv);
int img_resize(int argc, char **argv);
int img_snapshot(int argc, char **argv);
int img_rebase(int argc, char **argv);
int img_commit(int argc, char **argv);
int img_amend(int argc, char **argv);
int img_dd(int argc, char **argv);
int img_bench(int argc, char **argv);
int img_anonymize(int argc, char **argv);

enum img_output { IMG_OUT_HUMAN, IMG_OUT_JSON };
int img_parse_output(const char *s, enum img_output *out);

/* Open an image and print the error (qemu-img style) on failure. */
/* The format driver that creates images of FMT, or NULL after printing
 * why not (unknown, or known but not supported yet). */
const struct block_driver *img_format_driver(const char *fmt);
struct blk *img_open(const char *filename, const char *fmt, int flags);
/* Print "emu-img: message" for an error and free it. */
void img_report(struct error *err);
/* "-o a=b,c=d": append to an accumulated option string. */
char *img_opts_append(char *acc, const char *more);
/* Apply an option string to create options; "help" prints the list for
 * DRV and returns 1.  SET receives the names given (NULL-terminated,
 * caller frees the array) when non-NULL. */
int img_opts_parse(const struct block_driver *drv, const char *opts,
                   struct blk_create_opts *o, char ***set, char **strings_out[],
                   struct error **errp);
void img_opts_free(char **strings);
void img_print_opts_help(const struct block_driver *drv);
bool img_is_help_opt(const char *opts);

/* qemu's human size: "396 KiB", "2 GiB", "0 B". */
void img_size_str(char *buf, size_t len, uint64_t val);

/* qemu-img's --output=json layout. */
struct json {
    FILE *fp;
    int depth;
    bool first[32];
};
void json_init(struct json *j, FILE *fp);
void json_obj_begin(struct json *j, const char *key);
void json_obj_end(struct json *j);
void json_arr_begin(struct json *j, const char *key);
void json_arr_end(struct json *j);
void json_int(struct json *j, const char *key, int64_t v);
void json_uint(struct json *j, const char *key, uint64_t v);
void json_str(struct json *j, const char *key, const char *s);
void json_bool(struct json *j, const char *key, bool b);
void json_finish(struct json *j);

/* Progress line "    (12.34/100%)" for -p. */
void img_progress(bool on, double pct);
void img_progress_end(bool on);

#endif
