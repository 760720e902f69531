/*
 * libnss_hermit.so.2: glibc's "hermit" NSS service for passwd and group.
 *
 * Each lookup by name or id first looks in the memory cache unixd publishes (memcache.c): a
 * fresh record found there is copied into the caller's buffer with no I/O but one stat().
 * Otherwise (a miss, an expired record, any doubt about the file) it marshals one request,
 * makes one round trip to hermit-unixd's client socket (reply.c) and copies the answer into
 * the caller's buffer. Enumeration always asks the socket. Every decision (local names win,
 * name_format, homes, caching, offline) is unixd's; this module only maps answers to glibc.
 *
 * Rules (STYLE.md "C thin-client rules", docs/native-modules.md):
 * - Names are checked before any I/O: a name unixd would refuse (':', '/', ',', blanks,
 *   control characters, over 256 bytes, "." and "..") is NSS_STATUS_NOTFOUND at once. So is
 *   hermit-unixd, unixd's own service user and group: unixd never resolves names through NSS,
 *   and this guard keeps a misconfigured host from looping through the module anyway.
 * - The caller's buffer: too small is ERANGE + NSS_STATUS_TRYAGAIN (glibc retries with a
 *   bigger one); the caller's struct is written only once everything fits, never half-filled.
 * - Trust (cclient's rule): a request goes to the socket only once it passed
 *   hermit_check_peer, and a memory-cache file is mapped only if hermit_file_is_trusted; a
 *   socket or file someone else could have put beside socket_path is UNAVAIL, never an answer.
 * - No environment. The only global state, each behind its own mutex: the memory cache's
 *   mappings (memcache.c), and the two enumeration lists, fetched once per setpwent/setgrent
 *   into memory this module owns and frees at endpwent/endgrent (or the next set*ent).
 * - Every allocation is freed before the call returns, except those enumeration lists (the
 *   memory cache's mappings are kept until a file changes).
 * - Only the _nss_hermit_* entry points are exported (exports.map, -fvisibility=hidden).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <nss.h>
#include <pthread.h>
#include <pwd.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "hermit_client.h"
#include "json.h"
#include "memcache.h"
#include "reply.h"

#define EXPORT __attribute__((visibility("default")))
#define SERVICE_USER "hermit-unixd"
#define REQUEST_SIZE (4 + 64 + 6 * HERMIT_MAX_NAME_BYTES)

/* ---- requests --------------------------------------------------------------------------- */

/* The whole request for OP, with the member "name" unless NAME is NULL. */
static void request(struct hjson_out *o, char *buf, const char *op, const char *name)
{
    hermit_request(o, buf, REQUEST_SIZE, op, name);
    hjson_put_raw(o, "}");
}

static void request_id(struct hjson_out *o, char *buf, const char *op, const char *field,
                       uint32_t id)
{
    hermit_request(o, buf, REQUEST_SIZE, op, NULL);
    hjson_put_raw(o, ",\"");
    hjson_put_raw(o, field);
    hjson_put_raw(o, "\":");
    hjson_put_uint(o, id);
    hjson_put_raw(o, "}");
}

/* 1 if NAME may be asked about or answered: it follows the name rule and is not unixd's own
 * service user or group. */
static int ours(const char *name)
{
    return name != NULL && hermit_name_is_valid(name) && strcmp(name, SERVICE_USER) != 0;
}

static enum nss_status not_found(int *errnop)
{
    *errnop = ENOENT;
    return NSS_STATUS_NOTFOUND;
}

/* ---- copying into the caller's buffer ------------------------------------------------------ */

struct space {
    char *p;
    size_t left;
};

static char *put_string(struct space *s, const char *str)
{
    size_t n = strlen(str) + 1;
    if (n > s->left)
        return NULL;
    char *dst = memcpy(s->p, str, n);
    s->p += n;
    s->left -= n;
    return dst;
}

/* Room for N pointers at the first pointer-aligned address. */
static char **put_pointers(struct space *s, size_t n)
{
    size_t pad = (sizeof(char *) - (uintptr_t)s->p % sizeof(char *)) % sizeof(char *);
    if (pad > s->left || n > (s->left - pad) / sizeof(char *))
        return NULL;
    char **dst = (char **)(void *)(s->p + pad);
    s->p += pad + n * sizeof(char *);
    s->left -= pad + n * sizeof(char *);
    return dst;
}

static enum nss_status too_small(int *errnop)
{
    *errnop = ERANGE;
    return NSS_STATUS_TRYAGAIN;
}

