/*
 * reply: one round trip to hermit-unixd for the NSS module, and its answer as records.
 *
 * This file asks and reads; it does not touch the caller's struct passwd or group (that is
 * nss_hermit.c's). A reply owns one malloc'd body, into which every string points (decoded
 * and NUL-terminated in place), plus the arrays of records, member pointers and gids grown
 * with realloc; hermit_reply_free releases all of it.
 *
 * Status mapping (docs/native-modules.md):
 *   ok         -> NSS_STATUS_SUCCESS
 *   notfound   -> NSS_STATUS_NOTFOUND, errno ENOENT
 *   unavail    -> NSS_STATUS_UNAVAIL, errno EHOSTDOWN (offline and not cached; never NOTFOUND)
 *   error, or an answer this module cannot accept -> NSS_STATUS_UNAVAIL, errno EBADMSG
 *   no config, no socket, a timeout, a short frame -> NSS_STATUS_UNAVAIL, errno of the cause
 *
 * What is accepted (checked before anything reaches a caller): a record's name follows the
 * name rule; passwd must be "*"; ids are integers in 0 .. 4294967294; gecos, dir and shell
 * hold no ':' and no control character; a member follows the name rule. Unknown members
 * are skipped, so unixd may add fields.
 */
#ifndef HERMIT_NSS_REPLY_H
#define HERMIT_NSS_REPLY_H

#include <nss.h>
#include <stddef.h>
#include <stdint.h>

#include "json.h"

struct hermit_pw {
    const char *name, *gecos, *dir, *shell;
    uint32_t uid, gid;
};

struct hermit_gr {
    const char *name;
    uint32_t gid;
    size_t first_member; /* index into hermit_reply.members */
    size_t nmembers;
};

/* Which member of an ok answer is wanted. */
enum hermit_want { WANT_USER, WANT_USERS, WANT_GROUP, WANT_GROUPS, WANT_GIDS };

struct hermit_reply {
    unsigned char *body;
    struct hermit_pw *users;
    size_t nusers, cap_users;
    struct hermit_gr *groups;
    size_t ngroups, cap_groups;
    const char **members;
    size_t nmembers, cap_members;
    uint32_t *gids;
    size_t ngids, cap_gids;
};

/* Sends the request REQ (an hjson_out whose first 4 bytes are free for the header) and reads
 * the answer into *OUT (zeroed first). On anything but NSS_STATUS_SUCCESS, *OUT holds nothing
 * and *ERRNOP says why. */
enum nss_status hermit_ask(struct hjson_out *req, enum hermit_want want, struct hermit_reply *out,
                           int *errnop);

/* Reads the answer: OUT holds only the LEN-byte body received (malloc'd, OUT's to free; the
 * rest zeroed). The same results as hermit_ask, which calls it; apart so that tests/fuzz can
 * feed it bodies without a socket. */
enum nss_status hermit_reply_read(struct hermit_reply *out, size_t len, enum hermit_want want,
                                  int *errnop);

void hermit_reply_free(struct hermit_reply *r);

#endif
