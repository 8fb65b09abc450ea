"""A blocked matrix product written in LLVM IR: BLIS's loop structure around a register
micro-kernel, compiled once per machine into a library module that programs call.

``define(dtype, vector_bytes)`` returns a module defining::

    void fl_gemm_<f32|f64>(i64 m, i64 n, i64 k, ptr a, i64 sam, i64 sak,
                           ptr b, i64 sbk, i64 sbn, ptr c, i64 ldc, ptr scratch)

    C[i, j] = sum_p A[i, p] * B[p, j]      i < m, j < n, p < k

with ``A[i, p]`` at element ``a + i*sam + p*sak`` and ``B[p, j]`` at ``b + p*sbk + j*sbn``
(any strides: transposed, broadcast (0) or reversed operands need no copy of their own),
``C`` row-major with leading dimension ``ldc``, and ``scratch`` holding at least
``scratch_bytes(m, n, k, dtype, vector_bytes)`` bytes for the packed blocks; and::

    void fl_gemm_<f32|f64>_part(ptr block, i64 lo, i64 hi, i64 slot)

the task the program's ``fl_parallel`` runs when threads share the same product:
``block`` holds the arguments above, ``pieces`` and ``axis`` at the offsets
``PART_FIELDS`` lists, 8 bytes each; the call computes the rows (``axis`` 0) or columns
(1) of C in micro-tiles ``lo <= t < hi`` (``MR`` rows or ``NR`` columns each; C is cut
into ``pieces`` such ranges, ``PIECES_PER_THREAD`` per thread, so a thread that starts
late or shares its core does less), packing into scratch region ``slot``, one per
thread (``scratch_bytes(..., threads)`` covers them all). Every element of C is summed
in the same order whatever the cut, so results do not depend on the number of threads.
``split`` picks the axis and the most threads worth starting.

The loops (outer to inner): columns of C in blocks of ``nc``; the sum in blocks of
``kc`` (balanced, so no sliver is left for last), whose rows of B are packed into
panels of ``NR`` columns (the panel the micro-kernel reads, ~32 KiB, stays in L1); rows
of C in blocks of ``mc``, whose A block is packed into panels of ``MR`` rows (L2); then
every ``MR x NR`` tile of C. The micro-kernel keeps the tile in ``MR * 2`` vector
registers and adds one rank-1 product per step of the sum (``MR`` broadcasts, two vector
loads, ``2 * MR`` fused multiply-adds); the first block of the sum stores the tile, later
ones add to it. Packing pads partial panels with zeros, so only the stores of edge tiles
differ. The sum of each element is reassociated (per ``kc`` block, then across blocks),
as any GEMM does.

>>> text = define("float32", 64)
>>> "define void @fl_gemm_f32(" in text
True
>>> scratch_bytes(256, 512, 784, "float32", 64) > 0
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DIRECT_B_BYTES = 64 * 1024  # a B this small with contiguous rows is not packed
MR = 12  # rows of a micro-tile: 2 * MR accumulators + 2 B vectors + 1 broadcast <= 32 regs
# a thread per this many floating-point operations at most: a thread costs ~25 us to
# start (2-core VM), the caller waits only for pieces, not threads. Two threads vs one
# (measured): 128x128x256 0.84x, 128x256x256 1.15x, 256^3 1.47x, 128x256x512 1.49x,
# W3's products 1.76-1.88x (~420-460 GFLOP/s), 1024^3 1.95x
FLOPS_PER_THREAD = 1 << 23
MAX_THREADS = 64  # fl_parallel runs at most this many threads
# C is cut finer than one piece per thread, so a late or descheduled thread does less
# (on an idle machine 1, 2, 4 or 8 per thread time within 3% on W3's products)
PIECES_PER_THREAD = 4
# the block ``fl_gemm_*_part`` reads: one 8-byte field each, in this order
PART_FIELDS = ("m", "n", "k", "a", "sam", "sak", "b", "sbk", "sbn", "c", "ldc", "scratch",
               "pieces", "axis")


@dataclass(frozen=True)
class Blocking:
    """Tile and block sizes for one element type on one vector width."""

    ty: str     # LLVM element type
    size: int   # bytes per element
    vl: int     # elements per vector register
    nr: int     # columns of a micro-tile (two vectors)
    kc: int     # rows of B per packed block (the sum's block)
    mc: int     # rows of A per packed block
    nc: int     # columns of B per packed block

    @property
    def key(self) -> str:
        return "f32" if self.size == 4 else "f64"


def blocking(dtype, vector_bytes: int) -> Blocking:
    """Block sizes for ``dtype`` with vectors of ``vector_bytes`` (16, 32 or 64)."""
    dt = np.dtype(dtype)
    if dt not in (np.float32, np.float64):
        raise TypeError(f"gemm: {dt.name} is not a float32/float64 type")
    size = dt.itemsize
    vl = max(vector_bytes // size, 2)
    nr = 2 * vl
    kc = 32 * 1024 // (nr * size)  # a B panel of kc x nr fills ~32 KiB of L1
    mc = MR * max(1, (256 * 1024 // (kc * size)) // MR)  # an A block of ~256 KiB (L2)
    nc = nr * max(1, 4096 // nr)
    return Blocking("float" if size == 4 else "double", size, vl, nr, kc, mc, nc)


def _sum_blocks(k: int, bl: Blocking) -> tuple[int, int]:
    """(blocks, rows per block) splitting the sum of ``k`` terms evenly."""
    blocks = max(1, -(-k // bl.kc))
    return blocks, -(-k // blocks)


def _region(m: int, n: int, k: int, bl: Blocking) -> int:
    """Bytes of packed blocks for one ``m x k`` by ``k x n`` product (whole cache lines)."""
    _, kcb = _sum_blocks(k, bl)
    bp = kcb * -(-min(n, bl.nc) // bl.nr) * bl.nr
    ap = -(-min(m, bl.mc) // MR) * MR * kcb
    return -(-(bp + ap) * bl.size // 64) * 64


def tiles(m: int, n: int, axis: int, dtype, vector_bytes: int) -> tuple[int, int]:
    """(count, size): the micro-tiles along ``axis`` of an ``m x n`` C (rows of ``MR``,
    or columns of ``NR``), the units ``fl_gemm_*_part`` is given ranges of.

    >>> tiles(256, 512, 1, "float32", 64)
    (16, 32)
    """
    size, unit = (n, blocking(dtype, vector_bytes).nr) if axis else (m, MR)
    return -(-size // unit), unit


def pieces(count: int, threads: int) -> int:
    """How many ranges ``count`` tiles are cut into for ``threads`` threads.

    >>> pieces(16, 2)
    8
    """
    return max(1, min(count, PIECES_PER_THREAD * max(threads, 1)))


def scratch_bytes(m: int, n: int, k: int, dtype, vector_bytes: int, threads: int = 1,
                  axis: int = 1) -> int:
    """Bytes of scratch ``fl_gemm`` needs for an ``m x k`` by ``k x n`` product, or
    ``fl_gemm_*_part`` run by up to ``threads`` threads sharing it along ``axis``."""
    bl = blocking(dtype, vector_bytes)
    if k <= 0:  # nothing is packed
        return 0
    need = _region(m, n, k, bl)
    count, unit = tiles(m, n, axis, dtype, vector_bytes)
    for t in range(2, threads + 1):
        w = -(-count // pieces(count, t)) * unit  # the widest range
        need = max(need, t * (_region(m, min(w, n), k, bl) if axis
                              else _region(min(w, m), n, k, bl)))
    return need


def split(m: int, n: int, k: int, a_strides, b_strides, dtype,
          vector_bytes: int) -> tuple[int, int]:
    """(axis, threads): the axis of C (0 rows, 1 columns) whose pieces threads share for
    an ``m x k`` by ``k x n`` product with these element strides, and the most threads
    worth starting for it (1: run it on one thread). Columns, unless that would pack A
    once per piece (A has no unit stride) where cutting rows would not pack B more often
    (a small B read in place): each piece reads all of the other operand.

    >>> split(256, 512, 784, (784, 1), (512, 1), "float32", 64)
    (1, 16)
    >>> split(64, 64, 64, (64, 1), (64, 1), "float32", 64)
    (1, 1)
    """
    bl = blocking(dtype, vector_bytes)
    (sam, sak), (_, sbn) = a_strides, b_strides
    a_packed = m * k if 1 not in (sam, sak) else 0
    b_packed = 0 if sbn == 1 and k * n * bl.size <= DIRECT_B_BYTES else k * n
    axis = 1 if a_packed <= b_packed else 0
    units = [-(-m // MR), -(-n // bl.nr)]
    if units[axis] < 2:
        axis = 1 - axis
    cap = min(units[axis], 2 * m * n * k // FLOPS_PER_THREAD, MAX_THREADS)
    return axis, max(1, cap)


def symbol(dtype) -> str:
    """The name of the product function for ``dtype``.

    >>> symbol("float64")
    'fl_gemm_f64'
    """
    return f"fl_gemm_{'f32' if np.dtype(dtype).itemsize == 4 else 'f64'}"


def part_symbol(dtype) -> str:
    """The name of the function running pieces of a product (a ``fl_parallel`` task).

    >>> part_symbol("float32")
    'fl_gemm_f32_part'
    """
    return f"{symbol(dtype)}_part"


# --------------------------------------------------------------------------- IR text


class _F:
    """Lines of one function, with fresh names and counted loops over run-time bounds."""

    def __init__(self):
        self.lines: list[str] = []
        self.n = 0

    def v(self, text: str) -> str:
        self.n += 1
        name = f"%t{self.n}"
        self.lines.append(f"  {name} = {text}")
        return name

    def do(self, text: str) -> None:
        self.lines.append(f"  {text}")

    def label(self, name: str) -> None:
        self.lines.append(f"{name}:")

    def loop(self, count: str):
        """``for i in range(count)``: returns (i, close); ``close()`` ends the body."""
        self.n += 1
        tag = self.n
        pre, head, body, done = f"pre{tag}", f"head{tag}", f"body{tag}", f"done{tag}"
        self.do(f"br label %{pre}")
        self.label(pre)
        self.do(f"br label %{head}")
        self.label(head)
        i = f"%i{tag}"
        nxt = f"%inext{tag}"
        latch = f"latch{tag}"
        self.lines.append(f"  {i} = phi i64 [0, %{pre}], [{nxt}, %{latch}]")
        c = self.v(f"icmp slt i64 {i}, {count}")
        self.do(f"br i1 {c}, label %{body}, label %{done}")
        self.label(body)

        def close():
            self.do(f"br label %{latch}")
            self.label(latch)
            self.lines.append(f"  {nxt} = add i64 {i}, 1")
            self.do(f"br label %{head}")
            self.label(done)

        return i, close

    def splat_i64(self, x: str, n: int) -> str:
        one = self.v(f"insertelement <{n} x i64> poison, i64 {x}, i64 0")
        return self.v(f"shufflevector <{n} x i64> {one}, <{n} x i64> poison, "
                      f"<{n} x i32> zeroinitializer")

    def min(self, a: str, b: str) -> str:
        return self.v(f"call i64 @llvm.smin.i64(i64 {a}, i64 {b})")

    def gep(self, ty: str, p: str, off: str) -> str:
        return self.v(f"getelementptr {ty}, ptr {p}, i64 {off}")

    def mul(self, a: str, b) -> str:
        return self.v(f"mul i64 {a}, {b}")

    def add(self, a: str, b) -> str:
        return self.v(f"add i64 {a}, {b}")


def _micro_kernel(bl: Blocking) -> str:
    """``uk(ap, bp, kc, c, ldc, rows, cols, acc)``: C tile (+)= Ap panel x Bp panel."""
    t, vl = bl.ty, bl.vl
    vt = f"<{vl} x {t}>"
    nv = bl.nr // vl
    fma = f"@llvm.fma.v{vl}{'f32' if bl.size == 4 else 'f64'}"
    L = [f"define internal void @uk_{bl.key}(ptr noalias %ap, i64 %ars, i64 %aks, "
         "ptr noalias %bp, i64 %bks, i64 %kc, ptr noalias %c, i64 %ldc, i64 %rows, "
         "i64 %cols, i1 %acc) noinline nounwind {",
         "entry:"]
    # rows past ``rows`` (an edge tile) read the last real row again: A may be read
    # in place, where nothing follows its last row
    L.append("  %lastrow = sub i64 %rows, 1")
    for r in range(MR):
        L += [f"  %rr{r} = call i64 @llvm.smin.i64(i64 {r}, i64 %lastrow)",
              f"  %aro{r} = mul i64 %ars, %rr{r}"]
    L += ["  br label %loop", "loop:", "  %k = phi i64 [0, %entry], [%knext, %loop]"]
    for r in range(MR):
        for v in range(nv):
            L.append(f"  %acc{r}_{v} = phi {vt} [zeroinitializer, %entry], [%n{r}_{v}, %loop]")
    L.append("  %bo = mul i64 %k, %bks")
    for v in range(nv):
        L += [f"  %bo{v} = add i64 %bo, {v * vl}",
              f"  %bq{v} = getelementptr {t}, ptr %bp, i64 %bo{v}",
              f"  %b{v} = load {vt}, ptr %bq{v}, align {bl.size}"]
    L.append("  %ao = mul i64 %k, %aks")
    for r in range(MR):
        L += [f"  %ao{r} = add i64 %ao, %aro{r}",
              f"  %aq{r} = getelementptr {t}, ptr %ap, i64 %ao{r}",
              f"  %a{r} = load {t}, ptr %aq{r}, align {bl.size}",
              f"  %ai{r} = insertelement {vt} poison, {t} %a{r}, i64 0",
              f"  %as{r} = shufflevector {vt} %ai{r}, {vt} poison, <{vl} x i32> zeroinitializer"]
        for v in range(nv):
            L.append(f"  %n{r}_{v} = call {vt} {fma}({vt} %as{r}, {vt} %b{v}, {vt} %acc{r}_{v})")
    L += ["  %knext = add i64 %k, 1", "  %more = icmp slt i64 %knext, %kc",
          "  br i1 %more, label %loop, label %tile",
          "tile:",
          f"  %fr = icmp eq i64 %rows, {MR}", f"  %fc = icmp eq i64 %cols, {bl.nr}",
          "  %full = and i1 %fr, %fc", "  br i1 %full, label %fast, label %spill",
          "fast:"]
    for r in range(MR):
        L.append(f"  %ro{r} = mul i64 %ldc, {r}")
        for v in range(nv):
            L += [f"  %co{r}_{v} = add i64 %ro{r}, {v * vl}",
                  f"  %cq{r}_{v} = getelementptr {t}, ptr %c, i64 %co{r}_{v}",
                  f"  %old{r}_{v} = load {vt}, ptr %cq{r}_{v}, align {bl.size}",
                  f"  %sum{r}_{v} = fadd {vt} %old{r}_{v}, %n{r}_{v}",
                  f"  %w{r}_{v} = select i1 %acc, {vt} %sum{r}_{v}, {vt} %n{r}_{v}",
                  f"  store {vt} %w{r}_{v}, ptr %cq{r}_{v}, align {bl.size}"]
    L += ["  ret void", "spill:"]
    # an edge tile: rows < MR and/or cols < NR; masked vector stores on each valid row
    it = "i32" if bl.size == 4 else "i64"
    lanes = ", ".join(f"{it} {x}" for x in range(vl))
    L += [f"  %cl = trunc i64 %cols to {it}" if it == "i32" else "  %cl = add i64 %cols, 0",
          f"  %cli = insertelement <{vl} x {it}> poison, {it} %cl, i64 0",
          f"  %cls = shufflevector <{vl} x {it}> %cli, <{vl} x {it}> poison, "
          f"<{vl} x i32> zeroinitializer"]
    for v in range(nv):
        L += [f"  %lane{v} = add <{vl} x {it}> <{lanes}>, splat ({it} {v * vl})",
              f"  %mask{v} = icmp slt <{vl} x {it}> %lane{v}, %cls"]
    ms = f"@llvm.masked.store.v{vl}{'f32' if bl.size == 4 else 'f64'}.p0"
    ml = f"@llvm.masked.load.v{vl}{'f32' if bl.size == 4 else 'f64'}.p0"
    L.append("  br label %row0")
    for r in range(MR):
        L += [f"row{r}:", f"  %in{r} = icmp slt i64 {r}, %rows",
              f"  br i1 %in{r}, label %put{r}, label %end", f"put{r}:",
              f"  %sro{r} = mul i64 %ldc, {r}"]
        for v in range(nv):
            L += [f"  %so{r}_{v} = add i64 %sro{r}, {v * vl}",
                  f"  %sq{r}_{v} = getelementptr {t}, ptr %c, i64 %so{r}_{v}",
                  f"  %sold{r}_{v} = call {vt} {ml}(ptr %sq{r}_{v}, i32 {bl.size}, "
                  f"<{vl} x i1> %mask{v}, {vt} zeroinitializer)",
                  f"  %ssum{r}_{v} = fadd {vt} %sold{r}_{v}, %n{r}_{v}",
                  f"  %sw{r}_{v} = select i1 %acc, {vt} %ssum{r}_{v}, {vt} %n{r}_{v}",
                  f"  call void {ms}({vt} %sw{r}_{v}, ptr %sq{r}_{v}, i32 {bl.size}, "
                  f"<{vl} x i1> %mask{v})"]
        L.append(f"  br label %row{r + 1}" if r + 1 < MR else "  br label %end")
    L += ["end:", "  ret void", "}"]
    return "\n".join(L)


def _pack_b(bl: Blocking) -> str:
    """``packb(b, sk, sn, kc, nc, dst)``: rows p < kc, columns j < nc of B into panels of
    ``nr`` columns, ``dst[(jp*kc + p)*nr + j]``, the last panel padded with zeros."""
    t, nr = bl.ty, bl.nr
    f = _F()
    full = f.v(f"sdiv i64 %nc, {nr}")
    rem = f.v(f"srem i64 %nc, {nr}")
    unit = f.v("icmp eq i64 %sn, 1")
    f.do(f"br i1 {unit}, label %rows, label %cols")
    # B's rows are contiguous: copy row segments (vectorized)
    f.label("rows")
    jp, close_jp = f.loop(full)
    p, close_p = f.loop("%kc")
    j, close_j = f.loop(str(nr))
    src = f.add(f.mul(p, "%sk"), f.add(f.mul(jp, nr), j))
    x = f.v(f"load {t}, ptr {f.gep(t, '%b', src)}")
    dst = f.add(f.mul(f.add(f.mul(jp, "%kc"), p), nr), j)
    f.do(f"store {t} {x}, ptr {f.gep(t, '%dst', dst)}")
    close_j()
    close_p()
    close_jp()
    f.do("br label %tail")
    # otherwise gather each panel row (a transposed B: one vector gather per VL columns,
    # where element-wise copies would store to 32 cache lines per step of the sum)
    f.label("cols")
    vl, vt = bl.vl, f"<{bl.vl} x {t}>"
    lanes = f.v(f"mul <{vl} x i64> <{', '.join(f'i64 {x}' for x in range(vl))}>, "
                f"{f.splat_i64('%sn', vl)}")
    jp, close_jp = f.loop(full)
    p, close_p = f.loop("%kc")
    for v in range(nr // vl):
        col0 = f.add(f.mul(jp, nr), v * vl)
        base = f.gep(t, "%b", f.add(f.mul(p, "%sk"), f.mul(col0, "%sn")))
        ptrs = f.v(f"getelementptr {t}, ptr {base}, <{vl} x i64> {lanes}")
        x = f.v(f"call {vt} @llvm.masked.gather.v{vl}{bl.key}.v{vl}p0(<{vl} x ptr> {ptrs}, "
                f"i32 {bl.size}, <{vl} x i1> splat (i1 true), {vt} poison)")
        dst = f.add(f.mul(f.add(f.mul(jp, "%kc"), p), nr), v * vl)
        f.do(f"store {vt} {x}, ptr {f.gep(t, '%dst', dst)}, align {bl.size}")
    close_p()
    close_jp()
    f.do("br label %tail")
    _last_panel(f, t, nr, full, rem, "%b",
                lambda p, j: f.add(f.mul(p, "%sk"), f.mul(f.add(f.mul(full, nr), j), "%sn")))
    return (f"define internal void @packb_{bl.key}(ptr noalias %b, i64 %sk, i64 %sn, i64 %kc, "
            "i64 %nc, ptr noalias %dst) noinline nounwind {\nentry:\n" + "\n".join(f.lines) + "\n}")


def _last_panel(f, t: str, width, full, rem, src: str, src_of) -> None:
    """The end of a packing routine (from its ``tail`` label): the last, partial panel
    (``rem`` of ``width`` lanes, if any) is zeroed, then the lanes there are are copied
    from ``src`` at ``src_of(p, lane)`` (both loops branch-free, so they vectorize)."""
    f.label("tail")
    some = f.v(f"icmp sgt i64 {rem}, 0")
    f.do(f"br i1 {some}, label %part, label %out")
    f.label("part")
    panel = f.gep(t, "%dst", f.mul(f.mul(full, "%kc"), width))
    z, close_z = f.loop(f.mul("%kc", width))
    f.do(f"store {t} 0.0, ptr {f.gep(t, panel, z)}")
    close_z()
    p, close_p = f.loop("%kc")
    j, close_j = f.loop(rem)
    x = f.v(f"load {t}, ptr {f.gep(t, src, src_of(p, j))}")
    f.do(f"store {t} {x}, ptr {f.gep(t, panel, f.add(f.mul(p, width), j))}")
    close_j()
    close_p()
    f.do("br label %out")
    f.label("out")
    f.do("ret void")


def _pack_a(bl: Blocking) -> str:
    """``packa(a, sm, sk, mc, kc, dst)``: rows i < mc, columns p < kc of A into panels of
    ``MR`` rows, ``dst[(ip*kc + p)*MR + r]``, the last panel padded with zeros."""
    t = bl.ty
    f = _F()
    full = f.v(f"sdiv i64 %mc, {MR}")
    rem = f.v(f"srem i64 %mc, {MR}")
    unit = f.v("icmp eq i64 %sm, 1")
    f.do(f"br i1 {unit}, label %cols, label %rows")
    # A is transposed (its columns contiguous): copy MR-element column pieces
    f.label("cols")
    ip, close_ip = f.loop(full)
    p, close_p = f.loop("%kc")
    r, close_r = f.loop(str(MR))
    src = f.add(f.add(f.mul(ip, MR), r), f.mul(p, "%sk"))
    x = f.v(f"load {t}, ptr {f.gep(t, '%a', src)}")
    dst = f.add(f.mul(f.add(f.mul(ip, "%kc"), p), MR), r)
    f.do(f"store {t} {x}, ptr {f.gep(t, '%dst', dst)}")
    close_r()
    close_p()
    close_ip()
    f.do("br label %tail")
    # otherwise walk each row along the sum (contiguous for a row-major A)
    f.label("rows")
    ip, close_ip = f.loop(full)
    r, close_r = f.loop(str(MR))
    p, close_p = f.loop("%kc")
    src = f.add(f.mul(f.add(f.mul(ip, MR), r), "%sm"), f.mul(p, "%sk"))
    x = f.v(f"load {t}, ptr {f.gep(t, '%a', src)}")
    dst = f.add(f.mul(f.add(f.mul(ip, "%kc"), p), MR), r)
    f.do(f"store {t} {x}, ptr {f.gep(t, '%dst', dst)}")
    close_p()
    close_r()
    close_ip()
    f.do("br label %tail")
    _last_panel(f, t, MR, full, rem, "%a",
                lambda p, r: f.add(f.mul(f.add(f.mul(full, MR), r), "%sm"), f.mul(p, "%sk")))
    return (f"define internal void @packa_{bl.key}(ptr noalias %a, i64 %sm, i64 %sk, i64 %mc, "
            "i64 %kc, ptr noalias %dst) noinline nounwind {\nentry:\n" + "\n".join(f.lines) + "\n}")


def _driver(bl: Blocking) -> str:
    t, k = bl.ty, bl.key
    f = _F()
    empty = f.v("icmp sle i64 %m, 0")
    empty2 = f.v("icmp sle i64 %n, 0")
    nothing = f.v(f"or i1 {empty}, {empty2}")
    f.do(f"br i1 {nothing}, label %out, label %go")
    f.label("go")
    nosum = f.v("icmp sle i64 %k, 0")
    f.do(f"br i1 {nosum}, label %zeros, label %blocks")
    # no terms to sum: C is zeros
    f.label("zeros")
    i, close_i = f.loop("%m")
    j, close_j = f.loop("%n")
    f.do(f"store {t} 0.0, ptr {f.gep(t, '%c', f.add(f.mul(i, '%ldc'), j))}")
    close_j()
    close_i()
    f.do("br label %out")
    f.label("blocks")
    # A is read in place when one of its strides is 1 (rows or columns contiguous):
    # packing it would only copy what the micro-kernel can load as fast
    unit_k = f.v("icmp eq i64 %sak, 1")
    unit_m = f.v("icmp eq i64 %sam, 1")
    f.lines.append(f"  %direct = or i1 {unit_k}, {unit_m}")
    small = f.v(f"icmp sle i64 {f.mul(f.mul('%k', '%n'), bl.size)}, {DIRECT_B_BYTES}")
    unit_n = f.v("icmp eq i64 %sbn, 1")
    f.lines.append(f"  %bdirect = and i1 {small}, {unit_n}")
    kb = f.v(f"sdiv i64 {f.add('%k', bl.kc - 1)}, {bl.kc}")
    kcb = f.v(f"sdiv i64 {f.add('%k', f.v(f'sub i64 {kb}, 1'))}, {kb}")
    ncp = f.mul(f.v(f"sdiv i64 {f.add(f.min('%n', str(bl.nc)), bl.nr - 1)}, {bl.nr}"), bl.nr)
    bp = "%scratch"
    ap = f.gep(t, bp, f.mul(kcb, ncp))
    njc = f.v(f"sdiv i64 {f.add('%n', bl.nc - 1)}, {bl.nc}")
    jcb, close_jc = f.loop(njc)
    jc = f.mul(jcb, bl.nc)
    nc = f.min(str(bl.nc), f.v(f"sub i64 %n, {jc}"))
    pb, close_pb = f.loop(kb)
    pc = f.mul(pb, kcb)
    kc = f.min(kcb, f.v(f"sub i64 %k, {pc}"))
    acc = f.v(f"icmp ne i64 {pb}, 0")
    bsrc = f.gep(t, "%b", f.add(f.mul(pc, "%sbk"), f.mul(jc, "%sbn")))
    # a small B with contiguous rows is read in place, but for its last, partial panel
    # (which would read past B's end): only that one is packed, at the start of bp
    nfull = f.mul(f.v(f"sdiv i64 {nc}, {bl.nr}"), bl.nr)
    psrc = f.v(f"select i1 %bdirect, ptr {f.gep(t, bsrc, f.mul(nfull, '%sbn'))}, ptr {bsrc}")
    pcols = f.v(f"select i1 %bdirect, i64 {f.v(f'sub i64 {nc}, {nfull}')}, i64 {nc}")
    f.do(f"call void @packb_{k}(ptr {psrc}, i64 %sbk, i64 %sbn, i64 {kc}, i64 {pcols}, "
         f"ptr {bp})")
    nic = f.v(f"sdiv i64 {f.add('%m', bl.mc - 1)}, {bl.mc}")
    icb, close_ic = f.loop(nic)
    ic = f.mul(icb, bl.mc)
    mc = f.min(str(bl.mc), f.v(f"sub i64 %m, {ic}"))
    asrc = f.gep(t, "%a", f.add(f.mul(ic, "%sam"), f.mul(pc, "%sak")))
    f.do(f"br i1 %direct, label %nopack{f.n}, label %pack{f.n}")
    tag = f.n
    f.label(f"pack{tag}")
    f.do(f"call void @packa_{k}(ptr {asrc}, i64 %sam, i64 %sak, i64 {mc}, i64 {kc}, "
         f"ptr {ap})")
    f.do(f"br label %nopack{tag}")
    f.label(f"nopack{tag}")
    # the micro-kernel reads A where it is, or the packed panels
    abase = f.v(f"select i1 %direct, ptr {asrc}, ptr {ap}")
    ars = f.v("select i1 %direct, i64 %sam, i64 1")
    aks = f.v(f"select i1 %direct, i64 %sak, i64 {MR}")
    arp = f.v(f"select i1 %direct, i64 %sam, i64 {kc}")
    njr = f.v(f"sdiv i64 {f.add(nc, bl.nr - 1)}, {bl.nr}")
    jrb, close_jr = f.loop(njr)
    jr = f.mul(jrb, bl.nr)
    cols = f.min(str(bl.nr), f.v(f"sub i64 {nc}, {jr}"))
    inplace = f.v(f"icmp slt i64 {jr}, {nfull}")
    inplace = f.v(f"and i1 %bdirect, {inplace}")
    packed = f.v(f"select i1 %bdirect, ptr {bp}, ptr {f.gep(t, bp, f.mul(jr, kc))}")
    bpanel = f.v(f"select i1 {inplace}, ptr {f.gep(t, bsrc, jr)}, ptr {packed}")
    bks = f.v(f"select i1 {inplace}, i64 %sbk, i64 {bl.nr}")
    nir = f.v(f"sdiv i64 {f.add(mc, MR - 1)}, {MR}")
    irb, close_ir = f.loop(nir)
    ir = f.mul(irb, MR)
    rows = f.min(str(MR), f.v(f"sub i64 {mc}, {ir}"))
    apanel = f.gep(t, abase, f.mul(ir, arp))
    cptr = f.gep(t, "%c", f.add(f.mul(f.add(ic, ir), "%ldc"), f.add(jc, jr)))
    f.do(f"call void @uk_{k}(ptr {apanel}, i64 {ars}, i64 {aks}, ptr {bpanel}, i64 {bks}, "
         f"i64 {kc}, ptr {cptr}, i64 %ldc, i64 {rows}, i64 {cols}, i1 {acc})")
    close_ir()
    close_jr()
    close_ic()
    close_pb()
    close_jc()
    f.do("br label %out")
    f.label("out")
    f.do("ret void")
    return (f"define void @{symbol(np.float32 if bl.size == 4 else np.float64)}(i64 %m, i64 %n, "
            "i64 %k, ptr %a, i64 %sam, i64 %sak, ptr %b, i64 %sbk, i64 %sbn, ptr %c, "
            "i64 %ldc, ptr %scratch) noinline nounwind {\nentry:\n" + "\n".join(f.lines) + "\n}")


def _part(bl: Blocking) -> str:
    f = _F()
    fld = {}
    for i, name in enumerate(PART_FIELDS):
        q = f.gep("i64", "%block", str(i))
        fld[name] = f.v(f"load {'ptr' if name in ('a', 'b', 'c', 'scratch') else 'i64'}, "
                        f"ptr {q}")
    m, n, k = fld["m"], fld["n"], fld["k"]
    cols = f.v(f"icmp eq i64 {fld['axis']}, 1")
    size = f.v(f"select i1 {cols}, i64 {n}, i64 {m}")
    unit = f.v(f"select i1 {cols}, i64 {bl.nr}, i64 {MR}")
    count = f.v(f"sdiv i64 {f.add(size, f.v(f'sub i64 {unit}, 1'))}, {unit}")
    # each thread's scratch: the packed blocks of the widest range, in whole cache lines
    # (as ``scratch_bytes`` sizes them)
    cut = f.v(f"call i64 @llvm.smax.i64(i64 {fld['pieces']}, i64 1)")
    widest = f.mul(f.v(f"sdiv i64 {f.add(count, f.v(f'sub i64 {cut}, 1'))}, {cut}"), unit)
    wm = f.v(f"select i1 {cols}, i64 {m}, i64 {f.min(widest, m)}")
    wn = f.v(f"select i1 {cols}, i64 {f.min(widest, n)}, i64 {n}")
    kb = f.v(f"call i64 @llvm.smax.i64(i64 {f.v(f'sdiv i64 {f.add(k, bl.kc - 1)}, {bl.kc}')}"
             ", i64 1)")
    kcb = f.v(f"sdiv i64 {f.add(k, f.v(f'sub i64 {kb}, 1'))}, {kb}")
    bpn = f.mul(f.v(f"sdiv i64 {f.add(f.min(wn, str(bl.nc)), bl.nr - 1)}, {bl.nr}"), bl.nr)
    apm = f.mul(f.v(f"sdiv i64 {f.add(f.min(wm, str(bl.mc)), MR - 1)}, {MR}"), MR)
    line = 64 // bl.size
    elems = f.mul(kcb, f.add(bpn, apm))
    region = f.mul(f.v(f"sdiv i64 {f.add(elems, line - 1)}, {line}"), line)
    start = f.mul("%lo", unit)
    # rows or columns [start, start + span): the last range stops at C's edge
    span = f.min(f.mul(f.v("sub i64 %hi, %lo"), unit), f.v(f"sub i64 {size}, {start}"))
    pm = f.v(f"select i1 {cols}, i64 {m}, i64 {span}")
    pn = f.v(f"select i1 {cols}, i64 {span}, i64 {n}")
    pa = f.gep(bl.ty, fld["a"], f.v(f"select i1 {cols}, i64 0, i64 {f.mul(start, fld['sam'])}"))
    pb = f.gep(bl.ty, fld["b"], f.v(f"select i1 {cols}, i64 {f.mul(start, fld['sbn'])}, i64 0"))
    pc = f.gep(bl.ty, fld["c"], f.v(f"select i1 {cols}, i64 {start}, "
                                    f"i64 {f.mul(start, fld['ldc'])}"))
    ps = f.gep(bl.ty, fld["scratch"], f.mul("%slot", region))
    f.do(f"call void @{symbol(np.float32 if bl.size == 4 else np.float64)}(i64 {pm}, "
         f"i64 {pn}, i64 {k}, ptr {pa}, i64 {fld['sam']}, i64 {fld['sak']}, ptr {pb}, "
         f"i64 {fld['sbk']}, i64 {fld['sbn']}, ptr {pc}, i64 {fld['ldc']}, ptr {ps})")
    f.do("ret void")
    return (f"define void @{part_symbol(np.float32 if bl.size == 4 else np.float64)}("
            "ptr %block, i64 %lo, i64 %hi, i64 %slot) noinline nounwind {\nentry:\n"
            + "\n".join(f.lines) + "\n}")


def define(dtype, vector_bytes: int) -> str:
    """The library module for ``dtype`` on a machine with ``vector_bytes``-byte vectors."""
    bl = blocking(dtype, vector_bytes)
    return "\n\n".join([f"; functorch_lite gemm, {bl.key}, {bl}", _micro_kernel(bl),
                        _pack_b(bl), _pack_a(bl), _driver(bl), _part(bl)]) + "\n"
