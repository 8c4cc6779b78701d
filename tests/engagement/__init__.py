"""Tests of engagement: subscriptions, and the rate limits of the engagement operations."""
