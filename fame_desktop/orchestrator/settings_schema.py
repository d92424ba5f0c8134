"""The settings' declaration machinery: typed sections checked without pydantic when that is exact.

Every command reads the settings, and most files, like the defaults, hold only plainly valid
values: building the pydantic models (and importing pydantic) for them cost a fifth of a one-shot
``fame ask``. So a :class:`Section` is a light object declared once (annotations and
:func:`setting` specs), and a value is accepted here only when pydantic would accept it unchanged
(the exact JSON type, inside its limits, an ASCII string matching its pattern, the field's own
validator content). Anything else, a coercion or an error, goes to the pydantic model derived from
the same declaration (:func:`pydantic_model`, built on first need), so its results and its error
messages are pydantic's, as before. The settings dialog reads the derived model's fields too.
"""

from __future__ import annotations

import re
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeVar, get_args, get_origin

if TYPE_CHECKING:
    from pydantic import BaseModel, ValidationError
    from pydantic.fields import FieldInfo

S = TypeVar("S", bound="Section")
V = TypeVar("V")

#: The limits a :func:`setting` may declare (pydantic's ``Field`` keywords of the same names).
LIMITS = frozenset({"ge", "gt", "le", "max_length", "pattern"})
#: Ints beyond these go to pydantic (which stores them in 64 bits when it can).
_INT_RANGE = (-(2**63), 2**63 - 1)


class SettingValueError(ValueError):
    """Raised by a field validator: pydantic reports it as a custom error of ``kind`` with
    ``message`` (the light check only learns that the value is not plainly valid)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


class InvalidSettings(ValueError):
    """A value failed the schema: pydantic's :class:`~pydantic.ValidationError`, as it reads.

    ``str()`` and :meth:`errors` are the pydantic error's, so messages stay what they were.
    """

    def __init__(self, error: ValidationError) -> None:
        super().__init__(str(error))
        self.error = error

    def errors(self) -> list[Any]:
        """pydantic's list of errors (``loc``, ``msg``, ``type``, ...)."""
        return list(self.error.errors())

    def __str__(self) -> str:
        return str(self.error)


class Setting:
    """One declared setting: its default, description, admin flag and limits."""

    __slots__ = ("admin", "default", "default_factory", "description", "limits")

    def __init__(
        self,
        default: Any,
        description: str | None,
        *,
        admin: bool = False,
        default_factory: Callable[[], Any] | None = None,
        limits: Mapping[str, Any] | None = None,
    ) -> None:
        unknown = set(limits or {}) - LIMITS
        if unknown:  # declared once, checked at import: a typo must not silently drop a limit
            raise TypeError(f"unknown setting limits: {', '.join(sorted(unknown))}")
        self.default = default
        self.description = description
        self.admin = admin
        self.default_factory = default_factory
        self.limits = dict(limits or {})

    def make_default(self) -> Any:
        """A fresh default (mutable defaults are copied, as pydantic does)."""
        if self.default_factory is not None:
            return self.default_factory()
        if isinstance(self.default, list | dict):
            return type(self.default)(self.default)
        return self.default


def setting(
    default: Any = None,
    *,
    description: str | None = None,
    default_factory: Callable[[], Any] | None = None,
    **limits: Any,
) -> Any:
    """Declare a setting (pydantic's ``Field``: the default, a description, ``ge``/``gt``/``le``,
    ``max_length``, ``pattern``)."""
    return Setting(default, description, default_factory=default_factory, limits=limits)


def admin_field(default: Any, description: str, **limits: Any) -> Any:
    """A field only an admin may change."""
    return Setting(default, description, admin=True, limits=limits)


def validates(name: str) -> Callable[[Callable[[Any], V]], Callable[[Any], V]]:
    """Mark a plain function of a section's body as the validator of field ``name``: it gets the
    value (after the type and limits were checked), returns it cleaned, or raises
    :class:`SettingValueError`."""

    def mark(func: Callable[[Any], V]) -> Callable[[Any], V]:
        func.__dict__["_validates"] = name
        return staticmethod(func)  # called through the class

    return mark


