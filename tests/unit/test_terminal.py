import io
import logging
import re

from unet_defects.adapters.terminal import TerminalObserver
from unet_defects.application.ports import TrainOutcome


def test_progress_bar_on_a_terminal_and_log_lines_on_their_steps(caplog):
    stream = io.StringIO()
    observer = TerminalObserver(stream, interactive=True)
    with caplog.at_level(logging.INFO, logger="unet"):
        observer.started(0, 10)
        observer.progressed(5, 0.25, 12.5, log_line=False)
        observer.progressed(10, 0.125, 13.0, log_line=True)
        observer.finished(TrainOutcome(start_step=0, final_step=10, last_loss=0.125, seconds=2.0))
    shown = stream.getvalue()
    assert "\r[##############..............] step 5/10 loss 0.2500 12.5 img/s" in shown
    assert "step 10/10" in shown
    lines = [r.getMessage() for r in caplog.records if "images/s" in r.getMessage()]
    assert len(lines) == 1 and re.fullmatch(r"step 10: loss 0\.1250, 13\.0 images/s, projected end \d\d:\d\d \(step 10\)",
                                            lines[0]), lines


def test_no_bar_when_output_is_not_a_terminal(caplog):
    stream = io.StringIO()
    observer = TerminalObserver(stream, interactive=False)
    with caplog.at_level(logging.INFO, logger="unet"):
        observer.started(0, 4)
        observer.progressed(2, 0.5, 1.0, log_line=True)
    assert stream.getvalue() == ""
    assert any("step 2: loss 0.5000" in r.getMessage() for r in caplog.records)


def test_each_checkpoint_line_projects_the_end_so_a_short_run_shows_it_too(caplog):
    observer = TerminalObserver(io.StringIO(), interactive=False)
    with caplog.at_level(logging.INFO, logger="unet"):
        observer.started(0, 8, time_budget=40.0)
        observer.checkpointed(1, "/m/model.ckpt-1")
    line, = [r.getMessage() for r in caplog.records if "checkpoint saved" in r.getMessage()]
    assert re.fullmatch(r"checkpoint saved: /m/model\.ckpt-1 \(projected end \d\d:\d\d \((step 8|time budget)\)\)", line)


def test_the_rate_printer_counts_from_the_first_progress_and_projects_the_end(monkeypatch, caplog):
    import logging

    from unet_defects.reporting import rate_printer

    monkeypatch.setattr("sys.stderr.isatty", lambda: False, raising=False)
    times = iter([0.0, 40.0, 45.0, 50.0])  # made at 0; the first batch after a 40 s start-up
    show = rate_printer("predicted", every_seconds=0, clock=lambda: next(times))
    with caplog.at_level(logging.INFO, logger="unet"):
        show(64, 640)
        show(128, 640)
        show(640, 640)
    lines = [record.getMessage() for record in caplog.records]
    assert lines[0] == "predicted 64/640 files"
    assert lines[1].startswith("predicted 128/640 files, 12.8 files/s, about 40s left")
    assert lines[2].startswith("predicted 640/640 files, 57.6 files/s, about 0s left")
