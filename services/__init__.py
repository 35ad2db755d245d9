"""Domain services shared by the web and worker processes: reports, counters, alerts, thresholds,
mastery, publishing and evaluation dispatch. Imports `analytics` and `models`, never `api` or `worker`."""