class _Field:
    """A declared field, resolved: its type and how to check a value of it."""

    __slots__ = ("annotation", "check", "name", "section", "spec", "validator")

    def __init__(self, name: str, annotation: Any, spec: Setting) -> None:
        self.name = name
        self.annotation = annotation
        self.spec = spec
        self.section: type[Section] | None = (
            annotation if isinstance(annotation, type) and issubclass(annotation, Section) else None
        )
        self.validator: Callable[[Any], Any] | None = None
        self.check = _checker(annotation, spec.limits)


def _fail(_value: Any) -> tuple[bool, Any]:
    return False, None


def _checker(annotation: Any, limits: Mapping[str, Any]) -> Callable[[Any], tuple[bool, Any]]:
    """``check(value) -> (plainly valid, the value pydantic would store)`` for one field type."""
    if isinstance(annotation, type) and issubclass(annotation, Section):
        section = annotation

        def check_section(value: Any) -> tuple[bool, Any]:
            if type(value) is section:  # pydantic keeps an instance of the model as it is
                return True, value
            if type(value) is not dict:
                return False, None
            built = section._plain(value)
            return built is not None, built

        return check_section
    if annotation is bool:
        return lambda value: (type(value) is bool, value)
    if annotation is int:
        low = max(limits.get("ge", _INT_RANGE[0]), _INT_RANGE[0])
        high = min(limits.get("le", _INT_RANGE[1]), _INT_RANGE[1])
        return lambda value: (type(value) is int and low <= value <= high, value)
    if annotation is float:
        gt, le = limits.get("gt"), limits.get("le")

        def check_float(value: Any) -> tuple[bool, Any]:
            if type(value) is int:
                if not _INT_RANGE[0] <= value <= _INT_RANGE[1]:
                    return False, None
                value = float(value)
            elif type(value) is not float:
                return False, None
            # NaN fails every comparison: it goes to pydantic, which says why.
            ok = (gt is None or value > gt) and (le is None or value <= le)
            return ok, value

        return check_float
    if annotation is str:
        max_length = limits.get("max_length")
        pattern = re.compile(limits["pattern"]) if "pattern" in limits else None

        def check_str(value: Any) -> tuple[bool, Any]:
            if type(value) is not str or (max_length is not None and len(value) > max_length):
                return False, None
            if pattern is not None and not (
                # pydantic matches with Rust's regex: for ASCII text on one line it agrees with re.
                value.isascii() and "\n" not in value and pattern.search(value)
            ):
                return False, None
            return True, value

        return check_str
    if get_origin(annotation) is Literal:
        choices = frozenset(get_args(annotation))
        return lambda value: (type(value) is str and value in choices, value)
    if annotation == list[str]:
        return lambda value: (
            (True, list(value))
            if type(value) is list and all(type(item) is str for item in value)
            else (False, None)
        )
    if annotation == dict[str, str]:
        return lambda value: (
            (True, dict(value))
            if type(value) is dict and all(type(k) is str and type(v) is str for k, v in value.items())
            else (False, None)
        )
    return _fail  # a type this check does not know: pydantic decides every value


