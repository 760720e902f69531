/*
 * pam_hermit.so: the PAM module of hermit. It relays hermit-unixd's decisions to libpam.
 *
 * unixd decides what to ask and whether an answer is right; this module shows each prompt
 * unixd sends through the application's conversation and steps with the answer until unixd
 * says success, denied or unknown. It decides nothing else.
 *
 * Results (docs/native-modules.md has the table and a pam.d stack):
 *   authenticate   success -> PAM_SUCCESS (and PAM_AUTHTOK set to the password typed),
 *                  denied -> PAM_AUTH_ERR (the reason is shown), unknown -> PAM_USER_UNKNOWN (PAM_IGNORE with
 *                  ignore_unknown_user), unixd unreachable, untrusted or unreadable ->
 *                  PAM_AUTHINFO_UNAVAIL
 *   acct_mgmt      allowed -> PAM_SUCCESS, denied -> PAM_PERM_DENIED (the reason is shown),
 *                  unknown -> as above, unreachable -> PAM_AUTHINFO_UNAVAIL
 *   open_session   ok -> PAM_SUCCESS (the home exists), notfound -> PAM_IGNORE (a local user),
 *                  anything else -> PAM_SESSION_ERR
 *   close_session, setcred -> PAM_SUCCESS; chauthtok -> PAM_IGNORE
 * Options: debug, use_first_pass (answer the password prompt with PAM_AUTHTOK, never ask),
 *          ignore_unknown_user.
 *
 * Rules (STYLE.md "C thin-client rules"):
 * - One connection per conversation; each round trip has its own deadline, so the wait for
 *   a person to type is not counted.
 * - Before anything is sent on any connection, the socket and its peer are checked
 *   (hermit_check_peer): the socket is owned by the SO_PEERCRED uid of the process serving it,
 *   in a directory nobody else may write to.
 * - Every copy of a password or code is wiped with explicit_bzero before it is freed or goes
 *   out of scope; no secret is ever logged. Messages unixd sends are logged only at debug.
 * - Each pam_sm_* is one line into dispatch().
 * - Only pam_sm_* are exported (exports.map, -fvisibility=hidden); links libpam and libc.
 *
 * Wire format (docs/protocol.md "Client socket"): requests pam_auth_init {name, service},
 * pam_auth_step {session, response}, pam_account {name}, pam_session_open {name}; answers
 * {"status":"ok", "session"?, "next"?: PROMPT, "result"?, "reason"?} | notfound | unavail |
 * error, where PROMPT is {"kind": password|code, "prompt"} | {"kind": text, "text"}
 * | {"kind": success} | {"kind": denied, "reason"} | {"kind": unknown}.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "hermit_client.h"
#include "json.h"

#ifndef HERMIT_DEADLINE_MS
/* One round trip: unixd may ask idmd (request_timeout, 4 s by default), fall back to its cache
 * and run Argon2id before it answers a password step. */
#define HERMIT_DEADLINE_MS 10000
#endif

#define EXPORT __attribute__((visibility("default")))
#define MAX_STEPS 16           /* prompts in one login; unixd's flows use at most three */
#define MAX_RESPONSE_BYTES 512 /* unixd/proto/limits.py MAX_PAM_RESPONSE_BYTES */
#define MAX_SESSION_BYTES 128  /* unixd/proto/limits.py MAX_PAM_SESSION_ID_BYTES */
#define MAX_SERVICE_BYTES 255  /* unixd/proto/limits.py MAX_PAM_SERVICE_BYTES */
/* The largest request: a step whose 512-byte answer is all escapes (6 bytes each). */
#define REQUEST_SIZE (4 + 128 + MAX_SESSION_BYTES + 6 * MAX_RESPONSE_BYTES)

enum op { OP_AUTHENTICATE, OP_SETCRED, OP_ACCT_MGMT, OP_OPEN_SESSION, OP_CLOSE_SESSION,
          OP_CHAUTHTOK };

struct options {
    int debug;
    int use_first_pass;
    int ignore_unknown_user;
};

/* One answer from unixd; every string points into body. */
struct answer {
    unsigned char *body;
    const char *status, *session, *result, *reason;
    const char *kind, *prompt, *text, *denied_reason;
};

struct ctx {
    pam_handle_t *pamh;
    int flags;
    struct options opt;
    struct hermit_conn conn;
    const char *user;
};

/* ---- reading answers ---------------------------------------------------------------------- */

/* Every text unixd wants shown is read with hjson_text: no control character, and only a
 * text prompt may hold newlines. */
