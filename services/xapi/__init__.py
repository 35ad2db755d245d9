"""xAPI 1.0.3 statements in: validation, storage, queries, credentials and the mapping to LearnPulse events."""
