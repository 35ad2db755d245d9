"""Notifications out: signed webhooks, email (immediate and digests), guardians' digests."""
