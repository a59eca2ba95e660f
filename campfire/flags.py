"""Data-quality flags, redshift quality codes and the flag queries built from them.

``DQFlags`` members combine with numpy-style operators into a :class:`FlagQuery`:

=========================  ================================================  ==================
expression                 meaning                                           query mode
=========================  ================================================  ==================
``A``                      has flag A                                        include_all
``A | B``                  has A or B (or both)                              include_any
``A & B``                  has both A and B                                  include_all
``~A``                     does not have A                                   exclude
``~A & ~B``                has neither A nor B                               exclude
``(A | B) & ~C``           has A or B, and not C                             any + exclude
=========================  ================================================  ==================

``~(A | B)`` means the same as ``~A & ~B`` but is rejected, as in the reference docs, so that
one spelling is used everywhere; so are forms no query can express, such as ``(A & B) | C``.
With a plain int or numpy array (a catalog bitmask) a flag is just its bit value:
``row['dq_flags'] & DQFlags.LOW_SNR`` is 32 or 0, and ``DQFlags.LOW_SNR == 32``.

Examples
--------
>>> from campfire.flags import DQFlags, decode_flags, encode_flags
>>> q = ~DQFlags.CONTAMINATION & ~DQFlags.LOW_SNR
>>> q
~DQFlags.CONTAMINATION & ~DQFlags.LOW_SNR
>>> q.to_params()
{'dq_flags_exclude': 34}
>>> decode_flags(3, 'dq_flags')
['CHIP_GAP', 'CONTAMINATION']
>>> encode_flags(['CHIP_GAP', 'CONTAMINATION'], 'dq_flags')
3
"""

from __future__ import annotations

import difflib
import enum
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeGuard, TypeVar, overload

from campfire.errors import ValidationError

if TYPE_CHECKING:  # numpy is imported when used: not at `import campfire` (a kernel's first cell)
    import numpy as np
    from astropy.table import Table
    from numpy.typing import NDArray

    # a catalog bitmask: one value, or a column of them
    _Bitmask = int | np.integer[Any] | NDArray[np.integer[Any]]
    _Mask = TypeVar("_Mask", int, np.integer[Any], NDArray[np.integer[Any]])

__all__ = [
    "FLAG_KINDS", "DQFlags", "FlagQuery", "RedshiftQuality", "as_flag_query", "decode_flags",
    "encode_flags", "list_flags", "parse_redshift_qualities",
]  # fmt: skip

_SUPPORTED = (
    "supported forms: A | B (any), A & B (all), ~A (exclude), ~A & ~B (exclude both), "
    "(A | B) & ~C (any, and none of C)"
)


def _is_int(value: object, kinds: tuple[str, ...] = ("integer",)) -> TypeGuard[_Bitmask]:
    """An int or a numpy integer (or ``kinds``), without importing numpy."""
    np_ = sys.modules.get("numpy")  # a numpy value means numpy is imported already
    kind = tuple(getattr(np_, k) for k in kinds) if np_ else ()
    return isinstance(value, int) or (bool(kind) and isinstance(value, kind))


def _bits(mask: int) -> list[int]:
    return [1 << i for i in range(mask.bit_length()) if mask >> i & 1]


def _close(name: str, choices: Iterable[str]) -> str:
    options = list(choices)
    upper = {c.upper(): c for c in options}
    near = [upper[m] for m in difflib.get_close_matches(name.upper(), upper, n=3, cutoff=0.5)]
    hint = f" Did you mean {', '.join(near)}?" if near else ""
    return f"{hint} Known names: {', '.join(options)}."


