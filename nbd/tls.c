/* tls.c - STARTTLS for the NBD server with gnutls: X.509 certificates
 * from a directory laid out like qemu's tls-creds-x509 (ca-cert.pem,
 * server-cert.pem, server-key.pem) or pre-shared keys from a file of
 * "username:hexkey" lines (the format of qemu's and nbdkit's PSK files).
 *
 * Sessions run on the connection's non-blocking socket: gnutls reads
 * through our pull function, which first hands out bytes the plaintext
 * handshake had already read past the STARTTLS option. */
#include <config.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "i18n.h"
#include "internal.h"
#include "log.h"

#ifdef HAVE_GNUTLS
#include <gnutls/gnutls.h>

struct nbd_tls {
    bool psk;
    bool verify_peer;
    gnutls_certificate_credentials_t x509;
    gnutls_psk_server_credentials_t pskc;
};

static int tls_global_init(struct error **errp)
{
    static bool done;
    if (done)
        return 0;
    int r = gnutls_global_init();
    if (r < 0)
        return err_set(errp, EIO, _("cannot initialise gnutls: %s"), gnutls_strerror(r));
    done = true;
    return 0;
}

struct nbd_tls *nbd_tls_new_x509(const char *dir, bool verify_peer, struct error **errp)
{
    if (tls_global_init(errp) < 0)
        return NULL;
    struct nbd_tls *t = calloc(1, sizeof(*t));
    if (!t) {
        err_set(errp, ENOMEM, _("out of memory"));
        return NULL;
    }
    size_t n = strlen(dir) + 32;
    char *ca = malloc(n), *cert = malloc(n), *key = malloc(n);
    int r = gnutls_certificate_allocate_credentials(&t->x509);
    if (!ca || !cert || !key || r < 0) {
        err_set(errp, ENOMEM, _("out of memory"));
        goto fail;
    }
    snprintf(ca, n, "%s/ca-cert.pem", dir);
    snprintf(cert, n, "%s/server-cert.pem", dir);
    snprintf(key, n, "%s/server-key.pem", dir);
    struct stat st;
    t->verify_peer = verify_peer;
    if (verify_peer && stat(ca, &st) < 0) {
        err_set_errno(errp, errno, _("cannot verify clients without '%s'"), ca);
        goto fail;
    }
    if (stat(ca, &st) == 0) {
        r = gnutls_certificate_set_x509_trust_file(t->x509, ca, GNUTLS_X509_FMT_PEM);
        if (r < 0) {
            err_set(errp, EINVAL, _("cannot load CA certificate '%s': %s"), ca,
                    gnutls_strerror(r));
            goto fail;
        }
    }
    r = gnutls_certificate_set_x509_key_file(t->x509, cert, key, GNUTLS_X509_FMT_PEM);
    if (r < 0) {
        err_set(errp, EINVAL, _("cannot load certificate '%s' and key '%s': %s"), cert, key,
                gnutls_strerror(r));
        goto fail;
    }
    free(ca);
    free(cert);
    free(key);
    return t;
fail:
    free(ca);
    free(cert);
    free(key);
    nbd_tls_free(t);
    return NULL;
}

struct nbd_tls *nbd_tls_new_psk(const char *file, struct error **errp)
{
    if (tls_global_init(errp) < 0)
        return NULL;
    FILE *fp = fopen(file, "r");
    if (!fp) {
        err_set_errno(errp, errno, _("cannot open PSK file '%s'"), file);
        return NULL;
    }
    /* check the lines ourselves: gnutls reads the file only at handshake
     * time and would fail silently then */
    char line[1024];
    int lineno = 0, keys = 0;
    while (fgets(line, sizeof(line), fp)) {
        lineno++;
        line[strcspn(line, "\r\n")] = 0;
        if (!line[0])
            continue;
        char *colon = strchr(line, ':');
        size_t hl = colon ? strlen(colon + 1) : 0;
        bool hex = hl > 0 && hl % 2 == 0 && strspn(colon + 1, "0123456789abcdefABCDEF") == hl;
        if (!colon || colon == line || !hex) {
            fclose(fp);
            err_set(errp, EINVAL, _("'%s' line %d: expected username:hexkey"), file, lineno);
            return NULL;
        }
        keys++;
    }
    fclose(fp);
    if (!keys) {
        err_set(errp, EINVAL, _("'%s' holds no key"), file);
        return NULL;
    }
    struct nbd_tls *t = calloc(1, sizeof(*t));
    if (!t || gnutls_psk_allocate_server_credentials(&t->pskc) < 0) {
        free(t);
        err_set(errp, ENOMEM, _("out of memory"));
        return NULL;
    }
    t->psk = true;
    int r = gnutls_psk_set_server_credentials_file(t->pskc, file);
    if (r < 0) {
        err_set(errp, EINVAL, _("cannot use PSK file '%s': %s"), file, gnutls_strerror(r));
        nbd_tls_free(t);
        return NULL;
    }
    return t;
}

void nbd_tls_free(struct nbd_tls *t)
{
    if (!t)
        return;
    if (t->x509)
        gnutls_certificate_free_credentials(t->x509);
    if (t->pskc)
        gnutls_psk_free_server_credentials(t->pskc);
    free(t);
}

