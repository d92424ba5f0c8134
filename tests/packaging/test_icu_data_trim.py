"""The packaged app's smaller ICU data library (scripts/icu_data_trim.py): Qt answers as with the full one."""

from __future__ import annotations

import sys
from pathlib import Path

import PySide6
import pytest

from scripts.icu_data_trim import (
    DROPPED_ITEMS,
    build_library,
    common_data,
    icu_probe,
    item_names,
    trimmed_icu_data_library,
    without_items,
)

pytestmark = pytest.mark.slow

FULL = next((Path(PySide6.__file__).parent / "Qt" / "lib").glob("libicudata.so.*"))


def test_trimmed_library_keeps_what_qt_asks_icu_for(tmp_path: Path) -> None:
    trimmed = trimmed_icu_data_library(FULL, tmp_path)
    assert trimmed is not None and trimmed.name == FULL.name
    assert trimmed.stat().st_size < 0.6 * FULL.stat().st_size
    _, full_data = common_data(FULL)
    _, data = common_data(trimmed)
    kept = {name.split("/", 1)[1] for name in item_names(data)}
    dropped = {name.split("/", 1)[1] for name in item_names(full_data)} - kept
    assert dropped and all(name.startswith(DROPPED_ITEMS) for name in dropped)
    # Collation, converters, zones and the locales' calendars are all still there.
    assert {"coll/de.res", "ibm-943_P15A-2003.cnv", "zone/ko.res", "zoneinfo64.res", "de.res"} <= kept
    # The same answers from Qt (collation, converters, zone names, case) in a process using it.
    answers = icu_probe(sys.executable, trimmed)
    assert answers == icu_probe(sys.executable)
    assert "İSTANBUL" in answers and "Shift_JIS True True" in answers


def test_probe_notices_missing_icu_data(tmp_path: Path) -> None:
    # Without the collation data Qt sorts differently: the probe guards the trimmed build.
    symbol, data = common_data(FULL)
    broken = build_library(symbol, without_items(data, ("coll/",)), FULL.name, tmp_path / FULL.name)
    assert icu_probe(sys.executable, broken) != icu_probe(sys.executable)