class DQFlags(enum.Enum):
    """Per-spectrum data-quality bits (``spectra.dq_flags``; api-v1 section 3.3).

    Members combine with ``|``, ``&`` and ``~`` into a :class:`FlagQuery`; ``int(flag)`` is
    the bit value.

    Examples
    --------
    >>> int(DQFlags.LOW_SNR), DQFlags['CHIP_GAP'].value
    (32, 1)
    >>> DQFlags.CHIP_GAP | DQFlags.LOW_SNR
    DQFlags.CHIP_GAP | DQFlags.LOW_SNR
    """

    CHIP_GAP = 1
    CONTAMINATION = 2
    STUCK_SHUTTER = 4
    MULTIPLE_SOURCES = 8
    NO_DETECTION = 16
    LOW_SNR = 32
    SPECTRAL_OVERLAP = 64
    PRISM_CORRUPTED = 128
    GRATING_CORRUPTED = 256

    __array_ufunc__ = None  # numpy arrays defer to the reflected operators below

    def __int__(self) -> int:
        return int(self.value)

    def __index__(self) -> int:
        return int(self.value)

    def __eq__(self, other: object) -> bool:
        if _is_data(other):
            return bool(int(other) == self.value)
        return self is other

    def __hash__(self) -> int:
        return hash(self.value)

    def __repr__(self) -> str:
        return f"DQFlags.{self.name}"

    @property
    def description(self) -> str:
        """One line saying what the flag means."""
        return _DQ_DESCRIPTIONS[self.name]

    @property
    def query(self) -> FlagQuery:
        """The query matching spectra that have this flag."""
        return FlagQuery(all_mask=int(self.value))

    # with a plain int or array (a bitmask from the catalog) a flag is just its bit value, so
    # ``dq & DQFlags.LOW_SNR`` tests the bit; with flags and queries it builds a FlagQuery
    @overload
    def __or__(self, other: _Mask) -> _Mask: ...
    @overload
    def __or__(self, other: DQFlags | FlagQuery | str) -> FlagQuery: ...
    def __or__(self, other: object) -> _Bitmask | FlagQuery:
        return other | self.value if _is_data(other) else self.query | other

    @overload
    def __ror__(self, other: _Mask) -> _Mask: ...
    @overload
    def __ror__(self, other: DQFlags | FlagQuery | str) -> FlagQuery: ...
    def __ror__(self, other: object) -> _Bitmask | FlagQuery:
        return other | self.value if _is_data(other) else _operand(other) | self.query

    @overload
    def __and__(self, other: _Mask) -> _Mask: ...
    @overload
    def __and__(self, other: DQFlags | FlagQuery | str) -> FlagQuery: ...
    def __and__(self, other: object) -> _Bitmask | FlagQuery:
        return other & self.value if _is_data(other) else self.query & other

    @overload
    def __rand__(self, other: _Mask) -> _Mask: ...
    @overload
    def __rand__(self, other: DQFlags | FlagQuery | str) -> FlagQuery: ...
    def __rand__(self, other: object) -> _Bitmask | FlagQuery:
        return other & self.value if _is_data(other) else _operand(other) & self.query

    def __invert__(self) -> FlagQuery:
        return ~self.query


def _is_data(value: object) -> TypeGuard[_Bitmask]:
    """Whether ``value`` is a catalog bitmask (an int or an integer array), not a flag."""
    return _is_int(value, ("integer", "ndarray")) and not isinstance(value, bool)


_DQ_DESCRIPTIONS = {
    "CHIP_GAP": "part falls in the detector gap",
    "CONTAMINATION": "light from another source or shutter",
    "STUCK_SHUTTER": "a slitlet shutter is stuck closed",
    "MULTIPLE_SOURCES": "several sources in the slitlet",
    "NO_DETECTION": "no source detected",
    "LOW_SNR": "S/N too low for most uses",
    "SPECTRAL_OVERLAP": "overlaps another shutter's spectrum",
    "PRISM_CORRUPTED": "PRISM data corrupted or unusable",
    "GRATING_CORRUPTED": "grating data corrupted or unusable",
}
_DQ_BY_NAME = {f.name: f for f in DQFlags}


