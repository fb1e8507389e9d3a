"""CIFAR-10 (Krizhevsky 2009) and Fashion-MNIST at 32x32: the inputs of lecture 17 and assignment a6.

CIFAR-10 comes from its official site as ``cifar-10-python.tar.gz`` (about 170 MB), checked
against the MD5 published there. It is searched for, in order, in ``$CNN_COURSE_DATA`` (an
extracted ``cifar-10-batches-py/`` folder or the archive) and in the user cache
(``~/.cache/cnn-course``); otherwise it is downloaded into the cache with a progress bar, written
to a temporary file that is renamed only once the checksum matches. The batches are read straight
from the archive (nothing is extracted to disk).

The batches are Python *pickles*, and unpickling can run arbitrary code. They are read with a
restricted unpickler that builds only plain containers (dict, list, bytes, str, numbers) and NumPy
arrays: any other class or function named in the file is refused with ``pickle.UnpicklingError``.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import tarfile
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np

from .data import DATA_ENV_VAR, DatasetError, cache_dir

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_MIRROR_ENV_VAR = "CNN_COURSE_CIFAR10_URL"
#: MD5 of ``cifar-10-python.tar.gz`` as published on https://www.cs.toronto.edu/~kriz/cifar.html
CIFAR10_MD5 = "c58f30108f718f92721af3b95e74349a"
ARCHIVE_NAME = "cifar-10-python.tar.gz"
FOLDER_NAME = "cifar-10-batches-py"

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer",
                   "dog", "frog", "horse", "ship", "truck")
#: per-channel mean and standard deviation of the 50,000 training images, in [0, 1]
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)
_SPLITS = {"train": tuple(f"data_batch_{i}" for i in range(1, 6)), "test": ("test_batch",)}
#: Fashion-MNIST's standardisation (utils.data.fashion_mnist_tensors): a blank pixel maps to this
_FASHION_BACKGROUND = (0.0 - 0.2860) / 0.3530


# --- safe reading ---------------------------------------------------------------------------

def _latin1_encode(text: str, encoding: str = "latin1") -> bytes:
    """What protocol-2 pickles of ``bytes`` call (``_codecs.encode``), for latin-1 only."""
    if encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError(f"refusing _codecs.encode with encoding {encoding!r}")
    return text.encode("latin1")


def _allowed_globals() -> dict[tuple[str, str], object]:
    try:
        from numpy._core.multiarray import _reconstruct
    except ImportError:  # NumPy 1.x
        from numpy.core.multiarray import _reconstruct
    return {("numpy.core.multiarray", "_reconstruct"): _reconstruct,
            ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
            ("numpy", "ndarray"): np.ndarray,
            ("numpy", "dtype"): np.dtype,
            ("_codecs", "encode"): _latin1_encode}


class _RestrictedUnpickler(pickle.Unpickler):
    """Builds containers, numbers, strings and NumPy arrays; refuses every other global."""

    def find_class(self, module: str, name: str):
        allowed = _allowed_globals()
        if (module, name) in allowed:
            return allowed[(module, name)]
        raise pickle.UnpicklingError(
            f"refusing to load {module}.{name} from a CIFAR-10 batch: the file holds something "
            "other than plain data, so it is not a genuine CIFAR-10 file")


def read_batch(raw: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Parse one CIFAR-10 batch file (a pickled dict) into images and labels.

    Returns ``images`` uint8 of shape (N, 32, 32, 3) and ``labels`` int64 of shape (N,).
    Raises ``pickle.UnpicklingError`` for a file that names any class other than NumPy arrays,
    and ``DatasetError`` for a dict without the expected ``data`` (N, 3072) and ``labels``.
    """
    batch = _RestrictedUnpickler(io.BytesIO(raw), encoding="latin1").load()
    if not isinstance(batch, dict):
        raise DatasetError(f"a CIFAR-10 batch must be a dict, got {type(batch).__name__}")
    batch = {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in batch.items()}
    data, labels = batch.get("data"), batch.get("labels")
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 \
            or data.shape[1] != 3 * 32 * 32:
        raise DatasetError("a CIFAR-10 batch must hold 'data': uint8 array of shape (N, 3072)")
    labels = np.asarray(labels, dtype=np.int64)
    if labels.shape != (len(data),) or (labels.size and not 0 <= labels.min() <= labels.max() <= 9):
        raise DatasetError("a CIFAR-10 batch must hold one label in 0..9 per image")
    return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).copy(), labels


# --- finding, downloading -------------------------------------------------------------------

def cifar10_search_path() -> list[Path]:
    """Folders searched for CIFAR-10, in order: ``$CNN_COURSE_DATA`` then the user cache."""
    folders = []
    if os.environ.get(DATA_ENV_VAR):
        folders.append(Path(os.environ[DATA_ENV_VAR]))
    folders.append(cache_dir())
    return folders


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def find_cifar10() -> Path | None:
    """The first extracted ``cifar-10-batches-py`` folder or archive on the search path, or None."""
    for folder in cifar10_search_path():
        if (folder / FOLDER_NAME / "test_batch").is_file():
            return folder / FOLDER_NAME
        if (folder / ARCHIVE_NAME).is_file():
            return folder / ARCHIVE_NAME
    return None


