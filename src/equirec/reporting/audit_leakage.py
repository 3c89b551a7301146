"""The leakage section of the audit page: :func:`leakage_view` (attribute inference, one dot
chart and one sentence per source) prepares what ``audit_leakage.html.j2`` shows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from equirec.reporting.audit_charts import (
    DotRow,
    dot_chart,
)
from equirec.reporting.audit_context import AuditContext
from equirec.reporting.formatting import (
    as_float,
    as_map,
    fmt_ci,
    fmt_int,
    fmt_num,
)
from equirec.reporting.views import Figure, p_text, significant, slug

__all__ = [
    "LeakAttribute",
    "LeakSentence",
    "LeakageView",
    "MembershipView",
    "leakage_view",
    "membership_view",
]

_SOURCE_LABEL = {"representations": "user representations", "lists": "recommendation lists"}


@dataclass(frozen=True)
class LeakSentence:
    """A sentence on one source; ``leaks``: the probe's verdict (its ``significant``, from the
    Holm-adjusted p-value), ``None`` when it was not tested or the AUC is not available."""

    text: str
    leaks: bool | None


@dataclass(frozen=True)
class LeakAttribute:
    """The leakage of one attribute: the dot chart and one sentence per source."""

    name: str
    anchor: str
    figure: Figure
    sentences: Sequence[LeakSentence]


@dataclass(frozen=True)
class MembershipView:
    """Membership inference: one dot chart of the attacks' AUCs and a sentence each."""

    figure: Figure
    sentences: Sequence[LeakSentence]
    intro: str


@dataclass(frozen=True)
class LeakageView:
    """The leakage section (``available`` false: neither leakage nor membership was measured)."""

    available: bool
    attributes: Sequence[LeakAttribute] = ()
    intro: str = ""
    membership: MembershipView | None = None


# -- leakage --------------------------------------------------------------------------------
def leakage_view(ctx: AuditContext) -> LeakageView:
    """The leakage section of ``ctx``'s report."""
    attrs = [(str(a), as_map(s)) for a, s in ctx.section("leakage").items() if as_map(s)]
    membership = membership_view(ctx)
    if not attrs:
        return LeakageView(available=membership is not None, membership=membership)
    out = []
    for i, (attr, sources) in enumerate(attrs):
        rows: list[DotRow] = []
        sentences = []
        for source, e in sources.items():
            if not isinstance(e, Mapping):
                continue
            src = _SOURCE_LABEL.get(str(source), str(source))
            base = as_float(e.get("baseline"))
            base = 0.5 if base is None and "baseline" not in e else base
            verdict = significant(e, ctx.alpha)
            rows.append(
                DotRow(
                    src,
                    "ROC-AUC",
                    as_float(e.get("auc")),
                    as_float(e.get("ci_low")),
                    as_float(e.get("ci_high")),
                    base,
                    verdict,
                )
            )
            rows.append(
                DotRow(
                    src,
                    "balanced accuracy",
                    as_float(e.get("balanced_accuracy")),
                    as_float(e.get("balanced_accuracy_ci_low")),
                    as_float(e.get("balanced_accuracy_ci_high")),
                    as_float(e.get("balanced_accuracy_baseline")),
                    verdict,
                )
            )
            sentences.append(_leak_sentence(ctx, attr, src, e))
        if not rows:
            continue
        svg = dot_chart(rows, label=f"Leakage of {attr}", level=ctx.level)
        out.append(LeakAttribute(attr, f"leak-{slug(attr, i)}", Figure(svg), sentences))
    repeats = as_float(ctx.params.get("leakage_repeats"))
    folds = (
        f"the mean over {fmt_int(repeats)} cross-validations with different folds"
        if repeats is not None and repeats > 1
        else "cross-validated"
    )
    intro = (
        "A classifier tries to predict each attribute from what the system produces "
        f"({folds}; the spread over them is given). ROC-AUC 0.5 and balanced accuracy "
        "1 / classes are chance. An attribute leaks when the test of \u201cno leakage\u201d "
        "(the AUC against label shuffles) is significant: its p-value, Holm-adjusted over all "
        f"the audit's probes, is below {round(ctx.alpha, 6):g}. Whiskers are "
        f"{ctx.confidence_text} intervals."
    )
    return LeakageView(available=True, attributes=out, intro=intro, membership=membership)


_ATTACKS = {
    "rank": (
        "rank attack",
        "users whose last items the model predicts best from the items before them are "
        "called members",
    ),
    "shadow": (
        "shadow attack",
        "a classifier learns from shadow models trained like this one who they were trained on",
    ),
}


