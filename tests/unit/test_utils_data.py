"""The dataset loaders: real files, checksums, the download path and its failures.

The download path is tested against a local HTTP server on 127.0.0.1 serving small IDX
files made here (no test may reach the internet).
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import struct
import threading
from functools import partial
from pathlib import Path

import numpy as np
import pytest

import utils
from utils import data


def idx_bytes(array: np.ndarray) -> bytes:
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}i", *array.shape)
    return header + array.astype(np.uint8).tobytes()


@pytest.fixture
def isolated(monkeypatch, tmp_path):
    """No env var, an empty cache and no Debian folder: only what the test provides exists."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv(data.DATA_ENV_VAR, raising=False)
    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST", tmp_path / "no-debian")
    return tmp_path


@pytest.fixture
def tiny_dataset(tmp_path):
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (5, 28, 28)),
        "train-labels-idx1-ubyte": rng.integers(0, 10, (5,)),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (3, 28, 28)),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, (3,)),
    }
    served = tmp_path / "served"
    served.mkdir()
    checksums = {}
    for name, array in arrays.items():
        raw = idx_bytes(array)
        checksums[name] = hashlib.sha256(raw).hexdigest()
        (served / f"{name}.gz").write_bytes(gzip.compress(raw))
    return served, checksums, arrays


@pytest.fixture
def http_server(tiny_dataset):
    served = tiny_dataset[0]
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


def test_real_fashion_mnist_has_official_shapes_and_checksummed_content():
    images, labels = utils.load_fashion_mnist("test")
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (10000,) and set(np.unique(labels)) == set(range(10))
    assert np.bincount(labels).tolist() == [1000] * 10  # the official test split is balanced
    assert labels[:5].tolist() == [9, 2, 1, 1, 6]  # ankle boot, pullover, trouser, trouser, shirt
    x, y = utils.fashion_mnist_tensors("test", limit=100)
    assert tuple(x.shape) == (100, 1, 28, 28) and abs(float(x.mean())) < 0.3


def test_parse_idx_reads_header_and_rejects_bad_files():
    array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    assert np.array_equal(data.parse_idx(idx_bytes(array)), array)
    with pytest.raises(data.DatasetError, match="two zero bytes"):
        data.parse_idx(b"\x01\x02\x08\x01")
    with pytest.raises(data.DatasetError, match="shape"):
        data.parse_idx(idx_bytes(array)[:-1])


def test_download_fills_cache_atomically_and_is_reused_offline(isolated, tiny_dataset, http_server):
    _, checksums, arrays = tiny_dataset
    images, labels = data.load_fashion_mnist("train", checksums=checksums, base_url=http_server)
    assert np.array_equal(images, arrays["train-images-idx3-ubyte"])
    assert np.array_equal(labels, arrays["train-labels-idx1-ubyte"])
    cached = sorted(p.name for p in (isolated / "cache" / "cnn-course" / "fashion-mnist").iterdir())
    assert cached == ["train-images-idx3-ubyte", "train-labels-idx1-ubyte"]
    again, _ = data.load_fashion_mnist("train", checksums=checksums, download=False)
    assert np.array_equal(again, images)


def test_checksum_mismatch_on_download_leaves_no_file(isolated, tiny_dataset, http_server):
    _, checksums, _ = tiny_dataset
    wrong = {**checksums, "t10k-images-idx3-ubyte": "0" * 64}
    with pytest.raises(data.DatasetError, match="checksum mismatch"):
        data.load_fashion_mnist("test", checksums=wrong, base_url=http_server)
    folder = isolated / "cache" / "cnn-course" / "fashion-mnist"
    assert list(folder.iterdir()) == [], "a failed download must not leave files behind"


def test_corrupt_local_file_is_reported_with_its_path(isolated, tiny_dataset, monkeypatch):
    served, checksums, _ = tiny_dataset
    monkeypatch.setenv(data.DATA_ENV_VAR, str(served))
    (served / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(b"\x00\x00\x08\x01garbage"))
    with pytest.raises(data.DatasetError, match="corrupt") as err:
        data.load_fashion_mnist("train", checksums=checksums, download=False)
    assert "train-labels-idx1-ubyte" in str(err.value)


def test_env_var_folder_is_used(isolated, tiny_dataset, monkeypatch):
    served, checksums, arrays = tiny_dataset
    monkeypatch.setenv(data.DATA_ENV_VAR, str(served))
    images, _ = data.load_fashion_mnist("test", checksums=checksums, download=False)
    assert np.array_equal(images, arrays["t10k-images-idx3-ubyte"])


def test_no_network_gives_instructions(isolated):
    with pytest.raises(data.DatasetError) as err:
        data.load_fashion_mnist("test", base_url="http://127.0.0.1:9/")
    message = str(err.value)
    assert "apt-get install dataset-fashion-mnist" in message
    assert data.DATA_ENV_VAR in message and "download" in message


def test_mnist1d_is_generated_offline_deterministically_and_cached(isolated):
    first = utils.load_mnist1d()
    assert first["x"].shape == (4000, 40) and first["x_test"].shape == (1000, 40)
    assert first["y"].dtype == np.int64 and set(np.unique(first["y"])) == set(range(10))
    assert (isolated / "cache" / "cnn-course" / "mnist1d_seed42.npz").is_file()
    second = utils.load_mnist1d()
    assert np.array_equal(first["x"], second["x"]) and np.array_equal(first["y"], second["y"])


def test_sample_photo_is_grace_hopper():
    rgb = utils.load_sample_image()
    assert rgb.ndim == 3 and rgb.shape[2] == 3 and rgb.shape[:2] == (600, 512)
    assert 0.0 <= rgb.min() and rgb.max() <= 1.0
    gray = utils.load_sample_image(gray=True, size=128)
    assert gray.ndim == 2 and min(gray.shape) >= 128 and min(gray.shape) < 300


def test_cache_dir_respects_xdg(isolated):
    assert data.cache_dir() == Path(isolated / "cache" / "cnn-course")
