"""Unique Lead: who is the same person, the plan, what the run knows; `lookup` is its only I/O."""