def membership_view(ctx: AuditContext) -> MembershipView | None:
    """The membership part of the section (``None``: not measured)."""
    privacy = ctx.section("privacy")
    if not privacy:
        return None
    rows, sentences = [], []
    for key, (name, how) in _ATTACKS.items():
        e = as_map(privacy.get(key))
        if not e:
            continue
        leaks = e.get("leaks") if isinstance(e.get("leaks"), bool) else None
        auc = as_float(e.get("auc"))
        rows.append(
            DotRow(
                name,
                "ROC-AUC",
                auc,
                as_float(e.get("ci_low")),
                as_float(e.get("ci_high")),
                0.5,
                leaks,
            )
        )
        ci = fmt_ci(e.get("ci_low"), e.get("ci_high"), lambda v: fmt_num(v, 2, like=0.5))
        verdict = (
            "training users can be told from held-out users"
            if leaks
            else "not better than chance at telling training users from held-out users"
        )
        text = f"The {name} ({how}): {verdict}: ROC-AUC {fmt_num(auc, 2, like=0.5)}"
        text += f" ({ctx.confidence_text} interval {ci})" if ci else ""
        if key == "shadow":
            text += (
                f"; on its {fmt_int(e.get('shadows'))} shadow model(s) "
                f"{fmt_num(e.get('shadow_auc'), 2, like=0.5)}"
            )
        sentences.append(LeakSentence(f"{text}.", leaks))
    if not rows:
        return None
    intro = (
        f"Can one tell who the model was trained on? {fmt_int(privacy.get('members'))} "
        f"training users (members) against {fmt_int(privacy.get('non_members'))} users held out "
        "of training entirely (non-members); each user is scored by how well the model predicts "
        f"their last {fmt_int(privacy.get('targets'))} items. ROC-AUC 0.5 is chance; an attack "
        f"succeeds when its {ctx.confidence_text} interval lies above it."
    )
    svg = dot_chart(
        rows,
        label="Membership inference",
        filled=f"leaks (its {ctx.confidence_text} interval lies above 0.5)",
    )
    return MembershipView(Figure(svg), sentences, intro)


def _auc_text(ctx: AuditContext, e: Mapping[str, Any]) -> str:
    """``ROC-AUC 0.58, mean over 5 fold assignments (0.57–0.59; 95% interval 0.54–0.61)``."""

    def two(value: Any) -> str:
        return fmt_num(value, 2, like=0.5)

    text = f"ROC-AUC {two(e.get('auc'))}"
    repeats = as_float(e.get("repeats"))
    details = []
    spread = fmt_ci(e.get("auc_min"), e.get("auc_max"), lambda v: fmt_num(v, 3, like=0.5))
    if repeats is not None and repeats > 1:
        text += f", the mean over {fmt_int(repeats)} fold assignments"
        if spread:
            details.append(f"{spread} across them")
    ci = fmt_ci(e.get("ci_low"), e.get("ci_high"), two)
    if ci:
        details.append(f"{ctx.confidence_text} interval {ci}")
    return text + (f" ({'; '.join(details)})" if details else "")


def _leak_sentence(ctx: AuditContext, attr: str, src: str, e: Mapping[str, Any]) -> LeakSentence:
    auc = as_float(e.get("auc"))
    base = as_float(e.get("baseline"))
    base = 0.5 if base is None else base
    if auc is None:
        return LeakSentence(f"{attr} from the {src}: AUC not available.", None)
    leaks = significant(e, ctx.alpha)
    auc_text = _auc_text(ctx, e)
    if leaks:
        text = f"{attr} can be predicted from the {src}: {auc_text}, chance is {base:.2f}"
    elif leaks is None:
        text = f"{attr} from the {src} (not tested): {auc_text}, chance is {base:.2f}"
    else:
        text = (
            f"{attr} is not predicted significantly better than chance from the {src}: "
            f"{auc_text}, chance is {base:.2f}"
        )
    ba = as_float(e.get("balanced_accuracy"))
    bab = as_float(e.get("balanced_accuracy_baseline"))
    if ba is not None:
        text += f"; balanced accuracy {fmt_num(ba, 2, like=0.5)}"
        if bab is not None:
            text += f" vs {bab:.2f} by chance"
    extra = []
    if as_float(e.get("n")) is not None:
        extra.append(f"{fmt_int(e.get('n'))} users")
    if as_float(e.get("n_classes")) is not None:
        extra.append(f"{fmt_int(e.get('n_classes'))} classes")
    if extra:
        text += f" ({', '.join(extra)})"
    if leaks is not None:
        text += f"; {p_text(e)}"
    return LeakSentence(f"{text}.", leaks)
