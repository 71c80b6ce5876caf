/* main.c - emu-user-riscv64: run a static riscv64 Linux program.
 *
 *     emu-user-riscv64 [options] program [arguments...]
 *
 * Parses the options, loads the program, and runs the translator's loop,
 * handling what comes back: system calls, faults and illegal instructions
 * (as guest signals), breakpoints.
 */
#include <config.h>

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/auxv.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "user.h"
#include "riscv/riscv.h"
#include "i18n.h"
#include "log.h"
#include "msg.h"
#include "parse.h"
#include "prog.h"
#include "trace.h"

extern char **environ;

static char **env_owned;    /* the environment array after -E/-U */

static void usage(FILE *fp)
{
    fprintf(fp, _("Usage: %s [options] program [arguments...]\n"
                  "Run a riscv64 Linux program (static or dynamic) or script.\n"
                  "\n"
                  "Options:\n"
                  "  -L PREFIX        look up absolute paths (the ELF interpreter, libraries,\n"
                  "                   files) below PREFIX first (also EMU_LD_PREFIX)\n"
                  "  -g PORT          wait for gdb (target remote :PORT) before the first instruction\n"
                  "  -d CAT[,CAT...]  log categories (-d help lists them)\n"
                  "  -D FILE          write the log to FILE\n"
                  "  -trace [[enable=]PATTERN][,events=FILE][,file=FILE]\n"
                  "                   enable trace events (also -d trace:PATTERN and\n"
                  "                   EMU_TRACE; -trace help lists them)\n"
                  "  -strace          log system calls with decoded arguments\n"
                  "  -cpu MODEL       rv64 plus extensions, e.g. rv64gc, rv64imac, rv64gc_zba_zbb_zbs\n"
                  "  -E VAR=VALUE     set a variable in the program's environment\n"
                  "  -U VAR           remove a variable from the program's environment\n"
                  "  -0 ARGV0         pass ARGV0 as the program's argv[0]\n"
                  "  -interp          run on the reference interpreter instead of the translator\n"
                  "  -compare         run translator and interpreter block by block, stop at a difference\n"
                  "  -h, --help       show this help\n"
                  "  --version        show the version\n"),
            msg_progname());
}

static int parse_cpu(const char *s, uint64_t *out)
{
    if (strncmp(s, "rv64", 4) != 0)
        return -1;
    s += 4;
    uint64_t f = RV_EXT_I;
    for (; *s && *s != '_'; s++) {
        switch (*s) {
        case 'i': f |= RV_EXT_I; break;
        case 'm': f |= RV_EXT_M; break;
        case 'a': f |= RV_EXT_A; break;
        case 'f': f |= RV_EXT_F; break;
        case 'd': f |= RV_EXT_D | RV_EXT_F; break;
        case 'c': f |= RV_EXT_C; break;
        case 'g': f |= RV_EXT_M | RV_EXT_A | RV_EXT_F | RV_EXT_D; break;
        default: return -1;
        }
    }
    while (*s == '_') {
        s++;
        size_t n = strcspn(s, "_");
        if (n == 3 && strncmp(s, "zba", 3) == 0) f |= RV_EXT_ZBA;
        else if (n == 3 && strncmp(s, "zbb", 3) == 0) f |= RV_EXT_ZBB;
        else if (n == 3 && strncmp(s, "zbs", 3) == 0) f |= RV_EXT_ZBS;
        else if (n == 5 && strncmp(s, "zicsr", 5) == 0) ;
        else if (n == 8 && strncmp(s, "zifencei", 8) == 0) ;
        else return -1;
        s += n;
    }
    *out = f;
    return 0;
}