static void read_prompt(struct hjson *r, struct answer *a)
{
    int first = 1;
    const char *key;
    size_t n;
    if (!hjson_open(r, '{'))
        return;
    while ((key = hjson_member(r, &first)) != NULL) {
        if (hjson_is(key, "kind"))
            a->kind = hjson_string(r, &n);
        else if (hjson_is(key, "prompt"))
            a->prompt = hjson_text(r, 0, "");
        else if (hjson_is(key, "text"))
            a->text = hjson_text(r, 1, "");
        else if (hjson_is(key, "reason"))
            a->denied_reason = hjson_text(r, 0, "");
        else
            hjson_skip(r); /* "echo": the kind says it */
    }
}

/* Reads one answer into *A; 0 if it is unreadable (A->body is freed then). */
static int read_answer(unsigned char *body, size_t len, struct answer *a)
{
    struct hjson r;
    int first = 1;
    const char *key;
    size_t n;
    memset(a, 0, sizeof *a);
    a->body = body;
    hjson_init(&r, body, len);
    if (hjson_open(&r, '{')) {
        while ((key = hjson_member(&r, &first)) != NULL) {
            if (hjson_is(key, "status"))
                a->status = hjson_string(&r, &n);
            else if (hjson_is(key, "session"))
                a->session = hjson_string(&r, &n);
            else if (hjson_is(key, "result"))
                a->result = hjson_string(&r, &n);
            else if (hjson_is(key, "reason"))
                a->reason = hjson_text(&r, 0, "");
            else if (hjson_is(key, "next"))
                read_prompt(&r, a);
            else
                hjson_skip(&r);
        }
    }
    if (!hjson_finish(&r) || a->status == NULL) {
        free(body);
        a->body = NULL;
        return 0;
    }
    return 1;
}

/* ---- one round trip --------------------------------------------------------------------------- */

/* Sends REQ (wiped afterwards: it may hold a secret) and reads the answer; 0 on failure. */
static int round_trip(struct ctx *c, struct hjson_out *req, struct answer *a)
{
    unsigned char *body;
    size_t len;
    int ok = !req->overflow;
    hermit_arm(&c->conn, HERMIT_DEADLINE_MS);
    ok = ok && hermit_send_frame(&c->conn, req->buf, req->len - 4) == HERMIT_OK;
    explicit_bzero(req->buf, req->size);
    ok = ok && hermit_recv_frame(&c->conn, &body, &len) == HERMIT_OK;
    if (!ok) {
        char why[256];
        pam_syslog(c->pamh, LOG_ERR, "%s",
                   req->overflow ? "request too large"
                                 : hermit_describe(&c->conn, HERMIT_CONFIG_PATH, why, sizeof why));
        return 0;
    }
    if (!read_answer(body, len, a)) {
        pam_syslog(c->pamh, LOG_ERR, "hermit-unixd answered something this module cannot read");
        return 0;
    }
    return 1;
}

static int open_conn(struct ctx *c)
{
    char why[256];
    if (hermit_read_socket_path(&c->conn, HERMIT_CONFIG_PATH) != HERMIT_OK ||
        hermit_connect(&c->conn, HERMIT_DEADLINE_MS) != HERMIT_OK ||
        hermit_check_peer(&c->conn) != HERMIT_OK) {
        pam_syslog(c->pamh, LOG_ERR, "%s",
                   hermit_describe(&c->conn, HERMIT_CONFIG_PATH, why, sizeof why));
        hermit_close(&c->conn);
        return 0;
    }
    return 1;
}

static int unknown_user(const struct ctx *c)
{
    return c->opt.ignore_unknown_user ? PAM_IGNORE : PAM_USER_UNKNOWN;
}

/* ---- authenticate ------------------------------------------------------------------------------ */

/* Wipes and frees a secret from the conversation or our own copy. */
static void drop_secret(char **s)
{
    if (*s != NULL) {
        explicit_bzero(*s, strlen(*s));
        free(*s);
        *s = NULL;
    }
}

/* The answer to a password or code prompt into *ANSWER (malloc'd); a PAM code on failure.
 * *TYPED is set to a copy of a password the user typed (for PAM_AUTHTOK). */
static int ask_user(struct ctx *c, const struct answer *a, char **answer, char **typed)
{
    int password = hjson_is(a->kind, "password");
    const char *prompt = a->prompt != NULL ? a->prompt : "";
    if (password && c->opt.use_first_pass) {
        const void *item = NULL;
        if (pam_get_item(c->pamh, PAM_AUTHTOK, &item) != PAM_SUCCESS || item == NULL)
            return PAM_AUTH_ERR; /* told to use an earlier module's password: there is none */
        *answer = strdup(item);
        return *answer != NULL ? PAM_SUCCESS : PAM_BUF_ERR;
    }
    int rc = pam_prompt(c->pamh, password ? PAM_PROMPT_ECHO_OFF : PAM_PROMPT_ECHO_ON, answer,
                        "%s", prompt);
    if (rc != PAM_SUCCESS)
        return rc;
    if (*answer == NULL)
        return PAM_CONV_ERR;
    if (password && *typed == NULL) {
        *typed = strdup(*answer);
        if (*typed == NULL)
            return PAM_BUF_ERR;
    }
    return PAM_SUCCESS;
}

