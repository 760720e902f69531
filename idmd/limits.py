"""Named limits, each with the reason for its value.

Every bound on input lives here so a reviewer can see them all at once.
"""

from __future__ import annotations

from hermit_common import argon2id

# DESIGN.md: "Requests bigger than 256 KiB are refused with 413."
MAX_BODY_BYTES = 256 * 1024
# An answer given before the request body is read (413, 401, 404) first reads and discards
# the rest of the body, up to these (nginx's lingering close reads for up to 30 s), so the
# client finishes sending and reads the answer; RFC 9112 section 9.6 on why closing at once
# loses it. A larger body is left unread and the connection closed.
MAX_DRAIN_BYTES = 4 * 1024 * 1024
DRAIN_SECONDS = 5.0

# DESIGN.md: names are at most 64 characters (a common login-name limit: useradd allows 32,
# systemd 256 for its own names; 64 fits a spn's local part and every NSS consumer).
MAX_NAME_LEN = 64

# A display name, mail address or description: long enough for any real one, short enough that
# a gecos field stays sane.
MAX_TEXT_LEN = 256

# An SSH public key line: an RSA-16384 key is about 2.8 KiB in OpenSSH format; 16 KiB leaves
# room for long certificates' comments without letting one key fill an entry.
MAX_SSH_KEY_LEN = 16 * 1024
MAX_SSH_KEY_LABEL_LEN = 64
MAX_SSH_KEYS_PER_ACCOUNT = 64

# Passwords: NIST SP 800-63B asks verifiers to allow at least 64 characters; hashing cost is
# independent of length with Argon2id, so we allow 512 bytes of UTF-8.
MAX_PASSWORD_BYTES = 512

# Members named in one add/remove request.
MAX_MEMBERS_PER_REQUEST = 1024

# Auth sessions that may be in progress at once; beyond this the oldest is dropped, so a flood
# of `auth/begin` cannot grow memory without bound.
MAX_PENDING_AUTH_SESSIONS = 10_000
# An auth session that is not finished within this time is gone.
AUTH_SESSION_TTL_SECONDS = 300

# Bearer token lifetimes.
READ_WRITE_TOKEN_TTL_SECONDS = 60 * 60
READ_ONLY_TOKEN_TTL_SECONDS = 8 * 60 * 60

# Account policy defaults (idmd/idm/policy/account.py) when no group says otherwise: a session
# lasts a working day; writes are allowed for the privilege window after a login or `hermit reauth`.
DEFAULT_SESSION_LIFETIME_SECONDS = 8 * 60 * 60
DEFAULT_PRIVILEGE_LIFETIME_SECONDS = 15 * 60
# What a policy may set: at least a minute, at most 30 days (session) / a day (privilege).
MIN_POLICY_LIFETIME_SECONDS = 60
MAX_SESSION_LIFETIME_SECONDS = 30 * 24 * 60 * 60
MAX_PRIVILEGE_LIFETIME_SECONDS = 24 * 60 * 60

# Passwords (NIST SP 800-63B 5.1.1.2): at least 8 characters always; 12 by default, 15 when the
# account has no second factor (NIST's single-factor minimum in SP 800-63B rev. 4); a policy
# may raise the minimum up to 256.
ABSOLUTE_MIN_PASSWORD_CHARS = 8
DEFAULT_MIN_PASSWORD_CHARS = 12
SINGLE_FACTOR_MIN_PASSWORD_CHARS = 15
MAX_POLICY_PASSWORD_CHARS = 256
# Words on the badlist (each at most MAX_TEXT_LEN); uploads are refused beyond this.
MAX_BADLIST_WORDS = 100_000

