"""Analyses built on fitted laws: compute-optimal allocation and friends."""
