"""Engagement: what a customer agreed to receive (subscriptions per channel and priority)."""