@dataclass(frozen=True)
class FlagQuery:
    """A DQ filter: a spectrum with bitmask ``dq`` matches when all three tests pass.

    Attributes
    ----------
    any_mask
        ``dq & any_mask != 0`` (skipped when 0).
    all_mask
        ``dq & all_mask == all_mask``.
    exclude_mask
        ``dq & exclude_mask == 0``.

    Examples
    --------
    >>> q = (DQFlags.CHIP_GAP | DQFlags.LOW_SNR) & ~DQFlags.CONTAMINATION
    >>> q.masks, q.matches([1, 3, 32, 4]).tolist()
    ((33, 0, 2), [True, False, True, False])
    """

    any_mask: int = 0
    all_mask: int = 0
    exclude_mask: int = 0

    def __post_init__(self) -> None:
        for name in ("any_mask", "all_mask", "exclude_mask"):
            if int(getattr(self, name)) < 0:
                raise ValidationError(f"{name} must be a non-negative bitmask")
        if self.any_mask and (self.any_mask & (self.any_mask - 1)) == 0:
            # one bit "any" is the same as one bit "all": keep a single normal form
            object.__setattr__(self, "all_mask", self.all_mask | self.any_mask)
            object.__setattr__(self, "any_mask", 0)
        if self.all_mask & self.exclude_mask:
            both = decode_flags(self.all_mask & self.exclude_mask)
            raise ValidationError(
                f"this DQ query requires and excludes {', '.join(both)} at once, so it can "
                f"match nothing; {_SUPPORTED}"
            )

    # -- conversions ---------------------------------------------------------------------------
    @classmethod
    def coerce(cls, value: object) -> FlagQuery:
        """Turn a flag, query, int, name or list of names into a query (as
        :func:`as_flag_query` does; None is an error).
        """
        q = as_flag_query(value)
        if q is None:
            raise ValidationError("a DQ query cannot be built from None")
        return q

    @property
    def masks(self) -> tuple[int, int, int]:
        """``(any_mask, all_mask, exclude_mask)``."""
        return (self.any_mask, self.all_mask, self.exclude_mask)

    # names used by the upstream client
    @property
    def include_any(self) -> int:
        """Alias of :attr:`any_mask`."""
        return self.any_mask

    @property
    def include_all(self) -> int:
        """Alias of :attr:`all_mask`."""
        return self.all_mask

    @property
    def exclude(self) -> int:
        """Alias of :attr:`exclude_mask`."""
        return self.exclude_mask

    def to_params(self, prefix: str = "dq_flags") -> dict[str, int]:
        """Remote query parameters (api-v1 6.1), each only when non-zero.

        Examples
        --------
        >>> (DQFlags.CHIP_GAP & DQFlags.LOW_SNR).to_params()
        {'dq_flags_include_all': 33}
        """
        keys = ("include_any", "include_all", "exclude")
        return {f"{prefix}_{k}": int(m) for k, m in zip(keys, self.masks, strict=True) if m}

    def matches(self, dq: Any) -> Any:
        """Whether bitmask(s) ``dq`` pass; ``None``/NaN count as 0. Vectorised over arrays."""
        import numpy as np

        raw = np.asarray(dq, dtype=object)
        flat = [0 if v is None or v != v else int(v) for v in raw.ravel()]  # None/NaN → 0
        arr = np.array(flat, dtype=np.int64).reshape(raw.shape)
        ok = (arr & self.all_mask) == self.all_mask
        ok &= (arr & self.exclude_mask) == 0
        if self.any_mask:
            ok &= (arr & self.any_mask) != 0
        return bool(ok) if ok.ndim == 0 else ok

    # -- operators -----------------------------------------------------------------------------
    def _disjunction(self) -> int | None:
        """The OR-ed bits if this query is a plain 'any of these' (or one flag), else None."""
        if self.exclude_mask:
            return None
        if self.any_mask and not self.all_mask:
            return self.any_mask
        if not self.any_mask and self.all_mask and len(_bits(self.all_mask)) == 1:
            return self.all_mask
        return None

    def __or__(self, other: object) -> FlagQuery:
        o = _operand(other)
        a, b = self._disjunction(), o._disjunction()
        if a is None or b is None:
            raise ValidationError(
                f"cannot OR ({self!r}) with ({o!r}): '|' joins plain flags only (match any); "
                + _SUPPORTED
            )
        return FlagQuery(any_mask=a | b)

    __ror__ = __or__

    def __and__(self, other: object) -> FlagQuery:
        o = _operand(other)
        if self.any_mask and o.any_mask and self.any_mask != o.any_mask:
            raise ValidationError(
                f"cannot AND ({self!r}) with ({o!r}): a query holds one 'any of' group; "
                + _SUPPORTED
            )
        return FlagQuery(
            any_mask=self.any_mask | o.any_mask,
            all_mask=self.all_mask | o.all_mask,
            exclude_mask=self.exclude_mask | o.exclude_mask,
        )

    __rand__ = __and__

    def __invert__(self) -> FlagQuery:
        if self.masks[:2] == (0, 0) and self.exclude_mask:  # ~(~A & ~B) == A | B
            return FlagQuery(any_mask=self.exclude_mask)
        if not self.any_mask and not self.exclude_mask and len(_bits(self.all_mask)) == 1:
            return FlagQuery(exclude_mask=self.all_mask)
        if self.any_mask and not self.all_mask and not self.exclude_mask:
            names = [f"~DQFlags.{n}" for n in decode_flags(self.any_mask)]
            raise ValidationError(
                f"~({self!r}) is not supported; to exclude several flags, AND the negations: "
                f"{' & '.join(names)}"
            )
        raise ValidationError(f"~({self!r}) cannot be expressed as a DQ query; " + _SUPPORTED)

    def __repr__(self) -> str:
        def names(mask: int) -> list[str]:
            return [f"DQFlags.{n}" for n in decode_flags(mask)]

        parts: list[str] = []
        if self.any_mask:
            any_text = " | ".join(names(self.any_mask))
            parts.append(f"({any_text})" if self.all_mask or self.exclude_mask else any_text)
        parts += names(self.all_mask)
        parts += [f"~{n}" for n in names(self.exclude_mask)]
        return " & ".join(parts) if parts else "FlagQuery()"


