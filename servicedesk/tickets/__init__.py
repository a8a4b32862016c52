"""Tickets of every kind, their lifecycle and their event history."""
