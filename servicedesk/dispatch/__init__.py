"""Dispatch: which repair station takes a repair, and why (pure rules in ``rules``)."""
