"""Item features beyond ids: categorical, multi-valued and numeric attributes, and text.

Names are imported on first use; nothing imports an optional extra before it is needed
(:class:`~equirec.features.text.TextEncoder` loads sentence-transformers when it first encodes).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from equirec._lazy import lazy_exports

__all__ = ["ContentFeatures", "TextEncoder", "item_content"]

_LAZY = {
    "ContentFeatures": "equirec.features.content",
    "item_content": "equirec.features.content",
    "TextEncoder": "equirec.features.text",
}

if TYPE_CHECKING:
    from equirec.features.content import ContentFeatures, item_content
    from equirec.features.text import TextEncoder

__getattr__ = lazy_exports(__name__, _LAZY)
