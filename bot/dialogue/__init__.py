"""Conversation: turns, the intent registry, the dispatcher, dialogue state, replies, forms."""
