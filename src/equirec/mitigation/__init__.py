"""Bias mitigation: post-processing re-rankers (see :mod:`equirec.mitigation.rerank`)."""
