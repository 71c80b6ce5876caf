/* emu-nbd.c - export disk images over NBD, with qemu-nbd's command line.
 *
 * Several exports from one process: every FILE on the command line is one
 * export, and the per-export options (-x -D -f -r -o -s --cache --discard
 * --detect-zeroes) given before a FILE apply to that FILE only:
 *
 *     emu-nbd -t -k sock -x disk -f qcow2 vm.qcow2 -x iso -r cd.iso
 *
 * With a single FILE they may stand anywhere, as with qemu-nbd. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "block/block.h"
#include "i18n.h"
#include "log.h"
#include "msg.h"
#include "nbd.h"
#include "parse.h"
#include "prog.h"
#include "trace.h"

/* Worker threads: enough to keep two disks and a few connections busy;
 * more only queue on the same inode lock and burn CPU switching. */
#define NBD_WORKERS 16

enum {
    OPT_CACHE = 256, OPT_DISCARD, OPT_DETECT_ZEROES, OPT_FORK, OPT_PID_FILE,
    OPT_TLS_CREDS, OPT_TLS_PSK_FILE, OPT_TLS_REQUIRED, OPT_TLS_HOSTNAME, OPT_TLS_USER,
    OPT_TLS_VERIFY_PEER,
};

/* Per-export settings; SET says which were given since the last FILE. */
struct export_opts {
    const char *name, *desc, *fmt, *cache, *discard, *dz;
    uint64_t offset;
    bool read_only, snapshot;
    unsigned set;
};

enum { S_NAME = 1, S_DESC = 2, S_FMT = 4, S_CACHE = 8, S_DISCARD = 16, S_DZ = 32,
       S_OFFSET = 64, S_RO = 128, S_SNAP = 256 };

struct export_arg {
    const char *file;
    struct export_opts o;
    struct blk *blk;
};

struct nbd_main {
    struct loop *loop;
    struct nbd_server *srv;
    bool persistent, had_client, quitting;
};

static void usage(FILE *fp)
{
    fprintf(fp, _("Usage: %s [OPTION]... FILE [[OPTION]... FILE]...\n"
                  "       %s -L [-k SOCKET | -b ADDR -p PORT]\n"
                  "Export disk images over the NBD protocol (qemu-nbd's command line).\n\n"
                  "  -h, --help                display this help and exit\n"
                  "  -V, --version             output version information and exit\n\n"
                  "Connection:\n"
                  "  -p, --port=PORT           TCP port to listen on (default 10809)\n"
                  "  -b, --bind=IFACE          address to listen on (default 0.0.0.0)\n"
                  "  -k, --socket=PATH         listen on a Unix socket\n"
                  "  -L, --list                list the exports of a running server\n"
                  "  -e, --shared=NUM          serve NUM clients at a time (default 1, 0: any)\n"
                  "  -t, --persistent          keep serving after the last client leaves\n"
                  "      --fork                run in the background once listening\n"
                  "      --pid-file=PATH       write the server's process id to PATH\n"
                  "      --tls-creds=DIR       offer TLS with DIR/server-cert.pem and\n"
                  "                            DIR/server-key.pem (and DIR/ca-cert.pem)\n"
                  "      --tls-psk-file=FILE   offer TLS with pre-shared keys (username:hexkey)\n"
                  "      --tls-required        refuse clients that do not use TLS\n"
                  "      --tls-verify-peer     with --tls-creds: accept only clients with a\n"
                  "                            certificate signed by DIR/ca-cert.pem\n"
                  "      --tls-hostname=NAME   with -L: the name the server's certificate must\n"
                  "                            carry (default: the -b address)\n"
                  "      --tls-user=NAME       with -L and --tls-psk-file: whose key to use\n"
                  "                            (default: the file's first)\n"
                  "  -v, --verbose             log the protocol to stderr\n"
                  "  -T, --trace=[[enable=]PATTERN][,events=FILE][,file=FILE]\n"
                  "                            enable trace events (EMU_TRACE does the same;\n"
                  "                            --trace help lists them)\n\n"
                  "Per export (before its FILE; anywhere when there is one FILE):\n"
                  "  -x, --export-name=NAME    the export's name (default \"\")\n"
                  "  -D, --description=TEXT    the export's description\n"
                  "  -f, --format=FORMAT       image format (default: probed)\n"
                  "  -r, --read-only           export read-only\n"
                  "  -s, --snapshot            writes go to a temporary overlay\n"
                  "  -o, --offset=OFFSET       the export starts at OFFSET in the image\n"
                  "  -n, --nocache             same as --cache=none\n"
                  "      --cache=MODE          none, writeback (default), writethrough,\n"
                  "                            directsync or unsafe\n"
                  "      --discard=MODE        ignore (default) or unmap\n"
                  "      --detect-zeroes=MODE  off (default), on or unmap\n"),
            msg_progname(), msg_progname());
}