static ssize_t tls_pull(gnutls_transport_ptr_t ptr, void *buf, size_t len)
{
    struct nbd_conn *c = ptr;
    if (c->tls_left_pos < c->tls_left_len) {
        size_t n = MIN(len, c->tls_left_len - c->tls_left_pos);
        memcpy(buf, c->tls_leftover + c->tls_left_pos, n);
        c->tls_left_pos += n;
        return (ssize_t)n;
    }
    ssize_t n = recv(c->fd, buf, len, MSG_DONTWAIT);
    if (n < 0)
        gnutls_transport_set_errno(c->tls_session, errno == EWOULDBLOCK ? EAGAIN : errno);
    return n;
}

static ssize_t tls_push(gnutls_transport_ptr_t ptr, const void *buf, size_t len)
{
    struct nbd_conn *c = ptr;
    ssize_t n = send(c->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0)
        gnutls_transport_set_errno(c->tls_session, errno == EWOULDBLOCK ? EAGAIN : errno);
    return n;
}

int nbd_tls_session_new(struct nbd_conn *c, struct error **errp)
{
    struct nbd_tls *t = c->srv->tls;
    gnutls_session_t s;
    int r = gnutls_init(&s, GNUTLS_SERVER | GNUTLS_NONBLOCK);
    if (r < 0)
        return err_set(errp, EIO, _("TLS session: %s"), gnutls_strerror(r));
    if (t->psk) {
        r = gnutls_priority_set_direct(s, "NORMAL:+ECDHE-PSK:+DHE-PSK:+PSK", NULL);
        if (r >= 0)
            r = gnutls_credentials_set(s, GNUTLS_CRD_PSK, t->pskc);
    } else {
        r = gnutls_set_default_priority(s);
        if (r >= 0)
            r = gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, t->x509);
        if (r >= 0 && t->verify_peer) {
            /* the handshake fails without a client certificate that
             * chains to ca-cert.pem */
            gnutls_certificate_server_set_request(s, GNUTLS_CERT_REQUIRE);
            gnutls_session_set_verify_cert(s, NULL, 0);
        }
    }
    if (r < 0) {
        gnutls_deinit(s);
        return err_set(errp, EIO, _("TLS session: %s"), gnutls_strerror(r));
    }
    gnutls_transport_set_ptr(s, c);
    gnutls_transport_set_pull_function(s, tls_pull);
    gnutls_transport_set_push_function(s, tls_push);
    c->tls_session = s;
    return 0;
}

void nbd_tls_session_free(struct nbd_conn *c)
{
    if (c->tls_session)
        gnutls_deinit(c->tls_session);
    c->tls_session = NULL;
}

int nbd_tls_handshake(struct nbd_conn *c, bool *want_write)
{
    int r = gnutls_handshake(c->tls_session);
    if (r == GNUTLS_E_SUCCESS) {
        nbd_log("client %d: TLS handshake done", c->fd);
        return 1;
    }
    if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED ||
        (r < 0 && !gnutls_error_is_fatal(r))) {
        *want_write = gnutls_record_get_direction(c->tls_session) == 1;
        return 0;
    }
    nbd_log("client %d: TLS handshake failed: %s", c->fd, gnutls_strerror(r));
    return -1;
}

ssize_t nbd_tls_recv(struct nbd_conn *c, void *buf, size_t len)
{
    ssize_t n = gnutls_record_recv(c->tls_session, buf, len);
    if (n >= 0)
        return n;
    if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
        return -EAGAIN;
    nbd_log("client %d: TLS: %s", c->fd, gnutls_strerror((int)n));
    return -EIO;
}

ssize_t nbd_tls_send(struct nbd_conn *c, const void *buf, size_t len)
{
    /* gnutls wants a retry after EAGAIN with the same arguments: the
     * caller retries the same iovec, so keep the piece size a function of
     * the iovec alone */
    ssize_t n = gnutls_record_send(c->tls_session, buf, MIN(len, (size_t)16384));
    if (n >= 0)
        return n;
    if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
        return -EAGAIN;
    nbd_log("client %d: TLS: %s", c->fd, gnutls_strerror((int)n));
    return -EIO;
}

void nbd_tls_bye(struct nbd_conn *c)
{
    if (c->tls_session)
        gnutls_bye(c->tls_session, GNUTLS_SHUT_WR);
}

bool nbd_tls_pending(struct nbd_conn *c)
{
    return c->tls_session && gnutls_record_check_pending(c->tls_session) > 0;
}

#else /* !HAVE_GNUTLS */

struct nbd_tls *nbd_tls_new_x509(const char *dir, bool verify_peer, struct error **errp)
{
    (void)verify_peer;
    err_set(errp, ENOTSUP, _("TLS is not available: emu was built without gnutls"));
    return NULL;
}

struct nbd_tls *nbd_tls_new_psk(const char *file, struct error **errp)
{
    return nbd_tls_new_x509(file, false, errp);
}

void nbd_tls_free(struct nbd_tls *t)
{
}

int nbd_tls_session_new(struct nbd_conn *c, struct error **errp)
{
    return err_set(errp, ENOTSUP, _("TLS is not available: emu was built without gnutls"));
}

void nbd_tls_session_free(struct nbd_conn *c)
{
}

int nbd_tls_handshake(struct nbd_conn *c, bool *want_write)
{
    return -1;
}

ssize_t nbd_tls_recv(struct nbd_conn *c, void *buf, size_t len)
{
    return -EIO;
}

ssize_t nbd_tls_send(struct nbd_conn *c, const void *buf, size_t len)
{
    return -EIO;
}

void nbd_tls_bye(struct nbd_conn *c)
{
}

bool nbd_tls_pending(struct nbd_conn *c)
{
    return false;
}

#endif
