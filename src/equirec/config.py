"""Run configuration: typed sections, read from TOML, unknown keys rejected loudly.

A config file mirrors these sections::

    seed = 0
    out = "runs/ml100k-sasrec"

    [data]
    dataset = "ml-100k"
    data_dir = "../shared/datasets/ml-100k"

    [preprocess]
    min_rating = 4

    [split]
    method = "loo"

    [model]
    name = "sasrec"
    epochs = 100
    dim = 64

    [mitigation]                # optional: training-time bias mitigation
    method = "adversary"
    params = { attributes = ["gender"], lam = 1.0 }

    [evaluation]
    ks = [5, 10, 20]

``[model]`` takes ``name`` plus any parameter of that model's class; ``[mitigation]`` a ``method``
of :data:`equirec.mitigation.training.TRAINING_METHODS` and its ``params``; everything else must be
a field below. Command-line flags override the file.
"""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, get_type_hints

from equirec.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

T = TypeVar("T")


@dataclass
class DataConfig:
    """Where the interactions come from: a built-in dataset or files."""

    dataset: str = "movielens-small"
    """Built-in dataset (``equirec datasets`` lists them); ignored when ``interactions`` is set."""
    data_dir: str | None = None
    """Folder holding the GroupLens files of ``ml-100k``, ``ml-1m``..."""
    interactions: str | None = None
    """A CSV or Parquet interaction log."""
    columns: dict[str, str] = field(default_factory=dict)
    """Our column name (user, item, timestamp, rating, weight) -> the file's column name."""
    sep: str | None = None
    """CSV separator (sniffed when not given)."""
    user_attributes: str | None = None
    """Optional CSV/Parquet of user attributes."""
    item_attributes: str | None = None
    """Optional CSV/Parquet of item attributes."""
    user_key: str | None = None
    """Id column of the user attribute file (default: the log's user column)."""
    item_key: str | None = None
    """Id column of the item attribute file (default: the log's item column)."""
    multi_valued: dict[str, str] = field(default_factory=dict)
    """Attribute column -> separator of its values (e.g. genres = "|")."""


@dataclass
class PreprocessConfig:
    """Filtering applied before the split."""

    min_rating: float | None = None
    """Keep interactions with rating >= this; unset: every interaction counts."""
    duplicates: str = "keep"
    """``keep``, ``first`` or ``last`` occurrence of a repeated (user, item) pair."""
    user_core: int = 0
    """Iteratively drop users with fewer interactions (k-core)."""
    item_core: int = 0
    """Iteratively drop items with fewer interactions (k-core)."""


@dataclass
class SplitConfig:
    """How interactions are divided into train, validation and test."""

    method: str = "loo"
    """``loo`` (leave-one-out), ``temporal`` (global time) or ``random`` (per-user holdout)."""
    valid_frac: float = 0.1
    """Validation share for ``temporal`` and ``random``."""
    test_frac: float = 0.1
    """Test share for ``temporal`` and ``random``."""


@dataclass
class EvaluationConfig:
    """Full-ranking evaluation."""

    ks: list[int] = field(default_factory=lambda: [5, 10, 20])
    """Cut-offs of every metric."""
    keep_k: int = 100
    """Length of the lists written to recommendations.csv (kept for re-ranking)."""
    history: str = "train+valid"
    """What the model reads at test time: ``train+valid`` (default) or ``train``."""
    batch_size: int = 256
    """Users scored at once."""


@dataclass
class MitigationConfig:
    """Bias mitigation while training (none by default).

    Pre-processing (``reweight``, ``resample``) changes the training split only, in-processing
    (``adversary``, ``group_gap``, ``exposure``, ``popularity``, ``ipw``) acts while the model
    trains; :data:`equirec.mitigation.training.TRAINING_METHODS` lists every method's
    parameters. Re-rankers (post-processing) work on a finished run: ``equirec rerank``.
    """

    method: str | None = None
    """The method, e.g. ``adversary``; unset: no mitigation."""
    params: dict[str, Any] = field(default_factory=dict)
    """Its parameters, e.g. ``{ attributes = ["gender"], lam = 1.0 }``."""