static const struct option long_opts[] = {
    { "help", no_argument, NULL, 'h' },
    { "version", no_argument, NULL, 'V' },
    { "port", required_argument, NULL, 'p' },
    { "bind", required_argument, NULL, 'b' },
    { "socket", required_argument, NULL, 'k' },
    { "list", no_argument, NULL, 'L' },
    { "shared", required_argument, NULL, 'e' },
    { "persistent", no_argument, NULL, 't' },
    { "fork", no_argument, NULL, OPT_FORK },
    { "pid-file", required_argument, NULL, OPT_PID_FILE },
    { "tls-creds", required_argument, NULL, OPT_TLS_CREDS },
    { "tls-psk-file", required_argument, NULL, OPT_TLS_PSK_FILE },
    { "tls-required", no_argument, NULL, OPT_TLS_REQUIRED },
    { "tls-hostname", required_argument, NULL, OPT_TLS_HOSTNAME },
    { "tls-user", required_argument, NULL, OPT_TLS_USER },
    { "tls-verify-peer", no_argument, NULL, OPT_TLS_VERIFY_PEER },
    { "verbose", no_argument, NULL, 'v' },
    { "trace", required_argument, NULL, 'T' },
    { "export-name", required_argument, NULL, 'x' },
    { "description", required_argument, NULL, 'D' },
    { "format", required_argument, NULL, 'f' },
    { "read-only", no_argument, NULL, 'r' },
    { "snapshot", no_argument, NULL, 's' },
    { "offset", required_argument, NULL, 'o' },
    { "nocache", no_argument, NULL, 'n' },
    { "cache", required_argument, NULL, OPT_CACHE },
    { "discard", required_argument, NULL, OPT_DISCARD },
    { "detect-zeroes", required_argument, NULL, OPT_DETECT_ZEROES },
    { NULL, 0, NULL, 0 },
};

/* Options given after the only FILE apply to it. */
static void merge_opts(struct export_opts *dst, const struct export_opts *src)
{
    if (src->set & S_NAME) dst->name = src->name;
    if (src->set & S_DESC) dst->desc = src->desc;
    if (src->set & S_FMT) dst->fmt = src->fmt;
    if (src->set & S_CACHE) dst->cache = src->cache;
    if (src->set & S_DISCARD) dst->discard = src->discard;
    if (src->set & S_DZ) dst->dz = src->dz;
    if (src->set & S_OFFSET) dst->offset = src->offset;
    if (src->set & S_RO) dst->read_only = true;
    if (src->set & S_SNAP) dst->snapshot = true;
    dst->set |= src->set;
}

static int cache_flags(const char *mode, int *flags, bool *writethrough, bool *no_flush)
{
    *flags = 0;
    *writethrough = *no_flush = false;
    if (!mode || strcmp(mode, "writeback") == 0)
        return 0;
    if (strcmp(mode, "none") == 0 || strcmp(mode, "off") == 0) {
        *flags = BLK_O_DIRECT;
        return 0;
    }
    if (strcmp(mode, "writethrough") == 0) {
        *writethrough = true;
        return 0;
    }
    if (strcmp(mode, "directsync") == 0) {
        *flags = BLK_O_DIRECT;
        *writethrough = true;
        return 0;
    }
    if (strcmp(mode, "unsafe") == 0) {
        *no_flush = true;
        return 0;
    }
    msg_error(_("invalid cache mode '%s'"), mode);
    return -1;
}

