"""Mini-batches from an :class:`ImageData`: resize, albumentations augmentation, normalization.

The training images are held as ``uint8`` arrays resized once per resolution (cached on the
dataset). Each epoch visits the images in a permutation drawn from
``SeedSequence([seed, 2, epoch])`` and augments every image with an albumentations pipeline
whose random state is reset *per sample* to a state derived from ``(seed, epoch, index)``
(``SeedSequence([seed, 3, epoch])`` expanded to one PCG64 state per training-image index). An
image's augmentation therefore depends only on the seed, the epoch and the image, never on
which process augments it or on what was augmented before it: a run whose batches are made by
``num_workers`` DataLoader worker processes sees exactly the batches of a run that makes them
in the training process. No global random state is read or written.

The *standard* pipeline is the CIFAR recipe of He et al. (2016, Sec. 4.2) and the baseline
that AutoAugment (Cubuk et al., 2019, Sec. 4.1) applies before its policy: zero-pad 4 pixels
(scaled with the resolution: ``max(1, round(4 * resolution / 32))``), random crop back to the
resolution, random horizontal flip (omitted when the dataset's ``hflip`` is False, e.g.
digits and SVHN). The padding is done once per resolution on the whole array with numpy; the
per-sample pipeline is ``RandomCrop`` (+ ``HorizontalFlip``) followed by the optional extra
transform (e.g. an AutoAugment policy from :mod:`optnas.augment`).

Workers (``num_workers > 0``) augment whole batches and send them as ``uint8`` NHWC tensors
(a quarter of the bytes of float32), pinned when the device is CUDA; the training process
copies them with ``non_blocking=True`` and converts and normalizes them on the device. One
DataLoader iterator runs over all epochs, so the worker processes persist for the whole run
and prefetch the next epoch's first batches while the model is evaluated.
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing
import os
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import albumentations as A
import numpy as np
import numpy.typing as npt
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from optnas._errors import ConfigError
from optnas.data._image_data import ImageData

__all__ = ["Loader", "standard_padding", "standard_pipeline"]

U8 = npt.NDArray[np.uint8]
I64 = npt.NDArray[np.int64]

_SHUFFLE, _AUGMENT, _WORKERS = 2, 3, 4
_MASK64 = (1 << 64) - 1


def standard_padding(resolution: int) -> int:
    """Zero padding of the standard crop: 4 pixels at 32 px, scaled with the resolution."""
    return max(1, round(4 * resolution / 32))


def standard_pipeline(resolution: int, *, hflip: bool) -> list[A.BasicTransform]:
    """Per-sample part of the standard augmentation (inputs already zero-padded).

    Args:
        resolution: output side length.
        hflip: add a random horizontal flip (p=0.5).
    """
    transforms: list[A.BasicTransform] = [A.RandomCrop(resolution, resolution)]
    if hflip:
        transforms.append(A.HorizontalFlip(p=0.5))
    return transforms


def _is_transform(obj: object) -> bool:
    return isinstance(obj, A.BasicTransform | A.BaseCompose)


def shuffle_order(seed: int, epoch: int, n: int) -> I64:
    """The permutation of ``n`` training images that epoch ``epoch`` visits."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, _SHUFFLE, epoch]))
    return rng.permutation(n).astype(np.int64)


