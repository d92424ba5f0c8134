"""A smaller ICU data library for the packaged app: only the data Qt can ask ICU for.

PySide6's Qt Core is built with ICU, so it loads ``libicudata.so.NN`` at start; that library is one
32 MB blob (the symbol ``icudtNN_dat``, ICU's "common data" package of 3,900 items). Of all of ICU,
Qt Core calls only converters (``ucnv_*``: QStringConverter), collation (``ucol_*``: QCollator),
calendars and time-zone names (``ucal_*``: QTimeZone) and locale case mapping (``u_strTo*``); no
other Qt library calls ICU. The data behind everything else is dropped: unit, currency, language
and region display names, number spell-out, transliteration, break-iterator rules and
dictionaries, and Unicode character names (about 15 MB). Converters, collation, zones, calendars,
locales and normalisation stay whole.

``fame.spec`` calls :func:`trimmed_icu_data_library`; it gives back ``None`` (and the build keeps
the full library) when no C compiler is there or when the trimmed library answers a Qt probe
differently from the full one (:func:`icu_probe`). Run alone to see the figures:
``.venv/bin/python scripts/icu_data_trim.py``.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

# Item folders (and files) of the common data that no ICU function Qt calls reads.
DROPPED_ITEMS = (
    "unit/",  # measurement unit display names (MeasureFormat)
    "curr/",  # currency names (NumberFormat)
    "lang/",  # language display names (LocaleDisplayNames)
    "region/",  # region display names (LocaleDisplayNames)
    "rbnf/",  # number spell-out rules (RuleBasedNumberFormat)
    "translit/",  # transliterators (Transliterator)
    "brkitr/",  # break-iterator rules and dictionaries (ubrk_*: Qt segments text itself)
    "unames.icu",  # Unicode character names (u_charName)
)

# What Qt asks ICU for, printed by a child process: the trimmed data must answer exactly as the
# full data does (collation in four languages, ICU's converters (opened by name), time-zone names, Turkish case).
_PROBE = r"""
from PySide6.QtCore import QByteArray, QCollator, QLocale, QStringDecoder, QStringEncoder, QTimeZone
out = []
for name in ("de_DE", "sv_SE", "ko_KR", "ja_JP"):
    c = QCollator(QLocale(name))
    out.append(name + " " + "".join(sorted(["z", "ä", "a", "ö", "가", "나", "あ", "ア", "Z"], key=c.sortKey)))
out.append(" ".join(QStringEncoder.availableCodecs()))
for codec in ("Shift_JIS", "EUC-KR", "GB18030", "windows-1251", "ISO-8859-15", "KOI8-R", "Big5", "x-no-such"):
    out.append(codec + " " + str(QStringEncoder(codec).isValid()) + " " + str(QStringDecoder(codec).isValid()))
for zone in (b"Europe/Berlin", b"Asia/Seoul", b"America/New_York"):
    tz = QTimeZone(QByteArray(zone))
    for lang in ("en_US", "de_DE", "ko_KR"):
        out.append(" ".join([zone.decode(), lang, tz.displayName(QTimeZone.TimeType.StandardTime,
            QTimeZone.NameType.LongName, QLocale(lang))]))
