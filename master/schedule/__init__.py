"""Scheduled drift correction: named schedules that dry-run states and record what drifted."""