class _SampleRandom(random.Random):
    """``random.Random`` drawing from a numpy ``PCG64`` bit generator.

    albumentations draws from a ``random.Random`` (``py_random``) and a numpy ``Generator``;
    both are backed here by one PCG64 whose state is reset per sample, which costs under a
    microsecond (re-seeding a Mersenne Twister costs ~5 us, a third of a crop + flip).
    """

    def __init__(self, bits: np.random.PCG64) -> None:
        self._bits = bits
        super().__init__()

    def seed(self, a: Any = None, version: int = 2) -> None:
        """No-op: the state is set through the bit generator (see :meth:`reset`)."""

    def reset(self, state: int, inc: int) -> None:
        """Set the shared PCG64 to ``(state, inc)`` (128-bit state, odd increment)."""
        self._bits.state = {
            "bit_generator": "PCG64",
            "state": {"state": state, "inc": inc},
            "has_uint32": 0,
            "uinteger": 0,
        }

    def random(self) -> float:
        """A float in [0, 1) with 53 random bits."""
        return (int(self._bits.random_raw()) >> 11) * (1.0 / 9007199254740992.0)

    def getrandbits(self, k: int) -> int:
        """An integer with ``k`` random bits."""
        if k <= 0:
            return 0
        out, have = 0, 0
        while have < k:
            out = (out << 64) | int(self._bits.random_raw())
            have += 64
        return out >> (have - k)

    def getstate(self) -> Any:
        """The bit generator's state (for pickling)."""
        return self._bits.state

    def setstate(self, state: Any) -> None:
        """Restore :meth:`getstate`."""
        self._bits.state = state

    def __reduce__(self) -> tuple[Any, ...]:
        return (_SampleRandom, (np.random.PCG64(0),), self.getstate())

    def __setstate__(self, state: Any) -> None:
        self.setstate(state)


@dataclass(frozen=True)
class _Failed:
    """A :class:`ConfigError` raised in a worker process, sent back as data (it re-raises in the trainer)."""

    field: str
    value: Any
    reason: str


_Batch = tuple[torch.Tensor, torch.Tensor]


class _EpochBatches(Dataset[_Batch | _Failed]):
    """The training batches as a map-style dataset: key ``(epoch, b)`` -> ``(uint8 NHWC, labels)``.

    The same object makes batches in the training process (``num_workers=0``) and in
    DataLoader workers, so both produce identical batches.
    """

    def __init__(
        self,
        source: U8,
        labels: I64,
        pipeline: A.Compose | None,
        *,
        resolution: int,
        batch_size: int,
        seed: int,
    ) -> None:
        self.source = source
        self.labels = labels
        self.pipeline = pipeline
        self.resolution = resolution
        self.batch_size = batch_size
        self.seed = seed
        self.n = int(labels.shape[0])
        self._order: tuple[int, I64] | None = None
        self._states: tuple[int, npt.NDArray[np.uint64]] | None = None
        self._random: _SampleRandom | None = None

    def order(self, epoch: int) -> I64:
        """The epoch's permutation (cached for the current epoch)."""
        if self._order is None or self._order[0] != epoch:
            self._order = (epoch, shuffle_order(self.seed, epoch, self.n))
        return self._order[1]

    def _sample_states(self, epoch: int) -> npt.NDArray[np.uint64]:
        """Three 64-bit words per training-image index: PCG64 state (hi, lo) and increment."""
        if self._states is None or self._states[0] != epoch:
            ss = np.random.SeedSequence([self.seed, _AUGMENT, epoch])
            words: npt.NDArray[np.uint64] = np.asarray(ss.generate_state(3 * self.n, dtype=np.uint64), dtype=np.uint64)
            self._states = (epoch, words.reshape(self.n, 3))
        return self._states[1]

    def _rng(self, pipeline: A.Compose) -> _SampleRandom:
        if self._random is None:
            bits = np.random.PCG64(0)
            self._random = _SampleRandom(bits)
            # One stream shared by every transform: Compose(seed=...) would give each
            # transform its own identically seeded generator, correlating their draws.
            pipeline.set_random_state(np.random.Generator(bits), self._random)
        return self._random

    def augment(self, epoch: int, idx: I64) -> U8:
        """Augment the training images ``idx`` as epoch ``epoch`` does."""
        pipeline = self.pipeline
        if pipeline is None:
            batch: U8 = self.source[idx]
            return batch
        rng = self._rng(pipeline)
        states = self._sample_states(epoch)
        r = self.resolution
        out = np.empty((idx.size, r, r, 3), dtype=np.uint8)
        for j, i in enumerate(idx.tolist()):
            hi, lo, inc = (int(w) for w in states[i])
            rng.reset((hi << 64) | lo, ((inc << 1) | 1) & ((1 << 128) - 1))
            img = pipeline(image=self.source[i])["image"]
            if img.shape != (r, r, 3):
                raise ConfigError("augment", img.shape, f"augmentation must keep images {r}x{r}x3")
            out[j] = img
        return out

    def batch(self, epoch: int, b: int) -> _Batch:
        """Batch ``b`` of epoch ``epoch``: ``uint8 (B, R, R, 3)`` images and int64 labels."""
        idx = self.order(epoch)[b * self.batch_size : (b + 1) * self.batch_size]
        x = self.augment(epoch, idx)
        if not x.flags.writeable:  # cached arrays are read-only; torch wants writable memory
            x = x.copy()
        return torch.from_numpy(x), torch.from_numpy(self.labels[idx])

    def __getitem__(self, key: tuple[int, int]) -> _Batch | _Failed:
        try:
            return self.batch(*key)
        except ConfigError as exc:  # ConfigError does not survive the worker's re-raise
            return _Failed(exc.field, exc.value, exc.reason)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_random"] = None  # rebuilt (and attached to the pipeline) in the new process
        return state


