"""The knowledge base: curated entries, the retrieval index, answers."""
