/* nbd.h - an NBD server as a library, driven by libcore's event loop.
 *
 * The server owns connections, not images: the caller opens each image
 * with blk_open() and adds it as an export; the server never closes it.
 * Sockets are read and written in the loop thread (non-blocking, so one
 * slow or hostile client never blocks the others); block I/O runs in the
 * worker pool with blk_preadv()/blk_pwritev() directly, several requests
 * per connection at once, replies serialised per connection.
 *
 *     struct nbd_server *s = nbd_server_new(loop, pool, &err);
 *     nbd_server_add_export(s, &(struct nbd_export_config){ .blk = bs }, &err);
 *     nbd_server_listen(s, listen_fd, &err);
 *     loop_run(loop, &err);
 *
 * Memory per connection is bounded: a connection stops reading requests
 * while it has too many in flight or too many reply bytes queued.
 */
#ifndef EMU_NBD_H
#define EMU_NBD_H

#include "common.h"
#include "error.h"
#include "loop.h"
#include "pool.h"

struct blk;
struct nbd_server;
struct nbd_tls;

enum nbd_detect_zeroes {
    NBD_DETECT_ZEROES_OFF,
    NBD_DETECT_ZEROES_ON,       /* all-zero writes become zero writes */
    NBD_DETECT_ZEROES_UNMAP,    /* ... which may deallocate (with discard) */
};

struct nbd_export_config {
    const char *name;           /* NULL: "" (the default export) */
    const char *description;    /* NULL: none */
    struct blk *blk;            /* the image; stays the caller's */
    uint64_t offset;            /* the export starts here in the image */
    bool read_only;
    bool discard;               /* TRIM deallocates (else it is ignored) */
    bool writethrough;          /* flush after every write (cache=writethrough) */
    bool no_flush;              /* FLUSH does nothing (cache=unsafe) */
    enum nbd_detect_zeroes detect_zeroes;
    /* Writes serialize in the kernel anyway (buffered I/O to one image
     * file): run them one after another in one worker, not one worker
     * each.  Leave it off for O_DIRECT, where the disk takes several. */
    bool serial_writes;
};

/* Server events for the program (e.g. qemu-nbd's "exit after the last
 * client" and -e). */
enum nbd_event {
    NBD_EVENT_CLIENT_OPENED,
    NBD_EVENT_CLIENT_CLOSED,
};
typedef void nbd_event_fn(void *opaque, enum nbd_event ev);

struct nbd_server *nbd_server_new(struct loop *loop, struct pool *pool,
                                  struct error **errp);
/* Frees the server: every connection is closed at once (the caller runs
 * nbd_server_shutdown() first for an orderly end). */
void nbd_server_free(struct nbd_server *srv);

int nbd_server_add_export(struct nbd_server *srv, const struct nbd_export_config *cfg,
                          struct error **errp);
/* Remove export NAME: new clients no longer see it.  Connections using
 * it are cut at once with HARD (their requests in flight still finish);
 * without, any such connection makes it fail with -EBUSY.  DONE(opaque)
 * runs in the loop thread once no connection or request uses the export
 * any more, maybe before this returns; from then on its blk is the
 * caller's alone.  -ENOENT when there is no such export. */
int nbd_server_remove_export(struct nbd_server *srv, const char *name, bool hard,
                             loop_cb_fn *done, void *opaque, struct error **errp);
/* How many connections use export NAME. */
unsigned nbd_server_export_clients(const struct nbd_server *srv, const char *name);
/* TLS: offer STARTTLS with these credentials (the caller keeps them);
 * REQUIRED refuses every option but STARTTLS and ABORT before TLS. */
void nbd_server_set_tls(struct nbd_server *srv, struct nbd_tls *tls, bool required);
/* Accept at most N clients at a time (0: no limit). */
void nbd_server_set_max_clients(struct nbd_server *srv, unsigned n);
void nbd_server_set_event_cb(struct nbd_server *srv, nbd_event_fn *cb, void *opaque);
/* Serve connections accepted on a listening socket (the server owns FD). */
int nbd_server_listen(struct nbd_server *srv, int fd, struct error **errp);
/* Serve one connected socket (the server owns FD). */
int nbd_server_add_client(struct nbd_server *srv, int fd, struct error **errp);
/* Stop accepting and close the listening sockets. */
void nbd_server_stop_listening(struct nbd_server *srv);
unsigned nbd_server_clients(const struct nbd_server *srv);
/* Orderly end: stop accepting, stop reading requests, let the requests in
 * flight finish and their replies go out, then close every connection and
 * flush every export.  DONE(opaque) runs in the loop once all that is
 * over (connections that do not take their replies within a few seconds
 * are cut). */
void nbd_server_shutdown(struct nbd_server *srv, loop_cb_fn *done, void *opaque);
/* Flush every writable export; returns 0 or the first -errno. */
int nbd_server_flush(struct nbd_server *srv);

/* TLS credentials (nbd/tls.c).  Without gnutls these fail with ENOTSUP. */
/* DIR holds ca-cert.pem (optional), server-cert.pem and server-key.pem.
 * VERIFY_PEER: clients must present a certificate signed by ca-cert.pem
 * (which must then exist). */
struct nbd_tls *nbd_tls_new_x509(const char *dir, bool verify_peer, struct error **errp);
/* FILE has lines "username:hexkey". */
struct nbd_tls *nbd_tls_new_psk(const char *file, struct error **errp);
void nbd_tls_free(struct nbd_tls *tls);

/* TLS for the client side (-L): STARTTLS first, then everything over
 * TLS.  CREDS_DIR holds ca-cert.pem (and client-cert.pem/client-key.pem
 * if the server wants them), or PSK_FILE has "username:hexkey" lines
 * (PSK_USER's, default the first).  HOSTNAME, if set, must match the
 * server's certificate. */
struct nbd_client_tls {
    const char *creds_dir, *psk_file, *psk_user, *hostname;
};

/* A client's view of one export (nbd/client.c, for emu-nbd -L). */
struct nbd_export_info {
    char *name, *description;
    uint64_t size;
    uint16_t flags;
    bool has_info;
    uint32_t min_block, pref_block, max_block;
    char **contexts;            /* NULL-terminated */
};
/* Connect-side handshake on FD and list every export with its details. */
int nbd_client_list(int fd, const struct nbd_client_tls *tls, struct nbd_export_info **out,
                    int *n, struct error **errp);
void nbd_export_info_free(struct nbd_export_info *e, int n);

#endif