class _Keys(Sampler[tuple[int, int]]):
    """``(epoch, batch)`` keys from a start position to the end of ``stop`` epochs (or forever)."""

    def __init__(self, steps: int, stop: int | None) -> None:
        self.steps = steps
        self.stop = stop
        self.start = (0, 0)

    def __iter__(self) -> Iterator[tuple[int, int]]:
        epoch, b = self.start
        while self.stop is None or epoch < self.stop:
            while b < self.steps:
                yield epoch, b
                b += 1
            epoch, b = epoch + 1, 0


def _worker_init(worker_id: int) -> None:
    """DataLoader worker set-up: OpenCV without its thread pool (the worker *is* the parallelism)."""
    import cv2

    if cv2.getNumThreads() != 0:  # set by :func:`_no_cv2_pool` for forked workers already
        cv2.setNumThreads(0)


@contextlib.contextmanager
def _no_cv2_pool() -> Iterator[None]:
    """Stop OpenCV's thread pool while worker processes are forked (restored afterwards).

    A child forked while the parent's OpenCV pool exists inherits the pool's locks but not its
    threads, and its first ``cv2.setNumThreads`` or parallel OpenCV call can deadlock. With 0
    threads the pool is shut down, the children start without one and run OpenCV serially.
    """
    import cv2

    previous = cv2.getNumThreads()
    cv2.setNumThreads(0)
    try:
        yield
    finally:
        cv2.setNumThreads(previous)


