"""Fairness audit of ranked lists: user-side gaps, item exposure, calibration and leakage.

Start with :func:`audit_run` (an equirec run folder) or :func:`audit` on
:class:`AuditData` built from any system's lists with :meth:`AuditData.from_frames`.
"""

from equirec.fairness.audit import AuditResult, audit
from equirec.fairness.frame import AuditFrame
from equirec.fairness.groups import Groups, ItemGroups
from equirec.fairness.inputs import AuditData
from equirec.fairness.leakage import LeakageResult, leakage_probe
from equirec.fairness.run_audit import audit_run, write_audit

__all__ = [
    "AuditData",
    "AuditFrame",
    "AuditResult",
    "Groups",
    "ItemGroups",
    "LeakageResult",
    "audit",
    "audit_run",
    "leakage_probe",
    "write_audit",
]
