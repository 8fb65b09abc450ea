"""compat.vision: IDX and CIFAR readers on small files made here (CIFAR batches written the
way Python 2's cPickle wrote the real ones), the datasets, and transforms against
hand-computed results."""

from __future__ import annotations

import gzip
import io
import os
import pickle
import struct

import numpy as np
import pytest

import compat as torch
from compat.vision import datasets, transforms
from compat.vision import functional as F
from compat.vision.formats import FormatError, read_cifar_batch, read_idx, read_pickle_safely

# --------------------------------------------------------------------------- IDX / MNIST


def idx_bytes(arr: np.ndarray) -> bytes:
    code = {np.uint8: 0x08, np.int32: 0x0C, np.float32: 0x0D}[arr.dtype.type]
    head = bytes([0, 0, code, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    return head + arr.astype(arr.dtype.newbyteorder(">")).tobytes()


def write_mnist(folder, images, labels, prefix="train", gz=True):
    os.makedirs(folder, exist_ok=True)
    for kind, arr in (("images-idx3", images), ("labels-idx1", labels)):
        data = idx_bytes(arr)
        name = os.path.join(folder, f"{prefix}-{kind}-ubyte")
        with open(name + (".gz" if gz else ""), "wb") as f:
            f.write(gzip.compress(data) if gz else data)


def test_read_idx_types_and_errors():
    for arr in (np.arange(24, dtype=np.uint8).reshape(2, 3, 4),
                np.array([-5, 70000], np.int32), np.array([[1.5, -2.0]], np.float32)):
        out = read_idx(io.BytesIO(idx_bytes(arr)))
        assert out.dtype == arr.dtype and out.dtype.isnative and (out == arr).all()
    assert (read_idx(io.BytesIO(gzip.compress(idx_bytes(np.arange(3, dtype=np.uint8)))))
            == [0, 1, 2]).all()
    with pytest.raises(FormatError, match="not an IDX file"):
        read_idx(io.BytesIO(b"\x1f\x00\x08\x01"))
    with pytest.raises(FormatError, match="truncated or corrupt"):
        read_idx(io.BytesIO(idx_bytes(np.arange(10, dtype=np.uint8))[:-1]))
    with pytest.raises(FormatError, match="header truncated"):
        read_idx(io.BytesIO(bytes([0, 0, 8, 3, 0, 0])))
    with pytest.raises(FormatError, match="broken gzip"):
        read_idx(io.BytesIO(gzip.compress(idx_bytes(np.arange(3, dtype=np.uint8)))[:-5]))


def test_mnist_layouts_and_samples(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (5, 28, 28), dtype=np.uint8)
    labels = np.array([3, 1, 4, 1, 5], np.uint8)
    write_mnist(tmp_path / "MNIST" / "raw", images, labels)             # torchvision's layout
    write_mnist(tmp_path / "MNIST" / "raw", images[:2], labels[:2], "t10k", gz=False)
    ds = datasets.MNIST(tmp_path, train=True, transform=transforms.ToTensor())
    assert len(ds) == 5 and ds.data.dtype == torch.uint8 and ds.targets.tolist() == [3, 1, 4,
                                                                                        1, 5]
    x, y = ds[2]
    assert y == 4 and x.shape == (1, 28, 28) and x.dtype == torch.float32
    assert np.allclose(x.numpy()[0], images[2] / 255)
    assert len(datasets.MNIST(str(tmp_path), train=False)) == 2
    img, _ = datasets.MNIST(tmp_path)[0]
    assert isinstance(img, np.ndarray) and (img == images[0]).all()
    flat = tmp_path / "flat"                                            # files directly in root
    write_mnist(flat, images, labels)
    fashion = datasets.FashionMNIST(flat, target_transform=lambda t: t * 10)
    assert fashion[0][1] == 30 and fashion.classes[0] == "T-shirt/top"


def test_missing_files_say_what_to_put_where(tmp_path):
    for download in (False, True):
        with pytest.raises(RuntimeError) as info:
            datasets.MNIST(tmp_path, download=download)
        msg = str(info.value)
        assert "train-images-idx3-ubyte.gz" in msg and "train-labels-idx1-ubyte.gz" in msg
        assert os.path.join(str(tmp_path), "MNIST", "raw") in msg and "does not download" in msg
    with pytest.raises(RuntimeError, match="cifar-10-batches-py.*data_batch_1"):
        datasets.CIFAR10(tmp_path, download=True)


# --------------------------------------------------------------------------- CIFAR


def py2_pickle(obj) -> bytes:
    """A protocol-2 pickle as Python 2's cPickle wrote the CIFAR batches: str as BINSTRING,
    numpy arrays through numpy.core.multiarray._reconstruct with a str data payload."""
    out = bytearray(b"\x80\x02")
    memo: dict[int, int] = {}

    def string(s: bytes):
        out.extend(b"U" + bytes([len(s)]) + s if len(s) < 256 else
                   b"T" + struct.pack("<i", len(s)) + s)

    def emit(o):
        if isinstance(o, dict):
            out.extend(b"}q\x01(")
            for k, v in o.items():
                emit(k)
                emit(v)
            out.extend(b"u")
        elif isinstance(o, list):
            out.extend(b"](")
            for v in o:
                emit(v)
            out.extend(b"e")
        elif isinstance(o, bytes):  # memoised: a repeated str object is a BINGET
            if id(o) in memo:
                out.extend(b"h" + bytes([memo[id(o)]]))
            else:
                string(o)
                memo[id(o)] = 100 + len(memo)
                out.extend(b"q" + bytes([memo[id(o)]]))
        elif isinstance(o, int):
            out.extend(b"J" + struct.pack("<i", o))
        elif isinstance(o, np.ndarray):
            out.extend(b"cnumpy.core.multiarray\n_reconstruct\nq\x02cnumpy\nndarray\nq\x03"
                       b"K\x00\x85U\x01b\x87Rq\x04(K\x01")
            out.extend(b"(" + b"".join(b"J" + struct.pack("<i", d) for d in o.shape) + b"t")
            out.extend(b"cnumpy\ndtype\nq\x05")
            string(o.dtype.str[1:].encode())
            out.extend(b"K\x00K\x01\x87Rq\x06(K\x03U\x01|NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xff"
                       b"K\x00tb\x89")
            string(o.tobytes())
            out.extend(b"tb")
        else:
            raise TypeError(type(o))

    emit(obj)
    return bytes(out) + b"."


def write_cifar(root, n_per_batch=3, train_batches=5):
    folder = os.path.join(root, "cifar-10-batches-py")
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(1)
    batches = {f"data_batch_{i}": i for i in range(1, train_batches + 1)}
    batches["test_batch"] = 0
    made = {}
    for name, seed in batches.items():
        data = rng.integers(0, 256, (n_per_batch, 3072), dtype=np.uint8)
        labels = [(seed + j) % 10 for j in range(n_per_batch)]
        made[name] = (data, labels)
        with open(os.path.join(folder, name), "wb") as f:
            f.write(py2_pickle({b"batch_label": b"batch " + name.encode(), b"labels": labels,
                                b"data": data, b"filenames": [b"a.png"] * n_per_batch}))
    with open(os.path.join(folder, "batches.meta"), "wb") as f:
        f.write(py2_pickle({b"label_names": [f"class{i}".encode() for i in range(10)],
                            b"num_vis": 3072}))
    return made


def test_cifar10_reads_python2_batches(tmp_path):
    made = write_cifar(tmp_path)
    train = datasets.CIFAR10(tmp_path, train=True)
    assert train.data.shape == (15, 32, 32, 3) and train.data.dtype == np.uint8
    assert train.targets[:3] == made["data_batch_1"][1] and train.classes[2] == "class2"
    first = made["data_batch_1"][0][0].reshape(3, 32, 32).transpose(1, 2, 0)
    img, label = train[0]
    assert (img == first).all() and label == made["data_batch_1"][1][0]
    test = datasets.CIFAR10(tmp_path, train=False, transform=transforms.ToTensor())
    x, _ = test[1]
    assert len(test) == 3 and x.shape == (3, 32, 32)
    assert np.allclose(x.numpy(), made["test_batch"][0][1].reshape(3, 32, 32) / 255)


def test_restricted_pickle_reader_accepts_python3_pickles():
    arr = np.arange(12, dtype=np.uint8).reshape(3, 4)
    for protocol in range(2, 6):
        out = read_cifar_batch(io.BytesIO(pickle.dumps(
            {"data": arr, "labels": [1, 2, 3], b"names": [b"x", "y"]}, protocol=protocol)))
        assert (out["data"] == arr).all() and out["labels"] == [1, 2, 3]
        assert out["names"] == [b"x", "y"]
    fortran = np.asfortranarray(np.arange(6, dtype=np.int32).reshape(2, 3))
    assert (read_pickle_safely(io.BytesIO(pickle.dumps(fortran, protocol=2))) == fortran).all()


class Payload:
    def __reduce__(self):
        return (os.system, ("echo pwned > pwned.txt",))


@pytest.mark.parametrize("blob", [
    pickle.dumps({"data": Payload()}, protocol=2),
    pickle.dumps({"data": Payload()}, protocol=4),
    pickle.dumps(np.array([1, "a"], dtype=object)),
    pickle.dumps({"data": {1, 2}}),                          # a set: an opcode CIFAR never uses
    pickle.dumps({"k": np.zeros(2, dtype="U3")}),
], ids=["os.system p2", "os.system p4", "object array", "set", "str array"])
def test_restricted_pickle_reader_refuses_anything_else(blob, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FormatError, match="refusing"):
        read_pickle_safely(io.BytesIO(blob))
    assert not os.path.exists("pwned.txt")


def test_restricted_pickle_reader_on_truncated_and_malformed_input():
    good = py2_pickle({b"data": np.zeros((2, 3), np.uint8), b"labels": [1, 2]})
    for cut in (1, 10, 60, len(good) - 1):
        with pytest.raises(FormatError):
            read_pickle_safely(io.BytesIO(good[:cut]))
    lying = good.replace(b"J\x02\x00\x00\x00J\x03\x00\x00\x00", b"J\x02\x00\x00\x00J\x09\x00"
                                                                 b"\x00\x00")
    with pytest.raises(FormatError, match="does not match"):
        read_pickle_safely(io.BytesIO(lying))
    with pytest.raises(FormatError, match="a CIFAR batch is a dict"):
        read_cifar_batch(io.BytesIO(pickle.dumps([1, 2])))


# --------------------------------------------------------------------------- Digits


def test_digits_split_is_fixed_and_real():
    train, test = datasets.Digits(train=True), datasets.Digits(root="ignored", train=False)
    assert (len(train), len(test)) == (1438, 359)
    assert train.data.shape == (1438, 8, 8) and train.data.dtype == torch.uint8
    assert sorted(set(test.targets.tolist())) == list(range(10))
    assert int(train.data.numpy().max()) == 255 and int(train.data.numpy().min()) == 0
    again = datasets.Digits(train=False)
    assert (again.data.numpy() == test.data.numpy()).all()
    x, y = datasets.Digits(transform=transforms.ToTensor())[0]
    assert x.shape == (1, 8, 8) and 0 <= x.numpy().min() and x.numpy().max() <= 1
    assert isinstance(y, int)


# --------------------------------------------------------------------------- transforms


def test_to_tensor_and_normalize():
    gray = np.array([[0, 51], [102, 255]], np.uint8)
    t = transforms.ToTensor()(gray)
    assert t.shape == (1, 2, 2) and t.dtype == torch.float32
    assert np.allclose(t.numpy(), [[[0, 0.2], [0.4, 1.0]]])
    rgb = np.arange(12, dtype=np.uint8).reshape(2, 2, 3)
    assert transforms.ToTensor()(rgb).numpy()[2, 1, 0] == np.float32(rgb[1, 0, 2] / 255)
    assert transforms.ToTensor()(np.ones((2, 2), np.float64)).dtype == torch.float64
    with pytest.raises(TypeError, match="pic should be PIL Image or ndarray"):
        transforms.ToTensor()(t)
    norm = transforms.Normalize((0.5, 0.25), (0.5, 2.0))
    x = torch.tensor(np.array([[[1.0]], [[0.25]]], np.float32))
    assert norm(x).tolist() == [[[1.0]], [[0.0]]] and x.tolist() == [[[1.0]], [[0.25]]]
    assert transforms.Normalize((1.0, 1.0), (1.0, 1.0), inplace=True)(x) is x
    assert x.tolist() == [[[0.0]], [[-0.75]]]
    with pytest.raises(ValueError, match="std evaluated to zero"):
        transforms.Normalize((0.0,), (0.0,))(x)
    with pytest.raises(TypeError, match="put ToTensor"):
        norm(gray)
    with pytest.raises(TypeError, match="float tensor"):
        norm(torch.tensor(np.zeros((2, 1, 1), np.uint8)))


def test_flip_rotation_crop_resize_by_hand():
    img = np.arange(16, dtype=np.uint8).reshape(4, 4)
    assert (transforms.RandomHorizontalFlip(p=1.0)(img) == img[:, ::-1]).all()
    assert transforms.RandomHorizontalFlip(p=0.0)(img) is img
    rot = transforms.RandomRotation((90, 90))
    assert (rot(img) == np.rot90(img)).all()
    assert (transforms.RandomRotation((-90, -90))(img) == np.rot90(img, -1)).all()
    # 45 degrees about the centre, nearest, zero fill (worked out on paper)
    assert F.rotate(img, 45).tolist() == [[0, 2, 7, 0], [1, 6, 10, 11], [4, 9, 10, 14],
                                          [0, 8, 13, 0]]
    wide = np.zeros((5, 7, 3), np.uint8)
    assert F.rotate(wide, 90, expand=True).shape == (7, 5, 3)
    # padding=1 with fill 9, crop the full padded size: nothing random left
    padded = transforms.RandomCrop(6, padding=1, fill=9)(img)
    assert padded.shape == (6, 6) and (padded[0] == 9).all() and (padded[1:5, 1:5] == img).all()
    assert F.pad(np.array([[1, 2, 3]]), (2, 0), padding_mode="reflect").tolist() == [
        [3, 2, 1, 2, 3, 2, 1]]
    assert transforms.RandomCrop(3, pad_if_needed=True)(np.ones((2, 2))).shape == (3, 3)
    with pytest.raises(ValueError, match="larger than input image size"):
        transforms.RandomCrop(5)(img)
    # bilinear upsampling (align_corners=False) and the smaller edge rule
    up = transforms.Resize((1, 4))(np.array([[0.0, 8.0]], np.float32))
    assert up.tolist() == [[0.0, 2.0, 6.0, 8.0]]
    assert transforms.Resize(2)(np.zeros((4, 8), np.uint8)).shape == (2, 4)
    assert transforms.Resize(2, max_size=3)(np.zeros((4, 8), np.uint8)).shape == (1, 3)
    down = transforms.Resize((2, 2))(np.arange(16, dtype=np.float32).reshape(4, 4))
    assert np.allclose(down, [[25 / 7, 36 / 7], [69 / 7, 80 / 7]])  # triangle filter, width 2
    near = transforms.Resize((2, 2), interpolation="nearest")(img)
    assert near.tolist() == [[5, 7], [13, 15]]


def test_tensor_images_keep_their_kind_and_layout():
    chw = torch.tensor(np.arange(2 * 3 * 3, dtype=np.float32).reshape(2, 3, 3))
    flipped = transforms.RandomHorizontalFlip(p=1.0)(chw)
    assert isinstance(flipped, torch.Tensor) and flipped.numpy().tolist() == chw.numpy()[
        :, :, ::-1].tolist()
    rotated = transforms.RandomRotation((90, 90))(chw)
    assert rotated.numpy().tolist() == np.rot90(chw.numpy(), axes=(1, 2)).tolist()
    cropped = transforms.RandomCrop(2)(chw)
    assert cropped.shape == (2, 2, 2)
    assert transforms.Resize((6, 6))(chw).shape == (2, 6, 6)


def test_random_transforms_follow_manual_seed():
    pipeline = transforms.Compose([transforms.RandomCrop(6, padding=2),
                                   transforms.RandomHorizontalFlip(),
                                   transforms.RandomRotation(30), transforms.ToTensor(),
                                   transforms.Lambda(lambda t: t * 2)])
    img = np.random.default_rng(0).integers(0, 256, (8, 8), dtype=np.uint8)
    torch.manual_seed(0)
    first = [pipeline(img).numpy() for _ in range(6)]
    torch.manual_seed(0)
    again = [pipeline(img).numpy() for _ in range(6)]
    assert all((a == b).all() for a, b in zip(first, again))
    assert any((a != first[0]).any() for a in first[1:])
    torch.manual_seed(1)
    flips = [transforms.RandomHorizontalFlip()(img) is img for _ in range(200)]
    assert 60 < sum(flips) < 140
    assert "RandomCrop" in repr(pipeline)


def test_pil_images():
    Image = pytest.importorskip("PIL.Image")
    pic = Image.fromarray(np.arange(12, dtype=np.uint8).reshape(3, 4))
    flipped = transforms.RandomHorizontalFlip(p=1.0)(pic)
    assert isinstance(flipped, Image.Image) and flipped.mode == "L"
    assert (np.asarray(flipped) == np.asarray(pic)[:, ::-1]).all()
    t = transforms.ToTensor()(Image.fromarray(np.zeros((2, 3, 3), np.uint8)))
    assert t.shape == (3, 2, 3)
    assert transforms.Resize((6, 8))(pic).size == (8, 6)
