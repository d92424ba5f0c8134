"""A frozen record checked without pydantic when that is exact, its pydantic model deciding the rest.

Listing plugins and asking a query validate a manifest and a request on every ``fame ask``, and
importing pydantic and building its models cost about a fifth of one. A :class:`LightModel`
subclass accepts data on its light path (``_plain``) only when its pydantic model would accept it
as it is; anything else, an error or a coercion, goes to that model (imported on first need), so
results and messages stay its own. The model is still the one declaration of the schema.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Self

if TYPE_CHECKING:
    from pydantic import BaseModel


class LightModel:
    """Base of a frozen record whose fields are :attr:`FIELDS` and whose rules are
    :meth:`pydantic_model`'s. Subclasses declare ``__slots__`` (the fields) and ``_plain``."""

    __slots__ = ()
    __hash__ = None  # type: ignore[assignment]  # the records hold dicts, as the pydantic models did

    #: The fields, in the model's order.
    FIELDS: ClassVar[tuple[str, ...]] = ()

    def __init__(self, **data: Any) -> None:
        built = type(self).model_validate(data)
        for name in self.FIELDS:
            object.__setattr__(self, name, getattr(built, name))

    @classmethod
    def pydantic_model(cls) -> type[BaseModel]:
        """The pydantic model that decides what the light path does not take (imported on call)."""
        raise NotImplementedError(cls.__name__)

    @classmethod
    def _plain(cls, raw: dict[Any, Any]) -> Self | None:
        """The record for ``raw`` if the model would take it as it is, else None (ask the model)."""
        raise NotImplementedError(cls.__name__)

    @classmethod
    def model_validate(cls, data: object) -> Self:
        """``data`` (a dict) as a record, as the pydantic model answers it.

        Raises:
            pydantic.ValidationError: The model's errors.
        """
        if type(data) is dict:
            plain = cls._plain(data)
            if plain is not None:
                return plain
        return cls._from_model(cls.pydantic_model().model_validate(data))

    @classmethod
    def _construct(cls, values: Mapping[str, Any]) -> Self:
        """The record holding ``values`` (one per field, already valid: not checked again)."""
        record = cls.__new__(cls)
        for name in cls.FIELDS:
            object.__setattr__(record, name, values[name])
        return record

    @classmethod
    def _from_model(cls, model: BaseModel) -> Self:
        return cls._construct({name: getattr(model, name) for name in cls.FIELDS})

    def model_copy(self, *, update: Mapping[str, Any] | None = None) -> Self:
        """A copy with ``update``'s values (not checked, as pydantic's ``model_copy``)."""
        return self._construct({**self._values(), **(update or {})})

    def model_dump(self) -> dict[str, Any]:
        """The fields as a dict, in order (dict values copied), as the model's ``model_dump``."""
        return {name: dict(value) if type(value) is dict else value for name, value in self._values().items()}

    def _values(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.FIELDS}

    def __setattr__(self, name: str, value: Any) -> None:
        # Frozen: the model refuses the assignment (and words it), as it did.
        model = self.pydantic_model().model_construct(**self.model_dump())
        setattr(model, name, value)
        raise AssertionError("unreachable: a frozen model refuses every assignment")

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._values() == other._values()

    def __repr__(self) -> str:
        values = ", ".join(f"{name}={value!r}" for name, value in self._values().items())
        return f"{type(self).__name__}({values})"
