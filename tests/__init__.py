"""Test helpers of the whole suite (not shipped: the package is `mairie`)."""
