/*
 * hermit-ssh-authorizedkeys NAME: sshd's AuthorizedKeysCommand for hermit.
 *
 * Prints the SSH public keys hermit-unixd knows for NAME, one per line, and nothing else.
 * It decides nothing: unixd answers (and keeps local names to themselves: a local user gets
 * "notfound"). This program only marshals one request, reads one answer and prints it.
 * Why C, and the startup figures: docs/sshkeys-helper.md.
 *
 * Exit status (sshd treats anything but 0 as "no keys from this command"):
 *   0  keys printed, or none: unixd answered notfound, or NAME cannot be an account
 *   1  one line on stderr: unixd unreachable, too slow, unable to answer (unavail),
 *      refused the request, or answered something this program does not accept
 *   2  usage
 *
 * Rules (docs/protocol.md, STYLE.md "C thin-client rules"); the socket, the deadline, the
 * framing and the JSON reader are cclient/'s, shared with the NSS and PAM modules:
 * - NAME is checked before any I/O, with the rule of unixd/proto/messages.py: 1 to 256
 *   printable ASCII characters without ':', '/', ',', not "." or "..".
 * - socket_path comes from the fixed config file (HERMIT_CONFIG_PATH, set at build time),
 *   never from the environment; a missing file means the default path.
 * - Nothing is sent before the socket passes hermit_check_peer (cclient's trust rule): keys
 *   from a socket someone else could have planted would let them log in as anyone.
 * - One CLOCK_MONOTONIC deadline for the whole call; every wait is a poll() with the time
 *   left. EINTR is retried. The socket is SOCK_CLOEXEC and never fd 0-2; send uses
 *   MSG_NOSIGNAL.
 * - The answer's length is checked on its header against MAX_RESPONSE_BYTES before anything
 *   is allocated, and exactly that many bytes are allocated.
 * - Nothing is printed until the whole answer has been parsed and checked, so a broken
 *   answer never yields half a key list. A key containing a newline, CR or NUL is refused
 *   (it could smuggle a second authorized_keys line with options).
 *
 * Wire format (docs/protocol.md, "Framing"): a 4-byte big-endian length, then that many bytes
 * of UTF-8 JSON. Sent:     {"v":1,"op":"ssh_keys","name":NAME}
 * Accepted answers:        {"status":"ok","keys":[STRING,...]} | {"status":"notfound"}
 *                          | {"status":"unavail"} | {"status":"error","error":CODE,...}
 * Other members are skipped; "status" and "keys" may each appear once.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hermit_client.h"
#include "json.h"

#ifndef HERMIT_DEADLINE_MS
#define HERMIT_DEADLINE_MS 2000 /* sshd waits for us on every offered key */
#endif