static enum nss_status fill_passwd(const struct hermit_pw *u, struct passwd *result, char *buf,
                                   size_t buflen, int *errnop)
{
    struct space s = {buf, buflen};
    struct passwd pw;
    pw.pw_uid = u->uid;
    pw.pw_gid = u->gid;
    if (buf == NULL || (pw.pw_name = put_string(&s, u->name)) == NULL ||
        (pw.pw_passwd = put_string(&s, "*")) == NULL ||
        (pw.pw_gecos = put_string(&s, u->gecos)) == NULL ||
        (pw.pw_dir = put_string(&s, u->dir)) == NULL ||
        (pw.pw_shell = put_string(&s, u->shell)) == NULL)
        return too_small(errnop);
    *result = pw;
    return NSS_STATUS_SUCCESS;
}

/* A group's member names: an array of pointers (a reply), or NUL-terminated strings one
 * after another (a memory-cache record). */
struct members {
    const char *const *array;
    const char *packed;
    size_t n;
};

static const char *next_member(struct members *m)
{
    if (m->array != NULL)
        return *m->array++;
    const char *member = m->packed;
    m->packed += strlen(member) + 1;
    return member;
}

static enum nss_status fill_group(const char *name, uint32_t gid, struct members mem,
                                  struct group *result, char *buf, size_t buflen, int *errnop)
{
    struct space s = {buf, buflen};
    struct group gr;
    gr.gr_gid = gid;
    if (buf == NULL || (gr.gr_mem = put_pointers(&s, mem.n + 1)) == NULL ||
        (gr.gr_name = put_string(&s, name)) == NULL ||
        (gr.gr_passwd = put_string(&s, "*")) == NULL)
        return too_small(errnop);
    for (size_t i = 0; i < mem.n; i++) {
        if ((gr.gr_mem[i] = put_string(&s, next_member(&mem))) == NULL)
            return too_small(errnop);
    }
    gr.gr_mem[mem.n] = NULL;
    *result = gr;
    return NSS_STATUS_SUCCESS;
}

static enum nss_status fill_reply_group(const struct hermit_reply *r, const struct hermit_gr *g,
                                        struct group *result, char *buf, size_t buflen,
                                        int *errnop)
{
    struct members mem = {r->members + g->first_member, NULL, g->nmembers};
    return fill_group(g->name, g->gid, mem, result, buf, buflen, errnop);
}

/* ---- the memory cache ------------------------------------------------------------------------ */

/* Where a memory-cache record is copied to, and the status of the copy. */
struct target {
    void *result; /* struct passwd or struct group */
    char *buf;
    size_t buflen;
    int *errnop;
    enum nss_status st;
};

static int use_passwd(const struct hermit_mc_rec *rec, void *ctx)
{
    struct target *t = ctx;
    const char *name = rec->strings;
    if (rec->count != 4 || !ours(name))
        return 0; /* not what unixd writes: let the socket answer */
    struct hermit_pw u;
    u.name = name;
    u.gecos = u.name + strlen(u.name) + 1;
    u.dir = u.gecos + strlen(u.gecos) + 1;
    u.shell = u.dir + strlen(u.dir) + 1;
    u.uid = rec->id1;
    u.gid = rec->id2;
    t->st = fill_passwd(&u, t->result, t->buf, t->buflen, t->errnop);
    return 1;
}

static int use_group(const struct hermit_mc_rec *rec, void *ctx)
{
    struct target *t = ctx;
    const char *name = rec->strings;
    if (!ours(name))
        return 0;
    struct members mem = {NULL, name + strlen(name) + 1, rec->count - 1};
    t->st = fill_group(name, rec->id1, mem, t->result, t->buf, t->buflen, t->errnop);
    return 1;
}

/* ---- passwd --------------------------------------------------------------------------------- */

static enum nss_status lookup_user(struct hjson_out *req, struct passwd *result, char *buf,
                                   size_t buflen, int *errnop)
{
    struct hermit_reply r;
    enum nss_status st = hermit_ask(req, WANT_USER, &r, errnop);
    if (st == NSS_STATUS_SUCCESS) {
        /* unixd answers the name it knows; its own service user never comes from here. */
        if (!ours(r.users[0].name))
            st = not_found(errnop);
        else
            st = fill_passwd(&r.users[0], result, buf, buflen, errnop);
    }
    hermit_reply_free(&r);
    return st;
}

EXPORT enum nss_status _nss_hermit_getpwnam_r(const char *name, struct passwd *result, char *buf,
                                              size_t buflen, int *errnop)
{
    if (!ours(name))
        return not_found(errnop);
    struct target t = {result, buf, buflen, errnop, NSS_STATUS_UNAVAIL};
    if (hermit_mc_by_name(HERMIT_MC_PASSWD, name, use_passwd, &t))
        return t.st;
    char raw[REQUEST_SIZE];
    struct hjson_out req;
    request(&req, raw, "user_by_name", name);
    return lookup_user(&req, result, buf, buflen, errnop);
}

