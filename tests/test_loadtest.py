"""`python -m backend.loadtest`: short bounded runs against the tiny models, and its refusals."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from urllib.parse import urlsplit

import pytest

from backend.app import create_app
from backend.loadtest import RETRY_AFTER_S, Tally, build_report, main, require_loopback, run_load_test
from backend.local_server import serve_in_background
from tests.helpers import server_settings
from tests.helpers.tiny_models import SPADE_ID


@pytest.mark.timeout(60)
def test_a_short_run_has_no_errors_and_a_complete_report(tiny_weights, capsys):
    exit_code = main(["--weights", str(tiny_weights), "--painters", "4", "--duration", "5", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert exit_code == 0
    assert report["errors"] == {}
    assert report["model"] == SPADE_ID
    assert report["painters"] == {"translate": 2, "websocket": 2}
    assert 5 <= report["elapsed_s"] < 5 + 10
    assert report["translate"]["ok"] == report["translate"]["requests"] > 0
    assert set(report["translate"]["latency"]) == {"p50_ms", "p95_ms", "p99_ms", "max_ms"}
    websocket = report["websocket"]
    assert websocket["frames_answered"] > 0 and websocket["strokes"] > 0
    assert websocket["strokes_with_latest_answered"] == websocket["strokes"]
    assert websocket["painters_with_every_latest_frame"] == 2
    assert report["healthz"]["probes"] >= 20  # one every 100 ms for 5 s, less the slow ones
    assert report["healthz"]["latency"]["p50_ms"] > 0
    memory = report["memory_mb"]
    assert memory["before"] > 0 and memory["growth"] == pytest.approx(memory["after"] - memory["before"], abs=0.11)
    assert set(report["goals"]) == {"zero_errors", "healthz_p99_under_100ms", "memory_growth_under_50mb",
                                    "every_ws_painter_got_latest_frame"}
    assert report["goals"]["zero_errors"] and report["goals"]["every_ws_painter_got_latest_frame"]


@pytest.mark.timeout(60)
def test_bursts_are_superseded_yet_every_stroke_gets_its_last_frame(tiny_weights):
    report = run_load_test(None, tiny_weights, painters=2, duration_s=3, max_requests=100_000, frame_ms=0)
    websocket = report["websocket"]
    assert report["errors"] == {}
    assert websocket["frames_superseded"] > 0, "frames sent in bursts must overtake the server"
    assert websocket["strokes"] > 0 and websocket["strokes_with_latest_answered"] == websocket["strokes"]


@pytest.mark.timeout(60)
def test_the_request_budget_ends_the_run_early(tiny_weights):
    report = run_load_test(None, tiny_weights, painters=4, duration_s=30, max_requests=40)
    assert report["translate"]["requests"] + report["websocket"]["frames_sent"] == 40
    assert report["elapsed_s"] < 15
    assert report["errors"] == {}


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000", "http://localhost:8000/", "http://[::1]:8000",
                                 "http://127.0.0.2:9000"])
def test_loopback_urls_are_accepted(url):
    assert require_loopback(url) == url.rstrip("/")


@pytest.mark.parametrize("url", ["http://example.com:8000", "http://10.0.0.5:8000", "http://192.168.1.20",
                                 "http://[2001:db8::1]:8000", "http://127.0.0.1.nip.io:8000"])
def test_other_hosts_are_refused(url, capsys):
    with pytest.raises(SystemExit) as refused:
        main(["--url", url, "--duration", "1"])
    assert refused.value.code == 2
    assert "only targets loopback addresses" in capsys.readouterr().err


def test_a_weights_folder_without_a_label_model_fails_clearly(tmp_path, capsys):
    assert main(["--weights", str(tmp_path), "--duration", "1"]) == 1
    assert "no label-map model is loaded" in capsys.readouterr().err


def test_each_goal_is_judged_and_an_unmeasured_one_does_not_fail():
    slow_healthz = Tally(healthz_ms=[2.0] * 97 + [150.0] * 3, errors=Counter(translate_http_500=1))
    limits = {"duration_s": 1.0, "max_requests": 10, "frame_ms": 16.67}
    missed = build_report("http://127.0.0.1:1", SPADE_ID, 2, limits, slow_healthz, [False], 1.0, 100.0, 160.0)
    assert missed["goals"] == {"zero_errors": False, "healthz_p99_under_100ms": False,
                               "memory_growth_under_50mb": False, "every_ws_painter_got_latest_frame": False}
    assert not missed["passed"]
    unmeasured = build_report("http://127.0.0.1:1", SPADE_ID, 2, limits, Tally(healthz_ms=[2.0]), [True], 1.0,
                              None, None)
    assert unmeasured["goals"]["memory_growth_under_50mb"] is None and unmeasured["passed"]


@pytest.mark.timeout(90)
def test_painters_ride_out_the_server_going_away_and_coming_back(tiny_weights):
    """As when a balancer's replica stops: open sockets close, Generate clicks meet a closed port. Live
    painters reconnect and get their latest frame; a failed click is retried once; nothing is an error."""
    reports = []
    with serve_in_background(create_app(server_settings(tiny_weights))) as url:
        run = threading.Thread(target=lambda: reports.append(
            run_load_test(url, None, painters=4, duration_s=6, max_requests=100_000, frame_ms=50)))
        run.start()
        time.sleep(2)
    time.sleep(RETRY_AFTER_S / 2)  # down for less than the retry's wait, as with a replica to fall back on
    with serve_in_background(create_app(server_settings(tiny_weights)), port=urlsplit(url).port):
        run.join()
    (report,) = reports
    # Only the health probe, which asks the one server every 100 ms, saw it down: refused, or cut off
    # mid-answer by a probe in flight as the server stopped.
    assert set(report["errors"]) <= {"healthz_ConnectError", "healthz_ReadError", "healthz_RemoteProtocolError"}
    assert report["websocket"]["reconnects"] >= 2  # both live painters
    assert report["websocket"]["painters_with_every_latest_frame"] == 2
    assert report["websocket"]["strokes_with_latest_answered"] == report["websocket"]["strokes"] > 0
    assert report["translate"]["ok"] == report["translate"]["requests"] > 0