@dataclass
class RunConfig:
    """Everything one ``equirec run`` does."""

    seed: int = 0
    """One seed for the split, initialisation, sampling and dropout."""
    out: str | None = None
    """Output folder (default: a new folder under ``runs/``)."""
    data: DataConfig = field(default_factory=DataConfig)
    preprocess: PreprocessConfig = field(default_factory=PreprocessConfig)
    split: SplitConfig = field(default_factory=SplitConfig)
    model: dict[str, Any] = field(default_factory=lambda: {"name": "sasrec"})
    """``name`` of the model plus its parameters."""
    mitigation: MitigationConfig = field(default_factory=MitigationConfig)
    evaluation: EvaluationConfig = field(default_factory=EvaluationConfig)

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str = "config") -> RunConfig:
        """Build from nested dicts, rejecting unknown keys and wrongly typed values."""
        config = _build(cls, data, source)
        config.validate(source=source)
        return config

    @classmethod
    def from_toml(cls, path: str | Path) -> RunConfig:
        """Read a TOML config file."""
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file {path} does not exist") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
        return cls.from_dict(data, source=str(path))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def validate(self, *, source: str = "config") -> None:
        """Check names and values that the types alone do not catch."""
        from equirec.models.registry import model_class

        if "name" not in self.model:
            raise ConfigError(f"{source}: [model] needs a 'name', e.g. name = \"sasrec\"")
        cls = model_class(str(self.model["name"]))
        allowed = set(cls._get_param_names())
        unknown = sorted(set(self.model) - allowed - {"name"})
        if unknown:
            raise ConfigError(
                f"{source}: unknown parameter(s) {unknown} for model {cls.name!r}; "
                f"its parameters are: {', '.join(sorted(allowed)) or '(none)'}"
            )
        self._validate_mitigation(source, cls)
        if self.split.method not in ("loo", "temporal", "random"):
            raise ConfigError(
                f"{source}: unknown split {self.split.method!r}; choose loo, temporal or random"
            )
        if self.preprocess.duplicates not in ("keep", "first", "last"):
            raise ConfigError(
                f"{source}: preprocess.duplicates must be keep, first or last, "
                f"not {self.preprocess.duplicates!r}"
            )
        if self.evaluation.history not in ("train+valid", "train"):
            raise ConfigError(
                f"{source}: evaluation.history must be 'train+valid' or 'train', "
                f"not {self.evaluation.history!r}"
            )
        if not self.evaluation.ks or min(self.evaluation.ks) < 1:
            raise ConfigError(f"{source}: evaluation.ks must be positive integers")
        if self.evaluation.keep_k < max(self.evaluation.ks):
            raise ConfigError(
                f"{source}: evaluation.keep_k ({self.evaluation.keep_k}) must be at least the "
                f"largest k ({max(self.evaluation.ks)})"
            )

    def _validate_mitigation(self, source: str, model: Any) -> None:
        from equirec.mitigation.training import check_model, resolve_params

        m = self.mitigation
        if m.method is None:
            if m.params:
                raise ConfigError(
                    f"{source}: [mitigation] has params but no method; add e.g. "
                    'method = "reweight" (or remove the section for no mitigation)'
                )
            return
        params = resolve_params(m.method, m.params, where=f"{source}: [mitigation]")
        try:
            check_model(m.method, params, model)
        except ConfigError as err:
            raise ConfigError(f"{source}: {err}") from None


def _build(cls: type[T], data: Any, where: str) -> T:
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a table, got {type(data).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; valid keys are: {', '.join(fields)}")
    hints = get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        hint = hints[key]
        path = f"{where}: {key}" if where.endswith("config") else f"{where}.{key}"
        if isinstance(hint, type) and dataclasses.is_dataclass(hint):
            kwargs[key] = _build(hint, value, f"{where} [{key}]")
        else:
            kwargs[key] = _check_type(value, hint, path)
    return cls(**kwargs)


def _check_type(value: Any, hint: Any, path: str) -> Any:
    text = str(hint)
    ok = True
    if hint is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif hint is float or text == "float | None":
        ok = (value is None and "None" in text) or (
            isinstance(value, (int, float)) and not isinstance(value, bool)
        )
        value = None if value is None else float(value)
    elif hint is str or text == "str | None":
        ok = isinstance(value, str) or (value is None and "None" in text)
    elif text.startswith("list[int]"):
        ok = isinstance(value, list) and all(
            isinstance(v, int) and not isinstance(v, bool) for v in value
        )
    elif text.startswith("dict[str, str]"):
        ok = isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
    elif text.startswith("dict"):
        ok = isinstance(value, dict)
    if not ok:
        raise ConfigError(f"{path} has the wrong type: {value!r} (expected {text})")
    return value
