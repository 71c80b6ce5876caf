/* img.c - emu-img: main, the command table and helpers the subcommands
 * share.  Command lines, output and exit codes follow qemu-img. */
#include <config.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "i18n.h"
#include "img.h"
#include "msg.h"
#include "parse.h"
#include "prog.h"
#include "trace.h"

struct img_command {
    const char *name;
    int (*fn)(int argc, char **argv);
};

static const struct img_command img_commands[] = {
    { "amend", img_amend },
    { "anonymize", img_anonymize },
    { "bench", img_bench },
    { "check", img_check },
    { "commit", img_commit },
    { "compare", img_compare },
    { "convert", img_convert },
    { "create", img_create },
    { "dd", img_dd },
    { "info", img_info },
    { "map", img_map },
    { "measure", img_measure },
    { "rebase", img_rebase },
    { "resize", img_resize },
    { "snapshot", img_snapshot },
    { NULL, NULL },
};

static void usage(FILE *fp)
{
    fprintf(fp, _("Usage: %s [standard options] command [command options]\n"
                  "emu disk image utility, with qemu-img's command line\n\n"
                  "    '-h', '--help'       display this help and exit\n"
                  "    '-V', '--version'    output version information and exit\n"
                  "    '-T', '--trace'      [[enable=]<pattern>][,events=<file>][,file=<file>]\n"
                  "                         specify tracing options (EMU_TRACE does the same;\n"
                  "                         '--trace help' lists the events)\n\n"
                  "Command syntax:\n"), msg_progname());
    fputs("  amend [-f fmt] [-p] [-q] -o options filename\n"
          "  anonymize [-f fmt] [-p] [-q] [--scrub-names] [--in-place] [--keep-allocation]"
          " filename [output_filename]\n"
          "  bench [-c count] [-d depth] [-f fmt] [-n] [-o offset] [-q] [-s buffer_size]"
          " [-S step_size] [-t cache] [-w] [-U] filename\n"
          "  check [-q] [--output=ofmt] [-r [leaks | all]] [-f fmt] [-U] filename\n"
          "  commit [-q] [-f fmt] [-t cache] [-b base] [-r rate_limit] [-d] [-p] filename\n"
          "  compare [-f fmt] [-F fmt] [-T src_cache] [-p] [-q] [-s] [-U] filename1"
          " filename2\n"
          "  convert [-c] [-p] [-q] [-n] [-f fmt] [-t cache] [-T src_cache] [-O output_fmt]"
          " [-B backing_file] [-o options] [-l snapshot_param] [-S sparse_size] [-m num_coroutines]"
          " [-W] [--target-is-zero] filename [filename2 [...]] output_filename\n"
          "  create [-q] [-f fmt] [-b backing_file [-F backing_fmt]] [-u] [-o options]"
          " filename [size]\n"
          "  dd [-f fmt] [-O output_fmt] [bs=block_size] [count=blocks] [skip=blocks]"
          " if=input of=output\n"
          "  info [-f fmt] [--output=ofmt] [--backing-chain] [-U] filename\n"
          "  map [-f fmt] [--output=ofmt] [--start-offset=offset] [--max-length=len] [-U]"
          " filename\n"
          "  measure [--output=ofmt] [-O output_fmt] [-o options] [--size N | [-f fmt]"
          " filename]\n"
          "  rebase [-f fmt] [-t cache] [-T src_cache] [-p] [-q] [-u] [-U] -b backing_file"
          " [-F backing_fmt] filename\n"
          "  resize [-f fmt] [--preallocation=prealloc] [-q] [--shrink] filename"
          " [+ | -]size\n"
          "  snapshot [-q] [-l | -a snapshot | -c snapshot | -d snapshot] [-U] filename\n",
          fp);
    fprintf(fp, _("\nSupported formats: %s\n"), "qcow2 raw vdi vhdx vmdk vpc");
}

void img_report(struct error *err)
{
    if (err)
        err_report(err);
}

const struct block_driver *img_format_driver(const char *fmt)
{
    const struct block_driver *drv = blk_find_driver(fmt);
    if (drv && !drv->protocol)
        return drv;
    if (blk_format_known(fmt))
        msg_error(_("Format '%s' is not supported yet"), fmt);
    else
        msg_error(_("Unknown file format '%s'"), fmt);
    return NULL;
}

struct blk *img_open(const char *filename, const char *fmt, int flags)
{
    struct blk *bs = NULL;
    struct error *err = NULL;
    if (blk_open(&bs, filename, fmt, flags, &err) < 0) {
        /* Drivers name the file they fail on ("'x': problem"); when that is
         * the file we opened, say it once, as qemu-img's messages do. */
        const char *m = err_msg(err);
        size_t n = strlen(filename);
        if (m[0] == '\'' && strncmp(m + 1, filename, n) == 0 && strncmp(m + 1 + n, "': ", 3) == 0)
            m += n + 4;
        msg_error(_("Could not open '%s': %s"), filename, m);
        err_free(err);
        return NULL;
    }
    return bs;
}

