"""Rendered reports in the lake's storage: ``reports/<kind>/<period>/<property>.<language>.<format>``.

The storage is the lake's (a local folder by default, an object store in production), reached
through pyarrow's file systems. A report is written to a temporary name and moved over the
final one, so a reader finds the previous rendering or the new one, never half a file.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

from pyarrow import fs

from reports.periods import Period

FORMATS = {"pdf": "application/pdf", "html": "text/html; charset=utf-8"}
GROUP = "group"  # the property code of the group's report (every property together)
LANGUAGES = ("en", "vi")  # the languages reports are written in (reports.rendering's labels)


@dataclass(frozen=True)
class StoredReport:
    kind: str
    period: str
    property: str
    language: str
    format: str
    path: str  # where it lies, in the storage's own form (a local path or bucket/key)
    size: int


class ReportStore:
    def __init__(self, root_uri: str):
        """``root_uri``: the lake's root (a folder or ``s3://bucket/prefix``); reports go
        under its ``reports/`` folder."""
        root_uri = str(root_uri)
        if "://" not in root_uri:  # a folder: pyarrow takes absolute paths only
            root_uri = str(Path(root_uri).resolve())
        self.fs, root = fs.FileSystem.from_uri(root_uri)
        self.root = f"{root.rstrip('/')}/reports"
        self.uri = f"{root_uri.rstrip('/')}/reports"

    def path(self, kind: str, period: Period | str, prop: str, language: str, fmt: str) -> str:
        if fmt not in FORMATS:
            raise ValueError(f"unknown format {fmt!r}; known formats: {', '.join(FORMATS)}")
        key = period.key if isinstance(period, Period) else period
        return f"{self.root}/{kind}/{key}/{prop}.{language}.{fmt}"

    def write(self, kind: str, period: Period, prop: str, language: str, fmt: str,
              content: bytes | str) -> StoredReport:
        data = content.encode() if isinstance(content, str) else content
        target = self.path(kind, period, prop, language, fmt)
        folder, name = target.rsplit("/", 1)
        self.fs.create_dir(folder, recursive=True)
        tmp = f"{folder}/.{name}.{uuid.uuid4().hex[:12]}.tmp"
        try:
            with self.fs.open_output_stream(tmp) as out:
                out.write(data)
            self.fs.move(tmp, target)  # a rename on disk; an object appears whole
        except BaseException:
            if self.fs.get_file_info(tmp).type != fs.FileType.NotFound:
                self.fs.delete_file(tmp)
            raise
        return StoredReport(kind, period.key, prop, language, fmt, target, len(data))

    def uri_of(self, stored: StoredReport) -> str:
        """A stored report's address for pyarrow (``FileSystem.from_uri``), e.g. for a sender."""
        return f"{self.uri}{stored.path[len(self.root):]}"

    def read(self, kind: str, period: Period | str, prop: str, language: str,
             fmt: str) -> bytes | None:
        """The stored report's bytes, or None when it was never rendered."""
        target = self.path(kind, period, prop, language, fmt)
        if self.fs.get_file_info(target).type != fs.FileType.File:
            return None
        with self.fs.open_input_stream(target) as f:
            return f.read()

    def list(self, kind: str | None = None, period: Period | str | None = None) -> list[StoredReport]:
        """The stored reports, newest period first (optionally of one kind and period)."""
        base = self.root if kind is None else f"{self.root}/{kind}"
        if period is not None and kind is not None:
            base = f"{base}/{period.key if isinstance(period, Period) else period}"
        if self.fs.get_file_info(base).type != fs.FileType.Directory:
            return []
        found = []
        for info in self.fs.get_file_info(fs.FileSelector(base, recursive=True)):
            rel = info.path[len(self.root) + 1:].split("/")
            if info.type != fs.FileType.File or len(rel) != 3 or rel[2].startswith("."):
                continue
            parts = rel[2].rsplit(".", 2)
            if len(parts) != 3 or parts[2] not in FORMATS:
                continue
            found.append(StoredReport(rel[0], rel[1], parts[0], parts[1], parts[2], info.path,
                                      info.size))
        return sorted(found, key=lambda r: (r.period, r.kind, r.property, r.language, r.format),
                      reverse=True)
