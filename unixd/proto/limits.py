"""Named limits of hermit-unixd's socket protocol, each with the reason for its value.

Every bound on what a peer of the client or task socket may send, or what unixd may answer,
lives here so a reviewer sees them all at once. The C clients (``sshkeys-helper/``,
``nss_module/``, ``pam_module/``) carry the same numbers; docs/protocol.md states them.

The numbers are unixd's own, written here, not imported from idmd (hermit-unixd never imports
the server). Where one must agree with idmd's (what idmd accepts, unixd must be able to pass
on) or with a C client's ``#define``, ``tests/unixd/test_limits.py`` compares them.
"""

from __future__ import annotations

# The wire version every request carries as ``"v"``; a new incompatible protocol gets 2.
PROTOCOL_VERSION = 1

# Client socket requests: the biggest real one is a PAM step with a 512-byte password plus a
# session id, far below 1 KiB; 64 KiB leaves room for growth and is what a 0666 socket may
# make unixd buffer per connection before it refuses on the header.
MAX_REQUEST_FRAME_BYTES = 64 * 1024

# Client socket responses: ``user_list`` / ``group_list`` of a large site (10k users at about
# 200 bytes each is 2 MiB) fit; a client allocates at most this much for one answer.
MAX_RESPONSE_FRAME_BYTES = 4 * 1024 * 1024

# Task socket (unixd <-> hermit-unixd-tasks, both trusted): /etc/passwd and /etc/group of a
# host with many local accounts travel in one frame.
MAX_TASK_FRAME_BYTES = 16 * 1024 * 1024

# A frame must be complete within this time or the peer is dropped, so a stalled client holds
# a connection slot only briefly (the same value as idmd's admin socket).
READ_TIMEOUT_SECONDS = 5.0

# A name asked about (a user or group name, an spn ``name@domain``, or a uuid). hermit's own
# names have at most 64 characters, but lookups also reach unixd for local names and spns;
# 256 bytes is Linux's LOGIN_NAME_MAX, the longest login name the C library knows of, and
# bounds every per-name cache key.
MAX_LOOKUP_NAME_BYTES = 256

# uid_t and gid_t are 32-bit unsigned; (uid_t)-1 = 4294967295 means "no id" to
# setreuid/chown, so it is never a valid identity to look up.
MAX_ID = 2**32 - 2

# A PAM service name is the name of a file in /etc/pam.d; Linux-PAM has no limit of its own,
# NAME_MAX (255) is the file system's.
MAX_PAM_SERVICE_BYTES = 255

# A PAM auth session id issued by unixd: 32 random bytes in URL-safe base64 are 43 characters;
# 128 leaves room without letting a client send a large key into the session table.
MAX_PAM_SESSION_ID_BYTES = 128

# A PAM step's answer is a password or a code: the same bound as idmd's passwords
# (MAX_PASSWORD_BYTES).
MAX_PAM_RESPONSE_BYTES = 512

# Text unixd shows through PAM (a prompt, an info line, a denial reason): a screenful.
MAX_PAM_TEXT_BYTES = 1024

# An error frame's detail: one line for a log, not a dump.
MAX_ERROR_DETAIL_BYTES = 1024

# passwd fields built by unixd (gecos = the display name, dir, shell): a gecos is a display
# name (idmd caps text at 256 characters, MAX_TEXT_LEN, up to 4 bytes each in UTF-8);
# PATH_MAX for paths.
MAX_GECOS_BYTES = 4 * 256
MAX_PATH_BYTES = 4096

# SSH keys in one answer and the length of one key line: idmd's own bounds
# (MAX_SSH_KEYS_PER_ACCOUNT, MAX_SSH_KEY_LEN).
MAX_SSH_KEYS = 64
MAX_SSH_KEY_BYTES = 16 * 1024
