"""Messages to users (one-time codes, links): senders and the message outbox."""
