"""The numbered SQL schema migrations, one folder per dialect (`sqlite/`), shipped as package data (see
`bot/core/store/migrations.py`)."""
