"""Validation of the twin against theory and independent oracles."""