out.append(QLocale("tr_TR").toUpper("istanbul") + " " + QLocale("lt_LT").toLower("ĮÌ"))
print("\n".join(out))
"""


def common_data(library: Path) -> tuple[str, bytes]:
    """The name and bytes of the ICU common-data symbol (``icudtNN_dat``) in an ELF64 library."""
    elf = library.read_bytes()
    if elf[:4] != b"\x7fELF" or elf[4] != 2 or elf[5] != 1:
        raise ValueError(f"{library}: not a little-endian ELF64 library")
    (shoff,) = struct.unpack_from("<Q", elf, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", elf, 0x3A)
    sections = [struct.unpack_from("<IIQQQQIIQQ", elf, shoff + i * shentsize) for i in range(shnum)]
    for _name, kind, _flags, _addr, offset, size, link, _info, _align, entsize in sections:
        if kind != 11:  # SHT_DYNSYM
            continue
        strtab = sections[link][4]
        for pos in range(offset, offset + size, entsize):
            st_name, _st_info, _st_other, shndx, value, sym_size = struct.unpack_from("<IBBHQQ", elf, pos)
            end = elf.index(b"\0", strtab + st_name)
            name = elf[strtab + st_name : end].decode()
            if re.fullmatch(r"icudt\d+_dat", name) and 0 < shndx < shnum:
                section = sections[shndx]
                start = value - section[3] + section[4]
                return name, elf[start : start + sym_size]
    raise ValueError(f"{library}: no icudtNN_dat symbol")


def item_names(data: bytes) -> list[str]:
    """The item names of an ICU common-data package (``icudt73l/coll/de.res``...), in TOC order."""
    header_size, magic1, magic2 = struct.unpack_from("<HBB", data, 0)
    if (magic1, magic2) != (0xDA, 0x27) or data[12:16] != b"CmnD":
        raise ValueError("not an ICU common-data package")
    (count,) = struct.unpack_from("<I", data, header_size)
    names = []
    for i in range(count):
        name_offset, _ = struct.unpack_from("<II", data, header_size + 4 + 8 * i)
        start = header_size + name_offset
        names.append(data[start : data.index(b"\0", start)].decode())
    return names


def without_items(data: bytes, dropped: tuple[str, ...] = DROPPED_ITEMS) -> bytes:
    """The package with the items whose name (after ``icudtNNl/``) starts with ``dropped`` removed.

    The layout is ICU's: the header as it was, then the item count, (name offset, data offset)
    pairs relative to the count, the names, and each item's bytes on a 16-byte boundary; the items
    keep their sorted order (ICU looks names up by binary search).
    """
    header_size = struct.unpack_from("<H", data, 0)[0]
    (count,) = struct.unpack_from("<I", data, header_size)
    entries = [struct.unpack_from("<II", data, header_size + 4 + 8 * i) for i in range(count)]
    names = item_names(data)
    ends = [entries[i + 1][1] for i in range(count - 1)] + [len(data) - header_size]
    kept = [
        (name, data[header_size + start : header_size + end])
        for name, (_, start), end in zip(names, entries, ends, strict=True)
        if not name.split("/", 1)[-1].startswith(dropped)
    ]
    toc_size = 4 + 8 * len(kept)
    names_blob = b"".join(name.encode() + b"\0" for name, _ in kept)
    name_offsets, pos = [], toc_size
    for name, _ in kept:
        name_offsets.append(pos)
        pos += len(name) + 1
    pos = (pos + 15) & ~15
    toc, body = [struct.pack("<I", len(kept))], []
    for (_, item), name_offset in zip(kept, name_offsets, strict=True):
        toc.append(struct.pack("<II", name_offset, pos))
        padded = item + b"\0" * (-len(item) % 16)
        body.append(padded)
        pos += len(padded)
    head = data[:header_size] + b"".join(toc) + names_blob
    return head + b"\0" * (-len(head) % 16) + b"".join(body)


def build_library(symbol: str, data: bytes, soname: str, out: Path) -> Path:
    """Link ``data`` as the exported ``symbol`` of a shared library named ``soname`` (needs a C compiler)."""
    compiler = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
    if compiler is None:
        raise FileNotFoundError("no C compiler (cc or gcc)")
    out.parent.mkdir(parents=True, exist_ok=True)
    blob = out.with_suffix(".dat")
    blob.write_bytes(data)
    source = out.with_suffix(".S")
    source.write_text(
        f"\t.section .rodata\n\t.globl {symbol}\n\t.type {symbol}, @object\n\t.size {symbol}, {len(data)}\n"
        f'\t.balign 16\n{symbol}:\n\t.incbin "{blob}"\n\t.section .note.GNU-stack,"",@progbits\n'
    )
    subprocess.run(
        [
            compiler,
            "-shared",
            "-nostdlib",
            f"-Wl,-soname,{soname}",
            "-Wl,-z,noexecstack",
            "-o",
            str(out),
            str(source),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return out


def icu_probe(python: str, preload: Path | None = None) -> str:
    """What Qt answers in a child ``python`` through ICU, with ``preload`` standing in for libicudata."""
    env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
    env["QT_QPA_PLATFORM"] = "offscreen"
    if preload is not None:
        env["LD_PRELOAD"] = str(preload)
    done = subprocess.run(
        [python, "-c", _PROBE], env=env, capture_output=True, text=True, timeout=120, check=True
    )
    return done.stdout


def trimmed_icu_data_library(full: Path, out_dir: Path, python: str = sys.executable) -> Path | None:
    """A trimmed copy of ``full`` (PySide6's libicudata) in ``out_dir``, or None to keep ``full``.

    The copy is used only if Qt's answers through it (:func:`icu_probe`) are the full library's.
    """
    try:
        symbol, data = common_data(full)
        trimmed = build_library(symbol, without_items(data), full.name, out_dir / full.name)
        same = icu_probe(python, trimmed) == icu_probe(python)
    except (OSError, ValueError, subprocess.SubprocessError) as exc:
        print(f"icu_data_trim: keeping the full ICU data ({exc})")
        return None
    if not same:
        print("icu_data_trim: keeping the full ICU data (Qt answers differently with the trimmed one)")
        return None
    return trimmed


def main() -> int:
    """Build the trimmed library into a temporary folder and print both sizes."""
    import PySide6

    full = next((Path(PySide6.__file__).parent / "Qt" / "lib").glob("libicudata.so.*"))
    with tempfile.TemporaryDirectory() as tmp:
        trimmed = trimmed_icu_data_library(full, Path(tmp))
        size = f"{trimmed.stat().st_size / 1e6:.1f} MB" if trimmed else "not built"
        print(f"icu_data: full {full.stat().st_size / 1e6:.1f} MB, trimmed {size}")
    return 0 if trimmed else 1


if __name__ == "__main__":
    sys.exit(main())