static int authenticate(struct ctx *c)
{
    const void *service = NULL;
    if (pam_get_item(c->pamh, PAM_SERVICE, &service) != PAM_SUCCESS || service == NULL ||
        strnlen(service, MAX_SERVICE_BYTES + 1) > MAX_SERVICE_BYTES)
        return PAM_SERVICE_ERR;
    if (!open_conn(c))
        return PAM_AUTHINFO_UNAVAIL;

    char raw[REQUEST_SIZE];
    char session[MAX_SESSION_BYTES + 1] = "";
    char *typed = NULL, *answer = NULL;
    struct hjson_out req;
    struct answer a;
    int rc = PAM_AUTHINFO_UNAVAIL;
    hermit_request(&req, raw, sizeof raw, "pam_auth_init", c->user);
    hjson_put_raw(&req, ",\"service\":");
    hjson_put_string(&req, service, strlen(service));
    hjson_put_raw(&req, "}");
    if (!round_trip(c, &req, &a))
        goto out;
    if (!hjson_is(a.status, "ok") || a.session == NULL ||
        strlen(a.session) > MAX_SESSION_BYTES) {
        free(a.body);
        goto out;
    }
    memcpy(session, a.session, strlen(a.session) + 1);

    for (int step = 0;; step++) {
        if (!hjson_is(a.status, "ok") || a.kind == NULL || step == MAX_STEPS) {
            rc = PAM_AUTHINFO_UNAVAIL;
            break;
        }
        if (hjson_is(a.kind, "success")) {
            rc = typed != NULL ? pam_set_item(c->pamh, PAM_AUTHTOK, typed) : PAM_SUCCESS;
            break;
        }
        if (hjson_is(a.kind, "denied")) {
            /* The person learns why (wrong password or code, try later, offline and a code is
             * needed); unixd's reasons never hold a secret. */
            if (!(c->flags & PAM_SILENT) && a.denied_reason != NULL)
                pam_error(c->pamh, "%s", a.denied_reason);
            if (c->opt.debug)
                pam_syslog(c->pamh, LOG_DEBUG, "denied: %s", a.denied_reason ? a.denied_reason : "");
            rc = PAM_AUTH_ERR;
            break;
        }
        if (hjson_is(a.kind, "unknown")) {
            rc = unknown_user(c);
            break;
        }
        if (hjson_is(a.kind, "text")) {
            if (!(c->flags & PAM_SILENT) && a.text != NULL)
                pam_info(c->pamh, "%s", a.text);
            answer = strdup("");
            rc = answer != NULL ? PAM_SUCCESS : PAM_BUF_ERR;
        } else if (hjson_is(a.kind, "password") || hjson_is(a.kind, "code")) {
            rc = ask_user(c, &a, &answer, &typed);
        } else {
            rc = PAM_AUTHINFO_UNAVAIL; /* a kind this module does not know */
        }
        free(a.body);
        a.body = NULL;
        if (rc != PAM_SUCCESS)
            goto out;
        if (strlen(answer) > MAX_RESPONSE_BYTES) {
            rc = PAM_AUTH_ERR; /* longer than any password unixd accepts */
            goto out;
        }
        hermit_request(&req, raw, sizeof raw, "pam_auth_step", NULL);
        hjson_put_raw(&req, ",\"session\":");
        hjson_put_string(&req, session, strlen(session));
        hjson_put_raw(&req, ",\"response\":");
        hjson_put_string(&req, answer, strlen(answer));
        hjson_put_raw(&req, "}");
        drop_secret(&answer);
        if (!round_trip(c, &req, &a)) {
            rc = PAM_AUTHINFO_UNAVAIL;
            goto out;
        }
    }
    free(a.body);
out:
    explicit_bzero(raw, sizeof raw);
    drop_secret(&answer);
    drop_secret(&typed);
    hermit_close(&c->conn);
    if (c->opt.debug)
        pam_syslog(c->pamh, LOG_DEBUG, "authenticate %s: %s", c->user, pam_strerror(c->pamh, rc));
    return rc;
}

/* ---- account and session ------------------------------------------------------------------------ */

