"""Fakes of the report page's ports: a model_dir's files in memory, and a writer that keeps the page."""

from __future__ import annotations

from unet_defects.application.report_page_ports import ReportPage, RunRecords


class FakeRunFiles:
    """`pictures`: (split or None, name) -> PNG bytes."""

    def __init__(self, records: RunRecords | None = None,
                 pictures: dict[tuple[str | None, str], bytes] | None = None) -> None:
        self._records = records or RunRecords()
        self._pictures = dict(pictures or {})

    def records(self) -> RunRecords:
        return self._records

    def picture(self, name: str, split: str | None = None) -> bytes | None:
        return self._pictures.get((split, name))


class FakePageWriter:
    def __init__(self) -> None:
        self.pages: dict[str, ReportPage] = {}

    def write(self, path: str, page: ReportPage) -> str:
        self.pages[path] = page
        return path
