"""The real huggingface_hub client against the loopback FakeHub."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from huggingface_hub import HfApi, RepoFile, hf_hub_download
from huggingface_hub.errors import (
    BadRequestError,
    DisabledRepoError,
    EntryNotFoundError,
    GatedRepoError,
    HfHubHTTPError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.utils import httpx  # type: ignore[attr-defined]  # httpx2 on 2.x

from fakehub import FakeHub, RepoFactory, git_oid

SHA = "3f2c9e1d7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e"
PR_SHA = "1111222233334444555566667777888899990000"
TOKEN = "hf_approvedTOKENvalue123"
README = """---
license: apache-2.0
datasets:
  - acme/web-mix
base_model: other/base-7b
tags: [chat]
library_name: transformers
release_date: 2025-01-02
---
# Acme 7B

Trained as described in https://arxiv.org/abs/2501.01234.
"""


@pytest.fixture
def fixtures_root(tmp_hub_root: Path) -> Path:
    # Serve the make_repo root instead of the checked-in fixtures.
    return tmp_hub_root


@pytest.fixture
def hub(fake_hub: FakeHub, hub_env: dict[str, str], make_repo: RepoFactory) -> FakeHub:
    make_repo("models/acme/acme-7b", files={"README.md": README, "LICENSE": "Apache 2.0\n",
                                            "config.json": "{}", "sub/dir/w.bin": b"\x00\x01"},
              hub={"sha": SHA, "refs": {"refs/pr/1": PR_SHA, "v1": PR_SHA},
                   "lastModified": "2025-03-14T09:26:53+00:00",
                   "baseModels": {"relation": "finetune", "models": [{"id": "other/base-7b"}]}})
    make_repo("models/frontier/gated-70b",
              files={"README.md": "---\nlicense: other\n---\n", "LICENSE": "custom\n"},
              hub={"gated": "manual", "approved_tokens": [TOKEN]})
    make_repo("datasets/acme/web-mix",
              files={"README.md": "---\nlicense: odc-by\nlanguage: [en]\n---\n",
                     "data/train.parquet": b"PAR1"})
    return fake_hub


@pytest.fixture
def api(hub: FakeHub) -> HfApi:
    return HfApi(endpoint=hub.url)


def test_model_info_default_fields(api: HfApi, hub: FakeHub) -> None:
    info = api.model_info("acme/acme-7b")
    assert info.id == "acme/acme-7b" and info.author == "acme" and info.sha == SHA
    assert info.gated is False and info.private is False and info.disabled is False
    assert info.last_modified is not None and info.last_modified.year == 2025
    assert info.library_name == "transformers"
    assert info.card_data is not None and info.card_data.license == "apache-2.0"
    assert str(info.card_data.get("release_date")) == "2025-01-02"  # YAML date survives JSON
    assert [s.rfilename for s in info.siblings or []] == [
        "LICENSE", "README.md", "config.json", "sub/dir/w.bin"]
    assert info.tags == ["chat", "dataset:acme/web-mix", "base_model:other/base-7b",
                         "arxiv:2501.01234", "license:apache-2.0"]
    assert info.base_models is None  # expand-only, like the Hub
    assert [r.path for r in hub.requests] == ["/api/models/acme/acme-7b"]


def test_model_info_expand(api: HfApi) -> None:
    info = api.model_info("acme/acme-7b", expand=["cardData", "gated", "sha", "baseModels"])
    assert info.sha == SHA and info.gated is False
    assert info.card_data is not None and info.card_data.datasets == ["acme/web-mix"]
    base_models: Any = info.base_models  # typed list[str], but the Hub sends an object
    assert [m["id"] for m in base_models["models"]] == ["other/base-7b"]
    assert info.tags is None and info.siblings is None and info.author is None


def test_expand_bracket_form_and_unknown_value(hub: FakeHub, api: HfApi) -> None:
    with urllib.request.urlopen(f"{hub.url}/api/models/acme/acme-7b?expand[]=sha") as reply:
        assert set(json.load(reply)) == {"_id", "id", "sha"}
    with pytest.raises(BadRequestError):
        api.model_info("acme/acme-7b", expand=["bogus"])  # type: ignore[list-item]


def test_revisions(api: HfApi) -> None:
    assert api.model_info("acme/acme-7b", revision="refs/pr/1").sha == PR_SHA
    assert api.model_info("acme/acme-7b", revision="v1").sha == PR_SHA
    assert api.model_info("acme/acme-7b", revision=SHA).sha == SHA
    with pytest.raises(RevisionNotFoundError):
        api.model_info("acme/acme-7b", revision="v9")


def test_unknown_private_and_disabled_repos(api: HfApi, hub: FakeHub,
                                            make_repo: RepoFactory) -> None:
    make_repo("models/acme/secret", files={"README.md": "hi"},
              hub={"private": True, "approved_tokens": [TOKEN]})
    make_repo("models/acme/dmca", files={"README.md": "hi"}, hub={"disabled": True})
    for repo in ("nobody/nothing", "acme/secret"):
        with pytest.raises(RepositoryNotFoundError) as err:
            api.model_info(repo)
        assert err.value.response.status_code == 401  # anonymous, like the Hub
        with pytest.raises(RepositoryNotFoundError) as err:
            api.model_info(repo, token="hf_other")
        assert err.value.response.status_code == 404
    assert api.model_info("acme/secret", token=TOKEN).private is True
    with pytest.raises(DisabledRepoError):
        api.model_info("acme/dmca")
    assert [m.id for m in api.list_models(author="acme")] == ["acme/acme-7b", "acme/dmca"]


def test_dataset_info_and_tree(api: HfApi) -> None:
    info = api.dataset_info("acme/web-mix", expand=["cardData", "tags", "siblings"])
    assert info.card_data is not None and info.card_data.license == "odc-by"
    assert info.tags == ["license:odc-by"]
    assert [s.rfilename for s in info.siblings or []] == ["README.md", "data/train.parquet"]
    assert api.list_repo_files("acme/web-mix", repo_type="dataset") == [
        "README.md", "data/train.parquet"]
    [leaf] = api.list_repo_tree("acme/acme-7b", path_in_repo="sub/dir", recursive=True)
    assert isinstance(leaf, RepoFile)
    assert leaf.path == "sub/dir/w.bin" and leaf.size == 2 and leaf.blob_id == git_oid(b"\0\1")
    with pytest.raises(EntryNotFoundError):
        list(api.list_repo_tree("acme/acme-7b", path_in_repo="nope", recursive=True))


def test_card_data_absent_or_malformed(api: HfApi, make_repo: RepoFactory) -> None:
    make_repo("models/acme/nocard", files={"config.json": "{}"})
    make_repo("models/acme/badyaml", files={"README.md": "---\nlicense: [oops\n---\nbody\n"})
    make_repo("models/acme/listyaml", files={"README.md": "---\n- a\n- b\n---\n"})
    for repo in ("acme/nocard", "acme/badyaml", "acme/listyaml"):
        info = api.model_info(repo)
        assert info.card_data is None and info.tags == []


def test_download_and_cache(hub: FakeHub, hub_env: dict[str, str], tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    path = hf_hub_download("acme/acme-7b", "README.md", endpoint=hub.url, cache_dir=cache)
    assert Path(path).read_text() == README
    assert [(r.method, r.path) for r in hub.requests] == [
        ("HEAD", "/acme/acme-7b/resolve/main/README.md"),
        ("GET", "/acme/acme-7b/resolve/main/README.md")]
    hub.clear_log()
    again = hf_hub_download("acme/acme-7b", "README.md", revision=SHA, endpoint=hub.url,
                            cache_dir=cache)
    assert again == path and hub.requests == []  # pinned commit + warm cache: no request
    data = hf_hub_download("acme/web-mix", "data/train.parquet", repo_type="dataset",
                           endpoint=hub.url, cache_dir=cache)
    assert Path(data).read_bytes() == b"PAR1"
    with pytest.raises(EntryNotFoundError):
        hf_hub_download("acme/acme-7b", "missing.txt", endpoint=hub.url, cache_dir=cache)
    with pytest.raises(RevisionNotFoundError):
        hf_hub_download("acme/acme-7b", "README.md", revision="v9", endpoint=hub.url,
                        cache_dir=cache)
    with pytest.raises(RepositoryNotFoundError):
        hf_hub_download("nobody/nothing", "README.md", endpoint=hub.url, cache_dir=cache)


def test_resolve_headers_and_range(hub: FakeHub) -> None:
    url = f"{hub.url}/acme/acme-7b/resolve/main/LICENSE"
    with urllib.request.urlopen(urllib.request.Request(url, method="HEAD")) as reply:
        assert reply.headers["X-Repo-Commit"] == SHA
        assert reply.headers["ETag"] == f'"{git_oid(b"Apache 2.0" + bytes([10]))}"'
        assert reply.headers["Content-Length"] == "11"
        assert not [h for h in reply.headers if h.lower().startswith("x-xet")]
    request = urllib.request.Request(url, headers={"Range": "bytes=0-5"})
    with urllib.request.urlopen(request) as reply:
        assert reply.status == 206 and reply.read() == b"Apache"
        assert reply.headers["Content-Range"] == "bytes 0-5/11"
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(f"{hub.url}/acme/acme-7b/resolve/main/nope")
    with err.value:
        assert err.value.headers["X-Error-Code"] == "EntryNotFound"
        assert err.value.headers["X-Repo-Commit"] == SHA
        assert err.value.headers["X-Request-Id"].startswith("fake-")
        assert json.load(err.value) == {"error": "Entry not found"}
    with urllib.request.urlopen(f"{hub.url}/api/agent-harnesses") as reply:
        assert json.load(reply) == {"standardEnvVars": [], "harnesses": {}}


def test_gated_repo(hub: FakeHub, api: HfApi, tmp_path: Path) -> None:
    assert api.model_info("frontier/gated-70b").gated == "manual"  # metadata stays public
    readme = hf_hub_download("frontier/gated-70b", "README.md", endpoint=hub.url,
                             cache_dir=tmp_path)
    assert "license: other" in Path(readme).read_text()
    with pytest.raises(GatedRepoError) as err:
        hf_hub_download("frontier/gated-70b", "LICENSE", endpoint=hub.url, cache_dir=tmp_path)
    assert err.value.response.status_code == 401
    with pytest.raises(GatedRepoError) as err:
        hf_hub_download("frontier/gated-70b", "LICENSE", endpoint=hub.url, cache_dir=tmp_path,
                        token="hf_notApproved")
    assert err.value.response.status_code == 403
    with pytest.raises(GatedRepoError):
        api.auth_check("frontier/gated-70b")
    path = hf_hub_download("frontier/gated-70b", "LICENSE", endpoint=hub.url,
                           cache_dir=tmp_path, token=TOKEN)
    assert Path(path).read_text() == "custom\n"
    api.auth_check("frontier/gated-70b", token=TOKEN)
    api.auth_check("acme/acme-7b")

    log = hub.requests
    assert ("HEAD", True) in [(r.method, r.authorized) for r in log]
    assert ("GET", True) in [(r.method, r.authorized) for r in log]
    assert TOKEN not in repr(log) and "hf_notApproved" not in repr(log)


def test_list_models_pagination(hub: FakeHub, api: HfApi, make_repo: RepoFactory) -> None:
    for i in range(5):
        make_repo(f"models/org{i % 2}/Llama-{i}",
                  files={"README.md": f"---\nlicense: mit\n---\n{i}"})
    hub.page_size = 2
    hub.clear_log()
    ids = [m.id for m in api.list_models(search="llama")]
    assert ids == [f"org{i % 2}/Llama-{i}" for i in (0, 2, 4, 1, 3)]  # sorted by id
    pages = hub.requests
    assert [r.query.get("cursor") for r in pages] == [None, ["2"], ["4"]]
    assert all(r.query["search"] == ["llama"] for r in pages)

    hub.clear_log()
    found = list(api.list_models(search="LLAMA", limit=3, expand=["cardData", "sha"]))
    assert [m.id for m in found] == ["org0/Llama-0", "org0/Llama-2", "org0/Llama-4"]
    assert all(m.card_data and m.card_data.license == "mit" and m.sha for m in found)
    assert len(hub.requests) == 2  # the client stops after `limit` items
    assert [m.id for m in api.list_models(author="org1")] == ["org1/Llama-1", "org1/Llama-3"]
    assert [d.id for d in api.list_datasets(search="web")] == ["acme/web-mix"]
    with pytest.raises(BadRequestError):
        list(api.list_models(expand=["nope"]))  # type: ignore[list-item]


def test_injected_429_is_retried(hub: FakeHub, api: HfApi,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    sleeps: list[float] = []
    monkeypatch.setattr("huggingface_hub.utils._http.time", SimpleNamespace(sleep=sleeps.append))
    hub.inject(r"^GET /api/models$", status=429,
               headers={"RateLimit": '"api";r=0;t=0', "Retry-After": "0"})
    assert [m.id for m in api.list_models()] == ["acme/acme-7b", "frontier/gated-70b"]
    assert sleeps == [1.0]
    assert [r.path for r in hub.requests] == ["/api/models", "/api/models"]


def test_injected_failures_raise(hub: FakeHub, api: HfApi) -> None:
    hub.inject("GET /api/models/acme/acme-7b", status=500, body=b'{"error": "boom"}')
    with pytest.raises(HfHubHTTPError) as err:
        api.model_info("acme/acme-7b")
    assert err.value.response.status_code == 500 and err.value.server_message == "boom"
    assert err.value.request_id is not None and err.value.request_id.startswith("fake-")

    hub.inject("GET /api/models/acme/acme-7b", status=0, drop=True)
    with pytest.raises(httpx.HTTPError):
        api.model_info("acme/acme-7b")

    hub.inject("GET /api/models/acme/acme-7b", status=0, delay=0.5)
    with pytest.raises(httpx.TimeoutException):
        api.model_info("acme/acme-7b", timeout=0.1)

    hub.inject("/api/models/acme/acme-7b$", status=0, delay=0.05, times=-1)
    assert api.model_info("acme/acme-7b").sha == SHA  # delay only, then served normally
    assert api.model_info("acme/acme-7b").sha == SHA
    hub.clear_faults()
    hub.latency = 0.01
    assert api.model_info("acme/acme-7b").sha == SHA


def test_stop_is_clean_and_idempotent(make_repo: RepoFactory) -> None:
    root = make_repo("models/a/b", files={"README.md": "x"})
    hub = FakeHub(root).start()
    url = hub.url
    with urllib.request.urlopen(f"{url}/api/models/a/b") as reply:
        assert json.load(reply)["id"] == "a/b"
    hub.stop()
    hub.stop()
    with pytest.raises(RuntimeError):
        _ = hub.url
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"{url}/api/models/a/b", timeout=2)


def _inferred(make_repo: RepoFactory, repo: str, files: dict[str, str | bytes]) -> dict[str, Any]:
    """The info reply of one ad-hoc repo served with ``infer=True`` (the Hub's inference)."""
    kind, ns, name = repo.split("/")
    root = make_repo(repo, files=files)
    with FakeHub(root, infer=True) as hub, \
            urllib.request.urlopen(f"{hub.url}/api/{kind}/{ns}/{name}") as reply:
        info: dict[str, Any] = json.load(reply)
    return info


def test_infer_tags_from_card_and_files(make_repo: RepoFactory) -> None:
    info = _inferred(make_repo, "models/acme/acme-7b", {
        "README.md": README.replace("license: apache-2.0", "license: [apache-2.0, mit]")
        + "See [the paper](https://arxiv.org/pdf/2502.04321) too.\n",
        "config.json": "{}", "sub/dir/w.bin": b"\0", "model.safetensors": b"",
        "flax_model.msgpack": b"", "tf_model.h5": b"",
        "runs/events.out.tfevents.1700000000.host": b""})
    assert info["library_name"] == "transformers"  # the card's own
    assert info["tags"] == [
        "transformers", "pytorch", "safetensors", "jax", "tf", "tensorboard", "chat",
        "dataset:acme/web-mix", "base_model:other/base-7b", "base_model:finetune:other/base-7b",
        "arxiv:2501.01234", "arxiv:2502.04321", "license:apache-2.0", "license:mit",
        "region:us"]


@pytest.mark.parametrize(("files", "library", "relation"), [
    ({"config.json": "{}"}, "transformers", "finetune"),
    ({"config.json": '{"quantization_config": {"bits": 4}}'}, "transformers", "quantized"),
    ({"model_index.json": "{}", "unet/config.json": "{}"}, "diffusers", "finetune"),
    ({"adapter_config.json": "{}", "config.json": "{}"}, "peft", "adapter"),
    ({"sentence_bert_config.json": "{}", "config.json": "{}"}, "sentence-transformers",
     "finetune"),
    ({"q/model-Q4_K_M.gguf": b""}, "gguf", "quantized"),
    ({"weights.pt": b""}, None, "finetune"),
])
def test_infer_library_and_relation(make_repo: RepoFactory, files: dict[str, str | bytes],
                                    library: str | None, relation: str) -> None:
    card = "---\nbase_model: other/base\nlanguage: [en, fr]\n---\nbody\n"
    info = _inferred(make_repo, "models/acme/x", {"README.md": card, **files})
    assert info.get("library_name") == library
    assert (library in info["tags"]) if library else ("pytorch" in info["tags"])
    assert f"base_model:{relation}:other/base" in info["tags"]
    assert info["tags"][-3:] == ["en", "fr", "region:us"]


def test_infer_merge_explicit_relation_and_legacy_licenses(make_repo: RepoFactory) -> None:
    merge = _inferred(make_repo, "models/acme/m", {
        "README.md": "---\nbase_model: [a/one, b/two]\n---\n", "config.json": "{}"})
    assert "base_model:merge:a/one" in merge["tags"] and "base_model:merge:b/two" in merge["tags"]
    explicit = _inferred(make_repo, "models/acme/q", {
        "README.md": "---\nbase_model: a/one\nbase_model_relation: quantized\n"
                     "library_name: mlx\n---\n", "config.json": "{}"})
    assert explicit["library_name"] == "mlx" and "transformers" not in explicit["tags"]
    assert "base_model:quantized:a/one" in explicit["tags"]
    data = _inferred(make_repo, "datasets/acme/d", {
        "README.md": "---\nlicenses: [cc-by-4.0]\nlanguages: [de]\n---\n", "config.json": "{}",
        "w.bin": b""})
    assert data["tags"] == ["license:cc-by-4.0", "language:de", "region:us"]
    assert "library_name" not in data


def test_infer_is_off_by_default(make_repo: RepoFactory) -> None:
    root = make_repo("models/a/plain", files={"README.md": "---\nlanguage: en\n---\n",
                                              "config.json": "{}", "w.bin": b""})
    with FakeHub(root) as hub, urllib.request.urlopen(f"{hub.url}/api/models/a/plain") as reply:
        info = json.load(reply)
    assert info["tags"] == [] and "library_name" not in info
