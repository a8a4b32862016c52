"""A realistic demo data set."""
