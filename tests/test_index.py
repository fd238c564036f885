"""Index build, manifest, staleness and corruption handling (hash encoder: these tests are about the files)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bot.encoders import HashEncoder
from bot.engine import AnswerEngine
from bot.errors import IndexUnusable
from bot.index import build_index, ensure_index, load_index, read_manifest
from bot.knowledge import load_knowledge
from bot.normalize import Normalizer
from bot.settings import PROJECT_ROOT, Settings
from bot.wiring import build_engine


@pytest.fixture(scope="module")
def hash_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    kb = load_knowledge(PROJECT_ROOT / "knowledge")
    path = tmp_path_factory.mktemp("hash-index")
    build_index(kb, HashEncoder(), Normalizer.for_knowledge(kb, path), path)
    return path


def _copy(src: Path, tmp_path: Path) -> Path:
    dest = tmp_path / "index"
    shutil.copytree(src, dest)
    return dest


@pytest.mark.integration  # builds an index: seconds each
def test_manifest_records_what_the_index_was_built_from(hash_index: Path) -> None:
    manifest = read_manifest(hash_index)
    assert manifest is not None
    kb = load_knowledge(PROJECT_ROOT / "knowledge")
    assert manifest["encoder"] == HashEncoder().id
    assert manifest["dimension"] == 256
    assert manifest["knowledge_hash"] == kb.content_hash
    assert manifest["entries"] == 87 and manifest["vectors"] >= 87 * 3
    assert {"built_at", "versions", "build_seconds"} <= set(manifest)
    assert manifest["versions"]["faiss-cpu"] != "absent"


def test_loaded_index_answers(hash_index: Path) -> None:
    settings = Settings(index_dir=hash_index, encoder="hash", allow_rebuild=False)
    engine = build_engine(settings)
    ranked = engine.rank("镜像如何下载？")
    assert ranked[0].entry.id == "image-download"
    assert 0.0 <= ranked[-1].score <= ranked[0].score <= 1.0


def test_stale_index_is_refused_when_rebuilds_are_off(hash_index: Path, tmp_path: Path) -> None:
    index_dir = _copy(hash_index, tmp_path)
    manifest = json.loads((index_dir / "manifest.json").read_text())
    manifest["knowledge_hash"] = "0000"
    (index_dir / "manifest.json").write_text(json.dumps(manifest))
    settings = Settings(index_dir=index_dir, encoder="hash", allow_rebuild=False)
    with pytest.raises(IndexUnusable, match=r"knowledge_hash changed.*FAQBOT_ALLOW_REBUILD is off"):
        build_engine(settings)


@pytest.mark.integration  # builds an index: seconds each
def test_stale_index_is_rebuilt_when_allowed(hash_index: Path, tmp_path: Path) -> None:
    index_dir = _copy(hash_index, tmp_path)
    manifest = json.loads((index_dir / "manifest.json").read_text())
    manifest["knowledge_hash"] = "0000"
    (index_dir / "manifest.json").write_text(json.dumps(manifest))
    steps: list[str] = []
    settings = Settings(index_dir=index_dir, encoder="hash")
    kb = load_knowledge(settings.knowledge_dir)
    normalizer = Normalizer.for_knowledge(kb, index_dir)
    ensure_index(kb, HashEncoder(), normalizer, settings.index_dir, settings.index_type, settings.allow_rebuild,
                 lambda s, d, t: steps.append(s))  # fmt: skip
    assert steps  # progress was reported
    assert read_manifest(index_dir)["knowledge_hash"] == kb.content_hash  # type: ignore[index]


def test_missing_index_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    settings = Settings(index_dir=tmp_path / "nothing", encoder="hash", allow_rebuild=False)
    with pytest.raises(IndexUnusable, match="no index has been built yet"):
        build_engine(settings)


@pytest.mark.parametrize("name", ["vectors.faiss", "arrays.npz", "manifest.json"])
def test_corrupt_file_gives_a_clear_error(hash_index: Path, tmp_path: Path, name: str) -> None:
    index_dir = _copy(hash_index, tmp_path)
    (index_dir / name).write_bytes(b"\x00garbage\xff" * 10)
    with pytest.raises(IndexUnusable, match=rf"{name}.*corrupt.*faqbot build"):
        load_index(index_dir) if name != "manifest.json" else read_manifest(index_dir)


@pytest.mark.integration  # builds an index: seconds each
def test_corrupt_index_is_rebuilt_on_start_when_allowed(hash_index: Path, tmp_path: Path) -> None:
    index_dir = _copy(hash_index, tmp_path)
    (index_dir / "vectors.faiss").write_bytes(b"broken")
    (index_dir / "manifest.json").write_text("{not json")
    engine = build_engine(Settings(index_dir=index_dir, encoder="hash"))
    rebuilt = load_index(index_dir)
    assert rebuilt.entry_ids == [e.id for e in engine.kb.entries]
    assert rebuilt.faiss_index.ntotal == read_manifest(index_dir)["vectors"] > len(engine.kb.entries)
    assert len(engine.rank("发票")) == len(engine.kb.entries)


@pytest.mark.integration  # builds an index: seconds each
def test_hnsw_setting_builds_an_hnsw_index(tmp_path: Path) -> None:
    kb = load_knowledge(PROJECT_ROOT / "knowledge")
    built = build_index(kb, HashEncoder(), Normalizer.for_knowledge(kb), tmp_path, index_type="hnsw")
    assert "HNSW" in type(built.faiss_index).__name__
    assert read_manifest(tmp_path)["index_type"] == "hnsw"  # type: ignore[index]


@pytest.mark.integration  # builds an index: seconds each
def test_embedding_cache_is_reused_on_rebuild(hash_index: Path, tmp_path: Path) -> None:
    index_dir = _copy(hash_index, tmp_path)
    kb = load_knowledge(PROJECT_ROOT / "knowledge")
    built = build_index(kb, HashEncoder(), Normalizer.for_knowledge(kb, index_dir), index_dir)
    assert built.manifest["embeddings_reused"] >= 87 * 3


def test_queries_on_two_threads_leave_the_blas_thread_count_as_it_was(engine: AnswerEngine) -> None:
    """Each query's products run on one BLAS thread (spinning idle threads starved the encoder); the limit is
    process-wide, so it must be restored after queries that overlap on the engine's two threads."""
    from concurrent.futures import ThreadPoolExecutor

    from threadpoolctl import threadpool_info

    def blas_threads() -> list[int]:
        return sorted(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas")

    engine.rank("镜像能下载吗")  # the index and its BLAS libraries are loaded
    before = blas_threads()
    questions = ["发票多久能收到", "提现多久到账", "小程序怎么续费", "服务商怎么退出云市场"] * 10
    with ThreadPoolExecutor(max_workers=2) as pool:
        assert all(pool.map(lambda q: bool(engine.rank(q)), questions))
    assert blas_threads() == before


def test_calibration_folds_hold_out_whole_writers() -> None:
    import numpy as np

    from bot.index import CV_FOLDS, writer_folds

    writers = ["curated"] * 50 + ["a"] * 40 + ["b"] * 30 + ["c"] * 20 + ["d"] * 10
    folds = writer_folds(writers, np.random.default_rng(0))
    for w in set(writers):
        assert len({int(f) for f, x in zip(folds, writers, strict=True) if x == w}) == 1, w  # one fold per writer
    sizes = np.bincount(folds, minlength=CV_FOLDS)
    assert sorted(sizes.tolist()) == [50, 50, 50]  # largest first, each to the smallest fold
    # fewer writers than folds: nothing to hold out by writer, random folds over every phrasing
    two = writer_folds(["curated"] * 30 + ["a"] * 30, np.random.default_rng(0))
    assert set(np.bincount(two).tolist()) == {20}
