"""The knowledge base: curated entries (files, rows), the index, the live base, answers."""
