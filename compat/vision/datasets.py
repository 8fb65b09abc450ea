"""Image data sets (``torchvision.datasets``): MNIST, FashionMNIST and CIFAR10 read from the
files in ``root``, and Digits, a small real data set that ships with the package.

Nothing is downloaded (the library makes no network access): ``download=True`` checks that
the files are there and otherwise raises an error saying which files to put where. Samples
are ``(image, target)`` where the image is a uint8 numpy array (H×W for the gray sets, H×W×3
for CIFAR10) -- torchvision gives PIL images; every ``compat.vision.transforms`` accepts
these arrays, and ``transforms.ToTensor()`` makes the usual C×H×W float tensor.

>>> from compat.vision import datasets, transforms
>>> train = datasets.Digits(train=True, transform=transforms.ToTensor())
>>> x, y = train[0]
>>> tuple(x.shape), type(y).__name__, len(train.classes)
((1, 8, 8), 'int', 10)
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np

from compat.tensor import from_numpy
from compat.utils.data.dataset import Dataset
from compat.vision.formats import FormatError, read_cifar_batch, read_idx, read_pickle_safely
from functorch_lite.datasets import load_digits


class VisionDataset(Dataset):
    """Base class: ``root``, ``transform`` (applied to the image), ``target_transform``
    (applied to the label); subclasses fill ``self.data`` (N images) and ``self.targets``.

    >>> class Two(VisionDataset):
    ...     def __init__(self):
    ...         super().__init__(None, transform=lambda im: int(im.sum()))
    ...         self.data, self.targets = np.ones((2, 3, 3), np.uint8), [0, 1]
    >>> Two()[1], len(Two())
    ((9, 1), 2)
    """

    classes: list[str] = []

    def __init__(self, root: str | os.PathLike | None, transform: Callable | None = None,
                 target_transform: Callable | None = None):
        self.root = os.fspath(root) if root is not None else None
        self.transform = transform
        self.target_transform = target_transform

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        # a copy, so a transform that works in place cannot change the data set
        img, target = np.array(self.data[index]), int(self.targets[index])
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def __len__(self) -> int:
        return len(self.data)

    @property
    def class_to_idx(self) -> dict[str, int]:
        """{class name: label}."""
        return {c: i for i, c in enumerate(self.classes)}


def _missing(dataset: str, root: str, folder: str, files: list[str], source: str) -> RuntimeError:
    where = os.path.join(root, folder)
    return RuntimeError(
        f"{dataset}: dataset not found in {root!r}, and compat.vision does not download "
        f"(download=True cannot fetch files: no network access). Put these files in "
        f"{where}{os.sep} (or directly in {root}): {', '.join(files)} -- from {source}")


class MNIST(VisionDataset):
    """MNIST handwritten digits from the IDX files in ``root`` (raw or ``.gz``), looked for
    in ``root/MNIST/raw`` (torchvision's layout), ``root/MNIST`` and ``root`` itself.

    Args:
        root: the folder holding the files.
        train: the 60000 training images (``train-*``) or the 10000 test ones (``t10k-*``).
        transform / target_transform: applied to the uint8 H×W image / the int label.
        download: no network access is made: when the files are missing this raises an
            error saying which files to put where.

    ``data`` is a uint8 Tensor N×28×28 and ``targets`` an int64 Tensor, as in torchvision.

    >>> ds = MNIST("data", train=True, transform=transforms.ToTensor())  # doctest: +SKIP
    >>> ds[0][0].shape                                                   # doctest: +SKIP
    torch.Size([1, 28, 28])
    """

    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five",
               "6 - six", "7 - seven", "8 - eight", "9 - nine"]
    source = "https://ossci-datasets.s3.amazonaws.com/mnist/ (or http://yann.lecun.com/exdb/mnist/)"

    def __init__(self, root: str | os.PathLike, train: bool = True,
                 transform: Callable | None = None, target_transform: Callable | None = None,
                 download: bool = False):
        super().__init__(root, transform, target_transform)
        self.train = train
        prefix = "train" if train else "t10k"
        names = [f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"]
        paths = [self._find(n) for n in names]
        if None in paths:
            raise _missing(type(self).__name__, self.root, self.raw_folder,
                           [f"{n}.gz" for n in names], self.source)
        images, labels = (read_idx(p) for p in paths)
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise FormatError(f"{paths[0]} and {paths[1]} do not hold N images and N labels "
                              f"(shapes {images.shape} and {labels.shape})")
        self.data = from_numpy(images.astype(np.uint8))
        self.targets = from_numpy(labels.astype(np.int64))

    @property
    def raw_folder(self) -> str:
        """Where torchvision keeps the files: ``<ClassName>/raw``."""
        return os.path.join(type(self).__name__, "raw")

    def _find(self, name: str) -> str | None:
        for folder in (self.raw_folder, type(self).__name__, ""):
            for candidate in (name, name + ".gz"):
                path = os.path.join(self.root, folder, candidate)
                if os.path.isfile(path):
                    return path
        return None


class FashionMNIST(MNIST):
    """Fashion-MNIST (Zalando's clothing images), same files and layout as :class:`MNIST`
    under ``root/FashionMNIST/raw``.

    >>> FashionMNIST.classes[:2]
    ['T-shirt/top', 'Trouser']
    """

    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
               "Sneaker", "Bag", "Ankle boot"]
    source = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"


class CIFAR10(VisionDataset):
    """CIFAR-10 from the python batches in ``root/cifar-10-batches-py`` (``data_batch_1``
    ... ``data_batch_5``, ``test_batch``, ``batches.meta``), read without unpickling: a
    restricted reader accepts only what those files contain (see ``compat.vision.formats``).

    ``data`` is a uint8 numpy array N×32×32×3 and ``targets`` a list of ints, as in
    torchvision; samples are H×W×3 uint8 arrays.

    >>> ds = CIFAR10("data", train=False)      # doctest: +SKIP
    >>> ds.data.shape                           # doctest: +SKIP
    (10000, 32, 32, 3)
    """

    base_folder = "cifar-10-batches-py"
    classes = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
               "ship", "truck"]
    source = ("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz (extract it: the "
              "archive holds the cifar-10-batches-py folder)")

    def __init__(self, root: str | os.PathLike, train: bool = True,
                 transform: Callable | None = None, target_transform: Callable | None = None,
                 download: bool = False):
        super().__init__(root, transform, target_transform)
        self.train = train
        names = [f"data_batch_{i}" for i in range(1, 6)] if train else ["test_batch"]
        folder = os.path.join(self.root, self.base_folder)
        missing = [n for n in names if not os.path.isfile(os.path.join(folder, n))]
        if missing:
            raise _missing("CIFAR10", self.root, self.base_folder, names, self.source)
        data, targets = [], []
        for n in names:
            batch = read_cifar_batch(os.path.join(folder, n))
            labels = batch.get("labels", batch.get("fine_labels"))
            if not isinstance(batch.get("data"), np.ndarray) or not isinstance(labels, list):
                raise FormatError(f"{os.path.join(folder, n)}: a CIFAR batch holds 'data' "
                                  "(an array) and 'labels' (a list)")
            data.append(batch["data"].reshape(-1, 3, 32, 32))
            targets.extend(int(v) for v in labels)
        self.data = np.ascontiguousarray(np.concatenate(data).transpose(0, 2, 3, 1))
        self.targets = targets
        if len(self.data) != len(self.targets):
            raise FormatError(f"{folder}: {len(self.data)} images but {len(targets)} labels")
        meta = os.path.join(folder, "batches.meta")
        if os.path.isfile(meta):
            names_in_meta = read_pickle_safely(meta)
            label_names = names_in_meta.get("label_names", names_in_meta.get(b"label_names"))
            if isinstance(label_names, list):
                self.classes = [v.decode() if isinstance(v, bytes) else str(v)
                                for v in label_names]


class Digits(VisionDataset):
    """The UCI handwritten digits that ship with the package (8×8 gray images, 10 classes,
    1797 samples): a real data set for offline demos and tests.

    Pixels (0..16 in the source) are scaled to uint8 0..255, so ``transforms.ToTensor()``
    gives 1×8×8 floats in [0, 1]. The split is fixed: every fifth sample (index % 5 == 4)
    is the test set (359 images), the rest the training set (1438). ``root`` is accepted for
    symmetry with the other data sets and ignored.

    >>> len(Digits(train=True)), len(Digits(train=False))
    (1438, 359)
    """

    classes = [str(d) for d in range(10)]

    def __init__(self, root: str | os.PathLike | None = None, train: bool = True,
                 transform: Callable | None = None, target_transform: Callable | None = None,
                 download: bool = False):
        super().__init__(root, transform, target_transform)
        self.train = train
        images, labels = load_digits()
        test = np.arange(len(labels)) % 5 == 4
        keep = ~test if train else test
        pixels = np.floor(images[keep] * (255 / 16) + 0.5)
        self.data = from_numpy(pixels.astype(np.uint8))
        self.targets = from_numpy(labels[keep].astype(np.int64))
