"""Dataset readers and generators: DAGM 2007 layout, synthetic DAGM-style data."""
