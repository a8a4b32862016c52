"""Warranty coverage: service offerings, entitlements and the coverage decision."""