/* Environment edits from -E/-U, applied to a copy of ours. */
static char **env_edit(char **env, const char *set, const char *unset)
{
    size_t n = 0;
    while (env[n])
        n++;
    char **e = calloc(n + 2, sizeof(*e));
    if (!e)
        return NULL;
    size_t k = 0;
    const char *name = set ? set : unset;
    size_t nl = strcspn(name, "=");
    bool replaced = false;
    for (size_t i = 0; i < n; i++) {
        if (strncmp(env[i], name, nl) == 0 && env[i][nl] == '=') {
            if (set && !replaced) {
                e[k++] = (char *)set;
                replaced = true;
            }
            continue;
        }
        e[k++] = env[i];
    }
    if (set && !replaced)
        e[k++] = (char *)set;
    e[k] = NULL;
    return e;
}

int main(int argc, char **argv)
{
    if (prog_init(argc, argv) < 0)
        return 1;
    struct error *err = NULL;
    uint64_t features = RV_EXT_ALL;
    const char *argv0 = NULL;
    enum tr_mode mode = TR_MODE_JIT;
    char **env = environ;
    const char *sysroot = getenv("EMU_LD_PREFIX");
    const char *cpu_model = NULL;
    int gdb_port = 0;
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *o = argv[i];
        const char *arg = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(o, "-h") == 0 || strcmp(o, "--help") == 0 || strcmp(o, "-help") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(o, "--version") == 0 || strcmp(o, "-version") == 0) {
            prog_print_version(stdout);
            return 0;
        } else if (strcmp(o, "-strace") == 0) {
            log_enable("strace", NULL);
        } else if (strcmp(o, "-interp") == 0) {
            mode = TR_MODE_INTERP;
        } else if (strcmp(o, "-compare") == 0) {
            mode = TR_MODE_COMPARE;
        } else if (strcmp(o, "--") == 0) {
            i++;
            break;
        } else if (!arg) {
            msg_error(_("option '%s' needs an argument (try --help)"), o);
            return 1;
        } else if (strcmp(o, "-d") == 0) {
            int r = log_enable(arg, &err);
            if (r < 0) {
                err_report(err);
                return 1;
            }
            if (r == 1)
                return 0;
            i++;
        } else if (strcmp(o, "-D") == 0) {
            if (log_set_file(arg, &err) < 0) {
                err_report(err);
                return 1;
            }
            i++;
        } else if (strcmp(o, "-trace") == 0 || strcmp(o, "--trace") == 0) {
            int r = trace_opt_parse(arg, &err);
            if (r < 0) {
                err_report(err);
                return 1;
            }
            if (r == 1)
                return 0;
            i++;
        } else if (strcmp(o, "-cpu") == 0) {
            if (parse_cpu(arg, &features) < 0) {
                msg_error(_("unknown CPU model '%s' (use e.g. rv64gc_zba_zbb_zbs)"), arg);
                return 1;
            }
            cpu_model = arg;
            i++;
        } else if (strcmp(o, "-g") == 0) {
            if (parse_int("-g", arg, 1, 65535, &gdb_port, &err) < 0) {
                err_report(err);
                return 1;
            }
            i++;
        } else if (strcmp(o, "-L") == 0) {
            sysroot = arg;
            i++;
        } else if (strcmp(o, "-E") == 0 || strcmp(o, "-U") == 0) {
            char **e = env_edit(env, o[1] == 'E' ? arg : NULL, o[1] == 'U' ? arg : NULL);
            if (!e) {
                msg_error(_("out of memory"));
                return 1;
            }
            free(env_owned);    /* the strings are shared, only the array is ours */
            env_owned = e;
            env = e;
            i++;
        } else if (strcmp(o, "-0") == 0) {
            argv0 = arg;
            i++;
        } else {
            msg_error(_("unknown option '%s' (try --help)"), o);
            return 1;
        }
    }
    if (i >= argc) {
        usage(stderr);
        return 1;
    }
    /* started by binfmt_misc with the P flag: argv is interpreter, the
     * program's full path, its argv[0], its arguments */
    long execfd = (long)getauxval(AT_EXECFD);
    if (execfd > 2)
        close((int)execfd);     /* flag O/C: we open the program by its path */
    bool via_binfmt = execfd > 0;
    if (i == 1 && (getauxval(AT_FLAGS) & 1 /* AT_FLAGS_PRESERVE_ARGV0 */) && argc >= 3) {
        argv0 = argv[2];
        argv[2] = argv[1];
        i = 2;
        via_binfmt = true;
    }
    char sysroot_buf[PATH_MAX];
    if (sysroot && *sysroot) {
        if (!realpath(sysroot, sysroot_buf)) {
            msg_error(_("cannot use '%s' as the sysroot: %s"), sysroot, strerror(errno));
            return 1;
        }
        sysroot = strcmp(sysroot_buf, "/") == 0 ? NULL : sysroot_buf;
    } else {
        sysroot = NULL;
    }

    static struct user u;
    static struct uthread main_thread;
    struct cpu *cpu_p = &main_thread.cpu;
    main_thread.u = &u;
    user_thread = &main_thread;
    main_thread.tid = gettid();
    u.n_threads = 1;
    u.cpu = cpu_p;
    pthread_mutex_init(&u.threads_lock, NULL);
    user_thread_register(&u, &main_thread);
    u.sysroot = sysroot;
    u.cpu_model = cpu_model;
    u.via_binfmt = via_binfmt;
    u.gdb_fd = -1;
    u.emu_argv0 = argv[0];
    char self[PATH_MAX];
    ssize_t sn = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (sn > 0) {
        self[sn] = 0;
        u.emu_path = strdup(self);
    } else {
        u.emu_path = argv[0];
    }
    u.rlim_as.rlim_cur = u.rlim_as.rlim_max = RLIM_INFINITY;
    /* an execve by an emulated parent left its guest's blocked signals as
     * our host mask (syscall-proc.c): they are the guest's now */
    sigset_t hostmask, none;
    sigemptyset(&none);
    pthread_sigmask(SIG_SETMASK, &none, &hostmask);
    for (int sig = 1; sig < 32; sig++)
        if (sigismember(&hostmask, sig))
            main_thread.blocked |= UINT64_C(1) << (sig - 1);
    user_signals_init(&u);
