"""Loading a compiled object file into this process without LLVM.

A warm start (every program already in the disk cache) should not pay for importing
llvmlite and starting LLVM (~30 ms, most of a first jitted step) only to place a few
kilobytes of machine code in memory. ``load`` does that for the objects our compiler
emits on x86-64 Linux: an ELF relocatable file whose only relocations are absolute
(``R_X86_64_64``, the large code model) or PC-relative. Its allocated sections are
copied into fresh pages, undefined symbols are resolved (the caller's table: library
modules such as the GEMM; then the process: libc), relocations are applied, and the
pages become read+execute. Anything
else (another OS or CPU, a relocation or section kind not handled here) raises
``Unsupported`` and the caller falls back to LLVM's own loader.

>>> code = load(obj, {"fl_gemm_f32": addr})   # doctest: +SKIP
>>> code.address("fl_call")                             # doctest: +SKIP
"""

from __future__ import annotations

import ctypes
import platform
import struct
import sys

# ELF constants (the System V ABI and its x86-64 supplement)
_SHT_SYMTAB, _SHT_RELA, _SHT_NOBITS, _SHT_REL = 2, 4, 8, 9
_SHF_ALLOC = 0x2
_R_NONE, _R_64, _R_PC32, _R_PLT32, _R_PC64 = 0, 1, 2, 4, 24
_PROT_READ, _PROT_WRITE, _PROT_EXEC = 1, 2, 4
_MAP_PRIVATE, _MAP_ANONYMOUS = 0x02, 0x20
_PAGE = 4096


class Unsupported(Exception):
    """This object (or this platform) is not one ``load`` handles."""


class Unresolved(RuntimeError):
    """The object calls a symbol no library of this process defines (LLVM's loader would
    silently call address 0)."""


def supported() -> bool:
    """Whether this platform can load objects without LLVM."""
    return sys.platform.startswith("linux") and platform.machine() in ("x86_64", "AMD64")


_libc = None


def _c():
    global _libc
    if _libc is None:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.mmap.restype = ctypes.c_void_p
        libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                              ctypes.c_int, ctypes.c_long]
        libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
        libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
        _libc = libc
    return _libc


def process_symbol(name: str) -> int:
    """The address of ``name`` among the libraries loaded in this process (0 if none)."""
    try:
        return ctypes.cast(getattr(_c(), name), ctypes.c_void_p).value or 0
    except AttributeError:
        return 0


class Loaded:
    """Machine code placed in this process; alive (mapped) as long as this object."""

    def __init__(self, base: int, size: int, symbols: dict[str, int]):
        self.base, self.size, self.symbols = base, size, symbols

    def address(self, name: str) -> int:
        return self.symbols[name]

    def __del__(self):
        if self.base and _libc is not None:
            _libc.munmap(self.base, self.size)
            self.base = 0


def load(obj: bytes, externals: dict[str, int]) -> Loaded:
    """Place the ELF object ``obj`` in executable memory. ``externals`` maps undefined
    symbol names to addresses (others are looked up in the process). Raises
    ``Unsupported`` for what this loader does not handle."""
    if not supported():
        raise Unsupported(f"{sys.platform}/{platform.machine()}")
    if obj[:4] != b"\x7fELF" or obj[4] != 2 or obj[5] != 1 or len(obj) < 64:
        raise Unsupported("not a little-endian ELF64 object")
    e_type, e_machine = struct.unpack_from("<HH", obj, 16)
    if e_type != 1 or e_machine != 62:  # ET_REL, EM_X86_64
        raise Unsupported("not an x86-64 relocatable object")
    shoff, = struct.unpack_from("<Q", obj, 40)
    shentsize, shnum = struct.unpack_from("<HH", obj, 58)
    sections = [struct.unpack_from("<IIQQQQIIQQ", obj, shoff + i * shentsize)
                for i in range(shnum)]
    # (name, type, flags, addr, offset, size, link, info, addralign, entsize)

    # lay out every allocated section in one block of pages
    place: dict[int, int] = {}
    size = 0
    for i, (_, typ, flags, _, _, sz, _, _, align, _) in enumerate(sections):
        if flags & _SHF_ALLOC and sz:
            align = max(int(align), 1)
            size = -(-size // align) * align
            place[i] = size
            size += sz
        elif typ == _SHT_REL:
            raise Unsupported("REL relocations")
    size = max(-(-size // _PAGE) * _PAGE, _PAGE)
    libc = _c()
    base = libc.mmap(None, size, _PROT_READ | _PROT_WRITE, _MAP_PRIVATE | _MAP_ANONYMOUS,
                     -1, 0)
    if base in (None, ctypes.c_void_p(-1).value):
        raise MemoryError("llvm backend: mmap failed")
    code = Loaded(base, size, {})
    for i, off in place.items():
        _, typ, _, _, foff, sz, *_ = sections[i]
        if typ != _SHT_NOBITS:  # NOBITS (.bss) stays as mmap's zeros
            ctypes.memmove(base + off, obj[foff:foff + sz], sz)

    # symbols: defined ones by section, undefined ones by name
    symtab = next((s for s in sections if s[1] == _SHT_SYMTAB), None)
    if symtab is None:
        raise Unsupported("no symbol table")
    strtab = sections[symtab[6]]
    addrs: list[int] = []
    for k in range(symtab[5] // 24):
        st_name, st_info, _, st_shndx, st_value, _ = struct.unpack_from(
            "<IBBHQQ", obj, symtab[4] + 24 * k)
        end = obj.index(b"\0", strtab[4] + st_name)
        name = obj[strtab[4] + st_name:end].decode()
        if st_shndx == 0:
            addr = externals.get(name) or process_symbol(name) if name else 0
            if name and not addr:
                raise Unresolved(f"llvm backend: compiled code calls {name}, which no "
                                 "library of this process defines")
        elif st_shndx == 0xFFF1:  # SHN_ABS
            addr = st_value
        elif st_shndx in place:
            addr = base + place[st_shndx] + st_value
        else:
            addr = 0  # a symbol of a section not loaded (debug info): never relocated to
        addrs.append(addr)
        if name and st_shndx and st_info >> 4 == 1:  # STB_GLOBAL
            code.symbols[name] = addr

    # relocations of loaded sections
    for _, typ, _, _, foff, sz, _, target, _, _ in sections:
        if typ != _SHT_RELA or target not in place:
            continue
        tbase = base + place[target]
        for k in range(sz // 24):
            r_off, r_info, r_add = struct.unpack_from("<QQq", obj, foff + 24 * k)
            kind, s = r_info & 0xFFFFFFFF, addrs[r_info >> 32] + r_add
            p = tbase + r_off
            if kind == _R_64:
                ctypes.c_uint64.from_address(p).value = s & 0xFFFFFFFFFFFFFFFF
            elif kind in (_R_PC32, _R_PLT32):
                d = s - p
                if not -(1 << 31) <= d < (1 << 31):
                    raise Unsupported("a 32-bit PC-relative relocation out of range")
                ctypes.c_int32.from_address(p).value = d
            elif kind == _R_PC64:
                ctypes.c_int64.from_address(p).value = s - p
            elif kind != _R_NONE:
                raise Unsupported(f"relocation type {kind}")
    if libc.mprotect(base, size, _PROT_READ | _PROT_EXEC) != 0:
        raise Unsupported(f"mprotect failed (errno {ctypes.get_errno()})")
    return code
