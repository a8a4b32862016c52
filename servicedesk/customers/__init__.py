"""Customers, their contacts and phone numbers, their assets and warranty entitlements."""
