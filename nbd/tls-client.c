/* tls-client.c - the client end of STARTTLS, for emu-nbd -L.
 *
 * Credentials are read the way qemu's client-side tls-creds objects read
 * them: an X.509 directory holds ca-cert.pem (required: the server's
 * certificate must chain to it) and optionally client-cert.pem with
 * client-key.pem; a PSK file holds "username:hexkey" lines, of which the
 * one for the given user (default: the first line) is used.  The server's
 * certificate is checked against the host name when one is known.
 * Blocking I/O on the caller's socket. */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "i18n.h"
#include "internal.h"

#ifdef HAVE_GNUTLS
#include <gnutls/gnutls.h>

struct nbd_tls_client {
    gnutls_session_t s;
    gnutls_certificate_credentials_t x509;
    gnutls_psk_client_credentials_t psk;
    char *hostname;
};

static int load_x509(struct nbd_tls_client *t, const char *dir, struct error **errp)
{
    char path[4096], key[4096];
    if (gnutls_certificate_allocate_credentials(&t->x509) < 0)
        return err_set(errp, ENOMEM, _("out of memory"));
    snprintf(path, sizeof(path), "%s/ca-cert.pem", dir);
    int r = gnutls_certificate_set_x509_trust_file(t->x509, path, GNUTLS_X509_FMT_PEM);
    if (r <= 0)
        return err_set(errp, EINVAL, _("cannot load CA certificate '%s': %s"), path,
                       r < 0 ? gnutls_strerror(r) : _("no certificate in it"));
    snprintf(path, sizeof(path), "%s/client-cert.pem", dir);
    snprintf(key, sizeof(key), "%s/client-key.pem", dir);
    struct stat st;
    if (stat(path, &st) == 0) {
        r = gnutls_certificate_set_x509_key_file(t->x509, path, key, GNUTLS_X509_FMT_PEM);
        if (r < 0)
            return err_set(errp, EINVAL, _("cannot load certificate '%s' and key '%s': %s"),
                           path, key, gnutls_strerror(r));
    }
    return 0;
}

static int load_psk(struct nbd_tls_client *t, const char *file, const char *user,
                    struct error **errp)
{
    FILE *fp = fopen(file, "r");
    if (!fp)
        return err_set_errno(errp, errno, _("cannot open PSK file '%s'"), file);
    char line[1024];
    bool found = false;
    int r = 0;
    while (!found && fgets(line, sizeof(line), fp)) {
        line[strcspn(line, "\r\n")] = 0;
        char *colon = strchr(line, ':');
        if (!colon || colon == line)
            continue;
        *colon = 0;
        if (user && strcmp(line, user) != 0)
            continue;
        found = true;
        gnutls_datum_t k = { (unsigned char *)colon + 1, (unsigned)strlen(colon + 1) };
        r = gnutls_psk_allocate_client_credentials(&t->psk);
        if (r >= 0)
            r = gnutls_psk_set_client_credentials(t->psk, line, &k, GNUTLS_PSK_KEY_HEX);
    }
    fclose(fp);
    if (!found && user)
        return err_set(errp, EINVAL, _("'%s' has no key for user '%s'"), file, user);
    if (!found)
        return err_set(errp, EINVAL, _("'%s' holds no key"), file);
    if (r < 0)
        return err_set(errp, EINVAL, _("cannot use PSK file '%s': %s"), file, gnutls_strerror(r));
    return 0;
}

void nbd_tls_client_free(struct nbd_tls_client *t)
{
    if (!t)
        return;
    if (t->s)
        gnutls_deinit(t->s);
    if (t->x509)
        gnutls_certificate_free_credentials(t->x509);
    if (t->psk)
        gnutls_psk_free_client_credentials(t->psk);
    free(t->hostname);
    free(t);
}

