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
of :data:`equirec.mitigation.registry.TRAINING_METHODS` and its ``params``; everything else must be
a field below. Command-line flags override the file. A relative path in a config file is
resolved against the config file's folder.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Literal

from pydantic import ConfigDict, Field

from equirec.errors import ConfigError
from equirec.io import read_toml, relative_to
from equirec.params import STRICT, Params, signature_model, validate

if sys.version_info >= (3, 11):
    pass
else:  # pragma: no cover
    pass

__all__ = [
    "DataConfig",
    "EvaluationConfig",
    "MitigationConfig",
    "PreprocessConfig",
    "RunConfig",
    "SplitConfig",
]


class _Section(Params):
    model_config = ConfigDict(**STRICT, use_attribute_docstrings=True)


class DataConfig(_Section):
    """Where the interactions come from: a built-in dataset or files."""

    dataset: str = "movielens-small"
    """Built-in dataset (``equirec datasets`` lists them); ignored when ``interactions`` is set."""
    data_dir: str | None = None
    """Folder holding the GroupLens files of ``ml-100k``, ``ml-1m``..."""
    interactions: str | None = None
    """A CSV or Parquet interaction log."""
    columns: dict[str, str] = Field(default_factory=dict)
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
    multi_valued: dict[str, str] = Field(default_factory=dict)
    """Attribute column -> separator of its values (e.g. genres = "|")."""


class PreprocessConfig(_Section):
    """Filtering applied before the split."""

    min_rating: float | None = None
    """Keep interactions with rating >= this; unset: every interaction counts."""
    duplicates: Literal["keep", "first", "last"] = "keep"
    """``keep``, ``first`` or ``last`` occurrence of a repeated (user, item) pair."""
    exact_duplicates: Literal["drop", "keep"] = "drop"
    """Rows identical in user, item, timestamp and rating: ``drop`` (with a warning) or ``keep``."""
    user_core: int = Field(0, ge=0)
    """Iteratively drop users with fewer interactions (k-core)."""
    item_core: int = Field(0, ge=0)
    """Iteratively drop items with fewer interactions (k-core)."""


class SplitConfig(_Section):
    """How interactions are divided into train, validation and test."""

    method: Literal["loo", "temporal", "random", "cold-items"] = "loo"
    """``loo`` (leave-one-out), ``temporal`` (global time), ``random`` (per-user holdout) or
    ``cold-items`` (leave-one-out with the newest items never trained on)."""
    valid_frac: float = Field(0.1, ge=0, lt=1)
    """Validation share for ``temporal`` and ``random``."""
    test_frac: float = Field(0.1, gt=0, lt=1)
    """Test share for ``temporal`` and ``random``."""
    cold_frac: float = Field(0.2, gt=0, lt=1)
    """Share of the items (the newest by first interaction) that are cold under ``cold-items``."""
    holdout_users: float = Field(0.0, ge=0, lt=1)
    """Share of the users held out of training entirely (the non-members ``equirec audit``'s
    membership-inference attack compares with the training users); 0: none."""


class EvaluationConfig(_Section):
    """Full-ranking evaluation."""

    ks: list[int] = Field(default_factory=lambda: [5, 10, 20], min_length=1)
    """Cut-offs of every metric."""
    keep_k: int = Field(100, ge=1)
    """Length of the lists written to recommendations.csv (kept for re-ranking)."""
    history: Literal["train+valid", "train"] = "train+valid"
    """What the model reads at test time: ``train+valid`` (default) or ``train``."""
    batch_size: int = Field(256, ge=1)
    """Users scored at once."""
    retrieval: Literal["exact", "hnsw", "ivf"] = "exact"
    """How the lists are retrieved: ``exact`` full ranking, or through a faiss ``hnsw`` or
    ``ivf`` index (``pip install 'equirec[ann]'``; SASRec, BERT4Rec, BPR); then metrics.json's
    ``retrieval`` compares it with exact ranking."""
    retrieval_params: dict[str, Any] = Field(default_factory=dict)
    """The index's settings: ``hnsw_m``, ``ef_search`` (HNSW), ``nlist``, ``nprobe`` (IVF)."""


class MitigationConfig(_Section):
    """Bias mitigation while training (none by default).

    Pre-processing (``reweight``, ``resample``) changes the training split only, in-processing
    (``adversary``, ``group_gap``, ``exposure``, ``popularity``, ``ipw``) acts while the model
    trains; ``equirec methods`` lists every method's parameters. Re-rankers (post-processing)
    work on a finished run: ``equirec rerank``.
    """

    method: str | None = None
    """The method, e.g. ``adversary``; unset: no mitigation."""
    params: dict[str, Any] = Field(default_factory=dict)
    """Its parameters, e.g. ``{ attributes = ["gender"], lam = 1.0 }``."""


