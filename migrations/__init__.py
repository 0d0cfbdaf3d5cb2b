"""Alembic migrations: every schema change is a revision with its reason in the docstring.

Revisions never import the models (``ingestor.schema``), so history stays frozen; ``env.py``
uses the models only as the autogenerate target.
"""
