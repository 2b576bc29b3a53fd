"""Forms every intake uses: the declarations (``spec``), how each slot kind reads an answer
(``kinds``), which option a reply means (``choices``), the engine that runs a form
(``engine``, whose docstring is the reference for slot kinds and mappings) and submitting
once per run (``submit``)."""
