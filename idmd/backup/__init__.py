"""Backups of hermit-idmd's database: the file format, snapshots, restore and the schedule.

- ``format``    the backup file: header, digests, compressed payload; reading and checking it.
- ``files``     private files written atomically (0600 from creation, temp + fsync + rename).
- ``snapshot``  a consistent copy of the live database (SQLite's backup API) into a backup file.
- ``restore``   a checked backup replacing the database, only when every check passed.
- ``service``   the running server's backups: one at a time, off the trio loop.
- ``schedule``  the server's scheduled backups and their retention.

docs/backups.md is the operator's guide; the format is specified in ``format``.
"""
