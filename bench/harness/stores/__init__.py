"""The store benchmark (`bench/store.py`): realistic data filled in bulk into each backend, and the report."""
