"""Raw data -> clean data (prepare) and fast loading of clean data (dataset)."""