def _operand(value: object) -> FlagQuery:
    """The other side of ``|``/``&`` in a query: a flag, a query or a flag name."""
    if isinstance(value, FlagQuery):
        return value
    if isinstance(value, DQFlags | str):
        return FlagQuery.coerce(value)
    raise TypeError(
        f"a DQ query combines DQFlags members and queries, not {type(value).__name__}; to "
        "test a bitmask use query.matches(dq), or dq & DQFlags.NAME for one bit"
    )


def _flag_from_name(name: str) -> DQFlags:
    key = name.strip().upper().replace("-", "_").replace(" ", "_")
    key = key.removeprefix("DQFLAGS.")
    if key in _DQ_BY_NAME:
        return _DQ_BY_NAME[key]
    raise ValidationError(f"unknown DQ flag {name!r}." + _close(name, _DQ_BY_NAME))


def _parse_expression(text: str) -> FlagQuery:
    """Parse ``'~CONTAMINATION & ~LOW_SNR'``, ``'CHIP_GAP|LOW_SNR'`` … into a query."""
    query: FlagQuery | None = None
    for term in text.split("&"):
        term = term.strip()
        negate = term.startswith("~")
        term = term.lstrip("~").strip()
        if term.startswith("(") and term.endswith(")"):
            term = term[1:-1]
        names = [t for t in re.split(r"[|,]", term) if t.strip()]
        if not names:
            raise ValidationError(f"empty term in DQ flag expression {text!r}; " + _SUPPORTED)
        part = FlagQuery(any_mask=sum({int(_flag_from_name(n).value) for n in names}))
        part = ~part if negate else part
        query = part if query is None else query & part
    assert query is not None
    return query