#define PROG "hermit-ssh-authorizedkeys"
#define MAX_KEYS 64 /* unixd/proto/limits.py MAX_SSH_KEYS */

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void fail(const char *fmt, ...)
{
    va_list ap;
    fputs(PROG ": ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

static void fail_conn(const struct hermit_conn *c) __attribute__((noreturn));
static void fail_conn(const struct hermit_conn *c)
{
    char why[256];
    fail("%s", hermit_describe(c, HERMIT_CONFIG_PATH, why, sizeof why));
}

static void garbage(const char *why) __attribute__((noreturn));
static void garbage(const char *why)
{
    fail("hermit-unixd answered something this program cannot read (%s)", why);
}

struct answer {
    const char *status;
    const char *error;
    const char *keys[MAX_KEYS];
    size_t key_lens[MAX_KEYS];
    int nkeys;
    int has_keys;
};

static void read_keys(struct hjson *r, struct answer *a)
{
    int first = 1;
    if (!hjson_open(r, '['))
        return;
    while (hjson_element(r, &first)) {
        if (a->nkeys == MAX_KEYS) {
            hjson_fail(r, "too many keys");
            return;
        }
        size_t len;
        const char *key = hjson_string(r, &len);
        if (key == NULL)
            return;
        /* A key with a line break could add a second authorized_keys line with options; a
         * NUL is refused by the reader already. */
        if (len == 0 || memchr(key, '\n', len) || memchr(key, '\r', len)) {
            hjson_fail(r, "a key that is empty or holds a line break");
            return;
        }
        a->keys[a->nkeys] = key;
        a->key_lens[a->nkeys] = len;
        a->nkeys++;
    }
}

/* The answer's members; "status" and "keys" may each appear once, others are skipped. */
static void read_answer(unsigned char *buf, size_t len, struct answer *a)
{
    struct hjson r;
    const char *name;
    int first = 1;
    size_t n;
    hjson_init(&r, buf, len);
    memset(a, 0, sizeof *a);
    if (hjson_open(&r, '{')) {
        while ((name = hjson_member(&r, &first)) != NULL) {
            if (hjson_is(name, "status")) {
                if (a->status != NULL)
                    hjson_fail(&r, "two statuses");
                a->status = hjson_string(&r, &n);
            } else if (hjson_is(name, "error") && hjson_peek(&r) == '"') {
                a->error = hjson_string(&r, &n);
            } else if (hjson_is(name, "keys")) {
                if (a->has_keys)
                    hjson_fail(&r, "two key lists");
                a->has_keys = 1;
                read_keys(&r, a);
            } else {
                hjson_skip(&r);
            }
        }
    }
    if (!hjson_finish(&r))
        garbage(r.why);
    if (a->status == NULL)
        garbage("no status");
}

/* An error code fit for our one stderr line: [a-z_]{1,64}, else a placeholder. */
static const char *tame_code(const char *code)
{
    size_t len = code == NULL ? 0 : strlen(code);
    if (len == 0 || len > 64 || strspn(code, "abcdefghijklmnopqrstuvwxyz_") != len)
        return "unknown";
    return code;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fputs("usage: " PROG " NAME\n", stderr);
        return 2;
    }
    const char *name = argv[1];
    if (!hermit_name_is_valid(name))
        return 0; /* no account can have this name: it has no keys (and no I/O is done) */

    struct hermit_conn conn;
    if (hermit_read_socket_path(&conn, HERMIT_CONFIG_PATH) != HERMIT_OK)
        fail_conn(&conn);

    /* {"v":1,"op":"ssh_keys","name":NAME} after 4 bytes for the frame header. */
    char request[4 + 64 + 6 * HERMIT_MAX_NAME_BYTES];
    struct hjson_out out;
    hermit_request(&out, request, sizeof request, "ssh_keys", name);
    hjson_put_raw(&out, "}");
    if (out.overflow)
        fail("name too long"); /* unreachable: NAME is at most 256 bytes */

    unsigned char *body;
    size_t len;
    if (hermit_connect(&conn, HERMIT_DEADLINE_MS) != HERMIT_OK ||
        hermit_check_peer(&conn) != HERMIT_OK ||
        hermit_send_frame(&conn, request, out.len - 4) != HERMIT_OK ||
        hermit_recv_frame(&conn, &body, &len) != HERMIT_OK)
        fail_conn(&conn);
    hermit_close(&conn);

    struct answer a;
    read_answer(body, len, &a);
    int rc = 0;
    if (hjson_is(a.status, "ok")) {
        if (!a.has_keys)
            garbage("ok without keys");
        for (int i = 0; i < a.nkeys; i++) {
            fwrite(a.keys[i], 1, a.key_lens[i], stdout);
            fputc('\n', stdout);
        }
    } else if (hjson_is(a.status, "notfound")) {
        /* Not one of hermit's accounts (or a local one): no keys. */
    } else if (hjson_is(a.status, "unavail")) {
        fputs(PROG ": hermit-unixd cannot answer now (offline and not cached, or the local "
              "accounts are not known yet)\n", stderr);
        rc = 1;
    } else if (hjson_is(a.status, "error")) {
        fprintf(stderr, PROG ": hermit-unixd refused the request: %s\n", tame_code(a.error));
        rc = 1;
    } else {
        garbage("an unknown status");
    }
    free(body);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, PROG ": cannot write the keys: %s\n", strerror(errno));
        return 1;
    }
    return rc;
}