#define cpu (*cpu_p)
    /* the program given on our command line may be a guest path too */
    const char *prog = argv[i];
    char prog_buf[PATH_MAX];
    if (sysroot && prog[0] == '/')
        prog = user_path(&u, prog, prog_buf, sizeof(prog_buf));
    u.exe_path = prog;
    cpu.features = features;
    cpu.res_addr = ~UINT64_C(0);
    if (gmem_init(&u.mem, &err) < 0) {
        err_report(err);
        return 1;
    }
    u.mem.sysroot = sysroot;
    cpu.guest_base = (uint64_t)(uintptr_t)u.mem.base;
    if (elf_load(&u, prog, argv + i, argc - i, env, argv0, &err) < 0) {
        err_report(err);
        return 1;
    }
    if (tr_new(&u.tr, &rv_frontend, &x86_backend, mode, features, gmem_fetch16, &u.mem,
               &err) < 0 || tr_install_fault_handler(&err) < 0) {
        err_report(err);
        return 1;
    }
    u.tr->on_translate = gmem_code_translated;
    u.tr->on_flush = gmem_code_flushed;
    u.tr->is_code_page = gmem_is_code_page;
    u.tr->mem_opaque = &u.mem;
    rv_fp_load_mode(&cpu);
    if (gdb_port) {
        if (gdb_listen(&u, gdb_port) < 0)
            return 1;
        gdb_stop(&u, SIGTRAP);
    }
    if (user_run(&u, &main_thread) < 0)
        return 2;
    gdb_exited(&u, u.exit_code);
    if (mode == TR_MODE_COMPARE && log_on(LOG_EXEC))
        log_msg(LOG_EXEC, "compared %" PRIu64 " blocks", u.tr->compared_blocks);
    fflush(NULL);
    return u.exit_code;
}