/* -s: a temporary qcow2 overlay on top of FILE takes the writes. */
static struct blk *open_snapshot(const char *file, const char *fmt, int flags)
{
    struct error *err = NULL;
    struct blk *base = NULL;
    if (blk_open(&base, file, fmt, flags & BLK_O_DIRECT, &err) < 0) {
        msg_error(_("cannot open '%s': %s"), file, err_msg(err));
        err_free(err);
        return NULL;
    }
    char *abs = realpath(file, NULL);
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/var/tmp";
    char path[4096];
    snprintf(path, sizeof(path), "%s/emu-nbd-snapshot-XXXXXX", tmp);
    int fd = mkstemp(path);
    struct blk_create_opts o = { .size = base->size, .has_size = true,
                                 .backing_file = abs, .backing_fmt = base->drv->name };
    blk_close(base);
    if (fd < 0 || !abs) {
        msg_error(_("cannot create a temporary overlay in '%s': %s"), tmp, strerror(errno));
        free(abs);
        return NULL;
    }
    close(fd);
    struct blk *bs = NULL;
    if (blk_create("qcow2", path, &o, &err) < 0 ||
        blk_open(&bs, path, "qcow2", BLK_O_RDWR | flags, &err) < 0) {
        msg_error(_("cannot create a temporary overlay '%s': %s"), path, err_msg(err));
        err_free(err);
        unlink(path);
        free(abs);
        return NULL;
    }
    unlink(path);
    free(abs);
    return bs;
}

static int listen_unix(struct nbd_server *srv, const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof(sa.sun_path)) {
        msg_error(_("socket path '%s' is too long"), path);
        return -1;
    }
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    struct stat st;
    if (fd >= 0 && lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
        unlink(path);   /* a stale socket of an earlier run */
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 128) < 0) {
        msg_error(_("cannot listen on '%s': %s"), path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    struct error *err = NULL;
    if (nbd_server_listen(srv, fd, &err) < 0) {
        err_report(err);
        return -1;
    }
    return 0;
}

static int listen_tcp(struct nbd_server *srv, const char *addr, const char *port)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_PASSIVE }, *res = NULL;
    int r = getaddrinfo(addr ? addr : "0.0.0.0", port ? port : "10809", &hints, &res);
    if (r != 0) {
        msg_error(_("cannot resolve '%s' port '%s': %s"), addr ? addr : "0.0.0.0",
                  port ? port : "10809", gai_strerror(r));
        return -1;
    }
    int n = 0, err_no = 0;
    for (struct addrinfo *a = res; a; a = a->ai_next) {
        int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                        a->ai_protocol);
        if (fd < 0) {
            err_no = errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (a->ai_family == AF_INET6)
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
        if (bind(fd, a->ai_addr, a->ai_addrlen) < 0 || listen(fd, 128) < 0) {
            err_no = errno;
            close(fd);
            continue;
        }
        struct error *e = NULL;
        if (nbd_server_listen(srv, fd, &e) < 0) {
            err_report(e);
            continue;
        }
        n++;
    }
    freeaddrinfo(res);
    if (n == 0) {
        msg_error(_("cannot listen on '%s' port '%s': %s"), addr ? addr : "0.0.0.0",
                  port ? port : "10809", strerror(err_no ? err_no : EADDRNOTAVAIL));
        return -1;
    }
    return 0;
}

static int connect_to(const char *sock, const char *addr, const char *port)
{
    if (sock) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (strlen(sock) >= sizeof(sa.sun_path) || fd < 0) {
            msg_error(_("cannot connect to '%s': %s"), sock, strerror(fd < 0 ? errno : ENAMETOOLONG));
            if (fd >= 0)
                close(fd);
            return -1;
        }
        strcpy(sa.sun_path, sock);
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
            msg_error(_("cannot connect to '%s': %s"), sock, strerror(errno));
            close(fd);
            return -1;
        }
        return fd;
    }
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res;
    const char *h = addr ? addr : "localhost", *p = port ? port : "10809";
    int r = getaddrinfo(h, p, &hints, &res);
    if (r != 0) {
        msg_error(_("cannot resolve '%s' port '%s': %s"), h, p, gai_strerror(r));
        return -1;
    }
    int fd = -1, err_no = 0;
    for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd >= 0 && connect(fd, a->ai_addr, a->ai_addrlen) < 0) {
            err_no = errno;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0)
        msg_error(_("cannot connect to '%s' port '%s': %s"), h, p, strerror(err_no));
    return fd;
}

