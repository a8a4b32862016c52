"""In-app notifications (SLA warnings and escalations) for supervisors and stations."""