struct nbd_tls_client *nbd_tls_client_new(const struct nbd_client_tls *cfg, struct error **errp)
{
    int r = gnutls_global_init();
    if (r < 0) {
        err_set(errp, EIO, _("cannot initialise gnutls: %s"), gnutls_strerror(r));
        return NULL;
    }
    struct nbd_tls_client *t = calloc(1, sizeof(*t));
    if (!t || (cfg->hostname && !(t->hostname = strdup(cfg->hostname)))) {
        free(t);
        err_set(errp, ENOMEM, _("out of memory"));
        return NULL;
    }
    if ((cfg->psk_file ? load_psk(t, cfg->psk_file, cfg->psk_user, errp)
                       : load_x509(t, cfg->creds_dir, errp)) < 0) {
        nbd_tls_client_free(t);
        return NULL;
    }
    return t;
}

int nbd_tls_client_handshake(struct nbd_tls_client *t, int fd, struct error **errp)
{
    int r = gnutls_init(&t->s, GNUTLS_CLIENT);
    if (r < 0)
        return err_set(errp, EIO, _("TLS session: %s"), gnutls_strerror(r));
    if (t->psk) {
        r = gnutls_priority_set_direct(t->s, "NORMAL:+ECDHE-PSK:+DHE-PSK:+PSK", NULL);
        if (r >= 0)
            r = gnutls_credentials_set(t->s, GNUTLS_CRD_PSK, t->psk);
    } else {
        r = gnutls_set_default_priority(t->s);
        if (r >= 0)
            r = gnutls_credentials_set(t->s, GNUTLS_CRD_CERTIFICATE, t->x509);
        if (r >= 0 && t->hostname)
            r = gnutls_server_name_set(t->s, GNUTLS_NAME_DNS, t->hostname, strlen(t->hostname));
        /* the handshake fails unless the chain, and the name if known, check out */
        if (r >= 0)
            gnutls_session_set_verify_cert(t->s, t->hostname, 0);
    }
    if (r < 0)
        return err_set(errp, EIO, _("TLS session: %s"), gnutls_strerror(r));
    gnutls_transport_set_int(t->s, fd);
    do {
        r = gnutls_handshake(t->s);
    } while (r < 0 && !gnutls_error_is_fatal(r));
    if (r < 0) {
        if (r == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR) {
            gnutls_datum_t msg = { NULL, 0 };
            unsigned st = gnutls_session_get_verify_cert_status(t->s);
            gnutls_certificate_verification_status_print(st, GNUTLS_CRT_X509, &msg, 0);
            err_set(errp, EACCES, _("the server's certificate is not trusted: %s"),
                    msg.data ? (char *)msg.data : gnutls_strerror(r));
            gnutls_free(msg.data);
            return -EACCES;
        }
        return err_set(errp, EPROTO, _("TLS handshake with the server failed: %s"),
                       gnutls_strerror(r));
    }
    return 0;
}

ssize_t nbd_tls_client_io(struct nbd_tls_client *t, void *buf, size_t len, bool wr)
{
    ssize_t n;
    do {
        n = wr ? gnutls_record_send(t->s, buf, len) : gnutls_record_recv(t->s, buf, len);
    } while (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED);
    if (n < 0) {
        errno = EPROTO;
        return -1;
    }
    return n;
}

void nbd_tls_client_bye(struct nbd_tls_client *t)
{
    if (t->s)
        gnutls_bye(t->s, GNUTLS_SHUT_WR);
}

#else /* !HAVE_GNUTLS */

struct nbd_tls_client *nbd_tls_client_new(const struct nbd_client_tls *cfg, struct error **errp)
{
    (void)cfg;
    err_set(errp, ENOTSUP, _("TLS is not available: emu was built without gnutls"));
    return NULL;
}

void nbd_tls_client_free(struct nbd_tls_client *t)
{
    (void)t;
}

int nbd_tls_client_handshake(struct nbd_tls_client *t, int fd, struct error **errp)
{
    (void)t;
    (void)fd;
    return err_set(errp, ENOTSUP, _("TLS is not available: emu was built without gnutls"));
}

ssize_t nbd_tls_client_io(struct nbd_tls_client *t, void *buf, size_t len, bool wr)
{
    (void)t;
    (void)buf;
    (void)len;
    (void)wr;
    errno = ENOTSUP;
    return -1;
}

void nbd_tls_client_bye(struct nbd_tls_client *t)
{
    (void)t;
}

#endif