_SECTIONS: dict[str, type[_Section]] = {
    "data": DataConfig,
    "preprocess": PreprocessConfig,
    "split": SplitConfig,
    "mitigation": MitigationConfig,
    "evaluation": EvaluationConfig,
}
DATA_PATHS = ("data_dir", "interactions", "user_attributes", "item_attributes")


class RunConfig(_Section):
    """Everything one ``equirec run`` does."""

    seed: int = 0
    """One seed for the split, initialisation, sampling and dropout."""
    out: str | None = None
    """Output folder (default: a new folder under ``runs/``)."""
    data: DataConfig = Field(default_factory=DataConfig)
    preprocess: PreprocessConfig = Field(default_factory=PreprocessConfig)
    split: SplitConfig = Field(default_factory=SplitConfig)
    model: dict[str, Any] = Field(default_factory=lambda: {"name": "sasrec"})
    """``name`` of the model plus its parameters."""
    mitigation: MitigationConfig = Field(default_factory=MitigationConfig)
    evaluation: EvaluationConfig = Field(default_factory=EvaluationConfig)

    @classmethod
    def from_dict(cls, data: Any, *, source: str = "config") -> RunConfig:
        """Build from nested dicts, rejecting unknown keys and wrongly typed values.

        Raises:
            ConfigError: Naming the section, the key, the value and what is valid.
        """
        if not isinstance(data, dict):
            raise ConfigError(f"{source}: expected a table, got {type(data).__name__}")
        top = {k: v for k, v in data.items() if k not in _SECTIONS}
        sections: dict[str, Any] = {}
        for name, section in _SECTIONS.items():
            if name in data:
                sections[name] = validate(
                    section, data[name], where=f"{source} [{name}]", noun="key"
                )
        if "model" in top and not isinstance(top["model"], dict):
            raise ConfigError(f"{source} [model]: expected a table, got {top['model']!r}")
        config = validate(cls, top, where=source, noun="key")
        config = config.model_copy(update=sections)
        config.check(source=source)
        return config

    @classmethod
    def from_toml(cls, path: str | Path) -> RunConfig:
        """Read a TOML config file; relative paths in it are relative to its folder."""
        path = Path(path)
        data = read_toml(path)
        base = path.parent
        section = data.get("data")
        if isinstance(section, dict):
            for key in DATA_PATHS:
                if isinstance(section.get(key), str):
                    section[key] = relative_to(base, section[key])
        if isinstance(data.get("out"), str):
            data["out"] = relative_to(base, data["out"])
        return cls.from_dict(data, source=str(path))

    def to_dict(self) -> dict[str, Any]:
        """The config as nested dicts (what :meth:`from_dict` reads back)."""
        return self.model_dump()

    def check(self, *, source: str = "config") -> None:
        """Check what one section alone cannot: the model's parameters, the mitigation, k."""
        from equirec.models.registry import model_class

        if "name" not in self.model:
            raise ConfigError(f"{source}: [model] needs a 'name', e.g. name = \"sasrec\"")
        cls = model_class(str(self.model["name"]))
        params = {k: v for k, v in self.model.items() if k != "name"}
        if "privacy" in params and "privacy" not in cls._get_param_names():
            raise ConfigError(
                f"{source}: [model] {cls.name!r} cannot be trained privately; DP-SGD trains "
                "sasrec, bert4rec and bpr (leave [model.privacy] out, or choose one of them)"
            )
        spec = signature_model(cls, name=f"{cls.__name__}Params")
        validate(spec, params, where=f"{source} [model] {cls.name!r}")
        self._validate_mitigation(source, cls)
        from equirec.evaluation.retrieval import check_retrieval

        try:
            check_retrieval(self.evaluation.retrieval, self.evaluation.retrieval_params)
        except ConfigError as err:
            raise ConfigError(f"{source}: {err}") from None
        if self.evaluation.keep_k < max(self.evaluation.ks):
            raise ConfigError(
                f"{source}: evaluation.keep_k ({self.evaluation.keep_k}) must be at least the "
                f"largest k ({max(self.evaluation.ks)})"
            )
        if min(self.evaluation.ks) < 1:
            raise ConfigError(f"{source}: evaluation.ks must be positive integers")

    def _validate_mitigation(self, source: str, model: Any) -> None:
        from equirec.mitigation.apply import check_model, resolve_params

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
