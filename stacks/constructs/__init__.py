"""One construct per capability: storage, ingestion, the imaging layer, the thumbnail function."""
