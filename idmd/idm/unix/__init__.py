"""What hermit-unixd reads: the UNIX_USER and UNIX_GROUP views behind ``/v1/unix``.

- ``views``: shaping POSIX entries into the views, without I/O (and the keyed
  ``password_version``).
- ``reads``: listing and reading them as the caller (the access profiles decide what a unix
  reader sees).
"""