int img_parse_output(const char *s, enum img_output *out)
{
    if (strcmp(s, "json") == 0) {
        *out = IMG_OUT_JSON;
        return 0;
    }
    if (strcmp(s, "human") == 0) {
        *out = IMG_OUT_HUMAN;
        return 0;
    }
    msg_error(_("--output must be used with human or json as argument."));
    return -1;
}

char *img_opts_append(char *acc, const char *more)
{
    if (!acc)
        return strdup(more);
    size_t a = strlen(acc), m = strlen(more);
    char *n = realloc(acc, a + m + 2);
    if (!n)
        return acc;
    n[a] = ',';
    memcpy(n + a + 1, more, m + 1);
    return n;
}

bool img_is_help_opt(const char *opts)
{
    if (!opts)
        return false;
    const char *p = opts;
    while (*p) {
        size_t n = strcspn(p, ",");
        if ((n == 4 && strncmp(p, "help", 4) == 0) || (n == 1 && *p == '?'))
            return true;
        p += n;
        if (*p)
            p++;
    }
    return false;
}

void img_print_opts_help(const struct block_driver *drv)
{
    printf(_("Supported %s options:\n"), drv->name);
    for (const struct blk_opt_desc *d = drv->create_opts; d && d->name; d++) {
        char left[64];
        const char *type = strcmp(d->type, "bool") == 0 ? "bool (on/off)" : d->type;
        snprintf(left, sizeof(left), "%s=<%s>", d->name, type);
        printf("  %-22s - %s\n", left, _(d->help));
    }
    printf("\n%s\n", _("The protocol level may support further options."));
}

void img_opts_free(char **strings)
{
    if (!strings)
        return;
    for (char **p = strings; *p; p++)
        free(*p);
    free(strings);
}

static int push_str(char ***arr, size_t *n, const char *s, size_t len)
{
    char **a = realloc(*arr, sizeof(char *) * (*n + 2));
    if (!a)
        return -ENOMEM;
    *arr = a;
    a[*n] = strndup(s, len);
    if (!a[*n])
        return -ENOMEM;
    (*n)++;
    a[*n] = NULL;
    return 0;
}

int img_opts_parse(const struct block_driver *drv, const char *opts, struct blk_create_opts *o,
                   char ***set, char **strings_out[], struct error **errp)
{
    char **strings = NULL, **names = NULL;
    size_t ns = 0, nn = 0;
    int r = 0;
    if (!opts)
        goto done;
    if (img_is_help_opt(opts)) {
        img_print_opts_help(drv);
        r = 1;
        goto done;
    }
    /* Split on ',' ("a,,b" is a literal comma). */
    const char *p = opts;
    while (*p && r >= 0) {
        char item[4096];
        size_t k = 0;
        while (*p && k + 1 < sizeof(item)) {
            if (*p == ',' && p[1] == ',') {
                item[k++] = ',';
                p += 2;
            } else if (*p == ',') {
                break;
            } else {
                item[k++] = *p++;
            }
        }
        item[k] = 0;
        if (*p == ',')
            p++;
        if (!k)
            continue;
        char *eq = strchr(item, '=');
        if (!eq) {
            r = err_set(errp, EINVAL, _("Invalid parameter '%s'"), item);
            break;
        }
        *eq = 0;
        const char *key = item, *val = eq + 1;
        const struct blk_opt_desc *d = drv->create_opts;
        while (d && d->name && strcmp(d->name, key) != 0)
            d++;
        if (!d || !d->name) {
            r = err_set(errp, EINVAL, _("Invalid parameter '%s'"), key);
            break;
        }
        r = push_str(&names, &nn, key, strlen(key));
        if (r < 0)
            break;
        if (strcmp(key, "size") == 0) {
            r = parse_size(val, &o->size, errp);
            o->has_size = true;
        } else if (strcmp(key, "backing_file") == 0) {
            r = push_str(&strings, &ns, val, strlen(val));
            if (r >= 0)
                o->backing_file = strings[ns - 1];
        } else if (strcmp(key, "backing_fmt") == 0) {
            r = push_str(&strings, &ns, val, strlen(val));
            if (r >= 0)
                o->backing_fmt = strings[ns - 1];
        } else if (strcmp(key, "cluster_size") == 0) {
            r = parse_size(val, &o->cluster_size, errp);
        } else if (strcmp(key, "compat") == 0) {
            if (strcmp(val, "0.10") == 0 || strcmp(val, "v2") == 0)
                o->compat = 2;
            else if (strcmp(val, "1.1") == 0 || strcmp(val, "v3") == 0)
                o->compat = 3;
            else
                r = err_set(errp, EINVAL, _("Invalid compatibility level: '%s'"), val);
        } else if (strcmp(key, "lazy_refcounts") == 0) {
            r = parse_bool(key, val, &o->lazy_refcounts, errp);
        } else if (strcmp(key, "subformat") == 0) {
            r = push_str(&strings, &ns, val, strlen(val));
            if (r >= 0)
                o->subformat = strings[ns - 1];
            if (strcmp(val, "fixed") == 0)
                o->fixed = true;
            else if (strcmp(val, "dynamic") == 0)
                o->fixed = false;
            else if (strcmp(drv->name, "vmdk") != 0)  /* vmdk checks its own */
                r = err_set(errp, EINVAL, _("Invalid subformat '%s'"), val);
        } else if (strcmp(key, "adapter_type") == 0 || strcmp(key, "hwversion") == 0 ||
                   strcmp(key, "toolsversion") == 0) {
            r = push_str(&strings, &ns, val, strlen(val));
            if (r >= 0 && key[0] == 'a')
                o->adapter_type = strings[ns - 1];
            else if (r >= 0 && key[0] == 'h')
                o->hwversion = strings[ns - 1];
            else if (r >= 0)
                o->toolsversion = strings[ns - 1];
        } else if (strcmp(key, "block_size") == 0) {
            r = parse_size(val, &o->block_size, errp);
            o->has_block_size = true;
        } else if (strcmp(key, "log_size") == 0) {
            r = parse_size(val, &o->log_size, errp);
        } else if (strcmp(key, "block_state_zero") == 0) {
            bool on = true;
            r = parse_bool(key, val, &on, errp);
            o->block_state_zero_off = !on;
            o->has_block_state_zero = true;
        } else if (strcmp(key, "compat6") == 0) {
            r = parse_bool(key, val, &o->compat6, errp);
        } else if (strcmp(key, "zeroed_grain") == 0) {
            r = parse_bool(key, val, &o->zeroed_grain, errp);
        } else if (strcmp(key, "static") == 0) {
            r = parse_bool(key, val, &o->fixed, errp);
        } else if (strcmp(key, "extended_l2") == 0) {
            r = parse_bool(key, val, &o->extended_l2, errp);
        } else if (strcmp(key, "refcount_bits") == 0) {
            uint64_t v;
            r = parse_u64(key, val, 1, 64, &v, errp);
            o->refcount_bits = (int)v;
        } else if (strcmp(key, "compression_type") == 0) {
            if (strcmp(val, "zlib") == 0)
                o->compression_type = 0;
            else if (strcmp(val, "zstd") == 0)
                o->compression_type = 1;
            else
                r = err_set(errp, EINVAL, _("Invalid compression type '%s'"), val);
        } else if (strcmp(key, "preallocation") == 0) {
            r = blk_prealloc_parse(val, &o->prealloc, errp);
        }
    }
done:
    if (r < 0) {
        img_opts_free(strings);
        img_opts_free(names);
        return r;
    }
    if (set)
        *set = names;
    else
        img_opts_free(names);
    *strings_out = strings;
    return r;
}

