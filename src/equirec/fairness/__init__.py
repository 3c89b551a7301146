"""Fairness audit of ranked lists: user-side gaps, item exposure, calibration and leakage.

Start with :func:`audit` on
:class:`AuditData` built from any system's lists with :meth:`AuditData.from_frames` (an equirec
run folder: :func:`equirec.workflows.audit.audit_run`).
"""

from equirec.fairness.audit import AuditResult, audit
from equirec.fairness.frame import AuditFrame
from equirec.fairness.groups import Groups, ItemGroups
from equirec.fairness.inputs import AuditData
from equirec.fairness.leakage import LeakageResult, leakage_probe
from equirec.fairness.schema import SCHEMA_VERSION, AuditReport

__all__ = [
    "SCHEMA_VERSION",
    "AuditData",
    "AuditFrame",
    "AuditReport",
    "AuditResult",
    "Groups",
    "ItemGroups",
    "LeakageResult",
    "audit",
    "leakage_probe",
]