EXPORT enum nss_status _nss_hermit_getpwuid_r(uid_t uid, struct passwd *result, char *buf,
                                              size_t buflen, int *errnop)
{
    if (uid == (uid_t)-1)
        return not_found(errnop);
    struct target t = {result, buf, buflen, errnop, NSS_STATUS_UNAVAIL};
    if (hermit_mc_by_id(HERMIT_MC_PASSWD, uid, use_passwd, &t))
        return t.st;
    char raw[REQUEST_SIZE];
    struct hjson_out req;
    request_id(&req, raw, "user_by_uid", "uid", uid);
    return lookup_user(&req, result, buf, buflen, errnop);
}

/* ---- group ---------------------------------------------------------------------------------- */

static enum nss_status lookup_group(struct hjson_out *req, struct group *result, char *buf,
                                    size_t buflen, int *errnop)
{
    struct hermit_reply r;
    enum nss_status st = hermit_ask(req, WANT_GROUP, &r, errnop);
    if (st == NSS_STATUS_SUCCESS) {
        if (!ours(r.groups[0].name))
            st = not_found(errnop);
        else
            st = fill_reply_group(&r, &r.groups[0], result, buf, buflen, errnop);
    }
    hermit_reply_free(&r);
    return st;
}

EXPORT enum nss_status _nss_hermit_getgrnam_r(const char *name, struct group *result, char *buf,
                                              size_t buflen, int *errnop)
{
    if (!ours(name))
        return not_found(errnop);
    struct target t = {result, buf, buflen, errnop, NSS_STATUS_UNAVAIL};
    if (hermit_mc_by_name(HERMIT_MC_GROUP, name, use_group, &t))
        return t.st;
    char raw[REQUEST_SIZE];
    struct hjson_out req;
    request(&req, raw, "group_by_name", name);
    return lookup_group(&req, result, buf, buflen, errnop);
}

EXPORT enum nss_status _nss_hermit_getgrgid_r(gid_t gid, struct group *result, char *buf,
                                              size_t buflen, int *errnop)
{
    if (gid == (gid_t)-1)
        return not_found(errnop);
    struct target t = {result, buf, buflen, errnop, NSS_STATUS_UNAVAIL};
    if (hermit_mc_by_id(HERMIT_MC_GROUP, gid, use_group, &t))
        return t.st;
    char raw[REQUEST_SIZE];
    struct hjson_out req;
    request_id(&req, raw, "group_by_gid", "gid", gid);
    return lookup_group(&req, result, buf, buflen, errnop);
}

/* ---- initgroups ------------------------------------------------------------------------------ */

/* Appends GID to glibc's array unless it is there already; 0 when memory ran out. The array
 * grows by doubling up to LIMIT (if positive), as glibc's own modules grow it. */
static int add_gid(gid_t gid, long int *start, long int *size, gid_t **groupsp, long int limit)
{
    for (long int i = 0; i < *start; i++)
        if ((*groupsp)[i] == gid)
            return 1;
    if (*start == *size) {
        if (limit > 0 && *size >= limit)
            return 1; /* full: the caller asked for no more */
        long int n = *size > 0 ? *size * 2 : 16;
        if (limit > 0 && n > limit)
            n = limit;
        gid_t *grown = realloc(*groupsp, (size_t)n * sizeof **groupsp);
        if (grown == NULL)
            return 0;
        *groupsp = grown;
        *size = n;
    }
    (*groupsp)[(*start)++] = gid;
    return 1;
}

/* glibc's initgroups arguments, and the status of adding gids to them. */
struct gid_target {
    gid_t group;
    long int *start, *size, limit;
    gid_t **groupsp;
    int *errnop;
    enum nss_status st;
};

/* Adds GID unless it is the primary group (glibc has it already); 0 when memory ran out
 * (T's status is then TRYAGAIN, errno ENOMEM). */
static int offer_gid(struct gid_target *t, gid_t gid)
{
    if (gid == t->group || add_gid(gid, t->start, t->size, t->groupsp, t->limit))
        return 1;
    *t->errnop = ENOMEM;
    t->st = NSS_STATUS_TRYAGAIN;
    return 0;
}

static int use_gids(const struct hermit_mc_rec *rec, void *ctx)
{
    struct gid_target *t = ctx;
    t->st = NSS_STATUS_SUCCESS;
    for (uint32_t i = 0; i < rec->id1 && offer_gid(t, hermit_mc_gid(rec, i)); i++)
        continue;
    return 1;
}

