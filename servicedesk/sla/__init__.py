"""Service levels and SLA: calendars, targets, clocks and escalation."""
