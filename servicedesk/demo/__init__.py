"""A realistic, seeded demo data set (``servicedesk demo load``).

The fixed identifiers that docs and tests rely on live in :mod:`servicedesk.demo.showcase`;
loading is :func:`servicedesk.demo.loader.load_demo`.
"""
