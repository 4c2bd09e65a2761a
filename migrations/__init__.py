"""The numbered SQL schema migrations, shipped as package data (see `bot/store/migrations.py`)."""
