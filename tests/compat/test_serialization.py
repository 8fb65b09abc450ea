"""compat.save / compat.load: round trips of every supported type, interop with the
safetensors package both ways, atomic writes, map_location, and clean errors for
truncated, corrupt and hostile files."""

from __future__ import annotations

import io
import json
import math
import os
import pickle
import struct
import zipfile

import numpy as np
import pytest
import safetensors.numpy

import compat as torch
from compat.serialization import SerializationError


def roundtrip(obj, **load_kw):
    buf = io.BytesIO()
    torch.save(obj, buf)
    buf.seek(0)
    return torch.load(buf, **load_kw)


def header_and_body(data: bytes):
    n = struct.unpack("<Q", data[:8])[0]
    return json.loads(data[8:8 + n]), data[8 + n:]


def rebuild(header: dict, body: bytes) -> bytes:
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + body


def test_round_trip_of_every_listed_type():
    w = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    obj = {
        "state": {0: {"momentum_buffer": w, "step": 3}, 1: {"momentum_buffer": None}},
        "param_groups": [{"lr": 0.1, "betas": (0.9, 0.999), "params": [0, 1],
                          "nesterov": False, "name": "body"}],
        "scalars": (None, True, 7, -2.5, "x", 10**30, float("inf"), float("nan")),
        "tensors": [torch.tensor(3), torch.tensor([True, False]),
                    torch.tensor(np.zeros((0, 3), np.float64)),
                    torch.tensor(np.arange(4, dtype=np.uint8)),
                    torch.tensor(np.ones(2, np.float16)),
                    torch.tensor(np.arange(3, dtype=np.int32))],
        "array": np.arange(6).reshape(2, 3),
        "empty": ({}, [], ()),
    }
    out = roundtrip(obj)
    assert list(out) == list(obj) and list(out["state"]) == [0, 1]
    assert out["state"][0]["momentum_buffer"].tolist() == w.tolist()
    assert out["state"][0]["step"] == 3 and out["state"][1]["momentum_buffer"] is None
    assert out["param_groups"][0]["betas"] == (0.9, 0.999)
    s = out["scalars"]
    assert s[:6] == (None, True, 7, -2.5, "x", 10**30) and s[6] == math.inf and math.isnan(s[7])
    assert type(s[1]) is bool and type(s[2]) is int
    for a, b in zip(obj["tensors"], out["tensors"]):
        assert a.dtype == b.dtype and a.shape == b.shape and a.tolist() == b.tolist()
    assert isinstance(out["array"], np.ndarray) and out["array"].tolist() == [[0, 1, 2],
                                                                               [3, 4, 5]]
    assert out["empty"] == ({}, [], ())
    clash = roundtrip({"a": {"b": torch.tensor([1])}, "a.b": torch.tensor([2])})
    assert clash["a"]["b"].tolist() == [1] and clash["a.b"].tolist() == [2]
    assert roundtrip(torch.tensor([1.5])).tolist() == [1.5]  # a bare tensor
    assert roundtrip([1, "a", None]) == [1, "a", None]


def test_tensor_details_survive():
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    shared = torch.tensor([5, 6])
    out = roundtrip({"w": w, "a": shared, "b": [shared]})
    assert out["w"].requires_grad and out["w"].is_leaf
    assert out["a"] is out["b"][0]  # one tensor saved twice is stored once
    view = torch.tensor(np.arange(12, dtype=np.float32).reshape(3, 4)).t()
    assert roundtrip(view).tolist() == view.tolist()  # non-contiguous data
    loaded = roundtrip({"x": torch.tensor([1.0])})["x"]
    loaded += 1  # loaded tensors are writable, not views of the file's bytes
    assert loaded.tolist() == [2.0]


def test_refuses_what_it_cannot_store():
    class Thing:
        pass

    with pytest.raises(SerializationError, match="cannot store a Thing at a.0"):
        torch.save({"a": [Thing()]}, io.BytesIO())
    with pytest.raises(SerializationError, match="keys must be str or int"):
        torch.save({(1, 2): 3}, io.BytesIO())
    loop = []
    loop.append(loop)
    with pytest.raises(SerializationError, match="nested too deeply"):
        torch.save(loop, io.BytesIO())


def test_flat_state_dict_reads_in_safetensors_and_back(tmp_path):
    sd = {"fc.weight": torch.tensor(np.arange(6, dtype=np.float32).reshape(2, 3)),
          "fc.bias": torch.tensor([0.5, -0.5]), "bn.num_batches_tracked": torch.tensor(4)}
    path = tmp_path / "model.safetensors"
    torch.save(sd, path)
    other = safetensors.numpy.load_file(str(path))
    assert set(other) == set(sd)
    for k in sd:
        assert other[k].dtype == sd[k].numpy().dtype and other[k].tolist() == sd[k].tolist()
    # and a file from the safetensors package loads as a dict of Tensors
    theirs = tmp_path / "theirs.safetensors"
    safetensors.numpy.save_file({"a": np.arange(3, dtype=np.int64),
                                 "b": np.ones((2, 2), np.float32)}, str(theirs))
    out = torch.load(theirs)
    assert isinstance(out["a"], torch.Tensor) and out["a"].tolist() == [0, 1, 2]
    assert out["b"].dtype == torch.float32 and out["b"].shape == (2, 2)


def test_bfloat16_from_other_writers_widens_to_float32():
    values = np.array([1.0, -2.5, 3.140625], np.float32)
    bf16 = (values.view(np.uint32) >> 16).astype("<u2").tobytes()
    header = {"w": {"dtype": "BF16", "shape": [3], "data_offsets": [0, 6]}}
    out = torch.load(io.BytesIO(rebuild(header, bf16)))
    assert out["w"].dtype == torch.float32 and out["w"].tolist() == values.tolist()