def as_flag_query(value: object) -> FlagQuery | None:
    """Normalise any accepted ``dq_flags`` argument (api-v1 6.1) to a :class:`FlagQuery`.

    ``None`` → None (no filter); a :class:`FlagQuery` as is; a ``DQFlags`` member or a
    single name → include_all; a plain int → include_any (0 → None); a list of names, flags
    or ints → include_any; a string expression such as ``'~CONTAMINATION & ~LOW_SNR'`` is
    parsed with the operator rules above.

    Examples
    --------
    >>> as_flag_query(3).masks, as_flag_query('low_snr').masks
    ((3, 0, 0), (0, 32, 0))
    >>> as_flag_query(['CHIP_GAP', 'LOW_SNR']).to_params()
    {'dq_flags_include_any': 33}
    """
    if value is None or isinstance(value, FlagQuery):
        return value
    if isinstance(value, DQFlags):
        return value.query
    if isinstance(value, bool):
        raise ValidationError("dq_flags must be flags, names or an int bitmask, not a bool")
    if _is_int(value):
        if int(value) < 0:
            raise ValidationError(f"a DQ bitmask cannot be negative (got {int(value)})")
        return FlagQuery(any_mask=int(value)) if int(value) else None
    if isinstance(value, str):
        if any(c in value for c in "&|~()"):
            return _parse_expression(value)
        return _flag_from_name(value).query
    if isinstance(value, Iterable):
        mask = encode_flags(list(value))
        return FlagQuery(any_mask=mask) if mask else None
    raise ValidationError(
        f"dq_flags cannot be a {type(value).__name__}; pass DQFlags members combined with "
        "| & ~, an int bitmask, a flag name or a list of names"
    )


class RedshiftQuality(enum.IntEnum):
    """Visual-inspection grade of a redshift (api-v1 3.2).

    Examples
    --------
    >>> RedshiftQuality.parse('secure'), RedshiftQuality.parse(3).label
    (<RedshiftQuality.SECURE: 4>, 'probable')
    """

    NONE = 0
    IMPOSSIBLE = 1
    TENTATIVE = 2
    PROBABLE = 3
    SECURE = 4
    NOT_INSPECTED = 0  # alias of NONE, the upstream client's name

    @property
    def label(self) -> str:
        """The lower-case name (``'secure'``)."""
        return self.name.lower()

    @property
    def description(self) -> str:
        """What the grade means."""
        return _QUALITY_DESCRIPTIONS[int(self)]

    @classmethod
    def _missing_(cls, value: object) -> RedshiftQuality | None:
        if isinstance(value, str):
            return cls.parse(value)
        return None

    @classmethod
    def parse(cls, value: object) -> RedshiftQuality:
        """Accept 0-4, ``'4'``, a name in any case (``'secure'``, ``'bad'``); else raise."""
        if isinstance(value, RedshiftQuality):
            return value
        if _is_int(value) and not isinstance(value, bool):
            if 0 <= int(value) <= 4:
                return cls(int(value))
        elif isinstance(value, str):
            key = value.strip().upper().replace(" ", "_").replace("-", "_")
            if key.isdigit() and 0 <= int(key) <= 4:
                return cls(int(key))
            key = _QUALITY_ALIASES.get(key, key)
            if key in cls.__members__:
                return cls[key]
        names = [m.label for m in cls if m.name != "NOT_INSPECTED"]
        near = difflib.get_close_matches(str(value).lower(), names, n=2, cutoff=0.5)
        hint = f" Did you mean {', '.join(near)}?" if near else ""
        raise ValidationError(
            f"unknown redshift quality {value!r}: use 0-4 or one of {', '.join(names)}.{hint}"
        )


_QUALITY_ALIASES = {"UNINSPECTED": "NONE", "NOT_INSPECTED": "NONE", "UNSET": "NONE",
                    "BAD": "IMPOSSIBLE", "UNCERTAIN": "TENTATIVE"}  # fmt: skip
_QUALITY_DESCRIPTIONS = {
    0: "not inspected yet",
    1: "inspected: no redshift measurable",
    2: "inspected: possible, uncertain",
    3: "inspected: probable",
    4: "inspected: secure",
}


