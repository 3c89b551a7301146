"""Tests of :mod:`equirec.mitigation.inprocessing`, one module per method.

Models are tiny (dim 16, one block, a few epochs) on small synthetic data; every comparison is
between two fits with the same seeds that differ only in the mitigation.
"""