# Softlocks (idmd/idm/auth/softlock.py): after each failure the credential waits 2^(n-1) seconds,
# capped; at CREDENTIAL_LOCK_FAILURES consecutive failures (NIST SP 800-63B 5.2.2: no more
# than 100) it locks for CREDENTIAL_LOCK_SECONDS. Counters held at once are bounded.
SOFTLOCK_MAX_DELAY_SECONDS = 60
CREDENTIAL_LOCK_FAILURES = 100
CREDENTIAL_LOCK_SECONDS = 24 * 60 * 60
# Counters of real accounts: a soft bound. Past it only counters whose wait ended at least
# SOFTLOCK_FORGET_SECONDS ago are dropped; a counter that still waits, is locked or was
# recently failed is never dropped (its account's failures would start again from one), so
# the table may grow past this, but only up to the accounts times their credentials.
MAX_SOFTLOCKS = 100_000
SOFTLOCK_FORGET_SECONDS = CREDENTIAL_LOCK_SECONDS
# Counters of names that match no account (or no account the caller may read): their own
# table, so a flood of made-up names never pushes out a real account's counter. A hard
# bound (a counter is ~250 bytes: ~12 MB); when every one of them waits, a new name is
# refused as "too many failed attempts" without a hash check.
MAX_UNKNOWN_SOFTLOCKS = 50_000
# Attempts on one credential go one at a time (docs/authentication.md "Softlocks"). At most
# this many wait behind the one being checked, each at most ATTEMPT_WAIT_SECONDS (less than
# hermit-unixd's request_timeout default of 4 s, so a host gets an answer, not a timeout);
# an owner's parallel logins on a few hosts queue, a burst of guesses is refused unchecked.
MAX_WAITING_ATTEMPTS = 8
ATTEMPT_WAIT_SECONDS = 3.0

# TOTP (RFC 6238): 30 s steps, 6 digits, 160-bit secrets (RFC 4226 4: at least 128, 160
# recommended); at most 16 TOTPs per credential so an entry stays small.
TOTP_STEP_SECONDS = 30
TOTP_DIGITS = 6
TOTP_SECRET_BYTES = 20
MAX_TOTPS_PER_CREDENTIAL = 16
# Backup codes: 10 at a time, each 12 characters from a 31-symbol alphabet (59 bits).
BACKUP_CODE_COUNT = 10
# What a login or unix auth step may carry as a code: a TOTP code is 6 or 8 digits, a backup
# code 12 characters; anything much longer is not one and is refused before it reaches the
# softlocks or a hash.
MAX_TOTP_CODE_LEN = 16
MAX_BACKUP_CODE_LEN = 64

# Credential update sessions (idmd/idm/credentials/staging.py): one per account, gone after this
# idle time; reset tokens live DEFAULT_RESET_TOKEN_TTL unless the admin says otherwise (at most a
# week), and are single use.
CREDENTIAL_UPDATE_IDLE_SECONDS = 15 * 60
MAX_CREDENTIAL_UPDATE_SESSIONS = 10_000
DEFAULT_RESET_TOKEN_TTL_SECONDS = 24 * 60 * 60
MAX_RESET_TOKEN_TTL_SECONDS = 7 * 24 * 60 * 60

# API tokens of service accounts: how many one account holds.
MAX_API_TOKENS_PER_ACCOUNT = 64

# Bearer tokens whose ES256 signature was verified, remembered so repeat requests skip the
# verification; 4,096 covers every host of a mid-sized fleet holding one anonymous token each.
VERIFIED_TOKEN_CACHE_SIZE = 4096

# Entries held decoded in memory: the whole directory of a mid-sized site.
ENTRY_CACHE_SIZE = 50_000

# Filter nesting: deeper filters are refused before evaluation (recursion bound).
MAX_FILTER_DEPTH = 16
# A substring term shorter than this cannot use the trigram index.
MIN_SUBSTRING_LEN = 3

# Argon2id cost: hermit_common.argon2id's (m=19 MiB, t=2, p=1, the reasons are there), which
# hermit-unixd's offline hashes use too.
ARGON2_MEMORY_KIB = argon2id.MEMORY_KIB
ARGON2_ITERATIONS = argon2id.ITERATIONS
ARGON2_LANES = argon2id.LANES
# Argon2id hashes computed at once (each holds ARGON2_MEMORY_KIB): bounds memory under a burst.
ARGON2_CONCURRENCY = 2

# Frames on the admin socket (same framing as unixd's client socket).
MAX_ADMIN_FRAME_BYTES = 64 * 1024
ADMIN_READ_TIMEOUT_SECONDS = 5.0
