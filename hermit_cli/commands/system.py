"""``hermit system pw-badlist show|upload FILE|remove WORD...``: the password badlist.

It does not format (``output.py``) and decides nothing about the words (the server casefolds,
validates and bounds them; docs/password-policy.md "The badlist"). An upload is sent in
batches that each fit the server's 256 KiB body limit; the words are added to what is there
(``remove`` takes words away), so uploading the same file twice prints ``unchanged``.

Implements DESIGN.md "Entry points" (``hermit system pw-badlist``) over docs/api.md "System".
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TextIO

from hermit_cli.client import JsonObject
from hermit_cli.context import Context
from hermit_cli.errors import UsageError
from hermit_cli.output import clean
from hermit_cli.parser import Subparsers, add_command, add_group

# The server's bound (idmd.limits.MAX_BADLIST_WORDS): a bigger file is refused before sending.
MAX_BADLIST_WORDS = 100_000
# JSON bytes of words per request: well under the server's 256 KiB body limit.
BATCH_BYTES = 192 * 1024


def register(commands: Subparsers) -> None:
    system = add_group(commands, "system", "settings of the whole system")
    badlist = add_group(system, "pw-badlist", "common passwords nobody may set")
    add_command(badlist, "show", "list the words on the badlist", show_badlist)
    upload = add_command(
        badlist,
        "upload",
        "add the words of FILE, one a line (blank lines and # comments ignored; - is stdin)",
        upload_badlist,
    )
    upload.add_argument("file", metavar="FILE")
    remove = add_command(badlist, "remove", "take words off the badlist", remove_badlist)
    remove.add_argument("words", metavar="WORD", nargs="+")


def read_words(lines: Iterable[str]) -> list[str]:
    """The words of a badlist file: one a line, blank lines and ``#`` comments skipped.

    Errors: ``UsageError`` beyond ``MAX_BADLIST_WORDS``.
    """
    words = []
    for line in lines:
        word = line.strip()
        if not word or word.startswith("#"):
            continue
        words.append(word)
        if len(words) > MAX_BADLIST_WORDS:
            raise UsageError(f"a badlist holds at most {MAX_BADLIST_WORDS} words")
    return words


def batches(words: list[str]) -> Iterator[list[str]]:
    """``words`` in runs whose JSON stays under ``BATCH_BYTES``."""
    batch: list[str] = []
    size = 0
    for word in words:
        cost = len(json.dumps(word)) + 2
        if batch and size + cost > BATCH_BYTES:
            yield batch
            batch, size = [], 0
        batch.append(word)
        size += cost
    if batch:
        yield batch


def _open_lines(path: str, stdin: TextIO) -> list[str]:
    if path == "-":
        return stdin.readlines()
    try:
        return Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from exc


def show_badlist(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.client() as client:
        body = client.show_badlist()
    if ctx.out.as_json:
        ctx.out.json(body)
        return
    for word in body.get("words") or []:
        ctx.out.line(clean(word))


def _send(ctx: Context, words: list[str], *, add: bool) -> JsonObject:
    changed = False
    count = None
    with ctx.client() as client:
        for batch in batches(words):
            answer = client.change_badlist(batch, add=add)
            changed = changed or answer.get("changed") is True
            count = answer.get("count")
    return {"changed": changed, "count": count}


def upload_badlist(ctx: Context, args: argparse.Namespace) -> None:
    words = read_words(_open_lines(args.file, ctx.stdin))
    if not words:
        raise UsageError(f"{args.file} holds no words")
    result = _send(ctx, words, add=True)
    ctx.out.write_result(result, f"badlist now holds {result['count']} words")


def remove_badlist(ctx: Context, args: argparse.Namespace) -> None:
    result = _send(ctx, list(args.words), add=False)
    ctx.out.write_result(result, f"badlist now holds {result['count']} words")
