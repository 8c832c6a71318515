"""Shared fixtures. Keep generic: any suite may use them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from model_training.data.fixtures import write_fixtures
from tests.helpers.tiny_models import HYBRID_ID, LANDSCAPE_ID, write_tiny_hybrid, write_tiny_weights


@pytest.fixture(scope="session")
def tiny_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A weights folder with the tiny test models and cards (read-only: copy it to break things)."""
    directory = tmp_path_factory.mktemp("tiny-weights")
    write_tiny_weights(directory)
    return directory


@pytest.fixture(scope="session")
def fixture_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The synthetic datasets of model_training.data.fixtures (read-only: tests write elsewhere)."""
    root = tmp_path_factory.mktemp("fixture-data")
    write_fixtures(root)
    return root


@pytest.fixture(scope="session")
def hybrid_weights(tiny_weights: Path, fixture_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny weights plus the tiny hybrid model, whose bank holds the fixture landscapes (read-only)."""
    directory = tmp_path_factory.mktemp("hybrid-weights") / "weights"
    shutil.copytree(tiny_weights, directory)
    write_tiny_hybrid(directory, [fixture_data / "landscape"])
    return directory


@pytest.fixture(scope="session")
def landscape_weights(hybrid_weights: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The hybrid weights plus a patch-synthesis card, written by the command that writes the shipped one."""
    from model_training.landscape_card import write_landscape_card

    directory = tmp_path_factory.mktemp("landscape-weights") / "weights"
    shutil.copytree(hybrid_weights, directory)
    write_landscape_card(directory / f"{HYBRID_ID}.json", directory / f"{LANDSCAPE_ID}.json", None, "test")
    return directory


@pytest.fixture(scope="module")
def playwright():
    """One Playwright driver per browser test module: a second cannot start while one runs, and a module's
    driver must be gone before code that starts its own (backend/browser.py's engine_page) runs."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright):
    """Debian's chromium driven by Playwright, one per browser test module."""
    from backend.browser import launch_chromium

    chromium = launch_chromium(playwright)
    yield chromium
    chromium.close()


@pytest.fixture(scope="module")
def server(tiny_weights: Path, tmp_path_factory: pytest.TempPathFactory):
    """The real server (a subprocess) on the tiny weights, one per browser test module; yields its base URL."""
    from tests.helpers.browser import running_server

    log = tmp_path_factory.mktemp("browser-server") / "server.log"
    with running_server(tiny_weights, log) as base_url:
        yield base_url
