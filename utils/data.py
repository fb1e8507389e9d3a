"""Datasets used by the course, loaded through real, checksummed, offline-friendly code.

- Fashion-MNIST: the four official IDX files, searched for (gzipped or not) in
  ``$CNN_COURSE_DATA``, the user cache (``$XDG_CACHE_HOME/cnn-course`` or ``~/.cache/cnn-course``)
  and Debian's package path ``/usr/share/datasets/fashion-mnist``; otherwise downloaded into the
  cache. Every file is checked against the SHA-256 of its *decompressed* bytes, so Debian's
  recompressed ``.gz`` files and upstream's both pass.
- MNIST-1D: generated offline and deterministically by the ``mnist1d`` package, then cached.
- A real photograph: matplotlib's ``grace_hopper.jpg`` sample.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np

DATA_ENV_VAR = "CNN_COURSE_DATA"
MIRROR_ENV_VAR = "CNN_COURSE_FASHION_MNIST_URL"
DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"

FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)

#: SHA-256 of the decompressed IDX files (identical for upstream and Debian's package).
FASHION_MNIST_SHA256 = {
    "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}

_SPLIT_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


class DatasetError(RuntimeError):
    """A dataset could not be found, downloaded or verified; the message says what to do."""


def cache_dir() -> Path:
    """The user cache folder of the course (created on demand): ``~/.cache/cnn-course``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    path = Path(base) / "cnn-course"
    path.mkdir(parents=True, exist_ok=True)
    return path


def fashion_mnist_search_path() -> list[Path]:
    """Folders searched for Fashion-MNIST, in order: ``$CNN_COURSE_DATA``, cache, Debian."""
    folders = []
    if os.environ.get(DATA_ENV_VAR):
        folders.append(Path(os.environ[DATA_ENV_VAR]) / "fashion-mnist")
        folders.append(Path(os.environ[DATA_ENV_VAR]))
    folders.append(cache_dir() / "fashion-mnist")
    folders.append(DEBIAN_FASHION_MNIST)
    return folders


def parse_idx(raw: bytes) -> np.ndarray:
    """Parse the bytes of an IDX file (the MNIST format) into an array.

    IDX: two zero bytes, a type code (0x08 = uint8), the number of dimensions, then each
    dimension as a big-endian int32, then the data. Returns an array of that shape.
    """
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise DatasetError("not an IDX file: it does not start with two zero bytes")
    dtypes = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    type_code, ndim = raw[2], raw[3]
    if type_code not in dtypes:
        raise DatasetError(f"IDX type code {type_code:#x} is not one of {sorted(dtypes)}")
    header_end = 4 + 4 * ndim
    shape = tuple(int(d) for d in np.frombuffer(raw[4:header_end], dtype=">i4"))
    data = np.frombuffer(raw[header_end:], dtype=dtypes[type_code])
    if data.size != int(np.prod(shape)):
        raise DatasetError(f"IDX header says shape {shape} but the file holds {data.size} values")
    return data.reshape(shape)


def _read_maybe_gzip(path: Path) -> bytes:
    raw = path.read_bytes()
    return gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw


def _find_local(name: str, folders: list[Path]) -> Path | None:
    for folder in folders:
        for candidate in (folder / name, folder / f"{name}.gz"):
            if candidate.is_file():
                return candidate
    return None


def _download(url: str, dest: Path, expected_sha256: str) -> None:
    """Download ``url`` (gzipped IDX) to ``dest`` (decompressed), atomically, with a progress bar.

    The bytes go to a temporary file in the same folder that is renamed only once the
    checksum matches, so an interrupted or corrupt download never leaves a file behind.
    """
    from tqdm.auto import tqdm

    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        with urllib.request.urlopen(url, timeout=30) as response, os.fdopen(fd, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc=dest.name) as bar:
                while chunk := response.read(1 << 16):
                    out.write(chunk)
                    bar.update(len(chunk))
        raw = _read_maybe_gzip(tmp)
        digest = hashlib.sha256(raw).hexdigest()
        if digest != expected_sha256:
            raise DatasetError(
                f"checksum mismatch for {url}: got sha256 {digest[:16]}..., expected "
                f"{expected_sha256[:16]}...; the file was discarded. The server may be serving "
                "a different or corrupt file: try again later or install the data by hand."
            )
        tmp.write_bytes(raw)
        tmp.replace(dest)
    finally:
        tmp.unlink(missing_ok=True)


def _load_idx_file(name: str, checksums: dict[str, str], download: bool, base_url: str) -> np.ndarray:
    folders = fashion_mnist_search_path()
    expected = checksums[name]
    found = _find_local(name, folders)
    if found is not None:
        raw = _read_maybe_gzip(found)
        digest = hashlib.sha256(raw).hexdigest()
        if digest != expected:
            raise DatasetError(
                f"{found} is corrupt or not Fashion-MNIST: sha256 {digest[:16]}... instead of "
                f"{expected[:16]}.... Delete it and run again (it will be found elsewhere or "
                "downloaded)."
            )
        return parse_idx(raw)
    target = cache_dir() / "fashion-mnist" / name
    if not download:
        raise DatasetError(_missing_message(name, folders, "downloading is switched off"))
    url = base_url.rstrip("/") + f"/{name}.gz"
    try:
        _download(url, target, expected)
    except (urllib.error.URLError, OSError, TimeoutError) as err:
        raise DatasetError(_missing_message(name, folders, f"the download of {url} failed: {err}")) from None
    return parse_idx(target.read_bytes())