/* One request {OP, name} on a connection of its own; 0 if no answer was read. */
static int ask_about_user(struct ctx *c, const char *op, struct answer *a)
{
    char raw[REQUEST_SIZE];
    struct hjson_out req;
    if (!open_conn(c))
        return 0;
    hermit_request(&req, raw, sizeof raw, op, c->user);
    hjson_put_raw(&req, "}");
    int ok = round_trip(c, &req, a);
    hermit_close(&c->conn);
    return ok;
}

static int account(struct ctx *c)
{
    struct answer a;
    if (!ask_about_user(c, "pam_account", &a))
        return PAM_AUTHINFO_UNAVAIL;
    int rc = PAM_AUTHINFO_UNAVAIL;
    if (hjson_is(a.status, "notfound")) {
        rc = unknown_user(c);
    } else if (hjson_is(a.status, "ok")) {
        if (hjson_is(a.result, "allowed")) {
            rc = PAM_SUCCESS;
        } else if (hjson_is(a.result, "denied")) {
            if (!(c->flags & PAM_SILENT) && a.reason != NULL)
                pam_error(c->pamh, "%s", a.reason);
            rc = PAM_PERM_DENIED;
        } else if (hjson_is(a.result, "unknown")) {
            rc = unknown_user(c);
        }
    }
    free(a.body);
    if (c->opt.debug)
        pam_syslog(c->pamh, LOG_DEBUG, "account %s: %s", c->user, pam_strerror(c->pamh, rc));
    return rc;
}

static int open_session(struct ctx *c)
{
    struct answer a;
    if (!ask_about_user(c, "pam_session_open", &a))
        return PAM_SESSION_ERR;
    int rc = hjson_is(a.status, "ok")         ? PAM_SUCCESS
             : hjson_is(a.status, "notfound") ? PAM_IGNORE
                                              : PAM_SESSION_ERR;
    free(a.body);
    if (c->opt.debug)
        pam_syslog(c->pamh, LOG_DEBUG, "open_session %s: %s", c->user, pam_strerror(c->pamh, rc));
    return rc;
}

/* ---- the dispatcher ------------------------------------------------------------------------------ */

static void parse_options(struct ctx *c, int argc, const char **argv)
{
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "debug") == 0)
            c->opt.debug = 1;
        else if (strcmp(argv[i], "use_first_pass") == 0)
            c->opt.use_first_pass = 1;
        else if (strcmp(argv[i], "ignore_unknown_user") == 0)
            c->opt.ignore_unknown_user = 1;
        else
            pam_syslog(c->pamh, LOG_WARNING, "unknown option: %s", argv[i]);
    }
}

static int dispatch(enum op op, pam_handle_t *pamh, int flags, int argc, const char **argv)
{
    struct ctx c;
    memset(&c, 0, sizeof c);
    c.pamh = pamh;
    c.flags = flags;
    c.conn.fd = -1;
    parse_options(&c, argc, argv);
    switch (op) {
    case OP_SETCRED:
    case OP_CLOSE_SESSION:
        return PAM_SUCCESS;
    case OP_CHAUTHTOK:
        return PAM_IGNORE; /* passwords are changed with hermit's own tools */
    default:
        break;
    }
    int rc = pam_get_user(pamh, &c.user, NULL);
    if (rc != PAM_SUCCESS || c.user == NULL)
        return rc == PAM_SUCCESS ? PAM_USER_UNKNOWN : rc;
    if (!hermit_name_is_valid(c.user))
        return unknown_user(&c); /* no account can have this name: no I/O */
    switch (op) {
    case OP_AUTHENTICATE:
        return authenticate(&c);
    case OP_ACCT_MGMT:
        return account(&c);
    case OP_OPEN_SESSION:
        return open_session(&c);
    default:
        return PAM_SERVICE_ERR;
    }
}

EXPORT int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{ return dispatch(OP_AUTHENTICATE, pamh, flags, argc, argv); }

EXPORT int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{ return dispatch(OP_SETCRED, pamh, flags, argc, argv); }

EXPORT int pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv)
{ return dispatch(OP_ACCT_MGMT, pamh, flags, argc, argv); }

EXPORT int pam_sm_open_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{ return dispatch(OP_OPEN_SESSION, pamh, flags, argc, argv); }

EXPORT int pam_sm_close_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{ return dispatch(OP_CLOSE_SESSION, pamh, flags, argc, argv); }

EXPORT int pam_sm_chauthtok(pam_handle_t *pamh, int flags, int argc, const char **argv)
{ return dispatch(OP_CHAUTHTOK, pamh, flags, argc, argv); }
