"""Understanding members' words: normalisation, segmentation, the intent classifier, entities."""