class Loader:
    """Training mini-batches and evaluation tensors of one dataset at one resolution.

    Args:
        data: the dataset.
        resolution: side length the images are resized to.
        batch_size: training mini-batch size.
        standard: apply the standard pad + crop (+ flip) augmentation.
        augment: an extra albumentations transform (or ``Compose``) applied to every training
            image after the standard crop and flip; it must keep the image size.
        seed: seed of the shuffling and augmentation streams.
        device: where batches are placed.
        num_workers: DataLoader worker processes that augment the batches (0: augment in the
            calling process). The batches are the same for every value.
        pin_memory: pin the workers' batches for asynchronous host-to-device copies
            (default: when ``device`` is CUDA).
        channels_last: return image batches in ``torch.channels_last`` memory format.
        epochs: the number of epochs that will be requested, in order (bounds the workers'
            prefetching); ``None``: unbounded.
        prefetch_factor: batches each worker prepares ahead (default 2, torch's default).

    Batches are ``(x, y)`` with ``x`` a float32 ``(B, 3, R, R)`` tensor normalized by the
    training set's per-channel mean and standard deviation and ``y`` int64 labels. The last
    batch of an epoch is kept unless it would hold a single image (BatchNorm needs two).

    With workers, request epochs in order (``epoch(0)``, ``epoch(1)``, ...) to keep one
    worker stream running; any other request restarts the stream at that epoch (the batches
    are the same either way). Call :meth:`close` (or use the loader as a context manager) to
    stop the worker processes.
    """

    def __init__(
        self,
        data: ImageData,
        resolution: int,
        *,
        batch_size: int,
        standard: bool = True,
        augment: Any = None,
        seed: int = 0,
        device: str | torch.device = "cpu",
        num_workers: int = 0,
        pin_memory: bool | None = None,
        channels_last: bool = False,
        epochs: int | None = None,
        prefetch_factor: int | None = None,
    ) -> None:
        if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 1:
            raise ConfigError("resolution", resolution, "must be a positive integer")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ConfigError("batch_size", batch_size, "must be a positive integer")
        if isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 0:
            raise ConfigError("num_workers", num_workers, "must be a non-negative integer")
        if prefetch_factor is not None and (
            isinstance(prefetch_factor, bool) or not isinstance(prefetch_factor, int) or prefetch_factor < 1
        ):
            raise ConfigError("prefetch_factor", prefetch_factor, "must be a positive integer")
        if epochs is not None and (isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1):
            raise ConfigError("epochs", epochs, "must be a positive integer")
        if augment is not None and not _is_transform(augment):
            raise ConfigError("augment", type(augment).__name__, "expected an albumentations transform or Compose")
        self.data = data
        self.resolution = resolution
        self.batch_size = batch_size
        self.seed = seed
        self.device = torch.device(device)
        self.standard = standard
        self.num_workers = num_workers
        self.pin_memory = self.device.type == "cuda" if pin_memory is None else bool(pin_memory)
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.epochs = epochs
        self.prefetch_factor = prefetch_factor
        mean, std = data.channel_stats()
        shape = (1, 3, 1, 1)
        self._scale = torch.tensor(1.0 / (255.0 * std), dtype=torch.float32).reshape(shape).to(self.device)
        self._shift = torch.tensor(mean / std, dtype=torch.float32).reshape(shape).to(self.device)
        transforms: list[Any] = []
        if standard:
            pad = standard_padding(resolution)
            self._source = data.cached(("padded", resolution, pad), lambda: self._pad(pad))
            transforms += standard_pipeline(resolution, hflip=data.hflip)
        else:
            self._source = data.resized("train", resolution)
        if augment is not None:
            transforms.append(augment)
        self.pipeline: A.Compose | None = A.Compose(transforms, p=1.0) if transforms else None
        labels = np.array(data.train_y, dtype=np.int64)
        self._labels = torch.from_numpy(labels)
        self._batches = _EpochBatches(
            self._source, labels, self.pipeline, resolution=resolution, batch_size=batch_size, seed=seed
        )
        self._eval: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
        self._eval_u8: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
        self._keys = _Keys(len(self), epochs)
        self._workers: DataLoader[Any] | None = None
        self._stream: Iterator[Any] | None = None
        self._next = (0, 0)

    def _pad(self, pad: int) -> U8:
        x = self.data.resized("train", self.resolution)
        out = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
        out.flags.writeable = False
        return out

    def __len__(self) -> int:
        n = int(self.data.train_x.shape[0])
        steps = math.ceil(n / self.batch_size)
        return steps - 1 if steps > 1 and n % self.batch_size == 1 else steps

    def __enter__(self) -> Loader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def normalize(self, x: U8 | torch.Tensor) -> torch.Tensor:
        """``(B, R, R, 3)`` uint8 -> normalized float32 ``(B, 3, R, R)`` on the loader's device.

        Accepts a numpy array or a (possibly pinned) uint8 tensor; the copy to the device is
        asynchronous where the source is pinned.
        """
        if isinstance(x, np.ndarray):
            if not x.flags.writeable:  # cached arrays are read-only; torch wants writable memory
                x = x.copy()
            x = torch.from_numpy(x)
        t = x.to(self.device, non_blocking=True).permute(0, 3, 1, 2)
        t = t.to(dtype=torch.float32, memory_format=self.memory_format)
        return t.mul_(self._scale).sub_(self._shift)

    def order(self, epoch: int) -> npt.NDArray[np.int64]:
        """The permutation of the training images that epoch ``epoch`` visits."""
        return shuffle_order(self.seed, epoch, int(self.data.train_x.shape[0]))

    def augmented(self, epoch: int, b: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Batch ``b`` of epoch ``epoch`` before normalization: ``uint8 (B, R, R, 3)``, labels (CPU)."""
        return self._batches.batch(epoch, b)

    def _start_workers(self, epoch: int) -> Iterator[Any]:
        if self._workers is None:
            context = "fork" if "fork" in multiprocessing.get_all_start_methods() else None
            self._workers = DataLoader(
                self._batches,
                batch_size=None,
                sampler=self._keys,
                num_workers=self.num_workers,
                pin_memory=self.pin_memory,
                worker_init_fn=_worker_init,
                multiprocessing_context=context,
                # The base seed of torch's worker set-up; without a generator DataLoader draws
                # it from torch's global generator, which would shift dropout's draws.
                generator=torch.Generator().manual_seed(self.seed * 1009 + _WORKERS),
                prefetch_factor=self.prefetch_factor,
                persistent_workers=True,
            )
        self._keys.start = (epoch, 0)
        self._next = (epoch, 0)
        with _no_cv2_pool():  # the workers are forked here on the first call
            return iter(self._workers)

    def epoch(self, epoch: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """The shuffled, augmented mini-batches of epoch ``epoch`` (0-based)."""
        steps = len(self)
        if self.num_workers == 0:
            for b in range(steps):
                x, y = self._batches.batch(epoch, b)
                yield self.normalize(x), y.to(self.device, non_blocking=True)
            return
        if self.epochs is not None and epoch >= self.epochs:
            raise ConfigError("epoch", epoch, f"the loader was created for {self.epochs} epochs")
        if self._stream is None or self._next != (epoch, 0):
            self._stream = self._start_workers(epoch)
        for b in range(steps):
            item = next(self._stream)
            self._next = (epoch, b + 1) if b + 1 < steps else (epoch + 1, 0)
            if isinstance(item, _Failed):
                self._stream = None
                raise ConfigError(item.field, item.value, item.reason)
            x, y = item
            yield self.normalize(x), y.to(self.device, non_blocking=True)

    def close(self) -> None:
        """Stop the worker processes (a later :meth:`epoch` starts new ones)."""
        loader, self._workers, self._stream = self._workers, None, None
        if loader is not None:
            it = getattr(loader, "_iterator", None)
            shutdown = getattr(it, "_shutdown_workers", None)
            if shutdown is not None:
                shutdown()
            loader._iterator = None

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # at interpreter shutdown
            self.close()

    def eval_batches(self, split: str, batch_size: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """The unaugmented images of ``split`` in batches, normalized on the device.

        The split is held on the device as ``uint8`` (a quarter of float32's memory) and each
        batch is converted when it is used.
        """
        if split not in self._eval_u8:
            x = self.data.resized(split, self.resolution)
            _, y = self.data.split(split)
            if not x.flags.writeable:
                x = x.copy()
            self._eval_u8[split] = (
                torch.from_numpy(x).to(self.device),
                torch.from_numpy(np.array(y, dtype=np.int64)).to(self.device),
            )
        xs, ys = self._eval_u8[split]
        for i in range(0, xs.shape[0], batch_size):
            yield self.normalize(xs[i : i + batch_size]), ys[i : i + batch_size]

    def eval_tensors(self, split: str) -> tuple[torch.Tensor, torch.Tensor]:
        """All images of ``split`` (``"val"``/``"test"``/``"train"``), unaugmented, as tensors.

        One vectorized conversion per split, cached on the loader.
        """
        if split not in self._eval:
            x = self.data.resized(split, self.resolution)
            _, y = self.data.split(split)
            self._eval[split] = (self.normalize(x), torch.from_numpy(np.array(y, dtype=np.int64)).to(self.device))
        return self._eval[split]
