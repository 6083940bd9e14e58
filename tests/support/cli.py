"""Run the `odradek` command in-process and capture what it prints."""

from __future__ import annotations

import io
import json
import sys
from dataclasses import dataclass

from odradek.cli import main


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self):
        return json.loads(self.out)


def run_cli(capsys, *args: str, stdin: bytes | None = None, monkeypatch=None) -> Result:
    capsys.readouterr()  # drop anything printed before
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    try:
        code = main([str(a) for a in args])
    except SystemExit as exc:  # argparse errors
        code = exc.code if isinstance(exc.code, int) else 2
    captured = capsys.readouterr()
    return Result(code, captured.out, captured.err)