def parse_redshift_qualities(values: object) -> list[int]:
    """Normalise a ``redshift_quality`` filter (one value or a list) to sorted ints.

    Examples
    --------
    >>> parse_redshift_qualities(['probable', 'secure']), parse_redshift_qualities(4)
    ([3, 4], [4])
    """
    if isinstance(values, str) or _is_int(values):
        values = [values]
    if not isinstance(values, Iterable):
        raise ValidationError(f"redshift_quality must be a list of 0-4 or names, not {values!r}")
    return sorted({int(RedshiftQuality.parse(v)) for v in values})


FLAG_KINDS = ("dq_flags", "redshift_quality")


def _kind(kind: str) -> str:
    key = kind.strip().lower()
    key = {"dq": "dq_flags", "dqflags": "dq_flags", "dq_flag": "dq_flags"}.get(key, key)
    if key not in FLAG_KINDS:
        raise ValidationError(f"unknown flag kind {kind!r}." + _close(kind, FLAG_KINDS))
    return key


def decode_flags(value: int, kind: str = "dq_flags") -> list[str]:
    """Names of the flags set in ``value``, lowest bit first.

    Bits no flag defines come back as ``'BIT<n>'`` so data from a newer archive still decode.
    For ``kind='redshift_quality'`` the single grade name is returned.

    Examples
    --------
    >>> decode_flags(33), decode_flags(4, 'redshift_quality')
    (['CHIP_GAP', 'LOW_SNR'], ['secure'])
    """
    kind = _kind(kind)
    if kind == "redshift_quality":
        return [RedshiftQuality.parse(value).label]
    v = int(value)
    if v < 0:
        raise ValidationError(f"a DQ bitmask cannot be negative (got {v})")
    known = {f.value: f.name for f in DQFlags}
    return [known.get(b, f"BIT{b.bit_length() - 1}") for b in _bits(v)]


_FlagLike = str | int | DQFlags


def encode_flags(names: _FlagLike | Iterable[_FlagLike], kind: str = "dq_flags") -> int:
    """The bitmask (or the grade, for ``redshift_quality``) of flag names, flags or ints.

    Examples
    --------
    >>> encode_flags(['CHIP_GAP', 'contamination']), encode_flags('secure', 'redshift_quality')
    (3, 4)
    """
    kind = _kind(kind)
    if kind == "redshift_quality":
        return int(RedshiftQuality.parse(names))
    items = [names] if isinstance(names, str | int | DQFlags) else list(names)
    mask = 0
    for item in items:
        if isinstance(item, DQFlags):
            mask |= item.value
        elif _is_int(item) and not isinstance(item, bool) and item >= 0:
            mask |= int(item)
        elif isinstance(item, str):
            mask |= _flag_from_name(item).value
        else:
            raise ValidationError(f"cannot encode {item!r} as a DQ flag")
    return mask


def list_flags(kind: str | None = None) -> Table:
    """Print all flag definitions, as the reference says, and return them as an astropy Table
    (``kind, name, value, description``) that code can filter. ``kind`` is ``'dq_flags'``
    or ``'redshift_quality'``; None lists both. (The one library function that prints.)

    Examples
    --------
    >>> t = list_flags('dq_flags')  # doctest: +ELLIPSIS
    kind ...
    >>> t['name'][:2].tolist(), int(t['value'][-1])
    (['CHIP_GAP', 'CONTAMINATION'], 256)
    """
    from astropy.table import Table

    kinds = FLAG_KINDS if kind is None else (_kind(kind),)
    rows: list[tuple[str, str, int, str]] = []
    if "dq_flags" in kinds:
        rows += [("dq_flags", f.name, f.value, f.description) for f in DQFlags]
    if "redshift_quality" in kinds:
        rows += [
            ("redshift_quality", q.label, int(q), q.description)
            for q in RedshiftQuality
            if q.name != "NOT_INSPECTED"
        ]
    table = Table(rows=rows, names=("kind", "name", "value", "description"))
    for col in ("kind", "name", "description"):
        table[col].format = "<"
    print("\n".join(table.pformat(max_lines=-1, max_width=-1)))
    return table
