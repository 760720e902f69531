/* reply: one round trip to hermit-unixd for the NSS module (see reply.h). */
#define _GNU_SOURCE
#include "reply.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hermit_client.h"

#ifndef HERMIT_DEADLINE_MS
/* Every process that resolves a name waits this long at most when unixd hangs; unixd answers
 * from its cache in well under a millisecond, and asks idmd within its own request_timeout. */
#define HERMIT_DEADLINE_MS 5000
#endif

#define MAX_ID 4294967294u /* (uid_t)-1 is never an identity */
#define NO_FIELD_SEPARATOR ":" /* gecos, dir, shell: ':' would split an /etc/passwd line */

/* Grows *ARR (of ELEM-byte items, *CAP of them) so one more fits; 0 when memory ran out. */
static int grow(void **arr, size_t *cap, size_t used, size_t elem)
{
    if (used < *cap)
        return 1;
    size_t n = *cap ? *cap * 2 : 16;
    void *p = realloc(*arr, n * elem);
    if (p == NULL)
        return 0;
    *arr = p;
    *cap = n;
    return 1;
}

static const char *name_value(struct hjson *r)
{
    size_t len;
    const char *s = hjson_string(r, &len);
    if (s != NULL && !hermit_name_is_valid(s)) {
        hjson_fail(r, "a name that breaks the name rule");
        return NULL;
    }
    return s;
}

static void star_value(struct hjson *r)
{
    size_t len;
    const char *s = hjson_string(r, &len);
    if (s != NULL && !hjson_is(s, "*"))
        hjson_fail(r, "a passwd field that is not '*'");
}

/* Notes member BIT of a record as read; a second time is an error. */
static void mark(struct hjson *r, unsigned *seen, unsigned bit)
{
    if (*seen & (1u << bit))
        hjson_fail(r, "a member given twice");
    *seen |= 1u << bit;
}

/* An array whose every element ONE reads into a new entry of one of OUT's arrays. */
static void read_array(struct hjson *r, struct hermit_reply *out,
                       void (*one)(struct hjson *, struct hermit_reply *))
{
    int first = 1;
    if (!hjson_open(r, '['))
        return;
    while (hjson_element(r, &first))
        one(r, out);
}

static void one_member(struct hjson *r, struct hermit_reply *out)
{
    const char *member = name_value(r);
    if (member == NULL)
        return;
    if (!grow((void **)&out->members, &out->cap_members, out->nmembers, sizeof *out->members)) {
        hjson_fail(r, "out of memory");
        return;
    }
    out->members[out->nmembers++] = member;
}

static void read_passwd(struct hjson *r, struct hermit_pw *pw)
{
    unsigned seen = 0;
    int first = 1;
    const char *key;
    if (!hjson_open(r, '{'))
        return;
    while ((key = hjson_member(r, &first)) != NULL) {
        if (hjson_is(key, "name")) {
            mark(r, &seen, 0);
            pw->name = name_value(r);
        } else if (hjson_is(key, "passwd")) {
            mark(r, &seen, 1);
            star_value(r);
        } else if (hjson_is(key, "uid")) {
            mark(r, &seen, 2);
            pw->uid = (uint32_t)hjson_uint(r, MAX_ID);
        } else if (hjson_is(key, "gid")) {
            mark(r, &seen, 3);
            pw->gid = (uint32_t)hjson_uint(r, MAX_ID);
        } else if (hjson_is(key, "gecos")) {
            mark(r, &seen, 4);
            pw->gecos = hjson_text(r, 0, NO_FIELD_SEPARATOR);
        } else if (hjson_is(key, "dir")) {
            mark(r, &seen, 5);
            pw->dir = hjson_text(r, 0, NO_FIELD_SEPARATOR);
        } else if (hjson_is(key, "shell")) {
            mark(r, &seen, 6);
            pw->shell = hjson_text(r, 0, NO_FIELD_SEPARATOR);
        } else {
            hjson_skip(r);
        }
    }
    if (seen != 0x7f)
        hjson_fail(r, "a user without all of its fields");
}

static void read_group(struct hjson *r, struct hermit_reply *out, struct hermit_gr *gr)
{
    unsigned seen = 0;
    int first = 1;
    const char *key;
    if (!hjson_open(r, '{'))
        return;
    while ((key = hjson_member(r, &first)) != NULL) {
        if (hjson_is(key, "name")) {
            mark(r, &seen, 0);
            gr->name = name_value(r);
        } else if (hjson_is(key, "passwd")) {
            mark(r, &seen, 1);
            star_value(r);
        } else if (hjson_is(key, "gid")) {
            mark(r, &seen, 2);
            gr->gid = (uint32_t)hjson_uint(r, MAX_ID);
        } else if (hjson_is(key, "members")) {
            mark(r, &seen, 3);
            gr->first_member = out->nmembers;
            read_array(r, out, one_member);
            gr->nmembers = out->nmembers - gr->first_member;
        } else {
            hjson_skip(r);
        }
    }
    if (seen != 0xf)
        hjson_fail(r, "a group without all of its fields");
}

