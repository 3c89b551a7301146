"""Item content as one numeric matrix: categorical, multi-valued, numeric and text attributes.

:func:`item_content` encodes the item attributes a model asks for, one block of columns each:

- ``categorical``: one-hot (an item without a value has none set);
- ``multi`` (genres): multi-hot;
- ``numeric`` (year): standardised over the items that have a value (mean 0, standard deviation
  1); items without one get 0 and a ``missing`` indicator column;
- ``text`` (titles, descriptions): the sentence embedding of
  :class:`~equirec.features.text.TextEncoder` (unit vectors); an item without text gets zeros
  and a ``missing`` indicator column.

Every item of the catalogue has a row, so an item training never saw still has content (cold
start). Warnings (items without a value) are returned with the matrix, to be recorded with the
run.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from equirec.data.dataset import Dataset
from equirec.errors import ConfigError, DataError

log = logging.getLogger(__name__)

__all__ = ["Block", "ContentFeatures", "attribute_matrix", "item_content", "user_content"]


@dataclass(frozen=True)
class Block:
    """The columns of one attribute: its name, kind and width (with a missing indicator)."""

    attribute: str
    kind: str
    width: int
    missing: int = 0
    """Items without a value."""
    spec: dict[str, Any] = field(default_factory=dict)
    """How the columns were made (JSON): ``labels`` of a one-/multi-hot block, ``mean`` and
    ``std`` of a numeric one, ``dim`` and the encoder's ``model`` fingerprint of a text one,
    and whether it has a missing ``indicator``; ``attribute_matrix(like=...)`` makes the same
    columns from other data."""

    def as_dict(self) -> dict[str, Any]:
        """The block as JSON (what a saved model keeps to encode other data alike)."""
        return {"attribute": self.attribute, "kind": self.kind, "spec": self.spec}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Block:
        """A block read back from :meth:`as_dict` (its width is recomputed when encoding)."""
        return cls(attribute=data["attribute"], kind=data["kind"], width=0, spec=data["spec"])


@dataclass(frozen=True)
class ContentFeatures:
    """Content of every catalogue item.

    Attributes:
        matrix: ``(n_items, F)`` float32, rows in the dataset's item order.
        blocks: The attributes' column blocks, in order.
        warnings: What was probably not meant (items without a value), in words.
    """

    matrix: np.ndarray
    blocks: tuple[Block, ...]
    warnings: list[str] = field(default_factory=list)


def item_content(
    dataset: Dataset,
    attributes: Sequence[str],
    *,
    text_encoder: Any = None,
    text_model: str = "default",
    like: Sequence[Block] | None = None,
) -> ContentFeatures:
    """The content matrix of ``attributes`` for every item of ``dataset``.

    Args:
        dataset: The data (its item attributes and their kinds).
        attributes: Item attribute names, in block order.
        text_encoder: What encodes ``text`` attributes (a
            :class:`~equirec.features.text.TextEncoder`); built from ``text_model`` when needed
            and not given.
        text_model: The sentence-transformers model of that encoder (``"default"``: the
            packaged all-MiniLM-L6-v2, or a local folder).
        like: Blocks to match (another dataset's, e.g. the one a model was trained on): see
            :func:`attribute_matrix`; ``attributes`` are then theirs.

    Raises:
        ConfigError: No attribute, an unknown one (the known ones and their kinds are listed)
            or one given twice.
        DataError: A text or numeric attribute with no value at all, or numeric values that
            are not numbers.
    """
    return attribute_matrix(
        dataset.item_attributes,
        dataset.item_attribute_kinds,
        attributes,
        what="item",
        text_encoder=text_encoder,
        text_model=text_model,
        like=like,
    )


def user_content(dataset: Dataset, attributes: Sequence[str]) -> ContentFeatures:
    """The feature matrix of user ``attributes`` (gender, age...) for every user of ``dataset``,
    encoded as :func:`item_content` encodes items (a user without a value gets zeros and a
    missing indicator).

    Raises:
        ConfigError: See :func:`item_content`.
        DataError: See :func:`item_content`.
    """
    return attribute_matrix(
        dataset.user_attributes, dataset.user_attribute_kinds, attributes, what="user"
    )


def attribute_matrix(
    table: pd.DataFrame | None,
    kinds: dict[str, Any],
    attributes: Sequence[str],
    *,
    what: str,
    text_encoder: Any = None,
    text_model: str = "default",
    like: Sequence[Block] | None = None,
) -> ContentFeatures:
    """The blocks of ``attributes`` of an attribute ``table`` (one row per user or item).

    Args:
        table: Rows in vocabulary order, or ``None`` when the data has no such table.
        kinds: Every column's kind.
        attributes: The columns to encode, in block order.
        what: ``"item"`` or ``"user"``, for the messages.
        text_encoder: What encodes ``text`` columns (default: a
            :class:`~equirec.features.text.TextEncoder` of ``text_model``, built once when a
            column is text).
        text_model: See :func:`item_content`.
        like: Blocks of another dataset's features (their :attr:`Block.spec`): the same
            columns are made here (the same labels in the same order, the same
            standardisation, the same indicators), so that a model trained there reads this
            data. A label the other data did not have is dropped.
    """
    if like is not None:
        attributes = [b.attribute for b in like]
    if not attributes:
        raise ConfigError(f"{what} features: name at least one {what} attribute")
    doubled = sorted({a for a in attributes if list(attributes).count(a) > 1})
    if doubled:
        raise ConfigError(f"{what} features: attribute(s) {doubled} given more than once")
    unknown = [a for a in attributes if table is None or a not in kinds]
    if unknown:
        known = dict(kinds) if table is not None else {}
        raise ConfigError(
            f"unknown {what} attribute {unknown[0]!r} for {what} features; the data has "
            f"{known or f'no {what} attributes'}"
        )
    assert table is not None
    if text_encoder is None and any(kinds[a] == "text" for a in attributes):
        from equirec.features.text import TextEncoder

        text_encoder = TextEncoder(model=text_model)
    blocks, columns, warnings = [], [], []
    for n, attribute in enumerate(attributes):
        kind = kinds[attribute]
        spec = None if like is None else dict(like[n].spec)
        if like is not None and like[n].kind != kind:
            raise ConfigError(
                f"{what} attribute {attribute!r} is {kind} here but {like[n].kind} in the "
                "features it should match"
            )
        values = table[attribute]
        if kind in ("categorical", "multi"):
            if spec is not None:
                unmatched = _unmatched_labels(values, attribute, multi=kind == "multi", spec=spec)
                warnings.extend([unmatched] if unmatched else [])
            matrix, missing, spec = _hot(values, multi=kind == "multi", spec=spec)
        elif kind == "numeric":
            matrix, missing, spec = _numeric(values, attribute, what, spec=spec)
        elif kind == "text":
            matrix, missing, spec = _text(values, attribute, text_encoder, what, spec=spec)
        else:  # pragma: no cover - every AttributeKind is handled
            raise ConfigError(f"{what} attribute {attribute!r} has an unsupported kind {kind!r}")
        if missing:
            warnings.append(
                f"{missing} of {len(values)} {what}s have no {attribute}: their {attribute} "
                "columns are zero"
                + (", with a missing indicator" if spec.get("indicator", True) else "")
            )
        blocks.append(
            Block(
                attribute=attribute,
                kind=kind,
                width=matrix.shape[1],
                missing=missing,
                spec=spec,
            )
        )
        columns.append(matrix)
    for text in warnings:
        log.warning(text)
    return ContentFeatures(
        matrix=np.concatenate(columns, axis=1).astype(np.float32),
        blocks=tuple(blocks),
        warnings=warnings,
    )


def _absent(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


Encoded = tuple[np.ndarray, int, dict[str, Any]]


def _label_rows(values: pd.Series, *, multi: bool) -> list[tuple[Any, ...]]:
    """Each row's labels (none where the value is missing)."""
    if multi:
        return [tuple(v) if isinstance(v, tuple | list) else () for v in values]
    return [() if _absent(v) else (v,) for v in values]


def _unmatched_labels(
    values: pd.Series, attribute: str, *, multi: bool, spec: dict[str, Any]
) -> str | None:
    """A warning naming the labels of ``values`` that the features to match lack (they get no
    column, so they are ignored), or ``None`` when every label is known."""
    known = set(spec["labels"])
    counts: dict[str, int] = {}
    for row in _label_rows(values, multi=multi):
        for label in row:
            if str(label) not in known:
                counts[str(label)] = counts.get(str(label), 0) + 1
    if not counts:
        return None
    shown = ", ".join(f"{label!r} ({n} rows)" for label, n in sorted(counts.items())[:5])
    more = f" and {len(counts) - 5} more" if len(counts) > 5 else ""
    return (
        f"{len(counts)} {attribute} label(s) here are unknown to the features to match "
        f"(the model's training data), so they are ignored: {shown}{more}"
    )


def _hot(values: pd.Series, *, multi: bool, spec: dict[str, Any] | None) -> Encoded:
    rows = _label_rows(values, multi=multi)
    if spec is None:
        labels = [str(x) for x in sorted({label for row in rows for label in row}, key=str)]
    else:
        labels = list(spec["labels"])
    col = {label: j for j, label in enumerate(labels)}
    block = np.zeros((len(rows), len(labels)), dtype=np.float32)
    for i, row in enumerate(rows):
        for label in row:
            j = col.get(str(label))
            if j is not None:
                block[i, j] = 1.0
    return block, sum(not row for row in rows), {"labels": labels}


def _numeric(
    values: pd.Series, attribute: str, what: str, *, spec: dict[str, Any] | None
) -> Encoded:
    numbers = pd.to_numeric(values, errors="coerce")
    bad = values.notna() & numbers.isna()
    if bad.any():
        first = values[bad].iloc[0]
        raise DataError(
            f"{what} attribute {attribute!r}: {int(bad.sum())} value(s) are not numbers, e.g. "
            f"{first!r} ({what} {values[bad].index[0]!r}); clean the column or declare it text"
        )
    present = numbers.notna().to_numpy()
    if not present.any():
        raise DataError(f"{what} attribute {attribute!r} has no value for any {what}")
    x = numbers.to_numpy(dtype=np.float64)
    missing = int((~present).sum())
    if spec is None:
        std = float(x[present].std())
        spec = {"mean": float(x[present].mean()), "std": std if std > 0 else 1.0}
        spec["indicator"] = bool(missing)
    z = np.where(present, (x - spec["mean"]) / spec["std"], 0.0)
    cols = [z, (~present).astype(np.float64)] if spec["indicator"] else [z]
    return np.stack(cols, axis=1).astype(np.float32), missing, spec


def _text(
    values: pd.Series, attribute: str, encoder: Any, what: str, *, spec: dict[str, Any] | None
) -> Encoded:
    texts = [None if _absent(v) else str(v).strip() for v in values]
    present = np.array([bool(t) for t in texts])
    if not present.any():
        raise DataError(
            f"{what} attribute {attribute!r} is empty: no {what} has text to encode; leave it "
            "out of the features"
        )
    vectors = encoder.encode([t for t in texts if t])
    out = np.zeros((len(texts), vectors.shape[1]), dtype=np.float32)
    out[present] = vectors
    missing = int((~present).sum())
    model = getattr(encoder, "key", None)
    if spec is None:
        spec = {"dim": int(vectors.shape[1]), "model": model, "indicator": bool(missing)}
    elif spec.get("dim") != vectors.shape[1] or (spec.get("model") and spec["model"] != model):
        raise ConfigError(
            f"{what} attribute {attribute!r}: the features to match were encoded by another "
            f"text model (dim {spec.get('dim')}, fingerprint {spec.get('model')}); use the same "
            "text_model"
        )
    if spec["indicator"]:
        out = np.concatenate([out, (~present).astype(np.float32)[:, None]], axis=1)
    return out, missing, spec
