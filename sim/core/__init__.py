"""Kernel glue shared by every actor: durations, random streams, the ledger, stations, limiters."""
