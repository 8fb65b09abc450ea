"""Writing LLVM IR text: how dtypes map to LLVM types, exact constants, a ``Builder``
for one function's instructions, counted loops, and element loads/stores.

>>> b = Builder()
>>> x = load(b, "%p0", F32, "3")
>>> b.lines[-1]
'  %v2 = load float, ptr %v1'
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

# --------------------------------------------------------------------------- types


@dataclass(frozen=True)
class LType:
    """How a numpy dtype lives in LLVM: ``reg`` in registers, ``mem`` in memory."""

    dtype: np.dtype
    reg: str
    mem: str
    kind: str  # "f" float, "i" signed, "u" unsigned, "b" bool
    bits: int


def ltype(dtype) -> LType:
    dt = np.dtype(dtype)
    if dt.kind == "b":
        return LType(dt, "i1", "i8", "b", 1)
    if dt.kind == "f":
        # half arithmetic is promoted to float and rounded back after every operation by
        # LLVM, which is what numpy does for float16
        names = {2: "half", 4: "float", 8: "double"}
        if dt.itemsize not in names:
            raise TypeError(f"llvm backend: {dt.name} arrays are not supported; cast to "
                            "float32 or float64")
        return LType(dt, names[dt.itemsize], names[dt.itemsize], "f", dt.itemsize * 8)
    if dt.kind in "iu":
        ty = f"i{dt.itemsize * 8}"
        return LType(dt, ty, ty, dt.kind, dt.itemsize * 8)
    raise TypeError(f"llvm backend: {dt.name} arrays are not supported")


F32, F64, I64, BOOL = ltype(np.float32), ltype(np.float64), ltype(np.int64), ltype(np.bool_)


def const(value, t: LType) -> str:
    """An exact constant of type ``t`` (floats as the hex of their double value)."""
    if t.kind == "f":
        v = float(np.asarray(value, t.dtype))
        return f"0x{struct.unpack('<Q', struct.pack('<d', v))[0]:016X}"
    if t.kind == "b":
        return "true" if bool(value) else "false"
    v = int(np.asarray(value).astype(t.dtype))
    return str(v)


ALIGN = 64  # bytes: buffers in an arena start on a cache line (and an AVX-512 vector)


def round_up(n: int) -> int:
    """``n`` bytes rounded up to whole ``ALIGN`` blocks (at least one)."""
    return -(-max(int(n), 1) // ALIGN) * ALIGN


def nbytes(aval) -> int:
    return int(np.prod(aval.shape, dtype=np.int64)) * aval.dtype.itemsize


class Builder:
    """The instructions of one function, with fresh value names."""

    def __init__(self, prefix="v"):
        self.lines: list[str] = []
        self.entry: list[str] = []  # allocas: in the entry block, so they become registers
        self.n = 0
        self.prefix = prefix
        self.intrinsics: set[str] = set()  # declarations the module needs
        self.math: set[tuple[str, str]] = set()  # (name, dtype) of mathlib functions used

    def fresh(self, stem=None) -> str:
        self.n += 1
        return f"%{stem or self.prefix}{self.n}"

    def emit(self, text: str) -> str:
        name = self.fresh()
        self.lines.append(f"  {name} = {text}")
        return name

    def do(self, text: str) -> None:
        self.lines.append(f"  {text}")

    def alloca(self, ty: str) -> str:
        name = self.fresh("a")
        self.entry.append(f"  {name} = alloca {ty}")
        return name

    def body(self) -> str:
        """The function body: entry-block allocas, then the instructions."""
        return "\n".join(["entry:"] + self.entry + self.lines)

    def label(self, name: str) -> None:
        self.lines.append(f"{name}:")

    def call(self, ret: str, fn: str, args: list[tuple[str, str]]) -> str:
        return self.emit(f"call {ret} @{fn}(" + ", ".join(f"{t} {v}" for t, v in args) + ")")

    def intrinsic(self, name: str, ret: str, args: list[tuple[str, str]]) -> str:
        self.intrinsics.add(f"declare {ret} @{name}(" + ", ".join(t for t, _ in args) + ")")
        return self.call(ret, name, args)

    def select(self, cond: str, ty: str, a: str, b: str) -> str:
        return self.emit(f"select i1 {cond}, {ty} {a}, {ty} {b}")



LOOP_HINT = "!fl.interleave."  # + count: replaced by a numbered metadata node


class Loops:
    """Nested counted loops with their counters in allocas (LLVM promotes them)."""

    def __init__(self, b: Builder, tag: str):
        self.b, self.tag, self.stack = b, tag, []

    def open(self, n, start="0") -> str:
        """Start a loop over ``range(start, n)`` (constants or values); returns the index
        value inside it."""
        b, k = self.b, len(self.stack)
        var = b.alloca("i64")
        b.do(f"store i64 {start}, ptr {var}")
        head, body, done = (f"{self.tag}h{k}_{b.n}", f"{self.tag}b{k}_{b.n}",
                            f"{self.tag}e{k}_{b.n}")
        b.do(f"br label %{head}")
        b.label(head)
        i = b.emit(f"load i64, ptr {var}")
        c = b.emit(f"icmp slt i64 {i}, {n}")
        b.do(f"br i1 {c}, label %{body}, label %{done}")
        b.label(body)
        self.stack.append((var, i, head, done))
        return i

    def close(self, interleave: int = 0) -> None:
        """End the innermost open loop; ``interleave`` asks the vectorizer to run that
        many vector iterations side by side (``LOOP_HINT`` placeholders in the text are
        numbered when the function joins its module)."""
        b = self.b
        var, i, head, done = self.stack.pop()
        nxt = b.emit(f"add i64 {i}, 1")
        b.do(f"store i64 {nxt}, ptr {var}")
        if interleave:
            b.do(f"br label %{head}, !llvm.loop {LOOP_HINT}{interleave}")
        else:
            b.do(f"br label %{head}")
        b.label(done)

    def nest(self, sizes) -> list[str]:
        return [self.open(n) for n in sizes]

    def close_all(self) -> None:
        while self.stack:
            self.close()


def index(b: Builder, idx, strides, offset: int = 0) -> str:
    """The element index ``offset + sum(idx[d] * strides[d])`` (constant strides)."""
    acc = str(int(offset))
    for i, s in zip(idx, strides):
        s = int(s)
        if s == 0:
            continue
        term = i if s == 1 else b.emit(f"mul i64 {i}, {s}")
        acc = term if acc == "0" else b.emit(f"add i64 {acc}, {term}")
    return acc


def element(b: Builder, ptr: str, t: LType, i: str) -> str:
    return b.emit(f"getelementptr {t.mem}, ptr {ptr}, i64 {i}")


def load(b: Builder, ptr: str, t: LType, i: str) -> str:
    v = b.emit(f"load {t.mem}, ptr {element(b, ptr, t, i)}")
    return b.emit(f"trunc i8 {v} to i1") if t.kind == "b" else v


def store(b: Builder, ptr: str, t: LType, i: str, value: str) -> None:
    if t.kind == "b":
        value = b.emit(f"zext i1 {value} to i8")
    b.do(f"store {t.mem} {value}, ptr {element(b, ptr, t, i)}")


def function(name: str, params: dict, b: Builder, noalias: bool = True) -> str:
    """``define internal void @name(ptr ...)`` around ``b``'s body; the parameters are
    ``params``' values (``%p0``, ``%p1``...) in order."""
    ptrs = sorted(set(params.values()), key=lambda p: int(p[2:]))
    attr = "ptr noalias" if noalias else "ptr"
    return (f"define internal void @{name}(" + ", ".join(f"{attr} {p}" for p in ptrs)
            + ") #0 {\n" + b.body() + "\n  ret void\n}\n")