def _missing_message(name: str, folders: list[Path], why: str) -> str:
    looked = "\n".join(f"  - {folder}" for folder in folders)
    return (
        f"Fashion-MNIST file {name!r} was not found and {why}.\nLooked in:\n{looked}\n"
        "To fix it, do one of:\n"
        "  - on Debian/Ubuntu: sudo apt-get install dataset-fashion-mnist\n"
        f"  - connect to the internet and run again (files go to {cache_dir() / 'fashion-mnist'})\n"
        f"  - copy the four *-ubyte(.gz) files into a folder and set {DATA_ENV_VAR} to it"
    )


def load_fashion_mnist(
    split: str = "train",
    download: bool = True,
    checksums: dict[str, str] | None = None,
    base_url: str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Load Fashion-MNIST as NumPy arrays.

    Args:
        split: ``"train"`` (60,000 images) or ``"test"`` (10,000 images).
        download: fetch missing files from ``base_url`` into the cache.
        checksums: SHA-256 of the decompressed files (defaults to the official ones).
        base_url: where to download from (default upstream, or ``$CNN_COURSE_FASHION_MNIST_URL``).

    Returns:
        ``images`` uint8 of shape (N, 28, 28) in [0, 255] and ``labels`` int64 of shape (N,),
        with class names in ``FASHION_MNIST_CLASSES``.
    """
    if split not in _SPLIT_FILES:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    checksums = checksums or FASHION_MNIST_SHA256
    base_url = base_url or os.environ.get(MIRROR_ENV_VAR) or FASHION_MNIST_URL
    image_file, label_file = _SPLIT_FILES[split]
    images = _load_idx_file(image_file, checksums, download, base_url)
    labels = _load_idx_file(label_file, checksums, download, base_url).astype(np.int64)
    if images.ndim != 3 or len(images) != len(labels):
        raise DatasetError(f"{split} images {images.shape} do not match labels {labels.shape}")
    return images, labels


def fashion_mnist_tensors(split: str = "train", limit: int | None = None):
    """Fashion-MNIST as torch tensors ready for a CNN.

    Returns ``x`` float32 of shape (N, 1, 28, 28), scaled to [0, 1] then standardised with the
    training set's mean 0.2860 and std 0.3530, and ``y`` int64 of shape (N,).
    ``limit`` keeps the first ``limit`` examples (for quick runs).
    """
    import torch

    images, labels = load_fashion_mnist(split)
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    x = torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)
    x = (x - 0.2860) / 0.3530
    return x, torch.from_numpy(labels)


def load_mnist1d(seed: int = 42) -> dict[str, np.ndarray]:
    """MNIST-1D (Greydanus 2020), generated offline by the ``mnist1d`` package and cached.

    Returns a dict with ``x`` (4000, 40) float32, ``y`` (4000,) int64, ``x_test`` (1000, 40),
    ``y_test`` (1000,) and ``t`` (40,) the sample positions. Same seed, same data.
    """
    path = cache_dir() / f"mnist1d_seed{seed}.npz"
    if path.is_file():
        with np.load(path) as cached:
            return {key: cached[key] for key in cached.files}
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.seed = seed
    raw = make_dataset(args)
    data = {
        "x": raw["x"].astype(np.float32),
        "y": raw["y"].astype(np.int64),
        "x_test": raw["x_test"].astype(np.float32),
        "y_test": raw["y_test"].astype(np.int64),
        "t": np.asarray(raw["t"], dtype=np.float32),
    }
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npz")
    os.close(fd)
    np.savez(tmp, **data)
    os.replace(tmp, path)
    return data


def load_sample_image(gray: bool = False, size: int | None = None) -> np.ndarray:
    """Grace Hopper's portrait from matplotlib's sample data, as floats in [0, 1].

    Returns (H, W, 3) RGB, or (H, W) luminance with ``gray=True``. ``size`` shrinks the image by
    the integer factor ``f = shorter side // size`` (600x512 -> 150x128 for ``size=128``): every
    output pixel is the mean of the input pixels in its cell, i.e. area interpolation (block
    averaging where ``f`` divides the sides; torch's ``adaptive_avg_pool2d`` for the last,
    partial cells), so fine detail is averaged instead of aliased. The output has
    ``ceil(H / f) x ceil(W / f)`` pixels.
    """
    import matplotlib.cbook
    import matplotlib.image

    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as handle:
        image = matplotlib.image.imread(handle, format="jpg")
    image = np.asarray(image, dtype=np.float32)
    if image.max() > 1.0:
        image = image / 255.0
    if size is not None:
        factor = max(1, min(image.shape[:2]) // size)
        if factor > 1:
            import torch
            import torch.nn.functional as F

            height, width = -(-image.shape[0] // factor), -(-image.shape[1] // factor)
            channels_first = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None]
            image = F.adaptive_avg_pool2d(channels_first, (height, width))[0].permute(1, 2, 0).numpy()
    if gray:
        image = image[..., :3] @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    return image