EXPORT enum nss_status _nss_hermit_initgroups_dyn(const char *user, gid_t group, long int *start,
                                                  long int *size, gid_t **groupsp,
                                                  long int limit, int *errnop)
{
    if (!ours(user))
        return not_found(errnop);
    struct gid_target t = {group, start, size, limit, groupsp, errnop, NSS_STATUS_UNAVAIL};
    if (hermit_mc_by_name(HERMIT_MC_INITGROUPS, user, use_gids, &t))
        return t.st;
    char raw[REQUEST_SIZE];
    struct hjson_out req;
    request(&req, raw, "initgroups", user);
    struct hermit_reply r;
    t.st = hermit_ask(&req, WANT_GIDS, &r, errnop);
    if (t.st == NSS_STATUS_SUCCESS) {
        for (size_t i = 0; i < r.ngids && offer_gid(&t, r.gids[i]); i++)
            continue;
    }
    hermit_reply_free(&r);
    return t.st;
}

/* ---- enumeration ------------------------------------------------------------------------------ */

struct listing {
    pthread_mutex_t lock;
    const char *op;
    enum hermit_want want; /* WANT_USERS or WANT_GROUPS */
    /* Invariant: loaded == 1 iff list holds a successful answer; next <= its record count. */
    int loaded;
    size_t next;
    struct hermit_reply list;
};

static struct listing users = {PTHREAD_MUTEX_INITIALIZER, "user_list", WANT_USERS, 0, 0, {0}};
static struct listing groups = {PTHREAD_MUTEX_INITIALIZER, "group_list", WANT_GROUPS, 0, 0, {0}};

static void forget(struct listing *l)
{
    if (l->loaded)
        hermit_reply_free(&l->list);
    l->loaded = 0;
    l->next = 0;
}

/* Fetches the list into L (lock held); the status of the fetch. */
static enum nss_status load(struct listing *l, int *errnop)
{
    char raw[REQUEST_SIZE];
    struct hjson_out req;
    forget(l);
    request(&req, raw, l->op, NULL);
    enum nss_status st = hermit_ask(&req, l->want, &l->list, errnop);
    l->loaded = st == NSS_STATUS_SUCCESS;
    return st;
}

static size_t listed(const struct listing *l)
{
    return l->want == WANT_USERS ? l->list.nusers : l->list.ngroups;
}

static const char *listed_name(const struct listing *l, size_t i)
{
    return l->want == WANT_USERS ? l->list.users[i].name : l->list.groups[i].name;
}

/* With L's lock held: the list loaded if it was not, and l->next at the entry to offer (the
 * service user is skipped here as in lookups); NOTFOUND past the last one. */
static enum nss_status next_entry(struct listing *l, int *errnop)
{
    enum nss_status st = l->loaded ? NSS_STATUS_SUCCESS : load(l, errnop);
    if (st != NSS_STATUS_SUCCESS)
        return st;
    while (l->next < listed(l) && !ours(listed_name(l, l->next)))
        l->next++;
    return l->next < listed(l) ? NSS_STATUS_SUCCESS : not_found(errnop);
}

static enum nss_status set_ent(struct listing *l)
{
    int err;
    pthread_mutex_lock(&l->lock);
    enum nss_status st = load(l, &err);
    pthread_mutex_unlock(&l->lock);
    return st;
}

static enum nss_status end_ent(struct listing *l)
{
    pthread_mutex_lock(&l->lock);
    forget(l);
    pthread_mutex_unlock(&l->lock);
    return NSS_STATUS_SUCCESS;
}

EXPORT enum nss_status _nss_hermit_setpwent(int stayopen)
{
    (void)stayopen;
    return set_ent(&users);
}

EXPORT enum nss_status _nss_hermit_endpwent(void)
{
    return end_ent(&users);
}

EXPORT enum nss_status _nss_hermit_getpwent_r(struct passwd *result, char *buf, size_t buflen,
                                              int *errnop)
{
    pthread_mutex_lock(&users.lock);
    enum nss_status st = next_entry(&users, errnop);
    if (st == NSS_STATUS_SUCCESS) {
        st = fill_passwd(&users.list.users[users.next], result, buf, buflen, errnop);
        if (st == NSS_STATUS_SUCCESS)
            users.next++; /* after ERANGE the same entry is offered again */
    }
    pthread_mutex_unlock(&users.lock);
    return st;
}

EXPORT enum nss_status _nss_hermit_setgrent(int stayopen)
{
    (void)stayopen;
    return set_ent(&groups);
}

EXPORT enum nss_status _nss_hermit_endgrent(void)
{
    return end_ent(&groups);
}

EXPORT enum nss_status _nss_hermit_getgrent_r(struct group *result, char *buf, size_t buflen,
                                              int *errnop)
{
    pthread_mutex_lock(&groups.lock);
    enum nss_status st = next_entry(&groups, errnop);
    if (st == NSS_STATUS_SUCCESS) {
        st = fill_reply_group(&groups.list, &groups.list.groups[groups.next], result, buf,
                              buflen, errnop);
        if (st == NSS_STATUS_SUCCESS)
            groups.next++;
    }
    pthread_mutex_unlock(&groups.lock);
    return st;
}
