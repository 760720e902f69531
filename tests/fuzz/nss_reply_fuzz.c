/*
 * nss_reply_fuzz: the libFuzzer harness of nss_module/reply.c, the NSS module's reader of
 * unixd's answers (hermit_reply_read, what hermit_ask runs on each body it receives).
 *
 * An input is one answer body. Every input is read once for each thing the module asks for
 * (user, users, group, groups, gids), each time from its own exact-size malloc'd copy that the
 * reply then owns, as hermit_recv_frame hands it over: whatever the module asked, any answer
 * must be refused or accepted safely.
 *
 * Promises checked (reply.h), besides ASan, UBSan and LeakSanitizer:
 * - anything but NSS_STATUS_SUCCESS leaves the reply empty (body and arrays freed, all zero)
 *   with errno ENOENT (NOTFOUND), EHOSTDOWN or EBADMSG (UNAVAIL);
 * - on success: one user or group for the single lookups; every name a valid name inside the
 *   body; gecos, dir and shell C strings inside the body without ':' or control characters;
 *   ids at most 4294967294; each group's members a slice of the members array, each a valid
 *   name inside the body; every count within its array's capacity.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "hermit_client.h"
#include "reply.h"

#define MAX_ID 4294967294u

static void check_name(const char *s, const unsigned char *lo, const unsigned char *hi)
{
    CHECK(c_string_inside(s, lo, hi) && hermit_name_is_valid(s));
}

static void check_field(const char *s, const unsigned char *lo, const unsigned char *hi)
{
    CHECK(c_string_inside(s, lo, hi));
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        CHECK(*p >= 0x20 && *p != 0x7f && *p != ':');
}

static void check_success(const struct hermit_reply *out, size_t size, enum hermit_want want)
{
    const unsigned char *lo = out->body, *hi = out->body + size;
    CHECK(out->nusers <= out->cap_users && out->ngroups <= out->cap_groups);
    CHECK(out->nmembers <= out->cap_members && out->ngids <= out->cap_gids);
    if (want == WANT_USER)
        CHECK(out->nusers == 1);
    if (want == WANT_GROUP)
        CHECK(out->ngroups == 1);
    if (want != WANT_USER && want != WANT_USERS)
        CHECK(out->nusers == 0);
    if (want != WANT_GROUP && want != WANT_GROUPS)
        CHECK(out->ngroups == 0 && out->nmembers == 0);
    if (want != WANT_GIDS)
        CHECK(out->ngids == 0);
    for (size_t i = 0; i < out->nusers; i++) {
        const struct hermit_pw *pw = &out->users[i];
        check_name(pw->name, lo, hi);
        check_field(pw->gecos, lo, hi);
        check_field(pw->dir, lo, hi);
        check_field(pw->shell, lo, hi);
        CHECK(pw->uid <= MAX_ID && pw->gid <= MAX_ID);
    }
    for (size_t i = 0; i < out->ngroups; i++) {
        const struct hermit_gr *gr = &out->groups[i];
        check_name(gr->name, lo, hi);
        CHECK(gr->gid <= MAX_ID);
        CHECK(gr->first_member <= out->nmembers &&
              gr->nmembers <= out->nmembers - gr->first_member);
        for (size_t k = 0; k < gr->nmembers; k++)
            check_name(out->members[gr->first_member + k], lo, hi);
    }
    for (size_t i = 0; i < out->ngids; i++)
        CHECK(out->gids[i] <= MAX_ID);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const enum hermit_want wants[] = {WANT_USER, WANT_USERS, WANT_GROUP, WANT_GROUPS,
                                             WANT_GIDS};
    for (size_t i = 0; i < sizeof wants / sizeof wants[0]; i++) {
        struct hermit_reply out;
        memset(&out, 0, sizeof out);
        out.body = exact_copy(data, size);
        int err = 0;
        enum nss_status st = hermit_reply_read(&out, size, wants[i], &err);
        if (st == NSS_STATUS_SUCCESS) {
            check_success(&out, size, wants[i]);
            hermit_reply_free(&out);
            continue;
        }
        static const struct hermit_reply empty;
        CHECK(memcmp(&out, &empty, sizeof out) == 0);
        CHECK((st == NSS_STATUS_NOTFOUND && err == ENOENT) ||
              (st == NSS_STATUS_UNAVAIL && (err == EHOSTDOWN || err == EBADMSG)));
    }
    return 0;
}