class Section:
    """A group of settings; subclasses declare fields as annotations with :func:`setting` specs
    (or a default value, or a :class:`Section` type, whose default is its own defaults).

    Unknown fields are refused and assignments are validated, as the pydantic models were
    (``extra="forbid"``, ``validate_assignment``).
    """

    #: The declared fields, by name, in declaration order.
    model_fields: ClassVar[dict[str, _Field]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        namespace = vars(sys.modules[cls.__module__])
        fields: dict[str, _Field] = {}
        # The class's own annotations (inspect.get_annotations would import inspect for this).
        own = cls.__dict__.get("__annotations__", {})  # noqa: RUF063
        for name, annotation in own.items():
            # Strings (the module's ``from __future__ import annotations``), made types once.
            resolved = eval(annotation, namespace) if isinstance(annotation, str) else annotation
            if get_origin(resolved) is ClassVar:
                continue
            declared = cls.__dict__.get(name)
            if isinstance(declared, Setting):
                spec = declared
            elif isinstance(resolved, type) and issubclass(resolved, Section) and declared is None:
                spec = Setting(None, None, default_factory=resolved)
            else:
                spec = Setting(declared, None)
            fields[name] = _Field(name, resolved, spec)
            if name in cls.__dict__:
                delattr(cls, name)
        for attr in list(cls.__dict__.values()):
            target = getattr(getattr(attr, "__func__", None), "_validates", None)
            if target is not None:
                fields[target].validator = attr.__func__
        cls.model_fields = fields

    def __init__(self, **data: Any) -> None:
        values = self._values(data)
        self.__dict__.update(values)

    # --- validation ------------------------------------------------------------------------------

    @classmethod
    def _plain(cls: type[S], data: Mapping[str, Any]) -> S | None:
        """The section for ``data`` if every value is plainly valid, else None (ask pydantic)."""
        fields = cls.model_fields
        values: dict[str, Any] = {}
        for name, value in data.items():
            declared = fields.get(name)
            if declared is None:
                return None
            ok, checked = declared.check(value)
            if not ok:
                return None
            if declared.validator is not None:
                try:
                    checked = declared.validator(checked)
                except SettingValueError:
                    return None
            values[name] = checked
        for name, declared in fields.items():
            if name not in values:
                values[name] = declared.spec.make_default()
        section = cls.__new__(cls)
        section.__dict__.update(values)
        return section

    @classmethod
    def _values(cls, data: Mapping[str, Any]) -> dict[str, Any]:
        plain = cls._plain(data)
        if plain is not None:
            return plain.__dict__
        return cls._from_pydantic(_validate_pydantic(cls, dict(data))).__dict__

    @classmethod
    def model_validate(cls: type[S], data: Any) -> S:
        """``data`` (a dict) as this section, as pydantic's ``model_validate`` answers it.

        Raises:
            InvalidSettings: pydantic's errors for the first value it refuses.
        """
        if type(data) is dict:
            plain = cls._plain(data)
            if plain is not None:
                return plain
        return cls._from_pydantic(_validate_pydantic(cls, data))

    @classmethod
    def _from_pydantic(cls: type[S], model: BaseModel) -> S:
        """The section holding a validated pydantic model's values (already checked)."""
        section = cls.__new__(cls)
        for name, declared in cls.model_fields.items():
            value = getattr(model, name)
            if declared.section is not None:
                value = declared.section._from_pydantic(value)
            section.__dict__[name] = value
        return section

    def __setattr__(self, name: str, value: Any) -> None:
        declared = type(self).model_fields.get(name)
        if declared is not None:
            ok, checked = declared.check(value)
            if ok and declared.validator is not None:
                try:
                    checked = declared.validator(checked)
                except SettingValueError:
                    ok = False
            if ok:
                self.__dict__[name] = checked
                return
        # pydantic decides (and words the error): an unknown field, a coercion, a bad value.
        model = _validate_pydantic(type(self), self.model_dump())
        try:
            setattr(model, name, value)
        except Exception as exc:
            raise _converted(exc) from None
        fresh = type(self)._from_pydantic(model)
        self.__dict__[name] = fresh.__dict__[name]

    # --- reading ---------------------------------------------------------------------------------

    def model_dump(self, *, mode: Literal["python", "json"] = "python") -> dict[str, Any]:
        """The values as a new dict (nested sections as dicts; the same in both modes: every
        setting is a JSON type)."""
        del mode
        out: dict[str, Any] = {}
        for name, value in self.__dict__.items():
            if isinstance(value, Section):
                out[name] = value.model_dump()
            elif isinstance(value, list | dict):
                out[name] = type(value)(value)
            else:
                out[name] = value
        return out

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self.__dict__ == other.__dict__

    __hash__ = None  # type: ignore[assignment]  # mutable, as the pydantic models were

    def __repr__(self) -> str:
        values = ", ".join(f"{name}={value!r}" for name, value in self.__dict__.items())
        return f"{type(self).__name__}({values})"


def leaves(section: type[Section], prefix: str = "") -> Iterator[tuple[str, Setting]]:
    """``(dotted path, spec)`` of every leaf setting of ``section``, in declaration order."""
    for name, declared in section.model_fields.items():
        if declared.section is not None:
            yield from leaves(declared.section, f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}", declared.spec


def pydantic_fields(section: type[Section], prefix: str = "") -> Iterator[tuple[str, FieldInfo]]:
    """``(dotted path, pydantic FieldInfo)`` of every leaf setting (what the settings dialog reads:
    type, limits as metadata, description, the admin flag in ``json_schema_extra``)."""
    for name, info in pydantic_model(section).model_fields.items():
        declared = section.model_fields[name]
        if declared.section is not None:
            yield from pydantic_fields(declared.section, f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}", info


_MODELS: dict[str, type[BaseModel]] = {}
_MODELS_LOCK = threading.Lock()


def pydantic_model(section: type[Section]) -> type[BaseModel]:
    """The pydantic model of ``section``, derived from its declaration (built on first need).

    It has the section's name, fields, limits, descriptions, validators and configuration, so its
    results and messages are those of the models this declaration replaced.
    """
    key = f"{section.__module__}.{section.__qualname__}"
    with _MODELS_LOCK:  # reentrant use below is for other sections (nested fields)
        built = _MODELS.get(key)
    if built is None:
        built = _build_pydantic_model(section)
        with _MODELS_LOCK:
            built = _MODELS.setdefault(key, built)
    return built


def _build_pydantic_model(section: type[Section]) -> type[BaseModel]:
    # Imported here, on first need: that is the point of this module (see its docstring).
    from pydantic import ConfigDict, Field, create_model, field_validator
    from pydantic_core import PydanticCustomError

    fields: dict[str, Any] = {}
    validators: dict[str, Any] = {}
    for name, declared in section.model_fields.items():
        spec = declared.spec
        if declared.section is not None:
            model = pydantic_model(declared.section)
            fields[name] = (model, Field(default_factory=model))
            continue
        options: dict[str, Any] = {"description": spec.description, **spec.limits}
        if spec.admin:
            options["json_schema_extra"] = {"admin": True}
        fields[name] = (declared.annotation, Field(spec.default, **options))
        if declared.validator is not None:
            check = _pydantic_validator(declared.validator, PydanticCustomError)
            validators[f"_validate_{name}"] = field_validator(name)(classmethod(check))
    built: type[BaseModel] = create_model(
        section.__name__,
        __config__=ConfigDict(extra="forbid", validate_assignment=True),
        __doc__=section.__doc__,
        __module__=section.__module__,
        __validators__=validators,
        **fields,
    )
    return built


def _pydantic_validator(func: Callable[[Any], Any], custom_error: Any) -> Callable[[Any, Any], Any]:
    def validate(cls: Any, value: Any) -> Any:
        del cls
        try:
            return func(value)
        except SettingValueError as exc:
            raise custom_error(exc.kind, exc.message) from None

    return validate


def _validate_pydantic(section: type[Section], data: Any) -> BaseModel:
    if isinstance(data, Mapping):
        # A section given as a value is valid as it is (pydantic kept a model instance).
        data = {k: v.model_dump() if isinstance(v, Section) else v for k, v in data.items()}
    try:
        return pydantic_model(section).model_validate(data)
    except Exception as exc:
        raise _converted(exc) from None


def _converted(exc: Exception) -> Exception:
    """pydantic's ValidationError as :class:`InvalidSettings`; anything else as it is."""
    from pydantic import ValidationError  # loaded already: the model raised it

    return InvalidSettings(exc) if isinstance(exc, ValidationError) else exc