def cifar10_available() -> bool:
    """True when CIFAR-10 is on this computer already (nothing is downloaded to find out)."""
    return find_cifar10() is not None


def _download(url: str, dest: Path, expected_md5: str) -> None:
    """Download ``url`` to ``dest`` with a progress bar; rename into place only if the MD5 matches."""
    from tqdm.auto import tqdm

    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        digest = hashlib.md5(usedforsecurity=False)
        with urllib.request.urlopen(url, timeout=30) as response, os.fdopen(fd, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc=dest.name) as bar:
                while chunk := response.read(1 << 16):
                    out.write(chunk)
                    digest.update(chunk)
                    bar.update(len(chunk))
        if digest.hexdigest() != expected_md5:
            raise DatasetError(
                f"checksum mismatch for {url}: got md5 {digest.hexdigest()}, expected {expected_md5}; "
                "the file was discarded. Try again later, or download it by hand (see below).")
        tmp.replace(dest)
    finally:
        tmp.unlink(missing_ok=True)


def _missing_message(why: str) -> str:
    looked = "\n".join(f"  - {folder}" for folder in cifar10_search_path())
    return (
        f"CIFAR-10 was not found and {why}.\nLooked for {FOLDER_NAME}/ or {ARCHIVE_NAME} in:\n{looked}\n"
        "To fix it, do one of:\n"
        f"  - connect to the internet and run again (the archive goes to {cache_dir()})\n"
        f"  - download {CIFAR10_URL} on another computer (md5 {CIFAR10_MD5}), copy it into a "
        f"folder and set {DATA_ENV_VAR} to that folder\n"
        "  - or keep using Fashion-MNIST, which the course uses by default")


def _locate(download: bool, url: str | None, md5: str) -> Path:
    found = find_cifar10()
    if found is not None:
        if found.name == ARCHIVE_NAME and _md5(found) != md5:
            raise DatasetError(f"{found} is corrupt or not CIFAR-10 (its md5 is not {md5}): delete "
                               "it and run again")
        return found
    if not download:
        raise DatasetError(_missing_message("downloading is switched off"))
    url = url or os.environ.get(CIFAR10_MIRROR_ENV_VAR) or CIFAR10_URL
    target = cache_dir() / ARCHIVE_NAME
    try:
        _download(url, target, md5)
    except (urllib.error.URLError, OSError, TimeoutError) as err:
        raise DatasetError(_missing_message(f"the download of {url} failed: {err}")) from None
    return target


def load_cifar10(split: str = "train", download: bool = True, url: str | None = None,
                 md5: str = CIFAR10_MD5) -> tuple[np.ndarray, np.ndarray]:
    """Load CIFAR-10 as NumPy arrays, downloading the official archive into the cache if needed.

    Args:
        split: ``"train"`` (50,000 images) or ``"test"`` (10,000 images).
        download: fetch the archive when it is nowhere on the search path.
        url / md5: where to download from and the archive's checksum (default: official).

    Returns:
        ``images`` uint8 of shape (N, 32, 32, 3) and ``labels`` int64 of shape (N,), classes in
        ``CIFAR10_CLASSES``.
    """
    if split not in _SPLITS:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    source = _locate(download, url, md5)
    parts = []
    if source.is_dir():
        for name in _SPLITS[split]:
            parts.append(read_batch((source / name).read_bytes()))
    else:
        with tarfile.open(source, "r:gz") as archive:
            for name in _SPLITS[split]:
                member = archive.extractfile(f"{FOLDER_NAME}/{name}")
                if member is None:
                    raise DatasetError(f"{source} has no regular file {FOLDER_NAME}/{name}")
                parts.append(read_batch(member.read()))
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def cifar10_tensors(split: str = "train", limit: int | None = None):
    """CIFAR-10 as torch tensors: ``x`` float32 (N, 3, 32, 32) standardised per channel, ``y`` (N,).

    Each channel is scaled to [0, 1], then standardised with the training set's mean and std
    (``CIFAR10_MEAN``, ``CIFAR10_STD``). ``limit`` keeps the first ``limit`` examples.
    """
    import torch

    images, labels = load_cifar10(split)
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    x = torch.from_numpy(images.astype(np.float32) / 255.0).permute(0, 3, 1, 2)
    mean = torch.tensor(CIFAR10_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(CIFAR10_STD).view(1, 3, 1, 1)
    return ((x - mean) / std).contiguous(), torch.from_numpy(labels)


def fashion_mnist_32(split: str = "train", limit: int | None = None):
    """Fashion-MNIST padded to 32x32, like a CIFAR-10 image with one channel.

    Returns ``x`` float32 (N, 1, 32, 32): the standardised 28x28 images of
    ``utils.fashion_mnist_tensors`` with a 2-pixel border of blank background (the value a black
    pixel takes after standardisation), and ``y`` int64 (N,).
    """
    import torch.nn.functional as F

    from .data import fashion_mnist_tensors

    x, y = fashion_mnist_tensors(split, limit=limit)
    return F.pad(x, (2, 2, 2, 2), value=_FASHION_BACKGROUND), y