static void print_flags(uint16_t f)
{
    static const char *const names[] = { NULL, "readonly", "flush", "fua", "rotational",
                                         "trim", "zeroes", "df", "multi", "resize", "cache",
                                         "fast-zero" };
    printf("  flags: 0x%x (", f);
    for (unsigned i = 1; i < ARRAY_SIZE(names); i++)
        if (f & (1u << i))
            printf(" %s", names[i]);
    printf(" )\n");
}

static int do_list(const char *sock, const char *addr, const char *port,
                   const struct nbd_client_tls *tls)
{
    int fd = connect_to(sock, addr, port);
    if (fd < 0)
        return 1;
    struct nbd_export_info *e;
    int n;
    struct error *err = NULL;
    int r = nbd_client_list(fd, tls, &e, &n, &err);
    close(fd);
    if (r < 0) {
        err_report(err);
        return 1;
    }
    printf(_("exports available: %d\n"), n);
    for (int i = 0; i < n; i++) {
        printf(" export: '%s'\n", e[i].name);
        if (e[i].description)
            printf("  description: %s\n", e[i].description);
        if (e[i].has_info) {
            printf("  size:  %llu\n", (unsigned long long)e[i].size);
            print_flags(e[i].flags);
        }
        if (e[i].min_block) {
            printf("  min block: %u\n", e[i].min_block);
            printf("  opt block: %u\n", e[i].pref_block);
            printf("  max block: %u\n", e[i].max_block);
        }
        int nc = 0;
        for (char **c = e[i].contexts; c && *c; c++)
            nc++;
        if (nc) {
            printf("  available meta contexts: %d\n", nc);
            for (char **c = e[i].contexts; c && *c; c++)
                printf("   %s\n", *c);
        }
    }
    nbd_export_info_free(e, n);
    return 0;
}

static void shutdown_done(void *opaque)
{
    struct nbd_main *m = opaque;
    loop_quit(m->loop);
}

static void begin_shutdown(void *opaque)
{
    struct nbd_main *m = opaque;
    if (m->quitting)
        return;
    m->quitting = true;
    nbd_server_shutdown(m->srv, shutdown_done, m);
}

static void on_event(void *opaque, enum nbd_event ev)
{
    struct nbd_main *m = opaque;
    if (ev == NBD_EVENT_CLIENT_OPENED)
        m->had_client = true;
    else if (!m->persistent && m->had_client && nbd_server_clients(m->srv) == 0)
        begin_shutdown(m);
}

