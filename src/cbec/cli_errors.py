"""How every `cbec` command reports an error a user caused: code, Chinese, English on stderr; exit 2."""

from __future__ import annotations

from typing import NoReturn

import typer

from cbec.ceb.errors import CebError

#: exit status of a command that could not run (bad input, missing file …); 1 means "ran, found problems"
EXIT_UNUSABLE = 2


def fail(code: str, zh: str, en: str, exit_code: int = EXIT_UNUSABLE) -> NoReturn:
    """Report a user-triggerable failure on stderr, Chinese first, and stop with `exit_code`."""
    typer.echo(f"错误 [{code}]：{zh}", err=True)
    typer.echo(f"Error [{code}]: {en}", err=True)
    raise typer.Exit(exit_code)


def fail_with(exc: CebError) -> NoReturn:
    """`fail` with the code and texts an error already carries."""
    fail(exc.code, exc.zh, exc.en)