def test_writes_are_atomic(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.pt"
    torch.save({"v": 1}, path)
    before = path.read_bytes()

    def crash(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(OSError, match="disk full"):
        torch.save({"v": 2}, path)
    monkeypatch.undo()
    assert path.read_bytes() == before and torch.load(path) == {"v": 1}
    assert os.listdir(tmp_path) == ["ckpt.pt"]  # the temporary file is gone
    torch.save({"v": 3}, str(path))
    assert torch.load(str(path)) == {"v": 3}
    with pytest.raises(SerializationError, match="Parent directory .* does not exist"):
        torch.save({}, tmp_path / "missing" / "x.pt")


def test_map_location():
    obj = {"w": torch.tensor([1.0])}
    assert roundtrip(obj, map_location="cpu")["w"].device == torch.device("cpu")
    assert roundtrip(obj, map_location=torch.device("cpu"))["w"].tolist() == [1.0]
    assert roundtrip(obj, map_location={"cuda:0": "cpu"})["w"].tolist() == [1.0]
    seen = []
    out = roundtrip(obj, map_location=lambda t, loc: seen.append(loc) or t * 2)
    assert seen == ["cpu"] and out["w"].tolist() == [2.0]
    # a tensor saved on a GPU: without one, loading asks for map_location
    data = io.BytesIO()
    torch.save(obj, data)
    header, body = header_and_body(data.getvalue())
    meta = json.loads(header["__metadata__"]["compat"])
    meta["tree"]["dict"][0][1]["device"] = "cuda:0"
    header["__metadata__"]["compat"] = json.dumps(meta)
    gpu_file = rebuild(header, body)
    if not torch.cuda.is_available():
        with pytest.raises(SerializationError, match="map_location='cpu'"):
            torch.load(io.BytesIO(gpu_file))
    assert torch.load(io.BytesIO(gpu_file), map_location="cpu")["w"].tolist() == [1.0]
    assert torch.load(io.BytesIO(gpu_file), map_location={"cuda:0": "cpu"})["w"].tolist() == [
        1.0]
    with pytest.raises(TypeError, match="map_location"):
        roundtrip(obj, map_location=3)


def good_file():
    buf = io.BytesIO()
    torch.save({"a": torch.tensor([1.0, 2.0]), "b": [torch.tensor([3])]}, buf)
    return buf.getvalue()


def load_bytes(data):
    return torch.load(io.BytesIO(data))


def test_truncated_and_corrupt_files_raise_clean_errors():
    data = good_file()
    for cut in (0, 4, 8, 20, len(data) - 1):
        with pytest.raises(SerializationError, match="not a valid safetensors file"):
            load_bytes(data[:cut])
    flipped = bytearray(data)
    flipped[12] ^= 0xFF  # inside the JSON header
    with pytest.raises(SerializationError):
        load_bytes(bytes(flipped))
    with pytest.raises(SerializationError):
        load_bytes(data + b"extra")


@pytest.mark.parametrize("case", ["huge header", "offsets out of range", "overlapping",
                                  "bad dtype", "shape mismatch"])
def test_hostile_headers(case):
    header, body = header_and_body(good_file())
    name = next(k for k in header if k != "__metadata__")
    if case == "huge header":
        data = struct.pack("<Q", 2**62) + b"{}"
    else:
        entry = header[name]
        if case == "offsets out of range":
            entry["data_offsets"] = [0, 10**12]
        elif case == "overlapping":
            other = next(k for k in header if k not in ("__metadata__", name))
            header[other]["data_offsets"] = entry["data_offsets"]
        elif case == "bad dtype":
            entry["dtype"] = "F128; import os"
        else:
            entry["shape"] = [1000, 1000]
        data = rebuild(header, body)
    with pytest.raises(SerializationError, match="not a valid safetensors file"):
        load_bytes(data)


@pytest.mark.parametrize("tree", [
    {"tensor": "missing"}, {"dict": [[1.5, 2]]}, {"exec": "print('pwned')"}, {"tuple": 3},
    {"float": "1e309x"}, [{"dict": 5}],
])
def test_corrupt_structure_metadata(tree):
    header, body = header_and_body(good_file())
    header["__metadata__"]["compat"] = json.dumps({"version": 1, "tree": tree})
    with pytest.raises(SerializationError, match="structure metadata .* is corrupt"):
        load_bytes(rebuild(header, body))


def test_deeply_nested_metadata_and_other_versions():
    header, body = header_and_body(good_file())
    header["__metadata__"]["compat"] = '{"version":1,"tree":' + "[" * 100000 + "]" * 100000 + "}"
    with pytest.raises(SerializationError, match="corrupt"):
        load_bytes(rebuild(header, body))
    header["__metadata__"]["compat"] = json.dumps({"version": 99, "tree": None})
    with pytest.raises(SerializationError, match="another compat version"):
        load_bytes(rebuild(header, body))
    header["__metadata__"]["compat"] = json.dumps({"version": 1, "tree": {"dict": []}})
    with pytest.raises(SerializationError, match="not referenced"):
        load_bytes(rebuild(header, body))


class Boom:
    def __reduce__(self):
        return (os.system, ("echo pwned > should_not_exist",))


def test_pickle_and_torch_zip_payloads_are_refused_without_running(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SerializationError, match="looks like a Python pickle"):
        load_bytes(pickle.dumps(Boom()))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("archive/data.pkl", pickle.dumps(Boom()))
    with pytest.raises(SerializationError, match="zip archive"):
        load_bytes(buf.getvalue())
    assert not os.path.exists("should_not_exist")