int main(int argc, char **argv)
{
    if (prog_init(argc, argv) < 0)
        return 1;
    const char *port = NULL, *bind_addr = NULL, *sock = NULL, *pid_file = NULL;
    const char *tls_creds = NULL, *tls_psk = NULL, *tls_hostname = NULL, *tls_user = NULL;
    bool tls_verify_peer = false;
    bool list = false, do_fork = false, tls_required = false, verbose = false;
    unsigned shared = 1;
    struct nbd_main m = { 0 };
    struct export_opts cur = { 0 };
    struct export_arg *exports = NULL;
    int nexports = 0, ret = 1;
    struct error *err = NULL;

    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "-:hVp:b:k:Le:tvT:x:D:f:rso:n", long_opts, NULL)) != -1) {
        switch (c) {
        case 1: {
            struct export_arg *n = realloc(exports, sizeof(*n) * (size_t)(nexports + 1));
            if (!n) {
                msg_error(_("out of memory"));
                return 1;
            }
            exports = n;
            exports[nexports] = (struct export_arg){ .file = optarg, .o = cur };
            nexports++;
            memset(&cur, 0, sizeof(cur));
            break;
        }
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            prog_print_version(stdout);
            return 0;
        case 'p': {
            uint64_t v;
            if (parse_u64("port", optarg, 1, 65535, &v, &err) < 0) {
                err_report(err);
                return 1;
            }
            port = optarg;
            break;
        }
        case 'b': bind_addr = optarg; break;
        case 'k': sock = optarg; break;
        case 'L': list = true; break;
        case 'e': {
            uint64_t v;
            if (parse_u64("shared", optarg, 0, 65536, &v, &err) < 0) {
                err_report(err);
                return 1;
            }
            shared = (unsigned)v;
            break;
        }
        case 't': m.persistent = true; break;
        case OPT_FORK: do_fork = true; break;
        case OPT_PID_FILE: pid_file = optarg; break;
        case OPT_TLS_CREDS: tls_creds = optarg; break;
        case OPT_TLS_PSK_FILE: tls_psk = optarg; break;
        case OPT_TLS_REQUIRED: tls_required = true; break;
        case OPT_TLS_HOSTNAME: tls_hostname = optarg; break;
        case OPT_TLS_USER: tls_user = optarg; break;
        case OPT_TLS_VERIFY_PEER: tls_verify_peer = true; break;
        case 'v': verbose = true; break;
        case 'T': {
            int r = trace_opt_parse(optarg, &err);
            if (r < 0) {
                err_report(err);
                return 1;
            }
            if (r == 1)
                return 0;
            break;
        }
        case 'x': cur.name = optarg; cur.set |= S_NAME; break;
        case 'D': cur.desc = optarg; cur.set |= S_DESC; break;
        case 'f': cur.fmt = optarg; cur.set |= S_FMT; break;
        case 'r': cur.read_only = true; cur.set |= S_RO; break;
        case 's': cur.snapshot = true; cur.set |= S_SNAP; break;
        case 'o':
            if (parse_size(optarg, &cur.offset, &err) < 0) {
                err_report(err);
                return 1;
            }
            cur.set |= S_OFFSET;
            break;
        case 'n': cur.cache = "none"; cur.set |= S_CACHE; break;
        case OPT_CACHE: cur.cache = optarg; cur.set |= S_CACHE; break;
        case OPT_DISCARD:
            if (strcmp(optarg, "ignore") && strcmp(optarg, "unmap") && strcmp(optarg, "off") &&
                strcmp(optarg, "on")) {
                msg_error(_("invalid discard mode '%s' (ignore or unmap)"), optarg);
                return 1;
            }
            cur.discard = optarg;
            cur.set |= S_DISCARD;
            break;
        case OPT_DETECT_ZEROES:
            if (strcmp(optarg, "off") && strcmp(optarg, "on") && strcmp(optarg, "unmap")) {
                msg_error(_("invalid detect-zeroes mode '%s' (off, on or unmap)"), optarg);
                return 1;
            }
            cur.dz = optarg;
            cur.set |= S_DZ;
            break;
        case ':':
            msg_error(_("option '%s' requires an argument"), argv[optind - 1]);
            fprintf(stderr, _("Try '%s --help' for more information.\n"), msg_progname());
            return 1;
        default:
            msg_error(_("unrecognized option '%s'"), argv[optind - 1]);
            fprintf(stderr, _("Try '%s --help' for more information.\n"), msg_progname());
            return 1;
        }
    }
    if (list) {
        if (nexports) {
            msg_error(_("-L takes no image file"));
            return 1;
        }
        if (tls_creds && tls_psk) {
            msg_error(_("--tls-creds and --tls-psk-file cannot be used together"));
            return 1;
        }
        struct nbd_client_tls ct = {
            .creds_dir = tls_creds, .psk_file = tls_psk, .psk_user = tls_user,
            .hostname = tls_hostname ? tls_hostname : sock ? NULL : bind_addr ? bind_addr : "localhost",
        };
        signal(SIGPIPE, SIG_IGN);   /* a server that hangs up is an error message */
        return do_list(sock, bind_addr, port, tls_creds || tls_psk ? &ct : NULL);
    }
    if (nexports == 0) {
        msg_error(_("expecting an image file name"));
        fprintf(stderr, _("Try '%s --help' for more information.\n"), msg_progname());
        return 1;
    }
    if (cur.set) {
        if (nexports > 1) {
            msg_error(_("export options after the last image file apply to no export"));
            return 1;
        }
        merge_opts(&exports[0].o, &cur);
    }
    if (sock && (port || bind_addr)) {
        msg_error(_("-k cannot be combined with -p or -b"));
        return 1;
    }
    if (tls_creds && tls_psk) {
        msg_error(_("--tls-creds and --tls-psk-file cannot be used together"));
        return 1;
    }
    if (tls_verify_peer && !tls_creds) {
        msg_error(_("--tls-verify-peer needs --tls-creds"));
        return 1;
    }
    if (tls_required && !tls_creds && !tls_psk) {
        msg_error(_("--tls-required needs --tls-creds or --tls-psk-file"));
        return 1;
    }
    if (verbose && log_enable("nbd", &err) < 0) {
        err_report(err);
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    /* Each client costs a socket, and zero-copy transfers hold pipes: the
     * usual soft limit of 1024 descriptors would refuse clients long
     * before the hard limit (qemu raises it too). */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }

    struct pool *pool = NULL;
    struct nbd_tls *tls = NULL;
    m.loop = loop_new(&err);
    if (!m.loop || !(pool = pool_new(m.loop, NBD_WORKERS, &err)) ||
        !(m.srv = nbd_server_new(m.loop, pool, &err))) {
        err_report(err);
        goto out;
    }
    for (int i = 0; i < nexports; i++) {
        struct export_arg *a = &exports[i];
        int flags;
        bool wt, nf;
        if (cache_flags(a->o.cache, &flags, &wt, &nf) < 0)
            goto out;
        if (a->o.snapshot) {
            a->blk = open_snapshot(a->file, a->o.fmt, flags);
            if (!a->blk)
                goto out;
        } else if (blk_open(&a->blk, a->file, a->o.fmt,
                            flags | (a->o.read_only ? 0 : BLK_O_RDWR), &err) < 0) {
            msg_error(_("cannot open '%s': %s"), a->file, err_msg(err));
            err_free(err);
            err = NULL;
            goto out;
        }
        bool discard = a->o.discard && (strcmp(a->o.discard, "unmap") == 0 ||
                                        strcmp(a->o.discard, "on") == 0);
        enum nbd_detect_zeroes dz = NBD_DETECT_ZEROES_OFF;
        if (a->o.dz && strcmp(a->o.dz, "on") == 0)
            dz = NBD_DETECT_ZEROES_ON;
        else if (a->o.dz && strcmp(a->o.dz, "unmap") == 0)
            dz = NBD_DETECT_ZEROES_UNMAP;
        struct nbd_export_config cfg = {
            .name = a->o.name, .description = a->o.desc, .blk = a->blk,
            .offset = a->o.offset, .read_only = a->o.read_only, .discard = discard,
            .writethrough = wt, .no_flush = nf, .detect_zeroes = dz,
            .serial_writes = !(flags & BLK_O_DIRECT),
        };
        if (nbd_server_add_export(m.srv, &cfg, &err) < 0) {
            err_report(err);
            goto out;
        }
    }
    if (tls_creds || tls_psk) {
        tls = tls_creds ? nbd_tls_new_x509(tls_creds, tls_verify_peer, &err)
                        : nbd_tls_new_psk(tls_psk, &err);
        if (!tls) {
            err_report(err);
            goto out;
        }
        nbd_server_set_tls(m.srv, tls, tls_required);
    }
    nbd_server_set_max_clients(m.srv, shared);
    nbd_server_set_event_cb(m.srv, on_event, &m);
    if (sock ? listen_unix(m.srv, sock) < 0 : listen_tcp(m.srv, bind_addr, port) < 0)
        goto out;
    int ready_fd = -1;
    /* --fork: the parent waits until the child listens, so that clients
     * started after emu-nbd returns find the server */
    if (do_fork) {
        int status, r = prog_daemonize(&ready_fd, &status);
        if (r < 0)
            goto out;
        if (r > 0)
            _exit(status);
    }
    if (pid_file) {
        FILE *fp = fopen(pid_file, "w");
        if (!fp || fprintf(fp, "%d\n", (int)getpid()) < 0 || fclose(fp) != 0) {
            msg_error(_("cannot write the pid file '%s': %s"), pid_file, strerror(errno));
            goto out;
        }
    }
    if (loop_catch_signals(m.loop, &err) < 0) {
        err_report(err);
        goto out;
    }
    loop_set_shutdown_handler(m.loop, begin_shutdown, &m);
    prog_daemon_ready(&ready_fd, verbose);
    if (loop_run(m.loop, &err) < 0) {
        err_report(err);
        goto out;
    }
    ret = 0;
out:
    if (m.srv) {
        if (nbd_server_flush(m.srv) < 0 && ret == 0) {
            msg_error(_("flushing the exports failed"));
            ret = 1;
        }
        nbd_server_free(m.srv);
    }
    for (int i = 0; i < nexports; i++)
        if (exports[i].blk)
            blk_close(exports[i].blk);
    free(exports);
    nbd_tls_free(tls);
    if (pool)
        pool_free(pool);
    if (m.loop)
        loop_free(m.loop);
    if (sock && ret == 0)
        unlink(sock);
    if (pid_file && ret == 0)
        unlink(pid_file);
    return ret;
}