/* Each reads one record or gid into a new entry of OUT's array. */
static void one_user(struct hjson *r, struct hermit_reply *out)
{
    if (!grow((void **)&out->users, &out->cap_users, out->nusers, sizeof *out->users)) {
        hjson_fail(r, "out of memory");
        return;
    }
    struct hermit_pw *pw = &out->users[out->nusers++];
    memset(pw, 0, sizeof *pw);
    read_passwd(r, pw);
}

static void one_group(struct hjson *r, struct hermit_reply *out)
{
    if (!grow((void **)&out->groups, &out->cap_groups, out->ngroups, sizeof *out->groups)) {
        hjson_fail(r, "out of memory");
        return;
    }
    struct hermit_gr *gr = &out->groups[out->ngroups++];
    memset(gr, 0, sizeof *gr);
    read_group(r, out, gr);
}

static void one_gid(struct hjson *r, struct hermit_reply *out)
{
    if (!grow((void **)&out->gids, &out->cap_gids, out->ngids, sizeof *out->gids)) {
        hjson_fail(r, "out of memory");
        return;
    }
    out->gids[out->ngids++] = (uint32_t)hjson_uint(r, MAX_ID);
}

/* The member of an ok answer each want reads. */
static const char *const want_key[] = {"user", "users", "group", "groups", "gids"};

static void read_wanted(struct hjson *r, enum hermit_want want, struct hermit_reply *out)
{
    switch (want) {
    case WANT_USER:
        one_user(r, out);
        break;
    case WANT_USERS:
        read_array(r, out, one_user);
        break;
    case WANT_GROUP:
        one_group(r, out);
        break;
    case WANT_GROUPS:
        read_array(r, out, one_group);
        break;
    case WANT_GIDS:
        read_array(r, out, one_gid);
        break;
    }
}

void hermit_reply_free(struct hermit_reply *r)
{
    free(r->body);
    free(r->users);
    free(r->groups);
    free(r->members);
    free(r->gids);
    memset(r, 0, sizeof *r);
}

static enum nss_status unavail(struct hermit_reply *out, int *errnop, int err)
{
    hermit_reply_free(out);
    *errnop = err;
    return NSS_STATUS_UNAVAIL;
}

enum nss_status hermit_ask(struct hjson_out *req, enum hermit_want want, struct hermit_reply *out,
                           int *errnop)
{
    memset(out, 0, sizeof *out);
    if (req->overflow)
        return unavail(out, errnop, EINVAL);
    struct hermit_conn conn;
    size_t len = 0;
    if (hermit_read_socket_path(&conn, HERMIT_CONFIG_PATH) != HERMIT_OK ||
        hermit_connect(&conn, HERMIT_DEADLINE_MS) != HERMIT_OK ||
        hermit_check_peer(&conn) != HERMIT_OK ||
        hermit_send_frame(&conn, req->buf, req->len - 4) != HERMIT_OK ||
        hermit_recv_frame(&conn, &out->body, &len) != HERMIT_OK) {
        hermit_close(&conn);
        return unavail(out, errnop, conn.sys_errno ? conn.sys_errno : EIO);
    }
    hermit_close(&conn);
    return hermit_reply_read(out, len, want, errnop);
}

enum nss_status hermit_reply_read(struct hermit_reply *out, size_t len, enum hermit_want want,
                                  int *errnop)
{
    struct hjson r;
    const char *key, *status = NULL;
    int first = 1, has_wanted = 0;
    size_t n;
    hjson_init(&r, out->body, len);
    if (hjson_open(&r, '{')) {
        while ((key = hjson_member(&r, &first)) != NULL) {
            if (hjson_is(key, "status")) {
                if (status != NULL)
                    hjson_fail(&r, "two statuses");
                status = hjson_string(&r, &n);
            } else if (hjson_is(key, want_key[want])) {
                if (has_wanted)
                    hjson_fail(&r, "a member given twice");
                has_wanted = 1;
                read_wanted(&r, want, out);
            } else {
                hjson_skip(&r);
            }
        }
    }
    if (!hjson_finish(&r) || status == NULL)
        return unavail(out, errnop, EBADMSG);
    if (hjson_is(status, "ok")) {
        if (!has_wanted)
            return unavail(out, errnop, EBADMSG);
        return NSS_STATUS_SUCCESS;
    }
    if (hjson_is(status, "notfound")) {
        hermit_reply_free(out);
        *errnop = ENOENT;
        return NSS_STATUS_NOTFOUND;
    }
    if (hjson_is(status, "unavail"))
        return unavail(out, errnop, EHOSTDOWN);
    return unavail(out, errnop, EBADMSG); /* "error", or a status this module does not know */
}
