"""Shared fixtures. The fake-Hub fixtures come first; append further fixtures below them."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

# tests/ has no __init__.py, so pytest puts this directory on sys.path (rootdir conftest).
from fakehub import FakeHub, RepoFactory

# ---------------------------------------------------------------------------------------------
# Fake Hugging Face Hub
# ---------------------------------------------------------------------------------------------

FIXTURES_HUB = Path(__file__).parent / "fixtures" / "hub"

# Variables that would leak a real token, the staging Hub or offline mode into a test.
_HF_UNSET = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HUGGINGFACE_CO_STAGING", "HF_HUB_OFFLINE",
             "TRANSFORMERS_OFFLINE", "HF_OIDC_RESOURCE", "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE",
             "HF_TOKEN_PATH")


@pytest.fixture
def fixtures_root() -> Path:
    """Root of the checked-in fake-Hub repos (``models/<ns>/<name>``, ``datasets/...``)."""
    return FIXTURES_HUB


@pytest.fixture
def fake_hub(fixtures_root: Path) -> Iterator[FakeHub]:
    """A running FakeHub over ``fixtures_root``, stopped after the test."""
    with FakeHub(fixtures_root) as hub:
        yield hub


@pytest.fixture
def hub_env(fake_hub: FakeHub, tmp_path: Path,
            monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """Point huggingface_hub at ``fake_hub`` with an isolated HF_HOME; yields the env dict.

    huggingface_hub reads most variables once at import, so for in-process use the matching
    ``huggingface_hub.constants`` are patched as well.
    """
    hf_home = tmp_path / "hf"
    env = {"HF_HOME": str(hf_home), "HF_ENDPOINT": fake_hub.url, "HF_HUB_DISABLE_TELEMETRY": "1",
           "HF_HUB_DISABLE_PROGRESS_BARS": "1", "HF_HUB_DISABLE_XET": "1",
           "HF_HUB_ETAG_TIMEOUT": "2", "HF_HUB_DOWNLOAD_TIMEOUT": "5"}
    for name in _HF_UNSET:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    from huggingface_hub import constants  # cheap: no HTTP stack is imported

    patched: dict[str, Any] = {
        "ENDPOINT": fake_hub.url,
        "HUGGINGFACE_CO_URL_TEMPLATE": fake_hub.url + "/{repo_id}/resolve/{revision}/{filename}",
        "HF_HOME": str(hf_home), "HF_HUB_CACHE": str(hf_home / "hub"),
        "HF_TOKEN_PATH": str(hf_home / "token"),
        "HF_STORED_TOKENS_PATH": str(hf_home / "stored_tokens"),
        "AGENT_HARNESSES_PATH": str(hf_home / ".agent_harnesses.json"),
        "HF_HUB_OFFLINE": False, "HF_HUB_DISABLE_TELEMETRY": True,
        "HF_HUB_DISABLE_PROGRESS_BARS": True, "HF_HUB_DISABLE_XET": True,
        "HF_HUB_ETAG_TIMEOUT": 2, "HF_HUB_DOWNLOAD_TIMEOUT": 5,
    }
    for name, value in patched.items():
        if hasattr(constants, name):
            monkeypatch.setattr(constants, name, value)
    yield dict(os.environ)


@pytest.fixture
def tmp_hub_root(tmp_path: Path) -> Path:
    """Empty fixture root that ``make_repo`` writes into."""
    root = tmp_path / "hub-root"
    root.mkdir()
    return root


@pytest.fixture
def make_repo(tmp_hub_root: Path) -> RepoFactory:
    """Write an ad-hoc repo, e.g. ``make_repo("models/acme/x", files={...}, hub={...})``.

    Returns the fixture root, for ``FakeHub(root)``. A two-part id means a model. The fake Hub
    reads the disk on every request, so repos may also be added while it is running.
    """

    def make(repo: str, files: Mapping[str, str | bytes] | None = None,
             hub: Mapping[str, Any] | None = None) -> Path:
        parts = repo.split("/")
        if len(parts) == 2:
            parts.insert(0, "models")
        if len(parts) != 3 or parts[0] not in ("models", "datasets"):
            raise ValueError(f"expected '[models|datasets/]<ns>/<name>', got {repo!r}")
        folder = tmp_hub_root.joinpath(*parts)
        folder.mkdir(parents=True, exist_ok=True)
        for rel, content in (files or {}).items():
            target = folder / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content.encode() if isinstance(content, str) else content)
        if hub is not None:
            (folder / "_hub.json").write_text(json.dumps(hub), encoding="utf-8")
        return tmp_hub_root

    return make


# ---------------------------------------------------------------------------------------------
# openaudit CLI helpers
# ---------------------------------------------------------------------------------------------


class CliResult:
    """Exit code, stdout and stderr of one in-process CLI run."""

    def __init__(self, code: int, stdout: str, stderr: str) -> None:
        self.code = code
        self.stdout = stdout
        self.stderr = stderr

    def json(self) -> Any:
        return json.loads(self.stdout)


@pytest.fixture
def run_cli() -> Any:
    """Run the real Typer app in-process: ``run_cli("model", "org/x", "--format", "json")``."""
    from typer.testing import CliRunner

    from openaudit.cli import app

    runner = CliRunner()

    def run(*args: str) -> CliResult:
        result = runner.invoke(app, list(args), catch_exceptions=False)
        return CliResult(result.exit_code, result.stdout, result.stderr)

    return run
