"""Paging the on-call Safeguarding Lead: raise a concern, the outbox, the delivery loop."""
