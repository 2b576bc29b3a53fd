"""Forms every intake uses: their declarations (``spec``) and the engine that runs them."""
