"""The report page as one self-contained HTML file: pictures as base64 data URIs, the stylesheet
inline, no script, so it opens from a shared drive or an email attachment. Every text that came
from a file is escaped."""

from __future__ import annotations

import base64
from html import escape
from pathlib import Path

from unet_defects.adapters.atomic_files import write_text
from unet_defects.application.report_page_ports import Picture, ReportPage, Rows
from unet_defects.domain.errors import UnetError

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 72rem; margin: 1.5rem auto; padding: 0 1rem;
       color: #1d1d1f; line-height: 1.45; }
h1 { font-size: 1.5rem; } h2 { border-bottom: 1px solid #ccc; padding-bottom: .2rem; margin-top: 2rem; }
table { border-collapse: collapse; margin: .5rem 0 1rem; }
th, td { border: 1px solid #ddd; padding: .3rem .6rem; text-align: left; vertical-align: top; }
th { background: #f3f3f5; } td.figure { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 1rem 0 2rem; } img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #444; max-width: 60rem; } .note { color: #666; font-style: italic; }
pre { background: #f7f7f9; padding: .8rem; overflow-x: auto; font-size: .85rem; }
"""


def render(page: ReportPage) -> str:
    sections = [
        _section("plan", "What the run was given", _plan(page)),
        _section("curves", "Learning curves", _figure(page.curves) if page.curves else _note(
            "No learning curves: unet report draws report.png from the run's summaries.")),
        _section("pictures", "The evaluation's pictures", _pictures(page)),
        _section("decision", "The decision and where it came from", _decision(page)),
        _section("scores", "Scores", _scores(page)),
    ]
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{escape(page.title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
            f"<h1>{escape(page.title)}</h1>\n" + "\n".join(sections) + "\n</body>\n</html>\n")


class HtmlPageWriter:
    def write(self, path: str, page: ReportPage) -> str:
        target = Path(path)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            return write_text(target, render(page))
        except OSError as error:
            raise UnetError(f"{target}: cannot write the report page ({error.strerror})") from None


def _section(anchor: str, heading: str, body: str) -> str:
    return f'<section id="{anchor}">\n<h2>{heading}</h2>\n{body}\n</section>'


def _note(text: str) -> str:
    return f'<p class="note">{escape(text)}</p>'


def _rows(rows: Rows) -> str:
    body = "".join(f"<tr><th>{escape(what)}</th><td>{escape(value)}</td></tr>\n" for what, value in rows)
    return f"<table>\n{body}</table>"


def _figure(picture: Picture) -> str:
    data = base64.b64encode(picture.png).decode("ascii")
    return (f'<figure>\n<img src="data:image/png;base64,{data}" alt="{escape(picture.title)}">\n'
            f"<figcaption><strong>{escape(picture.title)}.</strong> {escape(picture.caption)}</figcaption>\n</figure>")


def _plan(page: ReportPage) -> str:
    parts = [_rows(page.configuration)]
    if page.plan:
        parts += ["<h3>The plan (unet plan measured the data and chose these)</h3>", _rows(page.plan)]
    else:
        parts.append(_note("No plan: the run was configured by hand or by a preset, not by unet plan."))
    if page.params:
        parts.append(f"<details><summary>params.yaml, every key the run resolved</summary>\n"
                     f"<pre>{escape(page.params)}</pre></details>")
    return "\n".join(parts)


def _pictures(page: ReportPage) -> str:
    if not page.pictures:
        return _note("No evaluation pictures yet: they are written by the next evaluation (unet run --mode eval, or "
                     "the end of training) into eval/, and unet report then puts them here.")
    return "\n".join(f"<h3>{escape(group.heading)}</h3>\n" + "\n".join(_figure(p) for p in group.pictures)
                     for group in page.pictures)


def _decision(page: ReportPage) -> str:
    parts = [f"<p>In force at the evaluation: <strong>{escape(page.decision)}</strong>.</p>" if page.decision
             else _note("No evaluation yet, so no decision was recorded.")]
    if page.line:
        parts.append(f"<p>On these parts it {escape(page.line)}.</p>")
    if not page.calibrations:
        parts.append(_note("No calibration.json: the decision is the configuration's threshold (unet calibrate, or "
                           "runconfig.calibrate, chooses one on held-out images)."))
    for summary in page.calibrations:
        title = f"Calibrated for {summary.label}" if summary.label else "Calibrated"
        parts += [f"<h3>{escape(title)}</h3>", _rows(summary.decision)]
        if summary.chosen_on:
            parts.append(f"<p>Chosen on {escape(summary.chosen_on)}.</p>")
        if summary.comparison:
            body = "".join(f'<tr><th>{escape(score)}</th><td class="figure">{escape(before)}</td>'
                           f'<td class="figure">{escape(after)}</td></tr>\n' for score, before, after in summary.comparison)
            parts.append("<table>\n<tr><th>score</th><th>before</th><th>after</th></tr>\n" + body + "</table>")
    if page.calibration_method:
        parts.append(f"<p>Method: {escape(page.calibration_method)}.</p>")
    return "\n".join(parts)


def _scores(page: ReportPage) -> str:
    if not page.scores:
        return _note("No scores yet: evaluate the model (unet run --mode eval) and run unet report again.")
    body = "".join(f'<tr><th>{escape(line.name)}</th><td class="figure">'
                   f'{"n/a" if line.value is None else f"{line.value:.4f}"}</td><td>{escape(line.meaning)}</td></tr>\n'
                   for line in page.scores)
    heading = f"<p>Scored on {escape(page.scores_heading)}.</p>\n" if page.scores_heading else ""
    return f"{heading}<table>\n<tr><th>score</th><th>value</th><th>what it means</th></tr>\n{body}</table>"
