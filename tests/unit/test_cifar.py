"""The CIFAR-10 loader: the archive format, the restricted unpickler, the download path, failures.

A tiny archive in CIFAR-10's own format (a ``cifar-10-batches-py/`` folder of protocol-2 pickles
in a ``.tar.gz``) is made here and served by a local HTTP server on 127.0.0.1: no test reaches
the internet.
"""

from __future__ import annotations

import hashlib
import http.server
import io
import os
import pickle
import socket
import tarfile
import threading
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import utils
from utils import cifar, data

SIZES = {"data_batch_1": 3, "data_batch_2": 2, "data_batch_3": 1, "data_batch_4": 2,
         "data_batch_5": 1, "test_batch": 4}


def batch_bytes(images: np.ndarray, labels: np.ndarray) -> bytes:
    """A batch as CIFAR-10 stores it: dict of 'data' (N, 3072) uint8 rows (R, G, B planes)."""
    rows = images.transpose(0, 3, 1, 2).reshape(len(images), -1)
    return pickle.dumps({"batch_label": "tiny", "labels": [int(v) for v in labels], "data": rows,
                         "filenames": [f"img{i}.png" for i in range(len(images))]}, protocol=2)


def make_archive(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, raw in members.items():
            info = tarfile.TarInfo(f"{cifar.FOLDER_NAME}/{name}")
            info.size = len(raw)
            archive.addfile(info, io.BytesIO(raw))
    return buffer.getvalue()


@pytest.fixture
def isolated(monkeypatch, tmp_path):
    """An empty cache and no data folder: only what the test provides exists."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv(data.DATA_ENV_VAR, raising=False)
    monkeypatch.delenv(cifar.CIFAR10_MIRROR_ENV_VAR, raising=False)
    return tmp_path


@pytest.fixture
def tiny(tmp_path):
    """(served folder, archive md5, {batch name: (images, labels)}, member bytes)."""
    rng = np.random.default_rng(0)
    batches = {name: (rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8),
                      rng.integers(0, 10, n).astype(np.int64)) for name, n in SIZES.items()}
    members = {name: batch_bytes(*batch) for name, batch in batches.items()}
    members["batches.meta"] = pickle.dumps({"label_names": list(cifar.CIFAR10_CLASSES)}, protocol=2)
    archive = make_archive(members)
    served = tmp_path / "served"
    served.mkdir()
    (served / cifar.ARCHIVE_NAME).write_bytes(archive)
    return served, hashlib.md5(archive).hexdigest(), batches, members


@pytest.fixture
def server(tiny):
    """Serves the tiny archive; the port is chosen by binding a socket to port 0 and kept bound."""
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(tiny[0]))
    handler.log_message = lambda *args: None
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    httpd = http.server.ThreadingHTTPServer(listener.getsockname(), handler, bind_and_activate=False)
    httpd.socket.close()
    httpd.socket = listener  # the very socket bound above: no window for another process
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/{cifar.ARCHIVE_NAME}"
    httpd.shutdown()
    listener.close()


def expected(batches, split: str):
    names = [f"data_batch_{i}" for i in range(1, 6)] if split == "train" else ["test_batch"]
    return (np.concatenate([batches[n][0] for n in names]),
            np.concatenate([batches[n][1] for n in names]))


def test_download_fills_cache_atomically_and_is_reused_offline(isolated, tiny, server):
    _, md5, batches, _ = tiny
    images, labels = cifar.load_cifar10("train", url=server, md5=md5)
    want_images, want_labels = expected(batches, "train")
    assert images.shape == (9, 32, 32, 3) and images.dtype == np.uint8
    np.testing.assert_array_equal(images, want_images)
    np.testing.assert_array_equal(labels, want_labels)
    cached = isolated / "cache" / "cnn-course"
    assert sorted(p.name for p in cached.iterdir()) == [cifar.ARCHIVE_NAME]  # no .part left
    assert cifar.cifar10_available()
    test_images, test_labels = cifar.load_cifar10("test", download=False, md5=md5)
    np.testing.assert_array_equal(test_images, expected(batches, "test")[0])
    np.testing.assert_array_equal(test_labels, expected(batches, "test")[1])


def test_checksum_mismatch_leaves_no_file(isolated, tiny, server):
    with pytest.raises(data.DatasetError, match="checksum mismatch"):
        cifar.load_cifar10("test", url=server, md5="0" * 32)
    assert list((isolated / "cache" / "cnn-course").iterdir()) == []
    assert not cifar.cifar10_available()


def test_corrupt_archive_in_cache_is_reported(isolated, tiny):
    cache = isolated / "cache" / "cnn-course"
    cache.mkdir(parents=True)
    (cache / cifar.ARCHIVE_NAME).write_bytes(b"not an archive")
    with pytest.raises(data.DatasetError, match="corrupt or not CIFAR-10"):
        cifar.load_cifar10("test", md5=tiny[1])


def test_offline_error_says_what_to_do(isolated):
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there: the connection is refused at once
    assert not cifar.cifar10_available()
    with pytest.raises(data.DatasetError) as error:
        cifar.load_cifar10("test", url=f"http://127.0.0.1:{port}/x.tar.gz")
    message = str(error.value)
    assert "download" in message and data.DATA_ENV_VAR in message and cifar.CIFAR10_URL in message
    assert cifar.CIFAR10_MD5 in message
    with pytest.raises(data.DatasetError, match="downloading is switched off"):
        cifar.load_cifar10("test", download=False)


def test_env_var_folder_with_extracted_batches(isolated, tiny, monkeypatch):
    _, _, batches, members = tiny
    folder = isolated / "mydata" / cifar.FOLDER_NAME
    folder.mkdir(parents=True)
    for name, raw in members.items():
        (folder / name).write_bytes(raw)
    monkeypatch.setenv(data.DATA_ENV_VAR, str(folder.parent))
    assert cifar.find_cifar10() == folder
    images, labels = cifar.load_cifar10("test", download=False)
    np.testing.assert_array_equal(images, expected(batches, "test")[0])
    np.testing.assert_array_equal(labels, expected(batches, "test")[1])


def test_pixel_layout_is_channel_planes_row_major():
    """A row of 'data' is 1024 red, 1024 green, 1024 blue values, each plane row by row."""
    row = np.arange(3072) % 256
    raw = pickle.dumps({"data": row[None].astype(np.uint8), "labels": [7]}, protocol=2)
    images, labels = cifar.read_batch(raw)
    assert images.shape == (1, 32, 32, 3) and labels.tolist() == [7]
    assert images[0, 0, 1, 0] == 1 and images[0, 1, 0, 0] == 32 % 256
    assert images[0, 0, 0, 1] == 1024 % 256 and images[0, 0, 0, 2] == 2048 % 256


class _Payload:
    def __reduce__(self):
        return (os.system, ("touch pwned",))


def test_restricted_unpickler_refuses_code(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    raw = pickle.dumps({"data": np.zeros((1, 3072), np.uint8), "labels": [0], "x": _Payload()},
                       protocol=2)
    with pytest.raises(pickle.UnpicklingError, match="refusing to load"):
        cifar.read_batch(raw)
    assert not (tmp_path / "pwned").exists()
    sneaky = pickle.dumps({"data": np.zeros((1, 3072), np.uint8), "labels": [0]}, protocol=2)
    assert b"_codecs\nencode" in sneaky
    sneaky = sneaky.replace(b"_codecs\nencode", b"builtins\neval")
    with pytest.raises(pickle.UnpicklingError):
        cifar.read_batch(sneaky)


def test_malformed_batches_are_rejected():
    with pytest.raises(data.DatasetError, match="3072"):
        cifar.read_batch(pickle.dumps({"data": np.zeros((2, 100), np.uint8), "labels": [0, 1]}))
    with pytest.raises(data.DatasetError, match="label"):
        cifar.read_batch(pickle.dumps({"data": np.zeros((2, 3072), np.uint8), "labels": [0, 12]}))


def test_tensors_are_standardised_per_channel(isolated, tiny, server, monkeypatch):
    original = cifar.load_cifar10
    images, _ = original("test", url=server, md5=tiny[1])
    monkeypatch.setattr(cifar, "load_cifar10", lambda split: original(split, download=False, md5=tiny[1]))
    x, y = cifar.cifar10_tensors("test", limit=3)
    assert x.shape == (3, 3, 32, 32) and x.dtype == torch.float32 and y.shape == (3,)
    green = (images[1, 5, 7, 1] / 255 - cifar.CIFAR10_MEAN[1]) / cifar.CIFAR10_STD[1]
    assert abs(float(x[1, 1, 5, 7]) - green) < 1e-5
    red = (images[2, 31, 0, 0] / 255 - cifar.CIFAR10_MEAN[0]) / cifar.CIFAR10_STD[0]
    assert abs(float(x[2, 0, 31, 0]) - red) < 1e-5


def test_fashion_mnist_32_pads_with_background():
    x, y = cifar.fashion_mnist_32("test", limit=4)
    x28, y28 = utils.fashion_mnist_tensors("test", limit=4)
    assert x.shape == (4, 1, 32, 32) and torch.equal(y, y28)
    torch.testing.assert_close(x[:, :, 2:30, 2:30], x28)
    blank = F.pad(torch.zeros(1, 1, 28, 28), (2, 2, 2, 2))  # a black image, then standardised
    torch.testing.assert_close(x[0, 0, 0, 0], ((blank - 0.2860) / 0.3530)[0, 0, 0, 0])
    assert abs(float(x[:, :, :2].std())) < 1e-6  # the border is one constant value


def test_search_path_order(isolated, monkeypatch):
    monkeypatch.setenv(data.DATA_ENV_VAR, str(isolated / "mine"))
    assert cifar.cifar10_search_path() == [Path(isolated / "mine"), isolated / "cache" / "cnn-course"]
