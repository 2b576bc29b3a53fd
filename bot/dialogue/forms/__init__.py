"""The declarative form engine that every intake form uses."""