void img_size_str(char *buf, size_t len, uint64_t val)
{
    static const char *const suffixes[] = { "", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei" };
    int e;
    frexp((double)val / (1000.0 / 1024.0), &e);
    int i = (e - 1) / 10;
    if (i < 0)
        i = 0;
    if (i > 6)
        i = 6;
    double div = (double)(UINT64_C(1) << (i * 10));
    snprintf(buf, len, "%0.3g %sB", (double)val / div, suffixes[i]);
}

void img_progress(bool on, double pct)
{
    if (!on)
        return;
    printf("    (%3.2f/100%%)\r", pct);
    fflush(stdout);
}

void img_progress_end(bool on)
{
    if (!on)
        return;
    printf("    (%3.2f/100%%)\n", 100.0);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    if (prog_init(argc, argv) < 0)
        return IMG_FAIL;
    msg_set_progname("emu-img");
    if (argc < 2) {
        msg_error(_("Not enough arguments"));
        msg_error(_("Try '%s --help' for more information"), "emu-img");
        return IMG_FAIL;
    }
    /* Standard options before the command, as qemu-img has them. */
    while (argc >= 2 && (strcmp(argv[1], "-T") == 0 || strcmp(argv[1], "--trace") == 0 ||
                         strncmp(argv[1], "--trace=", 8) == 0)) {
        bool joined = argv[1][1] == '-' && argv[1][7] == '=';
        if (!joined && argc < 3) {
            msg_error(_("option '%s' requires an argument"), argv[1]);
            return IMG_FAIL;
        }
        const char *spec = joined ? argv[1] + 8 : argv[2];
        int shift = joined ? 1 : 2;
        struct error *err = NULL;
        int r = trace_opt_parse(spec, &err);
        if (r < 0) {
            err_report(err);
            return IMG_FAIL;
        }
        if (r == 1)
            return 0;
        argc -= shift;
        argv += shift;
    }
    if (argc < 2) {
        msg_error(_("Not enough arguments"));
        return IMG_FAIL;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "-V") == 0 || strcmp(cmd, "--version") == 0) {
        prog_print_version(stdout);
        return 0;
    }
    for (const struct img_command *c = img_commands; c->name; c++) {
        if (strcmp(c->name, cmd) == 0)
            return c->fn(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "bitmap") == 0) {
        msg_error(_("Command '%s' is not supported yet"), cmd);
        return IMG_FAIL;
    }
    msg_error(_("Command not found: %s"), cmd);
    return IMG_FAIL;
}
